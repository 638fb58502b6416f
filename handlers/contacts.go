package handlers

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/sms"
	"switchboard/store"
	"switchboard/views"
)

// contactsPageSize is how many contacts a page of the phonebook shows.
const contactsPageSize = 50

// maxContactSearch bounds the Search box: longer than any name.
const maxContactSearch = 100

var errNoContact = switchboard.Errorf(switchboard.ENOTFOUND, "This contact does not exist, or you do not have access to it.")

// contactSearch turns the Search box into the store's filter: a number as
// people type one ("+372 5556 6677", "55566677", "0037255566677") is the
// start of numbers in E.164, with the organisation's country for one
// typed without a country code; anything else is the start of a name.
func contactSearch(q, country string) store.ContactFilter {
	q = strings.Join(strings.Fields(q), " ")
	if q == "" {
		return store.ContactFilter{}
	}
	digits, plus, ok := typedDigits(q)
	if !ok {
		return store.ContactFilter{Name: q}
	}
	var prefixes []string
	add := func(p string) {
		for _, have := range prefixes {
			if have == p {
				return
			}
		}
		prefixes = append(prefixes, p)
	}
	switch {
	case plus:
		add("+" + digits)
	case strings.HasPrefix(digits, "00"):
		add("+" + digits[2:])
	default:
		// A whole number as sent (its country's trunk prefix and all)…
		if n, err := sms.ParseNumber(q, country); err == nil {
			add(n)
		}
		// …or the start of one: in the organisation's country, after
		// the trunk prefix 0 many countries dial at home, or already
		// with its country code.
		if code := sms.CallingCode(country); code != 0 {
			add("+" + strconv.Itoa(code) + strings.TrimPrefix(digits, "0"))
		}
		add("+" + digits)
	}
	return store.ContactFilter{Phones: prefixes}
}

// typedDigits returns the digits of a search that is a phone number as
// people type one: digits, spaces, dots, dashes, brackets and a leading +,
// with at least one digit.
func typedDigits(q string) (digits string, plus, ok bool) {
	var b strings.Builder
	for i, r := range q {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			plus = true
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", false, false
		}
	}
	if b.Len() == 0 || b.Len() > 15 {
		return "", false, false
	}
	return b.String(), plus, true
}

// contactGroupFilter reads the group of the query string: "" for none; an
// id that is not one of the organisation's groups answers 404, as every
// id in a URL does.
func (s *Server) contactGroupFilter(c echo.Context, orgID int64) (*switchboard.Group, error) {
	v := c.QueryParam("group")
	if v == "" {
		return nil, nil
	}
	id, err := parseID(v)
	if err != nil {
		return nil, switchboard.Errorf(switchboard.ENOTFOUND, "This group does not exist, or you do not have access to it.")
	}
	return s.db.FindGroup(c.Request().Context(), orgID, id)
}

// handleContacts shows a page of the phonebook, in name order, under the
// search and group of the query string.
func (s *Server) handleContacts(c echo.Context) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	group, err := s.contactGroupFilter(c, m.Org.ID)
	if err != nil {
		return err
	}
	groups, err := s.db.ListGroups(ctx, m.Org.ID)
	if err != nil {
		return err
	}
	q := strings.TrimSpace(c.QueryParam("q"))
	values := url.Values{}
	if q != "" {
		values.Set("q", q)
	}
	if group != nil {
		values.Set("group", strconv.FormatInt(group.ID, 10))
	}
	after := c.QueryParam("after")
	if len(after) > store.MaxContactCursor {
		after = ""
	}
	page := views.ContactsPage{Membership: m, Filter: views.Form{Values: values, Errors: switchboard.FieldErrors{}}, Groups: groups, First: after == ""}
	if utf8.RuneCountInString(q) > maxContactSearch {
		page.Filter.Errors.Add("q", "Search for at most 100 characters: the start of a name or number is enough.")
		return s.render(c, http.StatusUnprocessableEntity, views.Contacts(page))
	}
	f := contactSearch(q, m.Org.Country)
	if group != nil {
		f.GroupID = group.ID
	}
	page.Contacts, page.Next, err = s.db.ListContacts(ctx, m.Org.ID, f, after, contactsPageSize)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.Contacts(page))
}

// contactFromURL is the organisation's contact of the URL; another
// organisation's, or an id that is none, answers 404.
func (s *Server) contactFromURL(c echo.Context, orgID int64) (*switchboard.Contact, error) {
	id, err := parseID(c.Param("contact"))
	if err != nil {
		return nil, errNoContact
	}
	return s.db.FindContact(c.Request().Context(), orgID, id)
}

// contactValues is a saved contact as its form shows it.
func contactValues(ct *switchboard.Contact) url.Values {
	v := url.Values{"phone": {ct.Phone}, "first_name": {ct.FirstName}, "last_name": {ct.LastName}, "email": {ct.Email}, "company": {ct.Company}}
	for _, g := range ct.Groups {
		v.Add("groups", strconv.FormatInt(g.ID, 10))
	}
	if ct.OptedOut {
		v.Set("opted_out", "on")
	}
	return v
}

// renderContactForm shows the contact's form with status.
func (s *Server) renderContactForm(c echo.Context, status int, page views.ContactFormPage) error {
	ctx := c.Request().Context()
	groups, err := s.db.ListGroups(ctx, page.Membership.Org.ID)
	if err != nil {
		return err
	}
	page.Groups = groups
	return s.render(c, status, views.ContactForm(page))
}

func (s *Server) handleContactNew(c echo.Context) error {
	m := switchboard.MembershipFromContext(c.Request().Context())
	return s.renderContactForm(c, http.StatusOK, views.ContactFormPage{Membership: m, Form: views.Form{Values: url.Values{}}})
}

func (s *Server) handleContact(c echo.Context) error {
	m := switchboard.MembershipFromContext(c.Request().Context())
	ct, err := s.contactFromURL(c, m.Org.ID)
	if err != nil {
		return err
	}
	return s.renderContactForm(c, http.StatusOK, views.ContactFormPage{Membership: m, ID: ct.ID, Form: views.Form{Values: contactValues(ct)}, Phone: ct.Phone, OptedOut: ct.OptedOut})
}

// readContactForm reads the contact form: one value per field, every
// ticked group. The number is read with the organisation's country; the
// groups must be ids (the store finds whether they are the organisation's).
func readContactForm(c echo.Context, m *switchboard.Membership) (*switchboard.Contact, []int64, url.Values, switchboard.FieldErrors, error) {
	values, err := form(c)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	kept := url.Values{}
	for _, k := range []string{"phone", "first_name", "last_name", "email", "company", "opted_out"} {
		if v := values.Get(k); v != "" {
			kept.Set(k, v)
		}
	}
	var groupIDs []int64
	seen := map[int64]bool{}
	for _, v := range c.Request().PostForm["groups"] {
		id, err := parseID(v)
		if err != nil {
			return nil, nil, nil, nil, switchboard.Errorf(switchboard.ENOTFOUND, "This group does not exist, or you do not have access to it.")
		}
		if !seen[id] {
			seen[id] = true
			groupIDs = append(groupIDs, id)
			kept.Add("groups", v)
		}
	}
	ct := &switchboard.Contact{OrgID: m.Org.ID, FirstName: values.Get("first_name"), LastName: values.Get("last_name"),
		Email: values.Get("email"), Company: values.Get("company"), OptedOut: values.Get("opted_out") != ""}
	fe := switchboard.FieldErrors{}
	typed := strings.TrimSpace(values.Get("phone"))
	if typed != "" {
		if n, err := sms.ParseNumber(typed, m.Org.Country); err == nil {
			ct.Phone = n
		} else {
			fe.Add("phone", typed+" is not a phone number. Enter it with its country code, such as +372 5556 6677.")
		}
	}
	if err := ct.Validate(); err != nil {
		for k, v := range switchboard.Fields(err) {
			if k == "phone" && fe["phone"] != "" {
				continue
			}
			fe.Add(k, v)
		}
	}
	return ct, groupIDs, kept, fe, nil
}

// saveContact answers the contact form, adding (id 0) or saving.
func (s *Server) saveContact(c echo.Context, id int64) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	page := views.ContactFormPage{Membership: m, ID: id}
	if id != 0 {
		saved, err := s.contactFromURL(c, m.Org.ID)
		if err != nil {
			return err
		}
		page.Phone, page.OptedOut = saved.Phone, saved.OptedOut
	}
	ct, groupIDs, kept, fe, err := readContactForm(c, m)
	if err != nil {
		return err
	}
	if len(fe) == 0 {
		ct.ID = id
		if id == 0 {
			err = s.db.CreateContact(ctx, s.actor(c), ct, groupIDs)
		} else {
			err = s.db.UpdateContact(ctx, s.actor(c), ct, groupIDs)
		}
		if switchboard.ErrorCode(err) == switchboard.ECONFLICT {
			if other, ferr := s.db.ContactByPhone(ctx, m.Org.ID, ct.Phone); ferr == nil {
				page.Duplicate = other.ID
			}
		}
		fe = switchboard.Fields(err)
		if fe == nil && err != nil {
			return err
		}
	}
	if len(fe) > 0 {
		page.Form = views.Form{Values: kept, Errors: fe}
		return s.renderContactForm(c, http.StatusUnprocessableEntity, page)
	}
	msg := "The contact " + contactName(ct) + " was saved."
	if id == 0 {
		msg = "The contact " + contactName(ct) + " was added."
	}
	if ct.OptedOut {
		msg += " It has opted out: nothing is sent to it."
	}
	s.flash(c, msg)
	return redirect(c, switchboard.OrgPath(m.Org.ID, "contacts"))
}

// contactName names a contact in a message: "Mari Tamm (+372…)", or the
// number alone.
func contactName(ct *switchboard.Contact) string {
	if n := ct.Name(); n != "" {
		return n + " (" + ct.Phone + ")"
	}
	return ct.Phone
}

func (s *Server) handleContactCreate(c echo.Context) error { return s.saveContact(c, 0) }

func (s *Server) handleContactSave(c echo.Context) error {
	id, err := parseID(c.Param("contact"))
	if err != nil {
		return errNoContact
	}
	return s.saveContact(c, id)
}

func (s *Server) handleContactDeleteConfirm(c echo.Context) error {
	m := switchboard.MembershipFromContext(c.Request().Context())
	ct, err := s.contactFromURL(c, m.Org.ID)
	if err != nil {
		return err
	}
	consequence := "The contact " + contactName(ct) + " will be deleted from the phonebook and from its groups. This cannot be undone."
	if ct.OptedOut {
		consequence += " Its opt-out stays: nothing will be sent to " + ct.Phone + " even after it is deleted."
	}
	return s.render(c, http.StatusOK, views.Confirm(views.ConfirmPage{
		Title:       "Delete the contact " + contactName(ct) + "?",
		Consequence: consequence,
		Action:      switchboard.OrgPath(m.Org.ID, "contacts/"+strconv.FormatInt(ct.ID, 10)+"/delete"),
		Button:      "Delete contact",
		CancelURL:   switchboard.OrgPath(m.Org.ID, "contacts/"+strconv.FormatInt(ct.ID, 10)),
	}))
}

func (s *Server) handleContactDelete(c echo.Context) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	ct, err := s.contactFromURL(c, m.Org.ID)
	if err != nil {
		return err
	}
	if err := s.db.DeleteContact(ctx, s.actor(c), m.Org.ID, ct.ID); err != nil {
		return err
	}
	s.flash(c, "The contact "+contactName(ct)+" was deleted.")
	return redirect(c, switchboard.OrgPath(m.Org.ID, "contacts"))
}

// contactsCSVHeader is the first row of the export.
var contactsCSVHeader = []string{"Phone", "First name", "Last name", "Email", "Company", "Groups", "Opted out"}

// handleContactsCSV streams the phonebook, or one group of it
// (?group=ID), as a CSV file, read from the store a chunk at a time and
// written as it comes (store.StreamContacts), so the phonebook is never
// held whole. Cells are guarded against formula injection as the
// history's are (csvCell). The export is audited before it starts.
func (s *Server) handleContactsCSV(c echo.Context) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	group, err := s.contactGroupFilter(c, m.Org.ID)
	if err != nil {
		return err
	}
	if err := s.db.ContactsExported(ctx, s.actor(c), m.Org.ID, group); err != nil {
		return err
	}
	var groupID int64
	name := "contacts-" + strconv.FormatInt(m.Org.ID, 10)
	if group != nil {
		groupID = group.ID
		name += "-group-" + strconv.FormatInt(group.ID, 10)
	}
	res := c.Response()
	h := res.Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, `attachment; filename="`+name+"-"+time.Now().In(zoneOf(c)).Format("20060102")+`.csv"`)
	h.Set("Cache-Control", "no-store")
	res.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(res.Writer)
	extend := func() { _ = rc.SetWriteDeadline(time.Now().Add(time.Minute)) }
	extend()

	w := csv.NewWriter(res)
	if err := w.Write(contactsCSVHeader); err != nil {
		return s.abortExport(c, err)
	}
	row := make([]string, len(contactsCSVHeader))
	var groups strings.Builder
	n := 0
	err = s.db.StreamContacts(ctx, m.Org.ID, groupID, func(ct *switchboard.Contact) error {
		groups.Reset()
		for i, g := range ct.Groups {
			if i > 0 {
				groups.WriteString("; ")
			}
			groups.WriteString(g.Name)
		}
		row[0] = csvCell(ct.Phone)
		row[1] = csvCell(ct.FirstName)
		row[2] = csvCell(ct.LastName)
		row[3] = csvCell(ct.Email)
		row[4] = csvCell(ct.Company)
		row[5] = csvCell(groups.String())
		row[6] = "No"
		if ct.OptedOut {
			row[6] = "Yes"
		}
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
