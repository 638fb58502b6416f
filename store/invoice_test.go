package store_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"switchboard"
	"switchboard/store"
)

var seller = switchboard.Party{Name: "Switchboard OÜ", Address: "Narva mnt 5\nTallinn", Country: "EE", VATNumber: "EE100000000", Email: "billing@switchboard.example"}

func newInvoice(orgID int64, amount switchboard.Money, payNow bool) store.NewInvoice {
	return store.NewInvoice{OrgID: orgID, Amount: amount, Currency: "EUR", Seller: seller, PayNow: payNow}
}

func TestCreateInvoice(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	details := *org
	details.LegalName, details.Address, details.Country, details.VATNumber, details.BillingMail = "Lovelace Analytical Ltd", "1 Engine Street\nLondon", "GB", "GB123456789", "accounts@lovelace.example"
	must(t, db.UpdateOrganisation(ctx, actorOf(owner), &details))

	t.Run("manual: issued, unpaid, the balance unchanged", func(t *testing.T) {
		inv, err := db.CreateInvoice(ctx, actorOf(owner), newInvoice(org.ID, 50*switchboard.MoneyUnit, false))
		must(t, err)
		if inv.Number != "INV-2025-000001" || inv.Paid {
			t.Fatalf("invoice %s paid=%v, want INV-2025-000001 unpaid", inv.Number, inv.Paid)
		}
		want := switchboard.Party{Name: "Lovelace Analytical Ltd", Address: "1 Engine Street\nLondon", Country: "GB", VATNumber: "GB123456789", Email: "accounts@lovelace.example"}
		if inv.Buyer != want || inv.Seller != seller {
			t.Fatalf("buyer %+v seller %+v", inv.Buyer, inv.Seller)
		}
		if b, _ := db.Balance(ctx, org.ID); b != 0 {
			t.Fatalf("balance %d after a manual invoice, want 0", b)
		}
		// What was copied stays, whatever the organisation changes later.
		later := details
		later.LegalName, later.Address = "Renamed Ltd", "Elsewhere"
		must(t, db.UpdateOrganisation(ctx, actorOf(owner), &later))
		found, err := db.FindInvoice(ctx, org.ID, inv.Number)
		must(t, err)
		if found.Buyer != want || found.Seller != seller || found.Amount != 50*switchboard.MoneyUnit || found.Currency != "EUR" || found.Paid || found.CreatedBy != owner.ID {
			t.Fatalf("found %+v", found)
		}
	})

	t.Run("test payments: paid and credited in the same transaction", func(t *testing.T) {
		inv, err := db.CreateInvoice(ctx, actorOf(owner), newInvoice(org.ID, 20*switchboard.MoneyUnit, true))
		must(t, err)
		if inv.Number != "INV-2025-000002" || !inv.Paid || inv.PaidAt == nil {
			t.Fatalf("invoice %+v, want INV-2025-000002 paid", inv)
		}
		if b, _ := db.Balance(ctx, org.ID); b != 20*switchboard.MoneyUnit {
			t.Fatalf("balance %d, want 200000", b)
		}
		lines, _, err := db.ListLedger(ctx, org.ID, 0, 10)
		must(t, err)
		if len(lines) != 1 || lines[0].Kind != switchboard.LedgerCredit || lines[0].Description != "Invoice INV-2025-000002" || lines[0].InvoiceID != inv.ID || lines[0].Balance != 20*switchboard.MoneyUnit {
			t.Fatalf("ledger %+v", lines)
		}
		raw := rawDB(t, dsn)
		if n := count(t, raw, `SELECT COUNT(*) FROM audit_log WHERE org_id = ? AND action = 'credits.added'`, org.ID); n != 2 {
			t.Errorf("%d audit lines of credits added, want 2", n)
		}
		if n := count(t, raw, `SELECT COUNT(*) FROM audit_log WHERE org_id = ? AND action = 'invoice.paid' AND target = ?`, org.ID, inv.Number); n != 1 {
			t.Errorf("%d audit lines of the invoice paid, want 1", n)
		}
	})

	t.Run("list, newest first, by cursor", func(t *testing.T) {
		page, next, err := db.ListInvoices(ctx, org.ID, 0, 1)
		must(t, err)
		if len(page) != 1 || page[0].Number != "INV-2025-000002" || next == 0 {
			t.Fatalf("first page %+v next %d", page, next)
		}
		page, next, err = db.ListInvoices(ctx, org.ID, next, 1)
		must(t, err)
		if len(page) != 1 || page[0].Number != "INV-2025-000001" || next != 0 {
			t.Fatalf("second page %+v next %d", page, next)
		}
	})

	t.Run("an organisation that does not exist", func(t *testing.T) {
		_, err := db.CreateInvoice(ctx, actorOf(owner), newInvoice(org.ID+1000, switchboard.MoneyUnit, true))
		wantCode(t, err, switchboard.ENOTFOUND)
		// No number was used up.
		inv, err := db.CreateInvoice(ctx, actorOf(owner), newInvoice(org.ID, switchboard.MoneyUnit, false))
		must(t, err)
		if inv.Number != "INV-2025-000003" {
			t.Fatalf("number %s after a refused invoice, want INV-2025-000003", inv.Number)
		}
	})
}

// TestInvoiceNumbersGapFree adds credits 50 times at once across five
// organisations, half paid at once: the numbers of the year are exactly
// 1 to 50, each once, and each balance holds what was paid.
func TestInvoiceNumbersGapFree(t *testing.T) {
	db := newDB(t)
	type org struct {
		owner *switchboard.Profile
		id    int64
	}
	var orgs []org
	for i := range 5 {
		p, o := newOwner(t, db, "Owner", fmt.Sprint(i), fmt.Sprintf("owner%d@example.com", i))
		orgs = append(orgs, org{p, o.ID})
	}
	const adds = 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	var numbers []string
	paid := map[int64]switchboard.Money{}
	for i := range adds {
		wg.Go(func() {
			o := orgs[i%len(orgs)]
			amount := switchboard.Money(i+1) * switchboard.MoneyUnit
			inv, err := db.CreateInvoice(ctx, actorOf(o.owner), newInvoice(o.id, amount, i%2 == 0))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("credits %d: %v", i, err)
				return
			}
			numbers = append(numbers, inv.Number)
			if inv.Paid {
				paid[o.id] += amount
			}
		})
	}
	wg.Wait()
	slices.Sort(numbers)
	var want []string
	for n := range adds {
		want = append(want, fmt.Sprintf("INV-2025-%06d", n+1))
	}
	if !slices.Equal(numbers, want) {
		t.Fatalf("numbers %v, want 1 to %d without gaps or repeats", numbers, adds)
	}
	for _, o := range orgs {
		if b, _ := db.Balance(ctx, o.id); b != paid[o.id] {
			t.Errorf("organisation %d: balance %d, want %d", o.id, b, paid[o.id])
		}
	}
}

// TestInvoiceNumbersRestartEachYear: the first invoice of a new year is
// 000001 again, and the old year's count goes on where it was.
func TestInvoiceNumbersRestartEachYear(t *testing.T) {
	db := newDB(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	issue := func(at time.Time) string {
		t.Helper()
		setNow(db, at)
		inv, err := db.CreateInvoice(ctx, actorOf(owner), newInvoice(org.ID, switchboard.MoneyUnit, false))
		must(t, err)
		return inv.Number
	}
	nye := time.Date(2025, time.December, 31, 23, 59, 0, 0, time.UTC)
	for i, want := range []string{"INV-2025-000001", "INV-2025-000002"} {
		if got := issue(nye.Add(time.Duration(i) * time.Second)); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
	if got := issue(nye.Add(time.Minute)); got != "INV-2026-000001" {
		t.Fatalf("first of 2026: %s, want INV-2026-000001", got)
	}
	if got := issue(nye.Add(time.Hour)); got != "INV-2026-000002" {
		t.Fatalf("second of 2026: %s, want INV-2026-000002", got)
	}
}

// TestMarkInvoicePaidOnce marks one invoice paid ten times at once: the
// balance is credited once, with one ledger line and one audit line, and
// the nine others learn it was already paid.
func TestMarkInvoicePaidOnce(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	inv, err := db.CreateInvoice(ctx, actorOf(owner), newInvoice(org.ID, 75*switchboard.MoneyUnit, false))
	must(t, err)
	operator := switchboard.Actor{Name: "Operator"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	credited, already := 0, 0
	for range 10 {
		wg.Go(func() {
			got, err := db.MarkInvoicePaid(ctx, operator, inv.Number)
			mu.Lock()
			defer mu.Unlock()
			var ap *store.AlreadyPaid
			switch {
			case err == nil:
				credited++
				if got.OrgID != org.ID || got.Amount != 75*switchboard.MoneyUnit || !got.Paid {
					t.Errorf("marked %+v", got)
				}
			case errors.As(err, &ap):
				already++
			default:
				t.Errorf("mark paid: %v", err)
			}
		})
	}
	wg.Wait()
	if credited != 1 || already != 9 {
		t.Fatalf("%d credited and %d already paid, want 1 and 9", credited, already)
	}
	if b, _ := db.Balance(ctx, org.ID); b != 75*switchboard.MoneyUnit {
		t.Fatalf("balance %d, want 750000", b)
	}
	raw := rawDB(t, dsn)
	if n := count(t, raw, `SELECT COUNT(*) FROM ledger WHERE org_id = ? AND kind = 'credit' AND invoice_id = ?`, org.ID, inv.ID); n != 1 {
		t.Errorf("%d credit lines, want 1", n)
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM audit_log WHERE org_id = ? AND action = 'invoice.paid'`, org.ID); n != 1 {
		t.Errorf("%d audit lines of the payment, want 1", n)
	}
	found, err := db.FindInvoice(ctx, org.ID, inv.Number)
	must(t, err)
	if !found.Paid || found.PaidAt == nil || !found.PaidAt.Equal(t0) {
		t.Errorf("found %+v, want paid at %v", found, t0)
	}
	unpaid, err := db.UnpaidInvoices(ctx, 0)
	must(t, err)
	if len(unpaid) != 0 {
		t.Errorf("unpaid %+v, want none", unpaid)
	}

	_, err = db.MarkInvoicePaid(ctx, operator, "INV-2025-999999")
	wantCode(t, err, switchboard.ENOTFOUND)
}

// TestFindInvoiceTenantIsolation: another organisation's invoice number is
// not found, exactly like a number that does not exist.
func TestFindInvoiceTenantIsolation(t *testing.T) {
	db := newDB(t)
	ada, acme := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	_, globex := newOwner(t, db, "Grace", "Hopper", "grace@example.com")
	inv, err := db.CreateInvoice(ctx, actorOf(ada), newInvoice(acme.ID, switchboard.MoneyUnit, false))
	must(t, err)
	_, err = db.FindInvoice(ctx, acme.ID, inv.Number)
	must(t, err)
	_, err = db.FindInvoice(ctx, globex.ID, inv.Number)
	wantCode(t, err, switchboard.ENOTFOUND)
	_, err = db.FindInvoice(ctx, acme.ID, "INV-2025-000002")
	wantCode(t, err, switchboard.ENOTFOUND)
	list, _, err := db.ListInvoices(ctx, globex.ID, 0, 10)
	must(t, err)
	if len(list) != 0 {
		t.Fatalf("Globex lists %+v", list)
	}
	unpaid, err := db.UnpaidInvoices(ctx, globex.ID)
	must(t, err)
	if len(unpaid) != 0 {
		t.Fatalf("Globex's unpaid: %+v", unpaid)
	}
}

// TestInvoicesSurviveTheirOrganisation: deleting an organisation keeps its
// invoices (their numbers have no gaps); an unpaid one can no longer be
// marked paid, and says why.
func TestInvoicesSurviveTheirOrganisation(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	paid, err := db.CreateInvoice(ctx, actorOf(owner), newInvoice(org.ID, switchboard.MoneyUnit, true))
	must(t, err)
	unpaid, err := db.CreateInvoice(ctx, actorOf(owner), newInvoice(org.ID, 2*switchboard.MoneyUnit, false))
	must(t, err)
	must(t, db.DeleteOrganisation(ctx, org.ID))
	raw := rawDB(t, dsn)
	if n := count(t, raw, `SELECT COUNT(*) FROM invoices WHERE number IN (?, ?) AND org_id IS NULL`, paid.Number, unpaid.Number); n != 2 {
		t.Fatalf("%d invoices left after the organisation's deletion, want 2", n)
	}
	_, err = db.MarkInvoicePaid(ctx, switchboard.Actor{Name: "Operator"}, unpaid.Number)
	wantCode(t, err, switchboard.EINVALID)
	list, err := db.UnpaidInvoices(ctx, 0)
	must(t, err)
	if len(list) != 1 || list[0].Number != unpaid.Number || list[0].OrgID != 0 || list[0].OrgName != "" || list[0].Buyer.Name != org.Name {
		t.Fatalf("unpaid %+v", list)
	}
}
