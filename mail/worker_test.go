package mail_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard"
	"switchboard/mail"
	"switchboard/mail/mailtest"
	"switchboard/store"
	"switchboard/store/storetest"
)

// syncBuffer is a log destination that the worker's goroutine and the test
// may use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func openStore(t *testing.T) *store.DB {
	t.Helper()
	db, _ := storetest.Open(t)
	return db
}

// TestMain runs the worker's tests on SQLite, then on PostgreSQL when
// SWITCHBOARD_POSTGRES_URL names a server.
func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// queueReset puts a password reset email for a new profile into the
// outbox, the way the handlers will, and returns the email.
func queueReset(t *testing.T, db *store.DB, address string) *switchboard.Email {
	t.Helper()
	ctx := context.Background()
	p := &switchboard.Profile{Email: address, FirstName: "Jane", LastName: "Doe"}
	if err := db.CreateProfileWithOrganisation(ctx, p, "hash", &switchboard.Organisation{Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	e, err := mail.PasswordReset(mail.PasswordResetMessage{To: address, Name: p.Name(), Link: "https://switchboard.example.com/reset/" + address, Lifetime: store.PasswordResetLifetime})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreatePasswordReset(ctx, p.ID, []byte("hash of "+address), e); err != nil {
		t.Fatal(err)
	}
	return e
}

// unsent returns every unsent email in the outbox, due or not.
func unsent(t *testing.T, db *store.DB) []switchboard.Email {
	t.Helper()
	list, err := db.DueEmails(context.Background(), time.Now().Add(1000*time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func TestWorkerRetriesUntilTheServerIsBack(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	srv := mailtest.NewServer(t)
	sender := newSender(t, srv.URL())
	var logs syncBuffer
	w := mail.NewWorker(db, sender, slog.New(slog.NewTextHandler(&logs, nil)))
	queued := queueReset(t, db, "jane@example.com")
	// Queued a moment ago: due now.
	now := time.Now().Truncate(time.Millisecond)
	w.Now = func() time.Time { return now }

	// The server is down: the email stays, with one attempt and a next one
	// 30 s (plus jitter) later.
	srv.Stop()
	sent, err := w.Flush(ctx)
	if err == nil || sent != 0 {
		t.Fatalf("Flush with the server down = %d, %v; want 0 and an error", sent, err)
	}
	list := unsent(t, db)
	if len(list) != 1 {
		t.Fatalf("%d unsent emails, want 1", len(list))
	}
	e := list[0]
	if e.Attempts != 1 {
		t.Errorf("attempts = %d, want 1", e.Attempts)
	}
	if wait := e.NextAttemptAt.Sub(now); wait < mail.BackoffMin || wait > mail.BackoffMin+mail.BackoffMin/10 {
		t.Errorf("next attempt in %s, want 30 s to 33 s", wait)
	}
	if e.LastError == "" {
		t.Error("the failure's reason was not kept")
	}
	if next, ok, err := db.NextEmailAt(ctx); err != nil || !ok || !next.Equal(e.NextAttemptAt) {
		t.Errorf("NextEmailAt = %s, %v, %v; want %s", next, ok, err, e.NextAttemptAt)
	}
	out := logs.String()
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "jane@example.com") || !strings.Contains(out, "attempts=1") {
		t.Errorf("the failure was not logged:\n%s", out)
	}
	if strings.Contains(out, "https://switchboard.example.com/reset/") {
		t.Errorf("the log holds the body, and its token:\n%s", out)
	}

	// Back up, but the retry is not due yet: nothing is sent.
	srv.Start()
	if sent, err := w.Flush(ctx); err != nil || sent != 0 {
		t.Fatalf("Flush before the retry is due = %d, %v; want 0, nil", sent, err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("%d messages arrived before the retry was due", n)
	}

	// Past the backoff: sent, exactly once.
	now = now.Add(time.Minute)
	if sent, err := w.Flush(ctx); err != nil || sent != 1 {
		t.Fatalf("Flush after the backoff = %d, %v; want 1, nil", sent, err)
	}
	m := srv.WaitForMessage(t, "jane@example.com", 5*time.Second)
	if m.Subject != queued.Subject || m.Text != queued.Text || m.HTML != queued.HTML {
		t.Errorf("delivered %q, want the queued email %q", m.Subject, queued.Subject)
	}
	if list := unsent(t, db); len(list) != 0 {
		t.Errorf("%d emails still unsent", len(list))
	}
	if _, ok, err := db.NextEmailAt(ctx); err != nil || ok {
		t.Errorf("NextEmailAt after sending = %v, %v; want an empty outbox", ok, err)
	}

	now = now.Add(time.Hour)
	if sent, err := w.Flush(ctx); err != nil || sent != 0 {
		t.Fatalf("second Flush = %d, %v; want 0, nil", sent, err)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("%d messages arrived, want exactly 1", n)
	}
}

func TestWorkerBackoffGrows(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	srv := mailtest.NewServer(t)
	srv.Stop()
	w := mail.NewWorker(db, newSender(t, srv.URL()), slog.New(slog.DiscardHandler))
	queueReset(t, db, "jane@example.com")
	now := time.Now().Truncate(time.Millisecond)
	w.Now = func() time.Time { return now }
	var asked []int
	w.Backoff = func(attempts int) time.Duration {
		asked = append(asked, attempts)
		return time.Duration(attempts) * time.Minute
	}

	for attempt := 1; attempt <= 3; attempt++ {
		if _, err := w.Flush(ctx); err == nil {
			t.Fatal("Flush with the server down: no error")
		}
		e := unsent(t, db)[0]
		if e.Attempts != attempt || !e.NextAttemptAt.Equal(now.Add(time.Duration(attempt)*time.Minute)) {
			t.Fatalf("after attempt %d: attempts %d, next in %s", attempt, e.Attempts, e.NextAttemptAt.Sub(now))
		}
		now = e.NextAttemptAt
	}
	if want := []int{1, 2, 3}; !slices.Equal(asked, want) {
		t.Errorf("Backoff asked for %v, want %v", asked, want)
	}
}

// A Backoff of zero makes a failed email due again at once; one Flush still
// tries it only once.
func TestWorkerFlushTriesEachEmailOnce(t *testing.T) {
	db := openStore(t)
	srv := mailtest.NewServer(t)
	srv.Stop()
	w := mail.NewWorker(db, newSender(t, srv.URL()), slog.New(slog.DiscardHandler))
	w.Backoff = func(int) time.Duration { return 0 }
	queueReset(t, db, "jane@example.com")
	queueReset(t, db, "john@example.com")

	if _, err := w.Flush(context.Background()); err == nil {
		t.Fatal("no error")
	}
	for _, e := range unsent(t, db) {
		if e.Attempts != 1 {
			t.Errorf("email to %s tried %d times, want 1", e.To, e.Attempts)
		}
	}
}

func TestDefaultBackoff(t *testing.T) {
	for attempts, want := range map[int]time.Duration{
		0: 30 * time.Second, 1: 30 * time.Second, 2: time.Minute, 3: 2 * time.Minute, 7: 32 * time.Minute,
		8: time.Hour, 9: time.Hour, 40: time.Hour, 1000: time.Hour,
	} {
		for range 20 {
			got := mail.DefaultBackoff(attempts)
			if got < want || got > want+want/10 {
				t.Errorf("DefaultBackoff(%d) = %s, want %s plus at most a tenth", attempts, got, want)
			}
		}
	}
}

func TestWorkerRunSendsOnNotify(t *testing.T) {
	db := openStore(t)
	srv := mailtest.NewServer(t)
	w := mail.NewWorker(db, newSender(t, srv.URL()), slog.New(slog.DiscardHandler))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})

	// Run has found the outbox empty and sleeps for up to a minute; Notify
	// wakes it.
	time.Sleep(50 * time.Millisecond)
	queueReset(t, db, "jane@example.com")
	w.Notify()
	w.Notify() // never blocks
	m := srv.WaitForMessage(t, "jane@example.com", 5*time.Second)
	if link := mailtest.FirstLink(m.Text, "https://switchboard.example.com/reset/"); link != "https://switchboard.example.com/reset/jane@example.com" {
		t.Errorf("link = %q", link)
	}

	queueReset(t, db, "john@example.com")
	w.Notify()
	srv.WaitForMessage(t, "john@example.com", 5*time.Second)

	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if n := len(srv.Messages()); n != 2 {
		t.Errorf("%d messages arrived, want 2", n)
	}
}

// Run sleeps until a failed email is due again, and sends it then without
// being told.
func TestWorkerRunRetries(t *testing.T) {
	db := openStore(t)
	srv := mailtest.NewServer(t)
	w := mail.NewWorker(db, newSender(t, srv.URL()), slog.New(slog.DiscardHandler))
	w.Backoff = func(int) time.Duration { return 300 * time.Millisecond }
	srv.Stop()
	queueReset(t, db, "jane@example.com")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})

	deadline := time.Now().Add(5 * time.Second)
	for {
		list := unsent(t, db)
		if len(list) == 1 && list[0].Attempts >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Run did not try the email")
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv.Start()
	srv.WaitForMessage(t, "jane@example.com", 10*time.Second)
	time.Sleep(100 * time.Millisecond)
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("%d messages arrived, want 1", n)
	}
	if list := unsent(t, db); len(list) != 0 {
		t.Errorf("%d emails still unsent", len(list))
	}
}

func TestNotifyOnNilWorker(t *testing.T) {
	var w *mail.Worker
	w.Notify()
}
