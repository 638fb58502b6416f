package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"switchboard/store"
)

func TestParseFlags(t *testing.T) {
	noEnv := func(string) string { return "" }

	t.Run("defaults", func(t *testing.T) {
		m := NewMain()
		m.Stdout = io.Discard
		if err := m.ParseFlags(nil, noEnv); err != nil {
			t.Fatal(err)
		}
		if m.Config.Addr != "localhost:8080" || m.Config.DB != "switchboard.db" || m.Config.BaseURL.String() != "http://localhost:8080" || m.Config.SMTPURL != "" {
			t.Fatalf("config = %+v", m.Config)
		}
	})

	t.Run("environment, and flags win over it", func(t *testing.T) {
		env := map[string]string{
			"SWITCHBOARD_DB":              "/tmp/from-env.db",
			"SWITCHBOARD_ADDR":            "127.0.0.1:9999",
			"SWITCHBOARD_BASE_URL":        "https://panel.example.com/",
			"SWITCHBOARD_TRUSTED_PROXIES": "10.0.0.1, 192.168.0.0/16",
		}
		m := NewMain()
		m.Stdout = io.Discard
		if err := m.ParseFlags([]string{"--db", "/tmp/from-flag.db"}, func(k string) string { return env[k] }); err != nil {
			t.Fatal(err)
		}
		if m.Config.DB != "/tmp/from-flag.db" || m.Config.Addr != "127.0.0.1:9999" || m.Config.BaseURL.String() != "https://panel.example.com" || len(m.Config.TrustedProxies) != 2 {
			t.Fatalf("config = %+v", m.Config)
		}
	})

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--addr", "8080"}, "--addr:"},
		{[]string{"--db", ""}, "--db:"},
		{[]string{"--base-url", "ftp://panel"}, "--base-url:"},
		{[]string{"--base-url", "panel.example.com"}, "--base-url:"},
		{[]string{"--smtp-url", "smtp://"}, "--smtp-url:"},
		{[]string{"--smtp-url", "imap://mail.example.com"}, "--smtp-url:"},
		{[]string{"--smtp-url", "smtp://mail.example.com:99999"}, "--smtp-url:"},
		{[]string{"--smtp-url", "smtp://mail.example.com?starttls=maybe"}, "--smtp-url:"},
		{[]string{"--mail-from", "not an address"}, "--mail-from:"},
		{[]string{"--trusted-proxies", "10.0.0.1,proxy.local"}, "--trusted-proxies:"},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"backup"}, "backup:"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			m := NewMain()
			m.Stdout = io.Discard
			err := m.ParseFlags(tc.args, noEnv)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v, want one line starting %q", err, tc.want)
			}
		})
	}
}

// TestBinary builds the real binary, runs it from an empty folder, and stops
// it with SIGTERM: it must serve its embedded files, answer /healthz, exit 0
// and leave a sound database.
func TestBinary(t *testing.T) {
	bin := buildBinary(t)
	info, _ := os.Stat(bin)
	t.Logf("binary size: %.1f MiB", float64(info.Size())/(1<<20))

	run := t.TempDir() // nothing beside the binary
	cmd, addr, lines := startBinary(t, bin, run)
	logs := make(chan string, 1)
	go func() {
		var b strings.Builder
		for lines.Scan() {
			b.WriteString(lines.Text() + "\n")
		}
		logs <- b.String()
	}()

	for _, c := range []struct {
		path, want string
	}{{"/healthz", "ok"}, {"/static/app.css", ":root"}, {"/login", "<h1>Log in</h1>"}} {
		res, err := http.Get("http://" + addr + c.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), c.want) {
			t.Fatalf("%s: %d %q", c.path, res.StatusCode, body)
		}
	}

	// A backup taken while the server runs is a sound database.
	backup := exec.Command(bin, "--db", "panel.db", "backup", "copy.db")
	backup.Dir = run
	if out, err := backup.CombinedOutput(); err != nil || !strings.Contains(string(out), "backed up") {
		t.Fatalf("backup while running: %v\n%s", err, out)
	}
	again := exec.Command(bin, "--db", "panel.db", "backup", "copy.db")
	again.Dir = run
	if out, err := again.CombinedOutput(); err == nil || !strings.Contains(string(out), "already exists") {
		t.Fatalf("a backup over an existing file: %v\n%s", err, out)
	}

	sigterm(t, cmd, 30*time.Second)
	if out := <-logs; !strings.Contains(out, "switchboard stopped") {
		t.Fatalf("logs lack the clean stop:\n%s", out)
	}

	db, err := sql.Open("sqlite", filepath.Join(run, "panel.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRowContext(context.Background(), "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	copyDB, err := sql.Open("sqlite", filepath.Join(run, "copy.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer copyDB.Close()
	var version int
	if err := copyDB.QueryRow("SELECT MAX(version) FROM schema_migrations").Scan(&version); err != nil || version < 1 {
		t.Fatalf("the backup holds schema version %d, %v", version, err)
	}
	if _, err := os.Stat(filepath.Join(run, "panel.db-wal")); err == nil {
		if st, _ := os.Stat(filepath.Join(run, "panel.db-wal")); st.Size() > 0 {
			t.Errorf("the write-ahead log was left with %d bytes: the database was not closed cleanly", st.Size())
		}
	}
}

// buildBinary builds cmd/switchboard into a temporary folder.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "switchboard")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// startBinary runs the binary in the folder dir with the database panel.db
// on a free port, and returns once it listens, with its address and the
// rest of its log, which the caller must read on. extra are more flags.
func startBinary(t *testing.T, bin, dir string, extra ...string) (*exec.Cmd, string, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--addr", "127.0.0.1:0", "--db", "panel.db"}, extra...)...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		var line struct{ Msg, Addr string }
		if json.Unmarshal(lines.Bytes(), &line) == nil && line.Msg == "switchboard is listening" {
			return cmd, line.Addr, lines
		}
	}
	t.Fatal("the server never said it was listening")
	return nil, "", nil
}

// TestCrashLosesNoAcknowledgedWrite kills the server with SIGKILL right
// after it acknowledged sign-ups: every one is there after a restart, and the
// database is sound.
func TestCrashLosesNoAcknowledgedWrite(t *testing.T) {
	bin := buildBinary(t)
	run := t.TempDir()
	cmd, addr, lines := startBinary(t, bin, run)
	go func() {
		for lines.Scan() {
		}
	}()

	base := "http://" + addr
	acknowledged := 0
	for i := range 5 {
		// A new visitor each time: a logged-in one is sent away from /signup.
		jar, _ := cookiejar.New(nil)
		hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		csrf := formToken(t, hc, base+"/signup")
		res, err := hc.PostForm(base+"/signup", url.Values{"_csrf": {csrf}, "email": {"crash" + strconv.Itoa(i) + "@example.com"},
			"password": {"a crash test passphrase"}, "first_name": {"C"}, "last_name": {"T"}, "org_name": {"Org " + strconv.Itoa(i)}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode == http.StatusSeeOther {
			acknowledged++
		}
	}
	if acknowledged != 5 {
		t.Fatalf("%d of 5 sign-ups acknowledged", acknowledged)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	db, err := store.Open(context.Background(), filepath.Join(run, "panel.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := range 5 {
		p, _, err := db.FindProfileByEmail(context.Background(), "crash"+strconv.Itoa(i)+"@example.com")
		if err != nil {
			t.Fatalf("acknowledged sign-up %d lost after SIGKILL: %v", i, err)
		}
		if orgs, err := db.ListMemberships(context.Background(), p.ID); err != nil || len(orgs) != 1 {
			t.Fatalf("sign-up %d: organisations %v, %v", i, orgs, err)
		}
	}
	raw, err := sql.Open("sqlite", filepath.Join(run, "panel.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var check string
	if err := raw.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// formToken opens the page at url with hc and returns the CSRF token of its
// form, which belongs to the session the page started.
func formToken(t *testing.T, hc *http.Client, url string) string {
	t.Helper()
	res, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	m := csrfField.FindSubmatch(b)
	if m == nil {
		t.Fatalf("no CSRF field in %s (%d)", url, res.StatusCode)
	}
	return string(m[1])
}

// sigterm stops the running binary with SIGTERM and fails the test unless
// it exits 0 within limit.
func sigterm(t *testing.T, cmd *exec.Cmd, limit time.Duration) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(limit):
		t.Fatalf("still running %s after SIGTERM", limit)
	}
}
