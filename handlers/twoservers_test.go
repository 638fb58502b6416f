package handlers_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard"
	"switchboard/handlers"
	"switchboard/mail"
	"switchboard/mail/mailtest"
	"switchboard/store"
	"switchboard/store/storetest"
)

// TestTwoServersOneDatabase runs two panels on one database, as two
// processes behind a load balancer would (on PostgreSQL in its pass; two
// handles on one SQLite file in the other), each with its own mail worker
// sending to one SMTP server: an invitation sent through the first is
// accepted through the second, its email arrives once, and a session made
// by one is honoured by the other.
func TestTwoServersOneDatabase(t *testing.T) {
	smtp := mailtest.NewServer(t)
	first, _ := newDBApp(t)
	var apps [2]*app
	var workers [2]*mail.Worker
	for i := range apps {
		db := first.db
		if i == 1 {
			var err error
			if db, err = store.Open(context.Background(), first.dsn); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
		}
		sender, err := mail.NewSMTPSender(smtp.URL(), "panel@example.com")
		if err != nil {
			t.Fatal(err)
		}
		workers[i] = mail.NewWorker(db, sender, slog.New(slog.DiscardHandler))
		runWorker(t, workers[i])
		base, _ := url.Parse(testBaseURL)
		apps[i] = newAppOn(t, db, first.dsn, handlers.Config{BaseURL: base, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Mail: workers[i]})
	}
	one, two := apps[0], apps[1]

	owner := one.signup("owner@example.com", "Acme")
	wantStatus(t, owner.post(path(owner.org, "members"), url.Values{"email": {"bob@example.com"}, "role": {"sender"}}), http.StatusSeeOther)
	msg := smtp.WaitForMessage(t, "bob@example.com", 10*time.Second)
	link := strings.TrimPrefix(mailtest.FirstLink(msg.Text, testBaseURL+"/invitations/"), testBaseURL)
	if link == "" {
		t.Fatalf("no invitation link in:\n%s", msg.Text)
	}
	bob := two.join(link, "bob@example.com")
	if bob.org != owner.org {
		t.Fatalf("Bob joined organisation %d, want %d", bob.org, owner.org)
	}
	if m := membership(t, one.db, owner.org, bob.profile); m.Member.Role.Kind != switchboard.RoleSender {
		t.Fatalf("Bob's role seen through the first server: %s", m.Member.Role.Name)
	}

	// Both workers look again: nothing is left to send, and Bob's email
	// went out once.
	for _, w := range workers {
		if _, err := w.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for _, m := range smtp.Messages() {
		for _, to := range m.To {
			if to == "bob@example.com" {
				n++
			}
		}
	}
	if n != 1 {
		t.Fatalf("Bob was sent %d invitation emails, want 1", n)
	}

	// The owner's session cookie, made by the first server, works on the
	// second, and logging out through the second ends it on the first.
	c := two.client()
	c.hc.Jar.SetCookies(mustURL(two.ts.URL), []*http.Cookie{owner.sessionCookie()})
	res := c.get(path(owner.org, "members"))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "bob@example.com")
	wantStatus(t, c.post("/logout", nil), http.StatusSeeOther)
	if res := owner.get(path(owner.org, "members")); res.status == http.StatusOK {
		t.Fatal("the session logged out through the second server still works on the first")
	}
}

// newDBApp opens a database of the test's own, with no server yet.
func newDBApp(t *testing.T) (*app, *store.DB) {
	t.Helper()
	db, dsn := storetest.Open(t)
	return &app{t: t, dsn: dsn, db: db}, db
}

// runWorker runs w until the test ends.
func runWorker(t *testing.T, w *mail.Worker) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { w.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
}
