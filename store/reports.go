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
// goes out soon after through another.
const ReportLease = time.Minute

// ReportRecheck is how soon a report held back behind an earlier report
// of its message that is under way is looked at again: a call ends long
// before its lease does.
const ReportRecheck = 2 * time.Second

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

// ClaimReports returns up to limit delivery reports due at now, in id
// order, each with its organisation's current report URL and secret and its
// message's sender and recipient, and leases them to the caller until
// now+ReportLease, as ClaimMessages does the messages: however many workers
// of however many processes claim at once, a report is claimed by one of
// them until its outcome is recorded (FOR UPDATE SKIP LOCKED on PostgreSQL;
// SQLite's single writer runs claims one at a time). The oldest due go
// first; room bounds what it takes from each organisation.
//
// A report whose organisation has no report URL any more (or whose message
// is gone) is deleted, not returned. Reports of one message go out in the
// order of their ids, a "delivered" never before its "sent": a report is
// returned only when every earlier report of its message still waiting is
// returned with it (the caller sends them in order); one whose earlier
// report waits for a retry, or is under way elsewhere, is given back, due
// again when that one is (its retry), or ReportRecheck later while that one
// is under way.
func (db *DB) ClaimReports(ctx context.Context, now time.Time, limit int, room ReportRoom) ([]switchboard.Report, error) {
	var list []switchboard.Report
	taken := map[int64]int{}
	handed := map[int64]bool{}
	for len(list) < limit {
		var claimed []switchboard.Report
		var more bool
		err := db.tx(ctx, func(tx *Tx) error {
			var err error
			claimed, more, err = db.claimReportWindow(ctx, tx, now, limit-len(list), room, taken)
			return err
		})
		if err != nil {
			db.releaseReports(list)
			return nil, fmt.Errorf("store: claim delivery reports: %w", err)
		}
		ready, err := db.holdBackLaterReports(ctx, now, claimed, handed, taken)
		if err != nil {
			db.releaseReports(append(list, claimed...))
			return nil, fmt.Errorf("store: claim delivery reports: %w", err)
		}
		list = append(list, ready...)
		if !more {
			break
		}
	}
	slices.SortFunc(list, func(a, b switchboard.Report) int { return cmp.Compare(a.ID, b.ID) })
	return list, nil
}

// claimReportWindow claims up to limit reports of one window of due rows
// and returns them, with whether more rows may be due beyond those it
// read. Every row it reads is claimed, deleted (no URL), or passed over for
// want of room (its organisation is then full, and left out of the next
// window), so that the next window reads past it.
func (db *DB) claimReportWindow(ctx context.Context, tx *Tx, now time.Time, limit int, room ReportRoom, taken map[int64]int) ([]switchboard.Report, bool, error) {
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
		return nil, false, err
	}
	var chosen []int64
	read, passed := 0, false
	for rows.Next() {
		var id, org int64
		if err := rows.Scan(&id, &org); err != nil {
			rows.Close()
			return nil, false, err
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
		return nil, false, err
	}
	// Rows passed over for want of room may have it again once rows
	// chosen here turn out not to go (deleted, or held back).
	more := read == window || passed
	if len(chosen) == 0 {
		return nil, more, nil
	}
	slices.Sort(chosen)
	if _, err := tx.ExecContext(ctx, `UPDATE api_reports SET claimed_until = ? WHERE id IN (`+queueMarks(len(chosen))+`)`,
		append([]any{millis(now.Add(ReportLease))}, queueIDArgs(chosen)...)...); err != nil {
		return nil, false, err
	}

	// The reports with what a call needs: the organisation's URL as it is
	// now, and the message.
	reports, err := reportsByID(ctx, tx, chosen)
	if err != nil {
		return nil, false, err
	}
	var gone []int64
	var claimed []switchboard.Report
	for _, r := range reports {
		if r.URL == "" || r.To == "" {
			gone = append(gone, r.ID)
			taken[r.OrgID]--
			continue
		}
		claimed = append(claimed, r)
	}
	if len(gone) > 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM api_reports WHERE id IN (`+queueMarks(len(gone))+`)`, queueIDArgs(gone)...); err != nil {
			return nil, false, fmt.Errorf("delete reports without a URL: %w", err)
		}
	}
	return claimed, more, nil
}

// holdBackLaterReports returns the claimed reports that may go out now, in
// id order: those with no earlier report of their message still waiting,
// other than reports handed out in this claim (marked in handed, which it
// adds to). The others are given back, due again when the report before
// them is, and taken off taken.
//
// It looks for earlier reports outside the claim's transaction: the
// lookup reads an organisation's waiting reports (see earlierReports), many
// while its receiver is down, and SQLite's one writer must not wait for
// it. Reading afterwards is safe: an earlier report exists before a later
// one is written, so none can appear once the lookup found none; one that
// goes meanwhile only makes its successor wait longer than it had to.
func (db *DB) holdBackLaterReports(ctx context.Context, now time.Time, claimed []switchboard.Report, handed map[int64]bool, taken map[int64]int) ([]switchboard.Report, error) {
	if len(claimed) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(claimed))
	for i, r := range claimed {
		ids[i] = r.ID
	}
	earlier, err := db.earlierReports(ctx, ids)
	if err != nil {
		return nil, err
	}
	var ready []switchboard.Report
	type heldBack struct {
		id   int64
		wait time.Time
	}
	var held []heldBack
	waits := map[int64]time.Time{}
	for _, r := range claimed { // in id order
		wait, blocked := time.Time{}, false
		for _, e := range earlier[r.ID] {
			if handed[e.id] {
				continue // goes out first, in this claim
			}
			blocked = true
			due := e.due
			if t, ok := waits[e.id]; ok {
				due = t // claimed here, then held back itself
			} else if e.claimed != nil && e.claimed.After(now) {
				// Under way: most calls end long before their lease,
				// so look again soon rather than at the lease's end.
				due = *e.claimed
				if soon := now.Add(ReportRecheck); soon.Before(due) {
					due = soon
				}
			}
			wait = later(wait, due)
		}
		if !blocked {
			handed[r.ID] = true
			ready = append(ready, r)
			continue
		}
		// Due again when the report before it is, and never again at
		// this claim's instant.
		wait = later(wait, now.Add(time.Millisecond))
		waits[r.ID] = wait
		held = append(held, heldBack{r.ID, wait})
		taken[r.OrgID]--
	}
	if len(held) == 0 {
		return ready, nil
	}
	err = db.tx(ctx, func(tx *Tx) error {
		for _, h := range held {
			if _, err := tx.ExecContext(ctx, `UPDATE api_reports SET claimed_until = NULL, next_attempt_at = ? WHERE id = ?`, millis(h.wait), h.id); err != nil {
				return fmt.Errorf("hold report %d back behind an earlier one: %w", h.id, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ready, nil
}

// releaseReports gives back the claims of list after a claim failed half
// way, so that they need not wait for their lease; if that fails too, the
// lease gives them back.
func (db *DB) releaseReports(list []switchboard.Report) {
	if len(list) == 0 {
		return
	}
	outcomes := make([]switchboard.ReportOutcome, len(list))
	for i, r := range list {
		outcomes[i] = switchboard.ReportOutcome{ReportID: r.ID, Result: switchboard.ReportUntried}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db.RecordReports(ctx, outcomes)
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

// waitingReport is an earlier report of a message: its id, when it is due
// (its retry), and whether it is under way (claimed until a time after
// that).
type waitingReport struct {
	id      int64
	due     time.Time
	claimed *time.Time
}

// earlierReports returns, for each report of ids, the earlier reports of
// its message still waiting. 0018 indexes api_reports by organisation, not
// by message, so the lookup reads the organisation's waiting reports before
// each one (api_reports_by_org): few while its receiver answers, a whole
// backlog while it is down (BenchmarkClaimReports: 170 ms a claim of 8 on
// SQLite behind 100,000 waiting reports). The condition on message_id lets
// an index on (message_id, id) serve it instead, where there is one
// (0.4 ms).
func (db *DB) earlierReports(ctx context.Context, ids []int64) (map[int64][]waitingReport, error) {
	rows, err := db.query(ctx, `SELECT r.id, o.id, o.next_attempt_at, o.claimed_until
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
		w := waitingReport{id: before, due: fromMillis(next)}
		if claimed.Valid && claimed.Int64 > next {
			w.claimed = fromNullMillis(claimed)
		}
		earlier[id] = append(earlier[id], w)
	}
	return earlier, rows.Err()
}

// NextReportAt returns when the next report not under way is due, and false
// when there is none. A report whose worker died is due again at the end of
// its lease; the worker's regular look at the queue finds it.
func (db *DB) NextReportAt(ctx context.Context) (time.Time, bool, error) {
	// Read in the order of api_reports_due, up to the first report not
	// under way: the few under way are passed over, not the backlog.
	var next int64
	err := db.queryRow(ctx, `SELECT next_attempt_at FROM api_reports
		WHERE claimed_until IS NULL OR claimed_until <= next_attempt_at
		ORDER BY next_attempt_at LIMIT 1`).Scan(&next)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	} else if err != nil {
		return time.Time{}, false, fmt.Errorf("store: next delivery report: %w", err)
	}
	return fromMillis(next), true, nil
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
