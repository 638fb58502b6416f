package handlers_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSignup(t *testing.T) {
	a := newApp(t)

	t.Run("creates the profile and its first organisation", func(t *testing.T) {
		p := a.signup("Jane@Example.com ", "Acme")
		if p.email != "Jane@Example.com " {
			t.Fatal("setup")
		}
		prof, _, err := a.db.FindProfileByEmail(context.Background(), "jane@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if prof.Email != "jane@example.com" {
			t.Errorf("email stored as %q, want trimmed and lower-cased", prof.Email)
		}
		m := membership(t, a.db, p.org, prof.ID)
		if m == nil || !m.IsOwner() || m.Org.Name != "Acme" {
			t.Fatalf("membership = %+v, want owner of Acme", m)
		}
		res := p.get(path(p.org, ""))
		wantStatus(t, res, http.StatusOK)
		wantContains(t, res, "<h1>Acme</h1>", "Welcome to Switchboard")
	})

	long := strings.Repeat("x", 101)
	cases := []struct {
		name  string
		form  url.Values
		field string
		msg   string
	}{
		{"empty", url.Values{}, "email", "Enter your email address."},
		{"malformed email", url.Values{"email": {"jane@"}, "first_name": {"J"}, "last_name": {"D"}, "org_name": {"O"}, "password": {testPassword}}, "email", "Enter an email address like name@example.com."},
		{"email with a name", url.Values{"email": {"Jane <jane@example.com>"}, "first_name": {"J"}, "last_name": {"D"}, "org_name": {"O"}, "password": {testPassword}}, "email", "Enter an email address like"},
		{"overlong first name", url.Values{"email": {"a@example.com"}, "first_name": {long}, "last_name": {"D"}, "org_name": {"O"}, "password": {testPassword}}, "first_name", "at most 100 characters"},
		{"control characters", url.Values{"email": {"a@example.com"}, "first_name": {"J"}, "last_name": {"D\r\nBcc: x"}, "org_name": {"O"}, "password": {testPassword}}, "last_name", "control characters"},
		{"missing organisation", url.Values{"email": {"a@example.com"}, "first_name": {"J"}, "last_name": {"D"}, "password": {testPassword}}, "org_name", "Enter your organisation&#39;s name."},
		{"short password", url.Values{"email": {"a@example.com"}, "first_name": {"J"}, "last_name": {"D"}, "org_name": {"O"}, "password": {"seven77"}}, "password", "at least 8 characters"},
		{"common password", url.Values{"email": {"a@example.com"}, "first_name": {"J"}, "last_name": {"D"}, "org_name": {"O"}, "password": {"Password123"}}, "password", "too easy to guess"},
		{"built on the product's name", url.Values{"email": {"a@example.com"}, "first_name": {"J"}, "last_name": {"D"}, "org_name": {"O"}, "password": {"switchboard123"}}, "password", "not built on your name"},
		{"own email", url.Values{"email": {"k7.zorblat@fjordmail.net"}, "first_name": {"Kim"}, "last_name": {"Zorblat"}, "org_name": {"O"}, "password": {"k7.zorblat@fjordmail.net"}}, "password", "not built on your name"},
		{"taken email in another case", url.Values{"email": {"JANE@example.COM"}, "first_name": {"J"}, "last_name": {"D"}, "org_name": {"O"}, "password": {testPassword}}, "email", "already exists"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := a.client().post("/signup", tc.form)
			wantStatus(t, res, http.StatusUnprocessableEntity)
			wantContains(t, res, `id="`+tc.field+`-error"`, tc.msg, `aria-invalid="true"`)
			// What was typed is kept (but never the password).
			if v := tc.form.Get("first_name"); v != "" && v != long {
				wantContains(t, res, `value="`+v+`"`)
			}
			wantNotContains(t, res, testPassword)
		})
	}

	t.Run("a long password with spaces and emoji is kept whole", func(t *testing.T) {
		pw := strings.Repeat("🙂 pass ", 20) // 160 characters
		c := a.client()
		res := c.post("/signup", url.Values{"email": {"emoji@example.com"}, "first_name": {"E"}, "last_name": {"M"}, "org_name": {"O"}, "password": {pw}})
		wantStatus(t, res, http.StatusSeeOther)
		wantStatus(t, a.client().post("/login", url.Values{"email": {"emoji@example.com"}, "password": {pw[:len(pw)-1]}}), http.StatusUnprocessableEntity)
		wantStatus(t, a.client().post("/login", url.Values{"email": {"emoji@example.com"}, "password": {pw}}), http.StatusSeeOther)
	})

	t.Run("repeated fields act on the first value only", func(t *testing.T) {
		c := a.client()
		f := url.Values{"email": {"first@example.com", "second@example.com"}, "first_name": {"R"}, "last_name": {"F"}, "org_name": {"O"}, "password": {testPassword}}
		wantStatus(t, c.post("/signup", f), http.StatusSeeOther)
		if _, _, err := a.db.FindProfileByEmail(context.Background(), "second@example.com"); err == nil {
			t.Fatal("the second value of a repeated email field made a profile")
		}
		if _, _, err := a.db.FindProfileByEmail(context.Background(), "first@example.com"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestLogin(t *testing.T) {
	a := newApp(t)
	p := a.signup("owner@example.com", "Acme")

	t.Run("wrong password and unknown email answer the same", func(t *testing.T) {
		wrong := a.client().post("/login", url.Values{"email": {"owner@example.com"}, "password": {"not the password"}})
		unknown := a.client().post("/login", url.Values{"email": {"nobody@example.com"}, "password": {"not the password"}})
		wantStatus(t, wrong, http.StatusUnprocessableEntity)
		wantStatus(t, unknown, http.StatusUnprocessableEntity)
		wantContains(t, wrong, "The email or password is not correct.")
		wantContains(t, unknown, "The email or password is not correct.")
		strip := func(s string) string {
			return strings.NewReplacer("nobody@example.com", "", "owner@example.com", "").Replace(csrfValue.ReplaceAllString(s, ""))
		}
		if strip(wrong.body) != strip(unknown.body) {
			t.Error("the pages for a wrong password and an unknown email differ")
		}
	})

	t.Run("empty fields", func(t *testing.T) {
		res := a.client().post("/login", url.Values{})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantContains(t, res, `id="email-error"`, `id="password-error"`)
	})

	t.Run("lands on the organisation used last", func(t *testing.T) {
		other := p.post("/orgs/new", url.Values{"name": {"Second"}})
		wantStatus(t, other, http.StatusSeeOther)
		p.get(path(p.org, "")) // use the first again
		c := a.client()
		res := c.post("/login", url.Values{"email": {"OWNER@example.com"}, "password": {testPassword}})
		wantStatus(t, res, http.StatusSeeOther)
		if res.location != path(p.org, "") {
			t.Errorf("landed on %q, want %q", res.location, path(p.org, ""))
		}
	})

	t.Run("the session token is renewed at login", func(t *testing.T) {
		c := a.client()
		c.get("/login")
		c.post("/login", url.Values{"email": {"nobody@example.com"}, "password": {"x"}}) // no session yet
		before := c.sessionCookie()
		wantStatus(t, c.post("/login", url.Values{"email": {"owner@example.com"}, "password": {testPassword}}), http.StatusSeeOther)
		after := c.sessionCookie()
		if after == nil || (before != nil && before.Value == after.Value) {
			t.Fatal("no new session token at login")
		}
	})

	for _, tc := range []struct{ next, want string }{
		{"/orgs/new", "/orgs/new"},
		{"https://evil.example/", ""},
		{"//evil.example/", ""},
		{"/\\evil.example/", ""},
		{"javascript:alert(1)", ""},
	} {
		t.Run("next="+tc.next, func(t *testing.T) {
			page := a.client().get("/login?next=" + url.QueryEscape(tc.next))
			wantStatus(t, page, http.StatusOK)
			res := a.client().post("/login", url.Values{"email": {"owner@example.com"}, "password": {testPassword}, "next": {tc.next}})
			wantStatus(t, res, http.StatusSeeOther)
			if tc.want != "" && res.location != tc.want {
				t.Errorf("went to %q, want %q", res.location, tc.want)
			}
			if tc.want == "" && !strings.HasPrefix(res.location, "/orgs") {
				t.Errorf("went to %q, an off-site next must be ignored", res.location)
			}
		})
	}

	t.Run("a page asks to log in and comes back after", func(t *testing.T) {
		c := a.client()
		res := c.get(path(p.org, "settings"))
		wantStatus(t, res, http.StatusSeeOther)
		if res.location != "/login?next="+url.QueryEscape(path(p.org, "settings")) {
			t.Fatalf("redirected to %q", res.location)
		}
		res = c.post("/login", url.Values{"email": {"owner@example.com"}, "password": {testPassword}, "next": {path(p.org, "settings")}})
		if res.location != path(p.org, "settings") {
			t.Fatalf("after login went to %q", res.location)
		}
	})
}

var csrfValue = regexp.MustCompile(`name="_csrf" value="[^"]*"`)

// clock is a time tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// limitedApp is an app whose login guard runs on a clock the test moves,
// behind a trusted proxy so each client can come from its own address.
func limitedApp(t *testing.T) (*app, *clock) {
	t.Helper()
	_, loopback, _ := net.ParseCIDR("127.0.0.1/32")
	a := newAppWith(t, testBaseURL, []*net.IPNet{loopback})
	clk := &clock{now: time.Now()}
	a.srv.SetLoginClock(clk.Now)
	return a, clk
}

// from is a new client whose requests come from the address ip.
func (a *app) from(ip string) *client {
	c := a.client()
	c.header.Set("X-Forwarded-For", ip)
	return c
}

func loginForm(email, password string) url.Values {
	return url.Values{"email": {email}, "password": {password}}
}

// TestLoginLimits: a stranger cannot lock the owner out (the review's
// scenario), successes never use up the allowance, and the attacker's
// address is slowed down more and more.
func TestLoginLimits(t *testing.T) {
	t.Run("a stranger failing from one address never locks the owner out", func(t *testing.T) {
		a, clk := limitedApp(t)
		a.signup("target@example.com", "Acme")
		attacker := a.from("203.0.113.7")
		for range 10 {
			wantStatus(t, attacker.post("/login", loginForm("target@example.com", "wrong password")), http.StatusUnprocessableEntity)
		}
		// Then one attempt every 30 seconds for six simulated hours; the
		// owner logs in from home every ten minutes meanwhile.
		let := 0
		for i := range 6 * 120 {
			clk.advance(30 * time.Second)
			res := attacker.post("/login", loginForm("target@example.com", "wrong password"))
			switch res.status {
			case http.StatusUnprocessableEntity:
				let++
			case http.StatusTooManyRequests:
				wantContains(t, res, "Please wait")
				if res.header.Get("Retry-After") == "" {
					t.Fatal("429 without Retry-After")
				}
			default:
				t.Fatalf("attacker attempt %d: status %d", i, res.status)
			}
			if i%20 == 0 {
				wantStatus(t, a.from("198.51.100.20").post("/login", loginForm("target@example.com", testPassword)), http.StatusSeeOther)
			}
		}
		// Delays of 2, 4, 8... seconds up to 15 minutes: in six hours the
		// attacker's address got about 30 tries instead of 720.
		if let > 40 {
			t.Errorf("the attacker's address was let through %d times in six hours", let)
		}
		// The right password from the attacker's address waits too: that
		// address is the one failing.
		wantStatus(t, attacker.post("/login", loginForm("target@example.com", testPassword)), http.StatusTooManyRequests)
	})

	t.Run("the attacker's address is slowed progressively", func(t *testing.T) {
		a, clk := limitedApp(t)
		a.signup("target@example.com", "Acme")
		attacker := a.from("203.0.113.7")
		for range 10 {
			wantStatus(t, attacker.post("/login", loginForm("target@example.com", "wrong password")), http.StatusUnprocessableEntity)
		}
		// After ten failures, each attempt waits twice as long as the last.
		var waits []string
		for range 7 {
			res := attacker.post("/login", loginForm("target@example.com", "wrong password"))
			wantStatus(t, res, http.StatusTooManyRequests)
			w := res.header.Get("Retry-After")
			waits = append(waits, w)
			n, _ := parseInt(w)
			clk.advance(time.Duration(n) * time.Second)
			wantStatus(t, attacker.post("/login", loginForm("target@example.com", "wrong password")), http.StatusUnprocessableEntity)
		}
		if got := strings.Join(waits, " "); got != "2 4 8 16 32 64 128" {
			t.Errorf("waits %s, want 2 4 8 16 32 64 128 seconds", got)
		}
		res := attacker.post("/login", loginForm("target@example.com", "wrong password"))
		wantStatus(t, res, http.StatusTooManyRequests)
		wantContains(t, res, "Please wait 5 minutes and try again.")
		// The cap: however long it goes on, never more than 15 minutes.
		for range 20 {
			clk.advance(time.Hour)
			attacker.post("/login", loginForm("target@example.com", "wrong password"))
		}
		if n, _ := parseInt(attacker.post("/login", loginForm("target@example.com", "wrong password")).header.Get("Retry-After")); n > 15*60 {
			t.Errorf("waits %d seconds", n)
		}
	})

	t.Run("a success does not use up the allowance and resets the failures", func(t *testing.T) {
		a, _ := limitedApp(t)
		a.signup("owner@example.com", "Acme")
		office := "192.0.2.10"
		for i := range 40 {
			wantStatus(t, a.from(office).post("/login", loginForm("owner@example.com", testPassword)), http.StatusSeeOther)
			if i%10 == 9 {
				for range 9 {
					wantStatus(t, a.from(office).post("/login", loginForm("owner@example.com", "a typo")), http.StatusUnprocessableEntity)
				}
			}
		}
	})

	t.Run("parallel attempts all count", func(t *testing.T) {
		a, _ := limitedApp(t)
		a.signup("target@example.com", "Acme")
		var wg sync.WaitGroup
		statuses := make(chan int, 30)
		for range 30 {
			wg.Go(func() {
				statuses <- a.from("203.0.113.7").post("/login", loginForm("target@example.com", "wrong password")).status
			})
		}
		wg.Wait()
		close(statuses)
		hashed := 0
		for s := range statuses {
			if s == http.StatusUnprocessableEntity {
				hashed++
			} else if s != http.StatusTooManyRequests {
				t.Fatalf("status %d", s)
			}
		}
		if hashed > 10 {
			t.Fatalf("%d of 30 parallel attempts were tried, want at most 10", hashed)
		}
		wantStatus(t, a.from("198.51.100.20").post("/login", loginForm("target@example.com", testPassword)), http.StatusSeeOther)
	})

	t.Run("one address spraying many accounts is held back", func(t *testing.T) {
		a, _ := limitedApp(t)
		a.signup("owner@example.com", "Acme")
		sprayer := a.from("203.0.113.9")
		limited := 0
		for i := range 120 {
			res := sprayer.post("/login", loginForm("user"+itoa(int64(i))+"@example.com", "Summer2024!"))
			if res.status == http.StatusTooManyRequests {
				limited++
			}
		}
		if limited < 15 {
			t.Fatalf("%d of 120 sprayed attempts were limited", limited)
		}
		wantStatus(t, a.from("198.51.100.20").post("/login", loginForm("owner@example.com", testPassword)), http.StatusSeeOther)
	})

	t.Run("an account failing from many addresses: failing addresses wait, the owner's does not", func(t *testing.T) {
		a, _ := limitedApp(t)
		a.signup("target@example.com", "Acme")
		for i := range 60 {
			wantStatus(t, a.from("203.0.113."+itoa(int64(i))).post("/login", loginForm("target@example.com", "wrong password")), http.StatusUnprocessableEntity)
		}
		// The account is hot: after one failure an address already waits,
		// instead of after ten.
		wantStatus(t, a.from("203.0.113.1").post("/login", loginForm("target@example.com", "wrong password")), http.StatusTooManyRequests)
		wantStatus(t, a.from("198.51.100.20").post("/login", loginForm("target@example.com", testPassword)), http.StatusSeeOther)
	})
}

func TestLogout(t *testing.T) {
	a := newApp(t)
	p := a.signup("owner@example.com", "Acme")
	old := p.sessionCookie()
	wantStatus(t, p.post("/logout", nil), http.StatusSeeOther)
	wantStatus(t, p.get("/orgs"), http.StatusSeeOther)

	// Replaying the old cookie fails: the session is gone from the store.
	replay := a.client()
	req, _ := http.NewRequest(http.MethodGet, a.ts.URL+"/orgs", nil)
	req.AddCookie(old)
	res := replay.do(req)
	wantStatus(t, res, http.StatusSeeOther)
	if !strings.HasPrefix(res.location, "/login") {
		t.Fatalf("old cookie after logout reached %q", res.location)
	}
}

func TestSessionsEnd(t *testing.T) {
	a := newApp(t)
	p := a.signup("owner@example.com", "Acme")
	other := a.login("owner@example.com", testPassword)
	wantStatus(t, other.get("/orgs"), http.StatusOK)

	t.Run("log out of all other sessions", func(t *testing.T) {
		before := p.sessionCookie().Value
		wantStatus(t, p.post("/account/sessions", nil), http.StatusSeeOther)
		wantStatus(t, other.get("/orgs"), http.StatusSeeOther)
		wantStatus(t, p.get("/orgs"), http.StatusOK)
		if p.sessionCookie().Value == before {
			t.Error("the remaining session kept its token")
		}
	})

	t.Run("changing the password asks for the current one and ends other sessions", func(t *testing.T) {
		other := a.login("owner@example.com", testPassword)
		res := p.post("/account/password", url.Values{"current_password": {"wrong one"}, "new_password": {"another long passphrase"}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantContains(t, res, "This is not your current password.")
		res = p.post("/account/password", url.Values{"current_password": {testPassword}, "new_password": {"qwerty123"}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantContains(t, res, "too easy to guess")
		wantStatus(t, other.get("/orgs"), http.StatusOK)

		wantStatus(t, p.post("/account/password", url.Values{"current_password": {testPassword}, "new_password": {"another long passphrase"}}), http.StatusSeeOther)
		wantStatus(t, p.get("/orgs"), http.StatusOK)
		wantStatus(t, other.get("/orgs"), http.StatusSeeOther)
		wantStatus(t, a.client().post("/login", url.Values{"email": {"owner@example.com"}, "password": {testPassword}}), http.StatusUnprocessableEntity)
		a.login("owner@example.com", "another long passphrase")
	})

	t.Run("idle sessions end", func(t *testing.T) {
		c := a.login("owner@example.com", "another long passphrase")
		wantStatus(t, c.get("/orgs"), http.StatusOK)
		a.db.Now = func() time.Time { return time.Now().Add(9 * time.Hour) }
		defer func() { a.db.Now = time.Now }()
		wantStatus(t, c.get("/orgs"), http.StatusSeeOther)
	})
}

func TestAccount(t *testing.T) {
	a := newApp(t)
	p := a.signup("owner@example.com", "Acme")
	res := p.get("/account")
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, `<label for="first_name">First name</label>`, `<label for="time_zone">Time zone</label>`)

	res = p.post("/account", url.Values{"first_name": {"Jane"}, "last_name": {""}, "language": {"fr"}, "time_zone": {"Mars/Olympus"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="last_name-error"`, `id="time_zone-error"`, `value="Mars/Olympus"`, `value="Jane"`)

	wantStatus(t, p.post("/account", url.Values{"first_name": {"Jane"}, "last_name": {"Doe"}, "language": {"fr"}, "time_zone": {"Europe/Paris"}}), http.StatusSeeOther)
	prof, err := a.db.FindProfile(context.Background(), p.profile)
	if err != nil {
		t.Fatal(err)
	}
	if prof.Name() != "Jane Doe" || prof.Language != "fr" || prof.TimeZone != "Europe/Paris" {
		t.Fatalf("profile = %+v", prof)
	}
}

func TestCSRF(t *testing.T) {
	a := newApp(t)
	p := a.signup("owner@example.com", "Acme")
	form := url.Values{"name": {"Renamed"}, "legal_name": {""}, "vat_number": {""}, "address": {""}, "billing_email": {""}}

	t.Run("missing token", func(t *testing.T) {
		res := p.postRaw(path(p.org, "settings"), form)
		wantStatus(t, res, http.StatusForbidden)
		wantContains(t, res, "This form has expired")
	})
	t.Run("wrong token", func(t *testing.T) {
		f := url.Values{"_csrf": {"not-the-token"}}
		for k, v := range form {
			f[k] = v
		}
		wantStatus(t, p.postRaw(path(p.org, "settings"), f), http.StatusForbidden)
	})
	t.Run("cross-site browser request", func(t *testing.T) {
		c := *p.client
		c.header = http.Header{"Sec-Fetch-Site": {"cross-site"}}
		wantStatus(t, c.post(path(p.org, "settings"), form), http.StatusForbidden)
	})
	t.Run("a POST without token and without Sec-Fetch-Site fails even with a session", func(t *testing.T) {
		wantStatus(t, p.postRaw("/logout", url.Values{}), http.StatusForbidden)
		wantStatus(t, p.get("/orgs"), http.StatusOK)
	})
	m := membership(t, a.db, p.org, p.profile)
	if m.Org.Name != "Acme" {
		t.Fatalf("a refused request renamed the organisation to %q", m.Org.Name)
	}
	t.Run("same-origin browser request without token", func(t *testing.T) {
		c := *p.client
		c.header = http.Header{"Sec-Fetch-Site": {"same-origin"}}
		wantStatus(t, c.postRaw(path(p.org, "settings"), form), http.StatusSeeOther)
	})
	t.Run("a page always carries a real token, even for a browser", func(t *testing.T) {
		c := *p.client
		c.header = http.Header{"Sec-Fetch-Site": {"same-origin"}}
		res := c.get(path(p.org, "settings"))
		wantContains(t, res, `name="_csrf" value="`+p.csrf()+`"`)
	})
	renamed := func(t *testing.T, name string) {
		t.Helper()
		if m := membership(t, a.db, p.org, p.profile); m.Org.Name != name {
			t.Fatalf("organisation named %q, want %q", m.Org.Name, name)
		}
	}
	withToken := func(tok string) url.Values {
		f := url.Values{"_csrf": {tok}}
		for k, v := range form {
			f[k] = v
		}
		f.Set("name", "Hijacked")
		return f
	}
	t.Run("a planted switchboard_csrf cookie with a matching field is refused", func(t *testing.T) {
		// The review's attack: a sibling domain sets the cookie, the
		// attacker's page posts the same value.
		p.hc.Jar.SetCookies(mustURL(a.ts.URL), []*http.Cookie{{Name: "switchboard_csrf", Value: "planted-value", Path: "/"}})
		wantStatus(t, p.postRaw(path(p.org, "settings"), withToken("planted-value")), http.StatusForbidden)
		renamed(t, "Renamed")
	})
	t.Run("a token from another session is refused", func(t *testing.T) {
		attacker := a.signup("attacker@example.com", "Evil")
		wantStatus(t, p.postRaw(path(p.org, "settings"), withToken(attacker.csrf())), http.StatusForbidden)
		wantStatus(t, p.postRaw(path(p.org, "settings"), withToken(a.client().csrf())), http.StatusForbidden)
		renamed(t, "Renamed")
	})
	t.Run("same-site and cross-site are refused even with the right token", func(t *testing.T) {
		for _, site := range []string{"same-site", "cross-site"} {
			c := *p.client
			c.header = http.Header{"Sec-Fetch-Site": {site}}
			wantStatus(t, c.postRaw(path(p.org, "settings"), withToken(p.csrf())), http.StatusForbidden)
		}
		renamed(t, "Renamed")
	})
	t.Run("no CSRF cookie is set any more", func(t *testing.T) {
		res := a.client().get("/login")
		for _, line := range res.header.Values("Set-Cookie") {
			if !strings.HasPrefix(line, "switchboard_session=") {
				t.Errorf("cookie %q", line)
			}
		}
	})
}

// TestCSRFRenewed: the token belongs to the session and changes at login,
// sign-up and logout; an old one is refused.
func TestCSRFRenewed(t *testing.T) {
	a := newApp(t)
	a.signup("owner@example.com", "Acme")

	c := a.client()
	before := c.csrf()
	wantStatus(t, c.post("/login", loginForm("owner@example.com", testPassword)), http.StatusSeeOther)
	during := c.csrf()
	if during == before {
		t.Fatal("the CSRF token did not change at login")
	}
	// The token of before the login no longer works.
	wantStatus(t, c.postRaw("/account/sessions", url.Values{"_csrf": {before}}), http.StatusForbidden)
	wantStatus(t, c.post("/logout", nil), http.StatusSeeOther)
	after := c.csrf()
	if after == during || after == before {
		t.Fatal("the CSRF token did not change at logout")
	}
	wantStatus(t, c.postRaw("/login", url.Values{"_csrf": {during}, "email": {"owner@example.com"}, "password": {testPassword}}), http.StatusForbidden)

	s := a.client()
	anonymous := s.csrf()
	wantStatus(t, s.post("/signup", url.Values{"email": {"new@example.com"}, "password": {testPassword}, "first_name": {"N"}, "last_name": {"W"}, "org_name": {"New"}}), http.StatusSeeOther)
	if s.csrf() == anonymous {
		t.Fatal("the CSRF token did not change at sign-up")
	}
}

func TestSecurityHeaders(t *testing.T) {
	a := newApp(t)
	for _, path := range []string{"/login", "/nowhere", "/healthz"} {
		res := a.client().get(path)
		csp := res.header.Get("Content-Security-Policy")
		for _, want := range []string{"object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "script-src 'nonce-"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP allows unsafe-inline", path)
		}
		if res.header.Get("X-Content-Type-Options") != "nosniff" || res.header.Get("Referrer-Policy") == "" || res.header.Get("X-Frame-Options") != "DENY" || !strings.Contains(res.header.Get("Cache-Control"), "no-store") {
			t.Errorf("%s: headers %v", path, res.header)
		}
	}
	if cc := a.client().get("/static/app.css").header.Get("Cache-Control"); !strings.Contains(cc, "max-age") {
		t.Errorf("static files are not cached: %q", cc)
	}
	res := a.client().get("/nowhere")
	wantStatus(t, res, http.StatusNotFound)
	wantContains(t, res, "<h1>Page not found</h1>")
	res = a.client().get("/password/reset/sometoken")
	wantStatus(t, res, http.StatusGone)
	if res.header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("a page with a token in its URL has Referrer-Policy %q", res.header.Get("Referrer-Policy"))
	}
}

func TestHealthz(t *testing.T) {
	a := newApp(t)
	res := a.client().get("/healthz")
	wantStatus(t, res, http.StatusOK)
	a.db.Close()
	wantStatus(t, a.client().get("/healthz"), http.StatusServiceUnavailable)
}

func TestInternalErrorPage(t *testing.T) {
	a := newApp(t)
	p := a.signup("owner@example.com", "Acme")
	a.db.Close()
	res := p.get(path(p.org, "members"))
	wantStatus(t, res, http.StatusInternalServerError)
	wantContains(t, res, "<h1>Something went wrong</h1>", "Please try again.")
	for _, leak := range []string{"sql", "database", "goroutine", ".go:"} {
		if strings.Contains(strings.ToLower(res.body), leak) {
			t.Errorf("the error page shows %q", leak)
		}
	}
}

func TestCookiesOverHTTPS(t *testing.T) {
	a := newAppAt(t, "https://panel.example.com")
	c := a.client()
	c.get("/login")
	req, _ := http.NewRequest(http.MethodPost, a.ts.URL+"/signup", strings.NewReader(url.Values{
		"_csrf": {c.csrf()}, "email": {"o@example.com"}, "password": {testPassword}, "first_name": {"O"}, "last_name": {"W"}, "org_name": {"Acme"},
	}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res := c.do(req)
	wantStatus(t, res, http.StatusSeeOther)
	var session string
	for _, line := range res.header.Values("Set-Cookie") {
		if strings.HasPrefix(line, "__Host-switchboard_session=") {
			session = line
		}
	}
	for _, want := range []string{"Secure", "HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(session, want) {
			t.Errorf("session cookie %q lacks %s", session, want)
		}
	}
	if strings.Contains(session, "Domain=") {
		t.Error("a __Host- cookie must not carry a Domain")
	}
	if !strings.Contains(res.header.Get("Strict-Transport-Security"), "max-age=") {
		t.Error("no HSTS over https")
	}

	plain := newApp(t).client().get("/login")
	if plain.header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS over plain http")
	}
}

// TestWeakPasswords: every place a password is chosen (sign-up, sign-up
// through an invitation, change, reset) refuses guessable ones and those
// built on the person's own email or name, with a sentence beside the
// field and what was typed kept.
func TestWeakPasswords(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	weak := []string{"Passw0rd!", "Summer2024!", "switchboard123"}

	t.Run("sign-up", func(t *testing.T) {
		for _, pw := range append(weak, "rafaela.quintero@example.org", "Quintero1987!") {
			res := a.client().post("/signup", url.Values{"email": {"rafaela.quintero@example.org"}, "first_name": {"Rafaela"}, "last_name": {"Quintero"}, "org_name": {"Q"}, "password": {pw}})
			wantStatus(t, res, http.StatusUnprocessableEntity)
			wantContains(t, res, `id="password-error"`, `value="Rafaela"`)
		}
	})
	t.Run("invitation sign-up", func(t *testing.T) {
		link := a.invite(owner, owner.org, "bartholomew.ng@example.org", "sender")
		for _, pw := range append(weak, "bartholomew.ng@example.org", "Bartholomew!2024") {
			res := a.client().post(link+"/signup", url.Values{"first_name": {"Bartholomew"}, "last_name": {"Ng"}, "password": {pw}})
			wantStatus(t, res, http.StatusUnprocessableEntity)
			wantContains(t, res, `id="password-error"`)
		}
	})
	t.Run("change", func(t *testing.T) {
		for _, pw := range append(weak, "owner@example.com") {
			res := owner.post("/account/password", url.Values{"current_password": {testPassword}, "new_password": {pw}})
			wantStatus(t, res, http.StatusUnprocessableEntity)
			wantContains(t, res, `id="new_password-error"`)
		}
	})
	t.Run("reset", func(t *testing.T) {
		a.client().post("/password/forgot", url.Values{"email": {"owner@example.com"}})
		a.srv.WaitBackground()
		link := a.outboxLink("owner@example.com", "/password/reset/")
		for _, pw := range append(weak, "owner@example.com") {
			res := a.client().post(link, url.Values{"password": {pw}})
			wantStatus(t, res, http.StatusUnprocessableEntity)
			wantContains(t, res, `id="password-error"`)
		}
		wantStatus(t, a.client().post(link, url.Values{"password": {"four random words fit"}}), http.StatusSeeOther)
	})
}
