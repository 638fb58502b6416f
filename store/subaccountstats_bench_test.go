package store_test

import (
	"fmt"
	"testing"
	"time"

	"switchboard"
	"switchboard/store/storetest"
)

// seedSubaccountMonth gives the parent n subaccounts and writes, behind the
// store's back, messages of theirs spread evenly over the UTC month that
// starts at month, taking turns (message i belongs to subaccount i mod n):
// the messages in one statement (a recursive CTE on SQLite,
// generate_series on PostgreSQL), then usage_daily and message_days built
// from them by a GROUP BY, as the spends, the refunds and the status
// trigger would have left them. Statuses and parts vary as SeedMessages's
// do: delivered 90%, queued 5%, sent 3%, failed 2% (refunded); one or two
// parts at 0.05 a part. The daily sums also get the eleven months before
// (copies of the first day's), as a year of use would leave them. It
// returns the subaccounts' ids.
func seedSubaccountMonth(tb testing.TB, dsn string, owner *switchboard.Profile, parentID int64, subaccounts, messages int, month time.Time) []int64 {
	tb.Helper()
	raw := rawDB(tb, dsn)
	// The subaccounts: organisations of consecutive ids, so that a
	// message's organisation is a sum.
	var first int64
	must(tb, raw.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) + 1 FROM organisations`).Scan(&first))
	ids := make([]int64, subaccounts)
	for i := range subaccounts {
		ids[i] = first + int64(i)
		_, err := raw.ExecContext(ctx, `INSERT INTO organisations (id, name, created_at) VALUES (?, ?, 0)`, ids[i], fmt.Sprint("Subaccount ", i+1))
		must(tb, err)
		_, err = raw.ExecContext(ctx, `INSERT INTO subaccounts (org_id, parent_id, email, funding, status, created_by, created_at)
			VALUES (?, ?, ?, 'shared', 'active', ?, 0)`, ids[i], parentID, fmt.Sprintf("sub%d@example.com", i+1), owner.ID)
		must(tb, err)
	}
	if storetest.Postgres() {
		_, err := raw.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('organisations', 'id'), (SELECT MAX(id) FROM organisations))`)
		must(tb, err)
	}
	next := month.AddDate(0, 1, 0)
	spacing := next.Sub(month).Milliseconds() / int64(messages) // under 3 s for a million
	source := `(WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < ?) SELECT i FROM c) AS c`
	day := `strftime('%Y-%m-%d', created_at / 1000, 'unixepoch')`
	if storetest.Postgres() {
		source = `generate_series(0, ?) AS c(i)`
		day = `to_char(timestamp 'epoch' + created_at * interval '1 millisecond', 'YYYY-MM-DD')`
	}
	_, err := raw.ExecContext(ctx, `INSERT INTO messages (org_id, batch_id, sender, recipient, body, encoding, parts, price, status, error, refunded, created_at, status_at)
		SELECT ? + i % ?, 1 + i / 100, 'Acme',
			'+372' || CAST(55000000 + (CAST(i AS BIGINT) * 7919) % 100000 AS TEXT),
			'Your order ' || CAST(i AS TEXT) || ' is on its way.',
			'GSM-7', 1 + i % 3 / 2, 500 * (1 + i % 3 / 2),
			CASE WHEN i % 50 = 3 THEN 'failed' WHEN i % 100 < 5 THEN 'queued' WHEN i % 100 < 8 THEN 'sent' ELSE 'delivered' END,
			CASE WHEN i % 50 = 3 THEN 'The number does not exist.' ELSE '' END,
			i % 50 = 3,
			? + CAST(i AS BIGINT) * ?, ? + CAST(i AS BIGINT) * ?
		FROM `+source, first, subaccounts, month.UnixMilli(), spacing, month.UnixMilli(), spacing, messages-1)
	must(tb, err)
	_, err = raw.ExecContext(ctx, `INSERT INTO usage_daily (org_id, day, messages, parts, spent, refunded)
		SELECT org_id, `+day+`, COUNT(*), SUM(parts), SUM(price), SUM(CASE WHEN status = 'failed' THEN price ELSE 0 END)
		FROM messages WHERE org_id >= ? AND org_id < ? GROUP BY 1, 2`, first, first+int64(subaccounts))
	must(tb, err)
	_, err = raw.ExecContext(ctx, `INSERT INTO message_days (org_id, day, sent, delivered, failed)
		SELECT org_id, `+day+`, SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END),
			SUM(CASE WHEN status = 'delivered' THEN 1 ELSE 0 END), SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END)
		FROM messages WHERE org_id >= ? AND org_id < ? GROUP BY 1, 2`, first, first+int64(subaccounts))
	must(tb, err)
	// The eleven months before: each subaccount's first day copied to
	// each of them, so that the period, not the table, bounds what is
	// read.
	before := `(WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 334) SELECT i, date(?, '-' || i || ' days') AS d FROM c) AS c`
	if storetest.Postgres() {
		before = `(SELECT i, to_char(CAST(? AS date) - i, 'YYYY-MM-DD') AS d FROM generate_series(1, 334) AS g(i)) AS c`
	}
	first1 := month.Format(time.DateOnly)
	_, err = raw.ExecContext(ctx, `INSERT INTO usage_daily (org_id, day, messages, parts, spent, refunded)
		SELECT u.org_id, c.d, u.messages, u.parts, u.spent, u.refunded FROM usage_daily u CROSS JOIN `+before+`
		WHERE u.org_id >= ? AND u.org_id < ? AND u.day = ?`, first1, first, first+int64(subaccounts), first1)
	must(tb, err)
	_, err = raw.ExecContext(ctx, `INSERT INTO message_days (org_id, day, sent, delivered, failed)
		SELECT m.org_id, c.d, m.sent, m.delivered, m.failed FROM message_days m CROSS JOIN `+before+`
		WHERE m.org_id >= ? AND m.org_id < ? AND m.day = ?`, first1, first, first+int64(subaccounts), first1)
	must(tb, err)
	// PostgreSQL plans by its statistics, which autovacuum would gather
	// after such a load; SQLite's too, with ANALYZE.
	_, err = raw.ExecContext(ctx, `ANALYZE`)
	must(tb, err)
	return ids
}

// BenchmarkSubaccountStats reads the statistics of a month for a parent of
// 100 subaccounts that sent 1,000,000 messages in it (issue 12: at most 20
// ms of store time on both engines). Only SubaccountStats is timed; how
// long the seeding took (the messages in one statement, the daily sums by
// GROUP BY) is written to the log.
func BenchmarkSubaccountStats(b *testing.B) {
	db, dsn := newDBWithPath(b)
	owner, parent := newOwner(b, db, "Olivia", "Owner", "olivia@example.com")
	month := time.Date(2025, time.March, 1, 0, 0, 0, 0, time.UTC)
	start := time.Now()
	const subaccounts, messages = 100, 1_000_000
	seedSubaccountMonth(b, dsn, owner, parent.ID, subaccounts, messages, month)
	b.Logf("%s: seeding %d messages of %d subaccounts and their daily sums took %s", storetest.Engine(), messages, subaccounts, time.Since(start).Round(time.Millisecond))
	last := month.AddDate(0, 1, -1)
	b.ResetTimer()
	for b.Loop() {
		st, err := db.SubaccountStats(ctx, parent.ID, month, last)
		if err != nil {
			b.Fatal(err)
		}
		if len(st.Subaccounts) != subaccounts || st.Total.Messages != messages || st.Days() != 31 {
			b.Fatalf("%d subaccounts, %d messages over %d days", len(st.Subaccounts), st.Total.Messages, st.Days())
		}
	}
}
