package handlers_test

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"switchboard"
	"switchboard/handlers"
	"switchboard/store"
)

// subWorld is a parent organisation, Acme, with €100.00 of balance, and a
// subaccount of it, Acme Estonia, owned by sub: seen from inside the
// subaccount.
type subWorld struct {
	a      *app
	parent *person // the owner of Acme; parent.org is Acme
	sub    *person // the owner of the subaccount; sub.org is the subaccount
}

// newSubWorld makes the subaccount by a raw row (the store's
// CreateSubaccount comes with the Subaccounts page), funded as asked. The
// instance's payments are test payments: an invoice that slipped through
// would credit at once, which the tests would see.
func newSubWorld(t testing.TB, funding switchboard.Funding, budget switchboard.Money) *subWorld {
	t.Helper()
	base, _ := url.Parse(testBaseURL)
	a := newAppConfig(t, handlers.Config{BaseURL: base, Payments: "test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	w := &subWorld{a: a, parent: a.signup("owner@example.com", "Acme"), sub: a.signup("sub@example.com", "Acme Estonia")}
	a.fundOrg(w.parent.org, 1_000_000, "EE")
	a.fundOrg(w.sub.org, 0, "EE")
	if _, err := a.raw().ExecContext(context.Background(), `INSERT INTO subaccounts (org_id, parent_id, email, funding, budget, status, created_by, created_at)
		VALUES (?, ?, 'sub@example.com', ?, ?, 'active', ?, 0)`, w.sub.org, w.parent.org, string(funding), int64(budget), w.parent.profile); err != nil {
		t.Fatal(err)
	}
	return w
}

// spend queues messages of the subaccount through the store, as every
// send does: its budget and the parent's balance are debited.
func (w *subWorld) spend(t testing.TB, n int, price switchboard.Money) {
	t.Helper()
	b := store.Batch{OrgID: w.sub.org, Actor: switchboard.Actor{ProfileID: w.sub.profile}, Currency: "EUR", Description: itoa(int64(n)) + " messages from Acme Estonia"}
	for i := range n {
		b.Messages = append(b.Messages, switchboard.Message{From: "Acme", To: "+3725550" + itoa(int64(1000+i)), Text: "Hello", Encoding: switchboard.GSM7, Parts: 1, Price: price})
	}
	if _, err := w.a.db.QueueMessages(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

// setStatus changes the subaccount's status by a raw row, as its parent's
// Suspend and Close do.
func (w *subWorld) setStatus(t *testing.T, status switchboard.SubaccountStatus) {
	t.Helper()
	if _, err := w.a.raw().ExecContext(context.Background(), `UPDATE subaccounts SET status = ? WHERE org_id = ?`, string(status), w.sub.org); err != nil {
		t.Fatal(err)
	}
}

// tally counts the rows every refused action could have written.
func (w *subWorld) tally() map[string]int {
	counts := map[string]int{}
	for _, table := range []string{"invitations", "invoices", "members", "organisations", "roles", "subaccounts", "outbox", "ledger"} {
		counts[table] = w.a.rows(`SELECT COUNT(*) FROM ` + table)
	}
	counts["balance"] = w.a.rows(`SELECT CAST(SUM(balance) AS INTEGER) FROM organisations`)
	counts["owner_only_members"] = w.a.rows(`SELECT COUNT(*) FROM organisations WHERE owner_only_members`)
	counts["require_two_factor"] = w.a.rows(`SELECT COUNT(*) FROM organisations WHERE require_two_factor`)
	counts["owners"] = w.a.rows(`SELECT COUNT(*) FROM members WHERE org_id = ? AND profile_id = ? AND role = 'owner'`, w.sub.org, w.sub.profile)
	return counts
}

// wantRefusal checks a 403 explaining that the subaccount refuses perm,
// with none of the page of a role's refusal (a role to ask for).
func wantRefusal(t testing.TB, res *response, perm switchboard.Permission) {
	t.Helper()
	wantStatus(t, res, http.StatusForbidden)
	wantContains(t, res, "Not available in a subaccount", html.EscapeString(switchboard.SubaccountRefusal(perm, "Acme")))
	wantNotContains(t, res, "Your role here", "role allows", "to change your role")
}

// TestSubaccountOwnerCannotManage tries, as the subaccount's owner, each
// thing a subaccount refuses, by its page and by a forged POST with a
// valid CSRF token: each answers 403 with the reason, and nothing is
// written.
func TestSubaccountOwnerCannotManage(t *testing.T) {
	w := newSubWorld(t, switchboard.FundingBudget, 500_000)
	before := w.tally()
	sub := w.sub.org
	cases := []struct {
		name   string
		method string
		path   string
		form   url.Values
		perm   switchboard.Permission
	}{
		{"members page", http.MethodGet, path(sub, "members"), nil, switchboard.PermMembers},
		{"a member's page", http.MethodGet, path(sub, "members/"+itoa(w.sub.profile)), nil, switchboard.PermMembers},
		{"invite", http.MethodPost, path(sub, "members"), url.Values{"email": {"friend@example.com"}, "role": {"administrator"}}, switchboard.PermMembers},
		{"invite, old address", http.MethodPost, path(sub, "invitations"), url.Values{"email": {"friend@example.com"}, "role": {"sender"}}, switchboard.PermMembers},
		{"resend an invitation", http.MethodPost, path(sub, "invitations/1/resend"), nil, switchboard.PermMembers},
		{"cancel an invitation", http.MethodGet, path(sub, "invitations/1/cancel"), nil, switchboard.PermMembers},
		{"change a role", http.MethodPost, path(sub, "members/"+itoa(w.sub.profile)+"/role"), url.Values{"role": {"sender"}}, switchboard.PermMembers},
		{"transfer", http.MethodPost, path(sub, "transfer"), url.Values{"new_owner": {"owner@example.com"}, "confirm_password": {testPassword}}, switchboard.PermOwnership},
		{"delete", http.MethodPost, path(sub, "delete"), url.Values{"confirm_name": {"Acme Estonia"}}, switchboard.PermOwnership},
		{"members policy", http.MethodPost, path(sub, "settings/members-policy"), url.Values{"owner_only_members": {"on"}}, switchboard.PermOwnership},
		{"two-factor policy", http.MethodPost, path(sub, "settings/two-factor"), url.Values{"require_two_factor": {"on"}, "confirm": {"on"}}, switchboard.PermOwnership},
		{"roles page", http.MethodGet, path(sub, "roles"), nil, switchboard.PermOwnership},
		{"create a role", http.MethodPost, path(sub, "roles"), url.Values{"name": {"Helper"}, "permissions": {"messages"}}, switchboard.PermOwnership},
		{"leave", http.MethodPost, path(sub, "leave"), nil, switchboard.PermOwnership},
		{"leave page", http.MethodGet, path(sub, "leave"), nil, switchboard.PermOwnership},
		{"invoices", http.MethodGet, path(sub, "invoices"), nil, switchboard.PermInvoices},
		{"add credits", http.MethodPost, path(sub, "credits"), url.Values{"amount": {"50"}}, switchboard.PermCredits},
		// Part A's Subaccounts page: a subaccount cannot have any.
		{"subaccounts page", http.MethodGet, path(sub, "subaccounts"), nil, switchboard.PermSubaccounts},
		{"create a subaccount", http.MethodPost, path(sub, "subaccounts"), url.Values{"email": {"friend@example.com"}, "name": {"Acme Tartu"}, "funding": {"shared"}}, switchboard.PermSubaccounts},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var res *response
			if c.method == http.MethodGet {
				res = w.sub.get(c.path)
			} else {
				res = w.sub.post(c.path, c.form)
			}
			if pattern := c.method + " /orgs/:org/subaccounts"; c.path == path(sub, "subaccounts") && !served(w.a, pattern) {
				// The Subaccounts page is another branch's (issue 12 part
				// A): until it is merged its address is nothing (404);
				// once it is, the 403 with the reason is required.
				t.Logf("%s is not served yet: 404 until the Subaccounts page is merged", pattern)
				wantStatus(t, res, http.StatusNotFound)
				return
			}
			wantRefusal(t, res, c.perm)
		})
	}
	if after := w.tally(); !mapsEqual(before, after) {
		t.Errorf("refused actions wrote something: before %v, after %v", before, after)
	}
	if n := w.a.rows(`SELECT COUNT(*) FROM invoices WHERE org_id = ?`, sub); n != 0 {
		t.Errorf("%d invoices of the subaccount", n)
	}
}

// served reports whether the server has the route "METHOD pattern".
func served(a *app, route string) bool {
	return slices.Contains(a.srv.Routes(), route)
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestSubaccountOtherOrganisation404 uses the ids of the parent, and of an
// organisation of nobody here, as the subaccount's owner, and the
// subaccount's id as the parent's owner: 404, as an organisation that does
// not exist, never the subaccount's 403.
func TestSubaccountOtherOrganisation404(t *testing.T) {
	w := newSubWorld(t, switchboard.FundingShared, 0)
	stranger := w.a.signup("stranger@example.com", "Stranger")
	for _, org := range []int64{w.parent.org, stranger.org} {
		for _, p := range []string{"", "credits", "members", "audit", "invoices", "settings"} {
			wantStatus(t, w.sub.get(path(org, p)), http.StatusNotFound)
		}
		wantStatus(t, w.sub.post(path(org, "members"), url.Values{"email": {"friend@example.com"}, "role": {"sender"}}), http.StatusNotFound)
		wantStatus(t, w.sub.post(path(org, "credits"), url.Values{"amount": {"50"}}), http.StatusNotFound)
	}
	// The parent is not a member of its subaccount: its pages are the
	// parent's Subaccounts page's business, not theirs to open.
	for _, p := range []string{"", "credits", "audit", "settings"} {
		res := w.parent.get(path(w.sub.org, p))
		wantStatus(t, res, http.StatusNotFound)
		wantNotContains(t, res, "Acme Estonia")
	}
	if n := w.a.rows(`SELECT COUNT(*) FROM invoices`); n != 0 {
		t.Errorf("%d invoices", n)
	}
}

// subaccountRefusedRoute says whether a subaccount refuses route r to its
// owner, and the section whose reason the 403 gives, written out by hand:
// every route of the sections a subaccount refuses (Members, Invoices,
// Subaccounts, Ownership), leaving, and adding credits; but its audit log,
// which its owner reads.
func subaccountRefusedRoute(r handlers.OrgRoute) (switchboard.Permission, bool) {
	switch r.Method + " " + r.Path {
	case "GET /orgs/:org/audit":
		return "", false
	case "POST /orgs/:org/credits":
		return switchboard.PermCredits, true
	case "GET /orgs/:org/leave", "POST /orgs/:org/leave":
		// The owner may not leave: the subaccount would have nobody.
		return switchboard.PermOwnership, true
	}
	switch r.Permission {
	case "members", "invoices", "subaccounts", "ownership":
		return r.Permission, true
	}
	return "", false
}

// TestSubaccountOwnerWalk opens every route inside an organisation as the
// owner of a subaccount: the refused ones answer 403 with the reason, and
// every other one anything but 403. A new route of a refused section that
// forgets the rule fails here, and so does one that refuses too much.
func TestSubaccountOwnerWalk(t *testing.T) {
	w := newSubWorld(t, switchboard.FundingBudget, 500_000)
	// Ids that belong to nobody: the refused routes refuse before looking,
	// the others answer 404 or their form's 422.
	f := orgFixture{org: w.sub.org, target: w.sub.profile, invitation: 999_999, role: 999_999, invoice: "INV-2026-999999", link: 999_999,
		campaign: 999_999, imp: 999_999, contact: 999_999, group: 999_999, key: 999_999}
	refused := 0
	for _, r := range w.a.srv.OrgRoutes() {
		route := r.Method + " " + r.Path
		t.Run(route, func(t *testing.T) {
			u := fillPath(r.Path, f)
			var res *response
			if r.Method == http.MethodGet {
				res = w.sub.get(u)
			} else {
				form := url.Values{}
				if rc, ok := routeCases[route]; ok && rc.form != nil && rc.upload == nil {
					form = rc.form(f)
				}
				res = w.sub.post(u, form)
			}
			if perm, ok := subaccountRefusedRoute(r); ok {
				refused++
				wantRefusal(t, res, perm)
				return
			}
			if res.status == http.StatusForbidden || res.status >= 500 {
				t.Fatalf("the subaccount's owner may use %s but got %d\n%s", route, res.status, res.body)
			}
		})
	}
	if refused < 20 {
		t.Errorf("only %d routes refused: the walk did not see the sections it should", refused)
	}
	if n := w.a.rows(`SELECT COUNT(*) FROM invoices`); n != 0 {
		t.Errorf("%d invoices after the walk", n)
	}
	if n := w.a.rows(`SELECT COUNT(*) FROM members WHERE org_id = ?`, w.sub.org); n != 1 {
		t.Errorf("the subaccount has %d members after the walk, want 1", n)
	}
}

// TestSubaccountNavigationAndDetails checks what the subaccount's owner is
// shown: no link to a refused section, the audit log and Credits kept, and
// an Organisation details page without transfer, delete or the members
// setting.
func TestSubaccountNavigationAndDetails(t *testing.T) {
	w := newSubWorld(t, switchboard.FundingShared, 0)
	sub := w.sub.org
	for _, p := range []string{"", "credits", "settings", "audit", "contacts"} {
		res := w.sub.get(path(sub, p))
		wantStatus(t, res, http.StatusOK)
		for _, refused := range []string{"members", "roles", "invoices", "subaccounts", "leave"} {
			wantNotContains(t, res, `href="`+path(sub, refused)+`"`)
		}
		wantContains(t, res, `href="`+path(sub, "audit")+`"`, `href="`+path(sub, "credits")+`"`, "Subaccount of Acme")
	}
	wantContains(t, w.sub.get("/orgs"), "Owner · Subaccount of Acme")
	res := w.sub.get(path(sub, "settings"))
	wantContains(t, res, "Company information", html.EscapeString(switchboard.SubaccountRefusal(switchboard.PermOwnership, "Acme")))
	wantNotContains(t, res, "Transfer ownership", "Delete organisation", "Only the owner manages members", path(sub, "transfer"), path(sub, "delete"), "members-policy")
	// The parent, an ordinary organisation, keeps all three.
	wantContains(t, w.parent.get(path(w.parent.org, "settings")), "Transfer ownership", "Delete organisation", "Only the owner manages members")
	wantContains(t, w.parent.get(path(w.parent.org, "")), `href="`+path(w.parent.org, "members")+`"`, `href="`+path(w.parent.org, "audit")+`"`)
}

// TestSubaccountAuditLog: the subaccount's owner reads its audit log,
// with their own actions, although Members is refused there; a Sender of
// an ordinary organisation still does not.
func TestSubaccountAuditLog(t *testing.T) {
	w := newSubWorld(t, switchboard.FundingShared, 0)
	if res := w.sub.post(path(w.sub.org, "api-keys"), url.Values{"name": {"Website of Estonia"}}); res.status != http.StatusOK && res.status != http.StatusSeeOther {
		t.Fatalf("create an API key: %d\n%s", res.status, res.body)
	}
	res := w.sub.get(path(w.sub.org, "audit"))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "API key created", "Website of Estonia", "First sub")

	link := w.a.invite(w.parent, w.parent.org, "sender@example.com", "sender")
	sender := w.a.join(link, "sender@example.com")
	res = sender.get(path(w.parent.org, "audit"))
	wantStatus(t, res, http.StatusForbidden)
	wantContains(t, res, "Your role here, Sender")

	// A second member of a subaccount (none can join one; written behind
	// the store's back) is not its owner: the audit log is refused, with
	// the subaccount's reason.
	if _, err := w.a.raw().ExecContext(context.Background(), `INSERT INTO members (org_id, profile_id, role, joined_at, sort_name) VALUES (?, ?, 'administrator', 0, 'sender')`,
		w.sub.org, sender.profile); err != nil {
		t.Fatal(err)
	}
	wantRefusal(t, sender.get(path(w.sub.org, "audit")), switchboard.PermMembers)
	wantStatus(t, sender.get(path(w.sub.org, "credits")), http.StatusOK)
}

// TestSubaccountCreditsBudget walks the Credits page and the dashboard of
// a budgeted subaccount: who funds it, the budget left, the parent's
// balance when it is lower, its own movements, no Add credits; and the
// suspension.
func TestSubaccountCreditsBudget(t *testing.T) {
	w := newSubWorld(t, switchboard.FundingBudget, 500_000) // €50.00
	w.spend(t, 2, 500)                                      // €0.10
	credits := path(w.sub.org, "credits")
	for _, p := range []string{credits, path(w.sub.org, "")} {
		res := w.sub.get(p)
		wantStatus(t, res, http.StatusOK)
		wantContains(t, res, "Funded by Acme", "€49.90 left of a budget of €50.00")
		wantNotContains(t, res, "Add credits", `name="amount"`, `id="balance"`, "lower than the budget left", "has suspended")
	}
	res := w.sub.get(credits)
	wantContains(t, res, "2 messages from Acme Estonia", "-€0.10", "€49.90", html.EscapeString(switchboard.SubaccountRefusal(switchboard.PermCredits, "Acme")))
	wantContains(t, w.sub.get(path(w.sub.org, "")), "Spent in", "€0.10", "See who funds this subaccount")

	// The parent's balance falls below the budget left: it limits the
	// sends, and the page says so.
	w.a.fundOrg(w.parent.org, 200_000, "EE") // €20.00
	for _, p := range []string{credits, path(w.sub.org, "")} {
		res := w.sub.get(p)
		wantContains(t, res, "€49.90 left of a budget of €50.00",
			"The balance of Acme, which funds this subaccount, is €20.00, lower than the budget left: you can send for at most €20.00 until Acme adds credits.")
	}

	w.setStatus(t, switchboard.SubaccountSuspended)
	for _, p := range []string{credits, path(w.sub.org, "")} {
		res := w.sub.get(p)
		wantStatus(t, res, http.StatusOK)
		wantContains(t, res, "Acme has suspended this subaccount: sending is paused until they resume it.")
	}
	w.setStatus(t, switchboard.SubaccountClosed)
	wantContains(t, w.sub.get(credits), "Acme has closed this subaccount: it sends nothing.")

	// The parent's own Credits page is an ordinary one.
	res = w.parent.get(path(w.parent.org, "credits"))
	wantContains(t, res, `id="balance"`, "Add credits", `name="amount"`, "Subaccount Acme Estonia: 2 messages from Acme Estonia")
	wantNotContains(t, res, "Funded by")
}

// TestSubaccountCreditsShared: a subaccount that shares its parent's
// balance shows that balance as what it can spend.
func TestSubaccountCreditsShared(t *testing.T) {
	w := newSubWorld(t, switchboard.FundingShared, 0)
	w.spend(t, 3, 500) // €0.15
	for _, p := range []string{path(w.sub.org, "credits"), path(w.sub.org, "")} {
		res := w.sub.get(p)
		wantStatus(t, res, http.StatusOK)
		wantContains(t, res, "Funded by Acme", "€99.85 available", "This subaccount shares the balance of Acme")
		wantNotContains(t, res, "left of a budget", "Add credits", `name="amount"`, `id="balance"`)
	}
	wantContains(t, w.sub.get(path(w.sub.org, "credits")), "3 messages from Acme Estonia", "-€0.15", "€99.85")
}

// TestSubaccountForgedAddCredits posts Add credits as the subaccount's
// owner with a valid CSRF token, on both payment settings' paths: 403
// with the reason, no invoice, no credit, no audit line; and the store
// refuses it as well, for any other way in.
func TestSubaccountForgedAddCredits(t *testing.T) {
	w := newSubWorld(t, switchboard.FundingBudget, 500_000)
	before := w.tally()
	wantRefusal(t, w.sub.post(path(w.sub.org, "credits"), url.Values{"amount": {"50"}}), switchboard.PermCredits)
	wantRefusal(t, w.sub.post(path(w.sub.org, "credits"), url.Values{"amount": {"nonsense"}}), switchboard.PermCredits)
	if after := w.tally(); !mapsEqual(before, after) {
		t.Errorf("a forged Add credits wrote something: before %v, after %v", before, after)
	}
	if n := w.a.rows(`SELECT COUNT(*) FROM audit_log WHERE org_id = ? AND action LIKE 'credits%'`, w.sub.org); n != 0 {
		t.Errorf("%d audit lines of credits", n)
	}
	for _, payNow := range []bool{false, true} {
		_, err := w.a.db.CreateInvoice(context.Background(), switchboard.Actor{ProfileID: w.sub.profile},
			store.NewInvoice{OrgID: w.sub.org, Amount: 500_000, Currency: "EUR", PayNow: payNow})
		if switchboard.ErrorCode(err) != switchboard.EFORBIDDEN || switchboard.ErrorMessage(err) != switchboard.SubaccountRefusal(switchboard.PermCredits, "Acme") {
			t.Errorf("CreateInvoice for a subaccount (pay now %v): %v", payNow, err)
		}
	}
	if n := w.a.rows(`SELECT COUNT(*) FROM invoices`); n != 0 {
		t.Errorf("%d invoices", n)
	}
	// The parent still adds credits.
	wantStatus(t, w.parent.post(path(w.parent.org, "credits"), url.Values{"amount": {"50"}}), http.StatusSeeOther)
	if n := w.a.rows(`SELECT COUNT(*) FROM invoices WHERE org_id = ?`, w.parent.org); n != 1 {
		t.Errorf("the parent's invoices: %d, want 1", n)
	}
}

// TestSubaccountAPIBalance reads GET /api/v1/balance with a key of the
// subaccount: what it can spend now, the lower of its two limits for a
// budget, the parent's balance when shared, nothing while suspended; the
// parent's key reads the parent's balance.
func TestSubaccountAPIBalance(t *testing.T) {
	balance := func(k *keyClient) string {
		t.Helper()
		res := k.call(http.MethodGet, "/balance", "")
		wantStatus(t, res, http.StatusOK)
		return res.body
	}
	t.Run("budget", func(t *testing.T) {
		w := newSubWorld(t, switchboard.FundingBudget, 500_000)
		key, parentKey := newKeyClient(t, w.a, w.sub.org), newKeyClient(t, w.a, w.parent.org)
		w.spend(t, 2, 500)
		if got := balance(key); got != `{"balance":"49.9000","currency":"EUR"}` {
			t.Errorf("budget left €49.90 under a parent's €99.90: %s", got)
		}
		if got := balance(parentKey); got != `{"balance":"99.9000","currency":"EUR"}` {
			t.Errorf("the parent's balance: %s", got)
		}
		w.a.fundOrg(w.parent.org, 123_400, "EE")
		if got := balance(key); got != `{"balance":"12.3400","currency":"EUR"}` {
			t.Errorf("budget left €49.90 over a parent's €12.34: %s", got)
		}
		w.setStatus(t, switchboard.SubaccountSuspended)
		if got := balance(key); got != `{"balance":"0.0000","currency":"EUR"}` {
			t.Errorf("suspended: %s", got)
		}
	})
	t.Run("shared", func(t *testing.T) {
		w := newSubWorld(t, switchboard.FundingShared, 0)
		key := newKeyClient(t, w.a, w.sub.org)
		w.spend(t, 3, 500)
		if got := balance(key); got != `{"balance":"99.8500","currency":"EUR"}` {
			t.Errorf("shared: %s", got)
		}
	})
}
