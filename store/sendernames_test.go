package store_test

import (
	"strings"
	"sync"
	"testing"

	"switchboard"
	"switchboard/store"
)

func applyFor(tb testing.TB, db *store.DB, org int64, actor switchboard.Actor, name, useCase string) (*switchboard.SenderName, error) {
	tb.Helper()
	s := &switchboard.SenderName{OrgID: org, Name: name, UseCase: useCase}
	must(tb, s.Validate())
	return s, db.ApplySenderName(ctx, actor, s)
}

func TestApplySenderName(t *testing.T) {
	db := newDB(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	s, err := applyFor(t, db, org.ID, actorOf(owner), "Acme", "Order confirmations")
	must(t, err)
	if s.ID == 0 || s.Status != switchboard.SenderPending || s.RequestedBy != owner.ID || !s.CreatedAt.Equal(t0) {
		t.Errorf("applied = %+v", s)
	}
	got, err := db.FindSenderName(ctx, org.ID, s.ID)
	must(t, err)
	if got.Name != "Acme" || got.UseCase != "Order confirmations" || got.Status != switchboard.SenderPending || got.DecidedAt != nil {
		t.Errorf("found = %+v", got)
	}

	// The same name again, whatever its case, while pending: a field error.
	_, err = applyFor(t, db, org.ID, actorOf(owner), "ACME", "Again")
	wantCode(t, err, switchboard.EINVALID)
	if msg := switchboard.Fields(err)["name"]; !strings.Contains(msg, "already applied for the sender name ACME") {
		t.Errorf("duplicate's message = %q", msg)
	}
	// Approved: still refused, in other words.
	_, err = db.DecideSenderName(ctx, s.ID, true, "")
	must(t, err)
	_, err = applyFor(t, db, org.ID, actorOf(owner), "acme", "Again")
	wantCode(t, err, switchboard.EINVALID)
	if msg := switchboard.Fields(err)["name"]; !strings.Contains(msg, "it is approved") {
		t.Errorf("duplicate of an approved name: %q", msg)
	}
	// Another organisation may hold the same name.
	other, otherOrg := newOwner(t, db, "Bob", "Other", "bob@example.com")
	_, err = applyFor(t, db, otherOrg.ID, actorOf(other), "Acme", "Their own")
	must(t, err)

	// Rejected: the organisation may apply again, and both stay listed.
	r, err := applyFor(t, db, org.ID, actorOf(owner), "Acme Shop", "Receipts")
	must(t, err)
	_, err = db.DecideSenderName(ctx, r.ID, false, "  The name belongs to   another brand. ")
	must(t, err)
	again, err := applyFor(t, db, org.ID, actorOf(owner), "Acme Shop", "Receipts, with a trademark certificate")
	must(t, err)
	list, err := db.ListSenderNames(ctx, org.ID)
	must(t, err)
	if len(list) != 3 || list[0].ID != again.ID || list[1].ID != r.ID || list[2].ID != s.ID {
		t.Fatalf("list = %+v, want the three applications newest first", list)
	}
	if list[1].Status != switchboard.SenderRejected || list[1].Reason != "The name belongs to another brand." || list[1].DecidedAt == nil {
		t.Errorf("rejected = %+v", list[1])
	}
	if list[2].Status != switchboard.SenderApproved || list[2].DecidedAt == nil {
		t.Errorf("approved = %+v", list[2])
	}
	names, err := db.ApprovedSenderNames(ctx, org.ID)
	must(t, err)
	if len(names) != 1 || names[0] != "Acme" {
		t.Errorf("approved names = %v, want [Acme]", names)
	}
	if names, _ := db.ApprovedSenderNames(ctx, otherOrg.ID); len(names) != 0 {
		t.Errorf("the other organisation's approved names = %v, want none (its Acme waits)", names)
	}
}

// TestSenderNameFindersTenantIsolation: another organisation's sender
// name is not found, not listed and not among its approved names.
func TestSenderNameFindersTenantIsolation(t *testing.T) {
	db := newDB(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	other, otherOrg := newOwner(t, db, "Bob", "Other", "bob@example.com")
	mine, err := applyFor(t, db, org.ID, actorOf(owner), "Acme", "Receipts")
	must(t, err)
	theirs, err := applyFor(t, db, otherOrg.ID, actorOf(other), "Bobs", "Receipts")
	must(t, err)
	_, err = db.DecideSenderName(ctx, theirs.ID, true, "")
	must(t, err)
	_, err = db.FindSenderName(ctx, org.ID, theirs.ID)
	wantCode(t, err, switchboard.ENOTFOUND)
	_, err = db.FindSenderName(ctx, otherOrg.ID, mine.ID)
	wantCode(t, err, switchboard.ENOTFOUND)
	_, err = db.FindSenderName(ctx, org.ID, 1<<40)
	wantCode(t, err, switchboard.ENOTFOUND)
	list, err := db.ListSenderNames(ctx, org.ID)
	must(t, err)
	if len(list) != 1 || list[0].ID != mine.ID {
		t.Errorf("list = %+v, want only this organisation's", list)
	}
	if names, _ := db.ApprovedSenderNames(ctx, org.ID); len(names) != 0 {
		t.Errorf("approved names = %v, want none: the approved one is the other organisation's", names)
	}
}

// TestDecideSenderName: the operator's list holds the pending names of
// every organisation with their organisation's name; only a pending name
// is decided, once; each decision is in that organisation's audit log.
func TestDecideSenderName(t *testing.T) {
	db := newDB(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	other, otherOrg := newOwner(t, db, "Bob", "Other", "bob@example.com")
	a, err := applyFor(t, db, org.ID, actorOf(owner), "Acme", "Receipts")
	must(t, err)
	b, err := applyFor(t, db, otherOrg.ID, actorOf(other), "Bobs", "Reminders")
	must(t, err)
	pending, err := db.ListPendingSenderNames(ctx)
	must(t, err)
	if len(pending) != 2 || pending[0].ID != a.ID || pending[0].OrgName != org.Name || pending[1].ID != b.ID || pending[1].OrgName != otherOrg.Name || pending[1].UseCase != "Reminders" {
		t.Fatalf("pending = %+v", pending)
	}

	approved, err := db.DecideSenderName(ctx, a.ID, true, "ignored for an approval")
	must(t, err)
	if approved.Status != switchboard.SenderApproved || approved.Reason != "" || approved.OrgID != org.ID || approved.OrgName != org.Name || approved.Name != "Acme" {
		t.Errorf("approved = %+v", approved)
	}
	rejected, err := db.DecideSenderName(ctx, b.ID, false, "Looks like someone else's brand.")
	must(t, err)
	if rejected.Status != switchboard.SenderRejected || rejected.Reason != "Looks like someone else's brand." {
		t.Errorf("rejected = %+v", rejected)
	}
	// Decided already: refused, and the decision stands.
	_, err = db.DecideSenderName(ctx, a.ID, false, "changed my mind")
	wantCode(t, err, switchboard.ECONFLICT)
	if msg := switchboard.ErrorMessage(err); !strings.Contains(msg, "no longer pending: it was approved") {
		t.Errorf("message = %q", msg)
	}
	if s, _ := db.FindSenderName(ctx, org.ID, a.ID); s.Status != switchboard.SenderApproved {
		t.Errorf("after a second decision the name is %s", s.Status)
	}
	_, err = db.DecideSenderName(ctx, 1<<40, true, "")
	wantCode(t, err, switchboard.ENOTFOUND)
	if pending, _ := db.ListPendingSenderNames(ctx); len(pending) != 0 {
		t.Errorf("still pending: %+v", pending)
	}

	// The audit lines: applied by the member, decided by the operator, in
	// the organisation of the name.
	entries, _, err := db.ListAudit(ctx, org.ID, 0, 10)
	must(t, err)
	if len(entries) < 2 || entries[0].Action != store.AuditSenderNameApproved || entries[0].ActorName != "Operator" || entries[0].ActorID != 0 || entries[0].Target != "Acme" ||
		entries[1].Action != store.AuditSenderNameApplied || entries[1].ActorID != owner.ID || entries[1].Target != "Acme" || entries[1].Detail != "Receipts" {
		t.Errorf("audit of the organisation = %+v", entries[:min(2, len(entries))])
	}
	entries, _, err = db.ListAudit(ctx, otherOrg.ID, 0, 10)
	must(t, err)
	if entries[0].Action != store.AuditSenderNameRejected || entries[0].ActorName != "Operator" || entries[0].Detail != "Looks like someone else's brand." {
		t.Errorf("audit of the other organisation = %+v", entries[0])
	}
}

// TestDecideSenderNameRace: of ten operators deciding one name at once,
// exactly one decides it.
func TestDecideSenderNameRace(t *testing.T) {
	db := newDB(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	s, err := applyFor(t, db, org.ID, actorOf(owner), "Acme", "Receipts")
	must(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	decided := 0
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := db.DecideSenderName(ctx, s.ID, i%2 == 0, "reason")
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				decided++
			} else if switchboard.ErrorCode(err) != switchboard.ECONFLICT {
				t.Errorf("decision: %v", err)
			}
		}()
	}
	wg.Wait()
	if decided != 1 {
		t.Errorf("%d decisions went through, want 1", decided)
	}
	entries, _, err := db.ListAudit(ctx, org.ID, 0, 10)
	must(t, err)
	n := 0
	for _, e := range entries {
		if e.Action == store.AuditSenderNameApproved || e.Action == store.AuditSenderNameRejected {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d decisions audited, want 1", n)
	}
}

// TestApplySenderNameRace: ten members applying for one name at once make
// one application; the others are told it is waiting.
func TestApplySenderNameRace(t *testing.T) {
	db := newDB(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &switchboard.SenderName{OrgID: org.ID, Name: "Acme", UseCase: "Receipts"}
			err := db.ApplySenderName(ctx, actorOf(owner), s)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
			} else if switchboard.Fields(err)["name"] == "" {
				t.Errorf("apply: %v", err)
			}
		}()
	}
	wg.Wait()
	if list, _ := db.ListSenderNames(ctx, org.ID); ok != 1 || len(list) != 1 {
		t.Errorf("%d applications went through and %d are listed, want 1", ok, len(list))
	}
}
