package handlers_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"switchboard/mail"
	"switchboard/mail/mailtest"
	"switchboard/store/storetest"
)

// mailer sends what the app queued through a real SMTP conversation with
// a server inside the test.
func (a *app) mailer(t *testing.T) (*mail.Worker, *mailtest.Server) {
	t.Helper()
	smtp := mailtest.NewServer(t)
	sender, err := mail.NewSMTPSender(smtp.URL(), "panel@example.com")
	if err != nil {
		t.Fatal(err)
	}
	return mail.NewWorker(a.db, sender, slog.New(slog.NewTextHandler(io.Discard, nil))), smtp
}

func TestPasswordReset(t *testing.T) {
	a := newApp(t)
	worker, smtp := a.mailer(t)
	p := a.signup("owner@example.com", "Acme")
	stale := a.login("owner@example.com", testPassword)

	// The answer is the same whether the email is registered or not.
	known := a.client().post("/password/forgot", url.Values{"email": {"owner@example.com"}})
	unknown := a.client().post("/password/forgot", url.Values{"email": {"nobody@example.com"}})
	wantStatus(t, known, http.StatusOK)
	wantStatus(t, unknown, http.StatusOK)
	if strings.ReplaceAll(csrfValue.ReplaceAllString(known.body, ""), "owner@", "") != strings.ReplaceAll(csrfValue.ReplaceAllString(unknown.body, ""), "nobody@", "") {
		t.Fatal("the answers for a registered and an unknown email differ")
	}
	wantContains(t, known, "If an account exists for owner@example.com")

	// A second request makes a second link; the first reset kills it.
	a.client().post("/password/forgot", url.Values{"email": {"owner@example.com"}})
	a.srv.WaitBackground()
	if n, err := worker.Flush(context.Background()); err != nil || n != 2 {
		t.Fatalf("flush sent %d, %v; want the 2 reset emails", n, err)
	}
	msgs := smtp.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d emails arrived, want 2 (none for the unknown address)", len(msgs))
	}
	first := mailtest.FirstLink(msgs[0].Text, testBaseURL+"/password/reset/")
	second := mailtest.FirstLink(msgs[1].Text, testBaseURL+"/password/reset/")
	if first == "" || second == "" || first == second {
		t.Fatalf("links %q and %q", first, second)
	}
	if !strings.Contains(msgs[0].HTML, first) || msgs[0].Subject == "" {
		t.Fatalf("HTML body lacks the link or subject missing: %+v", msgs[0])
	}
	link := strings.TrimPrefix(second, testBaseURL)
	if len(strings.TrimPrefix(link, "/password/reset/")) < 40 {
		t.Fatalf("token %q is too short for 256 bits", link)
	}

	// Opening the link changes nothing; a bad password keeps the link alive.
	c := a.client()
	res := c.get(link)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, `<label for="password">New password</label>`)
	res = c.post(link, url.Values{"password": {"short"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="password-error"`)

	wantStatus(t, c.post(link, url.Values{"password": {"a brand new passphrase"}}), http.StatusSeeOther)
	res = c.get("/login")
	wantContains(t, res, "Your password was changed.")

	// Used once; the other link died with it; sessions made before ended.
	wantStatus(t, a.client().get(link), http.StatusGone)
	wantStatus(t, a.client().post(link, url.Values{"password": {"yet another passphrase"}}), http.StatusGone)
	wantStatus(t, a.client().get(strings.TrimPrefix(first, testBaseURL)), http.StatusGone)
	wantStatus(t, stale.get("/orgs"), http.StatusSeeOther)
	wantStatus(t, p.get("/orgs"), http.StatusSeeOther)
	wantStatus(t, a.client().post("/login", url.Values{"email": {"owner@example.com"}, "password": {testPassword}}), http.StatusUnprocessableEntity)
	a.login("owner@example.com", "a brand new passphrase")
}

func TestPasswordResetExpires(t *testing.T) {
	a := newApp(t)
	a.signup("owner@example.com", "Acme")
	a.client().post("/password/forgot", url.Values{"email": {"owner@example.com"}})
	link := a.outboxLink("owner@example.com", "/password/reset/")
	a.db.Now = func() time.Time { return time.Now().Add(61 * time.Minute) }
	defer func() { a.db.Now = time.Now }()
	res := a.client().get(link)
	wantStatus(t, res, http.StatusGone)
	wantContains(t, res, "has expired or was already used")
}

func TestPasswordResetLinkUsesBaseURL(t *testing.T) {
	a := newApp(t)
	a.signup("owner@example.com", "Acme")
	c := a.client()
	token := c.csrf()
	req, _ := http.NewRequest(http.MethodPost, a.ts.URL+"/password/forgot", strings.NewReader(url.Values{"email": {"owner@example.com"}, "_csrf": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// Go's client picks cookies by Host, so the session cookie goes by hand.
	req.AddCookie(c.sessionCookie())
	req.Host = "evil.example"
	req.Header.Set("X-Forwarded-Host", "evil.example")
	wantStatus(t, a.client().do(req), http.StatusOK)
	a.srv.WaitBackground()
	emails, err := a.db.DueEmails(context.Background(), time.Now().Add(time.Hour), 10)
	if err != nil || len(emails) != 1 {
		t.Fatalf("%d emails, %v", len(emails), err)
	}
	if strings.Contains(emails[0].Text, "evil.example") || !strings.Contains(emails[0].Text, testBaseURL+"/password/reset/") {
		t.Fatalf("link not built from --base-url:\n%s", emails[0].Text)
	}
}

// TestPasswordResetOffRequestPath: the answer to /password/forgot does not
// wait for the lookup, the token or the outbox, so its time cannot tell a
// registered email from an unknown one. With the database's write lock
// held by someone else, both answers still come at once; the email is
// queued once the lock is free, and only for the registered address.
func TestPasswordResetOffRequestPath(t *testing.T) {
	a := newApp(t)
	a.signup("owner@example.com", "Acme")
	known, unknown := a.client(), a.client()
	knownTok, unknownTok := known.csrf(), unknown.csrf()

	// SQLite's write lock, or on PostgreSQL a lock on the table the reset
	// writes to that lets reads through.
	lock := "BEGIN IMMEDIATE"
	if storetest.Postgres() {
		lock = "BEGIN; LOCK TABLE password_resets IN EXCLUSIVE MODE"
	}
	conn, err := a.raw().DB.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), lock); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		*client
		email, tok string
	}{{known, "owner@example.com", knownTok}, {unknown, "nobody@example.com", unknownTok}} {
		res := c.postRaw("/password/forgot", url.Values{"email": {c.email}, "_csrf": {c.tok}})
		wantStatus(t, res, http.StatusOK)
		wantContains(t, res, "If an account exists for "+c.email)
	}
	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}

	a.srv.WaitBackground()
	emails, err := a.db.DueEmails(context.Background(), time.Now().Add(time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(emails) != 1 || emails[0].To != "owner@example.com" {
		t.Fatalf("outbox holds %+v, want one email to owner@example.com", emails)
	}
}

// BenchmarkForgot measures /password/forgot for a registered and for an
// unknown email, through the real server: the two must be alike. The
// background job runs between requests, outside the timer.
func BenchmarkForgot(b *testing.B) {
	a := newApp(b)
	a.signup("owner@example.com", "Acme")
	c := a.client()
	tok := c.csrf()
	cookie := c.sessionCookie()
	for _, bc := range []struct{ name, email string }{
		{"registered", "owner@example.com"},
		{"unknown", "nobody@example.com"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			body := url.Values{"email": {bc.email}, "_csrf": {tok}}.Encode()
			i := 0
			for b.Loop() {
				i++
				req := httptest.NewRequest(http.MethodPost, "/password/forgot", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.AddCookie(cookie)
				// A new client address each time, so the per-address limit
				// stays out of the figures.
				req.RemoteAddr = "10." + itoa(int64(i>>16&255)) + "." + itoa(int64(i>>8&255)) + "." + itoa(int64(i&255)) + ":1234"
				rec := httptest.NewRecorder()
				a.srv.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
				b.StopTimer()
				a.srv.WaitBackground()
				b.StartTimer()
			}
		})
	}
}
