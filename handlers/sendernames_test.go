package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
)

// TestSenderNames: apply for a name through the form; it is listed as
// Pending; a name held or waited for is refused beside the field with what
// was typed kept; once the operator decides, the list shows Approved, or
// Rejected with the reason, and a rejected name may be applied for again;
// the audit log says all of it in words.
func TestSenderNames(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	page := path(owner.org, "sender-names")

	res := owner.get(page)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "<h1>Sender names</h1>", `<label for="sender_name">Sender name</label>`, `<label for="use_case">Use case</label>`,
		">Apply for sender name</button>", "You have not applied for a sender name yet.", "You can always send from Switchboard", `aria-current="page"`)

	res = owner.post(page, url.Values{"name": {"Acme  Shop"}, "use_case": {"Order confirmations"}})
	wantStatus(t, res, http.StatusSeeOther)
	if res.location != page {
		t.Fatalf("sent to %q", res.location)
	}
	res = owner.get(page)
	wantContains(t, res, "Your application for the sender name Acme Shop was sent.", "<td data-label=\"Sender name\">Acme Shop</td>", "Order confirmations", ">Pending</span>")

	for _, tc := range []struct {
		name, useCase, field, want string
	}{
		{"acme shop", "Again", "sender_name", "You already applied for the sender name acme shop: it is waiting for a decision."},
		{"A!", "Receipts", "sender_name", "A sender name holds only letters A–Z, digits and spaces."},
		{"Far too long a name", "Receipts", "sender_name", "A sender name is 3 to 11 characters long"},
		{"Acme", "", "use_case", "Say what you will send from this name"},
	} {
		res := owner.post(page, url.Values{"name": {tc.name}, "use_case": {tc.useCase}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantContains(t, res, `id="`+tc.field+`-error"`, tc.want, `value="`+tc.name+`"`, ">"+tc.useCase+"</textarea>")
	}

	ctx := context.Background()
	names, err := a.db.ListSenderNames(ctx, owner.org)
	if err != nil || len(names) != 1 {
		t.Fatalf("sender names after refused applications: %v %v", names, err)
	}
	if _, err := a.db.DecideSenderName(ctx, names[0].ID, false, "Shop names need a trademark."); err != nil {
		t.Fatal(err)
	}
	res = owner.get(page)
	wantContains(t, res, ">Rejected</span>", "Shop names need a trademark.")
	res = owner.post(page, url.Values{"name": {"Acme Shop"}, "use_case": {"Order confirmations, with our trademark"}})
	wantStatus(t, res, http.StatusSeeOther)
	names, _ = a.db.ListSenderNames(ctx, owner.org)
	if _, err := a.db.DecideSenderName(ctx, names[0].ID, true, ""); err != nil {
		t.Fatal(err)
	}
	res = owner.get(page)
	wantContains(t, res, ">Approved</span>", ">Rejected</span>")
	// The approved name is offered as a Sender of the history's filter.
	wantContains(t, owner.get(path(owner.org, "history")), `<option value="Acme Shop">`)

	res = owner.get(path(owner.org, "audit"))
	wantContains(t, res, "Sender name applied for", "Sender name approved", "Sender name rejected", "Operator",
		"Acme Shop: Shop names need a trademark.", "Acme Shop: Order confirmations")
}

// TestSenderNamesRefused: a Sender may not see or apply for sender names
// (403, also for a forged POST with a valid form token); someone outside
// the organisation finds nothing there (404); neither creates anything.
func TestSenderNamesRefused(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	sender := a.join(a.invite(owner, owner.org, "sender@example.com", "sender"), "sender@example.com")
	outsider := a.signup("outsider@example.com", "Elsewhere")
	page := path(owner.org, "sender-names")
	apply := url.Values{"name": {"Forged"}, "use_case": {"Phishing"}}

	wantStatus(t, sender.get(page), http.StatusForbidden)
	res := sender.post(page, apply)
	wantStatus(t, res, http.StatusForbidden)
	wantContains(t, res, "You don&#39;t have access", "Sender names")
	wantNotContains(t, sender.get(path(owner.org, "")), `href="/orgs/`+itoa(owner.org)+`/sender-names"`)

	wantStatus(t, outsider.get(page), http.StatusNotFound)
	res = outsider.post(page, apply)
	wantStatus(t, res, http.StatusNotFound)
	wantNotContains(t, res, "Acme")

	if names, err := a.db.ListSenderNames(context.Background(), owner.org); err != nil || len(names) != 0 {
		t.Errorf("sender names after refused applications: %v %v", names, err)
	}
	// The outsider's own organisation gained nothing either.
	if names, _ := a.db.ListSenderNames(context.Background(), outsider.org); len(names) != 0 {
		t.Errorf("the outsider's organisation has %v", names)
	}
}
