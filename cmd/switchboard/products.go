package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"switchboard"
	"switchboard/store"
)

func init() { commands["products"] = runProducts }

// productsUsage is said when the words after "products" make no command.
const productsUsage = `products: say what to do, as in: switchboard products list, switchboard products approve ID, switchboard products decline ID --reason "Why"`

// runProducts is the operator's side of products (PRODUCT.md § Running
// it): list the open requests of every organisation, and approve (the
// product becomes Active) or decline one by its id. Each prints one line
// per request listed or decided. The panel may be running on the same
// database: a decision is one conditional update, so two operators, or
// one typing twice, decide a request once.
func runProducts(ctx context.Context, m *Main, db *store.DB, args []string) error {
	if len(args) == 0 {
		return errors.New(productsUsage)
	}
	switch args[0] {
	case "list":
		if len(args) != 1 {
			return errors.New("products list takes nothing more; to decide, use: switchboard products approve ID")
		}
		return listProducts(ctx, m.Stdout, db)
	case "approve", "decline":
		return decideProduct(ctx, m.Stdout, db, args[0], args[1:])
	}
	return fmt.Errorf("products %s: no such command; %s", args[0], strings.TrimPrefix(productsUsage, "products: "))
}

func listProducts(ctx context.Context, out io.Writer, db *store.DB) error {
	open, err := db.ListOpenProductRequests(ctx)
	if err != nil {
		return err
	}
	if len(open) == 0 {
		fmt.Fprintln(out, "No product request is waiting for a decision.")
		return nil
	}
	for _, r := range open {
		fmt.Fprintf(out, "%d\torganisation %d %s\t%s\t%s\trequested %s\n", r.ID, r.OrgID, oneLine(r.OrgName), r.Product.Label(), oneLine(r.Note),
			r.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"))
	}
	return nil
}

// decideProduct approves or declines the request whose id is the first
// word of args; a decline takes --reason after the id.
func decideProduct(ctx context.Context, out io.Writer, db *store.DB, verb string, args []string) error {
	id, reason, err := parseDecision("products", verb, "decline", "an open product request", `"Not available in your country yet."`, args)
	if err != nil {
		return err
	}
	r, err := db.DecideProductRequest(ctx, id, verb == "approve", reason)
	if err != nil {
		if code := switchboard.ErrorCode(err); code == switchboard.ENOTFOUND || code == switchboard.ECONFLICT {
			return fmt.Errorf("products %s: %s", verb, switchboard.ErrorMessage(err))
		}
		return err
	}
	switch {
	case verb == "approve":
		fmt.Fprintf(out, "Approved product request %d: %s is active for organisation %d %s.\n", r.ID, r.Product.Label(), r.OrgID, oneLine(r.OrgName))
	case r.Reason != "":
		fmt.Fprintf(out, "Declined product request %d, %s, of organisation %d %s: %s\n", r.ID, r.Product.Label(), r.OrgID, oneLine(r.OrgName), r.Reason)
	default:
		fmt.Fprintf(out, "Declined product request %d, %s, of organisation %d %s, with no reason given.\n", r.ID, r.Product.Label(), r.OrgID, oneLine(r.OrgName))
	}
	return nil
}
