package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"switchboard"
	"switchboard/mail/mailtest"
)

// subaccountForm is the create form of the Subaccounts page.
func subaccountForm(email, name, funding, budget string) url.Values {
	return url.Values{"email": {email}, "name": {name}, "funding": {funding}, "budget": {budget}}
}

// createSubaccount creates a subaccount as p through the page and returns
// its id and its invitation link's path.
func (a *app) createSubaccount(p *person, email, name string) (int64, string) {
	a.t.Helper()
	res := p.post(path(p.org, "subaccounts"), subaccountForm(email, name, "budget", "100"))
	if res.status != http.StatusSeeOther {
		a.t.Fatalf("create subaccount %s: %d\n%s", email, res.status, res.body)
	}
	var id int64
	raw := a.raw()
	if err := raw.QueryRow(`SELECT org_id FROM subaccounts WHERE parent_id = ? AND email = ? AND status <> 'closed'`, p.org, email).Scan(&id); err != nil {
		a.t.Fatal(err)
	}
	return id, a.outboxLink(email, "/invitations/")
}

// subStatus reads a subaccount's status behind the store's back.
func (a *app) subStatus(id int64) string {
	a.t.Helper()
	var status string
	if err := a.raw().QueryRow(`SELECT status FROM subaccounts WHERE org_id = ?`, id).Scan(&status); err != nil {
		a.t.Fatal(err)
	}
	return status
}

// auditCount counts the organisation's audit lines of action whose detail
// holds detail.
func (a *app) auditCount(org int64, action, detail string) int {
	a.t.Helper()
	var n int
	if err := a.raw().QueryRow(`SELECT COUNT(*) FROM audit_log WHERE org_id = ? AND action = ? AND detail LIKE ?`, org, action, "%"+detail+"%").Scan(&n); err != nil {
		a.t.Fatal(err)
	}
	return n
}

// TestSubaccountCreateAndSignUp walks point 1 of issue 12 end to end on
// the pages: the parent creates a budgeted subaccount, the invitation
// email goes through a real SMTP server with the link and says what is
// offered, the invitee signs up from it and owns the subaccount with no
// organisation of their own, sees it marked as a subaccount of the parent,
// and is not a member of the parent.
func TestSubaccountCreateAndSignUp(t *testing.T) {
	a := newApp(t)
	worker, smtp := a.mailer(t)
	owner := a.signup("owner@example.com", "Acme")

	res := owner.post(path(owner.org, "subaccounts"), subaccountForm(" Estonia@Example.com ", "Acme Estonia", "budget", "100"))
	wantStatus(t, res, http.StatusSeeOther)
	page := owner.get(res.location)
	wantStatus(t, page, http.StatusOK)
	wantContains(t, page, "Invitation sent to estonia@example.com", "Acme Estonia", "estonia@example.com", "Budget of €100.00", "€100.00 left", "Pending")

	if n, err := worker.Flush(context.Background()); err != nil || n != 1 {
		t.Fatalf("flush: %d, %v", n, err)
	}
	msg := smtp.WaitForMessage(t, "estonia@example.com", 5*time.Second)
	for _, want := range []string{"“First owner” invites you to own “Acme Estonia”, a subaccount of “Acme”", "You are invited to own “Acme Estonia”, a subaccount of “Acme”"} {
		if !strings.Contains(msg.Text, want) {
			t.Errorf("text body lacks %q:\n%s", want, msg.Text)
		}
	}
	for _, want := range []string{"“First owner” invites you to own “Acme Estonia”, a subaccount of “Acme”", "You are invited to own <strong>“Acme Estonia”</strong>, a subaccount of <strong>“Acme”</strong>"} {
		if !strings.Contains(msg.HTML, want) {
			t.Errorf("HTML body lacks %q:\n%s", want, msg.HTML)
		}
	}
	if msg.Subject != "Own “Acme Estonia” on Switchboard" {
		t.Errorf("subject %q", msg.Subject)
	}
	link := strings.TrimPrefix(mailtest.FirstLink(msg.Text, testBaseURL+"/invitations/"), testBaseURL)
	if link == "" {
		t.Fatalf("no link in\n%s", msg.Text)
	}

	// Logged out: the page says what is offered, with the email fixed.
	res = a.client().get(link)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "Own Acme Estonia", "First owner invites you to own Acme Estonia, a subaccount of Acme.", `value="estonia@example.com"`, "readonly", "Log in to accept")

	invitee := a.join(link, "estonia@example.com")
	var sub int64
	must(t, a.raw().QueryRow(`SELECT org_id FROM subaccounts WHERE parent_id = ?`, owner.org).Scan(&sub))
	if invitee.org != sub {
		t.Fatalf("landed in organisation %d, want the subaccount %d", invitee.org, sub)
	}
	orgs, err := a.db.ListMemberships(context.Background(), invitee.profile)
	must(t, err)
	if len(orgs) != 1 || orgs[0].ID != sub || orgs[0].Role.Kind != switchboard.RoleOwner || orgs[0].ParentName != "Acme" {
		t.Fatalf("memberships after signing up: %+v; want only the subaccount, as Owner, child of Acme", orgs)
	}
	if st := a.subStatus(sub); st != "active" {
		t.Fatalf("status after acceptance %q, want active", st)
	}
	dash := invitee.get(path(sub, ""))
	wantStatus(t, dash, http.StatusOK)
	wantContains(t, dash, "Subaccount of Acme")
	if a.auditCount(sub, "subaccount.joined", "Owner") != 1 {
		t.Error("no subaccount.joined line on the subaccount")
	}
	if a.auditCount(owner.org, "subaccount.created", "Budget €100.00") != 1 {
		t.Error("no subaccount.created line on the parent")
	}

	// The parent's Members page does not list the subaccount's owner, and
	// the owner is no member of the parent.
	members := owner.get(path(owner.org, "members"))
	wantStatus(t, members, http.StatusOK)
	wantNotContains(t, members, "estonia@example.com")
	wantStatus(t, invitee.get(path(owner.org, "")), http.StatusNotFound)

	// The parent's list shows the owner and the status.
	list := owner.get(path(owner.org, "subaccounts"))
	wantContains(t, list, "Owner: Invited estonia", "Active")
	// The used link is gone.
	wantStatus(t, a.client().get(link), http.StatusGone)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestSubaccountCreateMistakes: every mistake answers 422 with the error
// beside its field and what was typed kept; an address with an open
// subaccount of this parent is refused, and free again once it is closed.
func TestSubaccountCreateMistakes(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	cases := []struct {
		name  string
		form  url.Values
		field string
		kept  []string
	}{
		{"no email", subaccountForm("", "Acme Estonia", "budget", "100"), "email", []string{`value="Acme Estonia"`, `value="100"`}},
		{"bad email", subaccountForm("not an address", "Acme Estonia", "shared", ""), "email", []string{`value="not an address"`}},
		{"no name", subaccountForm("estonia@example.com", "", "budget", "100"), "name", []string{`value="estonia@example.com"`}},
		{"no funding", subaccountForm("estonia@example.com", "Acme Estonia", "", ""), "funding", []string{`value="Acme Estonia"`}},
		{"forged funding", subaccountForm("estonia@example.com", "Acme Estonia", "unlimited", ""), "funding", []string{`value="Acme Estonia"`}},
		{"budget not a number", subaccountForm("estonia@example.com", "Acme Estonia", "budget", "lots"), "budget", []string{`value="lots"`, `value="Acme Estonia"`}},
		{"budget missing", subaccountForm("estonia@example.com", "Acme Estonia", "budget", ""), "budget", nil},
		{"budget zero", subaccountForm("estonia@example.com", "Acme Estonia", "budget", "0"), "budget", []string{`value="0"`}},
		{"budget three decimals", subaccountForm("estonia@example.com", "Acme Estonia", "budget", "10.005"), "budget", []string{`value="10.005"`}},
		{"budget too large", subaccountForm("estonia@example.com", "Acme Estonia", "budget", "1000000.01"), "budget", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := owner.post(path(owner.org, "subaccounts"), tc.form)
			wantStatus(t, res, http.StatusUnprocessableEntity)
			wantContains(t, res, `id="`+tc.field+`-error"`)
			wantContains(t, res, tc.kept...)
		})
	}
	var n int
	must(t, a.raw().QueryRow(`SELECT COUNT(*) FROM subaccounts`).Scan(&n))
	if n != 0 {
		t.Fatalf("%d subaccounts made by mistakes", n)
	}

	id, _ := a.createSubaccount(owner, "estonia@example.com", "Acme Estonia")
	res := owner.post(path(owner.org, "subaccounts"), subaccountForm("ESTONIA@example.com", "Acme Tallinn", "shared", ""))
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="email-error"`, "already has the subaccount Acme Estonia", `value="Acme Tallinn"`)

	wantStatus(t, owner.post(path(owner.org, "subaccounts/"+itoa(id)+"/cancel"), nil), http.StatusSeeOther)
	wantStatus(t, owner.post(path(owner.org, "subaccounts"), subaccountForm("estonia@example.com", "Acme Tallinn", "shared", "")), http.StatusSeeOther)
	list := owner.get(path(owner.org, "subaccounts"))
	// Closed ones last.
	if i, j := strings.Index(list.body, "Acme Tallinn"), strings.Index(list.body, "Acme Estonia"); i < 0 || j < 0 || i > j {
		t.Errorf("the closed subaccount is not listed last (open at %d, closed at %d)", i, j)
	}
}

// TestSubaccountAcceptanceCases: the three cases of PRODUCT.md §
// Invitations for a subaccount's invitation.
func TestSubaccountAcceptanceCases(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	existing := a.signup("estonia@example.com", "Estonia's own")
	other := a.signup("other@example.com", "Other's own")
	sub, link := a.createSubaccount(owner, "estonia@example.com", "Acme Estonia")

	t.Run("another address is told so and offered to log out", func(t *testing.T) {
		res := other.get(link)
		wantStatus(t, res, http.StatusOK)
		wantContains(t, res, "This invitation is for estonia@example.com", "other@example.com", "Log out")
		wantStatus(t, other.post(link, nil), http.StatusForbidden)
		if membership(t, a.db, sub, other.profile) != nil || a.subStatus(sub) != "pending" {
			t.Fatal("a mismatched profile joined or used up the invitation")
		}
	})
	t.Run("logged out: log in or sign up with the address fixed", func(t *testing.T) {
		res := a.client().get(link)
		wantStatus(t, res, http.StatusOK)
		wantContains(t, res, "Log in to accept", "email=estonia%40example.com", `value="estonia@example.com"`, "readonly")
		// A profile exists already: signing up is refused, nothing joined.
		res = a.client().post(link+"/signup", url.Values{"first_name": {"E"}, "last_name": {"S"}, "password": {testPassword}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantContains(t, res, "A profile with this email already exists")
	})
	t.Run("logged in with the address: joins as Owner at once", func(t *testing.T) {
		res := existing.get(link)
		wantContains(t, res, "Accept invitation", "invites you to own Acme Estonia, a subaccount of Acme")
		res = existing.post(link, nil)
		wantStatus(t, res, http.StatusSeeOther)
		if res.location != path(sub, "") {
			t.Fatalf("sent to %q, want the subaccount", res.location)
		}
		m := membership(t, a.db, sub, existing.profile)
		if m == nil || m.Member.Role.Kind != switchboard.RoleOwner || !m.Org.IsSubaccount() {
			t.Fatalf("membership after accepting: %+v", m)
		}
		if a.subStatus(sub) != "active" {
			t.Fatal("the subaccount is not active after acceptance")
		}
		// Their own organisation stays theirs; the switcher marks the
		// subaccount.
		page := existing.get(path(existing.org, ""))
		wantStatus(t, page, http.StatusOK)
		wantContains(t, page, "Acme Estonia", "Subaccount of Acme")
	})
}

// TestSubaccountLifecycle: funding, suspend, resume and close from the
// parent's pages, each with its audit line on the parent; after closing,
// the owner's open session loses the subaccount at once and keeps the
// rest.
func TestSubaccountLifecycle(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	sub, link := a.createSubaccount(owner, "estonia@example.com", "Acme Estonia")
	invitee := a.join(link, "estonia@example.com")
	res := invitee.post("/orgs/new", url.Values{"name": {"Invitee's other"}})
	wantStatus(t, res, http.StatusSeeOther)
	otherOrg := orgURL.FindStringSubmatch(res.location)
	if otherOrg == nil {
		t.Fatalf("new organisation: %s", res.location)
	}

	details := owner.get(path(owner.org, "subaccounts/"+itoa(sub)))
	wantStatus(t, details, http.StatusOK)
	wantContains(t, details, "Acme Estonia", "Invited estonia", `for="funding_budget"`, `for="budget"`, `value="100.00"`, "Suspend", "Close subaccount")

	// Funding: a mistake keeps what was typed; a change is audited old → new.
	res = owner.post(path(owner.org, "subaccounts/"+itoa(sub)+"/funding"), url.Values{"funding": {"budget"}, "budget": {"-5"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="budget-error"`, `value="-5"`)
	wantStatus(t, owner.post(path(owner.org, "subaccounts/"+itoa(sub)+"/funding"), url.Values{"funding": {"budget"}, "budget": {"250.50"}}), http.StatusSeeOther)
	wantStatus(t, owner.post(path(owner.org, "subaccounts/"+itoa(sub)+"/funding"), url.Values{"funding": {"shared"}}), http.StatusSeeOther)
	if a.auditCount(owner.org, "subaccount.funded", "Budget €100.00 → Budget €250.50") != 1 || a.auditCount(owner.org, "subaccount.funded", "Budget €250.50 → Share the balance") != 1 {
		t.Error("funding changes are not audited old → new")
	}

	// Suspend and resume, each confirmed first at the address of its POST.
	confirm := owner.get(path(owner.org, "subaccounts/"+itoa(sub)+"/suspend"))
	wantStatus(t, confirm, http.StatusOK)
	wantContains(t, confirm, "Suspend Acme Estonia?", "can still log in and look")
	wantStatus(t, owner.post(path(owner.org, "subaccounts/"+itoa(sub)+"/suspend"), nil), http.StatusSeeOther)
	if a.subStatus(sub) != "suspended" {
		t.Fatal("not suspended")
	}
	res = owner.post(path(owner.org, "subaccounts/"+itoa(sub)+"/suspend"), nil)
	wantStatus(t, res, http.StatusConflict)
	wantContains(t, res, "Acme Estonia is already suspended.")
	// Suspended, it can still log in and look.
	wantStatus(t, invitee.get(path(sub, "")), http.StatusOK)
	wantStatus(t, owner.post(path(owner.org, "subaccounts/"+itoa(sub)+"/resume"), nil), http.StatusSeeOther)
	if a.subStatus(sub) != "active" {
		t.Fatal("not resumed")
	}
	if a.auditCount(owner.org, "subaccount.suspended", "") != 1 || a.auditCount(owner.org, "subaccount.resumed", "") != 1 {
		t.Error("suspend and resume are not audited on the parent")
	}

	// Close: the owner's session, opened before, loses it at once.
	wantContains(t, owner.get(path(owner.org, "subaccounts/"+itoa(sub)+"/close")), "Close Acme Estonia?", "Closing is final")
	wantStatus(t, owner.post(path(owner.org, "subaccounts/"+itoa(sub)+"/close"), nil), http.StatusSeeOther)
	if a.subStatus(sub) != "closed" {
		t.Fatal("not closed")
	}
	wantStatus(t, invitee.get(path(sub, "")), http.StatusNotFound)
	wantStatus(t, invitee.get(path(sub, "messages/new")), http.StatusNotFound)
	wantStatus(t, invitee.get("/account"), http.StatusOK)
	wantStatus(t, invitee.get("/orgs/"+otherOrg[1]), http.StatusOK)
	if a.auditCount(owner.org, "subaccount.closed", "") != 1 {
		t.Error("closing is not audited on the parent")
	}
	// Closed is final.
	res = owner.post(path(owner.org, "subaccounts/"+itoa(sub)+"/resume"), nil)
	wantStatus(t, res, http.StatusConflict)
	wantContains(t, res, "closing is final")
	wantStatus(t, owner.post(path(owner.org, "subaccounts/"+itoa(sub)+"/funding"), url.Values{"funding": {"shared"}}), http.StatusConflict)
	// The audit page of the parent shows the lines in its words.
	audit := owner.get(path(owner.org, "audit"))
	wantContains(t, audit, "Subaccount created", "Subaccount funding changed", "Subaccount suspended", "Subaccount resumed", "Subaccount closed")
}

// TestSubaccountResendAndCancel: resending kills the old link; cancelling
// closes the pending subaccount and kills its link.
func TestSubaccountResendAndCancel(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	sub, old := a.createSubaccount(owner, "estonia@example.com", "Acme Estonia")
	details := owner.get(path(owner.org, "subaccounts/"+itoa(sub)))
	wantContains(t, details, "was sent to estonia@example.com", "Resend", "Cancel invitation")

	wantStatus(t, owner.post(path(owner.org, "subaccounts/"+itoa(sub)+"/resend"), nil), http.StatusSeeOther)
	fresh := a.outboxLink("estonia@example.com", "/invitations/")
	if fresh == old {
		t.Fatal("the resend has the old link")
	}
	wantStatus(t, a.client().get(old), http.StatusGone)
	wantStatus(t, a.client().get(fresh), http.StatusOK)

	wantContains(t, owner.get(path(owner.org, "subaccounts/"+itoa(sub)+"/cancel")), "Cancel the invitation to own Acme Estonia?")
	wantStatus(t, owner.post(path(owner.org, "subaccounts/"+itoa(sub)+"/cancel"), nil), http.StatusSeeOther)
	if a.subStatus(sub) != "closed" {
		t.Fatal("cancelling left the subaccount open")
	}
	wantStatus(t, a.client().get(fresh), http.StatusGone)
	// Nobody can join it any more, even by a link read before.
	wantStatus(t, a.client().post(fresh+"/signup", url.Values{"first_name": {"E"}, "last_name": {"S"}, "password": {testPassword}}), http.StatusGone)
	if a.auditCount(owner.org, "subaccount.closed", "Invitation cancelled") != 1 || a.auditCount(owner.org, "invitation.resent", "") != 1 {
		t.Error("resend and cancel are not audited on the parent")
	}
}

// TestSubaccountOtherParent: another parent's subaccount id in the URL is
// a 404 on every route, and nothing changes; a Sender of the parent gets
// 403; a subaccount cannot create subaccounts.
func TestSubaccountOtherParent(t *testing.T) {
	a := newApp(t)
	acme := a.signup("owner@example.com", "Acme")
	globex := a.signup("globex@example.com", "Globex")
	sub, link := a.createSubaccount(acme, "estonia@example.com", "Acme Estonia")

	for _, rest := range []string{"", "/suspend", "/resume", "/close", "/cancel"} {
		wantStatus(t, globex.get(path(globex.org, "subaccounts/"+itoa(sub)+rest)), http.StatusNotFound)
	}
	for _, rest := range []string{"/funding", "/resend", "/suspend", "/resume", "/close", "/cancel"} {
		res := globex.post(path(globex.org, "subaccounts/"+itoa(sub)+rest), url.Values{"funding": {"shared"}})
		wantStatus(t, res, http.StatusNotFound)
		wantNotContains(t, res, "Acme Estonia")
	}
	// Acme's own page for it, as a control: the id is real.
	wantStatus(t, acme.get(path(acme.org, "subaccounts/"+itoa(sub))), http.StatusOK)
	var funding, status string
	must(t, a.raw().QueryRow(`SELECT funding, status FROM subaccounts WHERE org_id = ?`, sub).Scan(&funding, &status))
	if funding != "budget" || status != "pending" {
		t.Fatalf("forged posts changed the subaccount: %s, %s", funding, status)
	}
	var lines int
	must(t, a.raw().QueryRow(`SELECT COUNT(*) FROM audit_log WHERE org_id = ? AND action LIKE 'subaccount.%'`, globex.org).Scan(&lines))
	if lines != 0 {
		t.Fatal("forged posts wrote audit lines")
	}

	// A Sender of the parent: 403, on the page and on a forged POST.
	sender := a.join(a.invite(acme, acme.org, "sender@example.com", "sender"), "sender@example.com")
	wantStatus(t, sender.get(path(acme.org, "subaccounts")), http.StatusForbidden)
	wantStatus(t, sender.post(path(acme.org, "subaccounts/"+itoa(sub)+"/cancel"), nil), http.StatusForbidden)
	wantStatus(t, sender.post(path(acme.org, "subaccounts"), subaccountForm("x@example.com", "X", "shared", "")), http.StatusForbidden)
	if a.subStatus(sub) != "pending" {
		t.Fatal("a Sender cancelled the subaccount")
	}

	// The subaccount's owner cannot create subaccounts of it.
	invitee := a.join(link, "estonia@example.com")
	res := invitee.post(path(sub, "subaccounts"), subaccountForm("y@example.com", "Nested", "shared", ""))
	wantStatus(t, res, http.StatusForbidden)
	var n int
	must(t, a.raw().QueryRow(`SELECT COUNT(*) FROM subaccounts WHERE parent_id = ?`, sub).Scan(&n))
	if n != 0 {
		t.Fatal("a subaccount has a subaccount")
	}
}

// TestParentDeletedTakesSubaccounts: deleting the parent deletes its
// subaccounts; their owner keeps the profile.
func TestParentDeletedTakesSubaccounts(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	sub, link := a.createSubaccount(owner, "estonia@example.com", "Acme Estonia")
	invitee := a.join(link, "estonia@example.com")
	wantStatus(t, owner.post(path(owner.org, "delete"), url.Values{"confirm_name": {"Acme"}}), http.StatusSeeOther)
	var n int
	must(t, a.raw().QueryRow(`SELECT COUNT(*) FROM organisations WHERE id = ?`, sub).Scan(&n))
	if n != 0 {
		t.Fatal("the subaccount outlived its parent")
	}
	wantStatus(t, invitee.get(path(sub, "")), http.StatusNotFound)
	wantStatus(t, invitee.get("/account"), http.StatusOK)
}
