package handlers

import (
	"encoding/csv"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/sms"
	"switchboard/store"
	"switchboard/views"
)

// historyPageSize is how many messages a page of the history shows.
const historyPageSize = 50

// historyFields are the filters of the history, in the order of its form
// and of the query string the links carry.
var historyFields = []string{"from_date", "to_date", "status", "recipient", "sender"}

// memberZones caches the time zones of profiles: time.LoadLocation reads
// the zone's file on every call.
var memberZones sync.Map // name → *time.Location

// memberZone returns the time zone of the profile (PRODUCT.md: times a
// person types or reads are in the Time zone of their profile), UTC when
// it has none or it cannot be loaded.
func memberZone(p *switchboard.Profile) *time.Location {
	if p == nil || p.TimeZone == "" || p.TimeZone == "UTC" {
		return time.UTC
	}
	if loc, ok := memberZones.Load(p.TimeZone); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(p.TimeZone)
	if err != nil {
		return time.UTC
	}
	memberZones.Store(p.TimeZone, loc)
	return loc
}

// readHistoryFilter reads the filters of the history from the query
// string, one value per field, and turns the dates, typed in the member's
// zone, into instants: From date from the start of its day, To date to the
// end of its day.
func readHistoryFilter(c echo.Context, loc *time.Location) (store.MessageFilter, url.Values, switchboard.FieldErrors) {
	q := c.QueryParams()
	values := url.Values{}
	for _, name := range historyFields {
		if v := strings.TrimSpace(q.Get(name)); v != "" {
			values.Set(name, v)
		}
	}
	var f store.MessageFilter
	errs := switchboard.FieldErrors{}
	day := func(field, label string) (time.Time, bool) {
		v := values.Get(field)
		if v == "" {
			return time.Time{}, false
		}
		d, err := time.ParseInLocation(time.DateOnly, v, loc)
		if err != nil || d.Year() < 2000 || d.Year() > 9999 {
			errs.Add(field, "Enter the "+label+" as a date, such as 2026-11-24.")
			return time.Time{}, false
		}
		return d, true
	}
	from, hasFrom := day("from_date", "From date")
	to, hasTo := day("to_date", "To date")
	if hasFrom {
		f.Since = from
	}
	if hasTo {
		// The first moment of the next day, whatever its length (a change
		// of summer time makes days of 23 and 25 hours).
		f.Until = time.Date(to.Year(), to.Month(), to.Day()+1, 0, 0, 0, 0, loc)
		if hasFrom && to.Before(from) {
			errs.Add("to_date", "The To date is before the From date: choose a To date on or after "+values.Get("from_date")+".")
		}
	}
	if s := values.Get("status"); s != "" {
		f.Status = switchboard.MessageStatus(s)
		if !slices.Contains(switchboard.MessageStatuses, f.Status) {
			errs.Add("status", "Choose a status from the list.")
		}
	}
	if r := values.Get("recipient"); r != "" {
		// A number as it would be sent (the organisation's country for
		// one typed without a country code); else its digits as typed,
		// for numbers the metadata no longer holds valid.
		number, err := sms.ParseNumber(r, orgCountry(c))
		ok := err == nil
		if !ok {
			number, ok = historyNumber(r)
		}
		if !ok {
			errs.Add("recipient", r+" is not a phone number. Enter the number with its country code, such as +37255566677.")
		}
		f.Recipient = number
	}
	if s := values.Get("sender"); s != "" {
		if len(s) > 40 {
			errs.Add("sender", "A sender has at most 15 characters; check the Sender.")
		}
		f.Sender = s
	}
	return f, values, errs
}

// historyNumber turns a phone number as typed ("+372 555 66677",
// "00372-555-66677", "37255566677") into the E.164 form messages are
// stored in ("+37255566677"): its digits after a +, an international 00
// prefix dropped. Anything but digits, spaces, dots, dashes, brackets and
// a leading + is refused, as is a number of more than 15 digits (E.164's
// longest).
func historyNumber(typed string) (string, bool) {
	var digits strings.Builder
	for i, r := range typed {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case r == '+' && i == 0:
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", false
		}
	}
	d := digits.String()
	if !strings.HasPrefix(typed, "+") {
		d = strings.TrimPrefix(d, "00")
	}
	if len(d) < 3 || len(d) > 15 {
		return "", false
	}
	return "+" + d, true
}

// historyQueryString is the filters as a query string in the form's order, for
// the links of the page.
func historyQueryString(values url.Values) string {
	var parts []string
	for _, name := range historyFields {
		if v := values.Get(name); v != "" {
			parts = append(parts, name+"="+url.QueryEscape(v))
		}
	}
	return strings.Join(parts, "&")
}

// historyPage builds the history page for the filters of the request; ok
// is false when a filter could not be read (the page then shows why). The
// export needs the page only then.
func (s *Server) historyPage(c echo.Context, export bool) (page views.HistoryPage, f store.MessageFilter, ok bool, err error) {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	loc := zoneOf(c)
	f, values, errs := readHistoryFilter(c, loc)
	page = views.HistoryPage{Membership: m, Filter: views.Form{Values: values, Errors: errs}, Query: historyQueryString(values), Zone: loc.String(), First: true}
	if export && len(errs) == 0 {
		return page, f, true, nil
	}
	names, err := s.db.ApprovedSenderNames(ctx, m.Org.ID)
	if err != nil {
		return page, f, false, err
	}
	page.Senders = append([]string{s.cfg.DefaultSender}, names...)
	return page, f, len(errs) == 0, nil
}

// handleHistory shows the organisation's messages, newest first, under
// the filters of the query string, a page at a time by cursor.
func (s *Server) handleHistory(c echo.Context) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	page, f, ok, err := s.historyPage(c, false)
	if err != nil {
		return err
	}
	if !ok {
		return s.render(c, http.StatusUnprocessableEntity, views.History(page))
	}
	// A cursor that is not an id shows the newest page, as no cursor does.
	before, _ := parseID(c.QueryParam("before"))
	page.First = before == 0
	list, next, err := s.db.ListMessages(ctx, m.Org.ID, f, before, historyPageSize)
	if err != nil {
		return err
	}
	loc := zoneOf(c)
	page.Next = next
	page.Messages = make([]views.HistoryRow, len(list))
	keys, err := s.apiKeysOf(ctx, m.Org.ID, list, 0)
	if err != nil {
		return err
	}
	for i, msg := range list {
		page.Messages[i] = views.HistoryRow{ID: msg.ID, Date: msg.CreatedAt.In(loc).Format("2 Jan 2006 15:04"), From: msg.From, To: msg.To, Text: msg.Text,
			Parts: msg.Parts, Price: s.cfg.Currency.Format(msg.Price), Status: msg.Status, Error: msg.Error}
		if k, ok := keys[msg.APIKeyID]; ok {
			page.Messages[i].Via = k.Label()
		}
	}
	return s.render(c, http.StatusOK, views.History(page))
}

// historyCSVHeader is the first row of the export.
var historyCSVHeader = []string{"Date", "From", "To", "Message", "Parts", "Price", "Status", "Error"}

// handleHistoryCSV streams the organisation's messages under the filters
// of the history page as a CSV file: read from the store a chunk at a time
// and written as they come, so that the list is never held whole, however
// long it is (BenchmarkHistoryCSV). Dates are in the member's time zone,
// named in each; prices are plain numbers with the four decimals they are
// kept in.
func (s *Server) handleHistoryCSV(c echo.Context) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	page, f, ok, err := s.historyPage(c, true)
	if err != nil {
		return err
	}
	if !ok {
		return s.render(c, http.StatusUnprocessableEntity, views.History(page))
	}
	loc := zoneOf(c)
	zone := " " + loc.String()

	res := c.Response()
	h := res.Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, `attachment; filename="history-`+strconv.FormatInt(m.Org.ID, 10)+"-"+time.Now().In(loc).Format("20060102")+`.csv"`)
	h.Set("Cache-Control", "no-store")
	res.WriteHeader(http.StatusOK)
	// The server's write timeout is for pages; a long export extends its
	// deadline as it goes.
	rc := http.NewResponseController(res.Writer)
	extend := func() { _ = rc.SetWriteDeadline(time.Now().Add(time.Minute)) }
	extend()

	w := csv.NewWriter(res)
	if err := w.Write(historyCSVHeader); err != nil {
		return s.abortExport(c, err)
	}
	var (
		row    = make([]string, len(historyCSVHeader))
		date   []byte
		n      int
		prices = map[switchboard.Money]string{}
	)
	err = s.db.StreamMessages(ctx, m.Org.ID, f, func(msg *switchboard.Message) error {
		date = msg.CreatedAt.In(loc).AppendFormat(date[:0], "2006-01-02 15:04:05 -07:00")
		row[0] = string(date) + zone
		row[1] = csvCell(msg.From)
		row[2] = csvCell(msg.To)
		row[3] = csvCell(msg.Text)
		row[4] = strconv.Itoa(msg.Parts)
		// A history holds few distinct prices; each is formatted once.
		price, ok := prices[msg.Price]
		if !ok {
			price = switchboard.FormatAmount(msg.Price, 4)
			if len(prices) < 1000 {
				prices[msg.Price] = price
			}
		}
		row[5] = price
		row[6] = msg.Status.Label()
		row[7] = csvCell(msg.Error)
		if err := w.Write(row); err != nil {
			return err
		}
		if n++; n%10_000 == 0 {
			extend()
		}
		return nil
	})
	if err == nil {
		w.Flush()
		err = w.Error()
	}
	if err != nil {
		return s.abortExport(c, err)
	}
	return nil
}

// abortExport ends an export that failed after its first bytes were sent:
// the status cannot change any more, so the connection is cut, and the
// browser reports a failed download rather than keep a file that looks
// whole. A client that went away is not an error of ours.
func (s *Server) abortExport(c echo.Context, err error) error {
	if c.Request().Context().Err() == nil && !errors.Is(err, http.ErrAbortHandler) {
		s.logger.Error("history export", "err", err, "path", logPath(c.Request()))
	}
	panic(http.ErrAbortHandler)
}

// csvCell guards a cell of the customer's text against formula injection
// (OWASP "CSV injection"): a cell a spreadsheet would read as a formula,
// one beginning with = + - @ or a tab or carriage return, is written after
// a single quote, which spreadsheets show as text. A plain number (a phone
// number in E.164, "+37255566677") is no formula and stays as it is.
func csvCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if plainNumber(s) {
			return s
		}
		return "'" + s
	}
	return s
}

// plainNumber reports whether s is a sign followed by digits.
func plainNumber(s string) bool {
	if len(s) < 2 || (s[0] != '+' && s[0] != '-') {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// orgCountry is the Country of the organisation of the request, "" when it
// has none.
func orgCountry(c echo.Context) string {
	if m := switchboard.MembershipFromContext(c.Request().Context()); m != nil && m.Org != nil {
		return m.Org.Country
	}
	return ""
}
