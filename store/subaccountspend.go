package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"switchboard"
)

// Funds is what an organisation can spend now, as the send pages show it
// before anyone sends (the debit alone decides, in its transaction).
type Funds struct {
	// Balance is the organisation's own balance, or for a subaccount its
	// parent's, which pays for every send of it.
	Balance switchboard.Money
	// Funder is the parent's name for a subaccount, "" otherwise.
	Funder string
	// Budgeted is true for a subaccount with a budget; BudgetLeft is what
	// is left of it (never below zero).
	Budgeted   bool
	BudgetLeft switchboard.Money
}

// SendFunds returns what the organisation can spend now: its balance, or
// for a subaccount the balance of its parent and what is left of its
// budget. One statement of primary-key steps, read by every Send SMS and
// campaign page.
func (db *DB) SendFunds(ctx context.Context, orgID int64) (Funds, error) {
	var f Funds
	var balance, left int64
	var funding string
	err := db.queryRow(ctx, `SELECT COALESCE(p.balance, o.balance), COALESCE(p.name, ''), COALESCE(s.funding, ''), COALESCE(s.budget - s.spent, 0)
		FROM organisations o LEFT JOIN subaccounts s ON s.org_id = o.id LEFT JOIN organisations p ON p.id = s.parent_id
		WHERE o.id = ?`, orgID).Scan(&balance, &f.Funder, &funding, &left)
	if errors.Is(err, sql.ErrNoRows) {
		return f, notFound("organisation")
	} else if err != nil {
		return f, fmt.Errorf("store: read the funds of organisation %d: %w", orgID, err)
	}
	f.Balance = switchboard.Money(balance)
	if funding == string(switchboard.FundingBudget) {
		f.Budgeted, f.BudgetLeft = true, switchboard.Money(max(left, 0))
	}
	return f, nil
}

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
