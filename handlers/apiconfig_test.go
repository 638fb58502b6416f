package handlers_test

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"switchboard"
	"switchboard/handlers"
	"switchboard/store"
	"switchboard/store/storetest"
)

// wakeCounter counts how often the server wakes the report worker (which
// is not in this package: package reports).
type wakeCounter struct{ n atomic.Int64 }

func (w *wakeCounter) Notify() { w.n.Add(1) }

// newAPIApp is the real server, with http:// report URLs to this machine
// allowed or not (--report-allow-loopback), and a counter for the report
// worker's wake-ups.
func newAPIApp(t *testing.T, allowLoopback bool) (*app, *wakeCounter) {
	t.Helper()
	wake := &wakeCounter{}
	return newAppConfig(t, handlers.Config{BaseURL: mustURL(testBaseURL), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		ReportAllowLoopback: allowLoopback, Reports: wake}), wake
}

// secretField finds the readonly input with the signing secret.
var secretField = regexp.MustCompile(`<input type="text" id="report_secret" value="([^"]*)" readonly`)

func TestAPIPage(t *testing.T) {
	a, wake := newAPIApp(t, false)
	owner := a.signup("owner@example.com", "Acme")
	res := owner.get(path(owner.org, "api"))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "<h1>API</h1>",
		`<label for="report_url">Delivery-report URL</label>`, `name="report_url"`,
		`<label for="auto_replace">Auto-replace for API messages</label>`, `<option value="" selected>As on the Auto-replace page (currently Off)</option>`,
		`<option value="full">Full</option>`, ">Save API configuration</button>",
		"<code>"+testBaseURL+"/api/v1</code>", `href="`+testBaseURL+`/api/v1/openapi.json"`, `href="`+path(owner.org, "api-keys")+`"`)
	wantNotContains(t, res, "Signing secret", "Generate a new secret")

	// The page names the Auto-replace page's mode as it is now.
	wantStatus(t, owner.post(path(owner.org, "auto-replace"), url.Values{"mode": {"full"}}), http.StatusSeeOther)
	wantContains(t, owner.get(path(owner.org, "api")), "As on the Auto-replace page (currently Full)")

	// Saved: a flash, the worker woken, the secret made and shown with
	// what a report looks like.
	res = owner.post(path(owner.org, "api"), url.Values{"report_url": {" https://hooks.example.com/sms?via=switchboard "}, "auto_replace": {"on"}})
	wantStatus(t, res, http.StatusSeeOther)
	if res.location != path(owner.org, "api") {
		t.Errorf("sent to %q", res.location)
	}
	if wake.n.Load() != 1 {
		t.Errorf("the report worker was woken %d times", wake.n.Load())
	}
	cfg, err := a.db.APIConfig(context.Background(), owner.org)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ReportURL != "https://hooks.example.com/sms?via=switchboard" || cfg.AutoReplace != switchboard.AutoReplaceOn || !strings.HasPrefix(cfg.ReportSecret, "sbr_") {
		t.Fatalf("saved %+v", cfg)
	}
	res = owner.get(path(owner.org, "api"))
	wantContains(t, res, "The API configuration was saved. Delivery reports go to https://hooks.example.com/sms?via=switchboard",
		`value="https://hooks.example.com/sms?via=switchboard"`, `<option value="on" selected>On</option>`,
		`<label for="report_secret">Signing secret</label>`, "X-Switchboard-Signature: sha256=", "HMAC-SHA256", "event_id", "status_at",
		`href="`+path(owner.org, "api/secret")+`" data-confirm>Generate a new secret</a>`)
	if m := secretField.FindStringSubmatch(res.body); m == nil || html.UnescapeString(m[1]) != cfg.ReportSecret {
		t.Fatalf("the page shows the secret %v, want %q", m, cfg.ReportSecret)
	}
	wantContains(t, owner.get(path(owner.org, "audit")), "API configuration changed", "Delivery-report URL set to https://hooks.example.com/sms?…; auto-replace for API messages On; signing secret made")

	// Saved again unchanged: no new audit line, the same secret.
	wantStatus(t, owner.post(path(owner.org, "api"), url.Values{"report_url": {cfg.ReportURL}, "auto_replace": {"on"}}), http.StatusSeeOther)
	again, _ := a.db.APIConfig(context.Background(), owner.org)
	if again.ReportSecret != cfg.ReportSecret || strings.Count(owner.get(path(owner.org, "audit")).body, "API configuration changed") != 1 {
		t.Error("an unchanged save changed the secret or was audited")
	}

	// A new secret, through its confirmation page.
	res = owner.get(path(owner.org, "api/secret"))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "Generate a new signing secret?", `<button type="submit" class="danger">Generate a new secret</button>`, "stops working at once")
	if now, _ := a.db.APIConfig(context.Background(), owner.org); now.ReportSecret != cfg.ReportSecret {
		t.Fatal("the confirmation page changed the secret")
	}
	res = owner.post(path(owner.org, "api/secret"), nil)
	wantStatus(t, res, http.StatusSeeOther)
	rotated, _ := a.db.APIConfig(context.Background(), owner.org)
	if rotated.ReportSecret == cfg.ReportSecret || !strings.HasPrefix(rotated.ReportSecret, "sbr_") {
		t.Fatalf("rotated %q from %q", rotated.ReportSecret, cfg.ReportSecret)
	}
	res = owner.get(path(owner.org, "api"))
	wantContains(t, res, "A new signing secret was generated.", `value="`+rotated.ReportSecret+`"`)
	wantNotContains(t, res, cfg.ReportSecret)
	wantContains(t, owner.get(path(owner.org, "audit")), "API configuration: New signing secret generated")
	if wake.n.Load() != 3 {
		t.Errorf("the report worker was woken %d times, want 3 (two saves, one secret)", wake.n.Load())
	}
	// The secret is never in an audit line.
	wantNotContains(t, owner.get(path(owner.org, "audit")), cfg.ReportSecret, rotated.ReportSecret)
}

// TestAPIConfigRefused: each wrong URL is refused beside its field with
// what was typed kept, on an instance with and without
// --report-allow-loopback; nothing is saved.
func TestAPIConfigRefused(t *testing.T) {
	strict, _ := newAPIApp(t, false)
	loose, _ := newAPIApp(t, true)
	long := "https://example.com/" + strings.Repeat("a", switchboard.MaxReportURL)
	cases := []struct {
		name     string
		loopback bool
		url      string
		mode     string
		want     string // "" when it is saved
		field    string
	}{
		{"http to a public host", false, "http://example.com/reports", "", "Reports go over https://, so that nobody on the way can read them.", "report_url"},
		{"http to 127.0.0.1 without the flag", false, "http://127.0.0.1:8080/reports", "", "Reports go over https://, so that nobody on the way can read them.", "report_url"},
		{"http to localhost without the flag", false, "http://localhost/reports", "", "Reports go over https://", "report_url"},
		{"http to 127.0.0.1 with the flag", true, "http://127.0.0.1:8080/reports", "", "", ""},
		{"http to ::1 with the flag", true, "http://[::1]:8080/reports", "", "", ""},
		{"http to a public host with the flag", true, "http://example.com/reports", "", "http:// is allowed only to this machine", "report_url"},
		{"ftp", false, "ftp://example.com/reports", "", "Enter the https:// address where the reports should be POSTed", "report_url"},
		{"user and password", false, "https://user:pass@example.com/reports", "", "Leave the user name and password out of the address", "report_url"},
		{"too long", false, long, "", "Enter the https:// address where the reports should be POSTed", "report_url"},
		{"no host", false, "https:///reports", "", "Enter the https:// address", "report_url"},
		{"not a URL", false, "example.com/reports", "", "Enter the https:// address", "report_url"},
		{"a fragment", false, "https://example.com/reports#x", "", "Leave the #fragment out", "report_url"},
		{"an unknown mode", false, "", "sometimes", "Choose Off, On, Full, or the Auto-replace page&#39;s mode.", "auto_replace"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := strict
			if tc.loopback {
				a = loose
			}
			owner := a.signup("case"+itoa(int64(i))+"@example.com", "Acme")
			res := owner.post(path(owner.org, "api"), url.Values{"report_url": {tc.url}, "auto_replace": {tc.mode}})
			cfg, err := a.db.APIConfig(context.Background(), owner.org)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				wantStatus(t, res, http.StatusSeeOther)
				if cfg.ReportURL != tc.url || cfg.ReportSecret == "" {
					t.Errorf("saved %+v", cfg)
				}
				return
			}
			wantStatus(t, res, http.StatusUnprocessableEntity)
			wantContains(t, res, `aria-invalid="true"`)
			if !regexp.MustCompile(`id="` + tc.field + `-error">[^<]*` + regexp.QuoteMeta(tc.want)).MatchString(res.body) {
				t.Errorf("the error is not beside %s\n%s", tc.field, res.body)
			}
			if tc.url != "" {
				wantContains(t, res, `value="`+html.EscapeString(tc.url)+`"`)
			}
			if cfg.ReportURL != "" || cfg.ReportSecret != "" || cfg.AutoReplace != "" {
				t.Errorf("a refused form saved %+v", cfg)
			}
		})
	}
}

// TestAPIConfigClearedDropsReports: clearing the URL deletes the
// organisation's reports still waiting, not another organisation's.
func TestAPIConfigClearedDropsReports(t *testing.T) {
	a, _ := newAPIApp(t, false)
	owner := a.signup("owner@example.com", "Acme")
	other := a.signup("other@example.com", "Other")
	for _, p := range []*person{owner, other} {
		wantStatus(t, p.post(path(p.org, "api"), url.Values{"report_url": {"https://example.com/reports"}}), http.StatusSeeOther)
	}
	raw := a.raw()
	for _, org := range []int64{owner.org, other.org} {
		if _, err := raw.ExecContext(context.Background(), `INSERT INTO api_reports (org_id, message_id, status, created_at, next_attempt_at) VALUES (?, 1, 'delivered', 1, 1)`, org); err != nil {
			t.Fatal(err)
		}
	}
	waiting := func(org int64) int {
		var n int
		if err := raw.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM api_reports WHERE org_id = ?`, org).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	wantStatus(t, owner.post(path(owner.org, "api"), url.Values{"report_url": {""}}), http.StatusSeeOther)
	if waiting(owner.org) != 0 || waiting(other.org) != 1 {
		t.Errorf("waiting after clearing: %d of the organisation, %d of the other", waiting(owner.org), waiting(other.org))
	}
	res := owner.get(path(owner.org, "api"))
	wantContains(t, res, "No delivery reports are sent.")
	wantNotContains(t, res, "Signing secret")
	wantContains(t, owner.get(path(owner.org, "audit")), "Delivery-report URL removed")

	// Without a URL, there is no secret to renew.
	wantContains(t, owner.get(path(owner.org, "api/secret")), "There is no delivery-report URL yet.")
	wantStatus(t, owner.post(path(owner.org, "api/secret"), nil), http.StatusUnprocessableEntity)
}

// TestAPIExamples: the examples use the organisation's own values (its
// base URL, first sender, a number of its country, its newest message and
// a contact of it) and never another organisation's, nor a real key.
func TestAPIExamples(t *testing.T) {
	a := newApp(t)
	ctx := context.Background()
	owner := a.signup("owner@example.com", "Acme")
	other := a.signup("other@example.com", "Other")
	raw := a.raw()
	if _, err := raw.ExecContext(ctx, `UPDATE organisations SET country = 'FI' WHERE id = ?`, owner.org); err != nil {
		t.Fatal(err)
	}

	// Nothing yet: no message or contact examples by id.
	res := owner.get(path(owner.org, "api"))
	body := html.UnescapeString(res.body)
	for _, want := range []string{
		"curl " + testBaseURL + "/api/v1/balance \\\n  -H \"Authorization: Bearer $SWITCHBOARD_API_KEY\"",
		"curl " + testBaseURL + "/api/v1/messages \\\n  -H \"Authorization: Bearer $SWITCHBOARD_API_KEY\"",
		`"from":"Switchboard","to":"+358`,
		"curl " + testBaseURL + "/api/v1/contacts \\\n",
	} {
		if !strings.Contains(body, want) {
			t.Fatalf("the page lacks %q\n%s", want, body)
		}
	}
	if strings.Contains(body, "/api/v1/messages/") || strings.Contains(body, "/api/v1/contacts/") {
		t.Errorf("examples by id without a message or contact")
	}
	if regexp.MustCompile(`sb_live_[A-Za-z0-9_-]{8}`).MatchString(body) {
		t.Errorf("the page holds a key")
	}

	// Each organisation's own message and contact; the other's come later
	// (higher ids), so the newest of the whole database is never the one
	// shown to the first.
	storetest.SeedMessages(t, a.dsn, owner.org, 1, time.Now().Add(-time.Hour))
	storetest.SeedMessages(t, a.dsn, other.org, 1, time.Now().Add(-time.Hour))
	newest := func(org int64) int64 {
		list, _, err := a.db.ListMessages(ctx, org, store.MessageFilter{}, 0, 1)
		if err != nil || len(list) != 1 {
			t.Fatalf("messages %+v, %v", list, err)
		}
		return list[0].ID
	}
	ownMsg, otherMsg := newest(owner.org), newest(other.org)
	ownContact := &switchboard.Contact{OrgID: owner.org, Phone: "+358401234567", FirstName: "Aino"}
	otherContact := &switchboard.Contact{OrgID: other.org, Phone: "+37255500009", FirstName: "Mari"}
	for _, c := range []*switchboard.Contact{ownContact, otherContact} {
		if err := a.db.CreateContact(ctx, switchboard.Actor{}, c, nil); err != nil {
			t.Fatal(err)
		}
	}
	body = html.UnescapeString(owner.get(path(owner.org, "api")).body)
	for _, want := range []string{"/api/v1/messages/" + itoa(ownMsg) + " \\\n", "/api/v1/contacts/" + itoa(ownContact.ID) + " \\\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	for _, notWant := range []string{"/api/v1/messages/" + itoa(otherMsg) + " ", "/api/v1/contacts/" + itoa(otherContact.ID) + " "} {
		if strings.Contains(body, notWant) {
			t.Errorf("the page shows the other organisation's %q", notWant)
		}
	}
	body = html.UnescapeString(other.get(path(other.org, "api")).body)
	if !strings.Contains(body, "/api/v1/messages/"+itoa(otherMsg)+" ") || strings.Contains(body, "/api/v1/contacts/"+itoa(ownContact.ID)+" ") ||
		!strings.Contains(body, `"to":"+37255566677"`) {
		t.Errorf("the other organisation's page:\n%s", body)
	}
}
