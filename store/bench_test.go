package store_test

import (
	"fmt"
	"strings"
	"testing"

	"switchboard/store"
)

// seedMembers adds n members to the organisation by writing the rows
// directly, in one transaction: the store has no bulk API, and 10,000
// invitations would take longer than the benchmark.
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
		email := fmt.Sprintf("member%05d@example.com", (i*7919)%n)
		var id int64
		must(tb, insertProfile.QueryRowContext(ctx, email, "x", first, last, t0.UnixMilli()).Scan(&id))
		_, err := insertMember.ExecContext(ctx, orgID, id, roles[i%len(roles)], t0.UnixMilli(), strings.ToLower(first+" "+last+" "+email))
		must(tb, err)
	}
	must(tb, tx.Commit())
}

// BenchmarkListMembers pages through 10,000 members of one organisation: a
// keyset page costs the same at any depth.
func BenchmarkListMembers(b *testing.B) {
	db, path := newDBWithPath(b)
	_, org := newOwner(b, db, "Olivia", "Owner", "olivia@example.com")
	const members, limit = 10_000, 50
	seedMembers(b, path, org.ID, members)

	// The cursor at the start of every page, found by walking them once.
	var cursors []store.MemberCursor
	var after store.MemberCursor
	total := 0
	for {
		cursors = append(cursors, after)
		list, next, err := db.ListMembers(ctx, org.ID, "", after, limit)
		must(b, err)
		total += len(list)
		if next == nil {
			break
		}
		after = *next
	}
	if total != members+1 {
		b.Fatalf("walked %d members, want %d", total, members+1)
	}

	for _, depth := range []int{0, 1_000, 5_000, 9_950} {
		cursor := cursors[depth/limit]
		b.Run(fmt.Sprintf("page at %d", depth), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				list, _, err := db.ListMembers(ctx, org.ID, "", cursor, limit)
				if err != nil || len(list) == 0 {
					b.Fatalf("%d members, %v", len(list), err)
				}
			}
		})
	}
	b.Run("all pages", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, _, err := db.ListMembers(ctx, org.ID, "", cursors[i%len(cursors)], limit); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("search", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			list, _, err := db.ListMembers(ctx, org.ID, "rossi", store.MemberCursor{}, limit)
			if err != nil || len(list) != limit {
				b.Fatalf("%d members, %v", len(list), err)
			}
		}
	})
}
