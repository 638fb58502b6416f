package store

import (
	"context"
	"database/sql"
	"fmt"

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
func (db *DB) QueueAPIMessages(ctx context.Context, b Batch, idem *Idempotency, answer func(queued []switchboard.Message) (Answer, error)) (Answer, error) {
	if len(b.Messages) == 0 {
		return Answer{}, switchboard.Errorf(switchboard.EINVALID, "There is no one to send to.")
	}
	now := db.Now()
	var out Answer
	err := db.tx(ctx, func(tx *Tx) error {
		if idem != nil {
			kept, err := db.claimIdempotency(ctx, tx, b.OrgID, *idem, now)
			if err != nil {
				return err
			}
			if kept != nil {
				out = *kept
				return nil
			}
		}
		batchID, err := db.queueMessages(ctx, tx, b, now)
		if err != nil {
			return err
		}
		queued, err := batchMessages(ctx, tx, b.OrgID, batchID, len(b.Messages))
		if err != nil {
			return err
		}
		if out, err = answer(queued); err != nil {
			return err
		}
		if idem != nil {
			return keepAnswer(ctx, tx, b.OrgID, *idem, out)
		}
		return nil
	})
	if err != nil {
		return Answer{}, err
	}
	return out, nil
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
