package store_test

import (
	"fmt"
	"sync"
	"testing"

	"switchboard"
	"switchboard/store"
)

// fund sets the organisation's balance behind the store's back (tests
// only: money otherwise arrives by paid invoices).
func fund(tb testing.TB, dsn string, orgID int64, amount switchboard.Money) {
	tb.Helper()
	raw := rawDB(tb, dsn)
	if _, err := raw.ExecContext(ctx, `UPDATE organisations SET balance = ? WHERE id = ?`, int64(amount), orgID); err != nil {
		tb.Fatal(err)
	}
}

func oneMessage(to string, price switchboard.Money) switchboard.Message {
	return switchboard.Message{From: "Acme", To: to, Text: "Hello", Encoding: switchboard.GSM7, Parts: 1, Price: price}
}

func TestQueueMessagesDebitsAndQueuesTogether(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	fund(t, dsn, org.ID, 1000)
	batch := store.Batch{OrgID: org.ID, Actor: actorOf(owner), Currency: "EUR", Description: "2 messages",
		Messages: []switchboard.Message{oneMessage("+37255500001", 300), oneMessage("+37255500002", 300)}}
	id, err := db.QueueMessages(ctx, batch)
	must(t, err)
	if b, _ := db.Balance(ctx, org.ID); b != 400 {
		t.Errorf("balance after a send of 600 from 1000 = %d, want 400", b)
	}
	raw := rawDB(t, dsn)
	if n := count(t, raw, `SELECT COUNT(*) FROM messages WHERE batch_id = ? AND org_id = ? AND status = 'queued'`, id, org.ID); n != 2 {
		t.Errorf("%d messages queued, want 2", n)
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM message_queue q JOIN messages m ON m.id = q.message_id WHERE m.batch_id = ?`, id); n != 2 {
		t.Errorf("%d messages in the delivery queue, want 2", n)
	}
	lines, _, err := db.ListLedger(ctx, org.ID, 0, 10)
	must(t, err)
	if len(lines) != 1 || lines[0].Kind != switchboard.LedgerSpend || lines[0].Amount != -600 || lines[0].Balance != 400 || lines[0].ID != id {
		t.Errorf("ledger = %+v, want one spend of -600 leaving 400 with the batch's id", lines)
	}
	if n := count(t, raw, `SELECT spent FROM usage_daily WHERE org_id = ?`, org.ID); n != 600 {
		t.Errorf("usage spent = %d, want 600", n)
	}

	// Not enough: PRODUCT.md's words, nothing queued, nothing debited.
	_, err = db.QueueMessages(ctx, batch)
	wantCode(t, err, switchboard.EPAYMENT)
	if want := "Your balance of €0.04 does not cover this send of €0.06."; switchboard.ErrorMessage(err) != want {
		t.Errorf("message = %q, want %q", switchboard.ErrorMessage(err), want)
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM messages WHERE org_id = ?`, org.ID); n != 2 {
		t.Errorf("%d messages after a refused send, want the 2 of before", n)
	}
	if b, _ := db.Balance(ctx, org.ID); b != 400 {
		t.Errorf("balance after a refused send = %d, want 400", b)
	}
}

// TestBalanceNeverBelowZero races 100 sends against a balance that covers
// 37 of them: exactly 37 are queued and the balance ends at zero
// (SECURITY.md § Money and data: one conditional UPDATE).
func TestBalanceNeverBelowZero(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	const price, covered, senders = 500, 37, 100
	fund(t, dsn, org.ID, price*covered)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refused := 0, 0
	for i := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := db.QueueMessages(ctx, store.Batch{OrgID: org.ID, Actor: actorOf(owner), Currency: "EUR",
				Messages: []switchboard.Message{oneMessage(fmt.Sprintf("+3725550%04d", i), price)}})
			mu.Lock()
			defer mu.Unlock()
			switch switchboard.ErrorCode(err) {
			case "":
				ok++
			case switchboard.EPAYMENT:
				refused++
			default:
				t.Errorf("send %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if ok != covered || refused != senders-covered {
		t.Errorf("%d sends went through and %d were refused; want %d and %d", ok, refused, covered, senders-covered)
	}
	if b, _ := db.Balance(ctx, org.ID); b != 0 {
		t.Errorf("balance = %d, want 0", b)
	}
	raw := rawDB(t, dsn)
	if n := count(t, raw, `SELECT COUNT(*) FROM messages WHERE org_id = ?`, org.ID); n != covered {
		t.Errorf("%d messages, want %d", n, covered)
	}
	if n := count(t, raw, `SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE org_id = ?`, org.ID); n != -price*covered {
		t.Errorf("the ledger sums to %d, want %d", n, -price*covered)
	}
}
