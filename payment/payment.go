// Package payment decides how an invoice issued for credits gets paid
// (PRODUCT.md § Money: the operator's --payments setting). A method that
// takes money online (a card checkout) would be one more implementation.
package payment

import (
	"fmt"

	"switchboard"
)

// Method is how invoices get paid.
type Method interface {
	// Name is the --payments value that chooses it.
	Name() string
	// PaidOnIssue reports whether an invoice is paid in the transaction
	// that issues it, so the balance rises at once.
	PaidOnIssue() bool
	// Issued is what the person who added credits reads once the invoice
	// exists: paid and credited, or what happens next.
	Issued(inv *switchboard.Invoice) string
}

// Manual leaves invoices unpaid until the operator marks them paid
// ("switchboard invoices mark-paid NUMBER") once the money arrived.
type Manual struct{}

// Name is "manual".
func (Manual) Name() string { return "manual" }

// PaidOnIssue is false: the operator marks the invoice paid.
func (Manual) PaidOnIssue() bool { return false }

// Issued says the credits come when the invoice is paid.
func (Manual) Issued(inv *switchboard.Invoice) string {
	return fmt.Sprintf("Invoice %s for %s was issued. The credits will be added to your balance when it is paid.", inv.Number, inv.Currency.Format(inv.Amount))
}

// Test pays every invoice at once, for trying the panel.
type Test struct{}

// Name is "test".
func (Test) Name() string { return "test" }

// PaidOnIssue is true: the invoice is paid as it is issued.
func (Test) PaidOnIssue() bool { return true }

// Issued says the credits were added.
func (Test) Issued(inv *switchboard.Invoice) string {
	return fmt.Sprintf("Invoice %s for %s was paid, and %s was added to your balance.", inv.Number, inv.Currency.Format(inv.Amount), inv.Currency.Format(inv.Amount))
}

// ByName returns the method named by --payments; ok is false for a name
// that is none of them.
func ByName(name string) (m Method, ok bool) {
	switch name {
	case "", "manual":
		return Manual{}, true
	case "test":
		return Test{}, true
	}
	return nil, false
}
