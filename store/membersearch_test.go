package store_test

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"

	"switchboard/store"
)

// seedNamed adds members with the given first names, last names and
// emails to the organisation, straight into the file in one transaction,
// and keeps the organisation's member count right.
func seedNamed(tb testing.TB, path string, orgID int64, people [][3]string) {
	tb.Helper()
	raw := rawDB(tb, path)
	tx, err := raw.BeginTx(ctx, nil)
	must(tb, err)
	defer tx.Rollback()
	for _, p := range people {
		var id int64
		must(tb, tx.QueryRowContext(ctx, `INSERT INTO profiles (email, password_hash, first_name, last_name, created_at) VALUES (?, 'x', ?, ?, 0) RETURNING id`, p[2], p[0], p[1]).Scan(&id))
		_, err := tx.ExecContext(ctx, `INSERT INTO members (org_id, profile_id, role, joined_at, sort_name) VALUES (?, ?, 'sender', 0, ?)`,
			orgID, id, strings.ToLower(strings.TrimSpace(p[0]+" "+p[1])+" "+p[2]))
		must(tb, err)
	}
	_, err = tx.ExecContext(ctx, `UPDATE organisations SET member_count = (SELECT COUNT(*) FROM members WHERE org_id = ?) WHERE id = ?`, orgID, orgID)
	must(tb, err)
	must(tb, tx.Commit())
}

// searchPeople makes n people: most are ordinary, every 97th is a rare
// "Zébédée Quux", and a few carry quotes, wildcards and other scripts.
func searchPeople(prefix string, n int) [][3]string {
	firsts := []string{"Ada", "Ben", "Chloé", "Dan", "Eve", "Femi", "Gus", "Hana", "Ivo", "Jun", "Kim", "Lea", "Mo", "Nia", "Oto", "Pia", "李", "Ørjan"}
	lasts := []string{"Smith", "Ng", "O'Brien", "Müller", "Rossi", "Dubois", "Kowalski", "Tanaka", "Silva", "Novak", "Haddad", "王"}
	var people [][3]string
	for i := range n {
		first, last := firsts[i%len(firsts)], lasts[(i/len(firsts))%len(lasts)]
		email := fmt.Sprintf("%s%05d@example.com", prefix, (i*7919)%n)
		switch {
		case i%97 == 0:
			first, last = "Zébédée", "Quux"
		case i%331 == 0:
			first, last, email = "Percy", "100% Sure", fmt.Sprintf("p_c%d@ex-ample.org", i)
		case i%503 == 0:
			first, last = `Dwayne "The Rock"`, "J_hnson"
		}
		people = append(people, [3]string{first, last, email})
	}
	return people
}

// wantSearch lists the organisation's matching members the slow, obvious
// way: every member read, filtered and sorted in Go, then cut into pages.
func wantSearch(tb testing.TB, path string, orgID int64, query string, limit int) [][]int64 {
	tb.Helper()
	raw := rawDB(tb, path)
	rows, err := raw.QueryContext(ctx, `SELECT profile_id, sort_name FROM members WHERE org_id = ?`, orgID)
	must(tb, err)
	defer rows.Close()
	type row struct {
		id   int64
		sort string
	}
	var all []row
	q := strings.ToLower(strings.TrimSpace(query))
	for rows.Next() {
		var r row
		must(tb, rows.Scan(&r.id, &r.sort))
		if strings.Contains(r.sort, q) {
			all = append(all, r)
		}
	}
	must(tb, rows.Err())
	slices.SortFunc(all, func(a, b row) int { return cmp.Or(strings.Compare(a.sort, b.sort), cmp.Compare(a.id, b.id)) })
	pages := [][]int64{}
	for i := 0; i < len(all); i += limit {
		var page []int64
		for _, r := range all[i:min(i+limit, len(all))] {
			page = append(page, r.id)
		}
		pages = append(pages, page)
	}
	if len(pages) == 0 {
		pages = append(pages, nil)
	}
	return pages
}

// gotSearch pages through ListMembers by cursor to the end.
func gotSearch(tb testing.TB, db *store.DB, orgID int64, query string, limit int) [][]int64 {
	tb.Helper()
	var pages [][]int64
	var after store.MemberCursor
	for {
		list, next, err := db.ListMembers(ctx, orgID, query, after, limit)
		must(tb, err)
		var page []int64
		for _, m := range list {
			if m.OrgID != orgID {
				tb.Fatalf("member %d of organisation %d listed in %d", m.ProfileID, m.OrgID, orgID)
			}
			page = append(page, m.ProfileID)
		}
		pages = append(pages, page)
		if next == nil {
			return pages
		}
		if len(list) != limit || next.ProfileID != list[len(list)-1].ProfileID {
			tb.Fatalf("page of %d members with cursor %+v", len(list), next)
		}
		if len(pages) > 10_000 {
			tb.Fatal("paging does not end")
		}
		after = *next
	}
}

// TestListMembersSearchMatchesReference compares every page of many searches
// with the obvious answer, on a large organisation (past the walk, so rare
// queries go through the trigram index) beside another organisation full of
// the rare name, with the walk at its real bound and at a tiny one.
func TestListMembersSearchMatchesReference(t *testing.T) {
	db, path := newDBWithPath(t)
	_, org := newOwner(t, db, "Olivia", "Owner", "olivia@example.com")
	_, other := newOwner(t, db, "Oscar", "Other", "oscar@example.com")
	seedNamed(t, path, org.ID, searchPeople("m", 7000))
	var crowd [][3]string
	for i := range 500 {
		crowd = append(crowd, [3]string{"Zébédée", "Quux", fmt.Sprintf("zq%d@other.example", i)})
	}
	seedNamed(t, path, other.ID, crowd)

	queries := []string{
		"example", "EXAMPLE", "m0", "e", "a", "é", "É", "ü", "李", "王", "ø", "q", "zé", "ZÉBÉ", "zébédée quux", "quux z",
		"%", "_", "100%", "0% s", "p_c", "j_h", "'", "o'b", `"`, `"the rock"`, "  rossi ", "@", ".org", "ex-ample",
		"xyzzy", "zz", "#", "\x1f", "olivia", "oscar", "zq1@", "smith m0", "ng m",
	}
	// walk 0 is the real bound; a walk of 40 sends pages of 7 to the index
	// even for common queries, whose every page is then checked there too.
	for _, c := range []struct{ walk, limit int }{{0, 50}, {0, 7}, {40, 7}} {
		for _, q := range queries {
			t.Run(fmt.Sprintf("walk %d limit %d %q", c.walk, c.limit, q), func(t *testing.T) {
				if c.walk > 0 {
					defer store.SetSearchWalk(c.walk)()
				}
				want := wantSearch(t, path, org.ID, q, c.limit)
				got := gotSearch(t, db, org.ID, q, c.limit)
				if !slices.EqualFunc(got, want, slices.Equal) {
					t.Fatalf("%d pages, want %d; first page %v, want %v", len(got), len(want), got[0], want[0])
				}
			})
		}
	}
}

// TestListMembersSearchFollowsEdits finds a member under a new name and
// not the old one, and forgets members who left or whose organisation was
// deleted.
func TestListMembersSearchFollowsEdits(t *testing.T) {
	t.Cleanup(store.SetSearchWalk(5))
	db, path := newDBWithPath(t)
	owner, org := newOwner(t, db, "Olivia", "Owner", "olivia@example.com")
	seedNamed(t, path, org.ID, searchPeople("m", 300))
	p := addMember(t, db, org, owner, "Barnaby", "Rudge", "barnaby@example.com", sender)
	search := func(q string) []int64 {
		t.Helper()
		return gotSearch(t, db, org.ID, q, 50)[0]
	}
	if got := search("barnaby"); !slices.Equal(got, []int64{p.ID}) {
		t.Fatalf("before the edit: %v", got)
	}
	p.FirstName, p.LastName = "Wilkins", "Micawber"
	must(t, db.UpdateProfile(ctx, p))
	if got := search("micawber"); !slices.Equal(got, []int64{p.ID}) {
		t.Fatalf("under the new name: %v", got)
	}
	if got := search("rudge"); len(got) != 0 {
		t.Fatalf("under the old name: %v", got)
	}
	// The store has no email change yet; a change made behind its back
	// through members.sort_name reaches the index by its trigger.
	raw := rawDB(t, path)
	_, err := raw.ExecContext(ctx, `UPDATE members SET sort_name = 'wilkins micawber wilkins@example.net' WHERE profile_id = ?`, p.ID)
	must(t, err)
	if got := search("wilkins@example.net"); !slices.Equal(got, []int64{p.ID}) {
		t.Fatalf("under the new email: %v", got)
	}
	if got := search("barnaby@"); len(got) != 0 {
		t.Fatalf("under the old email: %v", got)
	}
	m := findMember(t, db, org.ID, p.ID)
	must(t, db.RemoveMember(ctx, actorOf(owner), org.ID, m, "member.revoked"))
	if got := search("micawber"); len(got) != 0 {
		t.Fatalf("after revoking: %v", got)
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM member_search WHERE rowid = (? << 32) | ?`, org.ID, p.ID); n != 0 {
		t.Fatalf("%d index rows left after revoking", n)
	}
	must(t, db.DeleteOrganisation(ctx, org.ID))
	if n := count(t, raw, `SELECT COUNT(*) FROM member_search WHERE rowid BETWEEN (? << 32) AND (? << 32) | 4294967295`, org.ID, org.ID); n != 0 {
		t.Fatalf("%d index rows left after deleting the organisation", n)
	}
}
