package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestOrganisations(t *testing.T) {
	a := newApp(t)
	p := a.signup("owner@example.com", "Acme")

	t.Run("create another and list both with my role", func(t *testing.T) {
		res := p.post("/orgs/new", url.Values{"name": {""}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantContains(t, res, `id="name-error"`)
		res = p.post("/orgs/new", url.Values{"name": {strings.Repeat("n", 101)}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		res = p.post("/orgs/new", url.Values{"name": {"Beta <b>"}})
		wantStatus(t, res, http.StatusSeeOther)
		list := p.get("/orgs")
		wantStatus(t, list, http.StatusOK)
		wantContains(t, list, "Acme", "Beta &lt;b&gt;", "Owner")
		wantNotContains(t, list, "Beta <b>")
	})

	t.Run("the switcher keeps the section", func(t *testing.T) {
		res := p.get(path(p.org, "settings"))
		wantStatus(t, res, http.StatusOK)
		orgs, _ := a.db.ListMemberships(context.Background(), p.profile)
		for _, o := range orgs {
			wantContains(t, res, `href="`+path(o.ID, "settings")+`"`)
		}
	})

	t.Run("rename with bad and good input", func(t *testing.T) {
		res := p.post(path(p.org, "settings"), url.Values{"name": {""}, "billing_email": {"not-an-email"}, "legal_name": {"Acme Ltd"}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantContains(t, res, `id="name-error"`, `id="billing_email-error"`, `value="Acme Ltd"`, `value="not-an-email"`)
		res = p.post(path(p.org, "settings"), url.Values{"name": {"Acme Renamed"}, "legal_name": {"Acme Ltd"}})
		wantStatus(t, res, http.StatusSeeOther)
		if m := membership(t, a.db, p.org, p.profile); m.Org.Name != "Acme Renamed" || m.Org.LegalName != "Acme Ltd" {
			t.Fatalf("organisation = %+v", m.Org)
		}
	})

	t.Run("another organisation's id answers 404, as one that does not exist", func(t *testing.T) {
		stranger := a.signup("stranger@example.com", "Elsewhere")
		for _, u := range []string{path(p.org, ""), path(p.org, "settings"), path(p.org, "members"), path(999999, ""), "/orgs/abc", "/orgs/0", "/orgs/-1", "/orgs/1e3", path(p.org, "nothing-here")} {
			res := stranger.get(u)
			wantStatus(t, res, http.StatusNotFound)
			wantNotContains(t, res, "Acme")
		}
		res := stranger.post(path(p.org, "settings"), url.Values{"name": {"Taken over"}})
		wantStatus(t, res, http.StatusNotFound)
		if m := membership(t, a.db, p.org, p.profile); m.Org.Name != "Acme Renamed" {
			t.Fatal("a stranger renamed the organisation")
		}
	})

	t.Run("encoded separators cannot slip past the membership check", func(t *testing.T) {
		stranger := a.login("stranger@example.com", testPassword)
		for _, u := range []string{"/orgs/" + itoa(p.org) + "%2Fsettings", "/orgs/" + itoa(p.org) + "%2fmembers", "/orgs%2F" + itoa(p.org) + "/settings", "/orgs/" + itoa(p.org) + "%5Csettings"} {
			res := stranger.get(u)
			if res.status == http.StatusOK {
				t.Errorf("%s answered 200 to a stranger", u)
			}
			wantNotContains(t, res, "Acme Renamed")
		}
	})

	t.Run("delete asks for the name and keeps profiles", func(t *testing.T) {
		link := a.invite(p, p.org, "member@example.com", "sender")
		member := a.join(link, "member@example.com")
		res := p.post(path(p.org, "delete"), url.Values{"confirm_name": {"acme renamed"}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantContains(t, res, `id="confirm_name-error"`, `value="acme renamed"`)
		wantStatus(t, member.post(path(p.org, "delete"), url.Values{"confirm_name": {"Acme Renamed"}}), http.StatusForbidden)

		wantStatus(t, p.post(path(p.org, "delete"), url.Values{"confirm_name": {"Acme Renamed"}}), http.StatusSeeOther)
		wantStatus(t, p.get(path(p.org, "")), http.StatusNotFound)
		wantStatus(t, member.get(path(p.org, "")), http.StatusNotFound)
		for _, id := range []int64{p.profile, member.profile} {
			if _, err := a.db.FindProfile(context.Background(), id); err != nil {
				t.Fatalf("profile %d gone with the organisation: %v", id, err)
			}
		}
		res = member.get("/orgs")
		wantStatus(t, res, http.StatusOK)
		wantNotContains(t, res, "Acme Renamed")
		// The owner lands on the list (not the deleted organisation) at login.
		res = a.client().post("/login", url.Values{"email": {"owner@example.com"}, "password": {testPassword}})
		if strings.HasSuffix(res.location, itoa(p.org)) {
			t.Fatalf("landed on the deleted organisation: %s", res.location)
		}
	})
}
