package handlers_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// seedMembers adds n members to the organisation straight into the
// database file, in one transaction: the sign-up form would hash n
// passwords.
func seedMembers(tb testing.TB, a *app, org int64, n int) {
	tb.Helper()
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(a.dbDir, "switchboard.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatal(err)
	}
	defer raw.Close()
	tx, err := raw.Begin()
	if err != nil {
		tb.Fatal(err)
	}
	for i := range n {
		email := fmt.Sprintf("member%05d@example.com", i)
		first, last := "Member", fmt.Sprintf("N%05d", i)
		var id int64
		if err := tx.QueryRow(`INSERT INTO profiles (email, password_hash, first_name, last_name, created_at) VALUES (?, 'x', ?, ?, 0) RETURNING id`, email, first, last).Scan(&id); err != nil {
			tb.Fatal(err)
		}
		if _, err := tx.Exec(`INSERT INTO members (org_id, profile_id, role, joined_at, sort_name) VALUES (?, ?, 'sender', 0, ?)`, org, id, strings.ToLower(first+" "+last+" "+email)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	if _, err := raw.Exec(`ANALYZE`); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkMembersPage renders the members page of an organisation of
// 10,000 members through the real server: the first page, a page deep in
// the list (by its cursor) and a search.
func BenchmarkMembersPage(b *testing.B) {
	a := newApp(b)
	owner := a.signup("owner@example.com", "Acme")
	seedMembers(b, a, owner.org, 10000)
	// Walk to page 150 of 200 once to get a deep cursor.
	deep := path(owner.org, "members")
	for range 150 {
		res := owner.get(deep)
		m := nextLink.FindStringSubmatch(res.body)
		if m == nil {
			b.Fatal("ran out of pages")
		}
		deep = strings.ReplaceAll(m[1], "&amp;", "&")
	}
	cookies := owner.hc.Jar.Cookies(mustURL(a.ts.URL))
	for _, bc := range []struct{ name, url string }{
		{"first", path(owner.org, "members")},
		{"deep", deep},
		{"search", path(owner.org, "members") + "?q=n0999"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, bc.url, nil)
				for _, c := range cookies {
					req.AddCookie(c)
				}
				rec := httptest.NewRecorder()
				a.srv.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "member") {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}
