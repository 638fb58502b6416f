package store

import (
	"context"
	"fmt"

	"switchboard"
)

// errActorChanged answers an action its actor may no longer take: their own
// role was changed (or taken away) by a request that committed first.
var errActorChanged = switchboard.Errorf(switchboard.EFORBIDDEN, "Your own role in this organisation changed meanwhile, and it no longer allows this. Reload the page to see what you may do now.")

// checkActor reads the actor's membership again inside tx and returns
// errActorChanged unless may allows the action. The handler checked the
// same rule before, but against what it read at the start of the request:
// two Administrators demoting each other at once would both pass that
// check. Writes are serialised (one writer connection, immediate
// transactions), so what this reads stays true until the commit.
func checkActor(ctx context.Context, tx *Tx, orgID int64, actor switchboard.Actor, may func(*switchboard.Membership) bool) error {
	m, err := membershipInTx(ctx, tx, orgID, actor.ProfileID)
	if switchboard.ErrorCode(err) == switchboard.ENOTFOUND {
		return errActorChanged
	} else if err != nil {
		return err
	}
	if !may(m) {
		return errActorChanged
	}
	return nil
}

// bumpPrivileges moves the given profiles to a new privilege epoch: every
// session of theirs gets a new token on its next request. which is a query
// returning profile ids.
func bumpPrivileges(ctx context.Context, tx *Tx, which string, args ...any) error {
	if _, err := tx.ExecContext(ctx, `UPDATE profiles SET privilege_epoch = privilege_epoch + 1 WHERE id IN (`+which+`)`, args...); err != nil {
		return fmt.Errorf("store: renew privileges: %w", err)
	}
	return nil
}

// bumpProfilePrivileges is bumpPrivileges for one profile.
func bumpProfilePrivileges(ctx context.Context, tx *Tx, profileID int64) error {
	return bumpPrivileges(ctx, tx, `?`, profileID)
}

// bumpOrgPrivileges is bumpPrivileges for every member of an organisation.
func bumpOrgPrivileges(ctx context.Context, tx *Tx, orgID int64) error {
	return bumpPrivileges(ctx, tx, `SELECT profile_id FROM members WHERE org_id = ?`, orgID)
}
