package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"switchboard"
	"switchboard/store"
)

func init() { commands["invoices"] = runInvoices }

// invoicesUsage is the line shown for a wrong use of the command.
const invoicesUsage = "invoices: use \"switchboard invoices list\" or \"switchboard invoices mark-paid NUMBER\""

// runInvoices is "switchboard invoices list" (one line per unpaid
// invoice) and "switchboard invoices mark-paid NUMBER" (credits the
// balance once, however many times it is run).
func runInvoices(ctx context.Context, m *Main, db *store.DB, args []string) error {
	switch {
	case len(args) == 1 && args[0] == "list":
		return listInvoices(ctx, m, db)
	case len(args) == 2 && args[0] == "mark-paid":
		return markInvoicePaid(ctx, m, db, args[1])
	case len(args) >= 1 && args[0] == "mark-paid":
		return errors.New("invoices mark-paid: name one invoice, as in: switchboard invoices mark-paid INV-2026-000001")
	}
	return errors.New(invoicesUsage)
}

func listInvoices(ctx context.Context, m *Main, db *store.DB) error {
	list, err := db.UnpaidInvoices(ctx, 0)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintln(m.Stdout, "switchboard: no invoice is waiting for payment")
		return nil
	}
	for _, inv := range list {
		org := fmt.Sprintf("organisation %d %q", inv.OrgID, inv.OrgName)
		if inv.OrgID == 0 {
			org = fmt.Sprintf("deleted organisation (buyer %q)", inv.Buyer.Name)
		}
		fmt.Fprintf(m.Stdout, "%s\t%s\t%s\tissued %s\n", inv.Number, org, inv.Currency.Format(inv.Amount), inv.CreatedAt.Format(time.DateOnly))
	}
	return nil
}

func markInvoicePaid(ctx context.Context, m *Main, db *store.DB, number string) error {
	inv, err := db.MarkInvoicePaid(ctx, switchboard.Actor{Name: "Operator (command line)"}, number)
	if already, ok := errors.AsType[*store.AlreadyPaid](err); ok {
		// Running it again is safe and says so: nothing more is credited.
		fmt.Fprintf(m.Stdout, "switchboard: %s\n", already.Error())
		return nil
	}
	if switchboard.ErrorCode(err) != "" && switchboard.ErrorCode(err) != switchboard.EINTERNAL {
		return fmt.Errorf("invoices mark-paid: %s", switchboard.ErrorMessage(err))
	} else if err != nil {
		return fmt.Errorf("invoices mark-paid: %w", err)
	}
	fmt.Fprintf(m.Stdout, "switchboard: %s marked paid; %s added to the balance of organisation %d\n", inv.Number, inv.Currency.Format(inv.Amount), inv.OrgID)
	return nil
}
