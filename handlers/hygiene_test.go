package handlers_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"switchboard/handlers"
	"switchboard/store/storetest"
)

// logBuffer collects what the server logs; requests run on several
// goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// lines returns the JSON log lines whose msg is msg.
func (l *logBuffer) lines(t testing.TB, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// newLoggedApp is newApp with the server's log kept, as JSON lines, and
// every level down to debug.
func newLoggedApp(t testing.TB) (*app, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return newAppConfig(t, handlers.Config{BaseURL: mustURL(testBaseURL), Logger: logger}), logs
}

// TestNoTokenInLogs drives every shape of the token routes, with real
// invitation and reset tokens, through every method, and looks for the
// tokens in the whole log.
func TestNoTokenInLogs(t *testing.T) {
	a, logs := newLoggedApp(t)
	owner := a.signup("owner@example.com", "Acme")
	invitation := a.invite(owner, owner.org, "new@example.com", "sender")
	wantStatus(t, a.client().post("/password/forgot", url.Values{"email": {"owner@example.com"}}), http.StatusOK)
	reset := a.outboxLink("owner@example.com", "/password/reset/")
	tokens := []string{
		strings.TrimPrefix(invitation, "/invitations/"),
		strings.TrimPrefix(reset, "/password/reset/"),
	}

	var shapes []string
	for _, link := range []string{invitation, reset} {
		i := strings.LastIndex(link, "/")
		prefix, token := link[:i], link[i+1:]
		shapes = append(shapes,
			link,
			link+"/",
			link+"/signup",
			link+"/signup/",
			link+"/extra/segments",
			link+"//",
			link+"%2F",
			link+"%2Fsignup",
			prefix+"%2F"+token,
			prefix+"%2f"+token+"/",
			prefix+"%252F"+token,
			prefix+"/"+token[:10]+"%2F"+token[10:],
			strings.ToUpper(prefix)+"/"+token,
			"/"+prefix+"/"+token,
			prefix+"/./"+token,
			prefix+"%5C"+token,
			"/mistyped"+link,
			link+"?x=1",
		)
	}
	methods := []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}
	stranger := a.client()
	for _, shape := range shapes {
		for _, method := range methods {
			for _, c := range []*client{stranger, owner.client} {
				req, err := http.NewRequest(method, a.ts.URL+shape, strings.NewReader("_csrf=wrong&password=x"))
				if err != nil {
					t.Fatalf("%s %s: %v", method, shape, err)
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				c.do(req)
			}
		}
	}
	// A form posted the right way, with its token.
	res := stranger.post(invitation+"/signup", url.Values{"first_name": {"New"}, "last_name": {"Member"}, "password": {"short"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)

	log := logs.String()
	leaks := 0
	for _, line := range strings.Split(log, "\n") {
		for _, token := range tokens {
			if strings.Contains(line, token) {
				if leaks++; leaks <= 3 {
					t.Errorf("a token reached the log: %s", line)
				}
			}
		}
	}
	if leaks > 0 {
		t.Errorf("%d log lines hold a token", leaks)
	}
	for _, want := range []string{`"path":"/invitations/:token"`, `"path":"/password/reset/:token"`, `"path":"/invitations/:token/signup"`, `"msg":"csrf refused"`, `"msg":"refused"`} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %s", want)
		}
	}
	// The session and CSRF cookies never reach it either.
	for _, ck := range []string{owner.sessionCookie().Value, owner.csrf()} {
		if strings.Contains(log, ck) {
			t.Errorf("a cookie value reached the log")
		}
	}
}

// TestOversizedBody sends bodies over the limit, with and without a
// Content-Length, logged in or not: 413 with the panel's page, no panic,
// and the access log tells 413.
func TestOversizedBody(t *testing.T) {
	a, logs := newLoggedApp(t)
	owner := a.signup("owner@example.com", "Acme")
	big := "_csrf=x&email=" + strings.Repeat("a", 2_000_000)

	for _, tc := range []struct {
		name    string
		c       *client
		path    string
		chunked bool
	}{
		{"Content-Length, visitor", a.client(), "/login", false},
		{"Content-Length, logged in", owner.client, path(owner.org, "settings"), false},
		{"chunked, visitor", a.client(), "/signup", true},
		{"chunked, logged in", owner.client, path(owner.org, "settings"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(logs.lines(t, "request"))
			var body io.Reader = strings.NewReader(big)
			if tc.chunked {
				// A reader of unknown length is sent chunked.
				body = io.MultiReader(body)
			}
			req, _ := http.NewRequest(http.MethodPost, a.ts.URL+tc.path, body)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.chunked != (req.ContentLength <= 0) {
				t.Fatalf("Content-Length %d, chunked %v", req.ContentLength, tc.chunked)
			}
			res := tc.c.do(req)
			wantStatus(t, res, http.StatusRequestEntityTooLarge)
			wantContains(t, res, "<h1>Too large</h1>", "larger than Switchboard accepts")
			if csp := res.header.Get("Content-Security-Policy"); !strings.Contains(csp, "nonce-") {
				t.Errorf("the 413 page has CSP %q", csp)
			}
			lines := logs.lines(t, "request")
			if len(lines) != before+1 {
				t.Fatalf("%d access lines for one request", len(lines)-before)
			}
			if last := lines[len(lines)-1]; last["status"] != float64(http.StatusRequestEntityTooLarge) || last["path"] != tc.path {
				t.Errorf("access line %v, want status 413 for %s", last, tc.path)
			}
		})
	}
	if log := logs.String(); strings.Contains(log, "panic") || strings.Contains(log, "goroutine") || strings.Contains(log, "internal error") {
		t.Errorf("the log shows a panic or an internal error:\n%s", log)
	}

	// A body under the limit sent chunked is read whole: logging in works.
	c := a.client()
	form := url.Values{"_csrf": {c.csrf()}, "email": {"owner@example.com"}, "password": {testPassword}}
	req, _ := http.NewRequest(http.MethodPost, a.ts.URL+"/login", io.MultiReader(strings.NewReader(form.Encode())))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	wantStatus(t, c.do(req), http.StatusSeeOther)
	wantStatus(t, c.get("/account"), http.StatusOK)
}

// TestStaticServesFilesOnly: no folder listing under /static/.
func TestStaticServesFilesOnly(t *testing.T) {
	a := newApp(t)
	c := a.client()
	for _, p := range []string{"/static/", "/static/anything/", "/static/.", "/static//", "/static/nothing.css"} {
		res := c.get(p)
		wantStatus(t, res, http.StatusNotFound)
		wantContains(t, res, "<h1>Page not found</h1>")
		wantNotContains(t, res, `href="app.css"`, `href="favicon.svg"`)
	}
	res := c.get("/static/app.css")
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, ":root")
}

// TestPermissionsPolicyAndScriptSrc: browser features denied, and scripts
// only by nonce.
func TestPermissionsPolicyAndScriptSrc(t *testing.T) {
	a := newApp(t)
	for _, p := range []string{"/login", "/nowhere", "/static/app.css"} {
		res := a.client().get(p)
		pp := res.header.Get("Permissions-Policy")
		for _, feature := range []string{"camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"} {
			if !strings.Contains(pp, feature) {
				t.Errorf("%s: Permissions-Policy %q lacks %s", p, pp, feature)
			}
		}
		var scriptSrc string
		for _, d := range strings.Split(res.header.Get("Content-Security-Policy"), ";") {
			if d = strings.TrimSpace(d); strings.HasPrefix(d, "script-src ") {
				scriptSrc = d
			}
		}
		if !strings.HasPrefix(scriptSrc, "script-src 'nonce-") || strings.Contains(scriptSrc, "'self'") || strings.Count(scriptSrc, " ") != 1 {
			t.Errorf("%s: %q, want nonces only", p, scriptSrc)
		}
	}
}

// TestSessionTokensStoredHashed: the sessions table holds no cookie value,
// and the session still works.
func TestSessionTokensStoredHashed(t *testing.T) {
	a := newApp(t)
	a.signup("owner@example.com", "Acme")
	c := a.login("owner@example.com", testPassword)
	cookie := c.sessionCookie().Value
	wantStatus(t, c.get("/account"), http.StatusOK)

	raw := a.raw()
	rows, err := raw.QueryContext(context.Background(), `SELECT token, data FROM sessions`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var token string
		var data []byte
		if err := rows.Scan(&token, &data); err != nil {
			t.Fatal(err)
		}
		n++
		if strings.Contains(token, cookie) || bytes.Contains(data, []byte(cookie)) {
			t.Errorf("the sessions table holds the cookie value %q", cookie)
		}
	}
	if n == 0 {
		t.Fatal("no session rows")
	}
	// The cookie still logs in, and logging out still ends it.
	wantStatus(t, c.get("/account"), http.StatusOK)
	wantStatus(t, c.post("/logout", nil), http.StatusSeeOther)
	replay := a.client()
	replay.hc.Jar.SetCookies(mustURL(a.ts.URL), []*http.Cookie{{Name: "switchboard_session", Value: cookie}})
	if res := replay.get("/account"); res.status == http.StatusOK {
		t.Error("the cookie still works after logout")
	}
}

// TestHealthAfterDamage: once the store met a damaged page, /healthz
// answers 503 and keeps answering it, even though SELECT 1 still works.
func TestHealthAfterDamage(t *testing.T) {
	storetest.SQLiteOnly(t)
	a, _ := newLoggedApp(t)
	owner := a.signup("owner@example.com", "Acme")
	wantStatus(t, a.client().get("/healthz"), http.StatusOK)

	// Fill the audit log over many pages behind the store's back, move
	// it all into the file, and overwrite its newest pages.
	file := a.dsn
	raw, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var pagesBefore, pageSize int64
	raw.QueryRow(`PRAGMA page_count`).Scan(&pagesBefore)
	raw.QueryRow(`PRAGMA page_size`).Scan(&pageSize)
	if _, err := raw.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
		INSERT INTO audit_log (org_id, actor_name, action, detail, created_at) SELECT ?, 'Filler', 'settings.changed', printf('%.80c', 'x'), 0 FROM n`, owner.org); err != nil {
		t.Fatal(err)
	}
	var busy, logged, moved int
	if err := raw.QueryRow(`PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logged, &moved); err != nil || busy != 0 {
		t.Fatalf("checkpoint: busy %d, %v", busy, err)
	}
	var pages int64
	raw.QueryRow(`PRAGMA page_count`).Scan(&pages)
	raw.Close()
	if pages-pagesBefore < 20 {
		t.Fatalf("the audit log grew by %d pages only", pages-pagesBefore)
	}
	f, err := os.OpenFile(file, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	for page := pagesBefore + 1; page <= pages; page++ {
		if _, err := f.WriteAt(bytes.Repeat([]byte{0xff}, int(pageSize)), (page-1)*pageSize); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()

	res := owner.get(path(owner.org, "audit"))
	wantStatus(t, res, http.StatusInternalServerError)
	for range 2 {
		res := a.client().get("/healthz")
		wantStatus(t, res, http.StatusServiceUnavailable)
	}
}

var styleAttr = regexp.MustCompile(`(?i)<[a-z][^>]*\sstyle\s*=|<style[\s>]`)

// TestNoInlineStyles renders every GET page it can reach, as the owner of
// an organisation with members, invitations and roles, as a logged-out
// visitor, and the error pages, and fails on any style attribute or
// <style> element: the CSP (style-src 'self') blocks them.
func TestNoInlineStyles(t *testing.T) {
	tm := newTeam(t)
	a, owner, org := tm.a, tm.owner, tm.org
	wantStatus(t, owner.post(path(org, "roles"), url.Values{"name": {"Viewer"}, "permissions": {"history"}}), http.StatusSeeOther)
	roles, _ := a.db.ListRoles(context.Background(), org)
	link := a.invite(owner, org, "pending@example.com", "sender")
	inv := pendingID(t, a, org, "pending@example.com")
	f := orgFixture{org: org, target: tm.sender.profile, invitation: inv, role: roles[0].ID}

	pages := map[string]*client{}
	for _, r := range a.srv.Routes() {
		method, route, _ := strings.Cut(r, " ")
		if method != http.MethodGet || strings.HasPrefix(route, "/static/") || route == "/healthz" {
			continue
		}
		u := fillPath(route, f)
		u = strings.NewReplacer(":token", strings.TrimPrefix(link, "/invitations/")).Replace(u)
		if strings.HasPrefix(route, "/password/reset/") {
			u = "/password/reset/not-a-token" // its error page
		}
		pages[u] = owner.client
		pages[u+"?as=visitor"] = a.client()
	}
	// Forms with mistakes, refusals and missing pages.
	pages["/nowhere"] = owner.client
	pages["/nowhere?as=visitor"] = a.client()
	pages[path(org, "members/"+itoa(tm.owner.profile)+"/revoke")] = owner.client // 403
	pages[path(org, "settings")+"?as=sender"] = tm.sender.client                 // 403
	if len(pages) < 30 {
		t.Fatalf("only %d pages", len(pages))
	}
	posts := map[string]*response{
		"invite with a mistake":      owner.post(path(org, "members"), url.Values{"email": {"x"}}),
		"role change with a mistake": owner.post(path(org, "members/"+itoa(tm.sender.profile)+"/role"), url.Values{"role": {"x"}}),
		"login with a mistake":       a.client().post("/login", url.Values{"email": {"x"}}),
		"sign-up with a mistake":     a.client().post("/signup", url.Values{"email": {"x"}}),
		"sender name with a mistake": owner.post(path(org, "sender-names"), url.Values{"name": {"x"}}),
		"history with a mistake":     owner.get(path(org, "history") + "?from_date=x"),
		"statistics with a mistake":  owner.get(path(org, "subaccounts/statistics.csv") + "?from=x"),
	}
	for u, c := range pages {
		posts["GET "+u] = c.get(u)
	}
	for name, res := range posts {
		if res.status == http.StatusSeeOther || strings.HasPrefix(res.header.Get("Content-Type"), "text/csv") {
			continue // a redirect, or a download (the history's export)
		}
		if !strings.Contains(res.body, "</html>") {
			t.Errorf("%s: %d is not a page", name, res.status)
			continue
		}
		if m := styleAttr.FindString(res.body); m != "" {
			t.Errorf("%s (%d) has an inline style: %s", name, res.status, m)
		}
	}
}
