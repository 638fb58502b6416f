package handlers_test

import (
	"context"
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"switchboard"
	"switchboard/store"
)

// statsApp is a parent (Acme) with three subaccounts that spent on several
// days of March 2026: "Estonia" through the Send SMS page, the others
// through the store; a message delivered, two failed and refunded (one on
// a later day); one subaccount named like a spreadsheet formula, one
// closed afterwards.
type statsApp struct {
	*app
	owner *person
	subs  map[string]int64
}

// statsDay is noon UTC of day d of March 2026.
func statsDay(d int) time.Time { return time.Date(2026, time.March, d, 12, 0, 0, 0, time.UTC) }

// formulaName is the name of a subaccount a spreadsheet would run.
const formulaName = "=HYPERLINK(\"http://evil.example\",\"Click\")"

func newStatsApp(t *testing.T) *statsApp {
	t.Helper()
	ctx := context.Background()
	a := newApp(t)
	a.db.Now = func() time.Time { return statsDay(2) }
	s := &statsApp{app: a, owner: a.signup("owner@example.com", "Acme"), subs: map[string]int64{}}
	a.fundOrg(s.owner.org, 1_000_000, "EE")
	profile, err := a.db.FindProfile(ctx, s.owner.profile)
	if err != nil {
		t.Fatal(err)
	}
	raw := a.raw()
	for _, name := range []string{"Estonia", "Latvia", "Closed"} {
		org := &switchboard.Organisation{Name: name}
		if err := a.db.CreateOrganisation(ctx, profile, org); err != nil {
			t.Fatal(err)
		}
		if _, err := raw.ExecContext(ctx, `INSERT INTO subaccounts (org_id, parent_id, email, funding, budget, status, created_at)
			VALUES (?, ?, ?, 'shared', 0, 'active', 0)`, org.ID, s.owner.org, strings.ToLower(name)+"@example.com"); err != nil {
			t.Fatal(err)
		}
		s.subs[name] = org.ID
	}
	if _, err := raw.ExecContext(ctx, `UPDATE organisations SET name = ? WHERE id = ?`, formulaName, s.subs["Latvia"]); err != nil {
		t.Fatal(err)
	}

	// 2 March: Estonia sends two messages through the page.
	res := s.owner.post(path(s.subs["Estonia"], "messages/new"), url.Values{"from": {"Switchboard"}, "to": {"+37255500001\n+37255500002"},
		"message": {"Hello from Estonia"}, "action": {"send"}})
	wantStatus(t, res, http.StatusSeeOther)
	estonia := s.messageIDs(s.subs["Estonia"])
	s.report(2, estonia[0], switchboard.StatusDelivered)
	// 3 March: Latvia sends three (one of two parts), Closed sends one,
	// which fails at once.
	s.send(3, s.subs["Latvia"], 500, 1000, 500)
	s.send(3, s.subs["Closed"], 500)
	s.report(3, s.messageIDs(s.subs["Closed"])[0], switchboard.StatusFailed)
	// 5 March: one of Estonia's messages of 2 March fails and is
	// refunded; Closed is closed.
	s.report(5, estonia[1], switchboard.StatusFailed)
	if _, err := raw.ExecContext(ctx, `UPDATE subaccounts SET status = 'closed' WHERE org_id = ?`, s.subs["Closed"]); err != nil {
		t.Fatal(err)
	}
	// 20 March: Estonia sends again, after the custom ranges of the tests.
	s.send(20, s.subs["Estonia"], 500)
	// 25 March is today; the session of 2 March timed out meanwhile.
	a.db.Now = func() time.Time { return statsDay(25) }
	s.owner.client = a.login(s.owner.email, testPassword)
	return s
}

// send queues messages of the organisation at the prices given, on day d.
func (s *statsApp) send(d int, org int64, prices ...switchboard.Money) {
	s.t.Helper()
	s.db.Now = func() time.Time { return statsDay(d) }
	b := store.Batch{OrgID: org, Actor: switchboard.Actor{ProfileID: s.owner.profile}, Currency: "EUR", Description: "messages"}
	for i, p := range prices {
		b.Messages = append(b.Messages, switchboard.Message{From: "Switchboard", To: fmt.Sprintf("+3725560%04d", d*10+i), Text: "Hi",
			Encoding: switchboard.GSM7, Parts: int(p / 500), Price: p})
	}
	if _, err := s.db.QueueMessages(context.Background(), b); err != nil {
		s.t.Fatal(err)
	}
}

// report records a delivery report of the message on day d.
func (s *statsApp) report(d int, id int64, status switchboard.MessageStatus) {
	s.t.Helper()
	s.db.Now = func() time.Time { return statsDay(d).Add(time.Hour) }
	if _, err := s.db.ReportDelivery(context.Background(), id, status, "Unknown number"); err != nil {
		s.t.Fatal(err)
	}
}

// messageIDs returns the ids of the organisation's messages, oldest first.
func (s *statsApp) messageIDs(org int64) []int64 {
	s.t.Helper()
	rows, err := s.raw().DB.QueryContext(context.Background(), s.raw().Bind(`SELECT id FROM messages WHERE org_id = ? ORDER BY id`), org)
	if err != nil {
		s.t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			s.t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// ledgerCents is what the organisation's ledger lines of the UTC days
// from to to add up to as a cost, in cents.
func (s *statsApp) ledgerCents(org int64, from, to string) int64 {
	s.t.Helper()
	f, _ := time.Parse(time.DateOnly, from)
	l, _ := time.Parse(time.DateOnly, to)
	var sum int64
	if err := s.raw().QueryRowContext(context.Background(), `SELECT COALESCE(CAST(-SUM(amount) AS BIGINT), 0) FROM ledger
		WHERE org_id = ? AND kind IN ('spend', 'refund') AND created_at >= ? AND created_at < ?`,
		org, f.UnixMilli(), l.AddDate(0, 0, 1).UnixMilli()).Scan(&sum); err != nil {
		s.t.Fatal(err)
	}
	return sum / 100
}

// node is an element of a page, read leniently as HTML by encoding/xml.
type node struct {
	name     string
	attrs    map[string]string
	children []*node
	text     strings.Builder // the text of the element and its children
}

// parseHTML reads a page into a tree of elements.
func parseHTML(t *testing.T, page string) *node {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(page))
	d.Strict, d.AutoClose, d.Entity = false, xml.HTMLAutoClose, xml.HTMLEntity
	root := &node{name: "#root"}
	stack := []*node{root}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("parse the page: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &node{name: strings.ToLower(tok.Name.Local), attrs: map[string]string{}}
			for _, a := range tok.Attr {
				n.attrs[a.Name.Local] = a.Value
			}
			top := stack[len(stack)-1]
			top.children = append(top.children, n)
			stack = append(stack, n)
		case xml.EndElement:
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
		case xml.CharData:
			for _, n := range stack {
				n.text.Write(tok)
			}
		}
	}
	return root
}

// all returns the elements under n (n included) for which match holds.
func (n *node) all(match func(*node) bool) []*node {
	var list []*node
	if match(n) {
		list = append(list, n)
	}
	for _, c := range n.children {
		list = append(list, c.all(match)...)
	}
	return list
}

func (n *node) byID(id string) *node {
	if l := n.all(func(e *node) bool { return e.attrs["id"] == id }); len(l) == 1 {
		return l[0]
	}
	return nil
}

func (n *node) tag(name string) []*node {
	return n.all(func(e *node) bool { return e.name == name })
}

func (n *node) Text() string { return strings.Join(strings.Fields(n.text.String()), " ") }

// cells returns the texts of the rows' cells (th and td) of a table
// section.
func cells(section *node) [][]string {
	var rows [][]string
	for _, tr := range section.tag("tr") {
		var row []string
		for _, c := range tr.children {
			if c.name == "th" || c.name == "td" {
				row = append(row, c.Text())
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// cents reads an amount as the page writes it ("€1,234.56", "-€0.05").
func cents(t *testing.T, s string) int64 {
	t.Helper()
	neg := strings.HasPrefix(s, "-")
	v := strings.NewReplacer("-", "", "€", "", ",", "", ".", "").Replace(s)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("%q is no amount", s)
	}
	if neg {
		n = -n
	}
	return n
}

// TestSubaccountStatisticsPage shows the statistics of a custom range and
// reads them back from the page: the table's figures are the ledger's and
// the messages' (closed subaccount included); the SVG is an image named by
// its title and description; the table for screen readers holds exactly
// the figures of the chart's bars, and its columns add up to the table's
// costs.
func TestSubaccountStatisticsPage(t *testing.T) {
	s := newStatsApp(t)
	res := s.owner.get(path(s.owner.org, "subaccounts") + "?period=custom&from=2026-03-01&to=2026-03-07")
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, `<label for="period">Period</label>`, `<label for="from">From</label>`, `<label for="to">To</label>`,
		`<input type="date" value="2026-03-01"`, `<option value="custom" selected>Custom range</option>`, ">Show</button>",
		"Days are UTC, from midnight to midnight.", "From 1 Mar 2026 to 7 Mar 2026, days in UTC.",
		`href="/orgs/`+itoa(s.owner.org)+`/subaccounts/statistics.csv?from=2026-03-01&amp;period=custom&amp;to=2026-03-07"`)
	page := parseHTML(t, res.body)

	// The table: by name, with totals.
	table := page.byID("subaccount-stats-table")
	if table == nil {
		t.Fatalf("no statistics table\n%s", res.body)
	}
	body := cells(table.tag("tbody")[0])
	want := [][]string{
		// Subaccount, Status, Messages, Queued, Sent, Delivered, Failed, Parts, Cost
		{"=HYPERLINK(\"http://evil.example\",\"Click\")", "Active", "3", "3", "0", "0", "0", "4", "€0.20"},
		{"Closed", "Closed", "1", "0", "0", "0", "1", "1", "€0.00"},
		{"Estonia", "Active", "2", "0", "0", "1", "1", "2", "€0.05"},
	}
	if fmt.Sprint(body) != fmt.Sprint(want) {
		t.Fatalf("table rows\n%v\nwant\n%v", body, want)
	}
	if foot := cells(table.tag("tfoot")[0]); fmt.Sprint(foot) != fmt.Sprint([][]string{{"Total", "", "6", "3", "0", "1", "2", "7", "€0.25"}}) {
		t.Errorf("totals %v", foot)
	}
	// The costs are the ledger's over the same days.
	for i, name := range []string{"Latvia", "Closed", "Estonia"} {
		if got, ledger := cents(t, body[i][8]), s.ledgerCents(s.subs[name], "2026-03-01", "2026-03-07"); got != ledger {
			t.Errorf("%s costs %d cents on the page, %d in its ledger", name, got, ledger)
		}
	}

	// The chart: an image named by its title and description.
	svgs := page.tag("svg")
	if len(svgs) != 1 {
		t.Fatalf("%d SVGs, want 1", len(svgs))
	}
	svg := svgs[0]
	if svg.attrs["role"] != "img" {
		t.Errorf("the SVG's role is %q, want img", svg.attrs["role"])
	}
	labels := strings.Fields(svg.attrs["aria-labelledby"])
	if len(labels) != 2 {
		t.Fatalf("aria-labelledby %q, want the title and the description", svg.attrs["aria-labelledby"])
	}
	title, desc := svg.byID(labels[0]), svg.byID(labels[1])
	if title == nil || title.name != "title" || desc == nil || desc.name != "desc" {
		t.Fatalf("aria-labelledby %q names no <title> and <desc> of the SVG", svg.attrs["aria-labelledby"])
	}
	if title.Text() != "Cost per day per subaccount, 1 Mar 2026 to 7 Mar 2026 (UTC)" {
		t.Errorf("title %q", title.Text())
	}
	if !strings.Contains(desc.Text(), "The busiest day was 3 Mar 2026, at €0.20.") {
		t.Errorf("description %q", desc.Text())
	}

	// The bars, each titled "Name, day: amount".
	bars := map[string]string{}
	for _, r := range svg.tag("rect") {
		ts := r.tag("title")
		if len(ts) != 1 {
			t.Fatalf("a bar without its title: %v", r.attrs)
		}
		key, amount, ok := strings.Cut(ts[0].Text(), ": ")
		if !ok {
			t.Fatalf("bar title %q", ts[0].Text())
		}
		bars[key] = amount
	}
	if len(bars) != 3 {
		t.Errorf("bars %v, want 3: Estonia on 2 and 5 Mar, Latvia on 3 Mar (Closed's spend and refund of 3 Mar make nothing)", bars)
	}

	// The table for screen readers: a column per series, a row per day.
	ct := page.byID("cost-chart-table")
	if ct == nil || !strings.Contains(ct.attrs["class"], "sr-only") {
		t.Fatalf("no visually hidden table of the chart")
	}
	head := cells(ct.tag("thead")[0])[0]
	rows := cells(ct.tag("tbody")[0])
	if len(rows) != 7 || len(head) != 4 || head[0] != "Day" {
		t.Fatalf("chart table of %d days × %v", len(rows), head)
	}
	sums := map[string]int64{}
	seen := 0
	for _, row := range rows {
		for i, cell := range row[1:] {
			name := head[i+1]
			sums[name] += cents(t, cell)
			bar, drawn := bars[name+", "+row[0]]
			if cents(t, cell) == 0 {
				if drawn {
					t.Errorf("%s on %s: a bar of %s where the table says %s", name, row[0], bar, cell)
				}
				continue
			}
			seen++
			if bar != cell {
				t.Errorf("%s on %s: the bar says %q, the table %q", name, row[0], bar, cell)
			}
		}
	}
	if seen != len(bars) {
		t.Errorf("the table holds %d amounts, the chart %d bars", seen, len(bars))
	}
	for _, row := range body {
		if sums[row[0]] != cents(t, row[8]) {
			t.Errorf("%s: its column of the chart's table adds up to %d cents, its cost is %s", row[0], sums[row[0]], row[8])
		}
	}
	if bars["Estonia, 5 Mar 2026"] != "-€0.05" {
		t.Errorf("the refund of 5 March: %v", bars)
	}
	// The legend names each series.
	legend := page.all(func(n *node) bool { return strings.Contains(n.attrs["class"], "chart-legend") })
	if len(legend) != 1 || len(legend[0].tag("li")) != 3 {
		t.Errorf("legend %v", legend)
	}
}

// TestSubaccountStatisticsPeriods: This month is the default and runs from
// its first day to today; the named periods show their dates; an empty
// period draws an empty chart with a sentence.
func TestSubaccountStatisticsPeriods(t *testing.T) {
	s := newStatsApp(t)
	page := path(s.owner.org, "subaccounts")
	res := s.owner.get(page)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, `<option value="this-month" selected>This month</option>`, "From 1 Mar 2026 to 25 Mar 2026, days in UTC.",
		`value="2026-03-01"`, `value="2026-03-25"`, "€0.30") // the total of March, 20 March included
	res = s.owner.get(page + "?period=last-30-days")
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "From 24 Feb 2026 to 25 Mar 2026, days in UTC.")
	res = s.owner.get(page + "?period=last-month")
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "From 1 Feb 2026 to 28 Feb 2026, days in UTC.", "Nothing was spent by any subaccount in this period, so the chart has no bars.")
	if n := strings.Count(res.body, "<rect"); n != 0 {
		t.Errorf("an empty period has %d bars", n)
	}
	wantContains(t, res, `role="img"`, `<title id="cost-chart-title">Cost per day per subaccount, 1 Feb 2026 to 28 Feb 2026 (UTC)</title>`)
	// From and To alone are a custom range.
	res = s.owner.get(page + "?from=2026-03-20&to=2026-03-20")
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "From 20 Mar 2026 to 20 Mar 2026, days in UTC.", "€0.05")
}

// TestSubaccountStatisticsPeriodMistakes: a period typed wrong is 422
// with the error beside its field and what was typed kept, on the page
// and on the CSV export, never a 500.
func TestSubaccountStatisticsPeriodMistakes(t *testing.T) {
	s := newStatsApp(t)
	for _, tc := range []struct {
		query, field, message, kept string
	}{
		{"period=custom&from=yesterday&to=2026-03-07", "from", "Enter the From date as a date, such as 2026-03-25.", `value="yesterday"`},
		{"period=custom&from=2026-03-01&to=2026-02-30", "to", "Enter the To date as a date, such as 2026-03-25.", `value="2026-02-30"`},
		{"period=custom&from=2026-03-07&to=2026-03-01", "to", "The To date is before the From date: choose a To date on or after 2026-03-07.", `value="2026-03-01"`},
		{"period=custom&from=2025-01-01&to=2026-01-02", "to", "A range is at most 366 days long: choose a To date on or before 2026-01-01.", `value="2026-01-02"`},
		{"period=custom&to=2026-03-01", "from", "Enter the From date of the range, such as 2026-03-25.", `value="2026-03-01"`},
		{"period=forever&from=2026-03-01", "period", "Choose a period from the list: This month, Last month, Last 30 days or Custom range.", `value="2026-03-01"`},
		{"from=0001-01-01&to=9999-12-31", "from", "Enter the From date as a date, such as 2026-03-25.", `value="9999-12-31"`},
	} {
		for _, route := range []string{"subaccounts", "subaccounts/statistics.csv"} {
			t.Run(route+"?"+tc.query, func(t *testing.T) {
				res := s.owner.get(path(s.owner.org, route) + "?" + tc.query)
				wantStatus(t, res, http.StatusUnprocessableEntity)
				wantContains(t, res, `<p class="error" id="`+tc.field+`-error">`+strings.ReplaceAll(tc.message, "'", "&#39;")+`</p>`,
					`aria-invalid="true" id="`+tc.field+`"`, tc.kept, "Please correct the fields marked below.")
				wantNotContains(t, res, "<svg", "Export CSV")
			})
		}
	}
}

// TestSubaccountStatisticsCSV: the export holds the table's figures, one
// row per subaccount (closed ones included), the names guarded against
// formula injection, and names the period in its file name.
func TestSubaccountStatisticsCSV(t *testing.T) {
	s := newStatsApp(t)
	res := s.owner.get(path(s.owner.org, "subaccounts/statistics.csv") + "?period=custom&from=2026-03-01&to=2026-03-07")
	wantStatus(t, res, http.StatusOK)
	if ct := res.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := res.header.Get("Content-Disposition"); cd != `attachment; filename="subaccounts-`+itoa(s.owner.org)+`-2026-03-01-to-2026-03-07.csv"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	records, err := csv.NewReader(strings.NewReader(res.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"Subaccount", "Status", "Messages", "Queued", "Sent", "Delivered", "Failed", "Parts", "Cost (EUR)"},
		{"'" + formulaName, "Active", "3", "3", "0", "0", "0", "4", "0.2000"},
		{"Closed", "Closed", "1", "0", "0", "0", "1", "1", "0.0000"},
		{"Estonia", "Active", "2", "0", "0", "1", "1", "2", "0.0500"},
	}
	if fmt.Sprint(records) != fmt.Sprint(want) {
		t.Errorf("CSV\n%v\nwant\n%v", records, want)
	}
	// The default period: this month, in the file name too.
	res = s.owner.get(path(s.owner.org, "subaccounts/statistics.csv"))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "Estonia,Active,3,1,0,1,1,3,0.1000")
	if cd := res.header.Get("Content-Disposition"); !strings.Contains(cd, "-2026-03-01-to-2026-03-25.csv") {
		t.Errorf("Content-Disposition %q", cd)
	}
}

// TestSubaccountStatisticsAccess: a Sender of the parent is refused the
// statistics (403), another organisation's owner does not learn the parent
// exists (404), and a subaccount has no subaccounts' statistics (403),
// page and export alike.
func TestSubaccountStatisticsAccess(t *testing.T) {
	s := newStatsApp(t)
	link := s.invite(s.owner, s.owner.org, "sender@example.com", "sender")
	sender := s.join(link, "sender@example.com")
	stranger := s.signup("stranger@example.com", "Stranger Ltd")
	for _, route := range []string{"subaccounts/statistics.csv", "subaccounts"} {
		q := "?period=custom&from=2026-03-01&to=2026-03-07"
		res := sender.get(path(s.owner.org, route) + q)
		wantStatus(t, res, http.StatusForbidden)
		wantNotContains(t, res, "Estonia", "subaccount-stats-table", "0.0500")
		res = stranger.get(path(s.owner.org, route) + q)
		wantStatus(t, res, http.StatusNotFound)
		wantNotContains(t, res, "Estonia", "Acme")
		// The stranger's own statistics say nothing of Acme's.
		res = stranger.get(path(stranger.org, route) + q)
		wantStatus(t, res, http.StatusOK)
		wantNotContains(t, res, "Estonia")
		// Inside a subaccount (its owner is Acme's owner too).
		res = s.owner.get(path(s.subs["Estonia"], route) + q)
		wantStatus(t, res, http.StatusForbidden)
		wantNotContains(t, res, "subaccount-stats-table", "0.2000")
	}
}
