package store

import "context"

// SearchSQL is the query a member search walks its gram with, so that a
// test can read its plan.
const SearchSQL = searchSQL

// ExecForTest runs a statement through the store's own write path, for
// tests that must fill a table whose store functions do not write it yet.
func (db *DB) ExecForTest(ctx context.Context, q string, args ...any) error {
	return db.tx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, q, args...)
		return err
	})
}
