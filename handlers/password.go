package handlers

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// argon2id parameters: OWASP's minimum (19 MiB, 2 iterations, 1 lane).
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
)

// hasher hashes and checks passwords with argon2id, at most a few at once so
// that a flood of logins cannot eat the machine's memory: each hash holds
// argonMemory (19 MiB) while it runs, and one hash never goes faster than
// one core, so more hashes at once than cores only add memory. Further
// hashes wait their turn, until their request is cancelled.
type hasher struct {
	slots   chan struct{}
	waiting atomic.Int32 // hashes waiting for a slot
	dummy   string       // a real hash, checked against when an email is unknown
}

func newHasher(concurrency int) *hasher {
	h := &hasher{slots: make(chan struct{}, concurrency)}
	h.dummy, _ = h.hash(context.Background(), "switchboard dummy password for unknown emails")
	return h
}

func (h *hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	h.waiting.Add(1)
	defer h.waiting.Add(-1)
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// release frees the slot of a finished hash. When another hash waits for
// it, the memory of the finished one is collected first: the waiting hash
// then reuses it. Otherwise the waiting hash would allocate its 19 MiB
// before the collector reclaimed the finished one's, and under a flood of
// logins the heap would hold twice the hashes that run (32 logins at once
// went from 47 to 200 MiB of resident memory). A lone login never pays for
// the collection; under load it costs a few milliseconds of a hash's
// tens.
func (h *hasher) release() {
	if h.waiting.Load() > 0 {
		runtime.GC()
	}
	<-h.slots
}

// hash returns the PHC string of password.
func (h *hasher) hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, 16)
	rand.Read(salt)
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	h.release()
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// verify reports whether password matches the PHC string encoded. An empty
// encoded string is checked against a dummy hash, so that an unknown email
// costs as much time as a known one.
func (h *hasher) verify(ctx context.Context, password, encoded string) (bool, error) {
	real := encoded != ""
	if !real {
		encoded = h.dummy
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, fmt.Errorf("handlers: unknown password hash format")
	}
	var memory uint32
	var iterations uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &iterations, &threads); err != nil {
		return false, fmt.Errorf("handlers: bad password hash parameters: %w", err)
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, fmt.Errorf("handlers: bad password hash salt: %w", err)
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil {
		return false, fmt.Errorf("handlers: bad password hash: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, iterations, memory, threads, uint32(len(want)))
	h.release()
	return real && subtle.ConstantTimeCompare(got, want) == 1, nil
}

// newToken returns a random token for an email link (256 bits, URL-safe)
// and the SHA-256 hash that is stored in its place.
func newToken() (token string, hash []byte) {
	b := make([]byte, 32)
	rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token)
}

// hashToken returns the stored form of a token from a link.
func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}
