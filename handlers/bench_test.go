package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"switchboard/store/storetest"
	"testing"

	_ "modernc.org/sqlite"
)

// seedMembers adds n members to the organisation straight into the
// database file, in one transaction: the sign-up form would hash n
// passwords. Member i is "Member N<i>", except every 997th, a rare "Zoë
// Quist"; the kept member count is set as the store would, and the search
// index merged as migration 0008 does after a bulk load.
func seedMembers(tb testing.TB, a *app, org int64, n int) {
	tb.Helper()
	raw := a.raw()
	tx, err := raw.BeginTx(context.Background(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	insertProfile, err := tx.PrepareContext(context.Background(), `INSERT INTO profiles (email, password_hash, first_name, last_name, created_at) VALUES (?, 'x', ?, ?, 0) RETURNING id`)
	if err != nil {
		tb.Fatal(err)
	}
	insertMember, err := tx.PrepareContext(context.Background(), `INSERT INTO members (org_id, profile_id, role, joined_at, sort_name) VALUES (?, ?, 'sender', 0, ?)`)
	if err != nil {
		tb.Fatal(err)
	}
	for i := range n {
		email := fmt.Sprintf("member%05d@org%d.example.com", i, org)
		first, last := "Member", fmt.Sprintf("N%05d", i)
		if i%997 == 500 {
			first, last = "Zoë", "Quist"
		}
		var id int64
		if err := insertProfile.QueryRow(email, first, last).Scan(&id); err != nil {
			tb.Fatal(err)
		}
		if _, err := insertMember.Exec(org, id, strings.ToLower(first+" "+last+" "+email)); err != nil {
			tb.Fatal(err)
		}
	}
	if _, err := tx.ExecContext(context.Background(), `UPDATE organisations SET member_count = member_count + ? WHERE id = ?`, n, org); err != nil {
		tb.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	// The rows went in behind the store's back: build their search index.
	if err := a.db.ReindexMembers(context.Background(), org); err != nil {
		tb.Fatal(err)
	}
	// Statistics for PostgreSQL's planner, as its autovacuum gathers after a
	// load this size. (SQLite gathers none by itself, and plans without.)
	if storetest.Postgres() {
		if _, err := raw.Exec(`ANALYZE`); err != nil {
			tb.Fatal(err)
		}
	}
}

// benchNext finds the link to the next page of members.
var benchNext = regexp.MustCompile(`<a [^>]*href="([^"]+)"[^>]*rel="next"`)

// benchSizes are the organisation sizes the issue asks figures for.
var benchSizes = []int{100, 10_000, 100_000}

// benchPage serves url to the owner through the real server b.N times and
// reports the page's size.
func benchPage(b *testing.B, a *app, owner *person, url, want string) {
	cookies := owner.hc.Jar.Cookies(mustURL(a.ts.URL))
	b.ReportAllocs()
	var size int
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, url, nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		a.srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), want) {
			b.Fatalf("status %d, or no %q in the page", rec.Code, want)
		}
		size = rec.Body.Len()
	}
	b.ReportMetric(float64(size), "B/page")
}

// BenchmarkDashboard renders the dashboard of organisations of 100, 10,000
// and 100,000 members, with their counts.
func BenchmarkDashboard(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			a := newApp(b)
			owner := a.signup("owner@example.com", "Acme")
			seedMembers(b, a, owner.org, size)
			benchPage(b, a, owner, path(owner.org, ""), fmt.Sprint(size+1))
		})
	}
}

// BenchmarkMembersPage renders the members page of organisations of 100,
// 10,000 and 100,000 members through the real server: the first page, a
// page 90% of the way down (by its cursor), a search matching everyone, a
// rare one, and searches of one character, common and rare.
func BenchmarkMembersPage(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			a := newApp(b)
			owner := a.signup("owner@example.com", "Acme")
			seedMembers(b, a, owner.org, size)
			deep := path(owner.org, "members")
			for range size * 9 / 10 / 50 {
				m := benchNext.FindStringSubmatch(owner.get(deep).body)
				if m == nil {
					b.Fatal("ran out of pages")
				}
				deep = strings.ReplaceAll(m[1], "&amp;", "&")
			}
			members := path(owner.org, "members")
			for _, bc := range []struct{ name, url, want string }{
				{"first", members, "member"},
				{"deep", deep, "member"},
				{"search-common", members + "?q=example", "member"},
				{"search-rare", members + "?q=zo%C3%AB+quist", "Members"},
				{"search-short", members + "?q=n", "member"},
				{"search-short-rare", members + "?q=q", "Members"},
			} {
				b.Run(bc.name, func(b *testing.B) { benchPage(b, a, owner, bc.url, bc.want) })
			}
		})
	}
}
