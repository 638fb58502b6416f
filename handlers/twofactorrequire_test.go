package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// twoFactorOn gives the profile two-factor authentication as the set-up
// page would (issue 13 part A): a confirmed secret.
func (a *app) twoFactorOn(profile int64) {
	a.t.Helper()
	if _, err := a.raw().ExecContext(context.Background(), `UPDATE profiles SET totp_since = 1, totp_secret = 'x' WHERE id = ?`, profile); err != nil {
		a.t.Fatal(err)
	}
}

// requiring reports whether the organisation requires two-factor, read
// behind the store's back.
func (a *app) requiring(org int64) bool {
	a.t.Helper()
	return a.rows(`SELECT COUNT(*) FROM organisations WHERE id = ? AND require_two_factor`, org) == 1
}

// requireTwoFactor makes the owner (given two-factor first) require it of
// the organisation, through the warning and its confirmation.
func (tm *team) requireTwoFactor(t *testing.T) {
	t.Helper()
	tm.a.twoFactorOn(tm.owner.profile)
	res := tm.owner.post(path(tm.org, "settings/two-factor"), url.Values{"require_two_factor": {"on"}, "confirm": {"on"}})
	wantStatus(t, res, http.StatusSeeOther)
	if !tm.a.requiring(tm.org) {
		t.Fatal("the setting was not saved")
	}
}

func TestRequireTwoFactorSetting(t *testing.T) {
	tm := newTeam(t)
	a := tm.a
	on := url.Values{"require_two_factor": {"on"}}

	// Only the owner: an Administrator and a Sender are refused, even
	// with the confirmation field.
	for _, p := range []*person{tm.admin, tm.sender} {
		res := p.post(path(tm.org, "settings/two-factor"), url.Values{"require_two_factor": {"on"}, "confirm": {"on"}})
		wantStatus(t, res, http.StatusForbidden)
		wantContains(t, res, "You don&#39;t have access")
	}
	wantNotContains(t, tm.admin.get(path(tm.org, "settings")), "Require two-factor authentication")
	if a.requiring(tm.org) {
		t.Fatal("a refused request changed the setting")
	}

	// The owner without two-factor would lock themself out: refused beside
	// the checkbox.
	res := tm.owner.post(path(tm.org, "settings/two-factor"), on)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="require_two_factor-error"`, "Turn on two-factor authentication for your own profile first", `aria-describedby="require_two_factor-error"`)
	if a.requiring(tm.org) {
		t.Fatal("required although the owner has no two-factor")
	}

	// With it, ticking the box first warns how many members are without
	// it (the admin and the sender), and changes nothing yet.
	a.twoFactorOn(tm.owner.profile)
	res = tm.owner.post(path(tm.org, "settings/two-factor"), on)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "2 members do not have two-factor authentication on: they will be asked to set it up when they next open Acme.",
		`name="confirm" value="on"`, ">Require two-factor authentication</button>", "Cancel")
	if a.requiring(tm.org) {
		t.Fatal("the warning alone turned the setting on")
	}
	a.twoFactorOn(tm.admin.profile)
	res = tm.owner.post(path(tm.org, "settings/two-factor"), on)
	wantContains(t, res, "1 member does not have two-factor authentication on")

	// Confirmed: on, audited with the count at that moment.
	res = tm.owner.post(path(tm.org, "settings/two-factor"), url.Values{"require_two_factor": {"on"}, "confirm": {"on"}})
	wantStatus(t, res, http.StatusSeeOther)
	if !a.requiring(tm.org) {
		t.Fatal("the confirmed setting was not saved")
	}
	page := tm.owner.get(path(tm.org, "settings"))
	wantContains(t, page, "Acme now requires two-factor authentication of every member.", `id="require_two_factor" name="require_two_factor" value="on" checked`)
	wantContains(t, tm.owner.get(path(tm.org, "audit")), "Two-factor authentication required", "1 member was without two-factor authentication")

	// Saving it on again records nothing more.
	wantStatus(t, tm.owner.post(path(tm.org, "settings/two-factor"), on), http.StatusSeeOther)
	if n := a.rows(`SELECT COUNT(*) FROM audit_log WHERE org_id = ? AND action = 'organisation.two_factor_required'`, tm.org); n != 1 {
		t.Errorf("%d audit lines for turning it on, want 1", n)
	}

	// Off: the unticked box.
	wantStatus(t, tm.owner.post(path(tm.org, "settings/two-factor"), nil), http.StatusSeeOther)
	if a.requiring(tm.org) {
		t.Fatal("the setting is still on")
	}
	wantContains(t, tm.owner.get(path(tm.org, "audit")), "Two-factor authentication no longer required")

	// With every member on, it turns on at once: nobody to warn about.
	a.twoFactorOn(tm.sender.profile)
	wantStatus(t, tm.owner.post(path(tm.org, "settings/two-factor"), on), http.StatusSeeOther)
	if !a.requiring(tm.org) {
		t.Fatal("not turned on")
	}
	wantContains(t, tm.owner.get(path(tm.org, "audit")), "0 members were without two-factor authentication")
}

// TestRequireTwoFactorOtherOrganisation posts the setting to an
// organisation the owner is not a member of: 404, and it stays off.
func TestRequireTwoFactorOtherOrganisation(t *testing.T) {
	tm := newTeam(t)
	rival := tm.a.signup("rival@example.com", "Rival")
	tm.a.twoFactorOn(tm.owner.profile)
	res := tm.owner.post(path(rival.org, "settings/two-factor"), url.Values{"require_two_factor": {"on"}, "confirm": {"on"}})
	wantStatus(t, res, http.StatusNotFound)
	wantNotContains(t, res, "Rival")
	if tm.a.requiring(rival.org) {
		t.Fatal("another organisation's setting was changed")
	}
}

func TestRequireTwoFactorEnforced(t *testing.T) {
	tm := newTeam(t)
	a := tm.a
	// The sender also belongs to an organisation that does not require it.
	other := a.signup("other@example.com", "Other Ltd")
	link := a.invite(other, other.org, tm.sender.email, "sender")
	wantStatus(t, tm.sender.post(link, nil), http.StatusSeeOther)
	a.twoFactorOn(tm.admin.profile)
	tm.requireTwoFactor(t)

	// Every page of Acme sends the sender to set it up, and back.
	for _, page := range []string{path(tm.org, ""), path(tm.org, "messages/new"), path(tm.org, "contacts?q=mari&after=3"), path(tm.org, "leave")} {
		res := tm.sender.get(page)
		wantStatus(t, res, http.StatusSeeOther)
		if want := "/account/two-factor?next=" + url.QueryEscape(page); res.location != want {
			t.Errorf("GET %s sent to %q, want %q", page, res.location, want)
		}
	}

	// A forged POST (valid CSRF token) is refused before it is done, with
	// why and the link.
	contacts := a.rows(`SELECT COUNT(*) FROM contacts WHERE org_id = ?`, tm.org)
	res := tm.sender.post(path(tm.org, "contacts/new"), url.Values{"phone": {"+37255500071"}, "first_name": {"Jaan"}})
	wantStatus(t, res, http.StatusForbidden)
	wantContains(t, res, "Acme requires two-factor authentication of every member. Nothing was changed",
		`href="/account/two-factor?next=`+url.QueryEscape(path(tm.org, ""))+`"`, "Set up two-factor authentication")
	if n := a.rows(`SELECT COUNT(*) FROM contacts WHERE org_id = ?`, tm.org); n != contacts {
		t.Fatalf("the refused POST added a contact (%d, was %d)", n, contacts)
	}
	// From a page of Acme, the link comes back to that page.
	req, _ := http.NewRequest(http.MethodPost, a.ts.URL+path(tm.org, "contacts/new"),
		strings.NewReader(url.Values{"_csrf": {tm.sender.csrf()}, "phone": {"+37255500072"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Referer", a.ts.URL+path(tm.org, "contacts/new"))
	res = tm.sender.do(req)
	wantStatus(t, res, http.StatusForbidden)
	wantContains(t, res, `href="/account/two-factor?next=`+url.QueryEscape(path(tm.org, "contacts/new"))+`"`)
	// Leaving is refused too: no request of Acme is performed.
	wantStatus(t, tm.sender.post(path(tm.org, "leave"), nil), http.StatusForbidden)
	if membership(t, a.db, tm.org, tm.sender.profile) == nil {
		t.Fatal("the refused POST removed the member")
	}

	// Their other organisation opens as before, and the switcher and the
	// list still show Acme.
	wantStatus(t, tm.sender.get(path(other.org, "")), http.StatusOK)
	wantStatus(t, tm.sender.get(path(other.org, "messages/new")), http.StatusOK)
	wantContains(t, tm.sender.get("/orgs"), "Acme", "Other Ltd")

	// Members with two-factor are unaffected: the owner and the admin.
	wantStatus(t, tm.owner.get(path(tm.org, "members")), http.StatusOK)
	wantStatus(t, tm.admin.get(path(tm.org, "messages/new")), http.StatusOK)

	// Set up (as part A's page does), then following next lands where the
	// sender was going.
	res = tm.sender.get(path(tm.org, "messages/new"))
	a.twoFactorOn(tm.sender.profile)
	next, err := url.Parse(res.location)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, tm.sender.get(next.Query().Get("next")), http.StatusOK)

	// Turned off, a member without two-factor opens Acme again.
	if _, err := a.raw().ExecContext(context.Background(), `UPDATE profiles SET totp_since = NULL WHERE id = ?`, tm.sender.profile); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, tm.sender.get(path(tm.org, "")), http.StatusSeeOther)
	wantStatus(t, tm.owner.post(path(tm.org, "settings/two-factor"), nil), http.StatusSeeOther)
	wantStatus(t, tm.sender.get(path(tm.org, "")), http.StatusOK)
}

// TestRequireTwoFactorSparesTheAPI: API keys are not people, and the JSON
// API of an organisation that requires two-factor answers as before.
func TestRequireTwoFactorSparesTheAPI(t *testing.T) {
	tm := newTeam(t)
	tm.requireTwoFactor(t)
	api := tm.a.newMessagesAPI(tm.org, "Website")
	wantStatus(t, api.call(http.MethodGet, "/api/v1/balance", ""), http.StatusOK)
}

func TestMembersTwoFactorColumn(t *testing.T) {
	tm := newTeam(t)
	tm.a.twoFactorOn(tm.admin.profile)
	res := tm.owner.get(path(tm.org, "members"))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, `<th scope="col">Two-factor</th>`,
		`>admin@example.com</td><td data-label="Role">Administrator</td>`,
	)
	for _, p := range []struct {
		email, want string
	}{{tm.admin.email, "On"}, {tm.sender.email, "Off"}, {tm.owner.email, "Off"}} {
		i := strings.Index(res.body, ">"+p.email+"</td>")
		if i < 0 {
			t.Fatalf("%s is not listed", p.email)
		}
		row := res.body[i:]
		row = row[:strings.Index(row, "</tr>")]
		if !strings.Contains(row, `<td data-label="Two-factor">`+p.want+`</td>`) {
			t.Errorf("%s's row says %q, want Two-factor %s", p.email, row, p.want)
		}
	}
	// A search reads it too.
	wantContains(t, tm.owner.get(path(tm.org, "members?q=admin")), `<td data-label="Two-factor">On</td>`)
}
