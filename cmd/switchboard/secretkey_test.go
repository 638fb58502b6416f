package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecretKeyFlag(t *testing.T) {
	noEnv := func(string) string { return "" }
	hexKey := strings.Repeat("ab", 32)
	for _, ok := range []string{hexKey, base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))} {
		m := NewMain()
		if err := m.ParseFlags([]string{"--secret-key", ok}, noEnv); err != nil || m.Config.SecretKey == nil {
			t.Errorf("--secret-key %s: %v", ok, err)
		}
	}
	m := NewMain()
	if err := m.ParseFlags(nil, func(k string) string {
		if k == "SWITCHBOARD_SECRET_KEY" {
			return hexKey
		}
		return ""
	}); err != nil || m.Config.SecretKey == nil {
		t.Errorf("SWITCHBOARD_SECRET_KEY: %v", err)
	}
	for _, bad := range []string{"short", strings.Repeat("ab", 16), strings.Repeat("zz", 32)} {
		err := NewMain().ParseFlags([]string{"--secret-key", bad}, noEnv)
		if err == nil || !strings.HasPrefix(err.Error(), "--secret-key: ") || strings.Contains(err.Error(), bad) {
			t.Errorf("--secret-key %q: %v", bad, err)
		}
	}
	if got := SecretKeyFile("/srv/panel.db"); got != "/srv/panel.db.key" {
		t.Errorf("key file of an SQLite database: %s", got)
	}
	if got := SecretKeyFile("postgres://sb@db/sb"); got != "switchboard.key" {
		t.Errorf("key file of PostgreSQL: %s", got)
	}
}

// TestSecretKeyFileMadeOnce: without --secret-key the first start makes
// the key file beside the database, readable by its owner only; the next
// start uses it as it is.
func TestSecretKeyFileMadeOnce(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "sb.db")
	run := func() []byte {
		m := NewMain()
		m.Stdout = io.Discard
		if err := m.ParseFlags([]string{"--addr", "127.0.0.1:0", "--db", db}, func(string) string { return "" }); err != nil {
			t.Fatal(err)
		}
		if err := m.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(db + ".key")
		if err != nil {
			t.Fatalf("no key file: %v", err)
		}
		return b
	}
	first := run()
	info, _ := os.Stat(db + ".key")
	if info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v", info.Mode().Perm())
	}
	if second := run(); !bytes.Equal(first, second) {
		t.Error("the second start replaced the key file")
	}

	// A damaged key file stops the start with a clear line.
	if err := os.WriteFile(db+".key", []byte("damaged"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := NewMain()
	m.Stdout = io.Discard
	m.ParseFlags([]string{"--addr", "127.0.0.1:0", "--db", db}, func(string) string { return "" })
	err := m.Run(context.Background())
	m.Close()
	if err == nil || !strings.Contains(err.Error(), "--secret-key") || !strings.Contains(err.Error(), db+".key") {
		t.Errorf("damaged key file: %v", err)
	}
}
