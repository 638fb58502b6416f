package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"
	"time"

	"switchboard"
)

// QueueAPIMessages is a send through the JSON API: the debit and queue of
// QueueMessages (b carries the key, and send_at when one was asked), the
// messages read back with their ids, and answer's rendering of them, all
// in one transaction. With an Idempotency-Key (idem not nil) the key is
// claimed first and the answer kept with it before the commit; a request
// whose key was already answered gets that answer (Replayed) and sends
// nothing; the same key with another request is EINVALID. A balance that
// does not cover the send is EPAYMENT, and nothing is queued or kept.
//
// On SQLite the sends waiting for the writer are committed together (see
// apiSendQueue); each stays whole or nothing by a savepoint of its own.
func (db *DB) QueueAPIMessages(ctx context.Context, b Batch, idem *Idempotency, answer func(queued []switchboard.Message) (Answer, error)) (Answer, error) {
	if len(b.Messages) == 0 {
		return Answer{}, switchboard.Errorf(switchboard.EINVALID, "There is no one to send to.")
	}
	if !db.pg {
		return db.apiSends.send(db, &apiSend{ctx: ctx, batch: b, idem: idem, answer: answer, done: make(chan apiSendResult, 1)})
	}
	var out Answer
	err := db.tx(ctx, func(tx *Tx) (err error) {
		out, err = db.queueAPIMessages(ctx, tx, b, idem, answer, db.Now())
		return err
	})
	if err != nil {
		return Answer{}, err
	}
	return out, nil
}

// queueAPIMessages is QueueAPIMessages inside the transaction tx. On an
// error the caller rolls back what it wrote.
func (db *DB) queueAPIMessages(ctx context.Context, tx *Tx, b Batch, idem *Idempotency, answer func([]switchboard.Message) (Answer, error), now time.Time) (Answer, error) {
	if idem != nil {
		kept, err := db.claimIdempotency(ctx, tx, b.OrgID, *idem, now)
		if err != nil {
			return Answer{}, err
		}
		if kept != nil {
			return *kept, nil
		}
	}
	batchID, err := db.queueMessages(ctx, tx, b, now)
	if err != nil {
		return Answer{}, err
	}
	queued, err := batchMessages(ctx, tx, b.OrgID, batchID, len(b.Messages))
	if err != nil {
		return Answer{}, err
	}
	out, err := answer(queued)
	if err != nil {
		return Answer{}, err
	}
	if idem != nil {
		if err := keepAnswer(ctx, tx, b.OrgID, *idem, out); err != nil {
			return Answer{}, err
		}
	}
	return out, nil
}

// apiSendQueue commits the API sends that wait for SQLite's one writer
// together, a group of them per transaction: a commit writes the same
// pages whether it holds one send or thirty (the right-most leaf of each
// of the messages' indexes, the organisation's row, the day's usage), and
// those writes were half of a send's time (BenchmarkAPISendMessage). Each
// send runs under a savepoint of its own: one that fails (EPAYMENT, a key
// used with another request) is rolled back alone, the others commit; the
// balance rule holds as ever, one conditional UPDATE per send. A send
// waits for the group before its own, never longer.
//
// The first send to find no group running starts a goroutine that runs
// groups until none is waiting, then ends: nothing runs while the API is
// idle, and nothing is left running when the database closes.
type apiSendQueue struct {
	mu      sync.Mutex
	waiting []*apiSend
	running bool
}

// apiSend is one send waiting in the queue.
type apiSend struct {
	ctx    context.Context
	batch  Batch
	idem   *Idempotency
	answer func([]switchboard.Message) (Answer, error)
	done   chan apiSendResult
}

type apiSendResult struct {
	answer Answer
	err    error
}

// maxGroupMessages bounds the messages of one group: a large send commits
// alone, small ones in groups of up to this many.
const maxGroupMessages = 1000

// send queues s and waits for its outcome.
func (q *apiSendQueue) send(db *DB, s *apiSend) (Answer, error) {
	q.mu.Lock()
	q.waiting = append(q.waiting, s)
	if !q.running {
		q.running = true
		go q.run(db)
	}
	q.mu.Unlock()
	r := <-s.done
	return r.answer, r.err
}

// run commits groups of waiting sends until none is left.
func (q *apiSendQueue) run(db *DB) {
	for {
		q.mu.Lock()
		n, messages := 0, 0
		for n < len(q.waiting) && (n == 0 || messages+len(q.waiting[n].batch.Messages) <= maxGroupMessages) {
			messages += len(q.waiting[n].batch.Messages)
			n++
		}
		if n == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		group := slices.Clone(q.waiting[:n])
		q.waiting = slices.Delete(q.waiting, 0, n)
		q.mu.Unlock()
		db.commitGroup(group)
	}
}

// commitGroup runs the group's sends in one transaction, each under its
// own savepoint, and gives each its outcome once the transaction has
// committed (or the error that stopped it).
func (db *DB) commitGroup(group []*apiSend) {
	results := make([]apiSendResult, len(group))
	// The group's transaction is no request's: one that gives up waiting
	// is passed over below, not allowed to end the others' transaction.
	ctx := context.Background()
	err := db.tx(ctx, func(tx *Tx) error {
		for i, s := range group {
			if err := s.ctx.Err(); err != nil {
				results[i].err = err
				continue
			}
			if _, err := tx.ExecContext(ctx, `SAVEPOINT api_send`); err != nil {
				return err
			}
			a, err := db.queueAPIMessages(ctx, tx, s.batch, s.idem, s.answer, db.Now())
			if err != nil {
				if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO api_send`); rerr != nil {
					return rerr
				}
			}
			if _, err := tx.ExecContext(ctx, `RELEASE api_send`); err != nil {
				return err
			}
			results[i] = apiSendResult{answer: a, err: err}
		}
		return nil
	})
	for i, s := range group {
		if err != nil {
			results[i] = apiSendResult{err: fmt.Errorf("store: commit API sends: %w", err)}
		}
		s.done <- results[i]
	}
}

// batchMessages reads back the messages of a send just queued in tx, with
// their ids, in the order they were queued (messages_by_batch: the
// batch is the spend's ledger line, which no other send shares).
func batchMessages(ctx context.Context, tx *Tx, orgID, batchID int64, n int) ([]switchboard.Message, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+historyColumns+` FROM messages WHERE batch_id = ? ORDER BY id`, batchID)
	if err != nil {
		return nil, fmt.Errorf("store: read back the messages of send %d: %w", batchID, err)
	}
	defer rows.Close()
	list := make([]switchboard.Message, 0, n)
	for rows.Next() {
		list = append(list, switchboard.Message{})
		if err := scanHistoryRow(rows, orgID, &list[len(list)-1]); err != nil {
			return nil, fmt.Errorf("store: read back the messages of send %d: %w", batchID, err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read back the messages of send %d: %w", batchID, err)
	}
	return list, nil
}

// APIAutoReplace returns the auto-replace of the organisation's API sends
// that name no mode: the Find → Replace table of the Auto-replace page,
// with the mode of the API configuration, or the page's mode when that
// is empty (or there is no configuration). One statement: every send reads
// it.
func (db *DB) APIAutoReplace(ctx context.Context, orgID int64) (switchboard.AutoReplace, error) {
	rows, err := db.query(ctx, `SELECT o.auto_replace, COALESCE((SELECT c.auto_replace FROM api_config c WHERE c.org_id = o.id), ''), r.find, r.replacement
		FROM organisations o LEFT JOIN auto_replacements r ON r.org_id = o.id WHERE o.id = ? ORDER BY r.id`, orgID)
	if err != nil {
		return switchboard.AutoReplace{}, fmt.Errorf("store: read the API auto-replace of organisation %d: %w", orgID, err)
	}
	defer rows.Close()
	ar := switchboard.AutoReplace{}
	found := false
	for rows.Next() {
		var mode, apiMode string
		var find, replacement sql.NullString
		if err := rows.Scan(&mode, &apiMode, &find, &replacement); err != nil {
			return ar, fmt.Errorf("store: read the API auto-replace of organisation %d: %w", orgID, err)
		}
		found = true
		ar.Mode = switchboard.AutoReplaceMode(mode)
		if apiMode != "" {
			ar.Mode = switchboard.AutoReplaceMode(apiMode)
		}
		if find.Valid {
			ar.Rules = append(ar.Rules, switchboard.Replacement{Find: find.String, Replace: replacement.String})
		}
	}
	if err := rows.Err(); err != nil {
		return ar, fmt.Errorf("store: read the API auto-replace of organisation %d: %w", orgID, err)
	}
	if !found {
		return ar, notFound("organisation")
	}
	return ar, nil
}
