package store_test

import (
	"testing"
	"time"

	"switchboard/store/storetest"
)

// TestQueueLengths: the gauges of /metrics follow the rows: emails waiting
// (not the sent or given-up ones), the delivery queue, the scheduled
// campaigns (not the others) and every message by status.
func TestQueueLengths(t *testing.T) {
	db, dsn := newDBWithPath(t)
	q, err := db.QueueLengths(ctx)
	must(t, err)
	byStatus, err := db.MessagesByStatus(ctx)
	must(t, err)
	if q.Outbox != 0 || q.Messages != 0 || q.Campaigns != 0 || len(byStatus) != 4 || byStatus["delivered"] != 0 {
		t.Fatalf("empty database: %+v %v", q, byStatus)
	}

	_, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	raw := rawDB(t, dsn)
	now := t0.UnixMilli()
	for _, e := range []struct{ sent, failed any }{{nil, nil}, {nil, nil}, {now, nil}, {nil, now}} {
		_, err := raw.ExecContext(ctx, `INSERT INTO outbox (recipient, subject, body_text, body_html, next_attempt_at, created_at, sent_at, failed_at)
			VALUES ('a@example.com', 'Hi', 'Hi', 'Hi', ?, ?, ?, ?)`, now, now, e.sent, e.failed)
		must(t, err)
	}
	storetest.SeedMessages(t, dsn, org.ID, 100, t0)
	_, err = raw.ExecContext(ctx, `INSERT INTO message_queue (message_id, next_attempt_at) SELECT id, ? FROM messages WHERE status = 'queued'`, now)
	must(t, err)
	for _, status := range []string{"scheduled", "scheduled", "sent", "cancelled"} {
		_, err := raw.ExecContext(ctx, `INSERT INTO campaigns (org_id, name, sender, body, send_at, status, created_at) VALUES (?, 'C', 'Acme', 'Hi', ?, ?, ?)`,
			org.ID, now+int64(time.Hour/time.Millisecond), status, now)
		must(t, err)
	}

	q, err = db.QueueLengths(ctx)
	must(t, err)
	byStatus, err = db.MessagesByStatus(ctx)
	must(t, err)
	if q.Outbox != 2 {
		t.Errorf("outbox %d, want 2 (one sent, one given up)", q.Outbox)
	}
	queued := count(t, raw, `SELECT COUNT(*) FROM messages WHERE status = 'queued'`)
	if queued == 0 || q.Messages != int64(queued) {
		t.Errorf("message queue %d, want %d", q.Messages, queued)
	}
	if q.Campaigns != 2 {
		t.Errorf("campaigns %d, want 2 scheduled", q.Campaigns)
	}
	var total int64
	for _, status := range []string{"queued", "sent", "delivered", "failed"} {
		want := count(t, raw, `SELECT COUNT(*) FROM messages WHERE status = ?`, status)
		if byStatus[status] != int64(want) {
			t.Errorf("messages %s: %d, want %d", status, byStatus[status], want)
		}
		total += byStatus[status]
	}
	if total != 100 {
		t.Errorf("messages by status add up to %d, want 100", total)
	}
}

// BenchmarkQueueLengths reads the gauges of a scrape over a million
// messages (storetest.SeedMessages: 5% queued, all in the delivery queue):
// "every scrape" the cheap queue lengths, "by status" the count of
// messages by status that the metrics read at most once a minute.
func BenchmarkQueueLengths(b *testing.B) {
	db, dsn := newDBWithPath(b)
	_, org := newOwner(b, db, "Ada", "Lovelace", "ada@example.com")
	storetest.SeedMessages(b, dsn, org.ID, historySize, t0)
	raw := rawDB(b, dsn)
	_, err := raw.ExecContext(ctx, `INSERT INTO message_queue (message_id, next_attempt_at) SELECT id, ? FROM messages WHERE status = 'queued'`, t0.UnixMilli())
	must(b, err)
	if raw.Engine() == "PostgreSQL" {
		_, err := raw.ExecContext(ctx, `ANALYZE`)
		must(b, err)
	}
	b.Run("every scrape", func(b *testing.B) {
		for b.Loop() {
			q, err := db.QueueLengths(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if q.Messages == 0 {
				b.Fatal("no queued messages")
			}
		}
	})
	b.Run("by status", func(b *testing.B) {
		for b.Loop() {
			byStatus, err := db.MessagesByStatus(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if byStatus["delivered"] == 0 {
				b.Fatal("no delivered messages")
			}
		}
	})
}
