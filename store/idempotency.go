package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"switchboard"
)

// The JSON API's Idempotency-Key (PRODUCT.md § API): the answer to the
// first POST with a key is kept for IdempotencyTTL, in the transaction of
// what it answers, so that a retry of a request whose answer was lost on
// the way gets that answer again instead of sending twice. A request that
// failed (402, 422) keeps nothing: its transaction rolled back, the
// placeholder row with it, and it may be retried.
//
// The row is claimed at the start of the transaction by an INSERT … ON
// CONFLICT DO NOTHING. On SQLite the single writer runs the transactions
// one at a time, so a retry finds the first one's row committed. On
// PostgreSQL a retry's INSERT meeting the first one's uncommitted row
// waits for that transaction to end: committed, the INSERT does nothing
// and the retry reads the kept answer; rolled back, the retry's INSERT
// goes in and the retry sends. Neither engine can send twice, and neither
// answers with an error for the race.

// IdempotencyTTL is how long the answer to a request with an
// Idempotency-Key is kept; an older one is ignored and deleted.
const IdempotencyTTL = 24 * time.Hour

// Idempotency is a request's Idempotency-Key and the hash of the request
// it came with (its method, path and body), to tell a retry from another
// request that reuses the key.
type Idempotency struct {
	Key         string
	RequestHash [sha256.Size]byte
}

// Answer is what a request of the API answered: its status and body,
// kept byte for byte. Replayed marks the kept answer of an earlier
// request with the same Idempotency-Key: nothing was done now.
type Answer struct {
	Status   int
	Body     []byte
	Replayed bool
}

// errIdempotencyReused is a key sent again with another request. The
// field is the header, which the API names as a parameter.
var errIdempotencyReused = &switchboard.Error{Code: switchboard.EINVALID,
	Message: "This Idempotency-Key was used with another request in the last 24 hours.",
	Fields: switchboard.FieldErrors{"Idempotency-Key": "This Idempotency-Key was used with another request in the last 24 hours: " +
		"send the same request to get its answer again, or a new key for a new request."}}

// KeptAnswer returns the answer kept for the organisation's key, or nil
// when there is none from the last IdempotencyTTL. The same key with
// another request is EINVALID, naming the header. A request answered
// from here never reaches the send's transaction; one that finds nothing
// may still meet a retry there (QueueAPIMessages checks again).
func (db *DB) KeptAnswer(ctx context.Context, orgID int64, idem Idempotency) (*Answer, error) {
	var hash []byte
	var status int
	var body string
	err := db.queryRow(ctx, `SELECT request_hash, status, body FROM api_idempotency WHERE org_id = ? AND idem_key = ? AND created_at > ?`,
		orgID, idem.Key, millis(db.Now().Add(-IdempotencyTTL))).Scan(&hash, &status, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("store: read the answer kept for an Idempotency-Key of organisation %d: %w", orgID, err)
	}
	if !bytes.Equal(hash, idem.RequestHash[:]) {
		return nil, errIdempotencyReused
	}
	return &Answer{Status: status, Body: []byte(body), Replayed: true}, nil
}

// claimIdempotency claims the organisation's key for the transaction tx,
// before it does what the key guards: it returns nil when tx holds the
// key now (and must keep its answer with keepAnswer before it commits),
// or the answer another request kept for it. A row older than
// IdempotencyTTL is taken over as if it were not there.
func (db *DB) claimIdempotency(ctx context.Context, tx *Tx, orgID int64, idem Idempotency, now time.Time) (*Answer, error) {
	expired := millis(now.Add(-IdempotencyTTL))
	// Each turn ends the race with one other transaction (a cleanup that
	// deleted the row between two statements, a second taker of an
	// expired row); a handful is more than any real race needs.
	for range 5 {
		var one int
		err := tx.QueryRowContext(ctx, `INSERT INTO api_idempotency (org_id, idem_key, request_hash, status, body, created_at) VALUES (?, ?, ?, 0, '', ?)
			ON CONFLICT (org_id, idem_key) DO NOTHING RETURNING 1`, orgID, idem.Key, idem.RequestHash[:], millis(now)).Scan(&one)
		if err == nil {
			return nil, nil
		} else if !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("store: claim an Idempotency-Key of organisation %d: %w", orgID, err)
		}
		var hash []byte
		var status int
		var body string
		var created int64
		err = tx.QueryRowContext(ctx, `SELECT request_hash, status, body, created_at FROM api_idempotency WHERE org_id = ? AND idem_key = ?`,
			orgID, idem.Key).Scan(&hash, &status, &body, &created)
		if errors.Is(err, sql.ErrNoRows) {
			continue // deleted meanwhile: claim it again
		} else if err != nil {
			return nil, fmt.Errorf("store: read the answer kept for an Idempotency-Key of organisation %d: %w", orgID, err)
		}
		if created <= expired {
			res, err := tx.ExecContext(ctx, `UPDATE api_idempotency SET request_hash = ?, status = 0, body = '', created_at = ?
				WHERE org_id = ? AND idem_key = ? AND created_at = ?`, idem.RequestHash[:], millis(now), orgID, idem.Key, created)
			if err != nil {
				return nil, fmt.Errorf("store: claim an expired Idempotency-Key of organisation %d: %w", orgID, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return nil, err
			} else if n == 1 {
				return nil, nil
			}
			continue // another transaction took it over first
		}
		if !bytes.Equal(hash, idem.RequestHash[:]) {
			return nil, errIdempotencyReused
		}
		return &Answer{Status: status, Body: []byte(body), Replayed: true}, nil
	}
	return nil, fmt.Errorf("store: claim an Idempotency-Key of organisation %d: the row kept changing", orgID)
}

// keepAnswer writes the answer of the request that claimed the key in tx.
func keepAnswer(ctx context.Context, tx *Tx, orgID int64, idem Idempotency, a Answer) error {
	if _, err := tx.ExecContext(ctx, `UPDATE api_idempotency SET status = ?, body = ? WHERE org_id = ? AND idem_key = ?`,
		a.Status, string(a.Body), orgID, idem.Key); err != nil {
		return fmt.Errorf("store: keep the answer of an Idempotency-Key of organisation %d: %w", orgID, err)
	}
	return nil
}

// DeleteExpiredAnswers deletes the answers kept longer than
// IdempotencyTTL (they are ignored already), and returns how many. The
// server runs it from its housekeeping ticker.
func (db *DB) DeleteExpiredAnswers(ctx context.Context) (int64, error) {
	var n int64
	err := db.tx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM api_idempotency WHERE created_at <= ?`, millis(db.Now().Add(-IdempotencyTTL)))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: delete expired Idempotency-Key answers: %w", err)
	}
	return n, nil
}
