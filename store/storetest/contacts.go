package storetest

import (
	"context"
	"testing"
)

// SeedSyllables are the syllables of the names SeedContacts writes.
const SeedSyllables = "karimatalonesuvihejopelianmirosateulvear"

// SeedContacts writes n contacts of the organisation behind the store's
// back, in one statement (a recursive CTE on SQLite, generate_series on
// PostgreSQL), for the contacts page's benchmarks: adding a million
// through the store would take far longer than the benchmark. Contact i
// (1…n) has the number +3725 followed by 10000000+i+offset (offset keeps
// two seeds apart), a first name of two syllables of SeedSyllables (400
// names, such as "Kari") and a last name of three (8000 names, such as
// "Tamalo"), spread over i so that neither follows the number; one in ten
// has an email and a company.
func SeedContacts(tb testing.TB, dsn string, orgID int64, n, offset int) {
	tb.Helper()
	raw := OpenRaw(tb, dsn)
	source := `(WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ?) SELECT i FROM c) AS c`
	if raw.pg {
		source = `generate_series(CAST(1 AS BIGINT), ?) AS c(i)`
	}
	syl := func(expr string) string {
		return `substr('` + SeedSyllables + `', CAST(2 * (` + expr + `) + 1 AS INTEGER), 2)`
	}
	first := `upper(substr(` + syl(`(i * 37) % 400 / 20`) + `, 1, 1)) || substr(` + syl(`(i * 37) % 400 / 20`) + `, 2, 1) || ` + syl(`(i * 37) % 20`)
	last := `upper(substr(` + syl(`(i * 7919) % 8000 / 400`) + `, 1, 1)) || substr(` + syl(`(i * 7919) % 8000 / 400`) + `, 2, 1) || ` +
		syl(`(i * 7919) % 400 / 20`) + ` || ` + syl(`(i * 7919) % 20`)
	_, err := raw.ExecContext(context.Background(), `INSERT INTO contacts (org_id, phone, first_name, last_name, email, company, created_at, updated_at)
		SELECT ?, '+3725' || CAST(10000000 + i + ? AS TEXT), `+first+`, `+last+`,
			CASE WHEN i % 10 = 3 THEN 'c' || CAST(i AS TEXT) || '@example.com' ELSE '' END,
			CASE WHEN i % 10 = 3 THEN 'Acme' ELSE '' END,
			1700000000000 + i, 1700000000000 + i
		FROM `+source, orgID, offset, n)
	if err != nil {
		tb.Fatalf("seed %d contacts: %v", n, err)
	}
	if raw.pg {
		if _, err := raw.ExecContext(context.Background(), `VACUUM ANALYZE contacts`); err != nil {
			tb.Fatalf("analyze: %v", err)
		}
	}
}
