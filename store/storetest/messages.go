package storetest

import (
	"context"
	"testing"
	"time"
)

// SeedSpacing is the time between two messages SeedMessages writes: a
// million of them span eleven and a half months.
const SeedSpacing = 30 * time.Second

// SeedMessages writes n messages of the organisation behind the store's
// back, in one statement (a recursive CTE on SQLite, generate_series on
// PostgreSQL), for the history's benchmarks: queuing them through the
// store would take far longer than the benchmark. Message i (1…n) is
// queued at start + i × SeedSpacing, so ids and times agree. They vary as
// a real history does:
//
//   - sender: "Acme" 60%, "Acme Shop" 25%, "Switchboard" 15%, and one in
//     a thousand "Rare";
//   - recipient: one of 100,000 numbers (+37255000000…), each about every
//     100,000th message;
//   - status: delivered 90%, queued 5%, sent 3%, failed 2% (with an error);
//   - one or two parts, at 0.05 a part.
func SeedMessages(tb testing.TB, dsn string, orgID int64, n int, start time.Time) {
	tb.Helper()
	raw := OpenRaw(tb, dsn)
	source := `(WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ?) SELECT i FROM c) AS c`
	if raw.pg {
		source = `generate_series(1, ?) AS c(i)`
	}
	_, err := raw.ExecContext(context.Background(), `INSERT INTO messages (org_id, batch_id, sender, recipient, body, encoding, parts, price, status, error, created_at, status_at)
		SELECT ?, 1 + i / 100,
			CASE WHEN i % 1000 = 7 THEN 'Rare' WHEN i % 20 < 12 THEN 'Acme' WHEN i % 20 < 17 THEN 'Acme Shop' ELSE 'Switchboard' END,
			'+372' || CAST(55000000 + (CAST(i AS BIGINT) * 7919) % 100000 AS TEXT),
			'Your order ' || CAST(i AS TEXT) || ' is on its way. Track it at https://acme.example/t/' || CAST(i AS TEXT),
			'GSM-7', 1 + i % 3 / 2, 500 * (1 + i % 3 / 2),
			CASE WHEN i % 50 = 3 THEN 'failed' WHEN i % 100 < 5 THEN 'queued' WHEN i % 100 < 8 THEN 'sent' ELSE 'delivered' END,
			CASE WHEN i % 50 = 3 THEN 'The number does not exist.' ELSE '' END,
			? + CAST(i AS BIGINT) * ?, ? + CAST(i AS BIGINT) * ?
		FROM `+source, orgID, start.UnixMilli(), SeedSpacing.Milliseconds(), start.UnixMilli(), SeedSpacing.Milliseconds(), n)
	if err != nil {
		tb.Fatalf("seed %d messages: %v", n, err)
	}
	// PostgreSQL plans by its statistics, which autovacuum would gather
	// after such a load; SQLite's store needs none (it names its indexes).
	if raw.pg {
		if _, err := raw.ExecContext(context.Background(), `ANALYZE messages`); err != nil {
			tb.Fatalf("analyze: %v", err)
		}
	}
}
