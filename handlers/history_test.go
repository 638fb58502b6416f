package handlers_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard"
	"switchboard/store"
)

// historyAt queues one send of msgs for the organisation at the time at,
// paid from a balance set behind the store's back, and returns the ids of
// its messages, oldest first.
func historyAt(t *testing.T, a *app, org, profile int64, at time.Time, msgs ...switchboard.Message) {
	t.Helper()
	ctx := context.Background()
	if _, err := a.raw().ExecContext(ctx, `UPDATE organisations SET balance = ? WHERE id = ?`, int64(1_000_000_000), org); err != nil {
		t.Fatal(err)
	}
	a.db.Now = func() time.Time { return at }
	defer func() { a.db.Now = time.Now }()
	for i := range msgs {
		if msgs[i].Encoding == "" {
			msgs[i].Encoding, msgs[i].Parts = switchboard.GSM7, 1
		}
		if msgs[i].Price == 0 {
			msgs[i].Price = 500
		}
	}
	if _, err := a.db.QueueMessages(ctx, store.Batch{OrgID: org, Actor: switchboard.Actor{ProfileID: profile}, Currency: "EUR", Messages: msgs}); err != nil {
		t.Fatal(err)
	}
}

func textMessage(from, to, text string) switchboard.Message {
	return switchboard.Message{From: from, To: to, Text: text}
}

// setZone sets the profile's time zone behind the store's back.
func setZone(t testing.TB, a *app, profile int64, zone string) {
	t.Helper()
	if _, err := a.raw().ExecContext(context.Background(), `UPDATE profiles SET time_zone = ? WHERE id = ?`, zone, profile); err != nil {
		t.Fatal(err)
	}
}

var historyRowID = regexp.MustCompile(`<tr id="message-(\d+)"`)

// historyIDs returns the ids of the messages a history page shows, in order.
func historyIDs(body string) []string {
	var ids []string
	for _, m := range historyRowID.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

var olderLink = regexp.MustCompile(`href="([^"]*)" rel="next">Older messages`)

// TestHistoryPage: every message of the organisation with its date in the
// member's time zone, From, To, text, parts, price and status (a failed
// one with its error); each filter alone and together; never another
// organisation's messages.
func TestHistoryPage(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	other := a.signup("other@example.com", "Other")
	// Auckland is 13 hours ahead of UTC in March: 10:30 UTC on 2 March is
	// 23:30 there, 11:30 UTC is already 3 March.
	setZone(t, a, owner.profile, "Pacific/Auckland")
	day := time.Date(2026, time.March, 2, 10, 30, 0, 0, time.UTC)
	historyAt(t, a, owner.org, owner.profile, day, textMessage("Acme", "+37255500001", "Late on the 2nd"))
	historyAt(t, a, owner.org, owner.profile, day.Add(time.Hour),
		textMessage("Acme", "+37255500002", "Early on the 3rd"),
		switchboard.Message{From: "Switchboard", To: "+4915100000003", Text: "Two parts to Germany", Encoding: switchboard.UCS2, Parts: 2, Price: 1234})
	historyAt(t, a, other.org, other.profile, day, textMessage("Acme", "+37255500001", "Not yours"))
	if _, err := a.raw().ExecContext(context.Background(), `UPDATE messages SET status = 'failed', error = 'The number does not exist.' WHERE body = 'Two parts to Germany'`); err != nil {
		t.Fatal(err)
	}
	if _, err := a.raw().ExecContext(context.Background(), `UPDATE messages SET status = 'delivered' WHERE body = 'Late on the 2nd'`); err != nil {
		t.Fatal(err)
	}
	// Numbers typed without a country code are the organisation's
	// Country's, as on Send SMS.
	if _, err := a.raw().ExecContext(context.Background(), `UPDATE organisations SET country = 'EE' WHERE id = ?`, owner.org); err != nil {
		t.Fatal(err)
	}

	res := owner.get(path(owner.org, "history"))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "<h1>History</h1>", `aria-current="page"`, ">History</a>",
		"3 Mar 2026 00:30", "2 Mar 2026 23:30", "Early on the 3rd", "Late on the 2nd", "+37255500002", "+4915100000003",
		"€0.05", "€0.12", "Failed", "The number does not exist.", "Delivered", "Queued", "In your time zone, Pacific/Auckland.",
		`<label for="from_date">From date</label>`, `<label for="to_date">To date</label>`, `<label for="status">Status</label>`,
		`<label for="recipient">Recipient</label>`, `<label for="sender">Sender</label>`, "Export CSV")
	wantNotContains(t, res, "Not yours", "Older messages")
	if ids := historyIDs(res.body); len(ids) != 3 {
		t.Fatalf("the history shows %d messages, want 3", len(ids))
	}

	for _, tc := range []struct {
		name  string
		query url.Values
		want  []string
	}{
		{"From and To date in the member's zone", url.Values{"from_date": {"2026-03-03"}, "to_date": {"2026-03-03"}}, []string{"Early on the 3rd", "Two parts to Germany"}},
		{"To date alone", url.Values{"to_date": {"2026-03-02"}}, []string{"Late on the 2nd"}},
		{"From date alone", url.Values{"from_date": {"2026-03-04"}}, nil},
		{"status", url.Values{"status": {"failed"}}, []string{"Two parts to Germany"}},
		{"recipient as typed", url.Values{"recipient": {" +372 555-00002 "}}, []string{"Early on the 3rd"}},
		{"recipient with 00", url.Values{"recipient": {"0037255500001"}}, []string{"Late on the 2nd"}},
		{"recipient without +", url.Values{"recipient": {"(372) 55500001"}}, []string{"Late on the 2nd"}},
		{"recipient in the organisation's country", url.Values{"recipient": {"5550 0002"}}, []string{"Early on the 3rd"}},
		{"sender", url.Values{"sender": {"Switchboard"}}, []string{"Two parts to Germany"}},
		{"together", url.Values{"sender": {"Acme"}, "status": {"queued"}, "from_date": {"2026-03-03"}, "to_date": {"2026-03-31"}}, []string{"Early on the 3rd"}},
		{"together, none", url.Values{"sender": {"Acme"}, "status": {"failed"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := owner.get(path(owner.org, "history") + "?" + tc.query.Encode())
			wantStatus(t, res, http.StatusOK)
			if ids := historyIDs(res.body); len(ids) != len(tc.want) {
				t.Errorf("%d messages shown, want %d", len(ids), len(tc.want))
			}
			wantContains(t, res, tc.want...)
			for _, text := range []string{"Early on the 3rd", "Two parts to Germany", "Late on the 2nd"} {
				if !slices.Contains(tc.want, text) {
					wantNotContains(t, res, text)
				}
			}
			if len(tc.want) == 0 {
				wantContains(t, res, "No message matches these filters.")
			}
			// The filters are kept in the form and in the export link.
			for k, v := range tc.query {
				if k != "status" {
					wantContains(t, res, `value="`+strings.TrimSpace(v[0])+`"`)
				}
			}
			wantContains(t, res, `href="/orgs/`+itoa(owner.org)+`/history.csv?`)
		})
	}
}

// TestHistoryBadFilters: a filter that cannot be read answers 422 with
// its error beside the field and what was typed kept, never a 500.
func TestHistoryBadFilters(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	historyAt(t, a, owner.org, owner.profile, time.Now(), textMessage("Acme", "+37255500001", "Hello"))
	for _, tc := range []struct {
		query url.Values
		field string
		want  string
	}{
		{url.Values{"from_date": {"2026-13-01"}}, "from_date", "Enter the From date as a date, such as 2026-11-24."},
		{url.Values{"to_date": {"yesterday"}}, "to_date", "Enter the To date as a date"},
		{url.Values{"from_date": {"2026-03-05"}, "to_date": {"2026-03-04"}}, "to_date", "The To date is before the From date"},
		{url.Values{"status": {"lost"}}, "status", "Choose a status from the list."},
		{url.Values{"recipient": {"12ab"}}, "recipient", "12ab is not a phone number."},
		{url.Values{"recipient": {"+372 5550 0001 2345 6789"}}, "recipient", "+372 5550 0001 2345 6789 is not a phone number."},
	} {
		for _, section := range []string{"history", "history.csv"} {
			res := owner.get(path(owner.org, section) + "?" + tc.query.Encode())
			wantStatus(t, res, http.StatusUnprocessableEntity)
			wantContains(t, res, `id="`+tc.field+`-error"`, tc.want, `aria-invalid="true"`, "Correct the filters above to see messages.")
			for k, v := range tc.query {
				if k != "status" { // a select keeps only its own values
					wantContains(t, res, `value="`+v[0]+`"`)
				}
			}
			wantNotContains(t, res, "Hello")
		}
	}
	// A cursor that is not an id shows the newest page.
	res := owner.get(path(owner.org, "history") + "?before=abc")
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "Hello")
}

// TestHistoryPaging follows the "Older messages" links through 120
// messages under a filter: each message once, newest first, the filter
// kept on every page, no offset.
func TestHistoryPaging(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	var msgs []switchboard.Message
	for i := range 240 {
		status := "Acme"
		if i%2 == 1 {
			status = "Other"
		}
		msgs = append(msgs, textMessage(status, fmt.Sprintf("+3725550%04d", i), fmt.Sprintf("Message %d", i)))
	}
	historyAt(t, a, owner.org, owner.profile, time.Now(), msgs...)
	link := path(owner.org, "history") + "?sender=Acme"
	var ids []string
	for pages := 0; link != ""; pages++ {
		if pages > 5 {
			t.Fatal("the pages do not end")
		}
		res := owner.get(link)
		wantStatus(t, res, http.StatusOK)
		wantNotContains(t, res, ">Other<")
		ids = append(ids, historyIDs(res.body)...)
		link = ""
		if m := olderLink.FindStringSubmatch(res.body); m != nil {
			link = strings.ReplaceAll(m[1], "&amp;", "&")
			if !strings.Contains(link, "sender=Acme") || !strings.Contains(link, "before=") || strings.Contains(link, "offset") {
				t.Fatalf("the Older messages link %q loses the filter", link)
			}
		}
		if pages > 0 {
			wantContains(t, res, "Newest messages")
		}
	}
	if len(ids) != 120 {
		t.Fatalf("the pages show %d messages, want the 120 from Acme", len(ids))
	}
	seen := map[string]bool{}
	for i, id := range ids {
		if seen[id] {
			t.Fatalf("message %s shown twice", id)
		}
		seen[id] = true
		if i > 0 {
			prev, _ := parseInt(ids[i-1])
			cur, _ := parseInt(id)
			if cur >= prev {
				t.Fatalf("message %d after %d: not newest first", cur, prev)
			}
		}
	}
}

// TestHistoryCSV: the export of the filtered history, as an attachment,
// streamed in chunks: the header, one row per message with its date in
// the member's time zone (named), plain prices, and the customer's text
// guarded against formulas.
func TestHistoryCSV(t *testing.T) {
	defer func(n int) { store.HistoryChunk = n }(store.HistoryChunk)
	store.HistoryChunk = 2
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	other := a.signup("other@example.com", "Other")
	setZone(t, a, owner.profile, "America/New_York")
	at := time.Date(2026, time.March, 3, 3, 30, 0, 0, time.UTC) // 22:30 on the 2nd in New York
	historyAt(t, a, owner.org, owner.profile, at,
		textMessage("Acme", "+37255500001", `=HYPERLINK("http://evil.example","Click")`),
		textMessage("Acme", "+37255500002", "-2+3"),
		textMessage("Acme", "+37255500003", "@SUM(A1)"),
		textMessage("Acme", "+37255500004", "+1 more, \"quoted\", and a\nnew line"),
		textMessage("Acme", "+37255500005", "Plain text"))
	historyAt(t, a, other.org, other.profile, at, textMessage("Acme", "+37255500001", "Not yours"))
	if _, err := a.raw().ExecContext(context.Background(), `UPDATE messages SET status = 'failed', error = '=cmd|/C calc' WHERE body = 'Plain text'`); err != nil {
		t.Fatal(err)
	}

	res := owner.get(path(owner.org, "history.csv"))
	wantStatus(t, res, http.StatusOK)
	if ct := res.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := res.header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="history-`+itoa(owner.org)+"-") || !strings.HasSuffix(cd, `.csv"`) {
		t.Errorf("Content-Disposition %q", cd)
	}
	rows, err := csv.NewReader(strings.NewReader(res.body)).ReadAll()
	if err != nil {
		t.Fatalf("%v\n%s", err, res.body)
	}
	want := [][]string{
		{"Date", "From", "To", "Message", "Parts", "Price", "Status", "Error"},
		{"2026-03-02 22:30:00 -05:00 America/New_York", "Acme", "+37255500005", "Plain text", "1", "0.0500", "Failed", "'=cmd|/C calc"},
		{"2026-03-02 22:30:00 -05:00 America/New_York", "Acme", "+37255500004", "'+1 more, \"quoted\", and a\nnew line", "1", "0.0500", "Queued", ""},
		{"2026-03-02 22:30:00 -05:00 America/New_York", "Acme", "+37255500003", "'@SUM(A1)", "1", "0.0500", "Queued", ""},
		{"2026-03-02 22:30:00 -05:00 America/New_York", "Acme", "+37255500002", "'-2+3", "1", "0.0500", "Queued", ""},
		{"2026-03-02 22:30:00 -05:00 America/New_York", "Acme", "+37255500001", `'=HYPERLINK("http://evil.example","Click")`, "1", "0.0500", "Queued", ""},
	}
	if !slices.EqualFunc(rows, want, slices.Equal) {
		t.Errorf("the export:\n%q\nwant\n%q", rows, want)
	}

	// The page's filters apply, dates read in the member's zone.
	res = owner.get(path(owner.org, "history.csv") + "?to_date=2026-03-02&status=failed")
	wantStatus(t, res, http.StatusOK)
	rows, err = csv.NewReader(strings.NewReader(res.body)).ReadAll()
	if err != nil || len(rows) != 2 || rows[1][3] != "Plain text" {
		t.Errorf("the filtered export: %q (%v)", rows, err)
	}
	res = owner.get(path(owner.org, "history.csv") + "?from_date=2026-03-03")
	wantStatus(t, res, http.StatusOK)
	if rows, _ := csv.NewReader(strings.NewReader(res.body)).ReadAll(); len(rows) != 1 {
		t.Errorf("the export from the 3rd in New York holds %d rows, want only the header", len(rows))
	}

	// Larger than what the server buffers: sent as it is written, in
	// chunks of unknown total length, every message once.
	var many []switchboard.Message
	for i := range 500 {
		many = append(many, textMessage("Other", fmt.Sprintf("+3725551%04d", i), fmt.Sprintf("Message number %d of the long export", i)))
	}
	historyAt(t, a, other.org, other.profile, at, many...)
	res = other.get(path(other.org, "history.csv"))
	wantStatus(t, res, http.StatusOK)
	if res.header.Get("Content-Length") != "" {
		t.Errorf("the export has a Content-Length (%s): it was held whole before it was sent", res.header.Get("Content-Length"))
	}
	rows, err = csv.NewReader(strings.NewReader(res.body)).ReadAll()
	if err != nil || len(rows) != 502 || rows[1][3] != "Message number 499 of the long export" || rows[500][3] != "Message number 0 of the long export" || rows[501][3] != "Not yours" {
		t.Errorf("the long export: %d rows (%v)", len(rows), err)
	}
}

// TestHistoryForSenders: a Sender reads the history and exports it; the
// history of an organisation one is not a member of is not found.
func TestHistoryForSenders(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	sender := a.join(a.invite(owner, owner.org, "sender@example.com", "sender"), "sender@example.com")
	outsider := a.signup("outsider@example.com", "Elsewhere")
	historyAt(t, a, owner.org, owner.profile, time.Now(), textMessage("Acme", "+37255500001", "Hello team"))
	res := sender.get(path(owner.org, "history"))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "Hello team")
	res = sender.get(path(owner.org, "history.csv"))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "Hello team")
	for _, section := range []string{"history", "history.csv"} {
		res = outsider.get(path(owner.org, section))
		wantStatus(t, res, http.StatusNotFound)
		wantNotContains(t, res, "Hello team")
	}
}
