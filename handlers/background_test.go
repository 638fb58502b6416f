package handlers

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"switchboard/store/storetest"
	"sync/atomic"
	"testing"
)

// TestJobsDrainOnShutdown: jobs queued before shutdown still run once the
// background context is done, their errors are logged, and WaitBackground
// returns when they have.
func TestJobsDrainOnShutdown(t *testing.T) {
	db, _ := storetest.Open(t)
	var log strings.Builder
	s := New(db, Config{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	var ran atomic.Int32
	for range 5 {
		if err := s.enqueue(context.Background(), "count", func(ctx context.Context) error {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			ran.Add(1)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.enqueue(context.Background(), "broken", func(context.Context) error { return errors.New("smtp is down") }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // shutdown began before the queue ran at all
	s.StartBackground(ctx)
	s.WaitBackground()
	if ran.Load() != 5 {
		t.Fatalf("%d of 5 queued jobs ran at shutdown", ran.Load())
	}
	if !strings.Contains(log.String(), "job=broken") || !strings.Contains(log.String(), "smtp is down") {
		t.Fatalf("the failing job was not logged:\n%s", log.String())
	}
}
