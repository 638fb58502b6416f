package handlers_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"switchboard"
	"switchboard/handlers"
	"switchboard/store"
	"switchboard/store/storetest"
)

// app is the real server on httptest with a real database file.
type app struct {
	t testing.TB
	// dsn is what store.Open was given: a SQLite file or a postgres:// URL.
	dsn string
	db  *store.DB
	srv *handlers.Server
	ts  *httptest.Server
}

const testBaseURL = "http://panel.example.test"

func newApp(t testing.TB) *app {
	t.Helper()
	return newAppAt(t, testBaseURL)
}

// newAppAt is newApp with another --base-url.
func newAppAt(t testing.TB, baseURL string) *app {
	t.Helper()
	return newAppWith(t, baseURL, nil)
}

// newAppWith is newApp with another --base-url and trusted proxies.
func newAppWith(t testing.TB, baseURL string, proxies []*net.IPNet) *app {
	t.Helper()
	base, _ := url.Parse(baseURL)
	return newAppConfig(t, handlers.Config{BaseURL: base, TrustedProxies: proxies, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// raw opens a connection of the test's own to the app's database, to look
// behind the store's back.
func (a *app) raw() *storetest.Raw {
	a.t.Helper()
	return storetest.OpenRaw(a.t, a.dsn)
}

// TestMain runs every test of the package on SQLite, then on PostgreSQL
// when SWITCHBOARD_POSTGRES_URL names a server.
func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// newAppConfig is the real server with cfg, on a new database (see
// storetest.Open: a file, or a schema of its own on PostgreSQL), with
// its background jobs running until the test ends.
func newAppConfig(t testing.TB, cfg handlers.Config) *app {
	t.Helper()
	db, dsn := storetest.Open(t)
	return newAppOn(t, db, dsn, cfg)
}

// newAppOn is the real server with cfg on db, opened from dsn, which
// another app may share.
func newAppOn(t testing.TB, db *store.DB, dsn string, cfg handlers.Config) *app {
	t.Helper()
	srv := handlers.New(db, cfg)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	bg, stop := context.WithCancel(context.Background())
	srv.StartBackground(bg)
	// Runs before the database closes (cleanups run last first).
	t.Cleanup(func() { stop(); srv.WaitBackground() })
	return &app{t: t, dsn: dsn, db: db, srv: srv, ts: ts}
}

// client is one browser: its own cookie jar, no redirects followed.
type client struct {
	t   testing.TB
	app *app
	hc  *http.Client
	// header is added to every request.
	header http.Header
}

func (a *app) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: a.t, app: a, header: http.Header{}, hc: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}}
}

// response is an answer, read whole.
type response struct {
	status   int
	body     string
	header   http.Header
	location string
}

func (c *client) do(req *http.Request) *response {
	c.t.Helper()
	for k, v := range c.header {
		req.Header[k] = v
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &response{status: res.StatusCode, body: string(b), header: res.Header, location: res.Header.Get("Location")}
}

func (c *client) get(path string) *response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.app.ts.URL+path, nil)
	return c.do(req)
}

// csrf returns the CSRF token of the client's session, read from the
// hidden _csrf field of a page with a form, as a browser would send it.
func (c *client) csrf() string {
	c.t.Helper()
	res := c.get("/password/forgot")
	tok := csrfField(res.body)
	if tok == "" {
		c.t.Fatalf("no _csrf field in the page (%d)\n%s", res.status, res.body)
	}
	return tok
}

var csrfFieldValue = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// csrfField returns the value of the first hidden _csrf field in page.
func csrfField(page string) string {
	if m := csrfFieldValue.FindStringSubmatch(page); m != nil {
		return m[1]
	}
	return ""
}

// post sends a form with the client's CSRF token.
func (c *client) post(path string, form url.Values) *response {
	c.t.Helper()
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	if _, ok := f["_csrf"]; !ok {
		f.Set("_csrf", c.csrf())
	}
	return c.postRaw(path, f)
}

// postRaw sends a form as it is.
func (c *client) postRaw(path string, form url.Values) *response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.app.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

func (c *client) sessionCookie() *http.Cookie {
	u, _ := url.Parse(c.app.ts.URL)
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == "switchboard_session" {
			return ck
		}
	}
	return nil
}

// person is a signed-up profile with a logged-in client.
type person struct {
	*client
	email   string
	profile int64
	org     int64 // the organisation created at sign-up
}

const testPassword = "a long enough passphrase"

var orgURL = regexp.MustCompile(`^/orgs/(\d+)$`)

// signup signs a new person up through the form and returns them logged in.
func (a *app) signup(email, org string) *person {
	a.t.Helper()
	c := a.client()
	res := c.post("/signup", url.Values{"email": {email}, "password": {testPassword}, "first_name": {"First"}, "last_name": {strings.Split(email, "@")[0]}, "org_name": {org}})
	m := orgURL.FindStringSubmatch(res.location)
	if res.status != http.StatusSeeOther || m == nil {
		a.t.Fatalf("signup %s: %d %s\n%s", email, res.status, res.location, res.body)
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	p, _, err := a.db.FindProfileByEmail(context.Background(), email)
	if err != nil {
		a.t.Fatal(err)
	}
	return &person{client: c, email: email, profile: p.ID, org: id}
}

// login logs email in on a new client.
func (a *app) login(email, password string) *client {
	a.t.Helper()
	c := a.client()
	res := c.post("/login", url.Values{"email": {email}, "password": {password}})
	if res.status != http.StatusSeeOther {
		a.t.Fatalf("login %s: %d\n%s", email, res.status, res.body)
	}
	return c
}

// outboxLink returns the newest link starting with prefix in an email to
// the address, read from the real outbox.
func (a *app) outboxLink(to, prefix string) string {
	a.t.Helper()
	a.srv.WaitBackground() // reset emails are queued by a background job
	emails, err := a.db.DueEmails(context.Background(), time.Now().Add(time.Hour), 1000)
	if err != nil {
		a.t.Fatal(err)
	}
	link := ""
	re := regexp.MustCompile(regexp.QuoteMeta(testBaseURL+prefix) + `[A-Za-z0-9_\-]+`)
	for _, e := range emails {
		if e.To == to {
			if m := re.FindString(e.Text); m != "" {
				link = m
			}
		}
	}
	if link == "" {
		a.t.Fatalf("no email to %s with a link %s", to, prefix)
	}
	return strings.TrimPrefix(link, testBaseURL)
}

// invite makes the inviter invite email with role (a role key) and returns
// the link's path.
func (a *app) invite(inviter *person, org int64, email, role string) string {
	a.t.Helper()
	res := inviter.post(path(org, "invitations"), url.Values{"email": {email}, "role": {role}})
	if res.status != http.StatusSeeOther {
		a.t.Fatalf("invite %s: %d\n%s", email, res.status, res.body)
	}
	return a.outboxLink(email, "/invitations/")
}

// join signs email up through an invitation link and returns them.
func (a *app) join(link, email string) *person {
	a.t.Helper()
	c := a.client()
	res := c.post(link+"/signup", url.Values{"first_name": {"Invited"}, "last_name": {strings.Split(email, "@")[0]}, "password": {testPassword}})
	m := orgURL.FindStringSubmatch(res.location)
	if res.status != http.StatusSeeOther || m == nil {
		a.t.Fatalf("join %s: %d %s\n%s", email, res.status, res.location, res.body)
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	p, _, err := a.db.FindProfileByEmail(context.Background(), email)
	if err != nil {
		a.t.Fatal(err)
	}
	return &person{client: c, email: email, profile: p.ID, org: id}
}

func path(org int64, rest string) string {
	p := "/orgs/" + strconv.FormatInt(org, 10)
	if rest != "" {
		p += "/" + rest
	}
	return p
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// wantStatus fails the test unless res has status.
func wantStatus(t testing.TB, res *response, status int) {
	t.Helper()
	if res.status != status {
		body := res.body
		if len(body) > 3000 {
			body = body[:3000]
		}
		t.Fatalf("status %d, want %d (location %q)\n%s", res.status, status, res.location, body)
	}
}

// wantContains fails the test unless the body holds every string.
func wantContains(t testing.TB, res *response, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(res.body, p) {
			t.Fatalf("body lacks %q\n%s", p, res.body)
		}
	}
}

func wantNotContains(t testing.TB, res *response, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if strings.Contains(res.body, p) {
			t.Fatalf("body holds %q", p)
		}
	}
}

func membership(t testing.TB, db *store.DB, org, profile int64) *switchboard.Membership {
	t.Helper()
	m, err := db.FindMembership(context.Background(), org, profile)
	if err != nil {
		return nil
	}
	return m
}

func parseInt(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
