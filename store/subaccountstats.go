package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"switchboard"
)

// SubaccountUsage is what one subaccount (or all of them, in
// SubaccountStats.Total) did over a period of UTC days: its messages by
// status, their parts, and what they cost.
type SubaccountUsage struct {
	OrgID  int64
	Name   string
	Status switchboard.SubaccountStatus
	// Messages are the messages sent on the period's days; Queued, Sent,
	// Delivered and Failed split them by their status now.
	Messages, Queued, Sent, Delivered, Failed int64
	Parts                                     int64
	// Cost is what was spent on the period's days less what was refunded
	// on them: the sum of the subaccount's ledger lines of those days.
	Cost switchboard.Money
	// Daily is Cost day by day, one entry per day of the period (From
	// first).
	Daily []switchboard.Money
}

// SubaccountStats is the parent's view of its subaccounts over the UTC days
// From to To, both included.
type SubaccountStats struct {
	From, To time.Time // midnight UTC of the first and the last day
	// Subaccounts lists every subaccount of the parent, closed ones
	// included (their figures stay the parent's to see), by name.
	Subaccounts []SubaccountUsage
	// Total sums the subaccounts' figures (its Daily too).
	Total SubaccountUsage
}

// Days is how many days the period holds.
func (s *SubaccountStats) Days() int { return len(s.Total.Daily) }

// Day returns the date of day i of the period.
func (s *SubaccountStats) Day(i int) time.Time { return s.From.AddDate(0, 0, i) }

// MaxStatsDays is the longest period SubaccountStats reads: a year, leap
// day included.
const MaxStatsDays = 366

// subaccountStatsQuery reads, in one statement and so one snapshot, the
// parent's subaccounts (kind 0), their usage_daily rows of the period, one
// per subaccount and day (kind 1), and their message_days of the period
// summed per subaccount (kind 2). Both tables are kept per day in the
// transactions of each spend, refund and status change, so the statement
// reads at most subaccounts × days rows of each, never a message: 100
// subaccounts over a month are 3,100 rows of each whatever they sent.
const subaccountStatsQuery = `SELECT 0, s.org_id, o.name, s.status, '', 0, 0, 0, 0
	FROM subaccounts s JOIN organisations o ON o.id = s.org_id WHERE s.parent_id = ?
UNION ALL
SELECT 1, u.org_id, '', '', u.day, u.messages, u.parts, u.spent - u.refunded, 0
	FROM subaccounts s JOIN usage_daily u ON u.org_id = s.org_id AND u.day >= ? AND u.day <= ? WHERE s.parent_id = ?
UNION ALL
SELECT 2, m.org_id, '', '', '', CAST(SUM(m.sent) AS BIGINT), CAST(SUM(m.delivered) AS BIGINT), CAST(SUM(m.failed) AS BIGINT), 0
	FROM subaccounts s JOIN message_days m ON m.org_id = s.org_id AND m.day >= ? AND m.day <= ? WHERE s.parent_id = ?
	GROUP BY m.org_id`

// SubaccountStats returns the statistics of the parent's subaccounts over
// the UTC days from to to (the dates of both are taken, their times
// ignored): per subaccount, its messages by status, parts and cost, and
// its cost day by day; and their totals. It reads usage_daily,
// message_days, subaccounts and organisations, never messages (issue 12:
// served from a per-day aggregate kept in the same transaction as each
// spend). Messages and their statuses count on the day the messages were
// sent; refunds on the day they were made, as their ledger lines. A period
// that ends before it starts, or is longer than MaxStatsDays, is EINVALID.
func (db *DB) SubaccountStats(ctx context.Context, parentID int64, from, to time.Time) (*SubaccountStats, error) {
	from = time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
	to = time.Date(to.Year(), to.Month(), to.Day(), 0, 0, 0, 0, time.UTC)
	days := int(to.Sub(from).Hours()/24) + 1
	if days < 1 || days > MaxStatsDays {
		return nil, switchboard.Errorf(switchboard.EINVALID, "A period of statistics is 1 to %d days long.", MaxStatsDays)
	}
	first, last := from.Format(time.DateOnly), to.Format(time.DateOnly)
	rows, err := db.query(ctx, subaccountStatsQuery, parentID, first, last, parentID, first, last, parentID)
	if err != nil {
		return nil, fmt.Errorf("store: read the statistics of the subaccounts of organisation %d: %w", parentID, err)
	}
	defer rows.Close()
	st := &SubaccountStats{From: from, To: to, Total: SubaccountUsage{Daily: make([]switchboard.Money, days)}}
	index := map[int64]int{}
	type usage struct {
		kind              int
		orgID             int64
		name, status, day string
		a, b, c, d        int64
	}
	// The rows come in no set order: the subaccounts first, their figures
	// after.
	var figures []usage
	for rows.Next() {
		var u usage
		if err := rows.Scan(&u.kind, &u.orgID, &u.name, &u.status, &u.day, &u.a, &u.b, &u.c, &u.d); err != nil {
			return nil, fmt.Errorf("store: read the statistics of the subaccounts of organisation %d: %w", parentID, err)
		}
		if u.kind == 0 {
			index[u.orgID] = len(st.Subaccounts)
			st.Subaccounts = append(st.Subaccounts, SubaccountUsage{OrgID: u.orgID, Name: u.name, Status: switchboard.SubaccountStatus(u.status),
				Daily: make([]switchboard.Money, days)})
			continue
		}
		figures = append(figures, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read the statistics of the subaccounts of organisation %d: %w", parentID, err)
	}
	for _, u := range figures {
		i, ok := index[u.orgID]
		if !ok {
			continue
		}
		s := &st.Subaccounts[i]
		switch u.kind {
		case 1:
			d, err := time.Parse(time.DateOnly, u.day)
			if err != nil {
				return nil, fmt.Errorf("store: usage of organisation %d on day %q: %w", u.orgID, u.day, err)
			}
			n := int(d.Sub(from).Hours() / 24)
			if n < 0 || n >= days {
				continue
			}
			s.Messages += u.a
			s.Parts += u.b
			s.Cost += switchboard.Money(u.c)
			s.Daily[n] += switchboard.Money(u.c)
		case 2:
			s.Sent += u.a
			s.Delivered += u.b
			s.Failed += u.c
		}
	}
	for i := range st.Subaccounts {
		s := &st.Subaccounts[i]
		s.Queued = max(s.Messages-s.Sent-s.Delivered-s.Failed, 0)
		t := &st.Total
		t.Messages += s.Messages
		t.Queued += s.Queued
		t.Sent += s.Sent
		t.Delivered += s.Delivered
		t.Failed += s.Failed
		t.Parts += s.Parts
		t.Cost += s.Cost
		for d, c := range s.Daily {
			t.Daily[d] += c
		}
	}
	slices.SortFunc(st.Subaccounts, func(a, b SubaccountUsage) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.OrgID, b.OrgID))
	})
	return st, nil
}
