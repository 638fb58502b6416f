package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"switchboard"
)

// subaccountFundsQuery reads a subaccount's row and its parent's balance in
// one statement (one snapshot on both engines: the budget's figures and the
// parent's balance are of the same moment). o is the organisation asked
// about; s and p are empty for an organisation that is no subaccount.
const subaccountFundsQuery = `SELECT o.balance, COALESCE(s.parent_id, 0), COALESCE(p.name, ''), COALESCE(s.funding, ''),
		COALESCE(s.budget, 0), COALESCE(s.spent, 0), COALESCE(p.balance, 0), COALESCE(s.status, '')
	FROM organisations o
	LEFT JOIN subaccounts s ON s.org_id = o.id
	LEFT JOIN organisations p ON p.id = s.parent_id
	WHERE o.id = ?`

// Funds returns organisation orgID's own balance and, when it is a
// subaccount, its funds (nil otherwise): what the send pages, the Credits
// page, the dashboard and the API show before anyone sends (the debit
// alone decides, in its transaction).
func (db *DB) Funds(ctx context.Context, orgID int64) (switchboard.Money, *switchboard.SubaccountFunds, error) {
	var f switchboard.SubaccountFunds
	var balance, budget, spent, parentBalance int64
	var funding, status string
	err := db.queryRow(ctx, subaccountFundsQuery, orgID).Scan(&balance, &f.ParentID, &f.ParentName, &funding, &budget, &spent, &parentBalance, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, notFound("organisation")
	} else if err != nil {
		return 0, nil, fmt.Errorf("store: read the funds of organisation %d: %w", orgID, err)
	}
	if f.ParentID == 0 {
		return switchboard.Money(balance), nil, nil
	}
	f.Funding, f.Status = switchboard.Funding(funding), switchboard.SubaccountStatus(status)
	f.Budget, f.Spent, f.ParentBalance = switchboard.Money(budget), switchboard.Money(spent), switchboard.Money(parentBalance)
	return switchboard.Money(balance), &f, nil
}

// SubaccountFunds returns who funds the subaccount orgID and what it may
// spend, for its own Credits page and dashboard. An organisation that is
// no subaccount is ENOTFOUND: it has a balance of its own (Balance).
func (db *DB) SubaccountFunds(ctx context.Context, orgID int64) (*switchboard.SubaccountFunds, error) {
	_, f, err := db.Funds(ctx, orgID)
	if err != nil {
		return nil, err
	}
	if f == nil {
		return nil, notFound("subaccount")
	}
	return f, nil
}

// Spendable returns what organisation orgID can spend now: its balance, or
// for a subaccount what both of its limits allow at once
// (switchboard.SubaccountFunds.Available). The API's balance is this.
func (db *DB) Spendable(ctx context.Context, orgID int64) (switchboard.Money, error) {
	balance, f, err := db.Funds(ctx, orgID)
	if err != nil {
		return 0, err
	}
	if f != nil {
		return f.Available(), nil
	}
	return balance, nil
}
