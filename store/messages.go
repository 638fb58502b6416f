package store

import (
	"context"
	"fmt"
	"strings"

	"switchboard"
)

// Batch is one send: the messages to queue (one per recipient) and who
// sends them. Every message's Price is already set (parts × the price per
// part of its destination).
type Batch struct {
	OrgID    int64
	Actor    switchboard.Actor // ProfileID 0 for the API
	Messages []switchboard.Message
	// Description is the ledger line's text ("3 messages from Acme").
	Description string
	Currency    switchboard.Currency
}

// insertChunk is how many messages one INSERT statement writes: 10
// parameters each stay far below both engines' limits (SQLite 32,766,
// PostgreSQL 65,535), and fewer statements make a send to 10,000
// recipients fast.
const insertChunk = 500

// QueueMessages debits the batch's total and queues its messages in one
// transaction (PRODUCT.md § Money: the debit is one conditional update in
// the transaction that queues the messages). A balance that does not cover
// the total is an EPAYMENT error and nothing is queued. It returns the
// batch id (the spend's ledger line), which every message carries; the
// messages' IDs are not read back.
func (db *DB) QueueMessages(ctx context.Context, b Batch) (batchID int64, err error) {
	if len(b.Messages) == 0 {
		return 0, switchboard.Errorf(switchboard.EINVALID, "There is no one to send to.")
	}
	var total switchboard.Money
	parts := 0
	for _, m := range b.Messages {
		total += m.Price
		parts += m.Parts
	}
	now := db.Now()
	err = db.tx(ctx, func(tx *Tx) error {
		batchID, err = db.debit(ctx, tx, b.OrgID, total, b.Currency, b.Actor.ProfileID, b.Description)
		if err != nil {
			return err
		}
		var createdBy any
		if b.Actor.ProfileID != 0 {
			createdBy = b.Actor.ProfileID
		}
		for start := 0; start < len(b.Messages); start += insertChunk {
			chunk := b.Messages[start:min(start+insertChunk, len(b.Messages))]
			var q strings.Builder
			q.WriteString(`INSERT INTO messages (org_id, batch_id, sender, recipient, body, encoding, parts, price, created_by, created_at, status_at) VALUES `)
			args := make([]any, 0, len(chunk)*11)
			for i, m := range chunk {
				if i > 0 {
					q.WriteString(", ")
				}
				q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
				args = append(args, b.OrgID, batchID, m.From, m.To, m.Text, string(m.Encoding), m.Parts, int64(m.Price), createdBy, millis(now), millis(now))
			}
			if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
				return fmt.Errorf("store: queue messages of organisation %d: %w", b.OrgID, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO message_queue (message_id, next_attempt_at) SELECT id, ? FROM messages WHERE batch_id = ?`, millis(now), batchID); err != nil {
			return fmt.Errorf("store: queue messages of organisation %d: %w", b.OrgID, err)
		}
		return addUsage(ctx, tx, b.OrgID, now, len(b.Messages), parts, total, 0)
	})
	if err != nil {
		return 0, err
	}
	return batchID, nil
}
