package store_test

import (
	"fmt"
	"strings"
	"testing"

	"switchboard/store"
)

// seedMembers adds n members to the organisation by writing the rows
// directly, in one transaction: the store has no bulk API, and 100,000
// invitations would take longer than the benchmark. Every 997th member is a
// rare "Zoë Quist"; the kept member count and the search index are set as
// the store would.
func seedMembers(tb testing.TB, path string, orgID int64, n int) {
	tb.Helper()
	raw := rawDB(tb, path)
	tx, err := raw.BeginTx(ctx, nil)
	must(tb, err)
	defer tx.Rollback()
	insertProfile, err := tx.PrepareContext(ctx, `INSERT INTO profiles (email, password_hash, first_name, last_name, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`)
	must(tb, err)
	insertMember, err := tx.PrepareContext(ctx, `INSERT INTO members (org_id, profile_id, role, joined_at, sort_name) VALUES (?, ?, ?, ?, ?)`)
	must(tb, err)
	firsts := []string{"Ada", "Ben", "Chloé", "Dan", "Eve", "Femi", "Gus", "Hana", "Ivo", "Jun", "Kim", "Lea", "Mo", "Nia", "Oto", "Pia"}
	lasts := []string{"Smith", "Ng", "Okafor", "Müller", "Rossi", "Dubois", "Kowalski", "Tanaka", "Silva", "Novak", "Haddad"}
	roles := []string{"administrator", "sender", "sender", "sender"}
	for i := range n {
		first, last := firsts[i%len(firsts)], lasts[(i/len(firsts))%len(lasts)]
		if i%997 == 500 {
			first, last = "Zoë", "Quist"
		}
		email := fmt.Sprintf("member%05d@example.com", (i*7919)%n)
		var id int64
		must(tb, insertProfile.QueryRowContext(ctx, email, "x", first, last, t0.UnixMilli()).Scan(&id))
		_, err := insertMember.ExecContext(ctx, orgID, id, roles[i%len(roles)], t0.UnixMilli(), strings.ToLower(first+" "+last+" "+email))
		must(tb, err)
	}
	_, err = tx.ExecContext(ctx, `UPDATE organisations SET member_count = member_count + ? WHERE id = ?`, n, orgID)
	must(tb, err)
	must(tb, tx.Commit())
	// The rows went in behind the store's back: build their search index.
	db, err := store.Open(ctx, path)
	must(tb, err)
	defer db.Close()
	must(tb, db.ReindexMembers(ctx, orgID))
	_, err = raw.ExecContext(ctx, `ANALYZE`)
	must(tb, err)
}

// benchSizes are the organisation sizes the issue asks figures for.
var benchSizes = []int{100, 10_000, 100_000}

// BenchmarkListMembers lists and searches the members of organisations of
// 100, 10,000 and 100,000 members: a first page, a page deep in the list
// (by its cursor), and searches that match everyone, one member in 100
// (spread over the list), one in 16 who all sort late, few, few with one or
// two characters, and nobody.
func BenchmarkListMembers(b *testing.B) {
	const limit = 50
	for _, size := range benchSizes {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			db, path := newDBWithPath(b)
			_, org := newOwner(b, db, "Olivia", "Owner", "olivia@example.com")
			seedMembers(b, path, org.ID, size)
			// A cursor 90% of the way down the list.
			deep := deepCursor(b, db, org.ID, "", size*9/10, limit)
			deepSearch := deepCursor(b, db, org.ID, "example", size*9/10, limit)
			for _, bc := range []struct {
				name, query string
				after       store.MemberCursor
				wantFull    bool
			}{
				{"first", "", store.MemberCursor{}, true},
				{"deep", "", deep, true},
				{"search-common", "example", store.MemberCursor{}, true},
				{"search-common-deep", "example", deepSearch, true},
				{"search-medium", "member00", store.MemberCursor{}, true},
				{"search-rare", "zoë quist", store.MemberCursor{}, false},
				{"search-late-many", "pia", store.MemberCursor{}, true}, // one in 16, all sorting last but the Zoës
				{"search-short-common", "a", store.MemberCursor{}, true},
				{"search-short-rare", "q", store.MemberCursor{}, false},
				{"search-none", "xyzzy", store.MemberCursor{}, false},
				{"search-short-none", "zz", store.MemberCursor{}, false},
			} {
				b.Run(bc.name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						list, _, err := db.ListMembers(ctx, org.ID, bc.query, bc.after, limit)
						if err != nil || (bc.wantFull && len(list) != limit) {
							b.Fatalf("%d members, %v", len(list), err)
						}
					}
				})
			}
		})
	}
}

// deepCursor walks the pages of a listing once and returns the cursor of
// the page holding the member at position depth.
func deepCursor(tb testing.TB, db *store.DB, orgID int64, query string, depth, limit int) store.MemberCursor {
	var after store.MemberCursor
	for seen := 0; seen+limit <= depth; seen += limit {
		_, next, err := db.ListMembers(ctx, orgID, query, after, limit)
		must(tb, err)
		if next == nil {
			break
		}
		after = *next
	}
	return after
}

// BenchmarkCountMembers counts the members and pending invitations of
// organisations of 100, 10,000 and 100,000 members, as the dashboard does.
func BenchmarkCountMembers(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			db, path := newDBWithPath(b)
			owner, org := newOwner(b, db, "Olivia", "Owner", "olivia@example.com")
			seedMembers(b, path, org.ID, size)
			for i := range 20 {
				invite(b, db, org, owner, fmt.Sprintf("pending%d@example.com", i), sender)
			}
			b.ReportAllocs()
			for b.Loop() {
				c, err := db.CountMembers(ctx, org.ID)
				if err != nil || c.Members != size+1 || c.Pending != 20 {
					b.Fatalf("%+v, %v", c, err)
				}
			}
		})
	}
}

// BenchmarkJoin measures a member joining an organisation of 10,000 members
// (an invitation sent, then accepted as a new profile), the write whose
// transaction keeps the member count and the search index.
func BenchmarkJoin(b *testing.B) {
	db, path := newDBWithPath(b)
	owner, org := newOwner(b, db, "Olivia", "Owner", "olivia@example.com")
	seedMembers(b, path, org.ID, 10_000)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		addMember(b, db, org, owner, "Joiner", fmt.Sprintf("Number %d", i), fmt.Sprintf("joiner%d@example.org", i), sender)
	}
}
