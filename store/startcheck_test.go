package store_test

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"switchboard/store"
	"switchboard/store/storetest"
)

// wantStartError fails unless err is one line that names path and holds
// every part, and does not blame the schema_migrations step.
func wantStartError(t *testing.T, err error, path string, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("the database %s was opened", path)
	}
	msg := err.Error()
	if !strings.Contains(msg, path) || strings.Contains(msg, "\n") || strings.Contains(msg, "schema_migrations") {
		t.Fatalf("error %q: want one line naming %s, not the migration step", msg, path)
	}
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Fatalf("error %q lacks %q", msg, p)
		}
	}
}

// damagedDB builds a database whose first pages are sound and whose
// filler table, spread over many pages, has pages overwritten in the
// middle of the file.
func damagedDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "switchboard.db")
	db, err := store.Open(ctx, path)
	must(t, err)
	must(t, db.Close())
	raw := rawDB(t, path)
	_, err = raw.ExecContext(ctx, `CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`)
	must(t, err)
	_, err = raw.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400)
		INSERT INTO filler (body) SELECT printf('%.1000c', 'x') FROM n`)
	must(t, err)
	var pageSize, pages int64
	must(t, raw.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&pageSize))
	must(t, raw.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages))
	_, err = raw.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	must(t, err)
	must(t, raw.Close())

	f, err := os.OpenFile(path, os.O_RDWR, 0)
	must(t, err)
	garbage := []byte(strings.Repeat("\xff", 64))
	for page := pages - 40; page < pages-30; page++ {
		_, err := f.WriteAt(garbage, (page-1)*pageSize)
		must(t, err)
	}
	must(t, f.Close())
	return path
}

// TestOpenRefusesDamagedDatabase: a corrupted table page deep in the file
// is found at start, and the error names the file.
func TestOpenRefusesDamagedDatabase(t *testing.T) {
	path := damagedDB(t)
	db, err := store.Open(ctx, path)
	if err == nil {
		db.Close()
	}
	wantStartError(t, err, path, "is damaged", "restore a backup")
}

// TestOpenStartErrorsNameThePath: every way a start can fail says which
// file, and what is wrong with it rather than which step met it.
func TestOpenStartErrorsNameThePath(t *testing.T) {
	dir := t.TempDir()

	notDB := filepath.Join(dir, "notes.db")
	must(t, os.WriteFile(notDB, []byte(strings.Repeat("these are notes, not a database\n", 200)), 0o644))
	_, err := store.Open(ctx, notDB)
	wantStartError(t, err, notDB, "is damaged", "restore a backup")

	missing := filepath.Join(dir, "no such folder", "switchboard.db")
	_, err = store.Open(ctx, missing)
	wantStartError(t, err, missing, "cannot be written")

	_, err = store.Open(ctx, dir)
	wantStartError(t, err, dir, "is a folder")
}

// TestOpenRefusesReadOnlyFile: a file this user cannot write opens fine
// and would fail every write; the write probe refuses it at start. root
// writes any file whatever its mode: cmd/switchboard's TestBadStarts runs
// the binary as another user for that case.
func TestOpenRefusesReadOnlyFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root can write a read-only file; TestBadStarts in cmd/switchboard covers it as nobody")
	}
	path := filepath.Join(t.TempDir(), "switchboard.db")
	db, err := store.Open(ctx, path)
	must(t, err)
	must(t, db.Close())
	must(t, os.Chmod(path, 0o444))
	db, err = store.Open(ctx, path)
	if err == nil {
		db.Close()
	}
	wantStartError(t, err, path, "cannot be written")
}

// BenchmarkOpenQuickCheck measures Open on a file of about 50 MB, most of
// which is PRAGMA quick_check reading every page.
func BenchmarkOpenQuickCheck(b *testing.B) {
	path := filepath.Join(b.TempDir(), "switchboard.db")
	db, err := store.Open(ctx, path)
	must(b, err)
	must(b, db.Close())
	raw := rawDB(b, path)
	_, err = raw.ExecContext(ctx, `CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`)
	must(b, err)
	_, err = raw.ExecContext(ctx, `CREATE INDEX filler_body ON filler (substr(body, 1, 40))`)
	must(b, err)
	_, err = raw.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
		INSERT INTO filler (body) SELECT printf('%d %.440c', i, 'x') FROM n`)
	must(b, err)
	_, err = raw.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	must(b, err)
	must(b, raw.Close())
	info, err := os.Stat(path)
	must(b, err)
	for b.Loop() {
		db, err := store.Open(ctx, path)
		must(b, err)
		must(b, db.Close())
	}
	b.ReportMetric(float64(info.Size())/(1<<20), "MB")
}

// TestOpenPostgresErrorsSayWhatToCheck: a server that does not answer and a
// database that does not exist each stop the start with one line saying
// what to check, naming the database without its password.
func TestOpenPostgresErrorsSayWhatToCheck(t *testing.T) {
	if !storetest.Postgres() {
		t.Skip("needs PostgreSQL: runs in the PostgreSQL pass")
	}
	u, err := url.Parse(os.Getenv(storetest.URLVariable))
	must(t, err)
	u.User = url.UserPassword("switchboard", "sekrit-password")

	down := *u
	down.Host = "127.0.0.1:1"
	_, err = store.Open(ctx, down.String())
	if err == nil || !strings.Contains(err.Error(), "could not be reached") {
		t.Errorf("a server that does not answer: %v", err)
	}
	if err != nil && strings.Contains(err.Error(), "sekrit") {
		t.Errorf("the error shows the password: %v", err)
	}

	missing := *u
	missing.User = nil
	missing.Path = "/no_such_database_here"
	_, err = store.Open(ctx, missing.String())
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("a database that does not exist: %v", err)
	}
}
