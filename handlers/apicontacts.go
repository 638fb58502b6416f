package handlers

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/sms"
	"switchboard/store"
)

// The phonebook through the JSON API (PRODUCT.md § API): the contacts page's
// list, search and form as JSON, for the key's organisation only. Every id,
// in the address or in a body, is looked up within that organisation, so
// another organisation's contact or group answers 404 exactly as a missing
// one does.

// apiContactsLimit is how many contacts a page of the list holds unless
// ?limit says otherwise (1 to store.ContactPageMax).
const apiContactsLimit = 50

// apiContact is a contact as the API shows it.
type apiContact struct {
	ID          int64           `json:"id"`
	PhoneNumber string          `json:"phone_number"`
	FirstName   string          `json:"first_name"`
	LastName    string          `json:"last_name"`
	Email       string          `json:"email"`
	Company     string          `json:"company"`
	Groups      []apiGroupEntry `json:"groups"`
	OptedOut    bool            `json:"opted_out"`
	CreatedAt   string          `json:"created_at"`
	UpdatedAt   string          `json:"updated_at"`
}

// apiGroupEntry names one group a contact is in.
type apiGroupEntry struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// apiContactTime writes a time as every answer of the API does: RFC 3339
// in UTC.
func apiContactTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func newAPIContact(ct *switchboard.Contact) apiContact {
	out := apiContact{ID: ct.ID, PhoneNumber: ct.Phone, FirstName: ct.FirstName, LastName: ct.LastName, Email: ct.Email,
		Company: ct.Company, Groups: make([]apiGroupEntry, 0, len(ct.Groups)), OptedOut: ct.OptedOut,
		CreatedAt: apiContactTime(ct.CreatedAt), UpdatedAt: apiContactTime(ct.UpdatedAt)}
	for _, g := range ct.Groups {
		out.Groups = append(out.Groups, apiGroupEntry{ID: g.ID, Name: g.Name})
	}
	return out
}

// apiContactBody is the body of POST /contacts and PUT /contacts/{id}:
// the whole contact. PhoneNumber is a pointer so that a body without it is
// told what is missing rather than that "" is no number.
type apiContactBody struct {
	PhoneNumber *string `json:"phone_number"`
	FirstName   string  `json:"first_name"`
	LastName    string  `json:"last_name"`
	Email       string  `json:"email"`
	Company     string  `json:"company"`
	Groups      []int64 `json:"groups"`
	OptedOut    bool    `json:"opted_out"`
}

// apiContactFields maps the field names of the pages' errors (Contact.Validate,
// the store) to the members of the API's body.
var apiContactFields = map[string]string{"phone": "phone_number"}

// renameContactFields returns err with its field errors renamed for the API;
// err itself when it has none.
func renameContactFields(err error, names map[string]string) error {
	e, ok := err.(*switchboard.Error)
	if !ok || len(e.Fields) == 0 {
		return err
	}
	renamed := switchboard.FieldErrors{}
	for field, msg := range e.Fields {
		if name, ok := names[field]; ok {
			field = name
		}
		renamed.Add(field, msg)
	}
	return &switchboard.Error{Code: e.Code, Message: e.Message, Fields: renamed}
}

// readAPIContact reads and checks the body of a contact for the caller's
// organisation: the number read with the organisation's country, the
// other fields checked as the page checks them, in the page's words.
func readAPIContact(c echo.Context, caller *store.APICaller) (*switchboard.Contact, []int64, error) {
	var body apiContactBody
	if err := decodeJSON(c, &body); err != nil {
		return nil, nil, err
	}
	ct := &switchboard.Contact{OrgID: caller.Org.ID, FirstName: body.FirstName, LastName: body.LastName,
		Email: body.Email, Company: body.Company, OptedOut: body.OptedOut}
	fe := switchboard.FieldErrors{}
	if body.PhoneNumber != nil {
		if typed := strings.TrimSpace(*body.PhoneNumber); typed != "" {
			if n, err := sms.ParseNumber(typed, caller.Org.Country); err == nil {
				ct.Phone = n
			} else {
				fe.Add("phone_number", typed+" is not a phone number. Enter it with its country code, such as +372 5556 6677.")
			}
		}
	}
	if err := ct.Validate(); err != nil {
		fe.Merge(renameContactFields(err, apiContactFields))
	}
	if len(fe) > 0 {
		return nil, nil, fe.Err()
	}
	var groupIDs []int64
	seen := map[int64]bool{}
	for _, id := range body.Groups {
		if !seen[id] {
			seen[id] = true
			groupIDs = append(groupIDs, id)
		}
	}
	return ct, groupIDs, nil
}

// apiContactID reads the {id} of the address: anything but a positive
// number answers 404, as the page does, since no contact has that id.
func apiContactID(c echo.Context) (int64, error) {
	id, err := parseID(c.Param("id"))
	if err != nil {
		return 0, errNoContact
	}
	return id, nil
}

// apiContactCursor reads ?cursor: the place in the list's order
// (store.ContactKey) of the last contact of the page before, as
// handleAPIContacts wrote it (base64url, so that the names in it need no
// escaping and nobody is tempted to build one).
func apiContactCursor(v string) (string, bool) {
	if v == "" {
		return "", true
	}
	if len(v) > base64.RawURLEncoding.EncodedLen(store.MaxContactCursor) {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(b) == 0 || !utf8.Valid(b) {
		return "", false
	}
	return string(b), true
}

// apiContactLimit reads ?limit: 1 to max, def when absent.
func apiContactLimit(v string, def, max int) (int, bool) {
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max || strings.TrimLeft(v, "0123456789") != "" {
		return 0, false
	}
	return n, true
}

// handleAPIContacts lists the organisation's contacts in the page's order
// (by name, then number), a page at a time, under the page's search (?q:
// the start of a name or a number) and ?group.
func (s *Server) handleAPIContacts(c echo.Context) error {
	caller := apiCaller(c)
	fe := switchboard.FieldErrors{}
	after, ok := apiContactCursor(c.QueryParam("cursor"))
	if !ok {
		fe.Add("cursor", "This cursor is not one the API gave: pass next_cursor of the page before as it is.")
	}
	limit, ok := apiContactLimit(c.QueryParam("limit"), apiContactsLimit, store.ContactPageMax)
	if !ok {
		fe.Add("limit", fmt.Sprintf("limit must be a whole number from 1 to %d.", store.ContactPageMax))
	}
	q := strings.TrimSpace(c.QueryParam("q"))
	if utf8.RuneCountInString(q) > maxContactSearch {
		fe.Add("q", "Search for at most 100 characters: the start of a name or number is enough.")
	}
	var groupID int64
	if v := c.QueryParam("group"); v != "" {
		id, err := parseID(v)
		if err != nil {
			fe.Add("group", "group must be the id of one of your groups, such as 12.")
		}
		groupID = id
	}
	if len(fe) > 0 {
		return fe.Err()
	}
	f := contactSearch(q, caller.Org.Country)
	f.GroupID = groupID
	list, next, err := s.db.ListContacts(c.Request().Context(), caller.Org.ID, f, after, limit)
	if err != nil {
		return err
	}
	page := apiList[apiContact]{Data: make([]apiContact, 0, len(list))}
	for i := range list {
		page.Data = append(page.Data, newAPIContact(&list[i]))
	}
	if next != "" {
		cursor := base64.RawURLEncoding.EncodeToString([]byte(next))
		page.NextCursor = &cursor
	}
	return apiJSON(c, http.StatusOK, page)
}

// handleAPIContact answers one contact of the organisation.
func (s *Server) handleAPIContact(c echo.Context) error {
	id, err := apiContactID(c)
	if err != nil {
		return err
	}
	ct, err := s.db.FindContact(c.Request().Context(), apiCaller(c).Org.ID, id)
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, newAPIContact(ct))
}

// handleAPIContactCreate adds a contact: 201 with the contact and its
// address. A number the organisation has already is 409, beside
// phone_number, in the page's words.
func (s *Server) handleAPIContactCreate(c echo.Context) error {
	caller := apiCaller(c)
	ct, groupIDs, err := readAPIContact(c, caller)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := s.db.CreateContact(ctx, caller.Actor(c.RealIP()), ct, groupIDs); err != nil {
		return renameContactFields(err, apiContactFields)
	}
	// Read back with its groups' names, as GET answers it.
	saved, err := s.db.FindContact(ctx, caller.Org.ID, ct.ID)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, apiBase+"/contacts/"+strconv.FormatInt(saved.ID, 10))
	return apiJSON(c, http.StatusCreated, newAPIContact(saved))
}

// handleAPIContactSave replaces a contact with the body: a member left out
// is emptied (no groups, not opted out), as PUT means.
func (s *Server) handleAPIContactSave(c echo.Context) error {
	caller := apiCaller(c)
	id, err := apiContactID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	// A contact that is not the organisation's is 404 before its body is
	// judged: a caller learns nothing about ids that are not theirs.
	if _, err := s.db.FindContact(ctx, caller.Org.ID, id); err != nil {
		return err
	}
	ct, groupIDs, err := readAPIContact(c, caller)
	if err != nil {
		return err
	}
	ct.ID = id
	if err := s.db.UpdateContact(ctx, caller.Actor(c.RealIP()), ct, groupIDs); err != nil {
		return renameContactFields(err, apiContactFields)
	}
	saved, err := s.db.FindContact(ctx, caller.Org.ID, id)
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, newAPIContact(saved))
}

// handleAPIContactDelete deletes a contact: 204. Its number's opt-out
// stays, as on the page.
func (s *Server) handleAPIContactDelete(c echo.Context) error {
	caller := apiCaller(c)
	id, err := apiContactID(c)
	if err != nil {
		return err
	}
	if err := s.db.DeleteContact(c.Request().Context(), caller.Actor(c.RealIP()), caller.Org.ID, id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
