package store

import (
	"context"
	"fmt"

	"switchboard"
)

// QueueLengths reads the lengths of the queues for /metrics. Each count
// runs on an index kept small by design: the outbox's partial index of
// waiting emails, the message queue (a row only while a message waits) and
// the partial index of scheduled campaigns; MessagesByStatus is left nil
// (see MessagesByStatus).
func (db *DB) QueueLengths(ctx context.Context) (switchboard.QueueLengths, error) {
	var q switchboard.QueueLengths
	err := db.queryRow(ctx, `SELECT
		(SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL),
		(SELECT COUNT(*) FROM message_queue),
		(SELECT COUNT(*) FROM campaigns WHERE status = 'scheduled')`).Scan(&q.Outbox, &q.Messages, &q.Campaigns)
	if err != nil {
		return q, fmt.Errorf("store: queue lengths: %w", err)
	}
	return q, nil
}

// MessagesByStatus counts every message by status, for /metrics. It reads
// the whole (org_id, status, id) index: linear in the number of messages
// (BenchmarkQueueLengths: a few hundred milliseconds a million), so
// the metrics read it at most once a minute, not at every scrape.
func (db *DB) MessagesByStatus(ctx context.Context) (map[string]int64, error) {
	rows, err := db.query(ctx, `SELECT status, COUNT(*) FROM messages GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("store: messages by status: %w", err)
	}
	defer rows.Close()
	counts := map[string]int64{"queued": 0, "sent": 0, "delivered": 0, "failed": 0}
	for rows.Next() {
		var status string
		var n int64
		if err := rows.Scan(&status, &n); err != nil {
			return nil, fmt.Errorf("store: messages by status: %w", err)
		}
		counts[status] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: messages by status: %w", err)
	}
	return counts, nil
}
