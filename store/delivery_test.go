package store_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"switchboard"
	"switchboard/store"
)

// queueDeliveries funds the organisation with enough and queues one message of
// price to each number, returning the messages' ids in the order given.
func queueDeliveries(tb testing.TB, db *store.DB, dsn string, owner *switchboard.Profile, orgID int64, from string, price switchboard.Money, numbers ...string) []int64 {
	tb.Helper()
	raw := rawDB(tb, dsn)
	if _, err := raw.ExecContext(ctx, `UPDATE organisations SET balance = balance + ? WHERE id = ?`, int64(price)*int64(len(numbers)), orgID); err != nil {
		tb.Fatal(err)
	}
	b := store.Batch{OrgID: orgID, Actor: actorOf(owner), Currency: "EUR", Description: fmt.Sprintf("%d messages", len(numbers))}
	for _, n := range numbers {
		m := oneMessage(n, price)
		m.From = from
		b.Messages = append(b.Messages, m)
	}
	batch, err := db.QueueMessages(ctx, b)
	must(tb, err)
	ids := make([]int64, len(numbers))
	for i, n := range numbers {
		if err := raw.QueryRowContext(ctx, `SELECT id FROM messages WHERE batch_id = ? AND recipient = ?`, batch, n).Scan(&ids[i]); err != nil {
			tb.Fatal(err)
		}
	}
	return ids
}

func deliveryIDs(list []switchboard.Delivery) []int64 {
	var ids []int64
	for _, d := range list {
		ids = append(ids, d.ID)
	}
	return ids
}

func deliveryStatus(tb testing.TB, dsn string, id int64) (status, reason string, refunded bool) {
	tb.Helper()
	if err := rawDB(tb, dsn).QueryRowContext(ctx, `SELECT status, error, refunded FROM messages WHERE id = ?`, id).Scan(&status, &reason, &refunded); err != nil {
		tb.Fatal(err)
	}
	return status, reason, refunded
}

// TestClaimMessagesLeases: a claimed message is not claimed again until its
// lease runs out, and the claim carries the message as the gateway needs it.
func TestClaimMessagesLeases(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	ids := queueDeliveries(t, db, dsn, owner, org.ID, "Acme", 100, "+37255500001", "+37255500002", "+37255500003")

	first, err := db.ClaimMessages(ctx, t0, 2)
	must(t, err)
	second, err := db.ClaimMessages(ctx, t0, 10)
	must(t, err)
	if len(first) != 2 || len(second) != 1 {
		t.Fatalf("claims of 2 then 10 took %v and %v; want 2 and the 1 left", deliveryIDs(first), deliveryIDs(second))
	}
	all := append(deliveryIDs(first), deliveryIDs(second)...)
	slices.Sort(all)
	if !slices.Equal(all, ids) {
		t.Fatalf("claimed %v, want each of %v once", all, ids)
	}
	d := first[0]
	if d.OrgID != org.ID || d.From != "Acme" || d.To == "" || d.Text != "Hello" || d.Encoding != switchboard.GSM7 || d.Parts != 1 || d.Price != 100 || d.Attempts != 0 || !d.CreatedAt.Equal(t0) {
		t.Errorf("claimed delivery = %+v", d)
	}
	if again, err := db.ClaimMessages(ctx, t0.Add(store.MessageLease-time.Second), 10); err != nil || len(again) != 0 {
		t.Fatalf("claim during the lease = %v, %v; want nothing", deliveryIDs(again), err)
	}
	again, err := db.ClaimMessages(ctx, t0.Add(store.MessageLease), 10)
	must(t, err)
	if len(again) != 3 {
		t.Fatalf("claim after the lease took %v, want all 3 again (their process died)", deliveryIDs(again))
	}
	if next, ok, err := db.NextMessageAt(ctx); err != nil || !ok || !next.Equal(t0.Add(2*store.MessageLease)) {
		t.Errorf("NextMessageAt = %v, %v, %v; want the end of the new lease", next, ok, err)
	}
}

// TestRecordDeliveries records each kind of outcome in one batch and checks
// the message, the queue, the balance, the ledger and the usage.
func TestRecordDeliveries(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	ids := queueDeliveries(t, db, dsn, owner, org.ID, "Acme", 700, "+37255500001", "+37255500002", "+37255500003", "+37255500004", "+37255500005")
	raw := rawDB(t, dsn)
	_, err := db.ClaimMessages(ctx, t0, 10)
	must(t, err)
	later := t0.Add(time.Minute)
	setNow(db, later)
	retry := t0.Add(time.Hour)
	must(t, db.RecordDeliveries(ctx, []switchboard.DeliveryOutcome{
		{MessageID: ids[0], Status: switchboard.StatusSent},
		{MessageID: ids[1], Status: switchboard.StatusDelivered},
		{MessageID: ids[2], Status: switchboard.StatusFailed, Reason: "The gateway refused this message: unknown number"},
		{MessageID: ids[3], Status: switchboard.StatusQueued, Reason: "gateway: the gateway answered 503", Retry: retry},
		{MessageID: ids[4], Status: switchboard.StatusQueued, Untried: true},
	}))

	for i, want := range []string{"sent", "delivered", "failed", "queued", "queued"} {
		if status, _, _ := deliveryStatus(t, dsn, ids[i]); status != want {
			t.Errorf("message %d is %s, want %s", i, status, want)
		}
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM messages WHERE id IN (?, ?) AND sent_at = ? AND status_at = ?`, ids[0], ids[1], later.UnixMilli(), later.UnixMilli()); n != 2 {
		t.Errorf("%d accepted messages have sent_at and status_at of the outcome, want 2", n)
	}
	if _, reason, refunded := deliveryStatus(t, dsn, ids[2]); reason != "The gateway refused this message: unknown number" || !refunded {
		t.Errorf("failed message: reason %q, refunded %v", reason, refunded)
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM message_queue WHERE message_id IN (?, ?, ?)`, ids[0], ids[1], ids[2]); n != 0 {
		t.Errorf("%d finished messages still in the queue", n)
	}
	var attempts int
	var next int64
	var lastError string
	var claimed any
	must(t, raw.QueryRowContext(ctx, `SELECT attempts, next_attempt_at, last_error, claimed_until FROM message_queue WHERE message_id = ?`, ids[3]).Scan(&attempts, &next, &lastError, &claimed))
	if attempts != 1 || next != retry.UnixMilli() || lastError != "gateway: the gateway answered 503" || claimed != nil {
		t.Errorf("retried message: attempts %d, next %d, last error %q, claimed %v", attempts, next, lastError, claimed)
	}
	must(t, raw.QueryRowContext(ctx, `SELECT attempts, claimed_until FROM message_queue WHERE message_id = ?`, ids[4]).Scan(&attempts, &claimed))
	if attempts != 0 || claimed != nil {
		t.Errorf("untried message: attempts %d, claimed %v; want its claim given back, no attempt counted", attempts, claimed)
	}
	if got, _ := db.ClaimMessages(ctx, later, 10); !slices.Equal(deliveryIDs(got), []int64{ids[4]}) {
		t.Errorf("claim after the outcomes took %v, want only the untried message %d", deliveryIDs(got), ids[4])
	}

	if b, _ := db.Balance(ctx, org.ID); b != 700 {
		t.Errorf("balance = %d, want the 700 of the refused message back", b)
	}
	lines, _, err := db.ListLedger(ctx, org.ID, 0, 10)
	must(t, err)
	if lines[0].Kind != switchboard.LedgerRefund || lines[0].Amount != 700 || lines[0].MessageID != ids[2] || lines[0].Description != fmt.Sprintf("Refund of message %d", ids[2]) || lines[0].Balance != 700 {
		t.Errorf("last ledger line = %+v, want the refund of message %d", lines[0], ids[2])
	}
	if n := count(t, raw, `SELECT refunded FROM usage_daily WHERE org_id = ?`, org.ID); n != 700 {
		t.Errorf("usage refunded = %d, want 700", n)
	}
}

// TestRefundExactlyOnce: the worker's refusal, then a failure report, then
// ten failure reports at once: one refund.
func TestRefundExactlyOnce(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	ids := queueDeliveries(t, db, dsn, owner, org.ID, "Acme", 500, "+37255500001", "+37255500002")
	raw := rawDB(t, dsn)

	// The worker and a report, one after the other.
	must(t, db.RecordDeliveries(ctx, []switchboard.DeliveryOutcome{{MessageID: ids[0], Status: switchboard.StatusFailed, Reason: "refused"}}))
	must(t, db.RecordDeliveries(ctx, []switchboard.DeliveryOutcome{{MessageID: ids[0], Status: switchboard.StatusFailed, Reason: "refused again"}}))
	status, err := db.ReportDelivery(ctx, ids[0], switchboard.StatusFailed, "reported")
	must(t, err)
	if status != switchboard.StatusFailed {
		t.Errorf("status after the report = %s", status)
	}
	if _, reason, _ := deliveryStatus(t, dsn, ids[0]); reason != "refused" {
		t.Errorf("reason = %q, want the first one kept", reason)
	}

	// Ten reports at once (on PostgreSQL, ten transactions side by side).
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if _, err := db.ReportDelivery(ctx, ids[1], switchboard.StatusFailed, "undeliverable"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()

	for _, id := range ids {
		if n := count(t, raw, `SELECT COUNT(*) FROM ledger WHERE kind = 'refund' AND message_id = ?`, id); n != 1 {
			t.Errorf("message %d has %d refund lines, want 1", id, n)
		}
	}
	if b, _ := db.Balance(ctx, org.ID); b != 1000 {
		t.Errorf("balance = %d, want 1000 (two refunds of 500)", b)
	}
	if n := count(t, raw, `SELECT refunded FROM usage_daily WHERE org_id = ?`, org.ID); n != 1000 {
		t.Errorf("usage refunded = %d, want 1000", n)
	}
	if n := count(t, raw, `SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE org_id = ?`, org.ID); n != 0 {
		t.Errorf("the ledger sums to %d, want 0: spent and refunded", n)
	}
}

// TestReportDelivery: statuses only move forward, a report takes the
// message out of the queue, and an unknown id is not found.
func TestReportDelivery(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	ids := queueDeliveries(t, db, dsn, owner, org.ID, "Acme", 500, "+37255500001", "+37255500002", "+37255500003")
	raw := rawDB(t, dsn)
	must(t, db.RecordDeliveries(ctx, []switchboard.DeliveryOutcome{{MessageID: ids[0], Status: switchboard.StatusSent}}))

	t.Run("sent, then delivered", func(t *testing.T) {
		status, err := db.ReportDelivery(ctx, ids[0], switchboard.StatusDelivered, "")
		must(t, err)
		if status != switchboard.StatusDelivered {
			t.Fatalf("status = %s, want delivered", status)
		}
		// A late failure report changes nothing and refunds nothing.
		status, err = db.ReportDelivery(ctx, ids[0], switchboard.StatusFailed, "late")
		must(t, err)
		if got, reason, refunded := deliveryStatus(t, dsn, ids[0]); status != switchboard.StatusDelivered || got != "delivered" || reason != "" || refunded {
			t.Errorf("after a failure report for a delivered message: %s %s %q %v", status, got, reason, refunded)
		}
	})
	t.Run("reported before the worker recorded it", func(t *testing.T) {
		// The gateway reported delivery while the worker was still
		// waiting for its answer: the message leaves the queue, and the
		// worker's "sent" does not take it back.
		status, err := db.ReportDelivery(ctx, ids[1], switchboard.StatusDelivered, "")
		must(t, err)
		if status != switchboard.StatusDelivered {
			t.Fatalf("status = %s", status)
		}
		if n := count(t, raw, `SELECT COUNT(*) FROM message_queue WHERE message_id = ?`, ids[1]); n != 0 {
			t.Errorf("a delivered message is still queued")
		}
		must(t, db.RecordDeliveries(ctx, []switchboard.DeliveryOutcome{{MessageID: ids[1], Status: switchboard.StatusSent}}))
		if got, _, _ := deliveryStatus(t, dsn, ids[1]); got != "delivered" {
			t.Errorf("after the worker's late outcome the message is %s, want delivered", got)
		}
	})
	t.Run("failed, then delivered", func(t *testing.T) {
		_, err := db.ReportDelivery(ctx, ids[2], switchboard.StatusFailed, "The gateway reported: absent subscriber")
		must(t, err)
		if n := count(t, raw, `SELECT COUNT(*) FROM message_queue WHERE message_id = ?`, ids[2]); n != 0 {
			t.Errorf("a failed message is still queued, to be sent after its refund")
		}
		status, err := db.ReportDelivery(ctx, ids[2], switchboard.StatusDelivered, "")
		must(t, err)
		if status != switchboard.StatusFailed {
			t.Errorf("a delivery report moved a failed message to %s", status)
		}
	})
	t.Run("unknown id", func(t *testing.T) {
		_, err := db.ReportDelivery(ctx, ids[2]+1000, switchboard.StatusDelivered, "")
		wantCode(t, err, switchboard.ENOTFOUND)
		_, err = db.ReportDelivery(ctx, ids[2]+1000, switchboard.StatusFailed, "")
		wantCode(t, err, switchboard.ENOTFOUND)
	})
	t.Run("another status", func(t *testing.T) {
		_, err := db.ReportDelivery(ctx, ids[0], switchboard.StatusQueued, "")
		wantCode(t, err, switchboard.EINVALID)
	})
}

// TestTwoClaimersNeverShareAMessage: two handles on one database, as two
// processes, claim and finish 300 messages side by side; each message is
// claimed by exactly one of them.
func TestTwoClaimersNeverShareAMessage(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	const n = 300
	numbers := make([]string, n)
	for i := range numbers {
		numbers[i] = fmt.Sprintf("+3725560%04d", i)
	}
	queueDeliveries(t, db, dsn, owner, org.ID, "Acme", 100, numbers...)
	other, _ := openSecondHandle(t, dsn)

	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for _, handle := range []*store.DB{db, other, db, other} {
		wg.Go(func() {
			for {
				list, err := handle.ClaimMessages(ctx, t0, 7)
				if err != nil {
					t.Error(err)
					return
				}
				if len(list) == 0 {
					return
				}
				if len(list) > 7 {
					t.Errorf("a claim of 7 took %d messages", len(list))
				}
				var outcomes []switchboard.DeliveryOutcome
				mu.Lock()
				for _, d := range list {
					seen[d.ID]++
					outcomes = append(outcomes, switchboard.DeliveryOutcome{MessageID: d.ID, Status: switchboard.StatusSent})
				}
				mu.Unlock()
				if err := handle.RecordDeliveries(ctx, outcomes); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("%d messages claimed, want %d", len(seen), n)
	}
	for id, times := range seen {
		if times != 1 {
			t.Errorf("message %d claimed %d times", id, times)
		}
	}
	if c := count(t, rawDB(t, dsn), `SELECT COUNT(*) FROM messages WHERE org_id = ? AND status = 'sent'`, org.ID); c != n {
		t.Errorf("%d messages sent, want %d", c, n)
	}
}

// openSecondHandle opens a second handle on the test's database, as another
// process would, with the same clock.
func openSecondHandle(tb testing.TB, dsn string) (*store.DB, string) {
	tb.Helper()
	other, err := store.Open(ctx, dsn)
	must(tb, err)
	tb.Cleanup(func() { other.Close() })
	setNow(other, t0)
	return other, dsn
}

// TestInboundStopAndStart: STOP opts the number out of the organisations
// that wrote to it (only those that wrote from the number it answered, when
// any did), never of the others; START opts it back in.
func TestInboundStopAndStart(t *testing.T) {
	db, dsn := newDBWithPath(t)
	ownerA, a := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	ownerB, b := newOwner(t, db, "Bob", "Builder", "bob@example.com")
	ownerC, c := newOwner(t, db, "Cy", "Young", "cy@example.com")
	const phone = "+37255500001"
	queueDeliveries(t, db, dsn, ownerA, a.ID, "+3725000001", 100, phone)
	queueDeliveries(t, db, dsn, ownerB, b.ID, "Bobs", 100, phone)
	queueDeliveries(t, db, dsn, ownerC, c.ID, "+3725000001", 100, "+37255500002") // never wrote to phone
	raw := rawDB(t, dsn)
	optedOut := func() []int64 {
		t.Helper()
		rows, err := raw.QueryContext(ctx, `SELECT org_id FROM opt_outs WHERE phone = ? ORDER BY org_id`, phone)
		must(t, err)
		defer rows.Close()
		var ids []int64
		for rows.Next() {
			var id int64
			must(t, rows.Scan(&id))
			ids = append(ids, id)
		}
		return ids
	}

	// Answered to A's own number (written with or without +): only A.
	n, err := db.InboundStop(ctx, phone, "3725000001")
	must(t, err)
	if got := optedOut(); n != 1 || !slices.Equal(got, []int64{a.ID}) {
		t.Errorf("STOP to A's number opted out of %v (%d), want only A %d", got, n, a.ID)
	}
	n, err = db.InboundStart(ctx, phone, "+3725000001")
	must(t, err)
	if got := optedOut(); n != 1 || len(got) != 0 {
		t.Errorf("START to A's number left opt-outs %v (%d)", got, n)
	}

	// Answered to a number no organisation sent from (a shared one): every
	// organisation that wrote to phone, never C.
	n, err = db.InboundStop(ctx, phone, "+3720000000")
	must(t, err)
	if got := optedOut(); n != 2 || !slices.Equal(got, []int64{a.ID, b.ID}) {
		t.Errorf("STOP to a shared number opted out of %v (%d), want A and B %d %d", got, n, a.ID, b.ID)
	}
	// Twice is the same as once.
	_, err = db.InboundStop(ctx, phone, "")
	must(t, err)
	if got := optedOut(); !slices.Equal(got, []int64{a.ID, b.ID}) {
		t.Errorf("a second STOP left %v", got)
	}
	n, err = db.InboundStart(ctx, phone, "")
	must(t, err)
	if got := optedOut(); n != 2 || len(got) != 0 {
		t.Errorf("START left opt-outs %v (%d)", got, n)
	}

	// A number nobody wrote to changes nothing.
	n, err = db.InboundStop(ctx, "+37255599999", "")
	must(t, err)
	if n != 0 || count(t, raw, `SELECT COUNT(*) FROM opt_outs`) != 0 {
		t.Errorf("STOP from a stranger applied to %d organisations", n)
	}
}
