package store_test

import (
	"testing"

	"switchboard"
	"switchboard/store"
)

// newGroup makes a group of the organisation and returns its id.
func newGroup(tb testing.TB, db *store.DB, orgID int64, name string) int64 {
	tb.Helper()
	g := &switchboard.Group{OrgID: orgID, Name: name}
	must(tb, db.CreateGroup(ctx, switchboard.Actor{}, g))
	return g.ID
}
