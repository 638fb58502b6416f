package handlers

import (
	"context"
	"testing"
)

// TestUnusablePasswordHash: the hash of a profile the operator creates
// reads as a real one (a login checks it as any, no error and no 500), no
// password matches it, and no two are alike.
func TestUnusablePasswordHash(t *testing.T) {
	h := newHasher(1)
	a, b := UnusablePasswordHash(), UnusablePasswordHash()
	if a == b {
		t.Fatal("two unusable hashes are the same")
	}
	for _, password := range []string{"", "a long enough passphrase", a} {
		ok, err := h.verify(context.Background(), password, a)
		if ok || err != nil {
			t.Fatalf("password %q: ok %v, error %v", password, ok, err)
		}
	}
	// The same check accepts a real hash: the test would see a verify that
	// refuses everything.
	real, err := h.hash(context.Background(), "a long enough passphrase")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := h.verify(context.Background(), "a long enough passphrase", real); !ok || err != nil {
		t.Fatalf("a real hash: %v, %v", ok, err)
	}
}
