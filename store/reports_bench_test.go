package store_test

import (
	"fmt"
	"testing"
	"time"

	"switchboard"
	"switchboard/store"
	"switchboard/store/storetest"
)

// BenchmarkClaimReports measures one claim of 8 due reports (and giving
// them back) while an organisation's receiver is down and a backlog of its
// reports waits for retries: the claim checks each report it hands out for
// an earlier report of its message still waiting, which it looks up within
// the organisation (api_reports_by_org). "indexed" adds an index on
// (message_id, id), which 0018 does not have, to show what it would save.
func BenchmarkClaimReports(b *testing.B) {
	for _, backlog := range []int{0, 10_000, 100_000} {
		for _, indexed := range []bool{false, true} {
			name := fmt.Sprintf("backlog=%d", backlog)
			if indexed {
				name += "/indexed"
			}
			b.Run(name, func(b *testing.B) { benchmarkClaimReports(b, backlog, indexed) })
		}
	}
}

func benchmarkClaimReports(b *testing.B, backlog int, indexed bool) {
	db, dsn := newDBWithPath(b)
	owner, org := newOwner(b, db, "Ada", "Lovelace", "ada@example.com")
	setReportURL(b, db, org.ID, "https://example.com/reports", "secret")
	raw := rawDB(b, dsn)
	source := `(WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ?) SELECT i FROM c) AS c`
	if storetest.Postgres() {
		source = `generate_series(1, ?) AS c(i)`
	}
	// The backlog: reports of other messages, due in an hour.
	if _, err := raw.ExecContext(ctx, `INSERT INTO api_reports (org_id, message_id, status, created_at, next_attempt_at, attempts)
		SELECT ?, 1000000 + i, 'sent', ?, ?, 3 FROM `+source, org.ID, t0.UnixMilli(), t0.Add(time.Hour).UnixMilli(), backlog); err != nil {
		b.Fatal(err)
	}
	if indexed {
		if _, err := raw.ExecContext(ctx, `CREATE INDEX bench_reports_by_message ON api_reports (message_id, id)`); err != nil {
			b.Fatal(err)
		}
	}
	numbers := make([]string, 8)
	for i := range numbers {
		numbers[i] = fmt.Sprintf("+3725560%04d", i)
	}
	ids := queueDeliveries(b, db, dsn, owner, org.ID, "Acme", 100, numbers...)
	markSent(b, db, ids...)
	for _, id := range ids {
		if _, err := db.ReportDelivery(ctx, id, switchboard.StatusDelivered, ""); err != nil {
			b.Fatal(err)
		}
	}
	if storetest.Postgres() {
		if _, err := raw.ExecContext(ctx, `ANALYZE api_reports`); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		list, err := db.ClaimReports(ctx, t0, 8, store.ReportRoom{})
		if err != nil || len(list) != 8 {
			b.Fatalf("claim = %d, %v", len(list), err)
		}
		outcomes := make([]switchboard.ReportOutcome, len(list))
		for i, r := range list {
			outcomes[i] = switchboard.ReportOutcome{ReportID: r.ID, Result: switchboard.ReportUntried}
		}
		if err := db.RecordReports(ctx, outcomes); err != nil {
			b.Fatal(err)
		}
	}
}
