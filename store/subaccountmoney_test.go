package store_test

import (
	"testing"

	"switchboard"
	"switchboard/store"
)

// newSubaccountRaw makes org a subaccount of parent by a raw row (the
// store's CreateSubaccount comes with the Subaccounts page).
func newSubaccountRaw(tb testing.TB, db *store.DB, owner *switchboard.Profile, parentID int64, funding switchboard.Funding, budget switchboard.Money) *switchboard.Organisation {
	tb.Helper()
	sub := &switchboard.Organisation{Name: "Acme Estonia"}
	must(tb, db.CreateOrganisation(ctx, owner, sub))
	must(tb, db.ExecForTest(ctx, `INSERT INTO subaccounts (org_id, parent_id, email, funding, budget, status, created_at)
		VALUES (?, ?, 'sub@example.com', ?, ?, 'active', 0)`, sub.ID, parentID, string(funding), int64(budget)))
	return sub
}

// TestSubaccountSpendDebitsParentWithinBudget walks the money of one
// budgeted subaccount: a spend debits the parent, with a ledger line on
// each side; a spend past the budget, or past the parent's balance, is
// refused with nothing kept; a suspended subaccount sends nothing; a
// refund goes back to the parent and the budget; the status trigger counts
// the subaccount's messages by day.
func TestSubaccountSpendDebitsParentWithinBudget(t *testing.T) {
	db, dsn := newDBWithPath(t)
	raw := rawDB(t, dsn)
	owner, parent := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	fund(t, dsn, parent.ID, 10_000)
	sub := newSubaccountRaw(t, db, owner, parent.ID, switchboard.FundingBudget, 1_500)
	batch := func(price switchboard.Money) store.Batch {
		return store.Batch{OrgID: sub.ID, Actor: actorOf(owner), Currency: "EUR", Description: "1 message from Acme",
			Messages: []switchboard.Message{oneMessage("+37255500001", price)}}
	}
	spent := func() (balance, spent int64) {
		t.Helper()
		must(t, raw.QueryRowContext(ctx, `SELECT o.balance, s.spent FROM organisations o JOIN subaccounts s ON s.parent_id = o.id WHERE s.org_id = ?`, sub.ID).Scan(&balance, &spent))
		return balance, spent
	}

	if _, err := db.QueueMessages(ctx, batch(1_000)); err != nil {
		t.Fatal(err)
	}
	if b, s := spent(); b != 9_000 || s != 1_000 {
		t.Fatalf("after a spend of 1000: parent balance %d, spent %d; want 9000, 1000", b, s)
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM ledger WHERE org_id = ? AND amount = -1000 AND balance_after = 9000 AND description = 'Subaccount Acme Estonia: 1 message from Acme'`, parent.ID); n != 1 {
		t.Errorf("parent's ledger lines of the spend: %d, want 1", n)
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM ledger WHERE org_id = ? AND amount = -1000 AND balance_after = 500`, sub.ID); n != 1 {
		t.Errorf("subaccount's ledger lines of the spend (budget left 500 after): %d, want 1", n)
	}

	// Past the budget: 600 > 500 left.
	_, err := db.QueueMessages(ctx, batch(600))
	if switchboard.ErrorCode(err) != switchboard.EPAYMENT || switchboard.ErrorMessage(err) != "The budget left of €0.05 does not cover this send of €0.06." {
		t.Errorf("spend past the budget: %v", err)
	}
	// Past the parent's balance: the subaccount's spending is not kept.
	fund(t, dsn, parent.ID, 100)
	_, err = db.QueueMessages(ctx, batch(500))
	if switchboard.ErrorCode(err) != switchboard.EPAYMENT || switchboard.ErrorMessage(err) != "The balance of Ada's company, which funds this subaccount, is €0.01 and does not cover this send of €0.05." {
		t.Errorf("spend past the parent's balance: %v", err)
	}
	if b, s := spent(); b != 100 || s != 1_000 {
		t.Fatalf("after two refused spends: parent balance %d, spent %d; want 100, 1000", b, s)
	}

	// Suspended.
	must(t, db.ExecForTest(ctx, `UPDATE subaccounts SET status = 'suspended' WHERE org_id = ?`, sub.ID))
	fund(t, dsn, parent.ID, 10_000)
	_, err = db.QueueMessages(ctx, batch(100))
	if switchboard.ErrorCode(err) != switchboard.EFORBIDDEN || switchboard.ErrorMessage(err) != "Ada's company has suspended this subaccount: sending is paused until they resume it." {
		t.Errorf("spend of a suspended subaccount: %v", err)
	}

	// A refund goes back to the parent and out of the spending; the
	// trigger counts the failed message on the day it was sent.
	var id int64
	must(t, raw.QueryRowContext(ctx, `SELECT id FROM messages WHERE org_id = ?`, sub.ID).Scan(&id))
	if _, err := db.ReportDelivery(ctx, id, switchboard.StatusFailed, "Unknown number"); err != nil {
		t.Fatal(err)
	}
	if b, s := spent(); b != 11_000 || s != 0 {
		t.Errorf("after the refund: parent balance %d, spent %d; want 11000, 0", b, s)
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM ledger WHERE org_id = ? AND kind = 'refund' AND amount = 1000 AND balance_after = 11000`, parent.ID); n != 1 {
		t.Errorf("parent's refund lines: %d, want 1", n)
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM message_days WHERE org_id = ? AND failed = 1 AND sent = 0 AND delivered = 0`, sub.ID); n != 1 {
		t.Errorf("message_days rows with the failed message: %d, want 1", n)
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM message_days WHERE org_id = ?`, parent.ID); n != 0 {
		t.Errorf("message_days rows of the parent, which is no subaccount: %d, want 0", n)
	}
}
