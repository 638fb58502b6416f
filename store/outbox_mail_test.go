package store_test

import (
	"testing"
	"time"
)

// Every queued email gets its own Message-ID, which DueEmails returns on
// every attempt.
func TestOutboxMessageID(t *testing.T) {
	db := newDB(t)
	p, _ := newOwner(t, db, "Ann", "Lee", "ann@example.com")
	first, second := mailTo("ann@example.com", "First"), mailTo("ann@example.com", "Second")
	must(t, db.CreatePasswordReset(ctx, p.ID, newTokenHash(t), first))
	must(t, db.CreatePasswordReset(ctx, p.ID, newTokenHash(t), second))
	if len(first.MessageID) < 20 || first.MessageID == second.MessageID {
		t.Fatalf("Message-IDs %q and %q; want two long, different ones", first.MessageID, second.MessageID)
	}
	must(t, db.MarkEmailFailed(ctx, first.ID, "451 try later", t0))
	due, err := db.DueEmails(ctx, t0.Add(time.Hour), 10)
	must(t, err)
	if len(due) != 2 || due[0].MessageID != first.MessageID || due[1].MessageID != second.MessageID {
		t.Fatalf("due %+v; want both, with the Message-IDs they were queued with", due)
	}
}

// A refused email is given up at once, and the Members page can show the
// server's answer.
func TestMarkEmailRefused(t *testing.T) {
	db := newDB(t)
	owner, org := newOwner(t, db, "Ann", "Lee", "ann@example.com")
	gone, _ := invite(t, db, org, owner, "gone@example.com", sender)
	kept, _ := invite(t, db, org, owner, "kept@example.com", sender)
	due, err := db.DueEmails(ctx, t0.Add(time.Hour), 10)
	must(t, err)
	if len(due) != 2 {
		t.Fatalf("due %+v", due)
	}
	answer := "550 5.1.1 <gone@example.com>: Recipient address rejected"
	must(t, db.MarkEmailRefused(ctx, due[0].ID, answer, t0))
	must(t, db.MarkEmailFailed(ctx, due[1].ID, "mail: dial tcp 10.0.0.1:587: connection refused", t0.Add(time.Minute)))

	if got := dueTo(t, db, t0.Add(time.Hour)); len(got) != 1 || got[0] != "kept@example.com" {
		t.Fatalf("due after the refusal: %v; want only kept@example.com", got)
	}
	list, _, err := db.ListPendingInvitations(ctx, org.ID, 10)
	must(t, err)
	byEmail := map[string]int{}
	for i, inv := range list {
		byEmail[inv.Email] = i
	}
	if inv := list[byEmail[gone.Email]]; !inv.EmailGivenUp || inv.EmailRefusal != answer || inv.EmailAttempts != 1 {
		t.Errorf("refused invitation: given up %v, refusal %q, attempts %d", inv.EmailGivenUp, inv.EmailRefusal, inv.EmailAttempts)
	}
	// A temporary failure is neither given up nor shown: its error names
	// the panel's own SMTP server.
	if inv := list[byEmail[kept.Email]]; inv.EmailGivenUp || inv.EmailRefusal != "" || inv.EmailAttempts != 1 {
		t.Errorf("retried invitation: given up %v, refusal %q, attempts %d", inv.EmailGivenUp, inv.EmailRefusal, inv.EmailAttempts)
	}
}
