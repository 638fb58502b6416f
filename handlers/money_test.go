package handlers_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"switchboard"
	"switchboard/handlers"
	"switchboard/store"
)

// newMoneyApp is the real server with the payment setting and currency
// given ("" for the defaults: manual, EUR).
func newMoneyApp(t *testing.T, payments string, currency switchboard.Currency) *app {
	t.Helper()
	return newAppConfig(t, handlers.Config{
		BaseURL: mustURL(testBaseURL), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Payments: payments, Currency: currency,
		Seller: switchboard.Party{Name: "Switchboard OÜ", Address: "Narva mnt 5\nTallinn", Country: "EE", VATNumber: "EE100000000", Email: "billing@switchboard.example"},
	})
}

var invoiceNumber = regexp.MustCompile(`INV-\d{4}-\d{6}`)

func year() string { return fmt.Sprint(time.Now().UTC().Year()) }

func (a *app) balance(org int64) switchboard.Money {
	a.t.Helper()
	b, err := a.db.Balance(context.Background(), org)
	if err != nil {
		a.t.Fatal(err)
	}
	return b
}

// TestCreditsAmountLimits: amounts outside €5.00–€10,000.00, or not
// amounts at all, answer 422 with the error beside Amount and the typed
// value kept; nothing is issued.
func TestCreditsAmountLimits(t *testing.T) {
	a := newMoneyApp(t, "test", "")
	owner := a.signup("owner@example.com", "Acme")
	for _, tc := range []struct{ typed, want string }{
		{"4.99", "The smallest amount you can add is €5.00."},
		{"10000.01", "The largest amount you can add at once is €10,000.00."},
		{"1000000", "The largest amount you can add at once is €10,000.00."},
		{"fifty", "Enter the amount as a number, such as 50 or 49.90."},
		{"-50", "Enter the amount as a number, such as 50 or 49.90."},
		{"50.001", "Enter the amount with at most two decimals, such as 49.90."},
		{"", "Enter the amount to add, such as 50."},
	} {
		t.Run(tc.typed, func(t *testing.T) {
			res := owner.post(path(owner.org, "credits"), url.Values{"amount": {tc.typed}})
			wantStatus(t, res, http.StatusUnprocessableEntity)
			wantContains(t, res, `<p class="error" id="amount-error">`+tc.want+`</p>`, `aria-invalid="true"`, `value="`+tc.typed+`"`, `<label for="amount">Amount</label>`)
		})
	}
	if b := a.balance(owner.org); b != 0 {
		t.Fatalf("balance %d after refused amounts", b)
	}
	list, _, err := a.db.ListInvoices(context.Background(), owner.org, 0, 10)
	if err != nil || len(list) != 0 {
		t.Fatalf("invoices %+v, %v after refused amounts", list, err)
	}
	// The limits themselves are accepted.
	for _, ok := range []string{"5", "10000.00", "49,90"} {
		wantStatus(t, owner.post(path(owner.org, "credits"), url.Values{"amount": {ok}}), http.StatusSeeOther)
	}
	if b := a.balance(owner.org); b != (5+10000)*switchboard.MoneyUnit+499000 {
		t.Fatalf("balance %d", b)
	}
}

// TestCreditsTestPayments: with --payments test the invoice is paid as it
// is issued; the Credits page shows the new balance and the ledger line,
// the invoice shows Paid, and the audit log both events in words.
func TestCreditsTestPayments(t *testing.T) {
	a := newMoneyApp(t, "test", "")
	owner := a.signup("owner@example.com", "Acme")
	res := owner.get(path(owner.org, "credits"))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "<h1>Credits</h1>", `<span class="stat-value" id="balance">€0.00</span>`, `<button type="submit" class="primary">Add credits</button>`, "No movements yet")

	res = owner.post(path(owner.org, "credits"), url.Values{"amount": {"50"}})
	wantStatus(t, res, http.StatusSeeOther)
	if res.location != path(owner.org, "credits") {
		t.Fatalf("sent to %s", res.location)
	}
	number := "INV-" + year() + "-000001"
	res = owner.get(res.location)
	wantContains(t, res, "Invoice "+number+" for €50.00 was paid, and €50.00 was added to your balance.",
		`<span class="stat-value" id="balance">€50.00</span>`, "Invoice "+number, "+€50.00")
	if b := a.balance(owner.org); b != 50*switchboard.MoneyUnit {
		t.Fatalf("balance %d, want 500000", b)
	}
	wantContains(t, owner.get(path(owner.org, "invoices")), number, "Paid on ")
	res = owner.get(path(owner.org, "invoices/"+number))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "<h1>Invoice "+number+"</h1>", "Paid on ", "Messaging credits", "Switchboard OÜ", "Narva mnt 5", "VAT number: EE100000000", "Acme")
	wantNotContains(t, res, "Please pay")
	res = owner.get(path(owner.org, "audit"))
	wantContains(t, res, "Added credits", "Invoice paid", number+", €50.00")
}

// TestCreditsManualPayments: with the default manual payments the
// invoice waits, the balance does not move until the operator marks it
// paid, and the page says so.
func TestCreditsManualPayments(t *testing.T) {
	a := newMoneyApp(t, "", "")
	owner := a.signup("owner@example.com", "Acme")
	wantContains(t, owner.get(path(owner.org, "credits")), "The credits are added to your balance when it is paid.")
	res := owner.post(path(owner.org, "credits"), url.Values{"amount": {"120.50"}})
	wantStatus(t, res, http.StatusSeeOther)
	number := "INV-" + year() + "-000001"
	res = owner.get(res.location)
	wantContains(t, res, "Invoice "+number+" for €120.50 was issued. The credits will be added to your balance when it is paid.",
		`<span class="stat-value" id="balance">€0.00</span>`, "Waiting for payment", `href="`+path(owner.org, "invoices/"+number)+`"`)
	if b := a.balance(owner.org); b != 0 {
		t.Fatalf("balance %d before payment", b)
	}
	res = owner.get(path(owner.org, "invoices/"+number))
	wantContains(t, res, "Unpaid", "Please pay €120.50 quoting "+number)

	if _, err := a.db.MarkInvoicePaid(context.Background(), switchboard.Actor{Name: "Operator"}, number); err != nil {
		t.Fatal(err)
	}
	res = owner.get(path(owner.org, "credits"))
	wantContains(t, res, `<span class="stat-value" id="balance">€120.50</span>`, "Invoice "+number, "+€120.50")
	wantNotContains(t, res, "Waiting for payment")
}

// TestSenderAddsCreditsButSeesNoInvoices: a Sender may add credits
// (PRODUCT.md's table) but not open invoices: the list, an invoice and its
// PDF answer 403, and the Credits page names the invoice without a link.
func TestSenderAddsCreditsButSeesNoInvoices(t *testing.T) {
	a := newMoneyApp(t, "", "")
	owner := a.signup("owner@example.com", "Acme")
	sender := a.join(a.invite(owner, owner.org, "sender@example.com", "sender"), "sender@example.com")
	res := sender.post(path(owner.org, "credits"), url.Values{"amount": {"20"}})
	wantStatus(t, res, http.StatusSeeOther)
	number := "INV-" + year() + "-000001"
	res = sender.get(path(owner.org, "credits"))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "<li>"+number+" ", "Waiting for payment")
	wantNotContains(t, res, `href="`+path(owner.org, "invoices/"+number)+`"`, `href="`+path(owner.org, "invoices")+`"`)
	for _, p := range []string{"invoices", "invoices/" + number, "invoices/" + number + "/pdf"} {
		res := sender.get(path(owner.org, p))
		wantStatus(t, res, http.StatusForbidden)
		wantContains(t, res, "does not include Invoices")
	}
	// The sender's dashboard leads to what a Sender does, and shows the
	// balance (Credits); never invoices.
	res = sender.get(path(owner.org, ""))
	wantContains(t, res, `href="`+path(owner.org, "messages/new")+`"`, `href="`+path(owner.org, "history")+`"`, `href="`+path(owner.org, "credits")+`"`, `id="balance"`)
	wantNotContains(t, res, `href="`+path(owner.org, "invoices")+`"`, `href="`+path(owner.org, "sender-names")+`"`)
}

// TestInvoiceOfAnotherOrganisation: an invoice number is looked up within
// the organisation of the URL; another organisation's answers 404.
func TestInvoiceOfAnotherOrganisation(t *testing.T) {
	a := newMoneyApp(t, "test", "")
	acme := a.signup("acme@example.com", "Acme")
	globex := a.signup("globex@example.com", "Globex")
	wantStatus(t, acme.post(path(acme.org, "credits"), url.Values{"amount": {"10"}}), http.StatusSeeOther)
	number := "INV-" + year() + "-000001"
	wantStatus(t, acme.get(path(acme.org, "invoices/"+number)), http.StatusOK)
	for _, p := range []string{"invoices/" + number, "invoices/" + number + "/pdf", "invoices/INV-" + year() + "-000002", "invoices/..%2F..%2Fcredits"} {
		res := globex.get(path(globex.org, p))
		wantStatus(t, res, http.StatusNotFound)
		wantNotContains(t, res, "Acme")
	}
	// Globex's list holds none of Acme's.
	wantNotContains(t, globex.get(path(globex.org, "invoices")), number)
	// And Acme's organisation is not Globex's to look into.
	wantStatus(t, globex.get(path(acme.org, "invoices/"+number)), http.StatusNotFound)
}

// TestInvoicePDFAndPrint: the PDF download is a PDF named after the
// invoice; the page has the print stylesheet (no navigation, black on
// white) and its Download link.
func TestInvoicePDFAndPrint(t *testing.T) {
	a := newMoneyApp(t, "test", "")
	owner := a.signup("owner@example.com", "Acme")
	wantStatus(t, owner.post(path(owner.org, "credits"), url.Values{"amount": {"25"}}), http.StatusSeeOther)
	number := "INV-" + year() + "-000001"
	res := owner.get(path(owner.org, "invoices/"+number+"/pdf"))
	wantStatus(t, res, http.StatusOK)
	if ct := res.header.Get("Content-Type"); ct != "application/pdf" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := res.header.Get("Content-Disposition"); cd != `attachment; filename="`+number+`.pdf"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	if !strings.HasPrefix(res.body, "%PDF-") {
		t.Fatalf("not a PDF: %q", res.body[:min(20, len(res.body))])
	}
	page := owner.get(path(owner.org, "invoices/"+number))
	wantContains(t, page, `href="`+path(owner.org, "invoices/"+number+"/pdf")+`"`, "Download PDF", `class="no-print actions"`)
	css := owner.get("/static/app.css")
	print := css.body[strings.Index(css.body, "@media print"):]
	for _, want := range []string{".topbar", ".sidenav", ".no-print", "display: none", "--text: #000", "--bg: #fff"} {
		if !strings.Contains(print, want) {
			t.Errorf("the print stylesheet lacks %q", want)
		}
	}
}

// TestCompanyDetailsCountry: the settings page keeps the Country as a
// select of names; a country not in the list is refused beside the field
// with the other values kept; the buyer of the next invoice is copied from
// these details.
func TestCompanyDetailsCountry(t *testing.T) {
	a := newMoneyApp(t, "test", "")
	owner := a.signup("owner@example.com", "Acme")
	res := owner.get(path(owner.org, "settings"))
	wantContains(t, res, `<label for="country">Country</label>`, `<option value="EE">Estonia</option>`)
	details := url.Values{"name": {"Acme"}, "legal_name": {"Acme Õismäe OÜ"}, "vat_number": {"EE123"}, "billing_email": {"billing@acme.example"},
		"address": {"Õismäe tee 1\nTallinn"}, "country": {"XX"}}
	res = owner.post(path(owner.org, "settings"), details)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "Choose the country from the list.", `value="Acme Õismäe OÜ"`, `value="billing@acme.example"`)
	details.Set("country", "EE")
	wantStatus(t, owner.post(path(owner.org, "settings"), details), http.StatusSeeOther)
	res = owner.get(path(owner.org, "settings"))
	wantContains(t, res, `<option value="EE" selected>Estonia</option>`)
	if m := membership(t, a.db, owner.org, owner.profile); m == nil || m.Org.Country != "EE" {
		t.Fatalf("stored country: %+v", m)
	}
	wantStatus(t, owner.post(path(owner.org, "credits"), url.Values{"amount": {"10"}}), http.StatusSeeOther)
	res = owner.get(path(owner.org, "invoices/INV-"+year()+"-000001"))
	wantContains(t, res, "Acme Õismäe OÜ", "Õismäe tee 1", "Estonia", "VAT number: EE123", "billing@acme.example")
}

// TestCurrencyAndTimeZoneOnMoneyPages: amounts are in the instance's
// currency, and the ledger's dates in the member's time zone.
func TestCurrencyAndTimeZoneOnMoneyPages(t *testing.T) {
	a := newMoneyApp(t, "test", "USD")
	owner := a.signup("owner@example.com", "Acme")
	wantStatus(t, owner.post("/account", url.Values{"first_name": {"First"}, "last_name": {"Owner"}, "language": {"en"}, "time_zone": {"Asia/Tokyo"}}), http.StatusSeeOther)
	a.db.Now = func() time.Time { return time.Date(2026, time.March, 31, 20, 30, 0, 0, time.UTC) }
	res := owner.post(path(owner.org, "credits"), url.Values{"amount": {"1"}})
	wantContains(t, res, "The smallest amount you can add is $5.00.")
	wantStatus(t, owner.post(path(owner.org, "credits"), url.Values{"amount": {"7.25"}}), http.StatusSeeOther)
	res = owner.get(path(owner.org, "credits"))
	wantContains(t, res, `id="balance">$7.25</span>`, "+$7.25", "1 Apr 2026 05:30 JST")
	wantContains(t, owner.get(path(owner.org, "invoices")), "$7.25", "1 Apr 2026")
}

// TestLedgerPages: the ledger pages by cursor, newest first, and shows
// spends and the balance after each movement.
func TestLedgerPages(t *testing.T) {
	a := newMoneyApp(t, "test", "")
	owner := a.signup("owner@example.com", "Acme")
	for range 3 {
		wantStatus(t, owner.post(path(owner.org, "credits"), url.Values{"amount": {"10"}}), http.StatusSeeOther)
	}
	p, err := a.db.FindProfile(context.Background(), owner.profile)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 60 {
		if _, err := a.db.QueueMessages(ctx, store.Batch{OrgID: owner.org, Actor: switchboard.Actor{ProfileID: p.ID}, Currency: "EUR", Description: fmt.Sprintf("Send %d", i),
			Messages: []switchboard.Message{{From: "Acme", To: "+37255500001", Text: "Hi", Encoding: switchboard.GSM7, Parts: 1, Price: 500}}}); err != nil {
			t.Fatal(err)
		}
	}
	res := owner.get(path(owner.org, "credits"))
	wantContains(t, res, "Send 59", "-€0.05", "€27.00", "€29.45", `rel="next"`)
	wantNotContains(t, res, `"Description">Invoice INV-`)
	next := regexp.MustCompile(`href="([^"]+)" rel="next"`).FindStringSubmatch(res.body)
	res = owner.get(strings.ReplaceAll(next[1], "&amp;", "&"))
	wantContains(t, res, "Send 9", `"Description">Invoice INV-`+year()+"-000003", "€29.95", "€30.00", "Newest")
	wantNotContains(t, res, "Send 10<", `rel="next"`)
}

// TestDashboard: the dashboard shows the balance and the month's spend to
// those whose role covers money, the newest messages with their status to
// those who may read history, and leads into each section the role allows.
func TestDashboard(t *testing.T) {
	a := newMoneyApp(t, "test", "")
	owner := a.signup("owner@example.com", "Acme")
	admin := a.join(a.invite(owner, owner.org, "admin@example.com", "administrator"), "admin@example.com")
	wantStatus(t, owner.post(path(owner.org, "credits"), url.Values{"amount": {"10"}}), http.StatusSeeOther)
	ctx := context.Background()
	for i := range 7 {
		if _, err := a.db.QueueMessages(ctx, store.Batch{OrgID: owner.org, Actor: switchboard.Actor{ProfileID: owner.profile}, Currency: "EUR",
			Messages: []switchboard.Message{{From: "Acme", To: fmt.Sprintf("+3725550000%d", i), Text: "Hi", Encoding: switchboard.GSM7, Parts: 1, Price: 1500}}}); err != nil {
			t.Fatal(err)
		}
	}
	res := owner.get(path(owner.org, ""))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, `id="balance">€8.95</span>`, `id="spent">€1.05</span>`, "Spent in "+time.Now().UTC().Month().String(),
		"Latest messages", "+37255500006", "+37255500002", "Queued")
	wantNotContains(t, res, "+37255500001<", "+37255500000<")
	res = admin.get(path(owner.org, ""))
	for _, section := range []string{"messages/new", "history", "sender-names", "auto-replace", "credits", "invoices", "members", "settings"} {
		wantContains(t, res, `<a href="`+path(owner.org, section)+`"><strong>`)
	}
	wantContains(t, res, "<strong>Send SMS</strong>", `id="balance"`)

	// A role with neither money nor history sees neither figure nor
	// messages, and no link it may not follow.
	recruiter := switchboard.Role{Name: "Recruiter", Permissions: []switchboard.Permission{switchboard.PermMembers}}
	if err := a.db.CreateRole(ctx, switchboard.Actor{ProfileID: owner.profile}, owner.org, &recruiter); err != nil {
		t.Fatal(err)
	}
	hr := a.join(a.invite(owner, owner.org, "hr@example.com", "custom:"+itoa(recruiter.ID)), "hr@example.com")
	res = hr.get(path(owner.org, ""))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, `<a href="`+path(owner.org, "members")+`"><strong>Members</strong></a>`)
	wantNotContains(t, res, `id="balance"`, `id="spent"`, "Latest messages", "+37255500006", `href="`+path(owner.org, "credits")+`"`, `href="`+path(owner.org, "messages/new")+`"`)
}
