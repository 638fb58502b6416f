package handlers_test

import (
	"bytes"
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"switchboard"
)

// newKeyField finds the readonly input that shows a new key once.
var newKeyField = regexp.MustCompile(`<input type="text" id="new_api_key" value="([^"]*)" readonly`)

// createAPIKey creates a key named name through the page as p and returns
// the whole key, read from the page that shows it once.
func createAPIKey(t testing.TB, p *client, org int64, name string) string {
	t.Helper()
	res := p.post(path(org, "api-keys"), url.Values{"name": {name}})
	wantStatus(t, res, http.StatusOK)
	m := newKeyField.FindStringSubmatch(res.body)
	if m == nil {
		t.Fatalf("no new key shown\n%s", res.body)
	}
	key := html.UnescapeString(m[1])
	if !switchboard.LooksLikeAPIKey(key) {
		t.Fatalf("the page shows %q, which is not a key", key)
	}
	return key
}

// authenticate checks key the way the API does, returning the error code
// ("" when it works).
func authenticate(t testing.TB, a *app, key string) string {
	t.Helper()
	_, err := a.db.AuthenticateAPIKey(context.Background(), switchboard.HashAPIKey(key))
	return switchboard.ErrorCode(err)
}

func TestAPIKeysPage(t *testing.T) {
	a, logs := newLoggedApp(t)
	owner := a.signup("owner@example.com", "Acme")
	wantStatus(t, owner.post("/account", url.Values{"first_name": {"Ada"}, "last_name": {"Lovelace"}, "language": {"en"}, "time_zone": {"Asia/Tokyo"}}), http.StatusSeeOther)
	a.db.Now = func() time.Time { return time.Date(2026, time.March, 31, 20, 30, 0, 0, time.UTC) }
	defer func() { a.db.Now = time.Now }()

	res := owner.get(path(owner.org, "api-keys"))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "<h1>API keys</h1>", `<label for="api_key_name">Name</label>`, `name="name"`, ">Create API key</button>", "You have no API keys yet.")
	wantNotContains(t, res, "new_api_key")

	// A name is needed, and a long one is refused; what was typed stays.
	res = owner.post(path(owner.org, "api-keys"), url.Values{"name": {"   "}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="api_key_name-error">Enter a name, so that you know later where the key is used`)
	long := strings.Repeat("k", switchboard.MaxAPIKeyName+1)
	res = owner.post(path(owner.org, "api-keys"), url.Values{"name": {long}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `value="`+long+`"`, "A name is at most 100 characters")
	if keys, _ := a.db.ListAPIKeys(context.Background(), owner.org); len(keys) != 0 {
		t.Fatalf("a refused name made keys: %+v", keys)
	}

	// Created: the page itself (200, no redirect) shows the key once, in a
	// readonly field with its label, the Copy button for JavaScript, and
	// the warning.
	res = owner.post(path(owner.org, "api-keys"), url.Values{"name": {"Website"}})
	wantStatus(t, res, http.StatusOK)
	if res.location != "" {
		t.Fatalf("the new key went through a redirect to %q", res.location)
	}
	wantContains(t, res, `<label for="new_api_key">Your new API key</label>`, "It will not be shown again",
		`<button type="button" class="small" data-copy="new_api_key" hidden>Copy</button>`)
	key := html.UnescapeString(newKeyField.FindStringSubmatch(res.body)[1])
	if !regexp.MustCompile(`^sb_live_[A-Za-z0-9_-]{43}$`).MatchString(key) {
		t.Fatalf("key %q has not the sb_live_ shape", key)
	}
	if res.header.Get("Cache-Control") != "no-store" {
		t.Errorf("the page with the key may be cached: %q", res.header.Get("Cache-Control"))
	}
	if code := authenticate(t, a, key); code != "" {
		t.Fatalf("the new key does not work: %s", code)
	}
	prefix := key[:switchboard.APIKeyShown]
	row := regexp.MustCompile(`(?s)<tr id="api-key-\d+">.*?</tr>`).FindString(res.body)
	for _, want := range []string{">Website<", "<code>" + prefix + "…</code>", ">Ada Lovelace<", "1 Apr 2026 05:30 JST", ">Never<", ">Active<", ">Revoke key<span class=\"sr-only\"> Website</span>"} {
		if !strings.Contains(row, want) {
			t.Errorf("the key's row lacks %q\n%s", want, row)
		}
	}

	// After that, the key is nowhere: not on the list, not on the other
	// pages, not in the session, not in the log.
	for _, page := range []string{"api-keys", "api", "audit", ""} {
		res := owner.get(path(owner.org, page))
		wantStatus(t, res, http.StatusOK)
		if strings.Contains(res.body, key) || strings.Contains(res.body, key[switchboard.APIKeyShown:]) {
			t.Errorf("page %q shows the key after its creation", page)
		}
	}
	raw := a.raw()
	rows, err := raw.QueryContext(context.Background(), `SELECT data FROM sessions`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(key[switchboard.APIKeyShown:])) {
			t.Error("a session holds the key")
		}
	}
	rows.Close()

	// Used: the list says when, in the member's zone.
	a.db.Now = func() time.Time { return time.Date(2026, time.April, 2, 8, 0, 0, 0, time.UTC) }
	if code := authenticate(t, a, key); code != "" {
		t.Fatal(code)
	}
	res = owner.get(path(owner.org, "api-keys"))
	wantContains(t, res, "2 Apr 2026 17:00 JST")
	wantNotContains(t, res, ">Never<")

	// Revoked through its confirmation page: refused at once.
	keys, err := a.db.ListAPIKeys(context.Background(), owner.org)
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys %+v, %v", keys, err)
	}
	revoke := path(owner.org, "api-keys/"+itoa(keys[0].ID)+"/revoke")
	wantContains(t, owner.get(path(owner.org, "api-keys")), `href="`+revoke+`" data-confirm>Revoke key`)
	res = owner.get(revoke)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "Revoke the API key Website?", "Every program using the key "+prefix+"… stops at once", `<button type="submit" class="danger">Revoke key</button>`)
	if code := authenticate(t, a, key); code != "" {
		t.Fatalf("the confirmation page revoked the key: %s", code)
	}
	res = owner.post(revoke, nil)
	wantStatus(t, res, http.StatusSeeOther)
	if res.location != path(owner.org, "api-keys") {
		t.Errorf("sent to %q", res.location)
	}
	if code := authenticate(t, a, key); code != switchboard.EUNAUTHORIZED {
		t.Fatalf("the revoked key answers %q", code)
	}
	res = owner.get(path(owner.org, "api-keys"))
	wantContains(t, res, `role="status">API key Website revoked.</div>`, "Revoked on 2 Apr 2026")
	wantNotContains(t, res, `href="`+revoke+`"`)
	// Revoking again says it is done already, and changes nothing.
	wantContains(t, owner.get(revoke), "is already revoked")

	// The audit log says it, readably.
	res = owner.get(path(owner.org, "audit"))
	wantContains(t, res, "API key created", "API key revoked", "Website: "+prefix+"…", "Ada Lovelace")

	// The log never held the key, whole or in part beyond its prefix.
	if log := logs.String(); strings.Contains(log, key[switchboard.APIKeyShown:]) || strings.Contains(log, key[len(switchboard.APIKeyPrefix)+8:]) {
		t.Errorf("the log holds the key")
	}
	if lines := logs.lines(t, "api key created"); len(lines) != 1 {
		t.Errorf("api key created lines: %v", lines)
	}
}

// TestAPIKeysOtherOrganisation: another organisation's key id in the URL is
// a 404 on the confirmation page and on the POST, and the key keeps
// working; no organisation lists another's keys.
func TestAPIKeysOtherOrganisation(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	other := a.signup("other@example.com", "Other")
	key := createAPIKey(t, owner.client, owner.org, "Website")
	keys, err := a.db.ListAPIKeys(context.Background(), owner.org)
	if err != nil {
		t.Fatal(err)
	}
	id := itoa(keys[0].ID)
	for _, u := range []string{path(other.org, "api-keys/"+id+"/revoke"), path(other.org, "api-keys/x/revoke"), path(other.org, "api-keys/99999999/revoke")} {
		res := other.get(u)
		wantStatus(t, res, http.StatusNotFound)
		wantNotContains(t, res, ">Website<", "Revoke the API key")
		wantStatus(t, other.post(u, nil), http.StatusNotFound)
	}
	// The owner of the key, through the other organisation's address.
	wantStatus(t, owner.post(path(other.org, "api-keys/"+id+"/revoke"), nil), http.StatusNotFound)
	if code := authenticate(t, a, key); code != "" {
		t.Fatalf("the key was revoked through another organisation: %s", code)
	}
	wantNotContains(t, other.get(path(other.org, "api-keys")), ">Website<", keys[0].Prefix)
}

// TestAPIKeysSender: a Sender has no API permission: 403 on the pages and
// on the POSTs, nothing made or revoked; the navigation does not offer
// them.
func TestAPIKeysSender(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	sender := a.join(a.invite(owner, owner.org, "sender@example.com", "sender"), "sender@example.com")
	key := createAPIKey(t, owner.client, owner.org, "Website")
	keys, _ := a.db.ListAPIKeys(context.Background(), owner.org)
	revoke := path(owner.org, "api-keys/"+itoa(keys[0].ID)+"/revoke")
	for _, u := range []string{path(owner.org, "api-keys"), revoke, path(owner.org, "api"), path(owner.org, "api/secret")} {
		res := sender.get(u)
		wantStatus(t, res, http.StatusForbidden)
		wantContains(t, res, "You don&#39;t have access")
	}
	wantStatus(t, sender.post(path(owner.org, "api-keys"), url.Values{"name": {"Mine"}}), http.StatusForbidden)
	wantStatus(t, sender.post(revoke, nil), http.StatusForbidden)
	wantStatus(t, sender.post(path(owner.org, "api"), url.Values{"report_url": {"https://example.com/r"}}), http.StatusForbidden)
	if keys, _ := a.db.ListAPIKeys(context.Background(), owner.org); len(keys) != 1 {
		t.Errorf("keys = %+v", keys)
	}
	if code := authenticate(t, a, key); code != "" {
		t.Errorf("a Sender revoked the key: %s", code)
	}
	res := sender.get(path(owner.org, ""))
	wantNotContains(t, res, `/api-keys"`, `/api"`)
	wantContains(t, owner.get(path(owner.org, "")), `/api-keys"`, `/api"`)
}
