package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"switchboard"
	"switchboard/mail/mailtest"
	"switchboard/store"
)

// TestSIGTERMWithAStuckSMTPServer runs the real binary against an SMTP
// server that accepts the connection and never answers: SIGTERM still stops
// it within 10 s, the connection is closed, and the email stays queued with
// its attempt not counted.
func TestSIGTERMWithAStuckSMTPServer(t *testing.T) {
	bin := buildBinary(t)
	run := t.TempDir()
	silent := mailtest.NewSilentServer(t)

	// An email waits in the outbox when the panel starts.
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(run, "panel.db"))
	if err != nil {
		t.Fatal(err)
	}
	p := &switchboard.Profile{Email: "jane@example.com", FirstName: "Jane", LastName: "Doe"}
	if err := db.CreateProfileWithOrganisation(ctx, p, "hash", &switchboard.Organisation{Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreatePasswordReset(ctx, p.ID, []byte("a token hash"), &switchboard.Email{To: p.Email, Subject: "Reset", Text: "link"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	cmd, _, lines := startBinary(t, bin, run, "--smtp-url", silent.URL(), "--mail-from", "panel@example.com")
	go func() {
		for lines.Scan() {
		}
	}()

	// The worker is stuck waiting for the greeting.
	silent.WaitFor(t, 10*time.Second, func(accepted, open int) bool { return accepted == 1 && open == 1 })
	start := time.Now()
	sigterm(t, cmd, 10*time.Second)
	t.Logf("stopped %s after SIGTERM", time.Since(start).Round(time.Millisecond))
	silent.WaitFor(t, 5*time.Second, func(_, open int) bool { return open == 0 })

	db, err = store.Open(ctx, filepath.Join(run, "panel.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	list, err := db.DueEmails(ctx, time.Now().Add(1000*time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Attempts != 0 || list[0].LastError != "" {
		t.Fatalf("outbox after the stop: %+v; want the email queued, its attempt not counted", list)
	}
}
