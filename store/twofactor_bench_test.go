package store_test

import (
	"testing"
)

// BenchmarkTwoFactorLoginStep is the database's part of a login's Code
// step: store the challenge, read it back, complete it with a code of a new
// time step (the conditional UPDATE that refuses replays, in the same
// transaction as the challenge's deletion).
func BenchmarkTwoFactorLoginStep(b *testing.B) {
	db, _ := newDBWithPath(b)
	p, _ := newOwner(b, db, "Ada", "Lovelace", "ada@example.com")
	enableTwoFactor(b, db, p)
	step := int64(1000)
	for b.Loop() {
		h := newTokenHash(b)
		must(b, db.CreateLoginChallenge(ctx, h, p.ID, "/orgs", "192.0.2.1"))
		if _, err := db.FindLoginChallenge(ctx, h); err != nil {
			b.Fatal(err)
		}
		step++
		if _, err := db.CompleteLoginChallenge(ctx, h, step); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTwoFactorReplayRefused is a replayed code: the conditional
// UPDATE finds nothing to change.
func BenchmarkTwoFactorReplayRefused(b *testing.B) {
	db, _ := newDBWithPath(b)
	p, _ := newOwner(b, db, "Ada", "Lovelace", "ada@example.com")
	enableTwoFactor(b, db, p)
	for b.Loop() {
		if ok, err := db.AcceptTwoFactorStep(ctx, p.ID, 100); ok || err != nil {
			b.Fatalf("replay accepted: %v %v", ok, err)
		}
	}
}
