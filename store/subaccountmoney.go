package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"switchboard"
)

// The audit actions of issue 12, one place for all of them so that the
// audit log's words (views/views.go) cover each. The first five are
// written on the parent, SubaccountJoined on the subaccount.
const (
	AuditSubaccountCreated   = "subaccount.created"
	AuditSubaccountFunded    = "subaccount.funded"
	AuditSubaccountSuspended = "subaccount.suspended"
	AuditSubaccountResumed   = "subaccount.resumed"
	AuditSubaccountClosed    = "subaccount.closed"
	AuditSubaccountJoined    = "subaccount.joined"
)

// subaccountFunds is what a spend or refund of a subaccount needs to know,
// read in its transaction.
type subaccountFunds struct {
	orgID, parentID int64
	name, parent    string
}

// fundingOf returns the funding of organisation orgID when it is a
// subaccount, and nil for every other organisation (one step of a primary
// key: the cost of the question for a send that is not a subaccount's).
func fundingOf(ctx context.Context, tx *Tx, orgID int64) (*subaccountFunds, error) {
	f := subaccountFunds{orgID: orgID}
	err := tx.QueryRowContext(ctx, `SELECT s.parent_id, o.name, p.name FROM subaccounts s
		JOIN organisations o ON o.id = s.org_id JOIN organisations p ON p.id = s.parent_id
		WHERE s.org_id = ?`, orgID).Scan(&f.parentID, &f.name, &f.parent)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("store: read funding of organisation %d: %w", orgID, err)
	}
	return &f, nil
}

// debitSubaccount is debit for a subaccount: both limits at once, each by
// one conditional UPDATE in the caller's transaction. The subaccount's row
// first (active, and within its budget when it has one: spent rises by
// amount only if that stays within it), then the parent's balance (never
// below zero). The parent's refusal undoes the first UPDATE before
// returning, so that a caller whose transaction goes on after an EPAYMENT
// error (a campaign's start) keeps nothing of it. The rows are always taken
// in this order, subaccount then parent, so two sends never wait on each
// other in opposite orders.
//
// Each side gets its ledger line: the subaccount's (whose id the messages
// carry, and whose balance_after is what is left to spend: the budget left,
// or the parent's balance when it shares it), and the parent's ("Subaccount
// Acme Estonia: 3 messages from Acme").
func (db *DB) debitSubaccount(ctx context.Context, tx *Tx, f *subaccountFunds, amount switchboard.Money, cur switchboard.Currency, actorID int64, description string) (int64, error) {
	var funding string
	var left int64
	err := tx.QueryRowContext(ctx, `UPDATE subaccounts SET spent = spent + ?
		WHERE org_id = ? AND status = 'active' AND (funding = 'shared' OR spent + ? <= budget)
		RETURNING funding, budget - spent`, int64(amount), f.orgID, int64(amount)).Scan(&funding, &left)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, subaccountRefusal(ctx, tx, f, amount, cur)
	} else if err != nil {
		return 0, fmt.Errorf("store: debit subaccount %d: %w", f.orgID, err)
	}
	var after int64
	err = tx.QueryRowContext(ctx, `UPDATE organisations SET balance = balance - ? WHERE id = ? AND balance >= ? RETURNING balance`,
		int64(amount), f.parentID, int64(amount)).Scan(&after)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := tx.ExecContext(ctx, `UPDATE subaccounts SET spent = spent - ? WHERE org_id = ?`, int64(amount), f.orgID); err != nil {
			return 0, fmt.Errorf("store: undo debit of subaccount %d: %w", f.orgID, err)
		}
		var balance int64
		if err := tx.QueryRowContext(ctx, `SELECT balance FROM organisations WHERE id = ?`, f.parentID).Scan(&balance); err != nil {
			return 0, fmt.Errorf("store: read balance of organisation %d: %w", f.parentID, err)
		}
		return 0, ParentBalanceShort(f.parent, cur, switchboard.Money(balance), amount)
	} else if err != nil {
		return 0, fmt.Errorf("store: debit organisation %d for subaccount %d: %w", f.parentID, f.orgID, err)
	}
	if _, err := db.ledger(ctx, tx, switchboard.LedgerEntry{
		OrgID: f.parentID, Kind: switchboard.LedgerSpend, Amount: -amount, Balance: switchboard.Money(after),
		Description: "Subaccount " + f.name + ": " + description,
	}, actorID); err != nil {
		return 0, err
	}
	shown := after
	if funding == string(switchboard.FundingBudget) {
		shown = left
	}
	return db.ledger(ctx, tx, switchboard.LedgerEntry{
		OrgID: f.orgID, Kind: switchboard.LedgerSpend, Amount: -amount, Balance: switchboard.Money(shown), Description: description,
	}, actorID)
}

// subaccountRefusal says why the subaccount's row refused a spend of amount,
// in PRODUCT.md's words: suspended or closed by the parent (EFORBIDDEN), or
// a budget that does not cover it (EPAYMENT).
func subaccountRefusal(ctx context.Context, tx *Tx, f *subaccountFunds, amount switchboard.Money, cur switchboard.Currency) error {
	var status string
	var budget, spent int64
	err := tx.QueryRowContext(ctx, `SELECT status, budget, spent FROM subaccounts WHERE org_id = ?`, f.orgID).Scan(&status, &budget, &spent)
	if err != nil {
		return fmt.Errorf("store: read subaccount %d: %w", f.orgID, err)
	}
	switch switchboard.SubaccountStatus(status) {
	case switchboard.SubaccountSuspended:
		return SubaccountSuspended(f.parent)
	case switchboard.SubaccountActive:
		return BudgetShort(cur, max(switchboard.Money(budget-spent), 0), amount)
	case switchboard.SubaccountPending:
		return SubaccountPending(f.parent)
	}
	return SubaccountClosed(f.parent)
}

// SubaccountClosed is the error of a send of a subaccount its parent
// closed.
func SubaccountClosed(parent string) error {
	return switchboard.Errorf(switchboard.EFORBIDDEN, "This subaccount was closed by %s: it sends nothing.", parent)
}

// SubaccountPending is the error of a send of a subaccount whose
// invitation nobody has accepted yet (no one can be signed in to it then,
// but an operator's script could try).
func SubaccountPending(parent string) error {
	return switchboard.Errorf(switchboard.EFORBIDDEN, "This subaccount of %s is waiting for its invitation to be accepted: it sends nothing until then.", parent)
}

// SubaccountSuspended is the error of a send of a subaccount its parent
// suspended.
func SubaccountSuspended(parent string) error {
	return switchboard.Errorf(switchboard.EFORBIDDEN, "%s has suspended this subaccount: sending is paused until they resume it.", parent)
}

// BudgetShort is the error of a send a subaccount's budget does not cover.
func BudgetShort(cur switchboard.Currency, left, cost switchboard.Money) error {
	return switchboard.Errorf(switchboard.EPAYMENT, "The budget left of %s does not cover this send of %s.", cur.Format(left), cur.Format(cost))
}

// ParentBalanceShort is the error of a send of a subaccount its parent's
// balance does not cover.
func ParentBalanceShort(parent string, cur switchboard.Currency, balance, cost switchboard.Money) error {
	return switchboard.Errorf(switchboard.EPAYMENT, "The balance of %s, which funds this subaccount, is %s and does not cover this send of %s.",
		parent, cur.Format(balance), cur.Format(cost))
}

// creditSubaccount is credit for a subaccount, which only ever gets
// refunds (it adds no credits: its parent does): the refund goes back to the
// parent's balance and out of the subaccount's spending, with a ledger
// line on each side, in the subaccount-then-parent order of
// debitSubaccount.
func (db *DB) creditSubaccount(ctx context.Context, tx *Tx, f *subaccountFunds, e switchboard.LedgerEntry, amount switchboard.Money, actorID int64) (int64, error) {
	if e.Kind != switchboard.LedgerRefund {
		return 0, switchboard.Errorf(switchboard.EFORBIDDEN, "%s", switchboard.SubaccountRefusal(switchboard.PermCredits, f.parent))
	}
	var funding string
	var left int64
	err := tx.QueryRowContext(ctx, `UPDATE subaccounts SET spent = CASE WHEN spent >= ? THEN spent - ? ELSE 0 END WHERE org_id = ?
		RETURNING funding, budget - spent`, int64(amount), int64(amount), f.orgID).Scan(&funding, &left)
	if err != nil {
		return 0, fmt.Errorf("store: refund subaccount %d: %w", f.orgID, err)
	}
	var after int64
	err = tx.QueryRowContext(ctx, `UPDATE organisations SET balance = balance + ? WHERE id = ? RETURNING balance`, int64(amount), f.parentID).Scan(&after)
	if err != nil {
		return 0, fmt.Errorf("store: refund organisation %d for subaccount %d: %w", f.parentID, f.orgID, err)
	}
	parent := e
	parent.OrgID, parent.Amount, parent.Balance = f.parentID, amount, switchboard.Money(after)
	parent.Description = "Subaccount " + f.name + ": " + e.Description
	if _, err := db.ledger(ctx, tx, parent, actorID); err != nil {
		return 0, err
	}
	e.Amount, e.Balance = amount, switchboard.Money(after)
	if funding == string(switchboard.FundingBudget) {
		e.Balance = switchboard.Money(max(left, 0))
	}
	return db.ledger(ctx, tx, e, actorID)
}

// subaccountIDs returns the ids of the parent's subaccounts, closed ones
// included.
func subaccountIDs(ctx context.Context, tx *Tx, parentID int64) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT org_id FROM subaccounts WHERE parent_id = ? ORDER BY org_id`, parentID)
	if err != nil {
		return nil, fmt.Errorf("store: list subaccounts of organisation %d: %w", parentID, err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
