package store_test

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"switchboard"
	"switchboard/store"
)

func schemaVersions(tb testing.TB, path string) (versions []int, appliedAt []int64) {
	tb.Helper()
	raw := rawDB(tb, path)
	rows, err := raw.QueryContext(ctx, `SELECT version, applied_at FROM schema_migrations ORDER BY version`)
	must(tb, err)
	defer rows.Close()
	for rows.Next() {
		var v int
		var at int64
		must(tb, rows.Scan(&v, &at))
		versions = append(versions, v)
		appliedAt = append(appliedAt, at)
	}
	must(tb, rows.Err())
	must(tb, raw.Close())
	return versions, appliedAt
}

// migrationFiles returns the versions of the migration files, in order.
func migrationFiles(tb testing.TB) []int {
	tb.Helper()
	names, err := filepath.Glob(filepath.Join("migrations", "sqlite", "*.sql"))
	must(tb, err)
	var versions []int
	for _, name := range names {
		v, err := strconv.Atoi(strings.SplitN(filepath.Base(name), "_", 2)[0])
		must(tb, err)
		versions = append(versions, v)
	}
	// Numbered 1, 2, 3… without a gap: a database that ran a later
	// migration would never run one slotted in below it.
	for i, v := range versions {
		if v != i+1 {
			tb.Fatalf("migrations are numbered %v; want 1 to %d without gaps", versions, len(versions))
		}
	}
	return versions
}

func TestOpen(t *testing.T) {
	t.Run("an empty file gets the schema", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "switchboard.db")
		db, err := store.Open(ctx, path)
		must(t, err)
		must(t, db.Close())

		versions, _ := schemaVersions(t, path)
		if want := migrationFiles(t); !slices.Equal(versions, want) {
			t.Fatalf("schema_migrations holds %v, want %v", versions, want)
		}
		raw := rawDB(t, path)
		for _, table := range []string{"profiles", "organisations", "roles", "members", "outbox", "invitations", "password_resets", "audit_log", "sessions"} {
			if n := count(t, raw, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, table); n != 1 {
				t.Errorf("table %s: found %d, want 1", table, n)
			}
		}
		if n := count(t, raw, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'members_one_owner'`); n != 1 {
			t.Errorf("index members_one_owner: found %d, want 1", n)
		}
	})

	t.Run("reopening is a no-op", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "switchboard.db")
		db, err := store.Open(ctx, path)
		must(t, err)
		p, org := newOwner(t, db, "Ann", "Lee", "ann@example.com")
		must(t, db.Close())
		versions1, applied1 := schemaVersions(t, path)

		db, err = store.Open(ctx, path)
		must(t, err)
		defer db.Close()
		versions2, applied2 := schemaVersions(t, path)
		if !slices.Equal(versions1, versions2) || !slices.Equal(applied1, applied2) {
			t.Fatalf("schema_migrations changed on reopening: %v %v, then %v %v", versions1, applied1, versions2, applied2)
		}
		m, err := db.FindMembership(ctx, org.ID, p.ID)
		must(t, err)
		if m.Org.Name != org.Name || m.Member.Role.Kind != switchboard.RoleOwner {
			t.Fatalf("after reopening: %+v %+v", m.Org, m.Member)
		}
	})

	t.Run("a database from a newer version is refused", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "switchboard.db")
		db, err := store.Open(ctx, path)
		must(t, err)
		must(t, db.Close())

		raw := rawDB(t, path)
		_, err = raw.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)`)
		must(t, err)
		must(t, raw.Close())

		db, err = store.Open(ctx, path)
		if err == nil {
			db.Close()
			t.Fatal("store.Open accepted a database with schema version 9999")
		}
		if !strings.Contains(err.Error(), "newer version") {
			t.Fatalf("error %q does not say \"newer version\"", err)
		}
	})

	t.Run("no path, or an in-memory database, is refused", func(t *testing.T) {
		for _, path := range []string{"", ":memory:", "file:x?mode=memory"} {
			if db, err := store.Open(ctx, path); err == nil {
				db.Close()
				t.Errorf("store.Open(%q) succeeded", path)
			}
		}
	})

	t.Run("pragmas are in effect", func(t *testing.T) {
		db, path := newDBWithPath(t)
		raw := rawDB(t, path)

		var mode string
		must(t, raw.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode))
		if mode != "wal" {
			t.Errorf("journal_mode = %q, want wal", mode)
		}

		// foreign_keys: a member row of a profile that does not exist, and
		// an invitation to an organisation that does not exist, are refused,
		// each with everything else its transaction wrote; and still after
		// other transactions on the same pooled connection.
		for i := range 3 {
			ghost := &switchboard.Profile{ID: 424242 + int64(i), Email: "ghost@example.com", FirstName: "G", LastName: "Host"}
			if err := db.CreateOrganisation(ctx, ghost, &switchboard.Organisation{Name: "Ghost"}); err == nil {
				t.Fatal("an organisation owned by a profile that does not exist was created")
			}
			inv := &switchboard.Invitation{OrgID: 999999, Email: "x@example.com", Role: sender, InviterName: "Nobody"}
			if err := db.CreateInvitation(ctx, switchboard.Actor{}, inv, newTokenHash(t), mailTo("x@example.com", "Join")); err == nil {
				t.Fatal("an invitation to an organisation that does not exist was created")
			}
		}
		for _, table := range []string{"organisations", "members", "invitations", "outbox", "audit_log"} {
			if n := count(t, raw, `SELECT COUNT(*) FROM `+table); n != 0 {
				t.Errorf("%s holds %d rows after refused writes, want 0", table, n)
			}
		}

		// busy_timeout: a write that finds the file locked by another
		// process waits for it instead of failing with "database is locked".
		tx, err := raw.BeginTx(ctx, nil)
		must(t, err)
		_, err = tx.ExecContext(ctx, `INSERT INTO sessions (token, data, expiry) VALUES ('held', x'00', 0)`)
		must(t, err)
		released := make(chan error, 1)
		start := time.Now()
		go func() {
			time.Sleep(300 * time.Millisecond)
			released <- tx.Commit()
		}()
		err = db.Sessions().CommitCtx(ctx, "waiting", []byte("data"), t0.Add(time.Hour))
		waited := time.Since(start)
		must(t, <-released)
		if err != nil {
			t.Fatalf("write while another connection holds the lock: %v", err)
		}
		if waited < 300*time.Millisecond {
			t.Errorf("the write took %v: it did not wait for the lock", waited)
		}
	})

	t.Run("backup while running", func(t *testing.T) {
		db := newDB(t)
		p, org := newOwner(t, db, "Ann", "Lee", "ann@example.com")
		must(t, db.Ping(ctx))
		backup := filepath.Join(t.TempDir(), "backup.db")
		must(t, db.Backup(ctx, backup))
		newOwner(t, db, "Bob", "Ray", "bob@example.com") // after the backup

		restored, err := store.Open(ctx, backup)
		must(t, err)
		defer restored.Close()
		m, err := restored.FindMembership(ctx, org.ID, p.ID)
		must(t, err)
		if !m.IsOwner() || m.Org.Name != org.Name {
			t.Errorf("in the backup: %+v %+v", m.Org, m.Member)
		}
		_, _, err = restored.FindProfileByEmail(ctx, "bob@example.com")
		wantCode(t, err, switchboard.ENOTFOUND)
		if err := db.Backup(ctx, backup); err == nil {
			t.Error("a backup overwrote an existing file")
		}
	})
}
