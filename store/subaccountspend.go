package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"switchboard"
)

// subaccountMaySend refuses, with debit's words, what would send for a
// subaccount its parent suspended or closed (or whose invitation waits):
// scheduling or changing a campaign, which the start would refuse anyway.
// Other organisations, and active subaccounts, may. A read, no lock: the
// start's conditional UPDATE is what holds the rule.
func subaccountMaySend(ctx context.Context, tx *Tx, orgID int64) error {
	var status, parent string
	err := tx.QueryRowContext(ctx, `SELECT s.status, p.name FROM subaccounts s JOIN organisations p ON p.id = s.parent_id WHERE s.org_id = ?`, orgID).Scan(&status, &parent)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return fmt.Errorf("store: read subaccount %d: %w", orgID, err)
	}
	switch switchboard.SubaccountStatus(status) {
	case switchboard.SubaccountActive:
		return nil
	case switchboard.SubaccountSuspended:
		return SubaccountSuspended(parent)
	case switchboard.SubaccountPending:
		return SubaccountPending(parent)
	}
	return SubaccountClosed(parent)
}
