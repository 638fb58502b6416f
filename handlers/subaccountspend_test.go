package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard"
)

// The spending side of subaccounts through the real server (issue 12
// point 3): the Send SMS page, the campaign form and its start, the API;
// and sends racing on both engines.

// makeSubaccount makes org (an organisation its owner signed up with) a
// subaccount of parent by a raw row, as the parent's Subaccounts page will.
func (a *app) makeSubaccount(parent, org int64, funding switchboard.Funding, budget switchboard.Money, status switchboard.SubaccountStatus) {
	a.t.Helper()
	if _, err := a.raw().ExecContext(context.Background(), `INSERT INTO subaccounts (org_id, parent_id, email, funding, budget, status, created_at)
		VALUES (?, ?, 'sub@example.com', ?, ?, ?, 0)`, org, parent, string(funding), int64(budget), string(status)); err != nil {
		a.t.Fatal(err)
	}
	// Numbers without a country code are Estonian, as the parent's.
	if _, err := a.raw().ExecContext(context.Background(), `UPDATE organisations SET country = 'EE' WHERE id = ?`, org); err != nil {
		a.t.Fatal(err)
	}
}

// setStatus suspends, resumes or closes a subaccount behind the store's
// back.
func (a *app) setStatus(org int64, status switchboard.SubaccountStatus) {
	a.t.Helper()
	if _, err := a.raw().ExecContext(context.Background(), `UPDATE subaccounts SET status = ? WHERE org_id = ?`, string(status), org); err != nil {
		a.t.Fatal(err)
	}
}

// subaccountWorld is Acme (the parent, €1.00) and its subaccount Acme
// Estonia, owned by sub, with funding and budget.
func subaccountWorld(t *testing.T, funding switchboard.Funding, budget switchboard.Money) (*app, *person, *person) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	a.fundOrg(owner.org, 10_000, "EE")
	sub := a.signup("sub@example.com", "Acme Estonia")
	a.makeSubaccount(owner.org, sub.org, funding, budget, switchboard.SubaccountActive)
	return a, owner, sub
}

// money is the parent's balance and the subaccount's spent, read behind
// the store's back.
func (a *app) money(parent, sub int64) (balance, spent int) {
	a.t.Helper()
	return a.rows(`SELECT balance FROM organisations WHERE id = ?`, parent), a.rows(`SELECT spent FROM subaccounts WHERE org_id = ?`, sub)
}

const suspendedSentence = "Acme has suspended this subaccount: sending is paused until they resume it."

// TestSubaccountSendPage: the Send SMS page of a budgeted subaccount shows
// the budget left (head and preview, the live count too); a send past the
// budget, or past the parent's balance, is refused on the form with its
// sentence (422, values kept); while suspended the page says so before
// anyone types, and a send is refused with the sentence (403, values
// kept), nothing debited; resumed, it sends and debits the parent.
func TestSubaccountSendPage(t *testing.T) {
	a, owner, sub := subaccountWorld(t, switchboard.FundingBudget, 1_500)
	newPage := path(sub.org, "messages/new")
	res := sub.get(newPage)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, `<p class="badge">Budget left €0.15</p>`)
	wantNotContains(t, res, "send-paused")

	form := url.Values{"from": {"Switchboard"}, "to": {"55500001\n55500002"}, "message": {"Hello from Tallinn"}, "action": {"preview"}}
	res = sub.post(newPage, form)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "<dt>Total price</dt><dd>€0.10</dd><dt>Budget left</dt><dd>€0.15</dd>")
	res = sub.post(path(sub.org, "messages/preview"), form)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "<dt>Budget left</dt><dd>€0.15</dd>")

	// Past the budget: 4 × €0.05 > €0.15.
	form.Set("to", "55500001\n55500002\n55500003\n55500004")
	form.Set("action", "send")
	res = sub.post(newPage, form)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if !strings.Contains(unescaped(res), `<div class="alert" role="alert">The budget left of €0.15 does not cover this send of €0.20.</div>`) {
		t.Fatalf("no budget sentence on the form\n%s", res.body)
	}
	wantContains(t, res, "55500001\n55500002\n55500003\n55500004</textarea>", "Hello from Tallinn</textarea>")

	// Past the parent's balance: €0.05 left there.
	a.fundOrg(owner.org, 500, "EE")
	form.Set("to", "55500001\n55500002")
	res = sub.post(newPage, form)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if !strings.Contains(unescaped(res), "The balance of Acme, which funds this subaccount, is €0.05 and does not cover this send of €0.10.") {
		t.Fatalf("no parent's balance sentence\n%s", res.body)
	}
	if n := a.rows(`SELECT COUNT(*) FROM messages`) + a.rows(`SELECT COUNT(*) FROM ledger`); n != 0 {
		t.Fatalf("refused sends left %d rows", n)
	}

	// Suspended.
	a.fundOrg(owner.org, 10_000, "EE")
	a.setStatus(sub.org, switchboard.SubaccountSuspended)
	res = sub.get(newPage)
	wantStatus(t, res, http.StatusOK)
	if !strings.Contains(unescaped(res), `<div class="alert send-paused" role="status">`+suspendedSentence+`</div>`) {
		t.Fatalf("no notice at the top of a suspended subaccount's page\n%s", res.body)
	}
	res = sub.post(newPage, form)
	wantStatus(t, res, http.StatusForbidden)
	if !strings.Contains(unescaped(res), `<div class="alert" role="alert">`+suspendedSentence+`</div>`) {
		t.Fatalf("no suspended sentence on the form\n%s", res.body)
	}
	wantContains(t, res, "55500001\n55500002</textarea>", "Hello from Tallinn</textarea>", `<label for="message">Message</label>`)
	if b, s := a.money(owner.org, sub.org); b != 10_000 || s != 0 || a.rows(`SELECT COUNT(*) FROM messages`) != 0 {
		t.Fatalf("a suspended send debited: balance %d, spent %d", b, s)
	}

	// Resumed: it sends, and the parent pays.
	a.setStatus(sub.org, switchboard.SubaccountActive)
	res = sub.post(newPage, form)
	wantStatus(t, res, http.StatusSeeOther)
	if b, s := a.money(owner.org, sub.org); b != 9_000 || s != 1_000 {
		t.Errorf("after a send of €0.10: parent's balance %d, spent %d; want 9000, 1000", b, s)
	}
	res = sub.get(newPage)
	wantContains(t, res, `<p class="badge">Budget left €0.05</p>`)
	// The parent's own page shows its own balance, as before.
	res = owner.get(path(owner.org, "messages/new"))
	wantContains(t, res, `<p class="badge">Balance €0.90</p>`)
}

// TestSubaccountSharedSendPage: a subaccount that shares the balance
// shows its parent's, named, and no budget beside the cost.
func TestSubaccountSharedSendPage(t *testing.T) {
	_, owner, sub := subaccountWorld(t, switchboard.FundingShared, 0)
	res := sub.get(path(sub.org, "messages/new"))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, `<p class="badge">Balance of Acme €1.00</p>`)
	res = sub.post(path(sub.org, "messages/new"), url.Values{"from": {"Switchboard"}, "to": {"55500001"}, "message": {"Hi"}, "action": {"preview"}})
	wantNotContains(t, res, "Budget left")
	res = sub.post(path(sub.org, "messages/new"), url.Values{"from": {"Switchboard"}, "to": {"55500001"}, "message": {"Hi"}, "action": {"send"}})
	wantStatus(t, res, http.StatusSeeOther)
	res = owner.get(path(owner.org, "messages/new"))
	wantContains(t, res, `<p class="badge">Balance €0.95</p>`)
}

// TestSubaccountCampaigns: while suspended, the campaign form says so and
// scheduling is refused on the form with the sentence (403, values kept);
// a campaign scheduled before the suspension fails at its start with the
// sentence as its reason, nothing debited; resumed, a campaign past the
// budget fails with the budget's sentence, and one within it is sent.
func TestSubaccountCampaigns(t *testing.T) {
	a, scheduler := campaignApp(t)
	owner := a.signup("owner@example.com", "Acme")
	a.fundOrg(owner.org, 10_000, "EE")
	sub := a.signup("sub@example.com", "Acme Estonia")
	a.makeSubaccount(owner.org, sub.org, switchboard.FundingBudget, 1_000, switchboard.SubaccountActive)
	group := a.campaignGroup(sub.org, "Tallinn", "+37255500001", "+37255500002")
	soon := time.Now().UTC().Add(2 * time.Minute).Format("2006-01-02T15:04")
	res := sub.post(path(sub.org, "campaigns/new"), campaignValues("Before", soon, group))
	early := campaignID(t, res)

	a.setStatus(sub.org, switchboard.SubaccountSuspended)
	res = sub.get(path(sub.org, "campaigns/new"))
	wantStatus(t, res, http.StatusOK)
	if !strings.Contains(unescaped(res), `<div class="alert send-paused" role="status">`+suspendedSentence+`</div>`) {
		t.Fatalf("no notice on the campaign form\n%s", res.body)
	}
	res = sub.post(path(sub.org, "campaigns/new"), campaignValues("While suspended", "", group))
	wantStatus(t, res, http.StatusForbidden)
	if !strings.Contains(unescaped(res), `<div class="alert" role="alert">`+suspendedSentence+`</div>`) {
		t.Fatalf("no sentence on the refused campaign form\n%s", res.body)
	}
	wantContains(t, res, `value="While suspended"`)
	if n := a.rows(`SELECT COUNT(*) FROM campaigns WHERE org_id = ?`, sub.org); n != 1 {
		t.Fatalf("%d campaigns, want only the one from before", n)
	}

	// The one from before is due: it fails with the sentence.
	if _, err := a.raw().ExecContext(context.Background(), `UPDATE campaigns SET send_at = 0 WHERE id = ?`, early); err != nil {
		t.Fatal(err)
	}
	scheduler.Notify()
	cp := waitCampaign(t, a, sub.org, early)
	if cp.Status != switchboard.CampaignFailed || cp.Reason != suspendedSentence {
		t.Fatalf("campaign started while suspended: %s %q", cp.Status, cp.Reason)
	}
	res = sub.get(path(sub.org, "campaigns/"+itoa(early)))
	if !strings.Contains(unescaped(res), suspendedSentence) {
		t.Errorf("the campaign's page does not say why it failed\n%s", res.body)
	}
	if b, s := a.money(owner.org, sub.org); b != 10_000 || s != 0 {
		t.Fatalf("a refused campaign debited: balance %d, spent %d", b, s)
	}

	// Resumed: past the budget (3 × €0.05 > €0.10), then within it.
	a.setStatus(sub.org, switchboard.SubaccountActive)
	big := a.campaignGroup(sub.org, "Everyone", "+37255500001", "+37255500002", "+37255500003")
	id := campaignID(t, sub.post(path(sub.org, "campaigns/new"), campaignValues("Too big", "", big)))
	if cp := waitCampaign(t, a, sub.org, id); cp.Status != switchboard.CampaignFailed || cp.Reason != "The budget left of €0.10 does not cover this send of €0.15." {
		t.Fatalf("campaign past the budget: %s %q", cp.Status, cp.Reason)
	}
	id = campaignID(t, sub.post(path(sub.org, "campaigns/new"), campaignValues("Fits", "", group)))
	if cp := waitCampaign(t, a, sub.org, id); cp.Status != switchboard.CampaignSending && cp.Status != switchboard.CampaignSent {
		t.Fatalf("campaign within the budget: %s %q", cp.Status, cp.Reason)
	}
	if b, s := a.money(owner.org, sub.org); b != 9_000 || s != 1_000 {
		t.Errorf("after the campaign: parent's balance %d, spent %d; want 9000, 1000", b, s)
	}
}

// waitCampaign waits (20 s at most) until the scheduler has started or
// failed the campaign, and returns it.
func waitCampaign(t *testing.T, a *app, org, id int64) *switchboard.Campaign {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		cp, err := a.db.FindCampaign(context.Background(), org, id)
		if err != nil {
			t.Fatal(err)
		}
		if cp.Status != switchboard.CampaignScheduled {
			return cp
		}
		if time.Now().After(deadline) {
			t.Fatalf("the campaign is still %s", cp.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSubaccountAPISend: POST /api/v1/messages of a suspended subaccount
// is a 403 problem with the sentence; past its budget or its parent's
// balance a 402 with theirs; nothing is queued or kept under the
// Idempotency-Key, so the same request sends once resumed.
func TestSubaccountAPISend(t *testing.T) {
	a, owner, sub := subaccountWorld(t, switchboard.FundingBudget, 1_000)
	api := a.newMessagesAPI(sub.org, "Shop")
	body := `{"to": ["+37255500001", "+37255500002"], "from": "Switchboard", "text": "Hi"}`

	a.setStatus(sub.org, switchboard.SubaccountSuspended)
	p := wantProblemNaming(t, api.send(body, "Idempotency-Key", "sub-1"), http.StatusForbidden)
	if p.Detail != suspendedSentence {
		t.Errorf("detail %q", p.Detail)
	}
	a.setStatus(sub.org, switchboard.SubaccountActive)
	p = wantProblemNaming(t, api.send(`{"to": ["+37255500001", "+37255500002", "+37255500003"], "from": "Switchboard", "text": "Hi"}`, "Idempotency-Key", "sub-2"), http.StatusPaymentRequired)
	if p.Detail != "The budget left of €0.10 does not cover this send of €0.15." {
		t.Errorf("detail %q", p.Detail)
	}
	a.fundOrg(owner.org, 900, "EE")
	p = wantProblemNaming(t, api.send(body, "Idempotency-Key", "sub-1"), http.StatusPaymentRequired)
	if p.Detail != "The balance of Acme, which funds this subaccount, is €0.09 and does not cover this send of €0.10." {
		t.Errorf("detail %q", p.Detail)
	}
	if n := a.rows(`SELECT COUNT(*) FROM messages`) + a.rows(`SELECT COUNT(*) FROM message_queue`) + a.rows(`SELECT COUNT(*) FROM api_idempotency`) + a.rows(`SELECT COUNT(*) FROM ledger`); n != 0 {
		t.Fatalf("refused API sends left %d rows", n)
	}
	a.fundOrg(owner.org, 10_000, "EE")
	res := api.send(body, "Idempotency-Key", "sub-1")
	wantStatus(t, res, http.StatusAccepted)
	if res.header.Get("Idempotent-Replayed") != "" {
		t.Error("the first accepted send is marked as replayed")
	}
	if b, s := a.money(owner.org, sub.org); b != 9_000 || s != 1_000 {
		t.Errorf("after the API send: parent's balance %d, spent %d; want 9000, 1000", b, s)
	}
}

// TestSubaccountBudgetRaceHTTP: 50 Send SMS pages of a budgeted subaccount
// posted at once, whose budget covers exactly 17: exactly 17 are queued
// (303) and 33 refused on the form with the budget's sentence (422); the
// parent's balance falls by exactly the budget, the ledger lines of both
// sides and the day's usage say the same.
func TestSubaccountBudgetRaceHTTP(t *testing.T) {
	const price, covered, sends = 500, 17, 50
	a, owner, sub := subaccountWorld(t, switchboard.FundingBudget, price*covered)
	a.fundOrg(owner.org, 1_000_000, "EE")
	token := sub.csrf()
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	begin := make(chan struct{})
	for i := range sends {
		wg.Go(func() {
			<-begin
			res := sub.post(path(sub.org, "messages/new"), url.Values{"_csrf": {token}, "from": {"Switchboard"}, "to": {fmt.Sprintf("+3725550%04d", i)}, "message": {"Hi"}, "action": {"send"}})
			mu.Lock()
			defer mu.Unlock()
			statuses[res.status]++
			if res.status == http.StatusUnprocessableEntity && !strings.Contains(unescaped(res), "The budget left of €0.00 does not cover this send of €0.05.") {
				t.Errorf("a refusal without the budget's sentence\n%s", res.body)
			}
		})
	}
	close(begin)
	wg.Wait()
	if statuses[http.StatusSeeOther] != covered || statuses[http.StatusUnprocessableEntity] != sends-covered {
		t.Fatalf("statuses %v, want %d × 303 and %d × 422", statuses, covered, sends-covered)
	}
	wantSubaccountMoney(t, a, owner.org, sub.org, 1_000_000, covered, price*covered)
}

// wantSubaccountMoney checks the money of a subaccount that sent n
// messages costing spent in all, its parent having started at start: the
// parent's balance, spent, the ledger lines of both sides, the day's usage.
func wantSubaccountMoney(t *testing.T, a *app, parent, sub int64, start, n, spent int) {
	t.Helper()
	if b, s := a.money(parent, sub); b != start-spent || s != spent {
		t.Errorf("parent's balance %d, spent %d; want %d, %d", b, s, start-spent, spent)
	}
	if l := a.rows(`SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE org_id = ?`, sub); l != -spent {
		t.Errorf("the subaccount's ledger sums to %d, want %d", l, -spent)
	}
	if l := a.rows(`SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE org_id = ? AND description LIKE 'Subaccount Acme Estonia: %'`, parent); l != -spent {
		t.Errorf("the parent's lines of the subaccount sum to %d, want %d", l, -spent)
	}
	if c := a.rows(`SELECT COUNT(*) FROM messages WHERE org_id = ?`, sub); c != n {
		t.Errorf("%d messages, want %d", c, n)
	}
	if u := a.rows(`SELECT COALESCE(SUM(spent), 0) FROM usage_daily WHERE org_id = ?`, sub); u != spent {
		t.Errorf("usage_daily says %d spent, want %d", u, spent)
	}
	if u := a.rows(`SELECT COALESCE(SUM(messages), 0) FROM usage_daily WHERE org_id = ?`, sub); u != n {
		t.Errorf("usage_daily says %d messages, want %d", u, n)
	}
}

// TestSubaccountAPIAndPageRace: API sends (SQLite's group commit) racing
// Send SMS pages of the same budgeted subaccount, and the parent's own
// sends, on a budget for exactly 10: exactly 10 of the subaccount's go
// through, whichever way, and the parent's balance falls by those and the
// parent's own, never below zero.
func TestSubaccountAPIAndPageRace(t *testing.T) {
	const price, covered = 500, 10
	a, owner, sub := subaccountWorld(t, switchboard.FundingBudget, price*covered)
	a.fundOrg(owner.org, price*20, "EE")
	api := a.newMessagesAPI(sub.org, "Shop")
	token, ownerToken := sub.csrf(), owner.csrf()
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[string]int{}
	begin := make(chan struct{})
	for i := range 3 * covered {
		to := fmt.Sprintf("+3725550%04d", i)
		wg.Go(func() {
			<-begin
			var res *response
			kind := "page"
			switch i % 3 {
			case 0:
				kind, res = "api", api.send(`{"to": "`+to+`", "from": "Switchboard", "text": "Hi"}`, "Idempotency-Key", "race-"+to)
			case 1:
				res = sub.post(path(sub.org, "messages/new"), url.Values{"_csrf": {token}, "from": {"Switchboard"}, "to": {to}, "message": {"Hi"}, "action": {"send"}})
			default:
				kind, res = "parent", owner.post(path(owner.org, "messages/new"), url.Values{"_csrf": {ownerToken}, "from": {"Switchboard"}, "to": {to}, "message": {"Hi"}, "action": {"send"}})
			}
			mu.Lock()
			defer mu.Unlock()
			statuses[fmt.Sprintf("%s %d", kind, res.status)]++
		})
	}
	close(begin)
	wg.Wait()
	t.Logf("statuses: %v", statuses)
	for k := range statuses {
		switch k {
		case "api 202", "api 402", "page 303", "page 422", "parent 303", "parent 422":
		default:
			t.Errorf("unexpected %s", k)
		}
	}
	subSent := statuses["api 202"] + statuses["page 303"]
	parentSent := statuses["parent 303"]
	// The parent's balance covers 20, the subaccount's budget 10 of them:
	// 20 sends of the subaccount and 10 of the parent were tried, so the
	// subaccount sends its 10 unless the parent's balance ran out first.
	if subSent > covered || subSent+parentSent > 20 {
		t.Fatalf("%d sends of the subaccount and %d of the parent went through", subSent, parentSent)
	}
	if subSent+parentSent < 20 && subSent < covered {
		t.Errorf("money was left (%d and %d sent) yet sends were refused", subSent, parentSent)
	}
	if n := a.rows(`SELECT COUNT(*) FROM messages WHERE org_id = ?`, owner.org); n != parentSent {
		t.Errorf("%d messages of the parent, want %d", n, parentSent)
	}
	if n := a.rows(`SELECT COUNT(*) FROM api_idempotency WHERE org_id = ?`, sub.org); n != statuses["api 202"] {
		t.Errorf("%d idempotency keys kept, want %d (the accepted API sends)", n, statuses["api 202"])
	}
	b, s := a.money(owner.org, sub.org)
	if b < 0 || b != price*20-price*(subSent+parentSent) || s != price*subSent {
		t.Errorf("parent's balance %d, spent %d; want %d, %d", b, s, price*20-price*(subSent+parentSent), price*subSent)
	}
	wantSubaccountMoney(t, a, owner.org, sub.org, price*20-price*parentSent, subSent, price*subSent)
}

// TestParentCannotSendAsSubaccount: the parent funds its subaccount but is
// no member of it: its owner's Send SMS and campaign pages of the
// subaccount's id answer 404, as another organisation's do, and nothing is
// sent or debited.
func TestParentCannotSendAsSubaccount(t *testing.T) {
	a, owner, sub := subaccountWorld(t, switchboard.FundingShared, 0)
	send := url.Values{"from": {"Switchboard"}, "to": {"55500001"}, "message": {"Hi"}, "action": {"send"}}
	wantStatus(t, owner.get(path(sub.org, "messages/new")), http.StatusNotFound)
	wantStatus(t, owner.post(path(sub.org, "messages/new"), send), http.StatusNotFound)
	wantStatus(t, owner.post(path(sub.org, "campaigns/new"), campaignValues("Theirs", "")), http.StatusNotFound)
	// Nor can the subaccount send from its parent's pages.
	wantStatus(t, sub.post(path(owner.org, "messages/new"), send), http.StatusNotFound)
	if b, s := a.money(owner.org, sub.org); b != 10_000 || s != 0 || a.rows(`SELECT COUNT(*) FROM messages`) != 0 {
		t.Errorf("balance %d, spent %d after refused sends", b, s)
	}
}
