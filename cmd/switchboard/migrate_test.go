package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"switchboard/mail/mailtest"
	"switchboard/store/storetest"
)

// visitor is a person at the panel over plain HTTP, with cookies and
// without following redirects.
type visitor struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newVisitor(t *testing.T, base string) *visitor {
	jar, _ := cookiejar.New(nil)
	return &visitor{t: t, base: base, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// get returns the status and body of the page at path.
func (v *visitor) get(path string) (int, string) {
	v.t.Helper()
	res, err := v.hc.Get(v.base + path)
	if err != nil {
		v.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// post sends form to path with the CSRF token of the page at from, and
// fails the test unless the answer is a 303; it returns where it leads.
func (v *visitor) post(from, path string, form url.Values) string {
	v.t.Helper()
	form.Set("_csrf", formToken(v.t, v.hc, v.base+from))
	res, err := v.hc.PostForm(v.base+path, form)
	if err != nil {
		v.t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		b, _ := io.ReadAll(res.Body)
		v.t.Fatalf("POST %s: %d, want 303\n%s", path, res.StatusCode, b)
	}
	return res.Header.Get("Location")
}

// startOn runs Main on port 0 with the database db (a file or a
// postgres:// URL) and the SMTP server smtp.
func startOn(t *testing.T, db string, smtp *mailtest.Server) *Main {
	t.Helper()
	m := NewMain()
	m.Stdout = &syncBuffer{}
	if err := m.ParseFlags([]string{"--addr", "127.0.0.1:0", "--db", db, "--smtp-url", smtp.URL(), "--mail-from", "panel@example.com"}, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(t.Context()); err != nil {
		m.Close()
		t.Fatalf("Run on %s: %v", db, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

var (
	tbodies   = regexp.MustCompile(`(?s)<tbody>.*?</tbody>`)
	csrfValue = regexp.MustCompile(`name="_csrf" value="[^"]*"`)
)

// entries returns the rows of the tables of the page at path (members and
// pending invitations, or the audit log), without the CSRF tokens of their
// forms, which belong to the session.
func (v *visitor) entries(path string) string {
	v.t.Helper()
	status, body := v.get(path)
	if status != http.StatusOK {
		v.t.Fatalf("GET %s: %d\n%s", path, status, body)
	}
	return csrfValue.ReplaceAllString(strings.Join(tbodies.FindAllString(body, -1), "\n"), `name="_csrf"`)
}

const (
	ownerPassword  = "the owner's long passphrase"
	memberPassword = "the member's long passphrase"
)

// TestMigrateToPostgres is the whole move: a panel on a SQLite file is used
// as people use it (sign-up, a custom role, an invitation accepted, a role
// changed, an invitation left pending), stopped, copied with the real
// binary's migrate-to, and started on PostgreSQL, where both people log in
// with their passwords and the members, the pending invitations and the
// audit log are the same.
func TestMigrateToPostgres(t *testing.T) {
	target := storetest.PostgresDSN(t)
	// A password in the URL, which the command must never print. The test
	// server trusts its clients, so any password logs in.
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	secret := "Secret-Pa55word-of-the-test"
	if pw, ok := u.User.Password(); ok {
		secret = pw
	} else {
		u.User = url.UserPassword(u.User.Username(), secret)
	}
	target = u.String()

	bin := buildBinary(t)
	dir := t.TempDir()
	smtp := mailtest.NewServer(t)

	// On SQLite.
	panel := startOn(t, filepath.Join(dir, "panel.db"), smtp)
	owner := newVisitor(t, panel.URL())
	orgPath := owner.post("/signup", "/signup", url.Values{"email": {"olivia@example.com"}, "password": {ownerPassword},
		"first_name": {"Olivia"}, "last_name": {"Owner"}, "org_name": {"Moving Co"}})
	if !regexp.MustCompile(`^/orgs/\d+$`).MatchString(orgPath) {
		t.Fatalf("sign-up led to %q", orgPath)
	}
	members := orgPath + "/members"
	owner.post(orgPath+"/roles", orgPath+"/roles", url.Values{"name": {"Billing clerks"}, "permissions": {"organisation"}})
	owner.post(members, members, url.Values{"email": {"ada@example.com"}, "role": {"sender"}})
	invitation := smtp.WaitForMessage(t, "ada@example.com", 30*time.Second)
	link := mailtest.FirstLink(invitation.Text, "http")
	lu, err := url.Parse(link)
	if err != nil || !strings.HasPrefix(lu.Path, "/invitations/") {
		t.Fatalf("invitation link %q", link)
	}
	member := newVisitor(t, panel.URL())
	member.post(lu.Path, lu.Path+"/signup", url.Values{"first_name": {"Ada"}, "last_name": {"Lovelace"}, "password": {memberPassword}})
	ada, _, err := panel.DB.FindProfileByEmail(t.Context(), "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	roles, err := panel.DB.CustomRoles(t.Context(), orgID(t, orgPath))
	if err != nil || len(roles) != 1 {
		t.Fatalf("custom roles %v, %v", roles, err)
	}
	adaPath := members + "/" + strconv.FormatInt(ada.ID, 10)
	owner.post(adaPath, adaPath+"/role", url.Values{"role": {roles[0].Key()}})
	owner.post(members, members, url.Values{"email": {"pending@example.com"}, "role": {"administrator"}})
	smtp.WaitForMessage(t, "pending@example.com", 30*time.Second)
	// Every email marked sent, so the pages do not change under the test.
	for deadline := time.Now().Add(30 * time.Second); ; {
		due, err := panel.DB.DueEmails(t.Context(), time.Now().Add(time.Hour), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(due) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d emails still queued", len(due))
		}
		time.Sleep(20 * time.Millisecond)
	}
	wantMembers, wantAudit := owner.entries(members), owner.entries(orgPath+"/audit")
	for _, want := range []string{"Ada Lovelace", "Billing clerks", "pending@example.com"} {
		if !strings.Contains(wantMembers, want) {
			t.Fatalf("the members page on SQLite lacks %q:\n%s", want, wantMembers)
		}
	}
	if err := panel.Close(); err != nil {
		t.Fatal(err)
	}

	// The move, with the real binary.
	run := func(args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("--db", "panel.db", "migrate-to", target)
	if err != nil {
		t.Fatalf("migrate-to: %v\n%s", err, out)
	}
	if strings.Contains(out, secret) {
		t.Fatalf("migrate-to printed the password:\n%s", out)
	}
	t.Logf("migrate-to printed:\n%s", out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var tables []string
	for _, l := range lines[:len(lines)-1] {
		if f := strings.Fields(l); len(f) == 3 && (f[2] == "rows" || f[1] == "1" && f[2] == "row") {
			tables = append(tables, f[0])
		} else {
			t.Errorf("migrate-to line %q is not: table N rows", l)
		}
	}
	for _, want := range []string{"profiles", "organisations", "roles", "members", "invitations", "outbox", "audit_log", "sessions"} {
		if !slices.Contains(tables, want) {
			t.Errorf("migrate-to did not list table %s:\n%s", want, out)
		}
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, "--db") || !strings.Contains(last, "panel.db") {
		t.Errorf("the last line does not say what to do next: %q", last)
	}
	// A second run finds the data there and refuses, in one line, without
	// the password either.
	out, err = run("--db", "panel.db", "migrate-to", target)
	if err == nil || !strings.Contains(out, "already holds data") || strings.Contains(out, secret) || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Fatalf("migrate-to into the filled database: %v\n%s", err, out)
	}

	// On PostgreSQL.
	moved := startOn(t, target, smtp)
	for _, p := range []struct{ email, password string }{{"olivia@example.com", ownerPassword}, {"ada@example.com", memberPassword}} {
		v := newVisitor(t, moved.URL())
		v.post("/login", "/login", url.Values{"email": {p.email}, "password": {p.password}})
		if p.email == "olivia@example.com" {
			owner = v
		} else {
			member = v
		}
	}
	if logs := moved.Stdout.(*syncBuffer).String(); strings.Contains(logs, secret) || !strings.Contains(logs, "switchboard is listening") {
		t.Errorf("the panel's log on PostgreSQL holds the password, or no start line:\n%s", logs)
	}
	if got := owner.entries(members); got != wantMembers {
		t.Errorf("the members page on PostgreSQL:\n%s\nwant, as on SQLite:\n%s", got, wantMembers)
	}
	if got := owner.entries(orgPath + "/audit"); got != wantAudit {
		t.Errorf("the audit log on PostgreSQL:\n%s\nwant, as on SQLite:\n%s", got, wantAudit)
	}
	if status, body := member.get(orgPath + "/settings"); status != http.StatusOK || !strings.Contains(body, "Moving Co") {
		t.Errorf("Ada, a billing clerk, on the settings page after the move: %d", status)
	}
	// New rows after the move get ids of their own.
	owner.post(members, members, url.Values{"email": {"after@example.com"}, "role": {"sender"}})
	smtp.WaitForMessage(t, "after@example.com", 30*time.Second)
}

// orgID is the id in an organisation's path, /orgs/ID.
func orgID(t *testing.T, orgPath string) int64 {
	t.Helper()
	id, err := strconv.ParseInt(strings.TrimPrefix(orgPath, "/orgs/"), 10, 64)
	if err != nil {
		t.Fatalf("organisation path %q: %v", orgPath, err)
	}
	return id
}

// TestParseFlagsMigrateTo: migrate-to takes a postgres:// URL and copies
// from a SQLite --db; anything else is one clear line.
func TestParseFlagsMigrateTo(t *testing.T) {
	noEnv := func(string) string { return "" }
	m := NewMain()
	m.Stdout = io.Discard
	if err := m.ParseFlags([]string{"--db", "panel.db", "migrate-to", "postgres://sb:pw@db.example.com/sb"}, noEnv); err != nil {
		t.Fatal(err)
	}
	if m.MigrateTo != "postgres://sb:pw@db.example.com/sb" || m.Config.DB != "panel.db" {
		t.Fatalf("MigrateTo %q, DB %q", m.MigrateTo, m.Config.DB)
	}
	for _, args := range [][]string{
		{"migrate-to"},
		{"migrate-to", "copy.db"},
		{"migrate-to", "postgres://a/b", "extra"},
		{"--db", "postgres://sb@db.example.com/sb", "migrate-to", "postgres://sb@other.example.com/sb"},
	} {
		m := NewMain()
		m.Stdout = io.Discard
		err := m.ParseFlags(args, noEnv)
		if err == nil || !strings.HasPrefix(err.Error(), "migrate-to:") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: %v, want one line starting migrate-to:", args, err)
		}
	}
}

// TestMigrateToMissingFile: migrate-to from a SQLite file that is not there
// says so and creates nothing, rather than copy a new empty database.
func TestMigrateToMissingFile(t *testing.T) {
	m := NewMain()
	m.Stdout = io.Discard
	path := filepath.Join(t.TempDir(), "missing.db")
	if err := m.ParseFlags([]string{"--db", path, "migrate-to", "postgres://sb@127.0.0.1:1/sb"}, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	err := m.Migrate(t.Context())
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Migrate from a missing file: %v", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("the missing database file was created")
	}
}
