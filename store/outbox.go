package store

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"switchboard"
)

// enqueue writes an email to the outbox inside tx and returns its id. The
// mail worker sends it once the transaction has committed. An address that
// has had its allowance of emails today is ErrTooManyEmails (see
// countRecipientEmail), and the caller's transaction rolls back. The email
// gets its Message-ID here (128 random bits), kept for every attempt.
func (db *DB) enqueue(ctx context.Context, tx *Tx, e *switchboard.Email) (int64, error) {
	if err := db.countRecipientEmail(ctx, tx, e.To); err != nil {
		return 0, err
	}
	now := millis(db.Now())
	e.MessageID = rand.Text()
	err := tx.QueryRowContext(ctx, `INSERT INTO outbox (recipient, subject, body_text, body_html, next_attempt_at, created_at, message_id)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, e.To, e.Subject, e.Text, e.HTML, now, now, e.MessageID).Scan(&e.ID)
	if err != nil {
		return 0, fmt.Errorf("store: enqueue email: %w", err)
	}
	return e.ID, nil
}

// DueEmails returns up to limit unsent emails whose next attempt is due at
// now, oldest first.
func (db *DB) DueEmails(ctx context.Context, now time.Time, limit int) ([]switchboard.Email, error) {
	rows, err := db.query(ctx, `SELECT id, recipient, subject, body_text, body_html, message_id, attempts, next_attempt_at, last_error
		FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`, millis(now), limit)
	if err != nil {
		return nil, fmt.Errorf("store: due emails: %w", err)
	}
	defer rows.Close()
	var list []switchboard.Email
	for rows.Next() {
		var e switchboard.Email
		var next int64
		if err := rows.Scan(&e.ID, &e.To, &e.Subject, &e.Text, &e.HTML, &e.MessageID, &e.Attempts, &next, &e.LastError); err != nil {
			return nil, fmt.Errorf("store: due emails: %w", err)
		}
		e.NextAttemptAt = fromMillis(next)
		list = append(list, e)
	}
	return list, rows.Err()
}

// EmailLease is how long a claimed email belongs to the worker that
// claimed it (ClaimEmails): longer than a delivery may take (the SMTP
// sender gives up after 15 seconds) and its outcome be recorded, short
// enough that an email whose process died mid-send goes out soon after
// through another.
const EmailLease = 2 * time.Minute

// ClaimEmails returns up to limit unsent emails due at now, oldest first,
// and leases them to the caller until now+EmailLease: however many workers
// of however many processes claim at once, an email is claimed by one of
// them until its outcome is recorded (Mark…), it is released, or the lease
// runs out because its process stopped. On PostgreSQL, FOR UPDATE SKIP
// LOCKED lets workers pass over each other's rows instead of queueing;
// the lease condition, repeated outside the subquery, is what PostgreSQL
// checks again on a row another worker claimed meanwhile. SQLite's single
// writer runs the claims one at a time.
func (db *DB) ClaimEmails(ctx context.Context, now time.Time, limit int) ([]switchboard.Email, error) {
	skipLocked := ""
	if db.pg {
		skipLocked = " FOR UPDATE SKIP LOCKED"
	}
	var list []switchboard.Email
	err := db.tx(ctx, func(tx *Tx) error {
		list = list[:0]
		rows, err := tx.QueryContext(ctx, `UPDATE outbox SET claimed_until = ?
			WHERE id IN (SELECT id FROM outbox
				WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?)
				ORDER BY next_attempt_at, id LIMIT ?`+skipLocked+`)
			AND (claimed_until IS NULL OR claimed_until <= ?)
			RETURNING id, recipient, subject, body_text, body_html, message_id, attempts, next_attempt_at, last_error`,
			millis(now.Add(EmailLease)), millis(now), millis(now), limit, millis(now))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e switchboard.Email
			var next int64
			if err := rows.Scan(&e.ID, &e.To, &e.Subject, &e.Text, &e.HTML, &e.MessageID, &e.Attempts, &next, &e.LastError); err != nil {
				return err
			}
			e.NextAttemptAt = fromMillis(next)
			list = append(list, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim emails: %w", err)
	}
	// RETURNING keeps no order.
	slices.SortFunc(list, func(a, b switchboard.Email) int {
		if c := a.NextAttemptAt.Compare(b.NextAttemptAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return list, nil
}

// ReleaseEmail gives back a claimed email whose delivery was stopped
// before it was tried (the worker is shutting down), so that it need not
// wait for its lease to run out.
func (db *DB) ReleaseEmail(ctx context.Context, id int64) error {
	return db.tx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET claimed_until = NULL WHERE id = ?`, id); err != nil {
			return fmt.Errorf("store: release email %d: %w", id, err)
		}
		return nil
	})
}

// NextEmailAt returns when the next unsent email is due (or its lease runs
// out, for one being sent), and false when the outbox is empty.
func (db *DB) NextEmailAt(ctx context.Context) (time.Time, bool, error) {
	var next sql.NullInt64
	if err := db.queryRow(ctx, `SELECT MIN(CASE WHEN claimed_until > next_attempt_at THEN claimed_until ELSE next_attempt_at END)
		FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL`).Scan(&next); err != nil {
		return time.Time{}, false, fmt.Errorf("store: next email: %w", err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	return fromMillis(next.Int64), true, nil
}

// MarkEmailSent records that the email went out.
func (db *DB) MarkEmailSent(ctx context.Context, id int64, at time.Time) error {
	return db.tx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET sent_at = ?, attempts = attempts + 1, last_error = '', claimed_until = NULL WHERE id = ?`, millis(at), id)
		if err != nil {
			return fmt.Errorf("store: mark email %d sent: %w", id, err)
		}
		return nil
	})
}

// EmailGiveUpAfter is how long an email is retried before it is given up.
const EmailGiveUpAfter = 3 * 24 * time.Hour

// MarkEmailFailed records a failed attempt and when to try again; an email
// queued more than EmailGiveUpAfter ago is given up instead.
func (db *DB) MarkEmailFailed(ctx context.Context, id int64, reason string, next time.Time) error {
	return db.tx(ctx, func(tx *Tx) error {
		now := db.Now()
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, claimed_until = NULL,
			failed_at = CASE WHEN created_at <= ? THEN CAST(? AS BIGINT) END WHERE id = ?`,
			reason, millis(next), millis(now.Add(-EmailGiveUpAfter)), millis(now), id)
		if err != nil {
			return fmt.Errorf("store: mark email %d failed: %w", id, err)
		}
		return nil
	})
}

// MarkEmailRefused records that the receiving server refused the email for
// good (a 5xx answer): it is given up at once, with the server's answer
// kept for the Members page, rather than retried for days.
func (db *DB) MarkEmailRefused(ctx context.Context, id int64, answer string, at time.Time) error {
	return db.tx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = ?, refusal = ?, failed_at = ?, claimed_until = NULL
			WHERE id = ? AND sent_at IS NULL`, answer, answer, millis(at), id)
		if err != nil {
			return fmt.Errorf("store: mark email %d refused: %w", id, err)
		}
		return nil
	})
}
