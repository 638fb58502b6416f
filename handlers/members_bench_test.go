package handlers_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// membersPageWeightLimit is the most a members page of 50 members and a few
// pending invitations may weigh: the floor's page is 13 KB. The Two-factor
// column (issue 13) adds 37 bytes a row, 1.8 KB a page.
const membersPageWeightLimit = 22 << 10

// fullMembersPage makes an organisation with more members than a page holds
// and five pending invitations, and returns its owner and the page's path.
func fullMembersPage(tb testing.TB) (*app, *person, string) {
	tb.Helper()
	a := newApp(tb)
	owner := a.signup("owner@example.com", "Acme")
	seedMembers(tb, a, owner.org, 60)
	for i := range 5 {
		a.invite(owner, owner.org, fmt.Sprintf("pending%d@example.com", i), "sender")
	}
	return a, owner, path(owner.org, "members")
}

// TestMembersPageWeight: a members page of 50 members and 5 pending
// invitations stays under 20 KB. The size is counted, not timed.
func TestMembersPageWeight(t *testing.T) {
	_, owner, members := fullMembersPage(t)
	res := owner.get(members)
	wantStatus(t, res, http.StatusOK)
	if rows := strings.Count(res.body, `<td data-label="Joined"`); rows != 50 {
		t.Fatalf("%d member rows, want a full page of 50", rows)
	}
	if n := strings.Count(res.body, `/resend"`); n != 5 {
		t.Fatalf("%d pending invitations, want 5", n)
	}
	t.Logf("members page: %d bytes", len(res.body))
	if len(res.body) > membersPageWeightLimit {
		t.Errorf("the members page weighs %d bytes, more than %d", len(res.body), membersPageWeightLimit)
	}
}

// BenchmarkMembersPageWeight renders the page of TestMembersPageWeight
// through the real server and reports its size.
func BenchmarkMembersPageWeight(b *testing.B) {
	a, owner, members := fullMembersPage(b)
	benchPage(b, a, owner, members, "Pending invitations")
}
