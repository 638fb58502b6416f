package mail_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/mail"
	"switchboard/mail/mailtest"
	"switchboard/store"
)

// defaultSender is a sender with the production timeouts, which is what the
// tests of hung servers are about.
func defaultSender(t *testing.T, rawURL string) *mail.SMTPSender {
	t.Helper()
	s, err := mail.NewSMTPSender(rawURL, from)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// runWorker runs w until the returned stop is called; stop fails the test
// if Run takes more than limit to return.
func runWorker(t *testing.T, w *mail.Worker) (stop func(limit time.Duration)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx)
	}()
	stopped := false
	stop = func(limit time.Duration) {
		t.Helper()
		if stopped {
			return
		}
		stopped = true
		cancel()
		start := time.Now()
		select {
		case <-done:
		case <-time.After(limit):
			t.Fatalf("Run did not return within %s of its context ending", limit)
		}
		t.Logf("Run returned %s after its context ended", time.Since(start).Round(time.Millisecond))
	}
	t.Cleanup(func() { cancel(); <-done })
	return stop
}

// Point 13: a server that accepts the connection and never answers must not
// hold the Worker's stop; the email stays queued and the attempt is not
// counted.
func TestWorkerStopClosesTheConnectionOfAStuckServer(t *testing.T) {
	db := openStore(t)
	silent := mailtest.NewSilentServer(t)
	w := mail.NewWorker(db, defaultSender(t, silent.URL()), slog.New(slog.DiscardHandler))
	queueReset(t, db, "jane@example.com")

	stop := runWorker(t, w)
	silent.WaitFor(t, 5*time.Second, func(accepted, open int) bool { return accepted == 1 && open == 1 })
	stop(3 * time.Second)
	// The Worker closed its connection itself.
	silent.WaitFor(t, 3*time.Second, func(_, open int) bool { return open == 0 })

	list := unsent(t, db)
	if len(list) != 1 {
		t.Fatalf("%d unsent emails, want the one queued", len(list))
	}
	if e := list[0]; e.Attempts != 0 || e.LastError != "" {
		t.Errorf("the attempt cut by the stop was counted: attempts %d, last error %q", e.Attempts, e.LastError)
	}
}

// Point 14: one recipient whose server hangs does not hold the others,
// neither those queued with it nor those queued while it hangs.
func TestWorkerHungRecipientDoesNotHoldTheOthers(t *testing.T) {
	db := openStore(t)
	srv := mailtest.NewServer(t)
	srv.Hang("stuck@example.com")
	w := mail.NewWorker(db, defaultSender(t, srv.URL()), slog.New(slog.DiscardHandler))
	queueReset(t, db, "stuck@example.com") // first in line
	others := []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com", "e@example.com"}
	for _, to := range others {
		queueReset(t, db, to)
	}

	stop := runWorker(t, w)
	// Far less than the 15 s a delivery may take.
	for _, to := range others {
		srv.WaitForMessage(t, to, 5*time.Second)
	}
	queueReset(t, db, "late@example.com")
	w.Notify()
	srv.WaitForMessage(t, "late@example.com", 5*time.Second)

	// late's delivery is marked sent once the server has answered it.
	deadline := time.Now().Add(5 * time.Second)
	for len(unsent(t, db)) > 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stop(3 * time.Second)
	list := unsent(t, db)
	if len(list) != 1 || list[0].To != "stuck@example.com" || list[0].Attempts != 0 {
		t.Fatalf("unsent after the stop: %+v; want only stuck@example.com, its attempt not counted", list)
	}
	if n := len(srv.Messages()); n != len(others)+1 {
		t.Errorf("%d messages arrived, want %d", n, len(others)+1)
	}
}

// A hung recipient costs one delivery no more than Timeout, even when each
// command may take longer.
func TestSMTPSenderTimeoutBoundsAHungRecipient(t *testing.T) {
	srv := mailtest.NewServer(t)
	srv.Hang("stuck@example.com")
	s := defaultSender(t, srv.URL())
	s.Timeout, s.CommandTimeout = time.Second, time.Minute
	e := invitation(t, "Acme")
	e.To = "stuck@example.com"
	done := make(chan error, 1)
	go func() { done <- s.Send(context.Background(), e) }()
	select {
	case err := <-done:
		var refused *mail.RefusedError
		if err == nil || errors.As(err, &refused) {
			t.Fatalf("Send to a hung recipient = %v; want an error worth retrying", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Send to a hung recipient did not return within 10 s")
	}
}

// However Run and Flush overlap, each email goes out once.
func TestWorkerSendsEachEmailOnce(t *testing.T) {
	db := openStore(t)
	srv := mailtest.NewServer(t)
	w := mail.NewWorker(db, newSender(t, srv.URL()), slog.New(slog.DiscardHandler))
	var addresses []string
	for i := range 30 {
		to := string(rune('a'+i%26)) + strings.Repeat("x", i/26) + "@example.com"
		addresses = append(addresses, to)
		queueReset(t, db, to)
	}
	stop := runWorker(t, w)
	var flushes sync.WaitGroup
	for range 3 {
		flushes.Go(func() { w.Flush(context.Background()) })
	}
	for _, to := range addresses {
		srv.WaitForMessage(t, to, 10*time.Second)
	}
	flushes.Wait()
	// The last delivery is marked sent once the server has answered it.
	deadline := time.Now().Add(5 * time.Second)
	for len(unsent(t, db)) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stop(5 * time.Second)
	if n := len(srv.Messages()); n != len(addresses) {
		t.Fatalf("%d messages arrived for %d emails", n, len(addresses))
	}
	if list := unsent(t, db); len(list) != 0 {
		t.Errorf("%d emails still unsent", len(list))
	}
}

// Point 15: a 550 is final at once, with the server's answer kept.
func TestWorkerGivesUpOnA550(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	srv := mailtest.NewServer(t)
	srv.Refuse("gone@example.com", 550, "5.1.1 <gone@example.com>: Recipient address rejected: User unknown")
	var logs syncBuffer
	w := mail.NewWorker(db, newSender(t, srv.URL()), slog.New(slog.NewTextHandler(&logs, nil)))
	asked := 0
	w.Backoff = func(int) time.Duration { asked++; return 0 }
	queueReset(t, db, "gone@example.com")
	queueReset(t, db, "jane@example.com")

	if sent, err := w.Flush(ctx); sent != 1 || err == nil {
		t.Fatalf("Flush = %d, %v; want 1 sent and an error for the refused one", sent, err)
	}
	if list := unsent(t, db); len(list) != 0 {
		t.Fatalf("still queued after a 550: %+v", list)
	}
	if asked != 0 {
		t.Errorf("a retry was planned %d times", asked)
	}
	if _, ok, err := db.NextEmailAt(ctx); err != nil || ok {
		t.Errorf("NextEmailAt = %v, %v; want nothing left to send", ok, err)
	}
	if sent, err := w.Flush(ctx); sent != 0 || err != nil {
		t.Errorf("a second Flush = %d, %v; want nothing to do", sent, err)
	}
	if out := logs.String(); !strings.Contains(out, "given up") || !strings.Contains(out, `answer="550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown"`) {
		t.Errorf("the refusal was not logged with the answer:\n%s", out)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("%d messages arrived, want jane's only", n)
	}
}

// Point 15: a 451 is temporary: the email is retried with the backoff.
func TestWorkerRetriesA451(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	srv := mailtest.NewServer(t)
	srv.Refuse("busy@example.com", 451, "4.7.1 Greylisted, try again later")
	w := mail.NewWorker(db, newSender(t, srv.URL()), slog.New(slog.DiscardHandler))
	queueReset(t, db, "busy@example.com")
	now := time.Now().Add(time.Millisecond).Truncate(time.Millisecond) // the email is due
	w.Now = func() time.Time { return now }

	for attempt := 1; attempt <= 2; attempt++ {
		if sent, err := w.Flush(ctx); sent != 0 || err == nil {
			t.Fatalf("attempt %d: Flush = %d, %v; want 0 and an error", attempt, sent, err)
		}
		list := unsent(t, db)
		if len(list) != 1 || list[0].Attempts != attempt || !strings.Contains(list[0].LastError, "451") {
			t.Fatalf("after attempt %d: %+v; want the email queued, with %d attempts and the 451", attempt, list, attempt)
		}
		if wait := list[0].NextAttemptAt.Sub(now); wait < mail.BackoffMin {
			t.Fatalf("after attempt %d: next in %s, want the backoff", attempt, wait)
		}
		now = list[0].NextAttemptAt
	}
}

// failMarkSentOnce is the real store, whose first MarkEmailSent fails after
// the email went out, as a crash between sending and marking would.
type failMarkSentOnce struct {
	*store.DB
	failed atomic.Bool
}

func (f *failMarkSentOnce) MarkEmailSent(ctx context.Context, id int64, at time.Time) error {
	if f.failed.CompareAndSwap(false, true) {
		return errors.New("disk full")
	}
	return f.DB.MarkEmailSent(ctx, id, at)
}

// Point 16: an email delivered twice carries the same Message-ID both times,
// at the sender's domain; two emails carry different ones.
func TestMessageIDStableAcrossRepeats(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	srv := mailtest.NewServer(t)
	w := mail.NewWorker(&failMarkSentOnce{DB: db}, newSender(t, srv.URL()), slog.New(slog.DiscardHandler))
	queueReset(t, db, "jane@example.com")
	queued := unsent(t, db)[0]

	if sent, err := w.Flush(ctx); sent != 1 || err == nil || !strings.Contains(err.Error(), "not marked as sent") {
		t.Fatalf("first Flush = %d, %v; want 1 and an error from marking", sent, err)
	}
	// Unmarked, the email stays claimed by the worker that sent it until
	// its lease runs out, as after a crash; then it goes out again.
	if sent, err := w.Flush(ctx); sent != 0 || err != nil {
		t.Fatalf("second Flush within the lease = %d, %v; want nothing sent", sent, err)
	}
	w.Now = func() time.Time { return time.Now().Add(store.EmailLease + time.Second) }
	if sent, err := w.Flush(ctx); sent != 1 || err != nil {
		t.Fatalf("Flush after the lease = %d, %v; want the repeat", sent, err)
	}
	first := srv.WaitForMessage(t, "jane@example.com", 5*time.Second).Header.Get("Message-Id")
	second := srv.WaitForMessage(t, "jane@example.com", 5*time.Second).Header.Get("Message-Id")
	if want := "<" + queued.MessageID + "@example.com>"; first != want || second != want || queued.MessageID == "" {
		t.Fatalf("Message-IDs %q and %q; want %q both times", first, second, want)
	}

	queueReset(t, db, "john@example.com")
	if _, err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	other := srv.WaitForMessage(t, "john@example.com", 5*time.Second).Header.Get("Message-Id")
	if other == "" || other == first {
		t.Fatalf("another email's Message-ID is %q, the first's %q", other, first)
	}
}
