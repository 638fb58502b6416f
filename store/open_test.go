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
	"switchboard/store/storetest"
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

// migrationFiles returns the versions of the migration files of the
// engine of this pass, in order.
func migrationFiles(tb testing.TB) []int {
	tb.Helper()
	dir := "sqlite"
	if storetest.Postgres() {
		dir = "postgres"
	}
	names, err := filepath.Glob(filepath.Join("migrations", dir, "*.sql"))
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
	t.Run("an empty database gets the schema", func(t *testing.T) {
		path := storetest.DSN(t)
		db, err := store.Open(ctx, path)
		must(t, err)
		must(t, db.Close())

		versions, _ := schemaVersions(t, path)
		if want := migrationFiles(t); !slices.Equal(versions, want) {
			t.Fatalf("schema_migrations holds %v, want %v", versions, want)
		}
		raw := rawDB(t, path)
		tables := schemaOf(t, raw)
		for _, table := range []string{"profiles", "organisations", "roles", "members", "outbox", "invitations", "password_resets", "audit_log", "sessions"} {
			if _, ok := tables[table]; !ok {
				t.Errorf("table %s is missing", table)
			}
		}
		if !slices.Contains(indexesOf(t, raw), "members_one_owner") {
			t.Errorf("index members_one_owner is missing")
		}
	})

	t.Run("reopening is a no-op", func(t *testing.T) {
		path := storetest.DSN(t)
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
		path := storetest.DSN(t)
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
		storetest.SQLiteOnly(t)
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
		storetest.SQLiteOnly(t)
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

// schemaOf returns the tables of the database raw is connected to, each
// with its columns and whether they may be NULL ("name" or "name NULL"),
// leaving out SQLite's own tables and those of its full-text index.
func schemaOf(tb testing.TB, raw *storetest.Raw) map[string][]string {
	tb.Helper()
	q := `SELECT m.name, c.name, c."notnull" OR c.pk FROM sqlite_master m JOIN pragma_table_info(m.name) c
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE 'member_search%'`
	if strings.HasPrefix(raw.Engine(), "Postgre") {
		q = `SELECT table_name, column_name, is_nullable = 'NO' FROM information_schema.columns
			WHERE table_schema = current_schema()`
	}
	rows, err := raw.QueryContext(ctx, q)
	must(tb, err)
	defer rows.Close()
	tables := map[string][]string{}
	for rows.Next() {
		var table, column string
		var notNull bool
		must(tb, rows.Scan(&table, &column, &notNull))
		if !notNull {
			column += " NULL"
		}
		tables[table] = append(tables[table], column)
	}
	must(tb, rows.Err())
	for _, columns := range tables {
		slices.Sort(columns)
	}
	return tables
}

// indexesOf returns the names of the indexes of the database raw is
// connected to, sorted, leaving out those SQLite makes by itself.
func indexesOf(tb testing.TB, raw *storetest.Raw) []string {
	tb.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'`
	if strings.HasPrefix(raw.Engine(), "Postgre") {
		q = `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()`
	}
	rows, err := raw.QueryContext(ctx, q)
	must(tb, err)
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		must(tb, rows.Scan(&name))
		names = append(names, name)
	}
	must(tb, rows.Err())
	slices.Sort(names)
	return names
}

// TestEnginesEndInTheSameSchema opens an empty database on each engine and
// compares what their migrations made: the same tables, the same columns,
// the same NOT NULLs and the same named indexes (PostgreSQL also names its
// primary keys and UNIQUE columns, which SQLite leaves unnamed). It runs in
// the PostgreSQL pass, which has both engines at hand.
func TestEnginesEndInTheSameSchema(t *testing.T) {
	if !storetest.Postgres() {
		t.Skip("needs PostgreSQL: runs in the PostgreSQL pass")
	}
	pgDSN := storetest.DSN(t)
	liteDSN := filepath.Join(t.TempDir(), "switchboard.db")
	for _, dsn := range []string{pgDSN, liteDSN} {
		db, err := store.Open(ctx, dsn)
		must(t, err)
		must(t, db.Close())
	}
	pg, lite := rawDB(t, pgDSN), rawDB(t, liteDSN)
	pgTables, liteTables := schemaOf(t, pg), schemaOf(t, lite)
	for table, columns := range liteTables {
		if !slices.Equal(columns, pgTables[table]) {
			t.Errorf("table %s:\n  SQLite     %v\n  PostgreSQL %v", table, columns, pgTables[table])
		}
	}
	for table := range pgTables {
		if _, ok := liteTables[table]; !ok {
			t.Errorf("table %s is on PostgreSQL only", table)
		}
	}
	pgIndexes := indexesOf(t, pg)
	for _, name := range indexesOf(t, lite) {
		if !slices.Contains(pgIndexes, name) {
			t.Errorf("index %s is on SQLite only", name)
		}
	}
	for _, name := range pgIndexes {
		if !strings.HasSuffix(name, "_pkey") && !strings.HasSuffix(name, "_key") && name != "roles_org_id_name" && !slices.Contains(indexesOf(t, lite), name) {
			t.Errorf("index %s is on PostgreSQL only", name)
		}
	}
}
