package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"switchboard/store"
)

// startMain runs Main in the test on port 0 with a database in dir.
func startMain(t *testing.T, dir string) *Main {
	t.Helper()
	m := NewMain()
	m.Stdout = io.Discard
	if err := m.ParseFlags([]string{"--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "sb.db")}, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(t.Context()); err != nil {
		m.Close()
		t.Fatalf("Run: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestHeaderLimits: a 100 KB header block answers 431, and a header sent
// slowly is cut after ReadHeaderTimeout instead of holding memory.
func TestHeaderLimits(t *testing.T) {
	m := startMain(t, t.TempDir())
	addr := strings.TrimPrefix(m.URL(), "http://")

	t.Run("100 KB of headers", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, m.URL()+"/login", nil)
		req.Header.Set("X-Padding", strings.Repeat("a", 100<<10))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("status %d, want 431", res.StatusCode)
		}
	})

	t.Run("a header that never ends", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, "GET /login HTTP/1.1\r\nHost: panel\r\nX-Slow: "); err != nil {
			t.Fatal(err)
		}
		// An upper bound, not a speed test: the old 10 s timeout (and no
		// timeout at all) runs past it; 5 s does not.
		conn.SetReadDeadline(time.Now().Add(8 * time.Second))
		_, err = io.ReadAll(conn)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("the server still held the connection after 8 s")
		}
	})
}

// TestTakenPortCreatesNoDatabase: a port already in use stops the start
// before the database file exists.
func TestTakenPortCreatesNoDatabase(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	path := filepath.Join(t.TempDir(), "sb.db")
	m := NewMain()
	m.Stdout = io.Discard
	if err := m.ParseFlags([]string{"--addr", taken.Addr().String(), "--db", path}, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	err = m.Run(t.Context())
	m.Close()
	if err == nil || !strings.HasPrefix(err.Error(), "--addr:") {
		t.Fatalf("Run on a taken port: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the database file was created: %v", err)
	}
}

// TestBadStarts runs the real binary on a damaged database and on a
// read-only one: each stops at once with one line naming the file, and
// exit status 1. As root, which writes any file, the binary runs as nobody.
func TestBadStarts(t *testing.T) {
	bin := buildBinary(t)
	asNobody := os.Geteuid() == 0
	// Let nobody reach the binary and the databases.
	open := func(dir string) {
		for d := dir; d != os.TempDir() && d != "/" && d != "."; d = filepath.Dir(d) {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	open(filepath.Dir(bin))

	newDB := func(t *testing.T) (dir, path string) {
		dir = t.TempDir()
		open(dir)
		path = filepath.Join(dir, "panel.db")
		db, err := store.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		return dir, path
	}
	run := func(t *testing.T, path string) string {
		t.Helper()
		cmd := exec.Command(bin, "--addr", "127.0.0.1:0", "--db", path)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		if asNobody {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			lines := bufio.NewScanner(stdout)
			for lines.Scan() {
				if strings.Contains(lines.Text(), "switchboard is listening") {
					cmd.Process.Kill()
				}
			}
			done <- cmd.Wait()
		}()
		select {
		case err := <-done:
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("exit %v, want status 1; stderr:\n%s", err, stderr.String())
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Fatal("the binary neither started nor stopped in 30 s")
		}
		msg := strings.TrimSpace(stderr.String())
		if !strings.HasPrefix(msg, "switchboard: the database "+path) || strings.Contains(msg, "\n") || strings.Contains(msg, "schema_migrations") {
			t.Fatalf("stderr %q: want one line naming %s", msg, path)
		}
		t.Logf("stderr: %s", msg)
		return msg
	}

	t.Run("read-only file", func(t *testing.T) {
		dir, path := newDB(t)
		if asNobody {
			// The folder is nobody's (it may make the -wal and -shm
			// files), the file is root's and read-only.
			if err := os.Chown(dir, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chmod(path, 0o444); err != nil {
			t.Fatal(err)
		}
		if msg := run(t, path); !strings.Contains(msg, "cannot be written") {
			t.Fatalf("stderr %q", msg)
		}
	})

	t.Run("read-only folder", func(t *testing.T) {
		dir, path := newDB(t)
		if asNobody {
			if err := os.Chown(path, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
		if msg := run(t, path); !strings.Contains(msg, "cannot be written") {
			t.Fatalf("stderr %q", msg)
		}
	})

	t.Run("damaged table page", func(t *testing.T) {
		dir, path := newDB(t)
		raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			`CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`,
			`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400) INSERT INTO filler (body) SELECT printf('%.1000c', 'x') FROM n`,
			`PRAGMA wal_checkpoint(TRUNCATE)`,
		} {
			if _, err := raw.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		var pages, pageSize int64
		raw.QueryRow(`PRAGMA page_count`).Scan(&pages)
		raw.QueryRow(`PRAGMA page_size`).Scan(&pageSize)
		raw.Close()
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteAt([]byte(strings.Repeat("\xff", 64)), (pages-20)*pageSize)
		f.Close()
		if asNobody {
			os.Chown(dir, 65534, 65534)
			os.Chown(path, 65534, 65534)
		}
		if msg := run(t, path); !strings.Contains(msg, "is damaged") || !strings.Contains(msg, "restore a backup") {
			t.Fatalf("stderr %q", msg)
		}
	})
}
