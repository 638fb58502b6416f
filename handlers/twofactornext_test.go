package handlers_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestRequireTwoFactorSetUpComesBack follows a member sent to set up
// two-factor by an organisation that requires it through the real set-up
// page: where they were going rides through the set-up's forms and
// redirects, the recovery codes offer it, and it then opens.
func TestRequireTwoFactorSetUpComesBack(t *testing.T) {
	tm := newTeam(t)
	a := tm.a
	clock := &testClock{now: time.Now().Truncate(time.Second)}
	a.db.Now = clock.Now
	tm.requireTwoFactor(t)

	page := path(tm.org, "contacts?q=mari")
	res := tm.sender.get(page)
	wantStatus(t, res, http.StatusSeeOther)
	res = tm.sender.get(res.location)
	wantStatus(t, res, http.StatusOK)
	hidden := `<input type="hidden" name="next" value="` + html.EscapeString(page) + `"`
	wantContains(t, res, hidden)

	res = tm.sender.post("/account/two-factor/setup", url.Values{"next": {page}})
	wantStatus(t, res, http.StatusSeeOther)
	if want := "/account/two-factor?next=" + url.QueryEscape(page); res.location != want {
		t.Fatalf("the set-up went to %q, want %q", res.location, want)
	}
	res = tm.sender.get(res.location)
	wantContains(t, res, hidden)
	m := secretOnPage.FindStringSubmatch(res.body)
	if m == nil {
		t.Fatalf("no secret on the page:\n%s", res.body)
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	res = tm.sender.post("/account/two-factor/enable", url.Values{"code": {code(t, secret, clock)}, "next": {page}})
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, `href="`+html.EscapeString(page)+`">Continue to where you were going</a>`)
	wantStatus(t, tm.sender.get(page), http.StatusOK)

	// A next that leaves the site is never offered.
	res = tm.sender.get("/account/two-factor?next=" + url.QueryEscape("//evil.example/"))
	wantStatus(t, res, http.StatusOK)
	wantNotContains(t, res, "evil.example")
}
