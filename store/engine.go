package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx" with database/sql
)

// Two engines, one store: every query is written once, with ? placeholders,
// in the SQL that SQLite and PostgreSQL share; on PostgreSQL it is rebound
// to $1, $2… before it runs. Where the dialects differ, the schema bridges
// them rather than the queries: PostgreSQL's migrations create a
// case-insensitive collation named nocase (what SQLite calls NOCASE) and an
// instr() function, so ORDER BY name COLLATE NOCASE and instr(a, b) mean
// the same on both. What no schema can bridge (locks, PRAGMA, VACUUM INTO)
// is a method that asks db.pg.

// IsPostgres reports whether dsn names a PostgreSQL database rather than a
// SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Tx is a write transaction whose queries are written with ? placeholders,
// rebound for the engine.
type Tx struct {
	tx *sql.Tx
	db *DB
	// missed are the statements run without a prepared statement, to
	// prepare once the transaction has ended (see prepared).
	missed []string
}

// ExecContext runs a statement in the transaction.
func (t *Tx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	t.db.statements.Add(1)
	if s := t.prepared(ctx, q); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, t.db.bind(q), args...)
}

// QueryContext runs a query in the transaction.
func (t *Tx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	t.db.statements.Add(1)
	if s := t.prepared(ctx, q); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, t.db.bind(q), args...)
}

// QueryRowContext runs a one-row query in the transaction.
func (t *Tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	t.db.statements.Add(1)
	if s := t.prepared(ctx, q); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, t.db.bind(q), args...)
}

// maxCachedParams bounds the statements the writer keeps prepared: the
// store's fixed statements have a handful of placeholders, and those built
// for a number of rows (a send's INSERT, an IN list) are kept only while
// small, so that their variants stay few.
const maxCachedParams = 64

// prepared returns q's statement prepared once on SQLite's one writer
// connection, for this transaction, or nil to run q as it is. Parsing a
// statement again for every transaction took a fifth of an API send's
// time (BenchmarkAPISendMessage: SQLite's parser at 21% of the CPU);
// PostgreSQL needs nothing, as pgx keeps each connection's statements
// prepared already.
//
// A statement not prepared yet runs as it is this time, and is prepared
// once the transaction has ended (prepareMissed): the writer's one
// connection belongs to the transaction until then, and preparing on the
// pool now would wait for it for ever.
func (t *Tx) prepared(ctx context.Context, q string) *sql.Stmt {
	if t.db.pg || strings.Count(q, "?") > maxCachedParams {
		return nil
	}
	s, ok := t.db.writeStmts.Load(q)
	if !ok {
		t.missed = append(t.missed, q)
		return nil
	}
	return t.tx.StmtContext(ctx, s.(*sql.Stmt))
}

// prepareMissed prepares on the writer the statements a transaction ran
// unprepared, for the next transactions. One that cannot be prepared is
// left to run as it is, which reports its error.
func (db *DB) prepareMissed(ctx context.Context, missed []string) {
	for _, q := range missed {
		if _, ok := db.writeStmts.Load(q); ok {
			continue
		}
		s, err := db.write.PrepareContext(context.WithoutCancel(ctx), q)
		if err != nil {
			continue
		}
		if _, loaded := db.writeStmts.LoadOrStore(q, s); loaded {
			s.Close()
		}
	}
}

// rebound caches the PostgreSQL form of each query text: the store's
// queries are constants, so the cache holds one entry per query.
var rebound sync.Map

// bind returns q in the engine's placeholder style.
func (db *DB) bind(q string) string {
	if !db.pg {
		return q
	}
	if b, ok := rebound.Load(q); ok {
		return b.(string)
	}
	b := Rebind(q)
	rebound.Store(q, b)
	return b
}

// Rebind turns the ? placeholders of q into PostgreSQL's $1, $2…, leaving
// string literals, quoted names and comments alone.
func Rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'' || c == '"':
			j := strings.IndexByte(q[i+1:], c)
			if j < 0 {
				b.WriteString(q[i:])
				return b.String()
			}
			b.WriteString(q[i : i+j+2])
			i += j + 1
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				b.WriteString(q[i:])
				return b.String()
			}
			b.WriteString(q[i : i+j+1])
			i += j
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// openPostgres connects to the PostgreSQL database at dsn. One pool serves
// reads and writes: PostgreSQL has no single writer to queue behind.
func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	name := redactURL(dsn)
	pool, err := sql.Open("pgx", withGenericPlans(dsn))
	if err != nil {
		return nil, fmt.Errorf("the PostgreSQL database %s could not be opened (%v)", name, err)
	}
	pool.SetMaxOpenConns(PostgresConnections)
	pool.SetMaxIdleConns(PostgresConnections)
	db := &DB{write: pool, read: pool, path: name, pg: true, Now: nowFunc}
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return nil, db.startError(err)
	}
	return db, nil
}

// withGenericPlans adds plan_cache_mode=force_generic_plan to dsn unless it
// names a plan_cache_mode of its own. The store's queries are prepared once
// and run with other keys each time, and every one of them walks an index
// by its key; left to itself, PostgreSQL plans a query with LIMIT ? again
// on every run (its generic plan cannot see the limit, so it never looks
// cheaper), which took a third of the members page's time (460 µs against
// 290 µs for a page of 50 at 10,000 members).
func withGenericPlans(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn // pgx says what is wrong with it
	}
	q := u.Query()
	if q.Get("plan_cache_mode") == "" {
		q.Set("plan_cache_mode", "force_generic_plan")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// PostgresConnections is how many connections one process keeps to
// PostgreSQL. Three processes use 60 of the server's default 100.
var PostgresConnections = 20

// redactURL is dsn without its password, to name the database in messages
// and logs.
func redactURL(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(a PostgreSQL URL that could not be read)"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	u.RawQuery = ""
	return u.String()
}

// postgresStartError turns an error met while connecting to PostgreSQL into
// one line that says what to check.
func (db *DB) postgresStartError(err error) error {
	var pe *pgconn.PgError
	var ne net.Error
	switch {
	case errors.As(err, &pe) && (pe.Code == "28P01" || pe.Code == "28000"):
		return fmt.Errorf("PostgreSQL refused the login to %s (%s); check the user and password in --db", db.path, pe.Message)
	case errors.As(err, &pe) && pe.Code == "3D000":
		return fmt.Errorf("the PostgreSQL database %s does not exist (%s); create it first (createdb)", db.path, pe.Message)
	case errors.As(err, &pe):
		return fmt.Errorf("the PostgreSQL database %s could not be opened (%s)", db.path, pe.Message)
	case errors.As(err, &ne) || strings.Contains(err.Error(), "connect"):
		return fmt.Errorf("the PostgreSQL server of %s could not be reached (%v); check that it runs and that --db names its host and port", db.path, err)
	}
	if strings.Contains(err.Error(), db.path) {
		return err
	}
	return fmt.Errorf("the PostgreSQL database %s could not be opened (%v)", db.path, err)
}

// lockOrganisation makes the transaction the only one changing the
// organisation's members, invitations and roles until it ends. SQLite needs
// nothing: its write transactions run one at a time. PostgreSQL's READ
// COMMITTED lets two run side by side, and a rule read by one (the actor is
// still an owner, the target still a member) may be changed by the other
// before the first writes; the organisation's row lock queues them as
// SQLite does.
func (tx *Tx) lockOrganisation(ctx context.Context, orgID int64) error {
	if !tx.db.pg {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT 1 FROM organisations WHERE id = ? FOR NO KEY UPDATE`, orgID); err != nil {
		return fmt.Errorf("store: lock organisation %d: %w", orgID, err)
	}
	return nil
}

// lock makes the transaction the only one holding key until it ends, for a
// rule that reads rows before it inserts one (no more than so many emails
// to a mailbox): SQLite's single writer already runs such transactions one
// at a time; on PostgreSQL a transaction-scoped advisory lock on the key's
// hash does (two keys of one hash only wait for each other).
func (tx *Tx) lock(ctx context.Context, key string) error {
	if !tx.db.pg {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, key); err != nil {
		return fmt.Errorf("store: lock %q: %w", key, err)
	}
	return nil
}
