package handlers

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"golang.org/x/crypto/argon2"
)

// NewLinkToken returns a random token for a link the operator's command
// line prints (a password reset) and the hash the database keeps of it,
// made as the panel makes its own, so that the panel's pages take it.
func NewLinkToken() (token string, hash []byte) { return newToken() }

// ResetPath is the panel's address of the page that sets a password with
// a reset token.
func ResetPath(token string) string { return "/password/reset/" + token }

// UnusablePasswordHash returns a password hash no password matches: an
// argon2id string of the panel's own parameters whose key is random bytes,
// not the hash of anything. A profile the operator creates holds one until
// its person sets a password through the printed link; logging in to it
// meanwhile costs as much as any wrong password and fails like one.
func UnusablePasswordHash() string {
	salt := make([]byte, 16)
	key := make([]byte, argonKeyLen)
	rand.Read(salt)
	rand.Read(key)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}
