// Package secretkey seals secrets kept at rest (two-factor TOTP secrets)
// with AES-256-GCM under the operator's key, so a copy of the database alone
// does not give them away.
package secretkey

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// Size is the length of a key in bytes (AES-256).
const Size = 32

// Key seals and opens secrets. Its zero value is not usable: get one from
// Parse, Load or Generate.
type Key struct {
	aead cipher.AEAD
}

// ErrOpen is the answer to a sealed value that was changed, or sealed under
// another key: the two cannot be told apart, by design of GCM.
var ErrOpen = errors.New("secretkey: the sealed value was changed or sealed under another key")

// New makes a key from 32 raw bytes.
func New(raw []byte) (*Key, error) {
	if len(raw) != Size {
		return nil, fmt.Errorf("secretkey: a key is %d bytes, not %d", Size, len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Key{aead: aead}, nil
}

// Parse reads a key written as 64 hexadecimal digits or as standard base64
// (44 characters, with padding) of 32 bytes, as --secret-key takes it.
func Parse(s string) (*Key, error) {
	s = strings.TrimSpace(s)
	if raw, err := hex.DecodeString(s); err == nil && len(raw) == Size {
		return New(raw)
	}
	if raw, err := base64.StdEncoding.DecodeString(s); err == nil && len(raw) == Size {
		return New(raw)
	}
	return nil, fmt.Errorf("secretkey: a key is %d random bytes written as 64 hexadecimal digits or in base64 (for example: openssl rand -hex 32)", Size)
}

// Generate returns a new random key and its hexadecimal form.
func Generate() (*Key, string, error) {
	raw := make([]byte, Size)
	if _, err := rand.Read(raw); err != nil {
		return nil, "", err
	}
	k, err := New(raw)
	return k, hex.EncodeToString(raw), err
}

// LoadOrCreate reads the key in the file at path, or, when there is no such
// file, generates one and writes it there (mode 0600, never replacing a file
// that appeared meanwhile). created says whether it was made now.
func LoadOrCreate(path string) (key *Key, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := Parse(string(b))
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", path, err)
		}
		return k, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	k, text, err := Generate()
	if err != nil {
		return nil, false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		// Another process made it first: use theirs.
		return LoadOrCreate(path)
	} else if err != nil {
		return nil, false, fmt.Errorf("secretkey: create %s: %w", path, err)
	}
	if _, err := f.WriteString(text + "\n"); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("secretkey: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, false, err
	}
	return k, true, f.Close()
}

// Seal encrypts plaintext under a fresh random nonce and returns it as
// base64 text (nonce followed by ciphertext and tag), fit for a TEXT column.
func (k *Key) Seal(plaintext []byte) (string, error) {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.RawStdEncoding.EncodeToString(k.aead.Seal(nonce, nonce, plaintext, nil)), nil
}

// Open decrypts what Seal returned; anything changed, or sealed under
// another key, is ErrOpen.
func (k *Key) Open(sealed string) ([]byte, error) {
	b, err := base64.RawStdEncoding.DecodeString(sealed)
	if err != nil || len(b) < k.aead.NonceSize()+k.aead.Overhead() {
		return nil, ErrOpen
	}
	n := k.aead.NonceSize()
	plain, err := k.aead.Open(nil, b[:n], b[n:], nil)
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}
