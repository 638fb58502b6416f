package store_test

import (
	"context"
	"testing"
	"time"

	"switchboard/store"
)

// The session store must satisfy scs.Store and scs.CtxStore; the store does
// not import scs, so the interfaces are spelled out here.
var _ interface {
	Find(token string) ([]byte, bool, error)
	Commit(token string, b []byte, expiry time.Time) error
	Delete(token string) error
	FindCtx(ctx context.Context, token string) ([]byte, bool, error)
	CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error
	DeleteCtx(ctx context.Context, token string) error
} = (*store.SessionStore)(nil)

func TestSessions(t *testing.T) {
	find := func(t *testing.T, s *store.SessionStore, token string) ([]byte, bool) {
		t.Helper()
		b, found, err := s.FindCtx(ctx, token)
		must(t, err)
		return b, found
	}

	t.Run("round trip", func(t *testing.T) {
		s := newDB(t).Sessions()
		must(t, s.CommitCtx(ctx, "token-1", []byte("first"), t0.Add(time.Hour)))
		if b, found := find(t, s, "token-1"); !found || string(b) != "first" {
			t.Fatalf("found %q, %v", b, found)
		}
		must(t, s.CommitCtx(ctx, "token-1", []byte("second"), t0.Add(2*time.Hour)))
		if b, found := find(t, s, "token-1"); !found || string(b) != "second" {
			t.Fatalf("after a second commit: %q, %v", b, found)
		}
		if _, found := find(t, s, "token-2"); found {
			t.Error("an unknown token was found")
		}
		must(t, s.DeleteCtx(ctx, "token-1"))
		if _, found := find(t, s, "token-1"); found {
			t.Error("a deleted session was found")
		}
		must(t, s.DeleteCtx(ctx, "token-1"))

		// The scs.Store methods without a context do the same.
		must(t, s.Commit("token-3", []byte("third"), t0.Add(time.Hour)))
		if b, found, err := s.Find("token-3"); err != nil || !found || string(b) != "third" {
			t.Errorf("Find: %q, %v, %v", b, found, err)
		}
		must(t, s.Delete("token-3"))
		if _, found, _ := s.Find("token-3"); found {
			t.Error("Delete did not delete")
		}
	})

	t.Run("an expired session is not found", func(t *testing.T) {
		db := newDB(t)
		s := db.Sessions()
		must(t, s.CommitCtx(ctx, "token", []byte("data"), t0.Add(time.Hour)))
		setNow(db, t0.Add(time.Hour-time.Second))
		if _, found := find(t, s, "token"); !found {
			t.Fatal("not found before it expired")
		}
		for _, d := range []time.Duration{time.Hour, time.Hour + time.Second, 48 * time.Hour} {
			setNow(db, t0.Add(d))
			if _, found := find(t, s, "token"); found {
				t.Errorf("found %v after t0, expiring after 1h", d)
			}
		}
	})

	t.Run("delete expired", func(t *testing.T) {
		db := newDB(t)
		s := db.Sessions()
		must(t, s.CommitCtx(ctx, "old", []byte("old"), t0.Add(time.Hour)))
		must(t, s.CommitCtx(ctx, "fresh", []byte("fresh"), t0.Add(48*time.Hour)))
		setNow(db, t0.Add(2*time.Hour))
		must(t, s.DeleteExpired(ctx))
		// Turn the clock back: only a deleted row stays unfound.
		setNow(db, t0)
		if _, found := find(t, s, "old"); found {
			t.Error("DeleteExpired kept an expired session")
		}
		if _, found := find(t, s, "fresh"); !found {
			t.Error("DeleteExpired removed a live session")
		}
	})
}
