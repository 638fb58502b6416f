package handlers_test

import (
	"testing"
)

// TestMembersPageQueries holds the members page, the dashboard and a
// search to one number of statements whatever the organisation holds: a
// page that read something per member would run more in the large one. On
// both engines (the PostgreSQL pass runs it again).
func TestMembersPageQueries(t *testing.T) {
	a := newApp(t)
	small := a.signup("small@example.com", "Small")
	large := a.signup("large@example.com", "Large")
	larger := a.signup("larger@example.com", "Larger")
	seedMembers(t, a, small.org, 20)
	seedMembers(t, a, large.org, 600)
	seedMembers(t, a, larger.org, 900)
	for _, email := range []string{"p1@example.com", "p2@example.com", "p3@example.com"} {
		a.invite(large, large.org, email, "sender")
	}
	a.invite(small, small.org, "q1@example.com", "sender")
	a.invite(larger, larger.org, "q2@example.com", "sender")

	statements := func(p *person, url string) int64 {
		t.Helper()
		return readsOf(t, a, p.client, url)
	}
	for _, page := range []string{"", "members", "members?q=member", "members?q=n0", "members?q=zz", "members?q=zoë"} {
		counts := []int64{statements(small, path(small.org, page)), statements(large, path(large.org, page)), statements(larger, path(larger.org, page))}
		// The smallest organisation may take a shortcut; past it, the
		// number stays.
		if counts[1] != counts[2] || counts[0] > counts[1] {
			t.Errorf("%q: %v statements for 21, 601 and 901 members", page, counts)
		}
		t.Logf("%q: %v statements", page, counts)
	}
}
