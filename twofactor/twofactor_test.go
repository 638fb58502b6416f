package twofactor

import (
	"bytes"
	"encoding/base32"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// rfc6238 are the SHA-1 test vectors of RFC 6238, appendix B: the secret is
// the ASCII "12345678901234567890", codes have 8 digits.
var rfc6238 = []struct {
	unix int64
	code string
}{
	{59, "94287082"},
	{1111111109, "07081804"},
	{1111111111, "14050471"},
	{1234567890, "89005924"},
	{2000000000, "69279037"},
	{20000000000, "65353130"},
}

var rfcSecret = base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte("12345678901234567890"))

func TestRFC6238Vectors(t *testing.T) {
	for _, v := range rfc6238 {
		at := time.Unix(v.unix, 0).UTC()
		got, err := totp.GenerateCodeCustom(rfcSecret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsEight, Algorithm: otp.AlgorithmSHA1})
		if err != nil || got != v.code {
			t.Errorf("T=%d: library code %q (%v), want %q", v.unix, got, err, v.code)
		}
		// A six-digit code is the same number modulo 10^6: its last six
		// digits. Check must accept it at its own step, and say which.
		six := v.code[2:]
		if c, _ := Code(rfcSecret, at); c != six {
			t.Errorf("T=%d: Code = %q, want %q", v.unix, c, six)
		}
		step, ok := Check(rfcSecret, six, at)
		if !ok || step != v.unix/30 {
			t.Errorf("T=%d: Check = %d, %v; want step %d", v.unix, step, ok, v.unix/30)
		}
	}
}

func TestCheckSkew(t *testing.T) {
	now := time.Unix(1111111111, 0)
	code, _ := Code(rfcSecret, now)
	for _, tc := range []struct {
		at   time.Time
		ok   bool
		step int64
	}{
		{now, true, Step(now)},
		{now.Add(30 * time.Second), true, Step(now)}, // a step late: still fine
		{now.Add(-30 * time.Second), true, Step(now)},
		{now.Add(90 * time.Second), false, 0}, // three steps: too far
		{now.Add(-90 * time.Second), false, 0},
	} {
		step, ok := Check(rfcSecret, code, tc.at)
		if ok != tc.ok || step != tc.step {
			t.Errorf("at %v: Check = %d, %v; want %d, %v", tc.at.Sub(now), step, ok, tc.step, tc.ok)
		}
	}
	spaced := code[:3] + " " + code[3:]
	if _, ok := Check(rfcSecret, spaced, now); !ok {
		t.Error("a code typed with a space was refused")
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef", "000000"} {
		if _, ok := Check(rfcSecret, bad, now); ok && bad != code {
			t.Errorf("Check(%q) accepted", bad)
		}
	}
}

func TestGenerate(t *testing.T) {
	secret, u, err := Generate("ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := url.Parse(u)
	if err != nil || parsed.Scheme != "otpauth" || parsed.Host != "totp" {
		t.Fatalf("URL %q", u)
	}
	q := parsed.Query()
	if q.Get("secret") != secret || q.Get("issuer") != Issuer || !strings.Contains(parsed.Path, "ada@example.com") {
		t.Errorf("URL %q does not carry secret, issuer and account", u)
	}
	again, _ := URL(secret, "ada@example.com")
	if again != u {
		t.Errorf("URL of the same secret = %q, want %q", again, u)
	}
	other, _, _ := Generate("ada@example.com")
	if other == secret {
		t.Error("two secrets are equal")
	}
	rows, err := QR(u)
	if err != nil || len(rows) < 21 || len(rows[0]) != len(rows) {
		t.Fatalf("QR: %d rows, %v", len(rows), err)
	}
	if !rows[0][0] || rows[7][7] {
		t.Error("QR finder pattern not where it belongs (top-left dark corner, light separator)")
	}
}

func TestRecoveryCodes(t *testing.T) {
	codes, err := NewRecoveryCodes()
	if err != nil || len(codes) != RecoveryCodes {
		t.Fatal(len(codes), err)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if len(c) != 11 || c[5] != '-' || seen[c] {
			t.Errorf("code %q", c)
		}
		seen[c] = true
	}
	if !bytes.Equal(HashRecoveryCode(codes[0]), HashRecoveryCode(" "+strings.ToUpper(strings.ReplaceAll(codes[0], "-", ""))+" ")) {
		t.Error("the same code typed differently hashes differently")
	}
	if bytes.Equal(HashRecoveryCode(codes[0]), HashRecoveryCode(codes[1])) {
		t.Error("two codes hash the same")
	}
}

// BenchmarkCheck is the CPU cost of checking a code (three HMAC-SHA1 at
// most, for the steps of the skew).
func BenchmarkCheck(b *testing.B) {
	now := time.Unix(1111111111, 0)
	for b.Loop() {
		Check(rfcSecret, "000000", now)
	}
}
