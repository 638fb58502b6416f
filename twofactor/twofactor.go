// Package twofactor holds the time-based one-time codes of RFC 6238 (TOTP,
// through github.com/pquerna/otp), their QR code, and recovery codes. It
// knows nothing of the database: the store keeps the last accepted time
// step, so that a code is accepted once.
package twofactor

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"image/color"
	"strings"
	"time"

	"github.com/boombuler/barcode/qr"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Issuer names the panel in authenticator apps.
const Issuer = "Switchboard"

// Period is the length of a time step; Digits the length of a code. These
// are what every authenticator app assumes.
const (
	Period = 30
	Digits = 6
)

// Skew is how many steps before or after now a code may belong to: one,
// so a phone's clock a little off, or a code typed as it changes, still
// works.
const Skew = 1

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Generate makes a new random secret (160 bits, base32 as apps show it) and
// the otpauth:// URL the QR code carries, for the profile's email.
func Generate(email string) (secret, url string, err error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: Issuer, AccountName: email, Period: Period, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return "", "", err
	}
	return key.Secret(), key.URL(), nil
}

// URL is the otpauth:// URL of an existing secret, to draw the QR code
// again while the set-up waits for its first code.
func URL(secret, email string) (string, error) {
	raw, err := b32.DecodeString(secret)
	if err != nil {
		return "", err
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: Issuer, AccountName: email, Period: Period, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Secret: raw})
	if err != nil {
		return "", err
	}
	return key.URL(), nil
}

// Step is the time step t falls in.
func Step(t time.Time) int64 { return t.Unix() / Period }

// Code is the code of secret at time t (for tests, and nothing else).
func Code(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, totp.ValidateOpts{Period: Period, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}

// NormalizeCode drops the spaces and dashes people type or paste between
// groups of digits or letters, and lower-cases letters.
func NormalizeCode(code string) string {
	return strings.ToLower(strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, code))
}

// Check answers whether code is secret's code at now, give or take Skew
// steps, and if so the step it belongs to: the caller accepts it only if
// that step is later than the last one accepted (a code is used once).
func Check(secret, code string, now time.Time) (step int64, ok bool) {
	code = NormalizeCode(code)
	if len(code) != Digits || strings.Trim(code, "0123456789") != "" {
		return 0, false
	}
	current := Step(now)
	// The latest matching step is the one to record, so check from the
	// future back.
	for s := current + Skew; s >= current-Skew; s-- {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(s*Period, 0), totp.ValidateOpts{Period: Period, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return s, true
		}
	}
	return 0, false
}

// QR draws url as a QR code: one bool per module, true for dark, rows
// first. Views turn it into SVG so no external service ever sees the URL.
func QR(url string) ([][]bool, error) {
	code, err := qr.Encode(url, qr.M, qr.Auto)
	if err != nil {
		return nil, err
	}
	b := code.Bounds()
	rows := make([][]bool, b.Dy())
	for y := range rows {
		rows[y] = make([]bool, b.Dx())
		for x := range rows[y] {
			r, _, _, _ := color.GrayModel.Convert(code.At(b.Min.X+x, b.Min.Y+y)).RGBA()
			rows[y][x] = r < 0x8000
		}
	}
	return rows, nil
}

// RecoveryCodes is how many recovery codes a profile gets at a time.
const RecoveryCodes = 10

// NewRecoveryCodes makes RecoveryCodes random codes of 50 bits each, written
// as two groups of five letters and digits ("k7d2m-q9xw4").
func NewRecoveryCodes() ([]string, error) {
	const alphabet = "abcdefghijkmnpqrstuvwxyz23456789" // 32 signs, no 0/o, 1/l
	codes := make([]string, RecoveryCodes)
	for i := range codes {
		raw := make([]byte, 10)
		if _, err := rand.Read(raw); err != nil {
			return nil, err
		}
		var b strings.Builder
		for j, v := range raw {
			if j == 5 {
				b.WriteByte('-')
			}
			b.WriteByte(alphabet[v&31])
		}
		codes[i] = b.String()
	}
	return codes, nil
}

// ErrNotRecoveryCode is the answer to text that cannot be a recovery code.
var ErrNotRecoveryCode = errors.New("twofactor: not a recovery code")

// HashRecoveryCode is what the store keeps of a recovery code: SHA-256 of
// its normalized form (the codes are random, so no slow hash is needed).
func HashRecoveryCode(code string) []byte {
	sum := sha256.Sum256([]byte(NormalizeCode(code)))
	return sum[:]
}
