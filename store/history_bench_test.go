package store_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"switchboard"
	"switchboard/store"
	"switchboard/store/storetest"
)

// historySize is the organisation size the issue asks figures for.
const historySize = 1_000_000

// historyBenchFilters are the filters of BenchmarkListMessages, from
// common to rare, alone and together, with the index each must walk.
func historyBenchFilters() []struct {
	name  string
	f     store.MessageFilter
	index string
} {
	month := t0.Add(150 * 24 * time.Hour)
	return []struct {
		name  string
		f     store.MessageFilter
		index string
	}{
		{"all", store.MessageFilter{}, "messages_by_org"},
		{"status-delivered", store.MessageFilter{Status: switchboard.StatusDelivered}, "messages_by_status"},
		{"status-failed", store.MessageFilter{Status: switchboard.StatusFailed}, "messages_by_status"},
		{"sender-common", store.MessageFilter{Sender: "Acme"}, "messages_by_sender"},
		{"sender-rare", store.MessageFilter{Sender: "Rare"}, "messages_by_sender"},
		{"sender-status", store.MessageFilter{Sender: "Acme Shop", Status: switchboard.StatusFailed}, "messages_by_sender_status"},
		{"recipient", store.MessageFilter{Recipient: "+37255063352"}, "messages_by_recipient"},
		{"recipient-status", store.MessageFilter{Recipient: "+37255012345", Status: switchboard.StatusDelivered}, "messages_by_recipient"},
		{"month", store.MessageFilter{Since: month, Until: month.AddDate(0, 1, 0)}, "messages_by_org"},
		{"month-status", store.MessageFilter{Since: month, Until: month.AddDate(0, 1, 0), Status: switchboard.StatusFailed}, "messages_by_status"},
		{"since", store.MessageFilter{Since: month}, "messages_by_org"},
		{"everything", store.MessageFilter{Since: t0, Until: month, Sender: "Acme", Status: switchboard.StatusDelivered, Recipient: "+37255063352"}, "messages_by_recipient"},
	}
}

// BenchmarkListMessages pages the history of an organisation of a million
// messages (storetest.SeedMessages) under each filter: the first page, a
// page in the middle and the last page, 50 messages each (fewer where the
// filter matches fewer). The target is 2 ms of store time a page at any
// depth on both engines. On PostgreSQL it first checks the plan of each
// filter's query, as the store runs it: a backward walk of the filter's
// index, no sort.
func BenchmarkListMessages(b *testing.B) {
	const limit = 50
	db, dsn := newDBWithPath(b)
	// Twenty small organisations of 1,000 messages each, older than the
	// large one's: a plan that walked every message by id from the newest,
	// filtering by organisation, would read the whole million to show a
	// small one's page ("small-org").
	var small int64
	for i := range 20 {
		_, o := newOwner(b, db, "Small", fmt.Sprint(i), fmt.Sprintf("small%d@example.com", i))
		storetest.SeedMessages(b, dsn, o.ID, 1000, t0)
		small = o.ID
	}
	_, org := newOwner(b, db, "Ada", "Lovelace", "ada@example.com")
	start := time.Now()
	storetest.SeedMessages(b, dsn, org.ID, historySize, t0)
	b.Logf("%s: seeded %d messages in %s", storetest.Engine(), historySize, time.Since(start).Round(time.Millisecond))
	b.Run("small-org/first", func(b *testing.B) {
		if storetest.Postgres() {
			checkHistoryPlan(b, dsn, small, store.MessageFilter{}, "messages_by_org")
		}
		for b.Loop() {
			if list, _, err := db.ListMessages(ctx, small, store.MessageFilter{}, 0, limit); err != nil || len(list) != limit {
				b.Fatalf("%d messages, %v", len(list), err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/page")
	})
	for _, bc := range historyBenchFilters() {
		// The whole list under the filter, to place the cursors, found the
		// slow way: by reading every id.
		var ids []int64
		must(b, db.StreamMessages(ctx, org.ID, bc.f, func(m *switchboard.Message) error { ids = append(ids, m.ID); return nil }))
		if len(ids) == 0 {
			b.Fatalf("%s matches nothing", bc.name)
		}
		if storetest.Postgres() {
			checkHistoryPlan(b, dsn, org.ID, bc.f, bc.index)
		}
		cursors := map[string]int64{"first": 0, "middle": ids[len(ids)/2], "last": 0}
		if len(ids) > limit {
			cursors["last"] = ids[len(ids)-limit-1]
		}
		for _, at := range []string{"first", "middle", "last"} {
			b.Run(bc.name+"/"+at, func(b *testing.B) {
				want := min(limit, len(ids))
				if at == "middle" {
					want = min(limit, len(ids)-len(ids)/2-1)
				}
				b.ReportAllocs()
				for b.Loop() {
					list, _, err := db.ListMessages(ctx, org.ID, bc.f, cursors[at], limit)
					if err != nil {
						b.Fatal(err)
					}
					if len(list) != want {
						b.Fatalf("%d messages, want %d (of %d)", len(list), want, len(ids))
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/page")
			})
		}
	}
}

// checkHistoryPlan fails the benchmark unless PostgreSQL runs the filter's
// query, in its generic plan as the store's connections do, as a backward
// walk of index with no sort.
func checkHistoryPlan(b *testing.B, dsn string, orgID int64, f store.MessageFilter, index string) {
	b.Helper()
	raw := rawDB(b, dsn)
	conn, err := raw.DB.Conn(ctx)
	must(b, err)
	defer conn.Close()
	q, args := store.HistoryQuery(true, "id, body", orgID, f, 1<<62, 0, 51)
	_, err = conn.ExecContext(ctx, `SET plan_cache_mode = force_generic_plan`)
	must(b, err)
	_, err = conn.ExecContext(ctx, `PREPARE history_plan AS `+store.Rebind(q))
	must(b, err)
	placeholders := make([]string, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			placeholders[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
		default:
			placeholders[i] = fmt.Sprint(v)
		}
	}
	rows, err := conn.QueryContext(ctx, `EXPLAIN EXECUTE history_plan(`+strings.Join(placeholders, ", ")+`)`)
	must(b, err)
	var plan []string
	for rows.Next() {
		var line string
		must(b, rows.Scan(&line))
		plan = append(plan, line)
	}
	must(b, rows.Err())
	rows.Close()
	text := strings.Join(plan, "\n")
	if !strings.Contains(text, "Index Scan Backward using "+index+" ") || strings.Contains(text, "Sort") {
		b.Fatalf("PostgreSQL does not walk %s backward for this filter:\n%s", index, text)
	}
}

// BenchmarkStreamMessages reads the whole history of a million messages
// through StreamMessages, as the CSV export does, and reports messages a
// second and the most the heap grew while it ran (sampled every 10,000
// messages).
func BenchmarkStreamMessages(b *testing.B) {
	db, dsn := newDBWithPath(b)
	_, org := newOwner(b, db, "Ada", "Lovelace", "ada@example.com")
	storetest.SeedMessages(b, dsn, org.ID, historySize, t0)
	var peak uint64
	for b.Loop() {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base := ms.HeapAlloc
		n := 0
		err := db.StreamMessages(context.Background(), org.ID, store.MessageFilter{}, func(m *switchboard.Message) error {
			if n++; n%10_000 == 0 {
				runtime.ReadMemStats(&ms)
				if ms.HeapAlloc > base {
					peak = max(peak, ms.HeapAlloc-base)
				}
			}
			return nil
		})
		must(b, err)
		if n != historySize {
			b.Fatalf("streamed %d messages, want %d", n, historySize)
		}
	}
	b.ReportMetric(float64(historySize)*float64(b.N)/b.Elapsed().Seconds(), "messages/s")
	b.ReportMetric(float64(peak)/(1<<20), "MB-heap-growth")
}
