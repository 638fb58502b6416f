package store_test

import (
	"fmt"
	"testing"
	"time"

	"switchboard"
)

// seedGroup writes n contacts of the organisation, all in the group,
// behind the store's back in two statements (a recursive CTE on SQLite,
// generate_series on PostgreSQL): +37250000000, +37250000001…
func seedGroup(tb testing.TB, dsn string, orgID, groupID int64, n int) {
	tb.Helper()
	raw := rawDB(tb, dsn)
	source := `(WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < ? - 1) SELECT i FROM s) AS s`
	if raw.Engine() == "PostgreSQL" {
		source = `generate_series(0, ? - 1) AS s(i)`
	}
	_, err := raw.ExecContext(ctx, `INSERT INTO contacts (org_id, phone, first_name, created_at, updated_at)
		SELECT ?, '+3725' || CAST(0000000 + 1000000 + i AS TEXT), 'Contact ' || CAST(i AS TEXT), ?, ? FROM `+source,
		orgID, t0.UnixMilli(), t0.UnixMilli(), n)
	must(tb, err)
	_, err = raw.ExecContext(ctx, `INSERT INTO group_contacts (group_id, contact_id) SELECT ?, id FROM contacts WHERE org_id = ?`, groupID, orgID)
	must(tb, err)
	if raw.Engine() == "PostgreSQL" {
		_, err = raw.ExecContext(ctx, `ANALYZE`)
		must(tb, err)
	}
}

// BenchmarkStartCampaign starts a campaign to a group of 100,000 contacts
// (the target: ≤ 3 s for the debit and the queue, one
// transaction): the conditional move to sending, the group's numbers
// without the opted out, the prices, the debit, 100,000 messages and their
// queue rows. Each round starts a new campaign to the same group.
func BenchmarkStartCampaign(b *testing.B) {
	const contacts = 100_000
	w := newCampaignWorld(b)
	seedGroup(b, w.dsn, w.org.ID, w.group.ID, contacts)
	fund(b, w.dsn, w.org.ID, 1_000_000*switchboard.MoneyUnit)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		w.schedule(b, t0, w.group.ID)
		b.StartTimer()
		started := startDue(b, w.db, t0)
		b.StopTimer()
		if len(started) != 1 || started[0].Recipients != contacts {
			b.Fatalf("started %+v", started)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/start")
}

// listBenchMessages is how many messages each campaign of
// BenchmarkListCampaigns has behind it. The case is 100,000; the
// list never reads messages (TestListCampaignsCountsNoMessages holds it to
// one statement), and seeding ten million rows took most of ten minutes on
// a shared machine, so the benchmark seeds a tenth of that by default.
const listBenchMessages = 10_000

// BenchmarkListCampaigns reads the first page (50) of the campaigns of an
// organisation with 100 started campaigns with listBenchMessages messages
// each: the counts come from the campaigns' rows.
func BenchmarkListCampaigns(b *testing.B) {
	w := newCampaignWorld(b, "+37255500001")
	fund(b, w.dsn, w.org.ID, 1_000_000*switchboard.MoneyUnit)
	for range 100 {
		w.schedule(b, t0, w.group.ID)
	}
	started := startDue(b, w.db, t0)
	if len(started) != 100 {
		b.Fatalf("%d started", len(started))
	}
	seedMessagesOf(b, w.dsn, w.org.ID, started, listBenchMessages)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		list, _, err := w.db.ListCampaigns(ctx, w.org.ID, 0, 50)
		if err != nil || len(list) != 50 {
			b.Fatalf("%d campaigns, %v", len(list), err)
		}
	}
}

// seedMessagesOf adds n delivered messages to the batch of each campaign.
func seedMessagesOf(tb testing.TB, dsn string, orgID int64, campaigns []*switchboard.Campaign, n int) {
	tb.Helper()
	raw := rawDB(tb, dsn)
	source := `(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?) SELECT i FROM s) AS s`
	if raw.Engine() == "PostgreSQL" {
		source = `generate_series(1, ?) AS s(i)`
	}
	at := t0.Add(-time.Hour).UnixMilli()
	for _, c := range campaigns {
		_, err := raw.ExecContext(ctx, `INSERT INTO messages (org_id, batch_id, sender, recipient, body, encoding, parts, price, status, created_at, status_at)
			SELECT ?, ?, 'Acme', '+3725' || CAST(1000000 + i AS TEXT), 'Hello', 'GSM-7', 1, 500, 'delivered', ?, ? FROM `+source,
			orgID, c.BatchID, at, at, n)
		if err != nil {
			tb.Fatal(fmt.Errorf("seed messages of campaign %d: %w", c.ID, err))
		}
	}
}
