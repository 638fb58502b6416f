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
	"sync"
	"testing"
	"time"

	"switchboard/handlers"
	"switchboard/secretkey"
	"switchboard/store"
	"switchboard/twofactor"
)

// testClock is the database's clock in the two-factor tests: it starts at
// the real time and moves only when told, so a test picks the time step of
// every code instead of waiting for one.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// nextStep moves the clock to the next time step.
func (c *testClock) nextStep() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(twofactor.Period * time.Second)
}

// twoFactorApp is the real server with a secret key of the test's own and
// a clock it controls.
func twoFactorApp(t *testing.T) (*app, *secretkey.Key, *testClock) {
	t.Helper()
	key, _, err := secretkey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse(testBaseURL)
	a := newAppConfig(t, handlers.Config{BaseURL: base, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SecretKey: key})
	clock := &testClock{now: time.Now().Truncate(time.Second)}
	a.db.Now = clock.Now
	return a, key, clock
}

var (
	secretOnPage   = regexp.MustCompile(`id="two-factor-secret">([A-Z2-7 ]+)</code>`)
	recoveryOnPage = regexp.MustCompile(`<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>`)
)

// code is the secret's code at the clock's time.
func code(t testing.TB, secret string, clock *testClock) string {
	t.Helper()
	c, err := twofactor.Code(secret, clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// turnOnTwoFactor sets two-factor up as a person does: the secret read from
// the page, a code computed from it. It returns the secret and the
// recovery codes shown.
func turnOnTwoFactor(t *testing.T, p *client, clock *testClock) (string, []string) {
	t.Helper()
	wantStatus(t, p.post("/account/two-factor/setup", nil), http.StatusSeeOther)
	res := p.get("/account/two-factor")
	wantStatus(t, res, http.StatusOK)
	m := secretOnPage.FindStringSubmatch(res.body)
	if m == nil {
		t.Fatalf("no secret on the page:\n%s", res.body)
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	res = p.post("/account/two-factor/enable", url.Values{"code": {code(t, secret, clock)}})
	wantStatus(t, res, http.StatusOK)
	var codes []string
	for _, m := range recoveryOnPage.FindAllStringSubmatch(res.body, -1) {
		codes = append(codes, m[1])
	}
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes shown, want 10", len(codes))
	}
	return secret, codes
}

// passwordStep logs email in up to the Code step and returns the client.
func passwordStep(t *testing.T, a *app, email, next string) *client {
	t.Helper()
	c := a.client()
	form := url.Values{"email": {email}, "password": {testPassword}}
	if next != "" {
		form.Set("next", next)
	}
	res := c.post("/login", form)
	wantStatus(t, res, http.StatusSeeOther)
	if res.location != "/login/two-factor" {
		t.Fatalf("after the password: sent to %q, want the Code step", res.location)
	}
	return c
}

func sessionRows(t testing.TB, a *app) int {
	t.Helper()
	var n int
	if err := a.raw().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM sessions`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTwoFactorSetUp(t *testing.T) {
	a, key, clock := twoFactorApp(t)
	p := a.signup("ada@example.com", "Acme")
	other := a.login("ada@example.com", testPassword)

	res := p.get("/account")
	wantContains(t, res, "Security activity", `href="/account/two-factor"`)
	res = p.get("/account/two-factor")
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "Two-factor authentication is off", "Set up two-factor authentication")
	wantNotContains(t, res, `<svg class="qr"`) // GET changes nothing

	wantStatus(t, p.post("/account/two-factor/setup", nil), http.StatusSeeOther)
	res = p.get("/account/two-factor")
	wantContains(t, res, `<svg class="qr"`, `<path d="M4 4h1v1h-1z`, `<label for="code">Code</label>`)
	secret := strings.ReplaceAll(secretOnPage.FindStringSubmatch(res.body)[1], " ", "")

	// The secret is stored sealed: not the secret, and no other key
	// opens it.
	var sealed string
	var since *int64
	if err := a.raw().QueryRowContext(context.Background(), `SELECT totp_secret, totp_since FROM profiles WHERE id = `+itoa(p.profile)).Scan(&sealed, &since); err != nil {
		t.Fatal(err)
	}
	if sealed == "" || strings.Contains(sealed, secret) || since != nil {
		t.Fatalf("stored secret %q (since %v) for plain %q", sealed, since, secret)
	}
	if plain, err := key.Open(sealed); err != nil || string(plain) != secret {
		t.Fatalf("the panel's key opens %q, %v", plain, err)
	}
	otherKey, _, _ := secretkey.Generate()
	if _, err := otherKey.Open(sealed); err == nil {
		t.Fatal("another key opened the secret")
	}

	// A wrong code: 422 beside the field, the typed value kept, still off.
	res = p.post("/account/two-factor/enable", url.Values{"code": {"123 456"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="code-error"`, "This code is not correct", `value="123 456"`, `<svg class="qr"`)
	res = p.post("/account/two-factor/enable", url.Values{"code": {""}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "Enter the Code your app shows.")
	res = p.post("/account/two-factor/enable", url.Values{"code": {strings.Repeat("9", 5000)}})
	wantStatus(t, res, http.StatusUnprocessableEntity)

	before := p.sessionCookie().Value
	res = p.post("/account/two-factor/enable", url.Values{"code": {code(t, secret, clock)}})
	wantStatus(t, res, http.StatusOK)
	codes := recoveryOnPage.FindAllStringSubmatch(res.body, -1)
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes shown", len(codes))
	}
	wantContains(t, res, "Two-factor authentication is on", "They are shown only now", "Download recovery codes")
	// Stored as hashes only.
	var stored int
	a.raw().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM recovery_codes WHERE profile_id = `+itoa(p.profile)).Scan(&stored)
	if stored != 10 {
		t.Fatalf("%d recovery codes stored", stored)
	}
	rows, _ := a.raw().QueryContext(context.Background(), `SELECT code_hash FROM recovery_codes`)
	for rows.Next() {
		var h []byte
		rows.Scan(&h)
		for _, c := range codes {
			if strings.Contains(string(h), c[1]) {
				t.Fatal("a recovery code is stored in clear")
			}
		}
	}
	rows.Close()

	// A privilege change: a new token here, the other session ended.
	if after := p.sessionCookie().Value; after == before {
		t.Error("turning two-factor on kept the session token")
	}
	wantStatus(t, p.get("/account"), http.StatusOK)
	if res := other.get("/account"); res.status != http.StatusSeeOther || !strings.HasPrefix(res.location, "/login") {
		t.Errorf("the other session survived: %d %s", res.status, res.location)
	}

	// The codes are shown once, never again.
	res = p.get("/account/two-factor")
	wantContains(t, res, "Two-factor authentication is on", "10 unused recovery codes")
	wantNotContains(t, res, codes[0][1], `id="two-factor-secret"`)
	res = p.get("/account")
	wantContains(t, res, "Two-factor authentication turned on", "Manage two-factor authentication")

	// The download is the codes as a text file.
	form := url.Values{}
	for _, c := range codes {
		form.Add("code", c[1])
	}
	res = p.post("/account/two-factor/recovery-codes.txt", form)
	wantStatus(t, res, http.StatusOK)
	if !strings.HasPrefix(res.header.Get("Content-Type"), "text/plain") || !strings.Contains(res.header.Get("Content-Disposition"), "attachment") {
		t.Errorf("download headers %v", res.header)
	}
	for _, c := range codes {
		if !strings.Contains(res.body, c[1]) {
			t.Fatalf("download lacks %s:\n%s", c[1], res.body)
		}
	}
	wantStatus(t, p.post("/account/two-factor/recovery-codes.txt", url.Values{"code": {"<script>alert(1)</script>"}}), http.StatusUnprocessableEntity)

	// A new set-up cannot replace the secret in use.
	wantStatus(t, p.post("/account/two-factor/setup", nil), http.StatusSeeOther)
	var now string
	a.raw().QueryRowContext(context.Background(), `SELECT totp_secret FROM profiles WHERE id = `+itoa(p.profile)).Scan(&now)
	if now != sealed {
		t.Error("a set-up replaced the secret in use")
	}
}

func TestTwoFactorLogin(t *testing.T) {
	a, _, clock := twoFactorApp(t)
	p := a.signup("ada@example.com", "Acme")
	secret, _ := turnOnTwoFactor(t, p.client, clock)

	// A wrong password answers as for anyone.
	res := a.client().post("/login", url.Values{"email": {"ada@example.com"}, "password": {"not the password"}})
	unknown := a.client().post("/login", url.Values{"email": {"nobody@example.com"}, "password": {"not the password"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if csrfValue.ReplaceAllString(res.body, "") != strings.ReplaceAll(csrfValue.ReplaceAllString(unknown.body, ""), "nobody@", "ada@") {
		t.Error("a wrong password answers differently for a profile with two-factor")
	}

	// The right password makes no session: the client holds only the
	// challenge cookie, and the session table is unchanged.
	c := a.client()
	c.get("/login") // the anonymous session with its CSRF token
	rowsBefore := sessionRows(t, a)
	res = c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}, "next": {"/account"}})
	wantStatus(t, res, http.StatusSeeOther)
	if res.location != "/login/two-factor" {
		t.Fatalf("sent to %q", res.location)
	}
	var challenge *http.Cookie
	for _, ck := range c.hc.Jar.Cookies(mustURL(a.ts.URL)) {
		if ck.Name == "switchboard_login" {
			challenge = ck
		}
	}
	setCookie := strings.Join(res.header.Values("Set-Cookie"), "\n")
	if challenge == nil || !strings.Contains(setCookie, "HttpOnly") || !strings.Contains(setCookie, "SameSite=Lax") || !strings.Contains(setCookie, "Max-Age=300") {
		t.Fatalf("challenge cookie: %s", setCookie)
	}
	if n := sessionRows(t, a); n != rowsBefore {
		t.Errorf("sessions went from %d to %d between the password and the Code", rowsBefore, n)
	}
	if res := c.get("/account"); res.status != http.StatusSeeOther || !strings.HasPrefix(res.location, "/login") {
		t.Fatalf("the password alone opened the account: %d %s", res.status, res.location)
	}
	var stored int
	a.raw().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM login_challenges`).Scan(&stored)
	if stored != 1 {
		t.Fatalf("%d login challenges stored", stored)
	}

	res = c.get("/login/two-factor")
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "<h1>Two-factor authentication</h1>", `<label for="code">Code</label>`, "Use a recovery code")
	wantNotContains(t, res, challenge.Value)

	res = c.post("/login/two-factor", url.Values{"code": {"000000"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="code-error"`, "This code is not correct")
	res = c.post("/login/two-factor", url.Values{"code": {""}})
	wantStatus(t, res, http.StatusUnprocessableEntity)

	// The code used to turn two-factor on was of this step: the same code
	// is refused, the next step's is accepted.
	res = c.post("/login/two-factor", url.Values{"code": {code(t, secret, clock)}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "This code was already used")
	clock.nextStep()
	fresh := code(t, secret, clock)
	res = c.post("/login/two-factor", url.Values{"code": {fresh}})
	wantStatus(t, res, http.StatusSeeOther)
	if res.location != "/account" {
		t.Errorf("after the Code: sent to %q, want next /account", res.location)
	}
	wantStatus(t, c.get("/account"), http.StatusOK)
	a.raw().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM login_challenges`).Scan(&stored)
	if stored != 0 {
		t.Errorf("%d login challenges left after the login", stored)
	}
	// The challenge is gone: its page sends back to the password.
	if res := c.get("/login/two-factor"); res.status != http.StatusSeeOther {
		t.Errorf("the used challenge answers %d", res.status)
	}

	// Replayed in another browser right after: refused.
	d := passwordStep(t, a, "ada@example.com", "")
	res = d.post("/login/two-factor", url.Values{"code": {fresh}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "This code was already used")
	if res := d.get("/account"); res.status != http.StatusSeeOther {
		t.Fatal("a replayed code opened the account")
	}

	// Without a challenge the Code step sends to the password.
	e := a.client()
	if res := e.get("/login/two-factor"); res.status != http.StatusSeeOther || res.location != "/login" {
		t.Errorf("no challenge: %d %s", res.status, res.location)
	}
	if res := e.post("/login/two-factor", url.Values{"code": {fresh}}); res.status != http.StatusSeeOther || res.location != "/login" {
		t.Errorf("no challenge, POST: %d %s", res.status, res.location)
	}
}

func TestTwoFactorRecoveryCodeWorksOnce(t *testing.T) {
	a, _, clock := twoFactorApp(t)
	p := a.signup("ada@example.com", "Acme")
	_, codes := turnOnTwoFactor(t, p.client, clock)

	c := passwordStep(t, a, "ada@example.com", "")
	res := c.get("/login/two-factor?recovery=1")
	wantContains(t, res, `<label for="recovery_code">Recovery code</label>`)
	res = c.post("/login/two-factor", url.Values{"recovery_code": {"aaaaa-aaaaa"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="recovery_code-error"`, `value="aaaaa-aaaaa"`)
	// Typed in capitals without the dash still works.
	res = c.post("/login/two-factor", url.Values{"recovery_code": {strings.ToUpper(strings.ReplaceAll(codes[3], "-", ""))}})
	wantStatus(t, res, http.StatusSeeOther)
	wantStatus(t, c.get("/account"), http.StatusOK)

	d := passwordStep(t, a, "ada@example.com", "")
	res = d.post("/login/two-factor", url.Values{"recovery_code": {codes[3]}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "not correct or was already used")

	res = c.get("/account")
	wantContains(t, res, "Recovery code used to log in (9 left)")
	wantContains(t, c.get("/account/two-factor"), "9 unused recovery codes")

	// Regenerating needs the password, and kills the old codes.
	res = c.post("/account/two-factor/recovery-codes", url.Values{"password": {"wrong"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="regenerate-password-error"`, "This is not your password.")
	res = c.post("/account/two-factor/recovery-codes", url.Values{"password": {testPassword}})
	wantStatus(t, res, http.StatusOK)
	fresh := recoveryOnPage.FindAllStringSubmatch(res.body, -1)
	if len(fresh) != 10 {
		t.Fatalf("%d new codes", len(fresh))
	}
	res = d.post("/login/two-factor", url.Values{"recovery_code": {codes[4]}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	res = d.post("/login/two-factor", url.Values{"recovery_code": {fresh[0][1]}})
	wantStatus(t, res, http.StatusSeeOther)
	wantContains(t, c.get("/account"), "Recovery codes regenerated")
}

func TestTwoFactorWrongCodesLimited(t *testing.T) {
	a, _, clock := twoFactorApp(t)
	p := a.signup("ada@example.com", "Acme")
	secret, _ := turnOnTwoFactor(t, p.client, clock)
	clock.nextStep()
	right := code(t, secret, clock)
	wrong := "000000"
	if right == wrong {
		wrong = "111111"
	}

	// Five wrong codes end the challenge: the password again.
	c := passwordStep(t, a, "ada@example.com", "")
	for i := range store.MaxChallengeAttempts - 1 {
		wantStatus(t, c.post("/login/two-factor", url.Values{"code": {wrong}}), http.StatusUnprocessableEntity)
		_ = i
	}
	res := c.post("/login/two-factor", url.Values{"code": {wrong}})
	if res.status != http.StatusSeeOther || res.location != "/login" {
		t.Fatalf("fifth wrong code: %d %s", res.status, res.location)
	}
	wantContains(t, c.get("/login"), "Too many wrong codes")
	res = c.post("/login/two-factor", url.Values{"code": {right}})
	if res.status != http.StatusSeeOther || res.location != "/login" {
		t.Fatalf("the right code after the challenge died: %d %s", res.status, res.location)
	}

	// The login guard counts them too, and the right password does not
	// wipe them out: after ten in a row, the next try waits, even with
	// the right code.
	c = passwordStep(t, a, "ada@example.com", "")
	for range store.MaxChallengeAttempts - 1 {
		wantStatus(t, c.post("/login/two-factor", url.Values{"code": {wrong}}), http.StatusUnprocessableEntity)
	}
	c.post("/login/two-factor", url.Values{"code": {wrong}}) // the tenth
	c = passwordStep(t, a, "ada@example.com", "")
	res = c.post("/login/two-factor", url.Values{"code": {right}})
	wantStatus(t, res, http.StatusTooManyRequests)
	if res.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	if res := c.get("/account"); res.status != http.StatusSeeOther {
		t.Fatal("a limited code opened the account")
	}
}

func TestTwoFactorTurnOff(t *testing.T) {
	a, _, clock := twoFactorApp(t)
	p := a.signup("ada@example.com", "Acme")
	secret, codes := turnOnTwoFactor(t, p.client, clock)
	other := a.client()
	clock.nextStep()

	res := p.post("/account/two-factor/disable", url.Values{})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="disable-password-error"`, `id="disable-code-error"`)
	// The password alone is not enough, nor the code alone.
	res = p.post("/account/two-factor/disable", url.Values{"password": {testPassword}, "code": {"000000"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "This code is not correct", `value="000000"`)
	wantNotContains(t, res, `value="`+testPassword+`"`)
	res = p.post("/account/two-factor/disable", url.Values{"password": {"wrong password"}, "code": {code(t, secret, clock)}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "This is not your password.")
	res = p.post("/account/two-factor/disable", url.Values{"code": {code(t, secret, clock)}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if got, _ := a.db.FindProfile(context.Background(), p.profile); !got.TwoFactor {
		t.Fatal("two-factor turned off without both")
	}
	// Another person's session cannot reach it at all.
	if res := other.post("/account/two-factor/disable", url.Values{"password": {testPassword}, "code": {code(t, secret, clock)}}); res.status != http.StatusSeeOther || !strings.HasPrefix(res.location, "/login") {
		t.Fatalf("anonymous disable: %d %s", res.status, res.location)
	}

	before := p.sessionCookie().Value
	res = p.post("/account/two-factor/disable", url.Values{"password": {testPassword}, "code": {codes[0]}})
	wantStatus(t, res, http.StatusSeeOther)
	if got, _ := a.db.FindProfile(context.Background(), p.profile); got.TwoFactor {
		t.Fatal("two-factor still on")
	}
	if p.sessionCookie().Value == before {
		t.Error("turning two-factor off kept the session token")
	}
	wantContains(t, p.get("/account/two-factor"), "Two-factor authentication is off")
	wantContains(t, p.get("/account"), "Two-factor authentication turned off")
	// The password alone logs in again.
	res = a.client().post("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}})
	if res.status != http.StatusSeeOther || res.location == "/login/two-factor" {
		t.Errorf("login after turning off: %d %s", res.status, res.location)
	}

	// With a code from the app too (a second round).
	secret, _ = turnOnTwoFactor(t, p.client, clock)
	clock.nextStep()
	res = p.post("/account/two-factor/disable", url.Values{"password": {testPassword}, "code": {code(t, secret, clock)}})
	wantStatus(t, res, http.StatusSeeOther)
}

// TestTwoFactorResetDoesNotSkip: a password reset never logs in, so a
// profile with two-factor on still meets the Code step afterwards.
func TestTwoFactorResetDoesNotSkip(t *testing.T) {
	a, _, clock := twoFactorApp(t)
	p := a.signup("ada@example.com", "Acme")
	secret, _ := turnOnTwoFactor(t, p.client, clock)

	c := a.client()
	wantStatus(t, c.post("/password/forgot", url.Values{"email": {"ada@example.com"}}), http.StatusOK)
	link := a.outboxLink("ada@example.com", "/password/reset/")
	rows := sessionRows(t, a)
	res := c.post(link, url.Values{"password": {"a brand new passphrase"}})
	wantStatus(t, res, http.StatusSeeOther)
	if res.location != "/login" {
		t.Fatalf("after the reset: sent to %q", res.location)
	}
	if res := c.get("/account"); res.status != http.StatusSeeOther {
		t.Fatal("the reset logged in")
	}
	if n := sessionRows(t, a); n > rows {
		t.Errorf("the reset made a session (%d → %d)", rows, n)
	}
	res = c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {"a brand new passphrase"}})
	if res.status != http.StatusSeeOther || res.location != "/login/two-factor" {
		t.Fatalf("login after the reset: %d %s", res.status, res.location)
	}
	clock.nextStep()
	wantStatus(t, c.post("/login/two-factor", url.Values{"code": {code(t, secret, clock)}}), http.StatusSeeOther)
	wantStatus(t, c.get("/account"), http.StatusOK)
}

// TestTwoFactorReplayAcrossServers: two panels on one database (two
// processes behind a load balancer, on PostgreSQL in its pass): a code
// accepted by one is refused by the other.
func TestTwoFactorReplayAcrossServers(t *testing.T) {
	first, db1 := newDBApp(t)
	key, _, _ := secretkey.Generate()
	clock := &testClock{now: time.Now().Truncate(time.Second)}
	base, _ := url.Parse(testBaseURL)
	cfg := handlers.Config{BaseURL: base, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SecretKey: key}
	db2, err := store.Open(context.Background(), first.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db2.Close() })
	db1.Now, db2.Now = clock.Now, clock.Now
	one := newAppOn(t, db1, first.dsn, cfg)
	two := newAppOn(t, db2, first.dsn, cfg)

	p := one.signup("ada@example.com", "Acme")
	secret, _ := turnOnTwoFactor(t, p.client, clock)
	clock.nextStep()
	c1 := passwordStep(t, one, "ada@example.com", "")
	c2 := passwordStep(t, two, "ada@example.com", "")
	fresh := code(t, secret, clock)

	// Both at once: exactly one gets in.
	var wg sync.WaitGroup
	results := make([]*response, 2)
	for i, c := range []*client{c1, c2} {
		form := url.Values{"code": {fresh}, "_csrf": {c.csrf()}}
		wg.Go(func() { results[i] = c.postRaw("/login/two-factor", form) })
	}
	wg.Wait()
	in := 0
	for _, r := range results {
		if r.status == http.StatusSeeOther && r.location != "/login" {
			in++
		} else if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "already used") {
			t.Errorf("the other answer: %d %s", r.status, html.UnescapeString(r.body))
		}
	}
	if in != 1 {
		t.Fatalf("%d logins with one code on two servers", in)
	}
}
