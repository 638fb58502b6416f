package mail_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"switchboard/mail"
	"switchboard/mail/mailtest"
	"switchboard/store"
	"switchboard/store/storetest"
)

// TestTwoWorkersSendEachEmailOnce runs two workers, each on its own handle
// of one database as two processes would, over 200 queued emails: every
// email reaches the SMTP server exactly once.
func TestTwoWorkersSendEachEmailOnce(t *testing.T) {
	ctx := context.Background()
	db, dsn := storetest.Open(t)
	const n = 200
	for i := range n {
		queueReset(t, db, fmt.Sprintf("person%03d@example.com", i))
	}
	other, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	srv := mailtest.NewServer(t)
	run, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	workers := []*mail.Worker{
		mail.NewWorker(db, newSender(t, srv.URL()), slog.New(slog.DiscardHandler)),
		mail.NewWorker(other, newSender(t, srv.URL()), slog.New(slog.DiscardHandler)),
	}
	for _, w := range workers {
		wg.Go(func() { w.Run(run) })
	}
	deadline := time.Now().Add(60 * time.Second)
	for len(srv.Messages()) < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	wg.Wait()
	// Whatever is left, either worker may send now; nothing should be.
	for _, w := range workers {
		if sent, err := w.Flush(ctx); sent != 0 || err != nil {
			t.Errorf("Flush after the run sent %d, %v; want nothing left", sent, err)
		}
	}

	got := map[string]int{}
	for _, m := range srv.Messages() {
		for _, to := range m.To {
			got[to]++
		}
	}
	for i := range n {
		if to := fmt.Sprintf("person%03d@example.com", i); got[to] != 1 {
			t.Errorf("%s got %d emails, want 1", to, got[to])
		}
	}
	if len(srv.Messages()) != n {
		t.Errorf("%d emails delivered, want %d", len(srv.Messages()), n)
	}
	if left := unsent(t, db); len(left) != 0 {
		t.Errorf("%d emails still unsent", len(left))
	}
}

// TestEmailOfADeadProcessIsSentByAnother: a process claimed an email and
// died before sending it; another process's worker leaves it alone during
// the lease and sends it once the lease has run out.
func TestEmailOfADeadProcessIsSentByAnother(t *testing.T) {
	ctx := context.Background()
	db, _ := storetest.Open(t)
	queueReset(t, db, "jane@example.com")
	// The dead process's claim.
	if claimed, err := db.ClaimEmails(ctx, time.Now(), 10); err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %d, %v", len(claimed), err)
	}

	srv := mailtest.NewServer(t)
	w := mail.NewWorker(db, newSender(t, srv.URL()), slog.New(slog.DiscardHandler))
	if sent, err := w.Flush(ctx); sent != 0 || err != nil {
		t.Fatalf("Flush during the lease = %d, %v; want nothing sent", sent, err)
	}
	w.Now = func() time.Time { return time.Now().Add(store.EmailLease + time.Second) }
	if sent, err := w.Flush(ctx); sent != 1 || err != nil {
		t.Fatalf("Flush after the lease = %d, %v; want the email sent", sent, err)
	}
	srv.WaitForMessage(t, "jane@example.com", 5*time.Second)
}
