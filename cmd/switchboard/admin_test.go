package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"switchboard"
	"switchboard/store"
	"switchboard/store/storetest"
)

// TestAdminCommands runs every "switchboard admin …" command against a
// database the real binary serves at the same time, on each engine: the
// printed links really work through the running panel, the owner it sets
// really owns the organisation in the panel, and every failure is one
// clear line.
func TestAdminCommands(t *testing.T) {
	bin := buildBinary(t)
	t.Run("SQLite", func(t *testing.T) {
		dir := t.TempDir()
		testAdminCommands(t, bin, dir, filepath.Join(dir, "panel.db"), "sqlite", "file:"+filepath.Join(dir, "panel.db")+"?_pragma=busy_timeout(10000)")
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		dsn := storetest.PostgresDSN(t)
		testAdminCommands(t, bin, t.TempDir(), dsn, "pgx", dsn)
	})
}

// panelClient is one person's browser, without JavaScript, on the running
// binary.
type panelClient struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newPanelClient(t *testing.T, base string) *panelClient {
	jar, _ := cookiejar.New(nil)
	return &panelClient{t: t, base: base, hc: &http.Client{Jar: jar}}
}

// get opens address (a path, or a whole URL) and returns the final status,
// path and body.
func (c *panelClient) get(address string) (int, string, string) {
	c.t.Helper()
	if strings.HasPrefix(address, "/") {
		address = c.base + address
	}
	return c.done(c.hc.Get(address))
}

// post sends the form at address with the CSRF token of its page.
func (c *panelClient) post(address string, values url.Values) (int, string, string) {
	c.t.Helper()
	if strings.HasPrefix(address, "/") {
		address = c.base + address
	}
	values.Set("_csrf", formToken(c.t, c.hc, address))
	return c.done(c.hc.PostForm(address, values))
}

func (c *panelClient) done(res *http.Response, err error) (int, string, string) {
	c.t.Helper()
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Request.URL.Path, string(b)
}

// login logs in and reports whether a session exists afterwards (the
// account page opens instead of the login page).
func (c *panelClient) login(email, password string) bool {
	c.t.Helper()
	if status, _, _ := c.post("/login", url.Values{"email": {email}, "password": {password}}); status >= 500 {
		c.t.Fatalf("logging in as %s answers %d", email, status)
	}
	return c.loggedIn()
}

func (c *panelClient) loggedIn() bool {
	c.t.Helper()
	status, path, _ := c.get("/account")
	return status == 200 && path == "/account"
}

// linkOf finds the one URL at the end of a command's line.
var linkOf = regexp.MustCompile(`: (http://\S+/password/reset/[A-Za-z0-9_-]{43})\n$`)

func testAdminCommands(t *testing.T, bin, dir, dsn, driver, rawDSN string) {
	ctx := context.Background()
	_, addr, lines := startBinary(t, bin, dir, "--db", dsn)
	go func() {
		for lines.Scan() {
		}
	}()
	base := "http://" + addr
	// The operator's commands, as main runs them, with the panel's address
	// for links.
	admin := func(args ...string) (string, error) {
		t.Helper()
		return runCommand(t, dsn, append([]string{"--base-url", base, "admin"}, args...)...)
	}
	raw, err := sql.Open(driver, rawDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rebind := func(q string) string {
		if driver != "pgx" {
			return q
		}
		for i := 1; strings.Contains(q, "?"); i++ {
			q = strings.Replace(q, "?", "$"+strconv.Itoa(i), 1)
		}
		return q
	}
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := raw.QueryRowContext(ctx, rebind(q), args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	execSQL := func(q string, args ...any) {
		t.Helper()
		if _, err := raw.ExecContext(ctx, rebind(q), args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	wantFailure := func(out string, err error, want string) {
		t.Helper()
		if err == nil || err.Error() != want || out != "" {
			t.Errorf("printed %q, error %v; want no output and the error %q", out, err, want)
		}
	}

	// Ada signs up through the panel and owns Acme.
	ada := newPanelClient(t, base)
	_, path, _ := ada.post("/signup", url.Values{"email": {"ada@example.com"}, "password": {"a long enough passphrase"},
		"first_name": {"Ada"}, "last_name": {"Lovelace"}, "org_name": {"Acme"}})
	m := regexp.MustCompile(`^/orgs/(\d+)`).FindStringSubmatch(path)
	if m == nil {
		t.Fatalf("signed up to %s", path)
	}
	orgID := m[1]
	acme, _ := strconv.ParseInt(orgID, 10, 64)

	// create-profile: one line with a link that sets the password once.
	out, err := admin("create-profile", "Grace@Example.com", "--first-name", "Grace", "--last-name", "Hopper")
	if err != nil || !regexp.MustCompile(`^switchboard: created the profile grace@example\.com \(no organisation\); they set their password with this one-use link until \d{4}-\d\d-\d\d \d\d:\d\d UTC: `).MatchString(out) || strings.Count(out, "\n") != 1 {
		t.Fatalf("create-profile: %q, %v", out, err)
	}
	link := linkOf.FindStringSubmatch(out)
	if link == nil || !strings.HasPrefix(link[1], base+"/password/reset/") {
		t.Fatalf("create-profile printed no link to %s: %q", base, out)
	}
	grace := newPanelClient(t, base)
	// No password logs in before the link is used.
	for _, pw := range []string{"", "a long enough passphrase", "$argon2id$"} {
		if grace.login("grace@example.com", pw) {
			t.Fatalf("the new profile logs in with %q before its password is set", pw)
		}
	}
	if status, _, _ := grace.get(link[1]); status != 200 {
		t.Fatalf("the printed link answers %d", status)
	}
	if _, path, _ := grace.post(link[1], url.Values{"password": {"graces own passphrase"}}); path != "/login" {
		t.Fatalf("setting the password ended at %s", path)
	}
	if !grace.login("grace@example.com", "graces own passphrase") {
		t.Fatal("grace cannot log in with the password set through the link")
	}
	if _, path, body := grace.get("/orgs"); path != "/orgs" || strings.Contains(body, "Acme") {
		t.Fatalf("the new profile has an organisation: %s", path)
	}
	if status, _, _ := newPanelClient(t, base).get(link[1]); status != http.StatusGone {
		t.Fatalf("the link works twice: %d", status)
	}
	if n := count(`SELECT COUNT(*) FROM profile_events e JOIN profiles p ON p.id = e.profile_id WHERE p.email = ? AND e.action = 'profile.created' AND e.actor_name = 'Operator (command line)'`, "grace@example.com"); n != 1 {
		t.Fatalf("%d profile.created events", n)
	}
	out, err = admin("create-profile", "grace@example.com")
	wantFailure(out, err, "admin create-profile: grace@example.com already has a profile; to let them in, use: switchboard admin reset-password grace@example.com")
	out, err = admin("create-profile", "not-an-address")
	wantFailure(out, err, `admin create-profile: Enter an email address like name@example.com. (email "not-an-address")`)
	out, err = admin("create-profile")
	wantFailure(out, err, "admin create-profile: name one email address, as in: switchboard admin create-profile ada@example.com --first-name Ada --last-name Lovelace")
	out, err = admin("create-profile", "a@example.com", "b@example.com")
	wantFailure(out, err, "admin create-profile: name one email address, as in: switchboard admin create-profile ada@example.com --first-name Ada --last-name Lovelace")
	if n := count(`SELECT COUNT(*) FROM profiles WHERE email IN ('not-an-address', 'a@example.com', 'b@example.com')`); n != 0 {
		t.Fatalf("%d profiles made by failed commands", n)
	}

	// reset-password: the newest link works once, older ones die, and the
	// password changes only when it is used.
	out, err = admin("reset-password", "ada@example.com")
	first := linkOf.FindStringSubmatch(out)
	if err != nil || first == nil || !strings.HasPrefix(out, "switchboard: ada@example.com sets a new password with this one-use link until ") {
		t.Fatalf("reset-password: %q, %v", out, err)
	}
	out, err = admin("reset-password", "ada@example.com")
	second := linkOf.FindStringSubmatch(out)
	if err != nil || second == nil || second[1] == first[1] || strings.Count(out, "\n") != 1 {
		t.Fatalf("reset-password again: %q, %v", out, err)
	}
	visitor := newPanelClient(t, base)
	if status, _, _ := visitor.get(first[1]); status != http.StatusGone {
		t.Fatalf("the older link still answers %d", status)
	}
	if !ada.loggedIn() {
		t.Fatal("printing a link ended ada's session")
	}
	if _, path, _ := visitor.post(second[1], url.Values{"password": {"adas new passphrase"}}); path != "/login" {
		t.Fatalf("resetting ended at %s", path)
	}
	if ada.loggedIn() {
		t.Fatal("ada's session outlived the reset of her password")
	}
	if ada.login("ada@example.com", "a long enough passphrase") {
		t.Fatal("the old password still works")
	}
	if !ada.login("ada@example.com", "adas new passphrase") {
		t.Fatal("the new password does not work")
	}
	if n := count(`SELECT COUNT(*) FROM profile_events e JOIN profiles p ON p.id = e.profile_id WHERE p.email = ? AND e.action = 'password.reset_link' AND e.actor_name = 'Operator (command line)'`, "ada@example.com"); n != 2 {
		t.Fatalf("%d password.reset_link events, want 2", n)
	}
	out, err = admin("reset-password", "nobody@example.com")
	wantFailure(out, err, "admin reset-password: No profile has the email nobody@example.com.")
	out, err = admin("reset-password")
	wantFailure(out, err, "admin reset-password: name one email address, as in: switchboard admin reset-password ada@example.com")

	// set-owner: grace joins Acme as a Sender, then the operator makes her
	// the owner; the panel shows it at once, for both.
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	adaProfile, _, err := db.FindProfileByEmail(ctx, "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	graceProfile, _, err := db.FindProfileByEmail(ctx, "grace@example.com")
	if err != nil {
		t.Fatal(err)
	}
	inv := &switchboard.Invitation{OrgID: acme, Email: "grace@example.com", Role: switchboard.BuiltinRole(switchboard.RoleSender), InvitedBy: adaProfile.ID, InviterName: "Ada"}
	if err := db.CreateInvitation(ctx, switchboard.Actor{ProfileID: adaProfile.ID}, inv, []byte("grace's invitation token hash 32"), &switchboard.Email{To: "grace@example.com", Subject: "s"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AcceptInvitation(ctx, []byte("grace's invitation token hash 32"), graceProfile, ""); err != nil {
		t.Fatal(err)
	}
	settings := "/orgs/" + orgID + "/settings"
	if status, _, _ := grace.get(settings); status != http.StatusForbidden {
		t.Fatalf("a Sender opens the settings: %d", status)
	}
	if _, _, body := ada.get(settings); !strings.Contains(body, ">Delete organisation</button>") {
		t.Fatal("the owner's settings have no owner's part")
	}
	out, err = admin("set-owner", orgID, "grace@example.com")
	if err != nil || out != "switchboard: grace@example.com is now the owner of organisation "+orgID+" (Acme); ada@example.com is now an Administrator\n" {
		t.Fatalf("set-owner: %q, %v", out, err)
	}
	// The settings' owner-only part ("Delete organisation") moves with the
	// ownership, in the sessions already open.
	if status, _, body := grace.get(settings); status != 200 || !strings.Contains(body, ">Delete organisation</button>") {
		t.Fatalf("the new owner's settings answer %d without the owner's part", status)
	}
	if status, _, body := ada.get(settings); status != 200 || strings.Contains(body, ">Delete organisation</button>") {
		t.Fatalf("the old owner, now an Administrator, still has the owner's settings (%d)", status)
	}
	for who, want := range map[int64]switchboard.RoleKind{graceProfile.ID: switchboard.RoleOwner, adaProfile.ID: switchboard.RoleAdministrator} {
		ms, err := db.FindMembership(ctx, acme, who)
		if err != nil || ms.Member.Role.Kind != want {
			t.Fatalf("profile %d: %+v, %v; want %s", who, ms, err, want)
		}
	}
	if n := count(`SELECT COUNT(*) FROM members WHERE org_id = ? AND role = 'owner'`, acme); n != 1 {
		t.Fatalf("%d owners", n)
	}
	entries, _, err := db.ListAudit(ctx, acme, 0, 1)
	if err != nil || len(entries) != 1 || entries[0].Action != "ownership.transferred" || entries[0].ActorName != "Operator (command line)" || entries[0].Target != "grace@example.com" ||
		entries[0].Detail != "set by the operator; ada@example.com is now an Administrator" {
		t.Fatalf("audit: %+v, %v", entries, err)
	}
	_, _, body := grace.get("/orgs/" + orgID + "/audit")
	if !strings.Contains(body, "Operator (command line)") {
		t.Fatal("the audit page does not name the operator")
	}

	// Its failures, each its own line, and nothing changed.
	outsider := newPanelClient(t, base)
	outsider.post("/signup", url.Values{"email": {"olga@example.com"}, "password": {"a long enough passphrase"},
		"first_name": {"Olga"}, "last_name": {"Other"}, "org_name": {"Other Ltd"}})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"set-owner", "999999", "ada@example.com"}, "admin set-owner: There is no organisation with the id 999999."},
		{[]string{"set-owner", orgID, "nobody@example.com"}, "admin set-owner: No profile has the email nobody@example.com."},
		{[]string{"set-owner", orgID, "olga@example.com"}, "admin set-owner: olga@example.com is not a member of organisation " + orgID + " (Acme); invite them first."},
		{[]string{"set-owner", orgID, "GRACE@example.com"}, "admin set-owner: grace@example.com is already the owner of organisation " + orgID + " (Acme); nothing was changed."},
		{[]string{"set-owner", "acme", "ada@example.com"}, `admin set-owner: "acme" is not an organisation's id (the number in its address, /orgs/42); as in: switchboard admin set-owner 42 grace@example.com`},
		{[]string{"set-owner", orgID}, "admin set-owner: name the organisation's id and the new owner's email, as in: switchboard admin set-owner 42 grace@example.com"},
	} {
		out, err := admin(tc.args...)
		wantFailure(out, err, tc.want)
	}
	if n := count(`SELECT COUNT(*) FROM audit_log WHERE org_id = ? AND action = 'ownership.transferred'`, acme); n != 1 {
		t.Fatalf("%d ownership changes after the failures", n)
	}
	// A subaccount belongs to the one person who accepted it: refused.
	olga, _, _ := db.FindProfileByEmail(ctx, "olga@example.com")
	sub := &switchboard.Organisation{Name: "Acme Sub"}
	if err := db.CreateOrganisation(ctx, olga, sub); err != nil {
		t.Fatal(err)
	}
	execSQL(`INSERT INTO subaccounts (org_id, parent_id, email, funding, status, created_at) VALUES (?, ?, 'olga@example.com', 'shared', 'active', 1)`, sub.ID, acme)
	out, err = admin("set-owner", strconv.FormatInt(sub.ID, 10), "olga@example.com")
	wantFailure(out, err, fmt.Sprintf("admin set-owner: Organisation %d (Acme Sub) is a subaccount of organisation %d: it belongs to the one person who accepted it and has no other member to make the owner; its parent can close it from its Subaccounts page.", sub.ID, acme))

	// disable-two-factor: grace has two-factor (set as part A's pages set
	// it) and recovery codes; the operator turns it off and her sessions
	// end.
	execSQL(`UPDATE profiles SET totp_secret = 'sealed', totp_since = 1, totp_last_step = 5 WHERE id = ?`, graceProfile.ID)
	execSQL(`INSERT INTO recovery_codes (profile_id, code_hash, created_at) VALUES (?, ?, 1), (?, ?, 1)`, graceProfile.ID, []byte("code one"), graceProfile.ID, []byte("code two"))
	execSQL(`INSERT INTO recovery_codes (profile_id, code_hash, created_at) VALUES (?, ?, 1)`, adaProfile.ID, []byte("ada's code"))
	if !grace.loggedIn() {
		t.Fatal("grace is not logged in before")
	}
	out, err = admin("disable-two-factor", "grace@example.com")
	if err != nil || out != "switchboard: two-factor authentication is off for grace@example.com; their recovery codes were deleted and their sessions ended\n" {
		t.Fatalf("disable-two-factor: %q, %v", out, err)
	}
	if grace.loggedIn() {
		t.Fatal("grace's session outlived the operator turning two-factor off")
	}
	if p, err := db.FindProfile(ctx, graceProfile.ID); err != nil || p.TwoFactor {
		t.Fatalf("two-factor still on: %+v, %v", p, err)
	}
	if n := count(`SELECT COUNT(*) FROM profiles WHERE id = ? AND totp_secret = '' AND totp_since IS NULL`, graceProfile.ID); n != 1 {
		t.Fatal("the secret is kept")
	}
	if n := count(`SELECT COUNT(*) FROM recovery_codes WHERE profile_id = ?`, graceProfile.ID); n != 0 {
		t.Fatalf("%d recovery codes left", n)
	}
	if n := count(`SELECT COUNT(*) FROM recovery_codes WHERE profile_id = ?`, adaProfile.ID); n != 1 {
		t.Fatal("another profile's recovery codes were deleted")
	}
	if n := count(`SELECT COUNT(*) FROM profile_events WHERE profile_id = ? AND action = 'two_factor.disabled' AND actor_name = 'Operator (command line)'`, graceProfile.ID); n != 1 {
		t.Fatalf("%d two_factor.disabled events", n)
	}
	if !grace.login("grace@example.com", "graces own passphrase") {
		t.Fatal("grace cannot log in with her password alone afterwards")
	}
	out, err = admin("disable-two-factor", "grace@example.com")
	wantFailure(out, err, "admin disable-two-factor: grace@example.com does not have two-factor authentication on; nothing was changed.")
	out, err = admin("disable-two-factor", "nobody@example.com")
	wantFailure(out, err, "admin disable-two-factor: No profile has the email nobody@example.com.")
	out, err = admin("disable-two-factor", "a@example.com", "b@example.com")
	wantFailure(out, err, "admin disable-two-factor: name one email address, as in: switchboard admin disable-two-factor ada@example.com")

	// admin alone, or with a subcommand it does not know: its usage.
	for _, args := range [][]string{{}, {"make-owner", orgID, "ada@example.com"}} {
		out, err := admin(args...)
		wantFailure(out, err, adminUsage)
	}

	// The other commands of PRODUCT.md § Running it answer on the same
	// running panel's database: one line each.
	for _, args := range [][]string{{"invoices", "list"}, {"sender-names", "list"}, {"products", "list"}} {
		out, err := runCommand(t, dsn, args...)
		if err != nil || strings.Count(out, "\n") != 1 {
			t.Errorf("%v: %q, %v", args, out, err)
		}
	}
}

// TestAdminCommandExitCode: the binary itself exits 1 with the usage line
// on standard error for "switchboard admin" alone, and 0 with one line
// for a command it can do.
func TestAdminCommandExitCode(t *testing.T) {
	bin := buildBinary(t)
	dbPath := filepath.Join(t.TempDir(), "switchboard.db")
	for _, args := range [][]string{{"admin"}, {"admin", "unknown"}, {"admin", "reset-password", "nobody@example.com"}} {
		cmd := exec.Command(bin, append([]string{"--db", dbPath}, args...)...)
		var stderr, stdout bytes.Buffer
		cmd.Stderr, cmd.Stdout = &stderr, &stdout
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || stdout.Len() != 0 || strings.Count(stderr.String(), "\n") != 1 || !strings.Contains(stderr.String(), "admin") {
			t.Errorf("%v: %v, stdout %q, stderr %q", args, err, stdout.String(), stderr.String())
		}
	}
	out, err := exec.Command(bin, "--db", dbPath, "--base-url", "https://panel.example.com", "admin", "create-profile", "ada@example.com").Output()
	if err != nil || !regexp.MustCompile(`^switchboard: created the profile ada@example\.com .*: https://panel\.example\.com/password/reset/[A-Za-z0-9_-]{43}\n$`).Match(out) {
		t.Errorf("create-profile: %q, %v", out, err)
	}
}
