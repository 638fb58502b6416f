package handlers

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/views"
)

// Limits of the auto-replace table: a Find or Replace with is a word or a
// phrase, and the table is applied to every message sent.
const (
	maxReplacements     = 100
	maxReplacementChars = 100
	// emptyReplacementRows are the empty rows the page offers below the
	// table, so that rules can be added without JavaScript.
	emptyReplacementRows = 3
)

func (s *Server) handleAutoReplace(c echo.Context) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	ar, err := s.db.AutoReplace(ctx, m.Org.ID)
	if err != nil {
		return err
	}
	values := url.Values{"mode": {string(ar.Mode)}}
	for i, r := range ar.Rules {
		values.Set("find_"+strconv.Itoa(i), r.Find)
		values.Set("replace_"+strconv.Itoa(i), r.Replace)
	}
	page := views.AutoReplacePage{Membership: m, Form: views.Form{Values: values}, Rows: len(ar.Rules) + emptyReplacementRows}
	return s.render(c, http.StatusOK, views.AutoReplaceSettings(page))
}

func (s *Server) handleAutoReplaceSave(c echo.Context) error {
	values, err := form(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	ar, rows, fields := readAutoReplace(values)
	if len(fields) > 0 {
		page := views.AutoReplacePage{Membership: m, Form: views.Form{Values: values, Errors: fields}, Rows: rows + emptyReplacementRows}
		if msg, ok := fields[""]; ok {
			page.Form.Message = msg
		}
		return s.render(c, http.StatusUnprocessableEntity, views.AutoReplaceSettings(page))
	}
	if err := s.db.SaveAutoReplace(ctx, s.actor(c), m.Org.ID, ar); err != nil {
		return err
	}
	s.flash(c, "Auto-replace was saved.")
	return redirect(c, switchboard.OrgPath(m.Org.ID, "auto-replace"))
}

// readAutoReplace reads the posted mode and table: rows find_N/replace_N
// in the order of N, an empty Find removing its row. It returns the
// setting, how many rows the form showed (to show as many again), and the
// errors beside their fields ("" for the whole form).
func readAutoReplace(values url.Values) (switchboard.AutoReplace, int, switchboard.FieldErrors) {
	fields := switchboard.FieldErrors{}
	ar := switchboard.AutoReplace{Mode: switchboard.AutoReplaceMode(values.Get("mode"))}
	switch ar.Mode {
	case switchboard.AutoReplaceOff, switchboard.AutoReplaceOn, switchboard.AutoReplaceFull:
	default:
		fields.Add("mode", "Choose Off, On or Full.")
	}
	var indexes []int
	for key := range values {
		if n, ok := strings.CutPrefix(key, "find_"); ok {
			if i, err := strconv.Atoi(n); err == nil && i >= 0 && strconv.Itoa(i) == n {
				indexes = append(indexes, i)
			}
		}
	}
	sort.Ints(indexes)
	rows := 0
	if len(indexes) > 0 {
		rows = min(indexes[len(indexes)-1]+1, maxReplacements+emptyReplacementRows)
	}
	seen := map[string]int{}
	for _, i := range indexes {
		key := strconv.Itoa(i)
		find, replace := values.Get("find_"+key), values.Get("replace_"+key)
		if find == "" {
			continue
		}
		switch {
		case !utf8.ValidString(find) || strings.ContainsAny(find, "\r\n\x00"):
			fields.Add("find_"+key, "Find holds characters that cannot be typed into a message.")
		case utf8.RuneCountInString(find) > maxReplacementChars:
			fields.Add("find_"+key, "Find is at most 100 characters long.")
		}
		if _, dup := seen[find]; dup {
			fields.Add("find_"+key, "This Find is already listed above; each may be listed once.")
		}
		seen[find] = i
		switch {
		case !utf8.ValidString(replace) || strings.ContainsAny(replace, "\x00"):
			fields.Add("replace_"+key, "Replace with holds characters that cannot be sent.")
		case utf8.RuneCountInString(replace) > maxReplacementChars:
			fields.Add("replace_"+key, "Replace with is at most 100 characters long.")
		}
		ar.Rules = append(ar.Rules, switchboard.Replacement{Find: find, Replace: replace})
	}
	if len(ar.Rules) > maxReplacements {
		fields.Add("", "The table holds at most 100 replacements. Remove some rows and save again.")
	}
	return ar, rows, fields
}
