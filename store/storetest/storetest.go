// Package storetest gives the tests of every package a real database on
// each engine: a SQLite file in the test's temporary folder, and, when
// SWITCHBOARD_POSTGRES_URL names a PostgreSQL server, a schema of its own
// on that server, dropped when the test ends. Main runs a package's tests
// once per engine.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"switchboard/store"
)

// URLVariable names the PostgreSQL server the tests use; RequiredVariable
// set to "required" makes a missing server a failure instead of a skip.
const (
	URLVariable      = "SWITCHBOARD_POSTGRES_URL"
	RequiredVariable = "SWITCHBOARD_POSTGRES"
)

// HowToRun says how to get a server for the tests.
const HowToRun = `start one with: eval "$(bash .ci/postgres)" (it needs the PostgreSQL server binaries: apt-get install -y postgresql), or set ` + URLVariable + ` to postgres://user:password@host:port/database of a server where the user may create schemas`

// postgres is true during the PostgreSQL pass of Main.
var postgres bool

// Postgres reports whether the tests now run on PostgreSQL.
func Postgres() bool { return postgres }

// Engine names the engine the tests now run on.
func Engine() string {
	if postgres {
		return "PostgreSQL"
	}
	return "SQLite"
}

// Main runs the package's tests on SQLite, then again on PostgreSQL when
// SWITCHBOARD_POSTGRES_URL names a server that answers. Without one it says
// so in a line (visible without -v) and the run passes on SQLite alone,
// unless SWITCHBOARD_POSTGRES=required. Use it as
// func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }.
func Main(m *testing.M) int {
	code := m.Run()
	required := os.Getenv(RequiredVariable) == "required"
	if os.Getenv(URLVariable) == "" {
		if required {
			Announce(fmt.Sprintf("%s=required, but %s is empty; %s", RequiredVariable, URLVariable, HowToRun))
			return 1
		}
		Announce("PostgreSQL tests skipped: " + URLVariable + " is not set; " + HowToRun)
		return code
	}
	if err := admin(); err != nil {
		if required {
			Announce(fmt.Sprintf("%s=required, but the server of %s does not answer (%v); %s", RequiredVariable, URLVariable, err, HowToRun))
			return 1
		}
		Announce(fmt.Sprintf("PostgreSQL tests skipped: the server of %s does not answer (%v)", URLVariable, err))
		return code
	}
	postgres = true
	if testing.Verbose() {
		fmt.Println("=== the same tests again, on PostgreSQL")
	}
	if pg := m.Run(); pg != 0 {
		return pg
	}
	return code
}

// Announce prints line to standard error, and to the terminal as well when
// the go command holds standard error back: `go test ./...` shows a
// passing package's output only with -v.
func Announce(line string) {
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice == 0 && !testing.Verbose() {
		if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
			fmt.Fprintln(tty, line)
			tty.Close()
		}
	}
	fmt.Fprintln(os.Stderr, line)
}

var (
	adminOnce sync.Once
	adminDB   *sql.DB
	adminErr  error
)

// admin connects once to the server of SWITCHBOARD_POSTGRES_URL, to create
// and drop the tests' schemas.
func admin() error {
	adminOnce.Do(func() {
		adminDB, adminErr = sql.Open("pgx", os.Getenv(URLVariable))
		if adminErr == nil {
			adminDB.SetMaxOpenConns(4)
			adminErr = adminDB.PingContext(context.Background())
		}
	})
	return adminErr
}

// DSN returns what store.Open takes for a new, empty database of the test's
// own on the current engine: a file in tb.TempDir(), or a postgres:// URL
// whose search_path is a new schema, dropped with all it holds when the
// test ends (after the cleanups registered later, such as closing the
// store).
func DSN(tb testing.TB) string {
	tb.Helper()
	if !postgres {
		return filepath.Join(tb.TempDir(), "switchboard.db")
	}
	if err := admin(); err != nil {
		tb.Fatalf("PostgreSQL: %v", err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("(this run was on PostgreSQL)")
		}
	})
	return schemaDSN(tb)
}

// PostgresDSN returns a postgres:// URL for a new, empty schema of the
// test's own on the server of SWITCHBOARD_POSTGRES_URL, on either pass of
// Main, for tests that need PostgreSQL beside SQLite (migrate-to) or run in
// a package without Main. It skips the test when no server is named or it
// does not answer, and fails it instead when SWITCHBOARD_POSTGRES=required.
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	required := os.Getenv(RequiredVariable) == "required"
	if os.Getenv(URLVariable) == "" {
		if required {
			tb.Fatalf("%s=required, but %s is empty; %s", RequiredVariable, URLVariable, HowToRun)
		}
		tb.Skipf("needs PostgreSQL: %s is not set; %s", URLVariable, HowToRun)
	}
	if err := admin(); err != nil {
		if required {
			tb.Fatalf("%s=required, but the server of %s does not answer (%v); %s", RequiredVariable, URLVariable, err, HowToRun)
		}
		tb.Skipf("needs PostgreSQL: the server of %s does not answer (%v)", URLVariable, err)
	}
	return schemaDSN(tb)
}

// schemaDSN creates a schema for the test on the server of
// SWITCHBOARD_POSTGRES_URL, dropped when the test ends, and returns the URL
// whose search_path is that schema.
func schemaDSN(tb testing.TB) string {
	tb.Helper()
	schema := "test_" + strings.ToLower(rand.Text()[:16])
	if _, err := adminDB.Exec(`CREATE SCHEMA ` + schema); err != nil {
		tb.Fatalf("PostgreSQL: create schema %s: %v", schema, err)
	}
	tb.Cleanup(func() {
		if _, err := adminDB.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			tb.Errorf("PostgreSQL: drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(os.Getenv(URLVariable))
	if err != nil {
		tb.Fatalf("%s: %v", URLVariable, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open opens a new, empty database of the test's own on the current engine
// (see DSN) and closes it when the test ends. It returns what store.Open was
// given, for tests that open it again or look behind the store's back
// with Raw.
func Open(tb testing.TB) (*store.DB, string) {
	tb.Helper()
	dsn := DSN(tb)
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		tb.Fatalf("open the %s database: %v", Engine(), err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return db, dsn
}

// SQLiteOnly skips a test of something only SQLite has (its file, PRAGMA,
// VACUUM INTO) on the PostgreSQL pass.
func SQLiteOnly(tb testing.TB) {
	tb.Helper()
	if postgres {
		tb.Skip("SQLite only: this test is about the SQLite file")
	}
}

// Raw is a connection of the test's own to a database, to look behind the
// store's back or to break its rules on purpose. Its queries are written
// with ? placeholders, rebound on PostgreSQL like the store's.
type Raw struct {
	DB *sql.DB
	pg bool
}

// OpenRaw opens a Raw connection to the database dsn names (see Open) and
// closes it when the test ends.
func OpenRaw(tb testing.TB, dsn string) *Raw {
	tb.Helper()
	var db *sql.DB
	var err error
	if store.IsPostgres(dsn) {
		db, err = sql.Open("pgx", dsn)
	} else {
		db, err = sql.Open("sqlite", "file:"+dsn+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)")
	}
	if err != nil {
		tb.Fatalf("open raw %s: %v", dsn, err)
	}
	tb.Cleanup(func() { db.Close() })
	return &Raw{DB: db, pg: store.IsPostgres(dsn)}
}

// Bind returns q with its placeholders in the engine's style, for statements
// prepared on r.DB.
func (r *Raw) Bind(q string) string {
	if r.pg {
		return store.Rebind(q)
	}
	return q
}

// ExecContext runs a statement.
func (r *Raw) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return r.DB.ExecContext(ctx, r.Bind(q), args...)
}

// QueryContext runs a query.
func (r *Raw) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return r.DB.QueryContext(ctx, r.Bind(q), args...)
}

// QueryRowContext runs a one-row query.
func (r *Raw) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return r.DB.QueryRowContext(ctx, r.Bind(q), args...)
}

// Exec runs a statement without a context.
func (r *Raw) Exec(q string, args ...any) (sql.Result, error) {
	return r.DB.Exec(r.Bind(q), args...)
}

// QueryRow runs a one-row query without a context.
func (r *Raw) QueryRow(q string, args ...any) *sql.Row {
	return r.DB.QueryRow(r.Bind(q), args...)
}

// Close closes the connection.
func (r *Raw) Close() error { return r.DB.Close() }

// RawTx is a transaction on a Raw connection, its queries rebound like
// Raw's.
type RawTx struct {
	*sql.Tx
	raw *Raw
}

// BeginTx starts a transaction.
func (r *Raw) BeginTx(ctx context.Context, opts *sql.TxOptions) (*RawTx, error) {
	tx, err := r.DB.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &RawTx{Tx: tx, raw: r}, nil
}

// ExecContext runs a statement in the transaction.
func (t *RawTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.Tx.ExecContext(ctx, t.raw.Bind(q), args...)
}

// QueryRowContext runs a one-row query in the transaction.
func (t *RawTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return t.Tx.QueryRowContext(ctx, t.raw.Bind(q), args...)
}

// PrepareContext prepares a statement in the transaction.
func (t *RawTx) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return t.Tx.PrepareContext(ctx, t.raw.Bind(q))
}

// Engine names the engine r is connected to.
func (r *Raw) Engine() string {
	if r.pg {
		return "PostgreSQL"
	}
	return "SQLite"
}
