package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"switchboard"
)

// NewInvoice is what adding credits asks for: an invoice of Amount to the
// organisation, with the operator's company as Seller. PayNow pays it in
// the same transaction (the test payment setting): the balance rises with
// the invoice or not at all.
type NewInvoice struct {
	OrgID    int64
	Amount   switchboard.Money
	Currency switchboard.Currency
	Seller   switchboard.Party
	PayNow   bool
}

// invoiceNumber writes the number of an invoice: INV-2026-000001.
func invoiceNumber(year int, n int64) string { return fmt.Sprintf("INV-%04d-%06d", year, n) }

// CreateInvoice issues an invoice for credits in one transaction: it takes
// the next number of the year (the counter row is raised in the same
// transaction, so a rolled-back invoice leaves no gap and two at once never
// share a number), copies the buyer from the organisation's company details
// and the seller from n.Seller, and writes the audit line "credits added";
// with n.PayNow it also pays it (see MarkInvoicePaid). The invoice's
// numbers restart at 000001 each calendar year (UTC).
func (db *DB) CreateInvoice(ctx context.Context, actor switchboard.Actor, n NewInvoice) (*switchboard.Invoice, error) {
	if n.Amount <= 0 {
		return nil, switchboard.Errorf(switchboard.EINVALID, "An invoice is for a positive amount.")
	}
	now := db.Now()
	inv := &switchboard.Invoice{OrgID: n.OrgID, Amount: n.Amount, Currency: n.Currency, Seller: n.Seller, CreatedBy: actor.ProfileID, CreatedAt: fromMillis(millis(now))}
	err := db.tx(ctx, func(tx *Tx) error {
		// A subaccount adds no credits: its parent pays for it
		// (PRODUCT.md § Subaccounts). Refused here as well as on its
		// page, so that no way in issues it an invoice.
		if sub, err := fundingOf(ctx, tx, n.OrgID); err != nil {
			return err
		} else if sub != nil {
			return switchboard.Errorf(switchboard.EFORBIDDEN, "%s", switchboard.SubaccountRefusal(switchboard.PermCredits, sub.parent))
		}
		// The organisation first, then the counter: every transaction that
		// takes both takes them in this order (no deadlock on PostgreSQL).
		if err := tx.lockOrganisation(ctx, n.OrgID); err != nil {
			return err
		}
		var name, legal string
		err := tx.QueryRowContext(ctx, `SELECT name, legal_name, address, country, vat_number, billing_email FROM organisations WHERE id = ?`, n.OrgID).
			Scan(&name, &legal, &inv.Buyer.Address, &inv.Buyer.Country, &inv.Buyer.VATNumber, &inv.Buyer.Email)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("organisation")
		} else if err != nil {
			return fmt.Errorf("store: read the buyer of an invoice to organisation %d: %w", n.OrgID, err)
		}
		inv.Buyer.Name = legal
		if inv.Buyer.Name == "" {
			inv.Buyer.Name = name
		}
		year := now.UTC().Year()
		var last int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO invoice_counters (year, last) VALUES (?, 1)
			ON CONFLICT (year) DO UPDATE SET last = invoice_counters.last + 1 RETURNING last`, year).Scan(&last); err != nil {
			return fmt.Errorf("store: number an invoice of %d: %w", year, err)
		}
		inv.Number = invoiceNumber(year, last)
		var createdBy any
		if actor.ProfileID != 0 {
			createdBy = actor.ProfileID
		}
		b, s := inv.Buyer, inv.Seller
		if err := tx.QueryRowContext(ctx, `INSERT INTO invoices (number, org_id, amount, currency,
			buyer_name, buyer_address, buyer_country, buyer_vat, buyer_email,
			seller_name, seller_address, seller_country, seller_vat, seller_email, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			inv.Number, n.OrgID, int64(n.Amount), string(n.Currency),
			b.Name, b.Address, b.Country, b.VATNumber, b.Email,
			s.Name, s.Address, s.Country, s.VATNumber, s.Email, createdBy, millis(now)).Scan(&inv.ID); err != nil {
			return fmt.Errorf("store: insert invoice %s: %w", inv.Number, err)
		}
		if err := db.audit(ctx, tx, n.OrgID, actor, "credits.added", inv.Number, n.Currency.Format(n.Amount)); err != nil {
			return err
		}
		if !n.PayNow {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE invoices SET paid_at = ? WHERE id = ?`, millis(now), inv.ID); err != nil {
			return fmt.Errorf("store: pay invoice %s: %w", inv.Number, err)
		}
		inv.Paid, inv.PaidAt = true, &inv.CreatedAt
		return db.creditInvoice(ctx, tx, actor, inv)
	})
	if err != nil {
		return nil, err
	}
	return inv, nil
}

// creditInvoice adds a paid invoice's amount to its organisation's balance,
// with the ledger line "Invoice INV-…" and the audit line "invoice paid",
// inside the transaction that marked it paid.
func (db *DB) creditInvoice(ctx context.Context, tx *Tx, actor switchboard.Actor, inv *switchboard.Invoice) error {
	e := switchboard.LedgerEntry{OrgID: inv.OrgID, Kind: switchboard.LedgerCredit, Description: "Invoice " + inv.Number, InvoiceID: inv.ID}
	if _, err := db.credit(ctx, tx, e, inv.Amount, actor.ProfileID); err != nil {
		return err
	}
	return db.audit(ctx, tx, inv.OrgID, actor, "invoice.paid", inv.Number, inv.Currency.Format(inv.Amount))
}

// AlreadyPaid is the error of marking an invoice paid a second time: the
// first time credited the balance, and nothing more is.
type AlreadyPaid struct {
	Number string
	PaidAt time.Time
}

func (e *AlreadyPaid) Error() string {
	return fmt.Sprintf("%s was already paid on %s; nothing was credited", e.Number, e.PaidAt.UTC().Format(time.DateOnly))
}

// MarkInvoicePaid marks the invoice with number paid and credits its
// amount to the organisation, once however many times and however
// concurrently it is called: one conditional UPDATE (WHERE paid_at IS
// NULL) decides, and the credit is in its transaction. A second call
// returns an *AlreadyPaid error; an unknown number is ENOTFOUND; the
// invoice of a deleted organisation stays unpaid and is EINVALID (there is
// no balance to credit).
func (db *DB) MarkInvoicePaid(ctx context.Context, actor switchboard.Actor, number string) (*switchboard.Invoice, error) {
	now := db.Now()
	var inv *switchboard.Invoice
	err := db.tx(ctx, func(tx *Tx) error {
		var id, orgID, amount int64
		var currency string
		err := tx.QueryRowContext(ctx, `UPDATE invoices SET paid_at = ? WHERE number = ? AND paid_at IS NULL AND org_id IS NOT NULL
			RETURNING id, org_id, amount, currency`, millis(now), number).Scan(&id, &orgID, &amount, &currency)
		if errors.Is(err, sql.ErrNoRows) {
			return db.whyNotPaid(ctx, tx, number)
		} else if err != nil {
			return fmt.Errorf("store: mark invoice %s paid: %w", number, err)
		}
		paid := fromMillis(millis(now))
		inv = &switchboard.Invoice{ID: id, Number: number, OrgID: orgID, Amount: switchboard.Money(amount), Currency: switchboard.Currency(currency), Paid: true, PaidAt: &paid}
		return db.creditInvoice(ctx, tx, actor, inv)
	})
	if err != nil {
		return nil, err
	}
	return inv, nil
}

// whyNotPaid says why the invoice could not be marked paid.
func (db *DB) whyNotPaid(ctx context.Context, tx *Tx, number string) error {
	var orgID sql.NullInt64
	var paidAt sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT org_id, paid_at FROM invoices WHERE number = ?`, number).Scan(&orgID, &paidAt)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return switchboard.Errorf(switchboard.ENOTFOUND, "There is no invoice %s.", number)
	case err != nil:
		return fmt.Errorf("store: read invoice %s: %w", number, err)
	case paidAt.Valid:
		return &AlreadyPaid{Number: number, PaidAt: fromMillis(paidAt.Int64)}
	default:
		return switchboard.Errorf(switchboard.EINVALID, "The organisation of invoice %s was deleted: there is no balance to credit, and the invoice stays unpaid.", number)
	}
}

// invoiceColumns are the columns scanInvoice reads, of invoices named i.
const invoiceColumns = `i.id, i.number, COALESCE(i.org_id, 0), i.amount, i.currency,
	i.buyer_name, i.buyer_address, i.buyer_country, i.buyer_vat, i.buyer_email,
	i.seller_name, i.seller_address, i.seller_country, i.seller_vat, i.seller_email,
	COALESCE(i.created_by, 0), i.created_at, i.paid_at`

type scanner interface{ Scan(dest ...any) error }

func scanInvoice(r scanner, extra ...any) (*switchboard.Invoice, error) {
	var inv switchboard.Invoice
	var amount, created int64
	var currency string
	var paid sql.NullInt64
	b, s := &inv.Buyer, &inv.Seller
	dest := append([]any{&inv.ID, &inv.Number, &inv.OrgID, &amount, &currency,
		&b.Name, &b.Address, &b.Country, &b.VATNumber, &b.Email,
		&s.Name, &s.Address, &s.Country, &s.VATNumber, &s.Email,
		&inv.CreatedBy, &created, &paid}, extra...)
	if err := r.Scan(dest...); err != nil {
		return nil, err
	}
	inv.Amount, inv.Currency, inv.CreatedAt = switchboard.Money(amount), switchboard.Currency(currency), fromMillis(created)
	inv.PaidAt = fromNullMillis(paid)
	inv.Paid = inv.PaidAt != nil
	return &inv, nil
}

// FindInvoice returns the organisation's invoice with number. Another
// organisation's invoice is ENOTFOUND, exactly like one that does not
// exist.
func (db *DB) FindInvoice(ctx context.Context, orgID int64, number string) (*switchboard.Invoice, error) {
	inv, err := scanInvoice(db.queryRow(ctx, `SELECT `+invoiceColumns+` FROM invoices i WHERE i.org_id = ? AND i.number = ?`, orgID, number))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("invoice")
	} else if err != nil {
		return nil, fmt.Errorf("store: find invoice %s of organisation %d: %w", number, orgID, err)
	}
	return inv, nil
}

// ListInvoices returns up to limit invoices of the organisation, newest
// first, older than the invoice id before (0 for the newest), and the id
// to pass as before for the next page (0 when there is none).
func (db *DB) ListInvoices(ctx context.Context, orgID, before int64, limit int) ([]switchboard.Invoice, int64, error) {
	if before <= 0 {
		before = 1<<63 - 1
	}
	limit = max(limit, 1)
	// Each engine in the words that keep its planner to the index on
	// (org_id, id), as ListLedger does.
	q := `SELECT ` + invoiceColumns + ` FROM invoices i INDEXED BY invoices_by_org WHERE i.org_id = ? AND i.id < ? ORDER BY i.id DESC LIMIT ?`
	if db.pg {
		q = `SELECT ` + invoiceColumns + ` FROM invoices i WHERE (i.org_id, i.id) < ($1, $2) AND i.org_id >= $1 ORDER BY i.org_id DESC, i.id DESC LIMIT $3`
	}
	rows, err := db.query(ctx, q, orgID, before, limit+1)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list invoices of organisation %d: %w", orgID, err)
	}
	defer rows.Close()
	var list []switchboard.Invoice
	for rows.Next() {
		inv, err := scanInvoice(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("store: list invoices of organisation %d: %w", orgID, err)
		}
		list = append(list, *inv)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: list invoices of organisation %d: %w", orgID, err)
	}
	list, next := pageOf(list, limit, func(i switchboard.Invoice) int64 { return i.ID })
	return list, next, nil
}

// UnpaidInvoice is an unpaid invoice with the current name of its
// organisation ("" once it was deleted), for the operator's list.
type UnpaidInvoice struct {
	switchboard.Invoice
	OrgName string
}

// UnpaidInvoices returns every unpaid invoice of the instance, oldest
// first, for "switchboard invoices list" (the partial index on unpaid
// invoices keeps it from reading the paid ones). With orgID it returns
// only that organisation's, for its Credits page.
func (db *DB) UnpaidInvoices(ctx context.Context, orgID int64) ([]UnpaidInvoice, error) {
	q := `SELECT ` + invoiceColumns + `, COALESCE(o.name, '') FROM invoices i LEFT JOIN organisations o ON o.id = i.org_id
		WHERE i.paid_at IS NULL ORDER BY i.id`
	args := []any{}
	if orgID != 0 {
		q = `SELECT ` + invoiceColumns + `, COALESCE(o.name, '') FROM invoices i LEFT JOIN organisations o ON o.id = i.org_id
		WHERE i.org_id = ? AND i.paid_at IS NULL ORDER BY i.id`
		args = append(args, orgID)
	}
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list unpaid invoices: %w", err)
	}
	defer rows.Close()
	var list []UnpaidInvoice
	for rows.Next() {
		var u UnpaidInvoice
		inv, err := scanInvoice(rows, &u.OrgName)
		if err != nil {
			return nil, fmt.Errorf("store: list unpaid invoices: %w", err)
		}
		u.Invoice = *inv
		list = append(list, u)
	}
	return list, rows.Err()
}
