package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// CopyReport says what CopyTo copied.
type CopyReport struct {
	// Target names the PostgreSQL database, without its password.
	Target string
	// Tables lists every table copied with its rows, in the order copied
	// (a table after the tables it refers to).
	Tables []CopiedTable
}

// CopiedTable is one table copied by CopyTo and how many rows it holds on
// both sides.
type CopiedTable struct {
	Name string
	Rows int64
}

// pgTable is a table of the target as its catalog describes it.
type pgTable struct {
	name    string
	oid     uint32
	columns []pgColumn
	// identities are the columns with a sequence behind them (identity or
	// serial), each with its sequence.
	identities map[string]string
}

type pgColumn struct {
	name, typ string
}

// CopyTo copies every table of this SQLite database into the empty
// PostgreSQL database at dsn, which it brings to the same schema first
// (store.Open runs PostgreSQL's migrations). Everything is written in one
// PostgreSQL transaction that commits only when the row count of every
// table matches the source: a failure at any point leaves the target as
// empty as it was. The SQLite side is read in one read transaction, so the
// copy is one consistent moment of it even if a panel still writes.
//
// The tables copied are those of the target's catalog, in the order of its
// foreign keys, so that a table added later needs no code here. SQLite's
// derived tables that PostgreSQL lacks (the FTS5 member search index and
// its shadow tables, rebuilt from members) are left out; any other SQLite
// table missing from the target stops the copy rather than lose its rows.
// Values are converted by the target column's type where the engines
// differ: SQLite's 0/1 to BOOLEAN, BLOB to BYTEA, REAL to DOUBLE PRECISION.
func (db *DB) CopyTo(ctx context.Context, dsn string) (CopyReport, error) {
	report := CopyReport{Target: redactURL(dsn)}
	if db.pg {
		return report, errors.New("migrate-to copies a SQLite database; --db names a PostgreSQL database already (use pg_dump to copy one PostgreSQL database to another)")
	}
	if !IsPostgres(dsn) {
		return report, errors.New("migrate-to needs a postgres:// URL, such as postgres://switchboard:PASSWORD@localhost/switchboard")
	}
	target, err := Open(ctx, dsn)
	if err != nil {
		return report, err
	}
	defer target.Close()

	// One read transaction: every table is read from the same snapshot.
	src, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return report, fmt.Errorf("store: read %s: %w", db.path, err)
	}
	defer src.Rollback()

	conn, err := target.write.Conn(ctx)
	if err != nil {
		return report, target.postgresStartError(err)
	}
	defer conn.Close()
	err = conn.Raw(func(driverConn any) error {
		pc := driverConn.(*stdlib.Conn).Conn()
		tx, err := pc.Begin(ctx)
		if err != nil {
			return fmt.Errorf("store: begin on %s: %w", report.Target, err)
		}
		defer tx.Rollback(ctx)
		if err := copyTables(ctx, db, src, tx, report.Target, &report); err != nil {
			return err
		}
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("store: commit the copy into %s: %w", report.Target, err)
		}
		return nil
	})
	if err != nil {
		report.Tables = nil
		return report, err
	}
	return report, nil
}

// copyTables does the work of CopyTo inside the PostgreSQL transaction tx.
func copyTables(ctx context.Context, db *DB, src *sql.Tx, tx pgx.Tx, name string, report *CopyReport) error {
	var schema string
	if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return fmt.Errorf("store: read the schema of %s: %w", name, err)
	}
	tables, err := targetTables(ctx, tx, schema)
	if err != nil {
		return fmt.Errorf("store: read the tables of %s: %w", name, err)
	}

	// Nobody else writes to the target until the copy commits: a panel
	// started on it too early waits instead of mixing its rows in.
	idents := make([]string, 0, len(tables)+1)
	for _, t := range tables {
		idents = append(idents, pgx.Identifier{schema, t.name}.Sanitize())
	}
	idents = append(idents, pgx.Identifier{schema, "schema_migrations"}.Sanitize())
	if _, err := tx.Exec(ctx, `LOCK TABLE `+strings.Join(idents, ", ")+` IN EXCLUSIVE MODE`); err != nil {
		return fmt.Errorf("store: lock the tables of %s: %w", name, err)
	}

	var srcVersion, dstVersion int
	if err := src.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&srcVersion); err != nil {
		return fmt.Errorf("store: read the schema version of %s: %w", db.path, err)
	}
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&dstVersion); err != nil {
		return fmt.Errorf("store: read the schema version of %s: %w", name, err)
	}
	if srcVersion != dstVersion {
		return fmt.Errorf("the SQLite database %s has schema version %d but the PostgreSQL database %s has %d; run the same Switchboard version on both", db.path, srcVersion, name, dstVersion)
	}

	for _, t := range tables {
		var full bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+pgx.Identifier{schema, t.name}.Sanitize()+`)`).Scan(&full); err != nil {
			return fmt.Errorf("store: read table %s of %s: %w", t.name, name, err)
		}
		if full {
			return fmt.Errorf("the PostgreSQL database %s already holds data (table %s is not empty); migrate-to copies into an empty database only: create a new one (createdb) and name it instead", name, t.name)
		}
	}

	if err := checkSourceTables(ctx, db, src, tables); err != nil {
		return err
	}

	for _, t := range tables {
		srcColumns, err := sqliteColumns(ctx, src, t.name)
		if err != nil {
			return fmt.Errorf("store: read the columns of %s in %s: %w", t.name, db.path, err)
		}
		names := make([]string, len(t.columns))
		for i, c := range t.columns {
			names[i] = c.name
			if !srcColumns[c.name] {
				return fmt.Errorf("the SQLite database %s has no column %s.%s that PostgreSQL has; run the same Switchboard version on both", db.path, t.name, c.name)
			}
			delete(srcColumns, c.name)
		}
		for c := range srcColumns {
			return fmt.Errorf("the PostgreSQL database %s has no column %s.%s to copy SQLite's into; run the same Switchboard version on both", name, t.name, c)
		}

		quoted := make([]string, len(names))
		for i, n := range names {
			quoted[i] = `"` + n + `"`
		}
		rows, err := src.QueryContext(ctx, `SELECT `+strings.Join(quoted, ", ")+` FROM "`+t.name+`"`)
		if err != nil {
			return fmt.Errorf("store: read table %s of %s: %w", t.name, db.path, err)
		}
		source := &sqliteRows{rows: rows, columns: t.columns, values: make([]any, len(names))}
		copied, err := tx.CopyFrom(ctx, pgx.Identifier{schema, t.name}, names, source)
		rows.Close()
		if err == nil {
			err = source.err
		}
		if err != nil {
			return fmt.Errorf("store: copy table %s into %s: %w", t.name, name, err)
		}

		// The count from each side, in its own transaction: the source's
		// snapshot, and what this transaction is about to commit.
		var want, got int64
		if err := src.QueryRowContext(ctx, `SELECT COUNT(*) FROM "`+t.name+`"`).Scan(&want); err != nil {
			return fmt.Errorf("store: count table %s of %s: %w", t.name, db.path, err)
		}
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM `+pgx.Identifier{schema, t.name}.Sanitize()).Scan(&got); err != nil {
			return fmt.Errorf("store: count table %s of %s: %w", t.name, name, err)
		}
		if got != want || copied != want {
			return fmt.Errorf("table %s holds %d rows in SQLite but %d in PostgreSQL (%d copied); nothing was written", t.name, want, got, copied)
		}

		// New rows get ids past the copied ones.
		for column, seq := range t.identities {
			q := `SELECT setval($1, COALESCE((SELECT MAX(` + pgx.Identifier{column}.Sanitize() + `) FROM ` + pgx.Identifier{schema, t.name}.Sanitize() + `), 0) + 1, false)`
			if _, err := tx.Exec(ctx, q, seq); err != nil {
				return fmt.Errorf("store: set the sequence of %s.%s in %s: %w", t.name, column, name, err)
			}
		}
		report.Tables = append(report.Tables, CopiedTable{Name: t.name, Rows: want})
	}
	return nil
}

// targetTables reads the tables of the schema (but schema_migrations, which
// each database keeps for itself) with their columns and sequences, a table
// after every table its foreign keys refer to.
func targetTables(ctx context.Context, tx pgx.Tx, schema string) ([]pgTable, error) {
	rows, err := tx.Query(ctx, `
		SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname <> 'schema_migrations'
		ORDER BY c.relname`, schema)
	if err != nil {
		return nil, err
	}
	byOID := map[uint32]*pgTable{}
	var list []*pgTable
	for rows.Next() {
		t := &pgTable{identities: map[string]string{}}
		if err := rows.Scan(&t.oid, &t.name); err != nil {
			rows.Close()
			return nil, err
		}
		byOID[t.oid] = t
		list = append(list, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}

	for _, t := range list {
		rows, err := tx.Query(ctx, `
			SELECT a.attname, format_type(a.atttypid, a.atttypmod),
			       COALESCE(pg_get_serial_sequence(format('%I.%I', $2::text, $3::text), a.attname), '')
			FROM pg_attribute a
			WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
			ORDER BY a.attnum`, t.oid, schema, t.name)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var c pgColumn
			var seq string
			if err := rows.Scan(&c.name, &c.typ, &seq); err != nil {
				rows.Close()
				return nil, err
			}
			t.columns = append(t.columns, c)
			if seq != "" {
				t.identities[c.name] = seq
			}
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}

	// Foreign keys: a table waits for the tables it refers to.
	rows, err = tx.Query(ctx, `
		SELECT k.conrelid, k.confrelid FROM pg_constraint k
		JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE k.contype = 'f' AND n.nspname = $1 AND k.conrelid <> k.confrelid`, schema)
	if err != nil {
		return nil, err
	}
	refers := map[uint32][]uint32{}
	for rows.Next() {
		var from, to uint32
		if err := rows.Scan(&from, &to); err != nil {
			rows.Close()
			return nil, err
		}
		if byOID[from] != nil && byOID[to] != nil {
			refers[from] = append(refers[from], to)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}

	var ordered []pgTable
	state := map[uint32]int{} // 1 being visited, 2 done
	var visit func(t *pgTable, path []string) error
	visit = func(t *pgTable, path []string) error {
		switch state[t.oid] {
		case 2:
			return nil
		case 1:
			return fmt.Errorf("the foreign keys of tables %s refer to each other in a circle; migrate-to cannot order them", strings.Join(append(path, t.name), " → "))
		}
		state[t.oid] = 1
		deps := refers[t.oid]
		sort.Slice(deps, func(i, j int) bool { return byOID[deps[i]].name < byOID[deps[j]].name })
		for _, d := range deps {
			if err := visit(byOID[d], append(path, t.name)); err != nil {
				return err
			}
		}
		state[t.oid] = 2
		ordered = append(ordered, *t)
		return nil
	}
	for _, t := range list {
		if err := visit(t, nil); err != nil {
			return nil, err
		}
	}
	return ordered, nil
}

// checkSourceTables refuses a SQLite database holding a table the target
// lacks, but for SQLite's own tables and FTS5's derived ones.
func checkSourceTables(ctx context.Context, db *DB, src *sql.Tx, tables []pgTable) error {
	have := map[string]bool{"schema_migrations": true}
	for _, t := range tables {
		have[t.name] = true
	}
	rows, err := src.QueryContext(ctx, `SELECT name, COALESCE(sql, '') FROM sqlite_schema WHERE type = 'table' ORDER BY name`)
	if err != nil {
		return fmt.Errorf("store: read the tables of %s: %w", db.path, err)
	}
	defer rows.Close()
	var virtual []string
	type table struct{ name, sql string }
	var all []table
	for rows.Next() {
		var t table
		if err := rows.Scan(&t.name, &t.sql); err != nil {
			return fmt.Errorf("store: read the tables of %s: %w", db.path, err)
		}
		all = append(all, t)
		if strings.HasPrefix(strings.ToUpper(t.sql), "CREATE VIRTUAL TABLE") {
			virtual = append(virtual, t.name)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: read the tables of %s: %w", db.path, err)
	}
next:
	for _, t := range all {
		if have[t.name] || strings.HasPrefix(t.name, "sqlite_") {
			continue
		}
		// A virtual table (FTS5) and its shadow tables hold an index
		// derived from other tables; PostgreSQL builds its own.
		for _, v := range virtual {
			if t.name == v || strings.HasPrefix(t.name, v+"_") {
				continue next
			}
		}
		return fmt.Errorf("the SQLite database %s has a table %s that the PostgreSQL database lacks; run the same Switchboard version on both", db.path, t.name)
	}
	return nil
}

// sqliteColumns returns the names of the columns of table in SQLite.
func sqliteColumns(ctx context.Context, src *sql.Tx, table string) (map[string]bool, error) {
	rows, err := src.QueryContext(ctx, `SELECT name FROM pragma_table_info(?)`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	columns := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		columns[name] = true
	}
	return columns, rows.Err()
}

// sqliteRows feeds SQLite's rows to PostgreSQL's COPY, each value converted
// to what the target column's type takes.
type sqliteRows struct {
	rows    *sql.Rows
	columns []pgColumn
	values  []any
	err     error
	n       int64
}

// Next implements pgx.CopyFromSource.
func (s *sqliteRows) Next() bool {
	if s.err != nil || !s.rows.Next() {
		return false
	}
	ptrs := make([]any, len(s.values))
	for i := range s.values {
		s.values[i] = nil
		ptrs[i] = &s.values[i]
	}
	if err := s.rows.Scan(ptrs...); err != nil {
		s.err = err
		return false
	}
	s.n++
	for i, c := range s.columns {
		v, err := convert(s.values[i], c.typ)
		if err != nil {
			s.err = fmt.Errorf("row %d, column %s: %w", s.n, c.name, err)
			return false
		}
		s.values[i] = v
	}
	return true
}

// Values implements pgx.CopyFromSource.
func (s *sqliteRows) Values() ([]any, error) { return s.values, nil }

// Err implements pgx.CopyFromSource.
func (s *sqliteRows) Err() error {
	if s.err != nil {
		return s.err
	}
	return s.rows.Err()
}

// convert turns a value read from SQLite into one of the PostgreSQL type
// typ (as format_type names it), where the engines store it differently.
func convert(v any, typ string) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch typ {
	case "boolean":
		switch x := v.(type) {
		case int64:
			if x != 0 && x != 1 {
				return nil, fmt.Errorf("%d is not 0 or 1", x)
			}
			return x == 1, nil
		case bool:
			return x, nil
		}
	case "bytea":
		switch x := v.(type) {
		case []byte:
			return x, nil
		case string:
			return []byte(x), nil
		}
	case "double precision", "real":
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		}
	case "bigint", "integer", "smallint":
		switch x := v.(type) {
		case int64:
			return x, nil
		case float64:
			if x == float64(int64(x)) {
				return int64(x), nil
			}
		}
	default:
		if strings.HasPrefix(typ, "text") || strings.HasPrefix(typ, "character") {
			switch x := v.(type) {
			case string:
				return x, nil
			case []byte:
				return string(x), nil
			}
		}
		return v, nil
	}
	return nil, fmt.Errorf("a %T cannot be stored as %s", v, typ)
}
