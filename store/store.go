// Package store keeps Switchboard's data in one SQLite file: profiles,
// organisations, members, invitations, the outbox, the audit log and the
// sessions.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"switchboard"
)

//go:embed migrations/sqlite/*.sql
var migrations embed.FS

// DB is the database. Writes go through one connection, in immediate
// transactions, so they queue in Go instead of failing with "database is
// locked"; reads use a pool of their own.
type DB struct {
	write *sql.DB
	read  *sql.DB
	path  string
	stmts sync.Map // query text → *sql.Stmt on the read pool
	// broken is the first error that said the file is damaged or
	// read-only; see Broken.
	broken atomic.Pointer[error]
	// reads counts the queries run on the read pool; see Reads.
	reads atomic.Int64

	// Now returns the current time; tests move it to expire tokens.
	Now func() time.Time
	// EmailsPerRecipient is how many emails one mailbox may be sent in
	// EmailLimitWindow; 0 means MaxEmailsPerRecipient.
	EmailsPerRecipient int
}

// Open opens (creating if needed) the database file at path and brings its
// schema up to date. A database written by a newer Switchboard is refused.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("store: a database path is required")
	}
	if strings.HasPrefix(path, ":memory:") || strings.Contains(path, "mode=memory") {
		return nil, errors.New("store: an in-memory database cannot be shared by the writer and the readers; use a file")
	}
	dsn := func(extra string) string {
		v := url.Values{}
		v.Add("_pragma", "foreign_keys(1)")
		v.Add("_pragma", "journal_mode(WAL)")
		v.Add("_pragma", "busy_timeout(10000)")
		v.Add("_pragma", "synchronous(NORMAL)")
		v.Add("_time_format", "sqlite")
		return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + v.Encode() + extra
	}
	write, err := sql.Open("sqlite", dsn("&_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)

	read, err := sql.Open("sqlite", dsn("&_pragma=query_only(1)"))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	n := max(4, runtime.NumCPU()*2)
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)

	db := &DB{write: write, read: read, path: path, Now: time.Now}
	if err := db.check(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, db.startError(err)
	}
	return db, nil
}

// QuickCheckLimit is the largest database file that Open checks with
// PRAGMA quick_check: it reads every page (Open took 80 ms on a 54 MB file
// here, BenchmarkOpenQuickCheck), so a larger file, whose pages may not be
// in memory, starts without it rather than keep the panel down for long.
const QuickCheckLimit = 256 << 20

// check refuses, at start, a database that would fail later: a damaged
// file (PRAGMA quick_check reads every page; a sound first page says
// nothing of the others) and one that cannot be written (a read-only file
// or folder opens fine and fails every write). The write probe commits a
// real write, PRAGMA user_version set to its own value: a transaction
// rolled back writes nothing to the file, in WAL mode not even the log.
func (db *DB) check(ctx context.Context) error {
	if info, err := os.Stat(db.path); err == nil && info.IsDir() {
		return fmt.Errorf("the database %s is a folder; name a file", db.path)
	} else if err == nil && info.Size() <= QuickCheckLimit {
		var problems []string
		rows, err := db.write.QueryContext(ctx, `PRAGMA quick_check(5)`)
		if err != nil {
			return db.startError(err)
		}
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				rows.Close()
				return db.startError(err)
			}
			problems = append(problems, line)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return db.startError(err)
		}
		if len(problems) != 1 || problems[0] != "ok" {
			detail := strings.Join(strings.Fields(strings.Join(problems, "; ")), " ")
			if len(detail) > 200 {
				detail = detail[:200] + "…"
			}
			return fmt.Errorf("the database %s is damaged (%s); restore a backup", db.path, detail)
		}
	}
	var version int64
	if err := db.write.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return db.startError(err)
	}
	if _, err := db.write.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, version)); err != nil {
		return db.startError(err)
	}
	return nil
}

// startError turns an error met while opening the database into one line
// that names the file and says what to do, rather than the step that
// happened to meet it first.
func (db *DB) startError(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		if strings.Contains(err.Error(), db.path) {
			return err
		}
		return fmt.Errorf("the database %s could not be opened (%v)", db.path, err)
	}
	msg := se.Error()
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
		return fmt.Errorf("the database %s is damaged (%s); restore a backup", db.path, msg)
	case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH:
		return fmt.Errorf("the database %s cannot be written (%s); check that its folder exists and that the file and the folder are writable by this user", db.path, msg)
	case sqlite3.SQLITE_FULL:
		return fmt.Errorf("the disk holding the database %s is full (%s); free some space", db.path, msg)
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return fmt.Errorf("the database %s is locked by another program (%s)", db.path, msg)
	}
	return fmt.Errorf("the database %s could not be opened (%s)", db.path, msg)
}

// fatal reports whether err says the file itself is unusable: damaged, or
// no longer writable. Retrying does not help; the operator must act.
func fatal(err error) bool {
	var se *sqlite.Error
	if err == nil || !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_READONLY:
		return true
	}
	return false
}

// note remembers the first error that says the file is unusable, for
// /healthz: a panel whose database is damaged or read-only must be seen as
// down even when SELECT 1 still answers.
func (db *DB) note(err error) {
	if fatal(err) {
		db.broken.CompareAndSwap(nil, &err)
	}
}

// Broken returns the first error that said the database file is damaged or
// read-only, or nil. It stays set until restart.
func (db *DB) Broken() error {
	if err := db.broken.Load(); err != nil {
		return *err
	}
	return nil
}

// Close closes the database, checkpointing the write-ahead log.
func (db *DB) Close() error {
	var errs []error
	db.stmts.Range(func(_, s any) bool { s.(*sql.Stmt).Close(); return true })
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	if db.write != nil {
		_, _ = db.write.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
		errs = append(errs, db.write.Close())
	}
	return errors.Join(errs...)
}

// Ping checks that the database answers and was never seen damaged or
// read-only, for /healthz.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.Broken(); err != nil {
		return fmt.Errorf("store: the database %s failed earlier: %w", db.path, err)
	}
	var one int
	err := db.read.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
	db.note(err)
	return err
}

// Backup writes a consistent copy of the database to path while it runs.
func (db *DB) Backup(ctx context.Context, path string) error {
	_, err := db.write.ExecContext(ctx, `VACUUM INTO ?`, path)
	if err != nil {
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	return nil
}

// migrate applies the embedded migrations that have not run yet, each in
// its own transaction, and refuses a database that knows more migrations
// than this binary.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("store: create schema_migrations: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/sqlite/*.sql")
	if err != nil {
		return fmt.Errorf("store: list migrations: %w", err)
	}
	sort.Strings(names)

	var newest int
	if err := db.write.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&newest); err != nil {
		return fmt.Errorf("store: read schema version: %w", err)
	}
	known := 0
	for _, name := range names {
		v, err := migrationVersion(name)
		if err != nil {
			return err
		}
		known = max(known, v)
	}
	if newest > known {
		return fmt.Errorf("store: the database %s was written by a newer version of Switchboard (schema %d, this binary knows %d); run that version or restore a backup", db.path, newest, known)
	}

	for _, name := range names {
		v, _ := migrationVersion(name)
		if v <= newest {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return fmt.Errorf("store: read %s: %w", name, err)
		}
		err = db.tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				v, path.Base(name), db.Now().Unix())
			return err
		})
		if err != nil {
			return fmt.Errorf("store: migration %s: %w", name, err)
		}
	}
	return nil
}

func migrationVersion(name string) (int, error) {
	base := path.Base(name)
	var v int
	if _, err := fmt.Sscanf(base, "%04d_", &v); err != nil || v <= 0 {
		return 0, fmt.Errorf("store: migration %s is not named NNNN_name.sql", base)
	}
	return v, nil
}

// tx runs fn in one immediate write transaction, committing if fn returns
// nil.
func (db *DB) tx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	defer func() { db.note(err) }()
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// isUnique reports whether err is a UNIQUE (or primary key) violation.
func isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// millis stores times as Unix milliseconds.
func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func fromNullMillis(ms sql.NullInt64) *time.Time {
	if !ms.Valid {
		return nil
	}
	t := fromMillis(ms.Int64)
	return &t
}

// notFound is the error for a row that is missing or belongs to another
// organisation: the two look the same.
func notFound(what string) error {
	return switchboard.Errorf(switchboard.ENOTFOUND, "This %s does not exist, or you do not have access to it.", what)
}

// prepared returns the read pool's prepared statement for q, preparing it
// once: parsing the SQL again on every request took a third of the time of
// a page.
func (db *DB) prepared(ctx context.Context, q string) (*sql.Stmt, error) {
	if s, ok := db.stmts.Load(q); ok {
		return s.(*sql.Stmt), nil
	}
	s, err := db.read.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if prev, loaded := db.stmts.LoadOrStore(q, s); loaded {
		s.Close()
		return prev.(*sql.Stmt), nil
	}
	return s, nil
}

// query runs a read query through its prepared statement.
func (db *DB) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	db.reads.Add(1)
	s, err := db.prepared(ctx, q)
	if err != nil {
		db.note(err)
		return nil, err
	}
	rows, err := s.QueryContext(ctx, args...)
	db.note(err)
	return rows, err
}

// row is a *sql.Row, or the error of preparing its statement.
type row struct {
	r   *sql.Row
	err error
	db  *DB
}

func (r row) Scan(dest ...any) error {
	if r.err != nil {
		r.db.note(r.err)
		return r.err
	}
	err := r.r.Scan(dest...)
	r.db.note(err)
	return err
}

// queryRow runs a one-row read query through its prepared statement.
func (db *DB) queryRow(ctx context.Context, q string, args ...any) row {
	db.reads.Add(1)
	s, err := db.prepared(ctx, q)
	if err != nil {
		return row{err: err, db: db}
	}
	return row{r: s.QueryRowContext(ctx, args...), db: db}
}
