package handlers

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/store"
	"switchboard/views"
)

// statsPeriod is a period of the subaccounts' statistics, read from the
// query string.
type statsPeriod struct {
	From, To time.Time // the first and last day, midnight UTC
	// Values is the period as typed (one value per field), kept for the
	// form and its links.
	Values url.Values
}

// readStatsPeriod reads the Period, From and To fields of the statistics
// from the query string, one value per field (a repeated field counts
// once), as UTC days around now: This month (the default: its first day to
// today), Last month, Last 30 days (today included), or a Custom range,
// whose From and To are dates (YYYY-MM-DD), To not before From, and at
// most store.MaxStatsDays days apart. From or To typed without a period
// are a Custom range.
func readStatsPeriod(q url.Values, now time.Time) (statsPeriod, switchboard.FieldErrors) {
	p := statsPeriod{Values: url.Values{}}
	errs := switchboard.FieldErrors{}
	period := strings.TrimSpace(q.Get("period"))
	from, to := strings.TrimSpace(q.Get("from")), strings.TrimSpace(q.Get("to"))
	if period == "" {
		period = views.PeriodThisMonth
		if from != "" || to != "" {
			period = views.PeriodCustom
		}
	}
	p.Values.Set("period", period)
	now = now.UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	switch period {
	case views.PeriodThisMonth:
		p.From, p.To = month, today
	case views.PeriodLastMonth:
		p.From, p.To = month.AddDate(0, -1, 0), month.AddDate(0, 0, -1)
	case views.PeriodLast30Days:
		p.From, p.To = today.AddDate(0, 0, -29), today
	case views.PeriodCustom:
		p.Values.Set("from", from)
		p.Values.Set("to", to)
		day := func(field, label, v string) (time.Time, bool) {
			if v == "" {
				errs.Add(field, "Enter the "+label+" date of the range, such as "+today.Format(time.DateOnly)+".")
				return time.Time{}, false
			}
			d, err := time.Parse(time.DateOnly, v)
			if err != nil || d.Year() < 2000 || d.Year() > 9999 {
				errs.Add(field, "Enter the "+label+" date as a date, such as "+today.Format(time.DateOnly)+".")
				return time.Time{}, false
			}
			return d, true
		}
		f, okFrom := day("from", "From", from)
		t, okTo := day("to", "To", to)
		if okFrom && okTo {
			switch {
			case t.Before(f):
				errs.Add("to", "The To date is before the From date: choose a To date on or after "+from+".")
			case int(t.Sub(f).Hours()/24)+1 > store.MaxStatsDays:
				errs.Add("to", "A range is at most "+strconv.Itoa(store.MaxStatsDays)+" days long: choose a To date on or before "+
					f.AddDate(0, 0, store.MaxStatsDays-1).Format(time.DateOnly)+".")
			}
		}
		p.From, p.To = f, t
		return p, errs
	default:
		errs.Add("period", "Choose a period from the list: This month, Last month, Last 30 days or Custom range.")
		p.Values.Set("from", from)
		p.Values.Set("to", to)
		return p, errs
	}
	// The dates of a named period are shown in From and To.
	p.Values.Set("from", p.From.Format(time.DateOnly))
	p.Values.Set("to", p.To.Format(time.DateOnly))
	return p, errs
}

// subaccountStats reads the period asked for in the query string and the
// parent's statistics over it, for the Subaccounts page. A period typed
// wrong gives the view with its errors and status 422 (the page is shown
// with them, never a 500).
func (s *Server) subaccountStats(c echo.Context, m *switchboard.Membership) (views.SubaccountStatsView, int, error) {
	p, errs := readStatsPeriod(c.QueryParams(), s.db.Now())
	v := views.SubaccountStatsView{OrgID: m.Org.ID, Form: views.Form{Values: p.Values, Errors: errs}, Currency: s.cfg.Currency}
	if len(errs) > 0 {
		return v, http.StatusUnprocessableEntity, nil
	}
	st, err := s.db.SubaccountStats(c.Request().Context(), m.Org.ID, p.From, p.To)
	if err != nil {
		return v, 0, err
	}
	v.Shown, v.From, v.To, v.Query = true, st.From, st.To, p.Values.Encode()
	v.Rows = make([]views.SubaccountStatsRow, len(st.Subaccounts))
	for i, u := range st.Subaccounts {
		v.Rows[i] = statsRow(u)
	}
	v.Total = statsRow(st.Total)
	return v, http.StatusOK, nil
}

func statsRow(u store.SubaccountUsage) views.SubaccountStatsRow {
	return views.SubaccountStatsRow{OrgID: u.OrgID, Name: u.Name, Status: u.Status, Messages: u.Messages, Queued: u.Queued, Sent: u.Sent,
		Delivered: u.Delivered, Failed: u.Failed, Parts: u.Parts, Cost: u.Cost, Daily: u.Daily}
}

// subaccountStatsCSVHeader is the first row of the statistics' export; the
// cost's column names the currency.
func subaccountStatsCSVHeader(cur switchboard.Currency) []string {
	return []string{"Subaccount", "Status", "Messages", "Queued", "Sent", "Delivered", "Failed", "Parts", "Cost (" + string(cur) + ")"}
}

// handleSubaccountStatsCSV sends the statistics of the period of the query
// string (the Subaccounts page's form) as a CSV file: one row per
// subaccount with the figures of the page's table, the cost a plain number
// with the four decimals it is kept in (as the history's prices), the
// names guarded against formula injection. A period typed wrong shows the
// statistics' form with its errors (422).
func (s *Server) handleSubaccountStatsCSV(c echo.Context) error {
	m := switchboard.MembershipFromContext(c.Request().Context())
	v, status, err := s.subaccountStats(c, m)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return s.render(c, status, views.SubaccountStatsPage(v))
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write(subaccountStatsCSVHeader(s.cfg.Currency))
	n := func(i int64) string { return strconv.FormatInt(i, 10) }
	for _, r := range v.Rows {
		w.Write([]string{csvCell(r.Name), r.Status.Label(), n(r.Messages), n(r.Queued), n(r.Sent), n(r.Delivered), n(r.Failed), n(r.Parts),
			switchboard.FormatAmount(r.Cost, 4)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, `attachment; filename="subaccounts-`+strconv.FormatInt(m.Org.ID, 10)+"-"+
		v.From.Format(time.DateOnly)+"-to-"+v.To.Format(time.DateOnly)+`.csv"`)
	h.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", []byte(b.String()))
}
