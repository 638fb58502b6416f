package handlers

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/invoicepdf"
	"switchboard/payment"
	"switchboard/store"
	"switchboard/views"
)

// The amounts one addition of credits may be for (PRODUCT.md § Money:
// minimum and maximum amounts with clear errors).
const (
	MinCredits = 5 * switchboard.MoneyUnit
	MaxCredits = 10_000 * switchboard.MoneyUnit
)

// ledgerPerPage and invoicesPerPage are how many lines a page of the
// ledger and of the invoices shows.
const (
	ledgerPerPage   = 50
	invoicesPerPage = 50
)

// payments is the operator's payment method (--payments).
func (s *Server) payments() payment.Method {
	if m, ok := payment.ByName(s.cfg.Payments); ok {
		return m
	}
	return payment.Manual{}
}

// zoneOf is the time zone dates are shown in to the profile of the
// request: their profile's Time zone (memberZone), UTC when they have none.
func zoneOf(c echo.Context) *time.Location {
	return memberZone(switchboard.ProfileFromContext(c.Request().Context()))
}

// creditsPage builds the Credits page as it is now, with form as typed.
func (s *Server) creditsPage(c echo.Context, f views.Form) (views.CreditsPage, error) {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	before, _ := parseID(c.QueryParam("before"))
	page := views.CreditsPage{Membership: m, Currency: s.cfg.Currency, Zone: zoneOf(c), Form: f, First: before == 0,
		PaidOnIssue: s.payments().PaidOnIssue(), Min: MinCredits, Max: MaxCredits}
	var err error
	if page.Ledger, page.Next, err = s.db.ListLedger(ctx, m.Org.ID, before, ledgerPerPage); err != nil {
		return page, err
	}
	if m.Org.IsSubaccount() {
		// No balance, invoices or Add credits of its own: who funds it.
		page.Funds, err = s.db.SubaccountFunds(ctx, m.Org.ID)
		return page, err
	}
	if page.Balance, err = s.db.Balance(ctx, m.Org.ID); err != nil {
		return page, err
	}
	unpaid, err := s.db.UnpaidInvoices(ctx, m.Org.ID)
	if err != nil {
		return page, err
	}
	for _, u := range unpaid {
		page.Unpaid = append(page.Unpaid, u.Invoice)
	}
	return page, nil
}

func (s *Server) handleCredits(c echo.Context) error {
	page, err := s.creditsPage(c, views.Form{})
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.Credits(page))
}

// creditsAmount reads the Amount field: currency units with at most two
// decimals, within the limits. The message says what is wrong, in the
// instance's currency.
func (s *Server) creditsAmount(typed string) (switchboard.Money, string) {
	typed = strings.TrimSpace(typed)
	cur := s.cfg.Currency
	if typed == "" {
		return 0, "Enter the amount to add, such as 50."
	}
	amount, ok := switchboard.ParseMoney(strings.TrimPrefix(strings.TrimSpace(strings.TrimPrefix(typed, "€")), "$"))
	switch {
	case !ok:
		return 0, "Enter the amount as a number, such as 50 or 49.90."
	case amount%100 != 0:
		return 0, "Enter the amount with at most two decimals, such as 49.90."
	case amount < MinCredits:
		return 0, "The smallest amount you can add is " + cur.Format(MinCredits) + "."
	case amount > MaxCredits:
		return 0, "The largest amount you can add at once is " + cur.Format(MaxCredits) + "."
	}
	return amount, ""
}

// handleCreditsAdd issues an invoice for the amount at once; the payment
// method says whether it is paid (and the balance credited) in the same
// transaction.
func (s *Server) handleCreditsAdd(c echo.Context) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	if m.Org.IsSubaccount() {
		// Its Credits page offers no Add credits: a forged one is refused
		// here (and by CreateInvoice), never invoiced.
		return subaccountRefused(m, switchboard.PermCredits)
	}
	values, err := form(c)
	if err != nil {
		return err
	}
	amount, problem := s.creditsAmount(values.Get("amount"))
	if problem != "" {
		page, err := s.creditsPage(c, views.Form{Values: values, Errors: switchboard.FieldErrors{"amount": problem}})
		if err != nil {
			return err
		}
		return s.render(c, http.StatusUnprocessableEntity, views.Credits(page))
	}
	method := s.payments()
	inv, err := s.db.CreateInvoice(ctx, s.actor(c), store.NewInvoice{
		OrgID: m.Org.ID, Amount: amount, Currency: s.cfg.Currency, Seller: s.cfg.Seller, PayNow: method.PaidOnIssue(),
	})
	if err != nil {
		return err
	}
	s.logger.Info("credits added", "org", m.Org.ID, "invoice", inv.Number, "amount", int64(amount), "paid", inv.Paid, "profile", m.Member.ProfileID)
	s.flash(c, method.Issued(inv))
	return redirect(c, switchboard.OrgPath(m.Org.ID, "credits"))
}

func (s *Server) handleInvoices(c echo.Context) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	before, _ := parseID(c.QueryParam("before"))
	list, next, err := s.db.ListInvoices(ctx, m.Org.ID, before, invoicesPerPage)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.Invoices(views.InvoicesPage{Membership: m, Invoices: list, Next: next, First: before == 0, Zone: zoneOf(c)}))
}

// invoice finds the invoice of the URL within the organisation of the URL:
// another organisation's number is not found (404), like one that does not
// exist.
func (s *Server) invoice(c echo.Context) (*switchboard.Invoice, error) {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	number, err := url.PathUnescape(c.Param("number"))
	if err != nil {
		return nil, echo.ErrNotFound
	}
	return s.db.FindInvoice(ctx, m.Org.ID, number)
}

func (s *Server) handleInvoice(c echo.Context) error {
	inv, err := s.invoice(c)
	if err != nil {
		return err
	}
	m := switchboard.MembershipFromContext(c.Request().Context())
	return s.render(c, http.StatusOK, views.InvoiceView(views.InvoicePage{Membership: m, Invoice: inv, Zone: zoneOf(c), Line: invoicepdf.Line}))
}

// handleInvoicePDF sends the invoice as a PDF download, drawn into a
// buffer first so that a failure shows the error page.
func (s *Server) handleInvoicePDF(c echo.Context) error {
	inv, err := s.invoice(c)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := invoicepdf.Write(&buf, inv, zoneOf(c)); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", `attachment; filename="`+inv.Number+`.pdf"`)
	h.Set("Cache-Control", "private, no-store")
	return c.Blob(http.StatusOK, "application/pdf", buf.Bytes())
}
