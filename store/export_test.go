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

// SetContactSearch sets how many entries a contacts search walks and how
// many it may sort, so that a test of a few contacts takes each way; it
// returns what puts them back.
func SetContactSearch(walk, gather int) (restore func()) {
	w, g := contactWalk, contactGatherMax
	contactWalk, contactGatherMax = walk, gather
	return func() { contactWalk, contactGatherMax = w, g }
}
