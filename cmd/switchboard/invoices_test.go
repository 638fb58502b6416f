package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"switchboard"
	"switchboard/store"
	"switchboard/store/storetest"
)

// runCommand runs "switchboard --db dsn ARGS…" through Main as main does,
// and returns what it printed and its error (main exits 1 on one).
func runCommand(t *testing.T, dsn string, args ...string) (string, error) {
	t.Helper()
	m := NewMain()
	var out strings.Builder
	m.Stdout = &out
	if err := m.ParseFlags(append([]string{"--db", dsn}, args...), func(string) string { return "" }); err != nil {
		return out.String(), err
	}
	err := m.RunCommand(context.Background())
	return out.String(), err
}

// TestInvoicesCommand runs the operator's invoices command on each engine:
// list shows the unpaid ones, mark-paid credits once however often and
// however concurrently it runs, and every failure is one clear line.
func TestInvoicesCommand(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) { testInvoicesCommand(t, filepath.Join(t.TempDir(), "panel.db")) })
	t.Run("PostgreSQL", func(t *testing.T) { testInvoicesCommand(t, storetest.PostgresDSN(t)) })
}

func testInvoicesCommand(t *testing.T, dsn string) {
	ctx := context.Background()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	newOrg := func(email, name string) (*switchboard.Profile, *switchboard.Organisation) {
		p := &switchboard.Profile{Email: email, FirstName: "F", LastName: "L"}
		o := &switchboard.Organisation{Name: name}
		if err := db.CreateProfileWithOrganisation(ctx, p, "hash", o); err != nil {
			t.Fatal(err)
		}
		return p, o
	}
	ada, acme := newOrg("ada@example.com", "Acme")
	grace, globex := newOrg("grace@example.com", "Globex")
	issue := func(p *switchboard.Profile, o *switchboard.Organisation, amount switchboard.Money) *switchboard.Invoice {
		inv, err := db.CreateInvoice(ctx, switchboard.Actor{ProfileID: p.ID}, store.NewInvoice{OrgID: o.ID, Amount: amount, Currency: "EUR"})
		if err != nil {
			t.Fatal(err)
		}
		return inv
	}

	out, err := runCommand(t, dsn, "invoices", "list")
	if err != nil || out != "switchboard: no invoice is waiting for payment\n" {
		t.Fatalf("list of none: %q, %v", out, err)
	}

	first := issue(ada, acme, 50*switchboard.MoneyUnit)
	second := issue(grace, globex, 12*switchboard.MoneyUnit+5000)
	gone := issue(grace, globex, 7*switchboard.MoneyUnit)
	out, err = runCommand(t, dsn, "invoices", "list")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("list:\n%s", out)
	}
	for i, want := range []*regexp.Regexp{
		regexp.MustCompile(`^` + first.Number + `\torganisation \d+ "Acme"\t€50\.00\tissued \d{4}-\d\d-\d\d$`),
		regexp.MustCompile(`^` + second.Number + `\torganisation \d+ "Globex"\t€12\.50\tissued `),
		regexp.MustCompile(`^` + gone.Number + `\torganisation \d+ "Globex"\t€7\.00\tissued `),
	} {
		if !want.MatchString(lines[i]) {
			t.Errorf("line %d: %q, want %s", i+1, lines[i], want)
		}
	}

	// Five operators mark the same invoice paid at once: one credits it.
	var wg sync.WaitGroup
	outs := make([]string, 5)
	for i := range outs {
		wg.Go(func() {
			out, err := runCommand(t, dsn, "invoices", "mark-paid", first.Number)
			if err != nil {
				t.Errorf("mark-paid %d: %v", i, err)
			}
			outs[i] = out
		})
	}
	wg.Wait()
	credited := 0
	for _, out := range outs {
		switch {
		case strings.HasPrefix(out, "switchboard: "+first.Number+" marked paid; €50.00 added to the balance of organisation "):
			credited++
		case strings.HasPrefix(out, "switchboard: "+first.Number+" was already paid on ") && strings.HasSuffix(out, "; nothing was credited\n"):
		default:
			t.Errorf("mark-paid printed %q", out)
		}
	}
	if credited != 1 {
		t.Fatalf("%d runs credited the invoice, want 1:\n%s", credited, strings.Join(outs, ""))
	}
	if b, _ := db.Balance(ctx, acme.ID); b != 50*switchboard.MoneyUnit {
		t.Fatalf("balance %d, want 500000", b)
	}
	lines2, _, err := db.ListLedger(ctx, acme.ID, 0, 10)
	if err != nil || len(lines2) != 1 || lines2[0].Description != "Invoice "+first.Number {
		t.Fatalf("ledger %+v, %v", lines2, err)
	}
	// Run again later: still nothing more.
	if out, err := runCommand(t, dsn, "invoices", "mark-paid", first.Number); err != nil || !strings.Contains(out, "was already paid") {
		t.Fatalf("again: %q, %v", out, err)
	}
	if b, _ := db.Balance(ctx, acme.ID); b != 50*switchboard.MoneyUnit {
		t.Fatalf("balance %d after a second run, want 500000", b)
	}
	out, _ = runCommand(t, dsn, "invoices", "list")
	if strings.Contains(out, first.Number) || !strings.Contains(out, second.Number) {
		t.Fatalf("list after payment:\n%s", out)
	}

	// The invoice of a deleted organisation stays listed, and cannot be
	// credited.
	if err := db.DeleteOrganisation(ctx, globex.ID); err != nil {
		t.Fatal(err)
	}
	out, _ = runCommand(t, dsn, "invoices", "list")
	if !strings.Contains(out, gone.Number+"\tdeleted organisation (buyer \"Globex\")\t€7.00") {
		t.Fatalf("list after the deletion:\n%s", out)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"invoices", "mark-paid", gone.Number}, "invoices mark-paid: The organisation of invoice " + gone.Number + " was deleted: there is no balance to credit, and the invoice stays unpaid."},
		{[]string{"invoices", "mark-paid", "INV-1999-000001"}, "invoices mark-paid: There is no invoice INV-1999-000001."},
		{[]string{"invoices", "mark-paid"}, "invoices mark-paid: name one invoice, as in: switchboard invoices mark-paid INV-2026-000001"},
		{[]string{"invoices", "mark-paid", "a", "b"}, "invoices mark-paid: name one invoice"},
		{[]string{"invoices"}, invoicesUsage},
		{[]string{"invoices", "pay", first.Number}, invoicesUsage},
	} {
		out, err := runCommand(t, dsn, tc.args...)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") || out != "" {
			t.Errorf("%v: printed %q, error %v; want one line starting %q", tc.args, out, err, tc.want)
		}
	}
}

// TestBadPricesStopTheStart: a --prices file with a bad line stops the
// start with one line naming the file and the line; a good one is used.
func TestBadPricesStopTheStart(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "prices.csv")
	if err := os.WriteFile(bad, []byte("country,prefix,price\nEE,372,0.0500\nLV,+371,0.06\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := NewMain()
	m.Stdout = io.Discard
	err := m.ParseFlags([]string{"--db", filepath.Join(dir, "sb.db"), "--prices", bad}, func(string) string { return "" })
	if err == nil || !strings.HasPrefix(err.Error(), "--prices: "+bad+": line 3: ") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %v, want one line naming %s and line 3", err, bad)
	}
	// From the environment too.
	m = NewMain()
	m.Stdout = io.Discard
	err = m.ParseFlags([]string{"--db", filepath.Join(dir, "sb.db")}, func(k string) string {
		if k == "SWITCHBOARD_PRICES" {
			return bad
		}
		return ""
	})
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("from SWITCHBOARD_PRICES: %v", err)
	}
	missing := filepath.Join(dir, "none.csv")
	m = NewMain()
	m.Stdout = io.Discard
	if err := m.ParseFlags([]string{"--prices", missing}, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("a missing file: %v", err)
	}
	good := filepath.Join(dir, "good.csv")
	if err := os.WriteFile(good, []byte("country,prefix,price\nEE,372,0.0700\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m = NewMain()
	m.Stdout = io.Discard
	if err := m.ParseFlags([]string{"--prices", good}, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if p, ok := m.Config.Prices.Lookup("+37255566677"); !ok || p.PerPart != 700 {
		t.Fatalf("price of +372… %+v %v, want 0.0700 from the file", p, ok)
	}
	if _, ok := m.Config.Prices.Lookup("+4915123456789"); ok {
		t.Fatal("the built-in table is still used beside the file")
	}
}

// TestCurrencyOnPages starts the panel with --currency USD and test
// payments: the Credits page and its limits speak dollars.
func TestCurrencyOnPages(t *testing.T) {
	dir := t.TempDir()
	m := NewMain()
	m.Stdout = io.Discard
	if err := m.ParseFlags([]string{"--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "sb.db"), "--currency", "usd", "--payments", "test"}, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(t.Context()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	base := m.URL()
	res, err := hc.PostForm(base+"/signup", url.Values{"_csrf": {formToken(t, hc, base+"/signup")}, "email": {"ada@example.com"},
		"password": {"a long enough passphrase"}, "first_name": {"Ada"}, "last_name": {"Lovelace"}, "org_name": {"Acme"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	credits := strings.TrimSuffix(res.Request.URL.String(), "/") + "/credits"
	if !strings.Contains(credits, "/orgs/") {
		t.Fatalf("signed up to %s", res.Request.URL)
	}
	page := func(res *http.Response, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	body := page(hc.PostForm(credits, url.Values{"_csrf": {formToken(t, hc, credits)}, "amount": {"2"}}))
	if !strings.Contains(body, "The smallest amount you can add is $5.00.") {
		t.Fatalf("the minimum is not in dollars:\n%s", body)
	}
	body = page(hc.PostForm(credits, url.Values{"_csrf": {formToken(t, hc, credits)}, "amount": {"40"}}))
	if !strings.Contains(body, `id="balance">$40.00</span>`) || strings.Contains(body, "€") {
		t.Fatalf("the balance is not in dollars:\n%s", body)
	}
}
