package store_test

import (
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"switchboard"
	"switchboard/store"
)

// createSub creates a subaccount of parent for email as actor, with a
// budget of 100.
func createSub(tb testing.TB, db *store.DB, actor *switchboard.Profile, parentID int64, email, name string) (*switchboard.Subaccount, []byte) {
	tb.Helper()
	hash := newTokenHash(tb)
	sub := &switchboard.Subaccount{ParentID: parentID, Email: email, Name: name, Funding: switchboard.FundingBudget, Budget: 100 * switchboard.MoneyUnit}
	must(tb, db.CreateSubaccount(ctx, actorOf(actor), "EUR", sub, hash, mailTo(switchboard.NormalizeEmail(email), "Own "+name)))
	return sub, hash
}

// acceptSub signs email up through the subaccount's invitation.
func acceptSub(tb testing.TB, db *store.DB, hash []byte, email string) *switchboard.Profile {
	tb.Helper()
	p := &switchboard.Profile{Email: email, FirstName: "Mari", LastName: "Tamm"}
	if _, err := db.AcceptInvitationAsNewProfile(ctx, hash, p, "hash", ""); err != nil {
		tb.Fatal(err)
	}
	return p
}

// TestCreateSubaccount: one transaction makes the organisation (with the
// parent's country, no member), the pending row, the invitation to own it
// with its email, and the parent's audit line; the finders see it from its
// parent only; the address is taken while it is open; a subaccount has no
// subaccounts; only a member with the Subaccounts permission creates.
func TestCreateSubaccount(t *testing.T) {
	db, dsn := newDBWithPath(t)
	raw := rawDB(t, dsn)
	owner, parent := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	must(t, db.ExecForTest(ctx, `UPDATE organisations SET country = 'EE' WHERE id = ?`, parent.ID))
	_, other := newOwner(t, db, "Grace", "Hopper", "grace@example.com")

	sub, hash := createSub(t, db, owner, parent.ID, " Mari@Example.com", "Acme Estonia")
	if sub.OrgID == 0 || sub.Email != "mari@example.com" || sub.Status != switchboard.SubaccountPending {
		t.Fatalf("created %+v", sub)
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM organisations WHERE id = ? AND name = 'Acme Estonia' AND country = 'EE' AND member_count = 0`, sub.OrgID); n != 1 {
		t.Error("the subaccount's organisation lacks the parent's country, or has members")
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM members WHERE org_id = ?`, sub.OrgID); n != 0 {
		t.Errorf("%d members before acceptance", n)
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM invitations i JOIN outbox o ON o.id = i.outbox_id WHERE i.org_id = ? AND i.role = 'owner' AND i.email = 'mari@example.com' AND o.recipient = 'mari@example.com'`, sub.OrgID); n != 1 {
		t.Error("no Owner invitation with its email")
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM audit_log WHERE org_id = ? AND action = 'subaccount.created' AND target = 'Acme Estonia' AND detail = 'Budget €100.00'`, parent.ID); n != 1 {
		t.Error("no audit line on the parent")
	}
	inv, err := db.FindInvitationByToken(ctx, hash)
	must(t, err)
	if inv.ParentName != parent.Name || inv.OrgName != "Acme Estonia" || inv.Role.Kind != switchboard.RoleOwner {
		t.Errorf("invitation %+v", inv)
	}

	list, err := db.ListSubaccounts(ctx, parent.ID)
	must(t, err)
	if len(list) != 1 || list[0].OrgID != sub.OrgID || list[0].Budget != 100*switchboard.MoneyUnit || list[0].OwnerID != 0 {
		t.Fatalf("list %+v", list)
	}
	if list, _ := db.ListSubaccounts(ctx, other.ID); len(list) != 0 {
		t.Error("another parent lists the subaccount")
	}
	for name, ids := range map[string][2]int64{"another parent": {other.ID, sub.OrgID}, "the parent as its own subaccount": {parent.ID, parent.ID}, "no such id": {parent.ID, 987654}} {
		_, err := db.FindSubaccount(ctx, ids[0], ids[1])
		if switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
			t.Errorf("%s: %v, want ENOTFOUND", name, err)
		}
	}

	// The same address again, whatever its case: a conflict on the field.
	again := &switchboard.Subaccount{ParentID: parent.ID, Email: "MARI@example.com", Name: "Acme Tallinn", Funding: switchboard.FundingShared}
	err = db.CreateSubaccount(ctx, actorOf(owner), "EUR", again, newTokenHash(t), mailTo("mari@example.com", "x"))
	if fe := switchboard.Fields(err); switchboard.ErrorCode(err) != switchboard.ECONFLICT || fe["email"] == "" {
		t.Fatalf("same address: %v", err)
	}
	// Another parent may use it.
	grace, err := db.FindProfile(ctx, mustOwnerOf(t, raw, other.ID))
	must(t, err)
	createSub(t, db, grace, other.ID, "mari@example.com", "Globex Estonia")

	// Not a member, or a Sender, of the parent: refused, nothing made.
	sender := addMember(t, db, parent, owner, "Sam", "Sender", "sam@example.com", switchboard.BuiltinRole(switchboard.RoleSender))
	for who, actor := range map[string]*switchboard.Profile{"an outsider": grace, "a Sender": sender} {
		s := &switchboard.Subaccount{ParentID: parent.ID, Email: "x@example.com", Name: "X", Funding: switchboard.FundingShared}
		err := db.CreateSubaccount(ctx, actorOf(actor), "EUR", s, newTokenHash(t), mailTo("x@example.com", "x"))
		if switchboard.ErrorCode(err) != switchboard.EFORBIDDEN {
			t.Errorf("%s created a subaccount: %v", who, err)
		}
	}

	// Accepted, its owner cannot give it subaccounts.
	mari := acceptSub(t, db, hash, "mari@example.com")
	nested := &switchboard.Subaccount{ParentID: sub.OrgID, Email: "y@example.com", Name: "Nested", Funding: switchboard.FundingShared}
	err = db.CreateSubaccount(ctx, actorOf(mari), "EUR", nested, newTokenHash(t), mailTo("y@example.com", "y"))
	if switchboard.ErrorCode(err) != switchboard.EFORBIDDEN || switchboard.ErrorMessage(err) != switchboard.SubaccountRefusal(switchboard.PermSubaccounts, parent.Name) {
		t.Errorf("nested subaccount: %v", err)
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM subaccounts WHERE parent_id = ? OR email IN ('x@example.com', 'y@example.com')`, sub.OrgID); n != 0 {
		t.Errorf("%d subaccounts made by refused creations", n)
	}
}

// mustOwnerOf returns the owner's profile id of the organisation.
func mustOwnerOf(tb testing.TB, raw interface {
	QueryRow(string, ...any) *sql.Row
}, orgID int64) int64 {
	tb.Helper()
	var id int64
	must(tb, raw.QueryRow(`SELECT profile_id FROM members WHERE org_id = ? AND role = 'owner'`, orgID).Scan(&id))
	return id
}

// TestAcceptSubaccountInvitation: the person who accepts becomes the
// subaccount's only member, its Owner, and it becomes active in the same
// transaction, with its own audit line; no organisation of theirs is made.
func TestAcceptSubaccountInvitation(t *testing.T) {
	db, dsn := newDBWithPath(t)
	raw := rawDB(t, dsn)
	owner, parent := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	sub, hash := createSub(t, db, owner, parent.ID, "mari@example.com", "Acme Estonia")

	// Another address neither joins nor uses it up.
	stranger, _ := newOwner(t, db, "Eve", "Other", "eve@example.com")
	if _, err := db.AcceptInvitation(ctx, hash, stranger, ""); switchboard.ErrorCode(err) != switchboard.EFORBIDDEN {
		t.Fatalf("another address: %v", err)
	}
	mari := acceptSub(t, db, hash, "mari@example.com")
	m, err := db.FindMembership(ctx, sub.OrgID, mari.ID)
	must(t, err)
	if m.Member.Role.Kind != switchboard.RoleOwner || m.Org.ParentID != parent.ID || m.Org.SubaccountStatus != switchboard.SubaccountActive {
		t.Fatalf("membership %+v, org %+v", m.Member, m.Org)
	}
	orgs, err := db.ListMemberships(ctx, mari.ID)
	must(t, err)
	if len(orgs) != 1 {
		t.Fatalf("%d organisations after signing up from the invitation, want only the subaccount", len(orgs))
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM audit_log WHERE org_id = ? AND action = 'subaccount.joined' AND target = 'mari@example.com'`, sub.OrgID); n != 1 {
		t.Error("no subaccount.joined line on the subaccount")
	}
	got, err := db.FindSubaccount(ctx, parent.ID, sub.OrgID)
	must(t, err)
	if got.OwnerID != mari.ID || got.OwnerName != "Mari Tamm" || got.Status != switchboard.SubaccountActive {
		t.Errorf("after acceptance: %+v", got)
	}
	if _, err := db.AcceptInvitation(ctx, hash, mari, ""); switchboard.ErrorCode(err) != switchboard.EGONE {
		t.Errorf("second acceptance: %v", err)
	}
}

// TestSubaccountLife: funding, suspend, resume, close, each a conditional
// change with the parent's audit line; refused moves say why; closing
// takes the owner's access, cancels its invitation and revokes its keys,
// and keeps its messages and ledger; another parent's ids are not found.
func TestSubaccountLife(t *testing.T) {
	db, dsn := newDBWithPath(t)
	raw := rawDB(t, dsn)
	owner, parent := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	grace, other := newOwner(t, db, "Grace", "Hopper", "grace@example.com")
	sub, hash := createSub(t, db, owner, parent.ID, "mari@example.com", "Acme Estonia")
	a := actorOf(owner)

	err := db.SuspendSubaccount(ctx, a, parent.ID, sub.OrgID)
	if switchboard.ErrorCode(err) != switchboard.ECONFLICT {
		t.Fatalf("suspend a pending subaccount: %v", err)
	}
	mari := acceptSub(t, db, hash, "mari@example.com")

	// Another parent's ids change nothing.
	g := actorOf(grace)
	for name, err := range map[string]error{
		"funding": db.SetSubaccountFunding(ctx, g, "EUR", other.ID, sub.OrgID, switchboard.FundingShared, 0),
		"suspend": db.SuspendSubaccount(ctx, g, other.ID, sub.OrgID),
		"close":   db.CloseSubaccount(ctx, g, other.ID, sub.OrgID),
		"cancel":  db.CancelSubaccountInvitation(ctx, g, other.ID, sub.OrgID),
		"resend":  db.ResendSubaccountInvitation(ctx, g, other.ID, sub.OrgID, newTokenHash(t), mailTo("mari@example.com", "x")),
	} {
		if switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
			t.Errorf("%s through another parent: %v", name, err)
		}
	}
	// And the parent's ids through another parent's actor: refused.
	if err := db.SuspendSubaccount(ctx, g, parent.ID, sub.OrgID); switchboard.ErrorCode(err) != switchboard.EFORBIDDEN {
		t.Errorf("suspend by a stranger to the parent: %v", err)
	}

	must(t, db.SetSubaccountFunding(ctx, a, "EUR", parent.ID, sub.OrgID, switchboard.FundingBudget, 25*switchboard.MoneyUnit))
	must(t, db.SetSubaccountFunding(ctx, a, "EUR", parent.ID, sub.OrgID, switchboard.FundingShared, 99))
	if n := count(t, raw, `SELECT COUNT(*) FROM subaccounts WHERE org_id = ? AND funding = 'shared' AND budget = 0`, sub.OrgID); n != 1 {
		t.Error("a shared subaccount kept a budget")
	}
	for _, detail := range []string{"Budget €100.00 → Budget €25.00", "Budget €25.00 → Share the balance"} {
		if n := count(t, raw, `SELECT COUNT(*) FROM audit_log WHERE org_id = ? AND action = 'subaccount.funded' AND detail = ?`, parent.ID, detail); n != 1 {
			t.Errorf("no funding line %q", detail)
		}
	}

	must(t, db.SuspendSubaccount(ctx, a, parent.ID, sub.OrgID))
	if err := db.SuspendSubaccount(ctx, a, parent.ID, sub.OrgID); switchboard.ErrorMessage(err) != "Acme Estonia is already suspended." {
		t.Errorf("suspend twice: %v", err)
	}
	must(t, db.ResumeSubaccount(ctx, a, parent.ID, sub.OrgID))
	if err := db.ResumeSubaccount(ctx, a, parent.ID, sub.OrgID); switchboard.ErrorCode(err) != switchboard.ECONFLICT {
		t.Errorf("resume an active subaccount: %v", err)
	}
	if err := db.CancelSubaccountInvitation(ctx, a, parent.ID, sub.OrgID); switchboard.ErrorCode(err) != switchboard.ECONFLICT {
		t.Errorf("cancel the invitation of an accepted subaccount: %v", err)
	}

	// It spends, has an API key, then is closed.
	fund(t, dsn, parent.ID, 10_000)
	_, err = db.QueueMessages(ctx, store.Batch{OrgID: sub.OrgID, Actor: actorOf(mari), Currency: "EUR", Description: "1 message",
		Messages: []switchboard.Message{oneMessage("+37255500001", 500)}})
	must(t, err)
	_, keyHash := switchboard.NewAPIKey()
	must(t, db.CreateAPIKey(ctx, actorOf(mari), &switchboard.APIKey{OrgID: sub.OrgID, Name: "Website"}, keyHash, "sb_live_abc"))
	before := count(t, raw, `SELECT privilege_epoch FROM profiles WHERE id = ?`, mari.ID)

	must(t, db.CloseSubaccount(ctx, a, parent.ID, sub.OrgID))
	if _, err := db.FindMembership(ctx, sub.OrgID, mari.ID); switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
		t.Errorf("the owner is still a member after closing: %v", err)
	}
	if after := count(t, raw, `SELECT privilege_epoch FROM profiles WHERE id = ?`, mari.ID); after <= before {
		t.Error("closing did not renew the owner's privileges")
	}
	if _, err := db.AuthenticateAPIKey(ctx, keyHash); err == nil {
		t.Error("the subaccount's API key still works after closing")
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM profiles WHERE id = ?`, mari.ID); n != 1 {
		t.Error("closing deleted the owner's profile")
	}
	for table, want := range map[string]int{"messages": 1, "ledger": 1, "usage_daily": 1} {
		if n := count(t, raw, `SELECT COUNT(*) FROM `+table+` WHERE org_id = ?`, sub.OrgID); n != want {
			t.Errorf("%s of the closed subaccount: %d rows, want %d (kept for the statistics)", table, n, want)
		}
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM audit_log WHERE org_id = ? AND action IN ('subaccount.suspended', 'subaccount.resumed', 'subaccount.closed')`, parent.ID); n != 3 {
		t.Errorf("%d suspend/resume/close lines on the parent, want 3", n)
	}
	// Closed is final; it sends nothing.
	for name, err := range map[string]error{
		"resume":  db.ResumeSubaccount(ctx, a, parent.ID, sub.OrgID),
		"close":   db.CloseSubaccount(ctx, a, parent.ID, sub.OrgID),
		"funding": db.SetSubaccountFunding(ctx, a, "EUR", parent.ID, sub.OrgID, switchboard.FundingShared, 0),
	} {
		if switchboard.ErrorCode(err) != switchboard.ECONFLICT {
			t.Errorf("%s after closing: %v", name, err)
		}
	}
	_, err = db.QueueMessages(ctx, store.Batch{OrgID: sub.OrgID, Actor: actorOf(mari), Currency: "EUR", Messages: []switchboard.Message{oneMessage("+37255500001", 500)}})
	if switchboard.ErrorCode(err) != switchboard.EFORBIDDEN {
		t.Errorf("a send of a closed subaccount: %v", err)
	}
}

// TestCancelAndResendSubaccountInvitation: a resend kills the old token;
// cancelling closes the pending subaccount and kills its invitation.
func TestCancelAndResendSubaccountInvitation(t *testing.T) {
	db, dsn := newDBWithPath(t)
	raw := rawDB(t, dsn)
	owner, parent := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	sub, old := createSub(t, db, owner, parent.ID, "mari@example.com", "Acme Estonia")
	fresh := newTokenHash(t)
	must(t, db.ResendSubaccountInvitation(ctx, actorOf(owner), parent.ID, sub.OrgID, fresh, mailTo("mari@example.com", "again")))
	if _, err := db.FindInvitationByToken(ctx, old); switchboard.ErrorCode(err) != switchboard.EGONE {
		t.Errorf("the old token after a resend: %v", err)
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM outbox WHERE recipient = 'mari@example.com'`); n != 2 {
		t.Errorf("%d emails, want 2", n)
	}
	must(t, db.CancelSubaccountInvitation(ctx, actorOf(owner), parent.ID, sub.OrgID))
	p := &switchboard.Profile{Email: "mari@example.com", FirstName: "Mari", LastName: "Tamm"}
	if _, err := db.AcceptInvitationAsNewProfile(ctx, fresh, p, "hash", ""); switchboard.ErrorCode(err) != switchboard.EGONE {
		t.Errorf("accepting a cancelled subaccount's invitation: %v", err)
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM subaccounts WHERE org_id = ? AND status = 'closed' AND closed_at IS NOT NULL`, sub.OrgID); n != 1 {
		t.Error("cancelling did not close the subaccount")
	}
	if err := db.ResendSubaccountInvitation(ctx, actorOf(owner), parent.ID, sub.OrgID, newTokenHash(t), mailTo("mari@example.com", "x")); switchboard.ErrorCode(err) != switchboard.ECONFLICT {
		t.Errorf("resend of a closed subaccount: %v", err)
	}
}

// TestSubaccountChangesRaceSpends runs the parent's changes (funding,
// suspend, resume) against the subaccount's sends at once: on PostgreSQL a
// change that locked the parent's row before the subaccount's would
// deadlock against a send, which locks them the other way round. Every
// call must end, without an error other than a send's refusal.
func TestSubaccountChangesRaceSpends(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, parent := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	sub, hash := createSub(t, db, owner, parent.ID, "mari@example.com", "Acme Estonia")
	mari := acceptSub(t, db, hash, "mari@example.com")
	fund(t, dsn, parent.ID, 1_000_000)
	a := actorOf(owner)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 40 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := db.QueueMessages(ctx, store.Batch{OrgID: sub.OrgID, Actor: actorOf(mari), Currency: "EUR",
				Messages: []switchboard.Message{oneMessage(fmt.Sprintf("+3725550%04d", i), 500)}})
			if c := switchboard.ErrorCode(err); err != nil && c != switchboard.EFORBIDDEN && c != switchboard.EPAYMENT {
				errs <- err
			}
		}()
		go func() {
			defer wg.Done()
			var err error
			switch i % 3 {
			case 0:
				err = db.SetSubaccountFunding(ctx, a, "EUR", parent.ID, sub.OrgID, switchboard.FundingBudget, switchboard.Money(50+i)*switchboard.MoneyUnit)
			case 1:
				err = db.SuspendSubaccount(ctx, a, parent.ID, sub.OrgID)
			default:
				err = db.ResumeSubaccount(ctx, a, parent.ID, sub.OrgID)
			}
			if err != nil && switchboard.ErrorCode(err) != switchboard.ECONFLICT {
				errs <- err
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("sends and the parent's changes hang")
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// Then closing, which also changes the subaccount's own row, while
	// sends race it: all end, and nothing is sent after it.
	must(t, db.SetSubaccountFunding(ctx, a, "EUR", parent.ID, sub.OrgID, switchboard.FundingShared, 0))
	_ = db.ResumeSubaccount(ctx, a, parent.ID, sub.OrgID)
	errs = make(chan error, 100)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 10 {
				if err := db.CloseSubaccount(ctx, a, parent.ID, sub.OrgID); err != nil {
					errs <- err
				}
				return
			}
			_, err := db.QueueMessages(ctx, store.Batch{OrgID: sub.OrgID, Actor: actorOf(mari), Currency: "EUR",
				Messages: []switchboard.Message{oneMessage(fmt.Sprintf("+3725551%04d", i), 500)}})
			if err != nil && switchboard.ErrorCode(err) != switchboard.EFORBIDDEN {
				errs <- err
			}
		}()
	}
	done = make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("sends and closing hang")
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	_, err := db.QueueMessages(ctx, store.Batch{OrgID: sub.OrgID, Actor: actorOf(mari), Currency: "EUR", Messages: []switchboard.Message{oneMessage("+37255519999", 500)}})
	if switchboard.ErrorCode(err) != switchboard.EFORBIDDEN {
		t.Errorf("a send after closing: %v", err)
	}
}

// BenchmarkListSubaccounts reads the Subaccounts page's list of a parent
// with 100 subaccounts, half of them accepted.
func BenchmarkListSubaccounts(b *testing.B) {
	db, _ := newDBWithPath(b)
	owner, parent := newOwner(b, db, "Ada", "Lovelace", "ada@example.com")
	for i := range 100 {
		email := fmt.Sprintf("sub%03d@example.com", i)
		_, hash := createSub(b, db, owner, parent.ID, email, fmt.Sprintf("Subaccount %03d", i))
		if i%2 == 0 {
			acceptSub(b, db, hash, email)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		list, err := db.ListSubaccounts(ctx, parent.ID)
		if err != nil || len(list) != 100 {
			b.Fatal(len(list), err)
		}
	}
}
