package store_test

import (
	"slices"
	"testing"
	"time"

	"switchboard"
	"switchboard/store"
)

func TestOutbox(t *testing.T) {
	db := newDB(t)
	p, _ := newOwner(t, db, "Ann", "Lee", "ann@example.com")

	nextAt := func(t *testing.T) (time.Time, bool) {
		t.Helper()
		at, ok, err := db.NextEmailAt(ctx)
		must(t, err)
		return at, ok
	}
	dueIDs := func(t *testing.T, now time.Time) []int64 {
		t.Helper()
		emails, err := db.DueEmails(ctx, now, 10)
		must(t, err)
		var ids []int64
		for _, e := range emails {
			ids = append(ids, e.ID)
		}
		return ids
	}

	if _, ok := nextAt(t); ok {
		t.Fatal("an empty outbox has a next email")
	}
	first := &switchboard.Email{To: "ann@example.com", Subject: "First", Text: "text 1", HTML: "<p>html 1</p>"}
	must(t, db.CreatePasswordReset(ctx, p.ID, newTokenHash(t), first))
	setNow(db, t0.Add(time.Minute))
	second := mailTo("ann@example.com", "Second")
	must(t, db.CreatePasswordReset(ctx, p.ID, newTokenHash(t), second))

	t.Run("due", func(t *testing.T) {
		emails, err := db.DueEmails(ctx, t0.Add(time.Minute), 10)
		must(t, err)
		if len(emails) != 2 {
			t.Fatalf("due %+v", emails)
		}
		e := emails[0]
		if e.ID != first.ID || e.To != "ann@example.com" || e.Subject != "First" || e.Text != "text 1" || e.HTML != "<p>html 1</p>" ||
			e.Attempts != 0 || e.LastError != "" || !e.NextAttemptAt.Equal(t0) {
			t.Errorf("first email %+v", e)
		}
		if got := dueIDs(t, t0); !slices.Equal(got, []int64{first.ID}) {
			t.Errorf("due at t0: %v, want only the first", got)
		}
		if got := dueIDs(t, t0.Add(-time.Second)); len(got) != 0 {
			t.Errorf("due before anything was queued: %v", got)
		}
		limited, err := db.DueEmails(ctx, t0.Add(time.Hour), 1)
		must(t, err)
		if len(limited) != 1 || limited[0].ID != first.ID {
			t.Errorf("limit 1: %+v", limited)
		}
		if at, ok := nextAt(t); !ok || !at.Equal(t0) {
			t.Errorf("next email at %v, %v; want t0", at, ok)
		}
	})

	t.Run("failed is not due until the next attempt", func(t *testing.T) {
		retry := t0.Add(10 * time.Minute)
		must(t, db.MarkEmailFailed(ctx, first.ID, "421 try again later", retry))
		if got := dueIDs(t, retry.Add(-time.Millisecond)); !slices.Equal(got, []int64{second.ID}) {
			t.Errorf("due before the retry: %v, want only the second", got)
		}
		emails, err := db.DueEmails(ctx, retry, 10)
		must(t, err)
		if len(emails) != 2 || emails[0].ID != second.ID || emails[1].ID != first.ID {
			t.Fatalf("due at the retry: %+v", emails)
		}
		if e := emails[1]; e.Attempts != 1 || e.LastError != "421 try again later" || !e.NextAttemptAt.Equal(retry) {
			t.Errorf("failed email %+v", e)
		}
		if at, ok := nextAt(t); !ok || !at.Equal(t0.Add(time.Minute)) {
			t.Errorf("next email at %v, %v; want the second's", at, ok)
		}
	})

	t.Run("sent is no longer due", func(t *testing.T) {
		must(t, db.MarkEmailSent(ctx, second.ID, t0.Add(2*time.Minute)))
		if got := dueIDs(t, t0.Add(24*time.Hour)); !slices.Equal(got, []int64{first.ID}) {
			t.Errorf("due: %v, want only the first", got)
		}
		if at, ok := nextAt(t); !ok || !at.Equal(t0.Add(10*time.Minute)) {
			t.Errorf("next email at %v, %v; want the retry", at, ok)
		}
		must(t, db.MarkEmailSent(ctx, first.ID, t0.Add(11*time.Minute)))
		if got := dueIDs(t, t0.Add(24*time.Hour)); len(got) != 0 {
			t.Errorf("due after sending everything: %v", got)
		}
		if at, ok := nextAt(t); ok {
			t.Errorf("next email at %v after sending everything", at)
		}
	})

}

func TestOutboxGivesUp(t *testing.T) {
	db := newDB(t)
	p, org := newOwner(t, db, "Ann", "Lee", "ann@example.com")
	inv, _ := invite(t, db, org, p, "bounce@example.com", switchboard.BuiltinRole(switchboard.RoleSender))
	emails, err := db.DueEmails(ctx, t0, 10)
	must(t, err)
	if len(emails) != 1 {
		t.Fatalf("due %+v", emails)
	}
	id := emails[0].ID

	// Failures within the give-up time are retried, and counted on the
	// invitation.
	setNow(db, t0.Add(time.Hour))
	must(t, db.MarkEmailFailed(ctx, id, "550 no such user", t0.Add(2*time.Hour)))
	got, err := db.FindInvitation(ctx, org.ID, inv.ID)
	must(t, err)
	if got.EmailAttempts != 1 || got.EmailGivenUp || got.EmailSentAt != nil {
		t.Fatalf("after one failure: %+v", got)
	}
	if due, _ := db.DueEmails(ctx, t0.Add(2*time.Hour), 10); len(due) != 1 {
		t.Fatal("a failed email is not retried")
	}

	// Past it, the email is given up: never due again.
	setNow(db, t0.Add(store.EmailGiveUpAfter+time.Minute))
	must(t, db.MarkEmailFailed(ctx, id, "550 no such user", t0.Add(store.EmailGiveUpAfter+time.Hour)))
	got, err = db.FindInvitation(ctx, org.ID, inv.ID)
	must(t, err)
	if !got.EmailGivenUp || got.EmailAttempts != 2 {
		t.Fatalf("after the give-up time: %+v", got)
	}
	if due, _ := db.DueEmails(ctx, t0.Add(30*24*time.Hour), 10); len(due) != 0 {
		t.Fatalf("a given-up email is still due: %+v", due)
	}
	if _, ok, err := db.NextEmailAt(ctx); err != nil || ok {
		t.Fatalf("NextEmailAt after giving up: %v, %v", ok, err)
	}

	// Resending queues a new email, which is due again.
	must(t, db.ResendInvitation(ctx, actorOf(p), org.ID, inv.ID, newTokenHash(t), mailTo("bounce@example.com", "Again")))
	got, err = db.FindInvitation(ctx, org.ID, inv.ID)
	must(t, err)
	if got.EmailGivenUp || got.EmailAttempts != 0 {
		t.Fatalf("after resending: %+v", got)
	}
}

// TestClaimEmails: a claimed email is nobody else's until its outcome is
// recorded, it is released, or its lease runs out.
func TestClaimEmails(t *testing.T) {
	db, dsn := newDBWithPath(t)
	p, _ := newOwner(t, db, "Ann", "Lee", "ann@example.com")
	a, b := mailTo("ann@example.com", "A"), mailTo("ann@example.com", "B")
	must(t, db.CreatePasswordReset(ctx, p.ID, newTokenHash(t), a))
	must(t, db.CreatePasswordReset(ctx, p.ID, newTokenHash(t), b))
	// Another process: its own handle on the same database.
	other, err := store.Open(ctx, dsn)
	must(t, err)
	defer other.Close()

	ids := func(list []switchboard.Email) []int64 {
		var ids []int64
		for _, e := range list {
			ids = append(ids, e.ID)
		}
		return ids
	}
	claim := func(db *store.DB, now time.Time) []int64 {
		t.Helper()
		list, err := db.ClaimEmails(ctx, now, 10)
		must(t, err)
		return ids(list)
	}
	if got := claim(db, t0); !slices.Equal(got, []int64{a.ID, b.ID}) {
		t.Fatalf("first claim %v, want both in order", got)
	}
	if got := claim(other, t0); len(got) != 0 {
		t.Fatalf("claimed again by another process: %v", got)
	}
	if got := claim(db, t0.Add(store.EmailLease-time.Millisecond)); len(got) != 0 {
		t.Fatalf("claimed again within the lease: %v", got)
	}
	if due, err := db.DueEmails(ctx, t0, 10); err != nil || len(due) != 2 {
		t.Fatalf("claimed emails are still unsent: %v, %v", ids(due), err)
	}
	if at, ok, err := db.NextEmailAt(ctx); err != nil || !ok || !at.Equal(t0.Add(store.EmailLease)) {
		t.Fatalf("next email at %s, %v, %v; want when the leases end", at, ok, err)
	}

	// Released: free at once. Failed: free at its next attempt. Sent: gone.
	must(t, db.ReleaseEmail(ctx, a.ID))
	must(t, db.MarkEmailFailed(ctx, b.ID, "451 later", t0.Add(time.Minute)))
	if got := claim(other, t0); !slices.Equal(got, []int64{a.ID}) {
		t.Fatalf("after release and failure: %v, want the released one only", got)
	}
	if got := claim(other, t0.Add(time.Minute)); !slices.Equal(got, []int64{b.ID}) {
		t.Fatalf("at the failed one's next attempt: %v", got)
	}
	must(t, other.MarkEmailSent(ctx, b.ID, t0.Add(time.Minute)))

	// The process holding a died mid-send: once its lease is over, another
	// claims it.
	if got := claim(db, t0.Add(store.EmailLease+time.Millisecond)); !slices.Equal(got, []int64{a.ID}) {
		t.Fatalf("after the lease ran out: %v, want the abandoned email", got)
	}
}
