package handlers_test

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"switchboard"
	"switchboard/handlers"
)

// fundOrg sets the organisation's balance (and country) behind the
// store's back: money otherwise arrives by paid invoices.
func (a *app) fundOrg(org int64, balance switchboard.Money, country string) {
	a.t.Helper()
	if _, err := a.raw().ExecContext(context.Background(), `UPDATE organisations SET balance = ?, country = ? WHERE id = ?`, int64(balance), country, org); err != nil {
		a.t.Fatal(err)
	}
}

// rows counts rows behind the store's back.
func (a *app) rows(query string, args ...any) int {
	a.t.Helper()
	var n int
	if err := a.raw().QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		a.t.Fatal(err)
	}
	return n
}

// sender signs up an owner and makes a Sender join their organisation.
func sendWorld(t *testing.T) (*app, *person, *person) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	link := a.invite(owner, owner.org, "sender@example.com", "sender")
	sender := a.join(link, "sender@example.com")
	return a, owner, sender
}

// unescaped is the body with HTML entities decoded, to look for sentences
// with apostrophes and quotes.
func unescaped(res *response) string { return html.UnescapeString(res.body) }

func TestSenderSends(t *testing.T) {
	a, owner, sender := sendWorld(t)
	a.fundOrg(owner.org, 10_000, "EE") // €1.00

	res := sender.get(path(owner.org, "messages/new"))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, `<label for="from">From</label>`, `<label for="to">To</label>`, `<label for="message">Message</label>`,
		`<option value="Switchboard" selected>Switchboard</option>`, ">Preview</button>", ">Send</button>", "Balance €1.00",
		"A number without a country code is taken as +372.", `aria-current="page">Send SMS`)

	form := url.Values{"from": {"Switchboard"}, "to": {"+37255500001\n5550 0002, 55500003\n+372 5550 0001"}, "message": {"Hello from Acme"}, "action": {"preview"}}
	res = sender.post(path(owner.org, "messages/new"), form)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "<dt>Encoding</dt><dd>GSM-7</dd>", "<dt>Characters</dt><dd>15</dd>", "<dt>Recipients</dt><dd>3</dd>",
		"<dt>Total price</dt><dd>€0.15</dd>", "(1 duplicate)", "Hello from Acme</pre>", "5550 0002, 55500003")
	if n := a.rows(`SELECT COUNT(*) FROM messages`); n != 0 {
		t.Fatalf("a preview queued %d messages", n)
	}

	form.Set("action", "send")
	res = sender.post(path(owner.org, "messages/new"), form)
	wantStatus(t, res, http.StatusSeeOther)
	if res.location != path(owner.org, "history") {
		t.Errorf("sent to %q, want the history", res.location)
	}
	if n := a.rows(`SELECT COUNT(*) FROM messages WHERE org_id = ? AND sender = 'Switchboard' AND body = 'Hello from Acme' AND status = 'queued' AND parts = 1 AND price = 500 AND encoding = 'GSM-7' AND created_by = ?`, owner.org, sender.profile); n != 3 {
		t.Errorf("%d messages queued as sent, want 3", n)
	}
	for _, to := range []string{"+37255500001", "+37255500002", "+37255500003"} {
		if n := a.rows(`SELECT COUNT(*) FROM messages m JOIN message_queue q ON q.message_id = m.id WHERE m.recipient = ?`, to); n != 1 {
			t.Errorf("%s: %d messages in the delivery queue, want 1", to, n)
		}
	}
	if b, _ := a.db.Balance(context.Background(), owner.org); b != 8_500 {
		t.Errorf("balance = %d, want 8500 (€1.00 less 3 × €0.05)", b)
	}
	res = sender.get(path(owner.org, "messages/new"))
	wantContains(t, res, "3 messages queued.")
}

func TestSendNotEnoughBalance(t *testing.T) {
	a, owner, sender := sendWorld(t)
	a.fundOrg(owner.org, 1_000, "EE") // €0.10, the send is €0.15
	form := url.Values{"from": {"Switchboard"}, "to": {"55500001\n55500002\n55500003"}, "message": {"Hello"}, "action": {"send"}}
	res := sender.post(path(owner.org, "messages/new"), form)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if !strings.Contains(unescaped(res), "Your balance of €0.10 does not cover this send of €0.15.") {
		t.Fatalf("no balance sentence\n%s", res.body)
	}
	wantContains(t, res, "55500001\n55500002\n55500003</textarea>", "Hello</textarea>")
	if n := a.rows(`SELECT COUNT(*) FROM messages`) + a.rows(`SELECT COUNT(*) FROM message_queue`) + a.rows(`SELECT COUNT(*) FROM ledger`); n != 0 {
		t.Errorf("a refused send left %d rows of messages, queue and ledger", n)
	}
	if b, _ := a.db.Balance(context.Background(), owner.org); b != 1_000 {
		t.Errorf("balance = %d after a refused send, want 1000", b)
	}
}

func TestSendInvalidNumberNamedByLine(t *testing.T) {
	a, owner, sender := sendWorld(t)
	a.fundOrg(owner.org, 10_000, "EE")
	form := url.Values{"from": {"Switchboard"}, "to": {"55500001\n12ab\n55500003"}, "message": {"Hello"}, "action": {"send"}}
	res := sender.post(path(owner.org, "messages/new"), form)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `<p class="error" id="to-error">Line 2: 12ab is not a phone number.</p>`, `aria-invalid="true"`, "55500001\n12ab\n55500003</textarea>")
	if n := a.rows(`SELECT COUNT(*) FROM messages`); n != 0 {
		t.Errorf("%d messages queued", n)
	}

	// The preview answers 200 and counts it as left out.
	form.Set("action", "preview")
	res = sender.post(path(owner.org, "messages/new"), form)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "<dt>Recipients</dt><dd>2</dd>", "(1 invalid)", "Line 2: 12ab is not a phone number.")

	// Without a country, a number without a country code says so.
	a.fundOrg(owner.org, 10_000, "")
	form.Set("to", "+37255500001\n55500002")
	form.Set("action", "send")
	res = sender.post(path(owner.org, "messages/new"), form)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if !strings.Contains(unescaped(res), "Line 2: 55500002 has no country code; add one (+372…) or set your organisation's country in Organisation details.") {
		t.Fatalf("no country sentence\n%s", res.body)
	}

	// Many bad entries: the first five by line, then how many more.
	form.Set("to", "+37255500001\na\nb\nc\nd\ne\nf\ng")
	res = sender.post(path(owner.org, "messages/new"), form)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "Line 2: a is not a phone number. Line 3: b is not a phone number.", "Line 6: e is not a phone number. 2 more entries could not be read either.")
	wantNotContains(t, res, "Line 7:")

	// Nothing to send to, nothing typed: clear errors, no 500.
	for _, c := range []struct{ to, message, want string }{
		{"", "Hello", "Enter at least one phone number."},
		{"55500001", "  ", "Enter the message."},
		{"+37255500001", strings.Repeat("a", 1531), "This one is 11 parts; shorten it."},
		{"+37255500001", strings.Repeat("ж", 671), "This one is 11 parts; shorten it."},
		{"+37255500001", strings.Repeat("a", 6000), "A message is at most 10 parts"},
		{"+37255500001", "Hi\x00there", "The message holds control characters"},
		{"+37255500001\x00", "Hi", "is not a phone number."},
		{strings.Repeat("+37255500001\n", 10_001), "Hi", "Send to at most 10,000 numbers at once; this list has 10,001. Split it into several sends."},
	} {
		res = sender.post(path(owner.org, "messages/new"), url.Values{"from": {"Switchboard"}, "to": {c.to}, "message": {c.message}, "action": {"send"}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantContains(t, res, c.want)
	}
}

func TestSendLeavesOutOptedOut(t *testing.T) {
	a, owner, sender := sendWorld(t)
	a.fundOrg(owner.org, 10_000, "EE")
	other := a.signup("other@example.com", "Other")
	for _, o := range []struct {
		org   int64
		phone string
	}{{owner.org, "+37255500002"}, {other.org, "+37255500003"}} {
		if _, err := a.raw().ExecContext(context.Background(), `INSERT INTO opt_outs (org_id, phone, created_at) VALUES (?, ?, 1)`, o.org, o.phone); err != nil {
			t.Fatal(err)
		}
	}
	form := url.Values{"from": {"Switchboard"}, "to": {"55500001\n55500002\n55500003"}, "message": {"Hello"}, "action": {"preview"}}
	res := sender.post(path(owner.org, "messages/new"), form)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "<dt>Recipients</dt><dd>2</dd>", "<dt>Left out</dt><dd>1 <span class=\"muted\">(1 opted out)</span>")
	form.Set("action", "send")
	wantStatus(t, sender.post(path(owner.org, "messages/new"), form), http.StatusSeeOther)
	if n := a.rows(`SELECT COUNT(*) FROM messages WHERE recipient = '+37255500002'`); n != 0 {
		t.Error("a number that opted out was sent to")
	}
	if n := a.rows(`SELECT COUNT(*) FROM messages WHERE org_id = ?`, owner.org); n != 2 {
		t.Errorf("%d messages, want 2 (another organisation's opt-out does not count here)", n)
	}

	// Everyone opted out: nothing to send.
	form.Set("to", "55500002")
	res = sender.post(path(owner.org, "messages/new"), form)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "Every number on the list opted out of your messages")
}

func TestSendFrom(t *testing.T) {
	a, owner, sender := sendWorld(t)
	a.fundOrg(owner.org, 10_000, "EE")
	other := a.signup("other@example.com", "Other")
	for _, s := range []struct {
		org          int64
		name, status string
	}{{owner.org, "Acme", "approved"}, {owner.org, "Waiting", "pending"}, {other.org, "Theirs", "approved"}} {
		if _, err := a.raw().ExecContext(context.Background(), `INSERT INTO sender_names (org_id, name, use_case, status, created_at) VALUES (?, ?, 'tests', ?, 1)`, s.org, s.name, s.status); err != nil {
			t.Fatal(err)
		}
	}
	res := sender.get(path(owner.org, "messages/new"))
	wantContains(t, res, `<option value="Acme" selected>Acme</option>`, `<option value="Switchboard">Switchboard</option>`)
	wantNotContains(t, res, "Waiting", "Theirs")

	// A forged From (not offered, pending, another organisation's) is
	// refused beside From, and nothing is queued.
	for _, from := range []string{"Bank", "Waiting", "Theirs", ""} {
		res = sender.post(path(owner.org, "messages/new"), url.Values{"from": {from}, "to": {"55500001"}, "message": {"Hi"}, "action": {"send"}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantContains(t, res, `<p class="error" id="from-error">Choose a sender from the list`)
	}
	if n := a.rows(`SELECT COUNT(*) FROM messages`); n != 0 {
		t.Fatalf("%d messages queued from forged names", n)
	}
	wantStatus(t, sender.post(path(owner.org, "messages/new"), url.Values{"from": {"Acme"}, "to": {"55500001"}, "message": {"Hi"}, "action": {"send"}}), http.StatusSeeOther)
	if n := a.rows(`SELECT COUNT(*) FROM messages WHERE sender = 'Acme'`); n != 1 {
		t.Errorf("%d messages from the approved name, want 1", n)
	}
}

func TestSendNoPrice(t *testing.T) {
	prices, err := switchboard.ParsePrices(strings.NewReader("country,prefix,price\nEE,372,0.0500\n"))
	if err != nil {
		t.Fatal(err)
	}
	a := newAppConfig(t, handlers.Config{BaseURL: mustURL(testBaseURL), Prices: prices, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	owner := a.signup("owner@example.com", "Acme")
	a.fundOrg(owner.org, 10_000, "EE")
	res := owner.post(path(owner.org, "messages/new"), url.Values{"from": {"Switchboard"}, "to": {"55500001\n+447911123456"}, "message": {"Hi"}, "action": {"send"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "No price for +447911123456: sending there is not offered.")
	if n := a.rows(`SELECT COUNT(*) FROM messages`); n != 0 {
		t.Fatalf("%d messages queued", n)
	}
}

func TestSendOtherOrganisation(t *testing.T) {
	a, owner, _ := sendWorld(t)
	a.fundOrg(owner.org, 10_000, "EE")
	outsider := a.signup("outsider@example.com", "Outsider's")
	a.fundOrg(outsider.org, 10_000, "EE")
	form := url.Values{"from": {"Switchboard"}, "to": {"55500001"}, "message": {"Hi"}, "action": {"send"}}
	for _, r := range []struct{ method, path string }{
		{http.MethodGet, "messages/new"}, {http.MethodPost, "messages/new"}, {http.MethodPost, "messages/preview"},
		{http.MethodGet, "auto-replace"}, {http.MethodPost, "auto-replace"},
	} {
		var res *response
		if r.method == http.MethodGet {
			res = outsider.get(path(owner.org, r.path))
		} else {
			res = outsider.post(path(owner.org, r.path), form)
		}
		wantStatus(t, res, http.StatusNotFound)
		wantNotContains(t, res, "Acme")
	}
	if n := a.rows(`SELECT COUNT(*) FROM messages`); n != 0 {
		t.Fatalf("%d messages queued", n)
	}
	if b, _ := a.db.Balance(context.Background(), owner.org); b != 10_000 {
		t.Errorf("the organisation's balance moved to %d", b)
	}
}

func TestSendLivePreview(t *testing.T) {
	a, owner, sender := sendWorld(t)
	a.fundOrg(owner.org, 10_000, "EE")
	res := sender.post(path(owner.org, "messages/preview"), url.Values{"from": {"Switchboard"}, "to": {"55500001, 12ab"}, "message": {strings.Repeat("€", 81)}})
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, `<section id="send-preview"`, "<dt>Characters</dt><dd>162</dd>", "<dt>Parts</dt><dd>2 <span class=\"muted\">(153 characters a part)</span>",
		"<dt>Recipients</dt><dd>1</dd>", "Line 1: 12ab is not a phone number.")
	wantNotContains(t, res, "<html", "<form")

	// While typing, an empty field is not a problem yet.
	res = sender.post(path(owner.org, "messages/preview"), url.Values{"from": {"Switchboard"}, "to": {""}, "message": {"Hi"}})
	wantStatus(t, res, http.StatusOK)
	wantNotContains(t, res, "Enter at least one phone number.")

	// It changes nothing and needs the form's token like every POST.
	res = sender.postRaw(path(owner.org, "messages/preview"), url.Values{"to": {"55500001"}, "message": {"Hi"}})
	wantStatus(t, res, http.StatusForbidden)
	if n := a.rows(`SELECT COUNT(*) FROM messages`); n != 0 {
		t.Fatalf("a preview queued %d messages", n)
	}
}
