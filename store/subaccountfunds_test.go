package store_test

import (
	"testing"

	"switchboard"
	"switchboard/store"
)

// TestSubaccountFunds reads a subaccount's funds as its own pages show
// them, on both fundings and as the parent's balance and the subaccount's
// status change; an organisation that is no subaccount has none, and its
// Spendable is its balance.
func TestSubaccountFunds(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, parent := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	_, other := newOwner(t, db, "Grace", "Hopper", "grace@example.com")
	fund(t, dsn, parent.ID, 10_000)
	fund(t, dsn, other.ID, 777)
	sub := newSubaccountRaw(t, db, owner, parent.ID, switchboard.FundingBudget, 3_000)
	_, err := db.QueueMessages(ctx, store.Batch{OrgID: sub.ID, Actor: actorOf(owner), Currency: "EUR", Description: "1 message",
		Messages: []switchboard.Message{oneMessage("+37255500001", 1_000)}})
	must(t, err)

	f, err := db.SubaccountFunds(ctx, sub.ID)
	must(t, err)
	want := switchboard.SubaccountFunds{ParentID: parent.ID, ParentName: "Ada's company", Funding: switchboard.FundingBudget,
		Budget: 3_000, Spent: 1_000, ParentBalance: 9_000, Status: switchboard.SubaccountActive}
	if *f != want {
		t.Fatalf("funds %+v, want %+v", *f, want)
	}
	spendable := func(org int64, want switchboard.Money) {
		t.Helper()
		got, err := db.Spendable(ctx, org)
		must(t, err)
		if got != want {
			t.Errorf("Spendable(%d) = %d, want %d", org, got, want)
		}
	}
	spendable(sub.ID, 2_000)       // the budget left, under the parent's 9,000
	spendable(parent.ID, 9_000)    // an ordinary organisation: its balance
	spendable(other.ID, 777)       // and another one's, untouched by the first
	fund(t, dsn, parent.ID, 1_500) // now the parent's balance limits it
	spendable(sub.ID, 1_500)
	must(t, db.ExecForTest(ctx, `UPDATE subaccounts SET status = 'suspended' WHERE org_id = ?`, sub.ID))
	spendable(sub.ID, 0)
	f, err = db.SubaccountFunds(ctx, sub.ID)
	must(t, err)
	if f.Status != switchboard.SubaccountSuspended || f.ParentBalance != 1_500 || f.Left() != 2_000 {
		t.Errorf("suspended: %+v", *f)
	}
	must(t, db.ExecForTest(ctx, `UPDATE subaccounts SET status = 'active', funding = 'shared', budget = 0 WHERE org_id = ?`, sub.ID))
	spendable(sub.ID, 1_500)
	f, err = db.SubaccountFunds(ctx, sub.ID)
	must(t, err)
	if f.Funding != switchboard.FundingShared || f.Budgeted() || f.Available() != 1_500 {
		t.Errorf("shared: %+v", *f)
	}

	for _, org := range []int64{parent.ID, other.ID, 999_999} {
		if _, err := db.SubaccountFunds(ctx, org); switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
			t.Errorf("SubaccountFunds of organisation %d, no subaccount: %v", org, err)
		}
	}
	if _, err := db.Spendable(ctx, 999_999); switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
		t.Errorf("Spendable of no organisation: %v", err)
	}
}

// TestSubaccountGetsNoInvoice: a subaccount adds no credits, whatever
// calls the store: CreateInvoice refuses it, paid at once or not, and
// writes nothing; its parent's invoices are unaffected.
func TestSubaccountGetsNoInvoice(t *testing.T) {
	db, dsn := newDBWithPath(t)
	raw := rawDB(t, dsn)
	owner, parent := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	sub := newSubaccountRaw(t, db, owner, parent.ID, switchboard.FundingShared, 0)
	for _, payNow := range []bool{false, true} {
		_, err := db.CreateInvoice(ctx, actorOf(owner), store.NewInvoice{OrgID: sub.ID, Amount: 50 * switchboard.MoneyUnit, Currency: "EUR", PayNow: payNow})
		if switchboard.ErrorCode(err) != switchboard.EFORBIDDEN ||
			switchboard.ErrorMessage(err) != "This is a subaccount of Ada's company, which pays for its messages: credits are added and invoiced there." {
			t.Errorf("invoice to a subaccount (pay now %v): %v", payNow, err)
		}
	}
	for _, q := range []string{`SELECT COUNT(*) FROM invoices`, `SELECT COUNT(*) FROM invoice_counters`, `SELECT COUNT(*) FROM ledger`,
		`SELECT COUNT(*) FROM audit_log WHERE action LIKE 'credits%' OR action LIKE 'invoice%'`} {
		if n := count(t, raw, q); n != 0 {
			t.Errorf("%s: %d, want 0", q, n)
		}
	}
	inv, err := db.CreateInvoice(ctx, actorOf(owner), store.NewInvoice{OrgID: parent.ID, Amount: 50 * switchboard.MoneyUnit, Currency: "EUR", PayNow: true})
	must(t, err)
	if inv.Number != "INV-"+inv.CreatedAt.UTC().Format("2006")+"-000001" {
		t.Errorf("the parent's first invoice is %s: a refused one took a number", inv.Number)
	}
	if b, _ := db.Balance(ctx, parent.ID); b != 50*switchboard.MoneyUnit {
		t.Errorf("the parent's balance %d", b)
	}
}
