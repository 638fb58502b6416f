// Package store keeps Switchboard's data (profiles, organisations,
// members, invitations, the outbox, the audit log and the sessions) in one
// SQLite file or in a PostgreSQL database; see engine.go.
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

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"switchboard"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// nowFunc is the clock of a new DB.
var nowFunc = time.Now

// DB is the database. Writes go through one connection, in immediate
// transactions, so they queue in Go instead of failing with "database is
// locked"; reads use a pool of their own.
type DB struct {
	write *sql.DB
	read  *sql.DB
	// path names the database in messages: the SQLite file, or the
	// PostgreSQL URL without its password.
	path string
	// pg is true on PostgreSQL, where write and read are one pool.
	pg    bool
	stmts sync.Map // query text → *sql.Stmt on the read pool
	// writeStmts holds the statements of write transactions prepared on
	// SQLite's writer connection (see Tx.prepared).
	writeStmts sync.Map // query text → *sql.Stmt on the writer
	// apiSends gathers the API sends waiting for SQLite's writer, to
	// commit them together (store/apimessages.go).
	apiSends apiSendQueue
	// statements counts the statements run, for tests that hold a page to
	// a fixed number of queries whatever the organisation's size.
	statements atomic.Int64
	// broken is the first error that said the file is damaged or
	// read-only; see Broken.
	broken atomic.Pointer[error]

	// Now returns the current time; tests move it to expire tokens.
	Now func() time.Time
	// EmailsPerRecipient is how many emails one mailbox may be sent in
	// EmailLimitWindow; 0 means MaxEmailsPerRecipient.
	EmailsPerRecipient int
}

// Open opens the database named by path, a SQLite file (created if needed)
// or a postgres:// URL, and brings its schema up to date. A database written
// by a newer Switchboard is refused.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("store: a database path is required")
	}
	if IsPostgres(path) {
		db, err := openPostgres(ctx, path)
		if err != nil {
			return nil, err
		}
		if err := db.migrate(ctx); err != nil {
			db.Close()
			return nil, db.startError(err)
		}
		return db, nil
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
	// The writer keeps its statement journal in memory: the API's sends
	// are committed in groups, each under a savepoint whose journal of
	// the pages it changes went to a temporary file, a write for every
	// page (store/apimessages.go).
	write, err := sql.Open("sqlite", dsn("&_txlock=immediate&_pragma=temp_store(memory)"))
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

	db := &DB{write: write, read: read, path: path, Now: nowFunc}
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
	if db.pg {
		return db.postgresStartError(err)
	}
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
	db.writeStmts.Range(func(_, s any) bool { s.(*sql.Stmt).Close(); return true })
	if db.read != nil { // on PostgreSQL, the one pool
		errs = append(errs, db.read.Close())
	}
	if db.write != nil && !db.pg {
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

// Backup writes a consistent copy of the SQLite database to path while it
// runs. PostgreSQL has pg_dump for that.
func (db *DB) Backup(ctx context.Context, path string) error {
	if db.pg {
		return errors.New("store: backup copies a SQLite database; use pg_dump for PostgreSQL")
	}
	_, err := db.write.ExecContext(ctx, `VACUUM INTO ?`, path)
	if err != nil {
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	return nil
}

// migrate applies the embedded migrations of the engine that have not run
// yet and refuses a database that knows more migrations than this binary.
// On SQLite each runs in its own transaction; on PostgreSQL, whose DDL is
// transactional, all run in one that first takes an advisory lock, so that
// processes started together migrate one after the other.
func (db *DB) migrate(ctx context.Context) error {
	dir := "migrations/sqlite"
	if db.pg {
		dir = "migrations/postgres"
	}
	names, err := fs.Glob(migrations, dir+"/*.sql")
	if err != nil {
		return fmt.Errorf("store: list migrations: %w", err)
	}
	sort.Strings(names)
	known := 0
	for _, name := range names {
		v, err := migrationVersion(name)
		if err != nil {
			return err
		}
		known = max(known, v)
	}

	apply := func(tx *Tx, name string, v int) error {
		body, err := migrations.ReadFile(name)
		if err != nil {
			return fmt.Errorf("store: read %s: %w", name, err)
		}
		// Not rebound: a migration takes no arguments.
		if _, err := tx.tx.ExecContext(ctx, string(body)); err != nil {
			return fmt.Errorf("store: migration %s: %w", path.Base(name), err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			v, path.Base(name), db.Now().Unix())
		return err
	}
	newestOf := func(tx *Tx) (int, error) {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
			return 0, fmt.Errorf("store: create schema_migrations: %w", err)
		}
		var newest int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&newest); err != nil {
			return 0, fmt.Errorf("store: read schema version: %w", err)
		}
		if newest > known {
			return 0, fmt.Errorf("store: the database %s was written by a newer version of Switchboard (schema %d, this binary knows %d); run that version or restore a backup", db.path, newest, known)
		}
		return newest, nil
	}

	if db.pg {
		return db.tx(ctx, func(tx *Tx) error {
			// Any constant key: one lock per database, released at commit.
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(2718281828)`); err != nil {
				return fmt.Errorf("store: lock for migrations: %w", err)
			}
			newest, err := newestOf(tx)
			if err != nil {
				return err
			}
			for _, name := range names {
				if v, _ := migrationVersion(name); v > newest {
					if err := apply(tx, name, v); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
	var newest int
	if err := db.tx(ctx, func(tx *Tx) (err error) { newest, err = newestOf(tx); return err }); err != nil {
		return err
	}
	for _, name := range names {
		if v, _ := migrationVersion(name); v > newest {
			if err := db.tx(ctx, func(tx *Tx) error { return apply(tx, name, v) }); err != nil {
				return err
			}
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

// tx runs fn in one write transaction, committing if fn returns nil: an
// immediate transaction on SQLite, READ COMMITTED on PostgreSQL (see
// Tx.lockOrganisation).
func (db *DB) tx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	defer func() { db.note(err) }()
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	t := &Tx{tx: tx, db: db}
	defer func() {
		tx.Rollback()
		if len(t.missed) > 0 {
			db.prepareMissed(ctx, t.missed)
		}
	}()
	if err := fn(t); err != nil {
		return err
	}
	return tx.Commit()
}

// isUnique reports whether err is a UNIQUE (or primary key) violation.
func isUnique(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
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
	s, err := db.read.PrepareContext(ctx, db.bind(q))
	if err != nil {
		return nil, err
	}
	if prev, loaded := db.stmts.LoadOrStore(q, s); loaded {
		s.Close()
		return prev.(*sql.Stmt), nil
	}
	return s, nil
}

// Statements returns how many statements the store has run since it was
// opened: reads, and each statement of a write transaction.
func (db *DB) Statements() int64 { return db.statements.Load() }

// query runs a read query through its prepared statement.
func (db *DB) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	db.statements.Add(1)
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
	db.statements.Add(1)
	s, err := db.prepared(ctx, q)
	if err != nil {
		return row{err: err, db: db}
	}
	return row{r: s.QueryRowContext(ctx, args...), db: db}
}

// pageOf cuts a list read with limit+1 rows (newest first, by cursor) to
// one page, and returns the cursor of the next page: the id of its last
// entry when there was one more row, 0 when this is the last page.
func pageOf[T any](list []T, limit int, id func(T) int64) ([]T, int64) {
	if len(list) <= limit {
		return list, 0
	}
	list = list[:limit]
	return list, id(list[limit-1])
}

// column reads the one column of every row of a query (its rows and
// error, as QueryContext returns them) and closes the rows.
func column[T any](rows *sql.Rows, err error) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	return list, rows.Err()
}
