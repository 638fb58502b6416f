package store_test

import (
	"fmt"
	"testing"
	"time"

	"switchboard/store"
	"switchboard/store/storetest"
)

// contactsSize is the phonebook size the issue asks figures for.
const contactsSize = 1_000_000

// BenchmarkListContacts pages the phonebook of an organisation of a million
// contacts (storetest.SeedContacts), beside twenty small ones, unfiltered
// and under searches and groups from common to rare: the first page and
// one far in (after the middle of what matches), 50 contacts each. The
// targets are 2 ms of store time for a page of the list at any depth and
// 20 ms for a search, on both engines.
func BenchmarkListContacts(b *testing.B) {
	const limit = 50
	db, dsn := newDBWithPath(b)
	for i := range 20 {
		_, o := newOwner(b, db, "Small", fmt.Sprint(i), fmt.Sprintf("small%d@example.com", i))
		storetest.SeedContacts(b, dsn, o.ID, 1000, 2_000_000+i*1000)
	}
	_, org := newOwner(b, db, "Ada", "Lovelace", "ada@example.com")
	start := time.Now()
	storetest.SeedContacts(b, dsn, org.ID, contactsSize, 0)
	b.Logf("%s: seeded %d contacts in %s", storetest.Engine(), contactsSize, time.Since(start).Round(time.Millisecond))
	raw := rawDB(b, dsn)
	// Groups: one in ten contacts, and one in ten thousand, picked by a
	// hash of the id (a plain id % 10 would follow the seed's first
	// names); and a group whose 33,000 contacts all sort last (first
	// names from "Ve"), the dearest case of the walk: none of it in the
	// first contactWalk entries, so the gather sorts the whole group.
	big, small, late := newGroup(b, db, org.ID, "Customers"), newGroup(b, db, org.ID, "Board"), newGroup(b, db, org.ID, "Late")
	for _, g := range []struct {
		id   int64
		cond string
	}{{big, `(id * 2654435761) % 1000003 % 10 = 0`}, {small, `(id * 2654435761) % 1000003 % 10000 = 7`}, {late, `first_name >= 'Ve' AND id % 3 = 0`}} {
		_, err := raw.ExecContext(ctx, `INSERT INTO group_contacts (group_id, contact_id) SELECT ?, id FROM contacts WHERE org_id = ? AND `+g.cond, g.id, org.ID)
		must(b, err)
	}
	if storetest.Postgres() {
		_, err := raw.ExecContext(ctx, `VACUUM ANALYZE`)
		must(b, err)
	}

	cases := []struct {
		name string
		f    store.ContactFilter
	}{
		{"all", store.ContactFilter{}},
		{"name-common", store.ContactFilter{Name: "Ka"}},    // one in ten: a first or last name starting "ka"
		{"name-first", store.ContactFilter{Name: "kari"}},   // one in 200
		{"name-full", store.ContactFilter{Name: "kari ri"}}, // one in 8,000
		{"name-last", store.ContactFilter{Name: "tamalo"}},  // one in 8,000, spread over the list
		{"name-none", store.ContactFilter{Name: "qx"}},      // nobody
		{"number-common", store.ContactFilter{Phones: []string{"+3725"}}},
		{"number-10000", store.ContactFilter{Phones: []string{"+37251012"}}},
		{"number-1000", store.ContactFilter{Phones: []string{"+372510123"}}},
		{"number-two", store.ContactFilter{Phones: []string{"+3725101234", "+372551012"}}},
		{"number-exact", store.ContactFilter{Phones: []string{"+37251012345"}}},
		{"group-big", store.ContactFilter{GroupID: big}},
		{"group-small", store.ContactFilter{GroupID: small}},
		{"group-late", store.ContactFilter{GroupID: late}},
		{"group-name", store.ContactFilter{GroupID: big, Name: "kari"}},
	}
	for _, bc := range cases {
		// A cursor far in: after half of what matches (at most 500,000
		// contacts in), found the slow way.
		var keys []string
		after := ""
		for {
			list, next, err := db.ListContacts(ctx, org.ID, bc.f, after, store.ContactPageMax)
			must(b, err)
			for i := range list {
				keys = append(keys, store.ContactKey(&list[i]))
			}
			if next == "" || len(keys) >= contactsSize/2 {
				break
			}
			after = next
		}
		if len(keys) == 0 && bc.name != "name-none" {
			b.Fatalf("%s matches nothing", bc.name)
		}
		middle := ""
		if len(keys) > 1 {
			middle = keys[min(len(keys)/2, 250_000)]
		}
		for _, at := range []string{"first", "middle"} {
			cursor := ""
			if at == "middle" {
				cursor = middle
			}
			b.Run(bc.name+"/"+at, func(b *testing.B) {
				for b.Loop() {
					if _, _, err := db.ListContacts(ctx, org.ID, bc.f, cursor, limit); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/page")
			})
		}
	}
}
