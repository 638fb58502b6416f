package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"switchboard"
)

// The delivery-report worker's side of api_reports: migration 0018's
// trigger writes a row in the transaction of every status change of a
// message of an organisation with a report URL; a worker claims due rows
// with a lease (ClaimReports), POSTs them, and records each outcome
// (RecordReports): delivered or given up, the row goes; failed, it is due
// again after a backoff.

// ReportLease is how long a claimed report belongs to the worker that
// claimed it: longer than a call may take (10 s) and its outcome be
// recorded, short enough that the report of a process that died mid-call
// goes out soon after through another, and that a later report of the same
// message, which waits for the lease of the one before it (see
// ClaimReports), is not held long.
const ReportLease = time.Minute

// reportWindow is how many due rows a claim reads for each report it may
// take: rows of organisations that have no room left (ReportRoom) are
// passed over.
const reportWindow = 4

// ReportRoom bounds what a claim of reports takes from each organisation,
// so that one organisation whose receiver hangs cannot take every call a
// worker has.
type ReportRoom struct {
	// PerOrganisation is the most reports of one organisation a worker has
	// under way at once; zero means no bound.
	PerOrganisation int
	// Underway counts the reports of each organisation the worker has
	// under way already.
	Underway map[int64]int
}

// room says how many more reports of org may be claimed.
func (r ReportRoom) room(org int64, taken map[int64]int) int {
	if r.PerOrganisation <= 0 {
		return 1 << 30
	}
	return r.PerOrganisation - r.Underway[org] - taken[org]
}

// ClaimReports returns up to limit delivery reports due at now, the oldest
// due first and in id order, each with its organisation's current report
// URL and secret and its message's sender and recipient, and leases them to
// the caller until now+ReportLease, as ClaimMessages does the messages:
// however many workers of however many processes claim at once, a report is
// claimed by one of them until its outcome is recorded (FOR UPDATE SKIP
// LOCKED on PostgreSQL; SQLite's single writer runs claims one at a time).
// room bounds what it takes from each organisation.
//
// A report whose organisation has no report URL any more (or whose message
// is gone) is deleted, not returned. Reports of one message go out in the
// order of their ids, a "delivered" never before its "sent": a report is
// returned only when every earlier report of its message is returned with
// it (the caller sends them in order); one whose earlier report is waiting
// for a retry, or is under way elsewhere, is left unclaimed and due again
// when that one is (its retry, or the end of its lease).
func (db *DB) ClaimReports(ctx context.Context, now time.Time, limit int, room ReportRoom) ([]switchboard.Report, error) {
	if limit <= 0 {
		return nil, nil
	}
	var list []switchboard.Report
	err := db.tx(ctx, func(tx *Tx) error {
		list = list[:0]
		taken := map[int64]int{}
		for len(list) < limit {
			more, err := db.claimReportRound(ctx, tx, now, limit-len(list), room, taken, &list)
			if err != nil || !more {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim delivery reports: %w", err)
	}
	return list, nil
}

// claimReportRound claims up to limit reports of one window of due rows
// into list, and reports whether more rows may be due beyond those it
// read. Every row it reads is claimed, or passed over for want of room (and
// its organisation left out of the next round), or no longer due at now
// when it returns (deleted, or waiting for an earlier report), so that
// the next round reads past it.
func (db *DB) claimReportRound(ctx context.Context, tx *Tx, now time.Time, limit int, room ReportRoom, taken map[int64]int, list *[]switchboard.Report) (bool, error) {
	// Organisations without room are left out of the query itself: one
	// with a thousand due reports must not fill every window.
	var full []int64
	for org := range room.Underway {
		if room.room(org, taken) <= 0 {
			full = append(full, org)
		}
	}
	for org := range taken {
		if _, ok := room.Underway[org]; !ok && room.room(org, taken) <= 0 {
			full = append(full, org)
		}
	}
	slices.Sort(full)
	q := `SELECT id, org_id FROM api_reports
		WHERE next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?)`
	args := []any{millis(now), millis(now)}
	if len(full) > 0 {
		q += ` AND org_id NOT IN (` + queueMarks(len(full)) + `)`
		args = append(args, queueIDArgs(full)...)
	}
	window := limit * reportWindow
	// Ties broken by id: the trigger writes a message's reports in order,
	// often in one instant.
	q += ` ORDER BY next_attempt_at, id LIMIT ?`
	args = append(args, window)
	if db.pg {
		q += ` FOR UPDATE SKIP LOCKED`
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return false, err
	}
	var chosen []int64
	read, passed := 0, false
	for rows.Next() {
		var id, org int64
		if err := rows.Scan(&id, &org); err != nil {
			rows.Close()
			return false, err
		}
		read++
		if len(chosen) < limit && room.room(org, taken) > 0 {
			chosen = append(chosen, id)
			taken[org]++
		} else {
			passed = true
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return false, err
	}
	// Rows passed over for want of room may have it again once rows
	// chosen here turn out not to go (deleted, or waiting).
	more := read == window || passed
	if len(chosen) == 0 {
		return more, nil
	}
	slices.Sort(chosen)
	lease := millis(now.Add(ReportLease))
	if _, err := tx.ExecContext(ctx, `UPDATE api_reports SET claimed_until = ? WHERE id IN (`+queueMarks(len(chosen))+`)`,
		append([]any{lease}, queueIDArgs(chosen)...)...); err != nil {
		return false, err
	}

	// The reports with what a call needs: the organisation's URL as it is
	// now, and the message.
	reports, err := reportsByID(ctx, tx, chosen)
	if err != nil {
		return false, err
	}
	var gone []int64
	var ready []switchboard.Report
	for _, r := range reports {
		if r.URL == "" || r.To == "" {
			gone = append(gone, r.ID)
			taken[r.OrgID]--
			continue
		}
		ready = append(ready, r)
	}
	if len(gone) > 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM api_reports WHERE id IN (`+queueMarks(len(gone))+`)`, queueIDArgs(gone)...); err != nil {
			return false, fmt.Errorf("delete reports without a URL: %w", err)
		}
	}
	if len(ready) == 0 {
		return more, nil
	}

	// The earlier reports of the same messages that are still waiting.
	ids := make([]int64, len(ready))
	for i, r := range ready {
		ids[i] = r.ID
	}
	earlier, err := earlierReports(ctx, tx, ids)
	if err != nil {
		return false, err
	}
	handed := map[int64]bool{}
	putBack := map[int64]time.Time{}
	for _, r := range ready { // in id order
		wait, blocked := time.Time{}, false
		for _, e := range earlier[r.ID] {
			if handed[e.id] {
				continue // goes out first, in this claim
			}
			blocked = true
			due := e.due
			if t, ok := putBack[e.id]; ok {
				due = t // claimed here, then put back itself
			}
			wait = later(wait, due)
		}
		if !blocked {
			handed[r.ID] = true
			*list = append(*list, r)
			continue
		}
		// Due again when the report before it is, and never again in
		// this claim's instant.
		wait = later(wait, now.Add(time.Millisecond))
		putBack[r.ID] = wait
		if _, err := tx.ExecContext(ctx, `UPDATE api_reports SET claimed_until = NULL, next_attempt_at = ? WHERE id = ?`, millis(wait), r.ID); err != nil {
			return false, fmt.Errorf("put back report %d behind an earlier one: %w", r.ID, err)
		}
		taken[r.OrgID]--
	}
	return more, nil
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// reportsByID reads the reports ids, with their organisation's report URL
// and secret and their message's sender and recipient ("" when the message
// is gone), in id order.
func reportsByID(ctx context.Context, tx *Tx, ids []int64) ([]switchboard.Report, error) {
	rows, err := tx.QueryContext(ctx, `SELECT r.id, r.org_id, r.message_id, r.status, r.error, r.created_at, r.attempts, r.last_error,
			COALESCE(c.report_url, ''), COALESCE(c.report_secret, ''), COALESCE(m.sender, ''), COALESCE(m.recipient, '')
		FROM api_reports r
		LEFT JOIN api_config c ON c.org_id = r.org_id
		LEFT JOIN messages m ON m.id = r.message_id AND m.org_id = r.org_id
		WHERE r.id IN (`+queueMarks(len(ids))+`)`, queueIDArgs(ids)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []switchboard.Report
	for rows.Next() {
		var r switchboard.Report
		var status string
		var at int64
		if err := rows.Scan(&r.ID, &r.OrgID, &r.MessageID, &status, &r.Error, &at, &r.Attempts, &r.LastError, &r.URL, &r.Secret, &r.From, &r.To); err != nil {
			return nil, err
		}
		r.Status, r.At = switchboard.MessageStatus(status), fromMillis(at)
		list = append(list, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(list, func(a, b switchboard.Report) int { return cmp.Compare(a.ID, b.ID) })
	return list, nil
}

// waitingReport is an earlier report of a message: its id, and when it is
// due again (its retry, or the end of its lease when it is under way).
type waitingReport struct {
	id  int64
	due time.Time
}

// earlierReports returns, for each report of ids, the earlier reports of
// its message still waiting. They are looked up within the organisation
// (api_reports_by_org): the rows waiting there are few while its receiver
// answers.
func earlierReports(ctx context.Context, tx *Tx, ids []int64) (map[int64][]waitingReport, error) {
	rows, err := tx.QueryContext(ctx, `SELECT r.id, o.id, o.next_attempt_at, o.claimed_until
		FROM api_reports r
		JOIN api_reports o ON o.org_id = r.org_id AND o.id < r.id AND o.message_id = r.message_id
		WHERE r.id IN (`+queueMarks(len(ids))+`)`, queueIDArgs(ids)...)
	if err != nil {
		return nil, fmt.Errorf("earlier reports: %w", err)
	}
	defer rows.Close()
	earlier := map[int64][]waitingReport{}
	for rows.Next() {
		var id, before, next int64
		var claimed sql.NullInt64
		if err := rows.Scan(&id, &before, &next, &claimed); err != nil {
			return nil, err
		}
		due := fromMillis(next)
		if claimed.Valid && claimed.Int64 > next {
			due = fromMillis(claimed.Int64)
		}
		earlier[id] = append(earlier[id], waitingReport{id: before, due: due})
	}
	return earlier, rows.Err()
}

// NextReportAt returns when the next report not under way is due, and false
// when there is none. A report whose worker died is due again at the end of
// its lease; the worker's regular look at the queue finds it.
func (db *DB) NextReportAt(ctx context.Context) (time.Time, bool, error) {
	var next sql.NullInt64
	if err := db.queryRow(ctx, `SELECT MIN(next_attempt_at) FROM api_reports
		WHERE claimed_until IS NULL OR claimed_until <= next_attempt_at`).Scan(&next); err != nil {
		return time.Time{}, false, fmt.Errorf("store: next delivery report: %w", err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	return fromMillis(next.Int64), true, nil
}

// RecordReports records the outcomes of claimed reports in one
// transaction: an accepted or dropped report is deleted; a failed attempt
// is counted, with its error, and the report is due again at its Retry;
// an untried report's claim is given back without counting an attempt.
func (db *DB) RecordReports(ctx context.Context, outcomes []switchboard.ReportOutcome) error {
	if len(outcomes) == 0 {
		return nil
	}
	var done, untried []int64
	var retry []switchboard.ReportOutcome
	for _, o := range outcomes {
		switch o.Result {
		case switchboard.ReportAccepted, switchboard.ReportDropped:
			done = append(done, o.ReportID)
		case switchboard.ReportRetry:
			retry = append(retry, o)
		case switchboard.ReportUntried:
			untried = append(untried, o.ReportID)
		default:
			return fmt.Errorf("store: record delivery report %d: unknown result %d", o.ReportID, o.Result)
		}
	}
	err := db.tx(ctx, func(tx *Tx) error {
		if err := queueChunks(done, func(chunk []int64) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM api_reports WHERE id IN (`+queueMarks(len(chunk))+`)`, queueIDArgs(chunk)...)
			return err
		}); err != nil {
			return fmt.Errorf("delete reports: %w", err)
		}
		for _, o := range retry {
			if _, err := tx.ExecContext(ctx, `UPDATE api_reports SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, claimed_until = NULL
				WHERE id = ?`, o.Error, millis(o.Retry), o.ReportID); err != nil {
				return fmt.Errorf("record a failed attempt of report %d: %w", o.ReportID, err)
			}
		}
		if err := queueChunks(untried, func(chunk []int64) error {
			_, err := tx.ExecContext(ctx, `UPDATE api_reports SET claimed_until = NULL WHERE id IN (`+queueMarks(len(chunk))+`)`, queueIDArgs(chunk)...)
			return err
		}); err != nil {
			return fmt.Errorf("release reports: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: record delivery reports: %w", err)
	}
	return nil
}
