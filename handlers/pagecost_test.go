package handlers_test

import (
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// readsOf returns how many read queries a GET of path by c costs: the
// fewest over a few views, since a background job of the server may read
// at the same time, never less.
func readsOf(t *testing.T, a *app, c *client, path string) int64 {
	t.Helper()
	fewest := int64(math.MaxInt64)
	for range 5 {
		before := a.db.Statements()
		wantStatus(t, c.get(path), http.StatusOK)
		fewest = min(fewest, a.db.Statements()-before)
	}
	return fewest
}

// TestPageQueries holds the pages everyone opens most to the queries they
// need, counted rather than timed: the session, then the profile with its
// place in every organisation in one query (it authorizes the request and
// fills the switcher), then what the page itself shows. The members page
// answered at 81% of the floor's speed (cmd/switchboard-load -floor) when
// it read the profile, the membership and the switcher's list apart.
func TestPageQueries(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	seedMembers(t, a, owner.org, 60)
	// Beta has a custom role and an invitation waiting: its members page
	// lists them too.
	res := owner.post("/orgs/new", url.Values{"name": {"Beta"}})
	wantStatus(t, res, http.StatusSeeOther)
	beta, err := parseInt(strings.TrimPrefix(res.location, "/orgs/"))
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, owner.post(path(beta, "roles"), url.Values{"name": {"Auditor"}, "permissions": {"members"}}), http.StatusSeeOther)
	a.invite(owner, beta, "pending@example.com", "sender")
	for _, tc := range []struct {
		path string
		max  int64
		what string
	}{
		{path(owner.org, "members"), 3, "session, profile with memberships, members"},
		{path(beta, "members"), 5, "session, profile with memberships, members, roles, pending invitations"},
		{path(owner.org, ""), 3, "session, profile with memberships, counts"},
		{"/account", 3, "session, profile with memberships, security activity"},
	} {
		n := readsOf(t, a, owner.client, tc.path)
		t.Logf("GET %s: %d queries", tc.path, n)
		if n > tc.max {
			t.Errorf("GET %s costs %d queries, want at most %d (%s)", tc.path, n, tc.max, tc.what)
		}
	}
	// The lists a page skips when the organisation holds none are there as
	// soon as it does, on the very next view.
	wantContains(t, owner.get(path(beta, "members")), `<option value="custom:`, ">Auditor</option>", "pending@example.com")
	res = owner.get(path(owner.org, "members"))
	wantContains(t, res, "No invitation is waiting")
	wantNotContains(t, res, "Auditor")
	wantStatus(t, owner.post(path(owner.org, "roles"), url.Values{"name": {"Reviewer"}, "permissions": {"members"}}), http.StatusSeeOther)
	a.invite(owner, owner.org, "later@example.com", "sender")
	wantContains(t, owner.get(path(owner.org, "members")), ">Reviewer</option>", "later@example.com")
}

// TestAuthorizationReadPerRequest: the membership a page is authorized by
// and the switcher's list come from the database as it is at that request,
// read with the profile: a role taken away or access revoked applies to
// the very next request, in the page, its navigation and its switcher.
func TestAuthorizationReadPerRequest(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	admin := a.join(a.invite(owner, owner.org, "admin@example.com", "administrator"), "admin@example.com")
	members := path(owner.org, "members")

	res := admin.get(members)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "<small>Administrator</small>", `href="`+members+`"`)

	wantStatus(t, owner.post(path(owner.org, "members/"+itoa(admin.profile)+"/role"), url.Values{"role": {"sender"}}), http.StatusSeeOther)
	wantStatus(t, admin.get(members), http.StatusForbidden)
	res = admin.get(path(owner.org, ""))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "<small>Sender</small>")
	wantNotContains(t, res, "<small>Administrator</small>", `href="`+members+`"`)

	wantStatus(t, owner.post(path(owner.org, "members/"+itoa(admin.profile)+"/revoke"), nil), http.StatusSeeOther)
	res = admin.get(path(owner.org, ""))
	wantStatus(t, res, http.StatusNotFound)
	if strings.Contains(res.body, `href="`+path(owner.org, "")+`"`) {
		t.Error("the switcher still lists the organisation the profile was removed from")
	}
	res = admin.get("/orgs")
	wantStatus(t, res, http.StatusOK)
	wantNotContains(t, res, "<small>Sender</small>")
}
