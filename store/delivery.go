package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"switchboard"
)

// The delivery worker's side of the messages: message_queue holds one row
// per message still to go out, written with the debit (QueueMessages); a
// worker claims rows with a lease, sends them, and records each outcome
// (RecordDeliveries), which moves the message's status, refunds it when it
// failed, and takes its row out of the queue, all in one transaction. The
// gateway's delivery reports (ReportDelivery) move the status on from
// there, through the same refund.

// MessageLease is how long a claimed message belongs to the worker that
// claimed it (ClaimMessages): far longer than a delivery may take (the
// webhook gives up after a few seconds) and its outcome be recorded, short
// enough that a message whose process died mid-send goes out soon after
// through another. A claim that outlives its process is how a message can
// reach the gateway twice (at least once, never lost); the gateway drops
// the repeat by its id.
const MessageLease = 2 * time.Minute

// queueChunk is how many ids one IN (…) list holds: far below both engines'
// limits on parameters.
const queueChunk = 500

// ClaimMessages returns up to limit queued messages due at now, the oldest
// due first, and leases them to the caller until now+MessageLease, as
// ClaimEmails does the outbox: however many workers of however many
// processes claim at once, a message is claimed by one of them until its
// outcome is recorded, its claim is given back (an Untried outcome), or
// the lease runs out because its process stopped. On PostgreSQL, FOR
// UPDATE SKIP LOCKED lets workers pass over each other's rows instead of
// queueing; the lease condition, repeated outside the subquery, is what
// PostgreSQL checks again on a row another worker claimed meanwhile.
// SQLite's single writer runs the claims one at a time.
//
// The order is next_attempt_at alone: a send to 10,000 recipients queues
// them all at one instant, and a tie-break on the id would make every
// claim sort all 10,000 on PostgreSQL instead of reading the first few
// from the index (SQLite breaks ties by rowid, the message id, anyway).
func (db *DB) ClaimMessages(ctx context.Context, now time.Time, limit int) ([]switchboard.Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	skipLocked := ""
	if db.pg {
		skipLocked = " FOR UPDATE SKIP LOCKED"
	}
	var list []switchboard.Delivery
	err := db.tx(ctx, func(tx *Tx) error {
		list = list[:0]
		rows, err := tx.QueryContext(ctx, `UPDATE message_queue SET claimed_until = ?
			WHERE message_id IN (SELECT message_id FROM message_queue
				WHERE next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?)
				ORDER BY next_attempt_at LIMIT ?`+skipLocked+`)
			AND (claimed_until IS NULL OR claimed_until <= ?)
			RETURNING message_id, attempts, last_error`,
			millis(now.Add(MessageLease)), millis(now), millis(now), limit, millis(now))
		if err != nil {
			return err
		}
		queue := map[int64]switchboard.Delivery{}
		for rows.Next() {
			var d switchboard.Delivery
			if err := rows.Scan(&d.ID, &d.Attempts, &d.LastError); err != nil {
				rows.Close()
				return err
			}
			queue[d.ID] = d
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		if len(queue) == 0 {
			return nil
		}
		ids := make([]int64, 0, len(queue))
		for id := range queue {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		// The messages themselves, in the same transaction: one query for
		// the whole claim rather than one per message. CreatedAt is when
		// the message was due to leave, its send_at when an API send asked
		// for a time, else when it was queued: the worker's give-up clock
		// starts there, so a message scheduled for next week that meets an
		// outage then is retried as long as one queued then would be, not
		// given up at once for being a week old.
		return queueChunks(ids, func(chunk []int64) error {
			rows, err := tx.QueryContext(ctx, `SELECT id, org_id, batch_id, sender, recipient, body, encoding, parts, price, status, COALESCE(send_at, created_at), status_at
				FROM messages WHERE id IN (`+queueMarks(len(chunk))+`)`, queueIDArgs(chunk)...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var m switchboard.Message
				var encoding, status string
				var price, created, statusAt int64
				if err := rows.Scan(&m.ID, &m.OrgID, &m.BatchID, &m.From, &m.To, &m.Text, &encoding, &m.Parts, &price, &status, &created, &statusAt); err != nil {
					return err
				}
				m.Encoding, m.Price, m.Status = switchboard.Encoding(encoding), switchboard.Money(price), switchboard.MessageStatus(status)
				m.CreatedAt, m.StatusAt = fromMillis(created), fromMillis(statusAt)
				d := queue[m.ID]
				d.Message = m
				list = append(list, d)
			}
			return rows.Err()
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim messages: %w", err)
	}
	slices.SortFunc(list, func(a, b switchboard.Delivery) int { return cmp.Compare(a.ID, b.ID) })
	return list, nil
}

// NextMessageAt returns when the next queued message is due (or its lease
// runs out, for one being sent), and false when the queue is empty.
func (db *DB) NextMessageAt(ctx context.Context) (time.Time, bool, error) {
	var next sql.NullInt64
	if err := db.queryRow(ctx, `SELECT MIN(CASE WHEN claimed_until > next_attempt_at THEN claimed_until ELSE next_attempt_at END)
		FROM message_queue`).Scan(&next); err != nil {
		return time.Time{}, false, fmt.Errorf("store: next message: %w", err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	return fromMillis(next.Int64), true, nil
}

// RecordDeliveries records the outcomes of claimed deliveries in one
// transaction: a worker that finishes many messages at once pays for one
// commit, not one each, which is most of what makes it fast. Each outcome
// is complete in itself (status, refund and queue row move together), and
// all of them commit or none does; a message whose organisation was
// deleted meanwhile is passed over.
//
//   - StatusSent, StatusDelivered: the message takes that status if it is
//     still queued (a delivery report may have come first), its sent_at is
//     set, and it leaves the queue.
//   - StatusFailed: the message is failed with Reason and refunded, once
//     (see failMessage), and leaves the queue.
//   - StatusQueued: one more attempt is counted, with Reason, and the
//     message is due again at Retry; Untried gives the claim back without
//     counting one.
func (db *DB) RecordDeliveries(ctx context.Context, outcomes []switchboard.DeliveryOutcome) error {
	if len(outcomes) == 0 {
		return nil
	}
	var accepted, sent, delivered, done, untried []int64
	var failed, retry []switchboard.DeliveryOutcome
	for _, o := range outcomes {
		switch {
		case o.Status == switchboard.StatusSent || o.Status == switchboard.StatusDelivered:
			accepted = append(accepted, o.MessageID)
			done = append(done, o.MessageID)
			if o.Status == switchboard.StatusSent {
				sent = append(sent, o.MessageID)
			} else {
				delivered = append(delivered, o.MessageID)
			}
		case o.Status == switchboard.StatusFailed:
			failed = append(failed, o)
			done = append(done, o.MessageID)
		case o.Untried:
			untried = append(untried, o.MessageID)
		case o.Status == switchboard.StatusQueued:
			retry = append(retry, o)
		default:
			return fmt.Errorf("store: record delivery of message %d: unknown status %q", o.MessageID, o.Status)
		}
	}
	now := db.Now()
	err := db.tx(ctx, func(tx *Tx) error {
		for _, group := range []struct {
			ids    []int64
			status switchboard.MessageStatus
		}{{sent, switchboard.StatusSent}, {delivered, switchboard.StatusDelivered}} {
			err := queueChunks(group.ids, func(chunk []int64) error {
				// SET expressions all read the row as it was, so status_at
				// moves only with the status.
				_, err := tx.ExecContext(ctx, `UPDATE messages SET
					status = CASE WHEN status = 'queued' THEN ? ELSE status END,
					status_at = CASE WHEN status = 'queued' THEN ? ELSE status_at END,
					sent_at = COALESCE(sent_at, ?)
					WHERE id IN (`+queueMarks(len(chunk))+`)`,
					append([]any{string(group.status), millis(now), millis(now)}, queueIDArgs(chunk)...)...)
				return err
			})
			if err != nil {
				return fmt.Errorf("store: record messages %s: %w", group.status, err)
			}
		}
		if len(failed) > 0 {
			// Refunds lock balances: taken in the order of the
			// organisations, two workers' batches never wait on each other
			// in a circle. A subaccount's refund locks its subaccounts row,
			// then its parent's balance, as its sends do; so the batch
			// takes every subaccounts row it needs first, in order, before
			// any balance: else, holding a parent's balance (its own
			// refund, or another subaccount's), it would wait for a
			// subaccount's row that a send holds while that send waits
			// for the same balance (PostgreSQL: deadlock detected).
			orgs, err := messageOrgs(ctx, tx, failed)
			if err != nil {
				return err
			}
			slices.SortStableFunc(failed, func(a, b switchboard.DeliveryOutcome) int {
				oa, ob := orgs[a.MessageID], orgs[b.MessageID]
				return cmp.Or(-cmp.Compare(oa.subaccount, ob.subaccount), cmp.Compare(oa.id, ob.id), cmp.Compare(a.MessageID, b.MessageID))
			})
			if err := lockSubaccounts(ctx, tx, failed, orgs); err != nil {
				return err
			}
			for _, o := range failed {
				if _, err := db.failMessage(ctx, tx, o.MessageID, o.Reason, now); err != nil {
					return err
				}
			}
		}
		if err := queueChunks(done, func(chunk []int64) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM message_queue WHERE message_id IN (`+queueMarks(len(chunk))+`)`, queueIDArgs(chunk)...)
			return err
		}); err != nil {
			return fmt.Errorf("store: take messages out of the queue: %w", err)
		}
		for _, o := range retry {
			if _, err := tx.ExecContext(ctx, `UPDATE message_queue SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, claimed_until = NULL
				WHERE message_id = ?`, o.Reason, millis(o.Retry), o.MessageID); err != nil {
				return fmt.Errorf("store: record a failed attempt of message %d: %w", o.MessageID, err)
			}
		}
		if err := queueChunks(untried, func(chunk []int64) error {
			_, err := tx.ExecContext(ctx, `UPDATE message_queue SET claimed_until = NULL WHERE message_id IN (`+queueMarks(len(chunk))+`)`, queueIDArgs(chunk)...)
			return err
		}); err != nil {
			return fmt.Errorf("store: release messages: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return nil
}

// lockSubaccounts locks, in the order of failed (subaccounts first, by
// id), the subaccounts rows of the failed messages' organisations that
// are subaccounts: PostgreSQL only, SQLite's single writer has the
// database to itself.
func lockSubaccounts(ctx context.Context, tx *Tx, failed []switchboard.DeliveryOutcome, orgs map[int64]messageOrg) error {
	if !tx.db.pg {
		return nil
	}
	var last int64
	for _, o := range failed {
		org := orgs[o.MessageID]
		if org.subaccount == 0 {
			break
		}
		if org.id == last {
			continue
		}
		last = org.id
		if _, err := tx.ExecContext(ctx, `SELECT 1 FROM subaccounts WHERE org_id = ? FOR NO KEY UPDATE`, org.id); err != nil {
			return fmt.Errorf("store: lock subaccount %d: %w", org.id, err)
		}
	}
	return nil
}

// messageOrg is the organisation of a message, and whether it is a
// subaccount.
type messageOrg struct {
	id         int64
	subaccount int
}

// messageOrgs returns the organisation of each message of outcomes.
func messageOrgs(ctx context.Context, tx *Tx, outcomes []switchboard.DeliveryOutcome) (map[int64]messageOrg, error) {
	ids := make([]int64, len(outcomes))
	for i, o := range outcomes {
		ids[i] = o.MessageID
	}
	orgs := map[int64]messageOrg{}
	err := queueChunks(ids, func(chunk []int64) error {
		rows, err := tx.QueryContext(ctx, `SELECT m.id, m.org_id, CASE WHEN s.org_id IS NULL THEN 0 ELSE 1 END
			FROM messages m LEFT JOIN subaccounts s ON s.org_id = m.org_id WHERE m.id IN (`+queueMarks(len(chunk))+`)`, queueIDArgs(chunk)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var org messageOrg
			if err := rows.Scan(&id, &org.id, &org.subaccount); err != nil {
				return err
			}
			orgs[id] = org
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: read the organisations of failed messages: %w", err)
	}
	return orgs, nil
}

// failMessage marks the message failed with reason and refunds its price,
// exactly once however many times and from wherever it is called (the
// worker's refusal, a delivery report, both, ten reports at once): the one
// conditional UPDATE that sets refunded is the guard, and only the
// transaction whose UPDATE changed the row credits the balance, writes the
// ledger line "Refund of message N" and adds the refund to the day's usage
// (the day of the refund, as the ledger line's). A message already
// delivered or failed stays as it is: statuses only move forward. It
// reports whether the message was failed and refunded now.
func (db *DB) failMessage(ctx context.Context, tx *Tx, id int64, reason string, now time.Time) (bool, error) {
	var orgID, price int64
	err := tx.QueryRowContext(ctx, `UPDATE messages SET status = 'failed', error = ?, status_at = ?, refunded = TRUE
		WHERE id = ? AND status IN ('queued', 'sent') AND refunded = FALSE
		RETURNING org_id, price`, reason, millis(now), id).Scan(&orgID, &price)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("store: fail message %d: %w", id, err)
	}
	if price > 0 {
		_, err := db.credit(ctx, tx, switchboard.LedgerEntry{
			OrgID: orgID, Kind: switchboard.LedgerRefund, Description: fmt.Sprintf("Refund of message %d", id), MessageID: id,
		}, switchboard.Money(price), 0)
		if err != nil {
			return false, err
		}
		if err := addUsage(ctx, tx, orgID, now, 0, 0, 0, switchboard.Money(price)); err != nil {
			return false, err
		}
	}
	return true, nil
}

// ReportDelivery records a delivery report from the gateway: status
// StatusDelivered or StatusFailed (with reason, and refunded once; see
// failMessage). Statuses only move forward: a report for a message
// delivered or failed already changes nothing. A report that changes the
// status also takes the message out of the queue: the gateway has it, and a
// claim left by a process that died before recording the acceptance must
// not send it again. It returns the message's status after the report; an
// unknown id is ENOTFOUND.
func (db *DB) ReportDelivery(ctx context.Context, id int64, status switchboard.MessageStatus, reason string) (switchboard.MessageStatus, error) {
	var after string
	err := db.tx(ctx, func(tx *Tx) error {
		now := db.Now()
		changed := false
		switch status {
		case switchboard.StatusDelivered:
			res, err := tx.ExecContext(ctx, `UPDATE messages SET status = 'delivered', status_at = ?, sent_at = COALESCE(sent_at, ?)
				WHERE id = ? AND status IN ('queued', 'sent')`, millis(now), millis(now), id)
			if err != nil {
				return fmt.Errorf("store: report message %d delivered: %w", id, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			changed = n == 1
		case switchboard.StatusFailed:
			var err error
			if changed, err = db.failMessage(ctx, tx, id, reason, now); err != nil {
				return err
			}
		default:
			return switchboard.Errorf(switchboard.EINVALID, "A delivery report says delivered or failed, not %q.", status)
		}
		if changed {
			if _, err := tx.ExecContext(ctx, `DELETE FROM message_queue WHERE message_id = ?`, id); err != nil {
				return fmt.Errorf("store: take message %d out of the queue: %w", id, err)
			}
		}
		err := tx.QueryRowContext(ctx, `SELECT status FROM messages WHERE id = ?`, id).Scan(&after)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("message")
		}
		return err
	})
	if err != nil {
		return "", err
	}
	return switchboard.MessageStatus(after), nil
}

// InboundStop records that phone (E.164) answered STOP to the number or
// name to: it is opted out, never to be sent to again, in the
// organisations that sent to it from to, or, when none did (to is the
// gateway's shared number, or empty), in every organisation that has sent
// to it. An organisation that never wrote to the number is never touched:
// a STOP cannot be used to cut a number off from strangers. It returns how
// many organisations it applied to.
func (db *DB) InboundStop(ctx context.Context, phone, to string) (int, error) {
	n := 0
	err := db.tx(ctx, func(tx *Tx) error {
		orgs, err := inboundOrganisations(ctx, tx, phone, to)
		if err != nil {
			return err
		}
		now := millis(db.Now())
		for _, org := range orgs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO opt_outs (org_id, phone, created_at) VALUES (?, ?, ?) ON CONFLICT (org_id, phone) DO NOTHING`,
				org, phone, now); err != nil {
				return fmt.Errorf("store: opt %s out of organisation %d: %w", phone, org, err)
			}
		}
		n = len(orgs)
		return nil
	})
	return n, err
}

// InboundStart records that phone answered START to to: its opt-out ends
// in the same organisations a STOP would have reached (see InboundStop).
// It returns how many organisations it applied to.
func (db *DB) InboundStart(ctx context.Context, phone, to string) (int, error) {
	n := 0
	err := db.tx(ctx, func(tx *Tx) error {
		orgs, err := inboundOrganisations(ctx, tx, phone, to)
		if err != nil {
			return err
		}
		for _, org := range orgs {
			if _, err := tx.ExecContext(ctx, `DELETE FROM opt_outs WHERE org_id = ? AND phone = ?`, org, phone); err != nil {
				return fmt.Errorf("store: opt %s back in to organisation %d: %w", phone, org, err)
			}
		}
		n = len(orgs)
		return nil
	})
	return n, err
}

// inboundOrganisations returns the organisations an incoming STOP or START
// from phone to to is meant for (see InboundStop). Each organisation is
// looked up through messages_by_recipient (org_id, recipient, id): one
// index probe per organisation, whatever the number of messages.
func inboundOrganisations(ctx context.Context, tx *Tx, phone, to string) ([]int64, error) {
	read := func(q string, args ...any) ([]int64, error) {
		ids, err := column[int64](tx.QueryContext(ctx, q, args...))
		if err != nil {
			return nil, fmt.Errorf("store: organisations that sent to %s: %w", phone, err)
		}
		return ids, nil
	}
	if to = strings.TrimSpace(to); to != "" {
		// The sender is stored as typed: +37255566677, or a name.
		bare := strings.TrimPrefix(to, "+")
		ids, err := read(`SELECT o.id FROM organisations o WHERE EXISTS (
			SELECT 1 FROM messages m WHERE m.org_id = o.id AND m.recipient = ? AND m.sender IN (?, ?)) ORDER BY o.id`, phone, bare, "+"+bare)
		if err != nil || len(ids) > 0 {
			return ids, err
		}
	}
	return read(`SELECT o.id FROM organisations o WHERE EXISTS (
		SELECT 1 FROM messages m WHERE m.org_id = o.id AND m.recipient = ?) ORDER BY o.id`, phone)
}

// queueChunks calls fn with ids queueChunk at a time.
func queueChunks(ids []int64, fn func(chunk []int64) error) error {
	for start := 0; start < len(ids); start += queueChunk {
		if err := fn(ids[start:min(start+queueChunk, len(ids))]); err != nil {
			return err
		}
	}
	return nil
}

// queueMarks returns n placeholders separated by commas, for IN (…).
func queueMarks(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// queueIDArgs returns ids as query arguments.
func queueIDArgs(ids []int64) []any {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return args
}
