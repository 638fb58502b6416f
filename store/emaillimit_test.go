package store_test

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"switchboard"
	"switchboard/store"
)

// Emails per recipient mailbox per day are capped across the whole
// instance, in the transaction that queues them (issue 6, point 2).
func TestEmailsPerRecipientPerDay(t *testing.T) {
	t.Run("the cap holds across organisations, kinds of email and aliases", func(t *testing.T) {
		db := newDB(t)
		victim, _ := newOwner(t, db, "Vic", "Tim", "victim@example.com")
		aliases := []string{"victim@example.com", "Victim@Example.com", "victim+a@example.com", "VICTIM+b@example.com"}
		sent := 0
		for i := 0; sent < store.MaxEmailsPerRecipient; i++ {
			if i%3 == 0 {
				must(t, db.CreatePasswordReset(ctx, victim.ID, newTokenHash(t), mailTo(victim.Email, "Reset")))
			} else {
				inviter, org := newOwner(t, db, "Eve", "Number", "eve"+strconv.Itoa(i)+"@example.com")
				invite(t, db, org, inviter, aliases[i%len(aliases)], sender)
			}
			sent++
		}
		// One more of any kind, to any alias, from a new organisation, is
		// refused, and leaves nothing behind.
		inviter, org := newOwner(t, db, "Eve", "Last", "eve-last@example.com")
		for _, address := range aliases {
			_, err := tryInvite(db, org, inviter, address, sender, newTokenHash(t))
			wantCode(t, err, switchboard.ETOOMANY)
		}
		reset := newTokenHash(t)
		wantCode(t, db.CreatePasswordReset(ctx, victim.ID, reset, mailTo(victim.Email, "Reset")), switchboard.ETOOMANY)
		if _, err := db.FindPasswordReset(ctx, reset); switchboard.ErrorCode(err) != switchboard.EGONE {
			t.Errorf("a refused reset left its token: %v", err)
		}
		if got := len(dueTo(t, db, t0)); got != store.MaxEmailsPerRecipient {
			t.Errorf("%d emails queued, want %d", got, store.MaxEmailsPerRecipient)
		}
		if list, _, err := db.ListPendingInvitations(ctx, org.ID, 10); err != nil || len(list) != 0 {
			t.Errorf("a refused invitation was stored: %v, %v", list, err)
		}
		// Another address is not affected.
		invite(t, db, org, inviter, "someone.else@example.com", sender)
		// A day later the allowance is back.
		setNow(db, t0.Add(store.EmailLimitWindow+time.Second))
		invite(t, db, org, inviter, "victim@example.com", sender)
	})

	t.Run("parallel emails to one address all count", func(t *testing.T) {
		db := newDB(t)
		victim, _ := newOwner(t, db, "Vic", "Tim", "victim@example.com")
		var wg sync.WaitGroup
		for range 40 {
			wg.Go(func() {
				err := db.CreatePasswordReset(ctx, victim.ID, newTokenHash(t), mailTo(victim.Email, "Reset"))
				if err != nil && switchboard.ErrorCode(err) != switchboard.ETOOMANY {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got := len(dueTo(t, db, t0)); got != store.MaxEmailsPerRecipient {
			t.Errorf("%d emails queued by 40 parallel resets, want %d", got, store.MaxEmailsPerRecipient)
		}
	})

	t.Run("a resend past the cap keeps the old link working", func(t *testing.T) {
		db := newDB(t)
		owner, org := newOwner(t, db, "Ann", "Owner", "ann@example.com")
		inv, hash := invite(t, db, org, owner, "bob@example.com", sender)
		for range store.MaxEmailsPerRecipient - 1 {
			must(t, db.ResendInvitation(ctx, actorOf(owner), org.ID, inv.ID, hash2(t, &hash), mailTo("bob@example.com", "Again")))
		}
		err := db.ResendInvitation(ctx, actorOf(owner), org.ID, inv.ID, newTokenHash(t), mailTo("bob@example.com", "Again"))
		wantCode(t, err, switchboard.ETOOMANY)
		if _, err := db.FindInvitationByToken(ctx, hash); err != nil {
			t.Errorf("the last link sent stopped working: %v", err)
		}
	})
}

// hash2 replaces *hash with a new token hash and returns it.
func hash2(tb testing.TB, hash *[]byte) []byte {
	*hash = newTokenHash(tb)
	return *hash
}

// BenchmarkQueueWithRecipientCap measures queueing an email (a password
// reset) when the day's table already holds rows rows: the cap is counted
// through an index, so its cost does not grow with the instance's mail.
func BenchmarkQueueWithRecipientCap(b *testing.B) {
	for _, rows := range []int{0, 100000} {
		b.Run(strconv.Itoa(rows)+" rows", func(b *testing.B) {
			db, path := newDBWithPath(b)
			victim, _ := newOwner(b, db, "Vic", "Tim", "victim@example.com")
			raw := rawDB(b, path)
			_, err := raw.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
				INSERT INTO recipient_emails (mailbox, created_at) SELECT 'someone' || (i % 5000) || '@example.com', ? FROM n`, rows, t0.UnixMilli())
			must(b, err)
			i := 0
			for b.Loop() {
				i++
				must(b, db.CreatePasswordReset(ctx, victim.ID, newTokenHash(b), mailTo("r"+strconv.Itoa(i)+"@example.com", "Reset")))
			}
		})
	}
}
