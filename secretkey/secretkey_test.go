package secretkey

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	k, _, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte("JBSWY3DPEHPK3PXP")
	a, err := k.Seal(plain)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := k.Seal(plain)
	if a == b {
		t.Error("two seals of the same secret are equal: the nonce is not random")
	}
	if strings.Contains(a, string(plain)) {
		t.Error("the sealed value holds the plain secret")
	}
	got, err := k.Open(a)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open = %q, %v", got, err)
	}

	t.Run("tampered", func(t *testing.T) {
		raw, _ := base64.RawStdEncoding.DecodeString(a)
		for i := range raw {
			bad := bytes.Clone(raw)
			bad[i] ^= 1
			if _, err := k.Open(base64.RawStdEncoding.EncodeToString(bad)); err != ErrOpen {
				t.Fatalf("byte %d changed: Open err = %v, want ErrOpen", i, err)
			}
		}
		for _, s := range []string{"", "x", a[:10], "not base64!"} {
			if _, err := k.Open(s); err != ErrOpen {
				t.Errorf("Open(%q) err = %v", s, err)
			}
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		other, _, _ := Generate()
		if _, err := other.Open(a); err != ErrOpen {
			t.Errorf("another key opened it: %v", err)
		}
	})
}

func TestParse(t *testing.T) {
	raw := bytes.Repeat([]byte{7}, Size)
	hexKey := strings.Repeat("07", Size)
	b64 := base64.StdEncoding.EncodeToString(raw)
	k1, err := Parse(hexKey)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := Parse(b64 + "\n")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := k1.Seal([]byte("x"))
	if got, err := k2.Open(s); err != nil || string(got) != "x" {
		t.Errorf("hex and base64 of the same bytes differ: %q %v", got, err)
	}
	for _, bad := range []string{"", "short", strings.Repeat("07", 16), strings.Repeat("zz", Size)} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestLoadOrCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchboard.db.key")
	k1, created, err := LoadOrCreate(path)
	if err != nil || !created {
		t.Fatalf("first start: created=%v err=%v", created, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, want 0600", info.Mode().Perm())
	}
	before, _ := os.ReadFile(path)
	sealed, _ := k1.Seal([]byte("secret"))

	k2, created, err := LoadOrCreate(path)
	if err != nil || created {
		t.Fatalf("second start: created=%v err=%v", created, err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("the key file was rewritten on the second start")
	}
	if got, err := k2.Open(sealed); err != nil || string(got) != "secret" {
		t.Errorf("the reloaded key cannot open what the first sealed: %v", err)
	}

	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreate(path); err == nil {
		t.Error("a damaged key file was accepted")
	}
}
