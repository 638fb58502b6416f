package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"switchboard"
	"switchboard/store"
)

// keyClient calls the JSON API with a key of one organisation, as a
// server would: no cookie jar, no session, the key in the Authorization
// header only.
type keyClient struct {
	t     testing.TB
	a     *app
	org   int64
	key   string // the plain key, sb_live_…
	keyID int64
	hc    *http.Client
}

// newKeyClient makes a real key of the organisation through the store and
// a client that sends it.
func newKeyClient(t testing.TB, a *app, org int64) *keyClient {
	t.Helper()
	return newNamedKeyClient(t, a, org, "Test key")
}

// newNamedKeyClient is newKeyClient with a key named name.
func newNamedKeyClient(t testing.TB, a *app, org int64, name string) *keyClient {
	t.Helper()
	plain, hash := switchboard.NewAPIKey()
	k := &switchboard.APIKey{OrgID: org, Name: name}
	if err := a.db.CreateAPIKey(context.Background(), switchboard.Actor{Name: "Test"}, k, hash, plain[:switchboard.APIKeyShown]); err != nil {
		t.Fatal(err)
	}
	return &keyClient{t: t, a: a, org: org, key: plain, keyID: k.ID, hc: &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// revoke revokes the client's key.
func (k *keyClient) revoke() {
	k.t.Helper()
	if _, err := k.a.db.RevokeAPIKey(context.Background(), switchboard.Actor{Name: "Test"}, k.org, k.keyID); err != nil {
		k.t.Fatal(err)
	}
}

// request builds a request to the API's path (under /api/v1) with the key;
// a body is sent as application/json.
func (k *keyClient) request(method, path, body string) *http.Request {
	k.t.Helper()
	var r *http.Request
	var err error
	if body != "" {
		r, err = http.NewRequest(method, k.a.ts.URL+"/api/v1"+path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
	} else {
		r, err = http.NewRequest(method, k.a.ts.URL+"/api/v1"+path, nil)
	}
	if err != nil {
		k.t.Fatal(err)
	}
	if k.key != "" {
		r.Header.Set("Authorization", "Bearer "+k.key)
	}
	return r
}

// send sends r and reads the answer whole. The API never sets a cookie:
// any Set-Cookie fails the test, whatever it answers.
func (k *keyClient) send(r *http.Request) *response {
	k.t.Helper()
	res, err := k.hc.Do(r)
	if err != nil {
		k.t.Fatalf("%s %s: %v", r.Method, r.URL, err)
	}
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if sc := res.Header.Values("Set-Cookie"); len(sc) > 0 {
		k.t.Errorf("%s %s set a cookie: %q", r.Method, r.URL.Path, sc)
	}
	return &response{status: res.StatusCode, body: b.String(), header: res.Header, location: res.Header.Get("Location")}
}

// call sends method path with body ("" for none).
func (k *keyClient) call(method, path, body string) *response {
	k.t.Helper()
	return k.send(k.request(method, path, body))
}

// wantProblem checks that res is a problem document with status, and
// that its field errors are exactly want (pointer or parameter → the
// start of its detail).
func wantProblem(t testing.TB, res *response, status int, want map[string]string) problemDoc {
	t.Helper()
	wantStatus(t, res, status)
	if ct := res.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json\n%s", ct, res.body)
	}
	var p problemDoc
	if err := json.Unmarshal([]byte(res.body), &p); err != nil {
		t.Fatalf("not a problem document: %v\n%s", err, res.body)
	}
	if p.Status != status || p.Title != http.StatusText(status) || p.Type != "about:blank" || p.Detail == "" {
		t.Fatalf("problem %+v, want status %d", p, status)
	}
	got := map[string]string{}
	for _, e := range p.Errors {
		got[e.Pointer+e.Parameter] = e.Detail
	}
	if len(got) != len(want) {
		t.Fatalf("field errors %v, want %v", got, want)
	}
	for field, start := range want {
		if !strings.HasPrefix(got[field], start) {
			t.Fatalf("error of %s is %q, want it to start %q (all: %v)", field, got[field], start, got)
		}
	}
	return p
}

// problemDoc is a problem document as a client reads it.
type problemDoc struct {
	Type, Title, Detail, Instance string
	Status                        int
	Errors                        []struct{ Pointer, Parameter, Detail string }
}

// contactDoc is a contact as a client reads it.
type contactDoc struct {
	ID          int64  `json:"id"`
	PhoneNumber string `json:"phone_number"`
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	Email       string `json:"email"`
	Company     string `json:"company"`
	Groups      []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"groups"`
	OptedOut  bool   `json:"opted_out"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

func decodeInto[T any](t testing.TB, res *response) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(res.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("answer: %v\n%s", err, res.body)
	}
	return v
}

// contactsWorld is two organisations, each with a key and a group: Acme
// (country EE) and Other.
type contactsWorld struct {
	a                          *app
	owner, outsider            *person
	key, otherKey              *keyClient
	group, otherGroup          int64
	otherContact               int64
	otherPhone, otherGroupName string
}

func newContactsWorld(t *testing.T) *contactsWorld {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	outsider := a.signup("outsider@example.com", "Other")
	a.fundOrg(owner.org, 0, "EE")
	a.fundOrg(outsider.org, 0, "EE")
	w := &contactsWorld{a: a, owner: owner, outsider: outsider, key: newKeyClient(t, a, owner.org), otherKey: newKeyClient(t, a, outsider.org)}
	w.group = addGroup(t, owner, owner.org, "Newsletter")
	w.otherGroup = addGroup(t, outsider, outsider.org, "Their customers")
	w.otherPhone = "+37255566670"
	w.otherContact = addContact(t, outsider, outsider.org, url.Values{"phone": {w.otherPhone}, "first_name": {"Secret"}, "groups": {itoa(w.otherGroup)}})
	return w
}

// audit returns the organisation's audit log, newest first.
func (w *contactsWorld) audit(t *testing.T, org int64) []switchboard.AuditEntry {
	t.Helper()
	list, _, err := w.a.db.ListAudit(context.Background(), org, 0, 20)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func TestAPIContactCreate(t *testing.T) {
	w := newContactsWorld(t)
	t.Run("201", func(t *testing.T) {
		res := w.key.call(http.MethodPost, "/contacts", `{"phone_number": "5556 6677", "first_name": " Mari ", "last_name": "Tamm", "email": "mari@example.com", "company": "Acme", "groups": [`+itoa(w.group)+`, `+itoa(w.group)+`], "opted_out": true}`)
		wantStatus(t, res, http.StatusCreated)
		ct := decodeInto[contactDoc](t, res)
		if ct.PhoneNumber != "+37255566677" || ct.FirstName != "Mari" || ct.LastName != "Tamm" || ct.Email != "mari@example.com" || ct.Company != "Acme" || !ct.OptedOut {
			t.Fatalf("contact %+v", ct)
		}
		if len(ct.Groups) != 1 || ct.Groups[0].ID != w.group || ct.Groups[0].Name != "Newsletter" {
			t.Fatalf("groups %+v", ct.Groups)
		}
		if !strings.HasSuffix(ct.CreatedAt, "Z") || ct.CreatedAt != ct.UpdatedAt {
			t.Fatalf("times %s %s", ct.CreatedAt, ct.UpdatedAt)
		}
		if res.location != "/api/v1/contacts/"+itoa(ct.ID) {
			t.Fatalf("Location %q", res.location)
		}
		saved, err := w.a.db.FindContact(context.Background(), w.owner.org, ct.ID)
		if err != nil || saved.Phone != "+37255566677" || !saved.OptedOut {
			t.Fatalf("stored %+v, %v", saved, err)
		}
		// The opt-out is audited as the page audits it, by the key.
		entry := w.audit(t, w.owner.org)[0]
		if entry.Action != store.AuditContactOptOutChange || !strings.Contains(entry.ActorName, "Test key") || !strings.Contains(entry.ActorName, w.key.key[:switchboard.APIKeyShown]) {
			t.Fatalf("audit %+v", entry)
		}
		if strings.Contains(entry.ActorName, w.key.key) {
			t.Fatal("the whole key is in the audit log")
		}
	})
	t.Run("201 only the number", func(t *testing.T) {
		res := w.key.call(http.MethodPost, "/contacts", `{"phone_number": "+372 5556 6678"}`)
		wantStatus(t, res, http.StatusCreated)
		ct := decodeInto[contactDoc](t, res)
		if ct.PhoneNumber != "+37255566678" || ct.Groups == nil || len(ct.Groups) != 0 || ct.OptedOut {
			t.Fatalf("contact %+v", ct)
		}
		if !strings.Contains(res.body, `"groups":[]`) {
			t.Fatalf("groups not an empty list: %s", res.body)
		}
	})
	t.Run("409 existing number", func(t *testing.T) {
		before := w.a.rows(`SELECT COUNT(*) FROM contacts WHERE org_id = ?`, w.owner.org)
		res := w.key.call(http.MethodPost, "/contacts", `{"phone_number": "0037255566677", "first_name": "Again"}`)
		wantProblem(t, res, http.StatusConflict, map[string]string{"#/phone_number": "There is already a contact with the number +37255566677."})
		if n := w.a.rows(`SELECT COUNT(*) FROM contacts WHERE org_id = ?`, w.owner.org); n != before {
			t.Fatalf("%d contacts, was %d", n, before)
		}
	})
	t.Run("201 a number another organisation has", func(t *testing.T) {
		wantStatus(t, w.key.call(http.MethodPost, "/contacts", `{"phone_number": "`+w.otherPhone+`"}`), http.StatusCreated)
	})
	t.Run("404 another organisation's group", func(t *testing.T) {
		res := w.key.call(http.MethodPost, "/contacts", `{"phone_number": "+37255566679", "groups": [`+itoa(w.group)+`, `+itoa(w.otherGroup)+`]}`)
		p := wantProblem(t, res, http.StatusNotFound, nil)
		if strings.Contains(res.body, "Their customers") || !strings.Contains(p.Detail, "group") {
			t.Fatalf("detail %q", p.Detail)
		}
		if n := w.a.rows(`SELECT COUNT(*) FROM contacts WHERE phone = '+37255566679'`); n != 0 {
			t.Fatal("the contact was added")
		}
		if n := w.a.rows(`SELECT COUNT(*) FROM group_contacts WHERE group_id = ?`, w.otherGroup); n != 1 {
			t.Fatalf("the other organisation's group has %d contacts", n)
		}
	})
	t.Run("404 a group that does not exist", func(t *testing.T) {
		wantProblem(t, w.key.call(http.MethodPost, "/contacts", `{"phone_number": "+37255566679", "groups": [-1]}`), http.StatusNotFound, nil)
	})
	t.Run("422 unknown member", func(t *testing.T) {
		wantProblem(t, w.key.call(http.MethodPost, "/contacts", `{"phone_number": "+37255566679", "nickname": "Mari"}`), http.StatusUnprocessableEntity,
			map[string]string{"#/nickname": "There is no field nickname here"})
	})
	t.Run("422 bad phone", func(t *testing.T) {
		wantProblem(t, w.key.call(http.MethodPost, "/contacts", `{"phone_number": "12ab"}`), http.StatusUnprocessableEntity,
			map[string]string{"#/phone_number": "12ab is not a phone number. Enter it with its country code"})
	})
	t.Run("422 no phone", func(t *testing.T) {
		wantProblem(t, w.key.call(http.MethodPost, "/contacts", `{"first_name": "Mari"}`), http.StatusUnprocessableEntity,
			map[string]string{"#/phone_number": "Enter the phone number"})
	})
	t.Run("422 bad email and long name", func(t *testing.T) {
		wantProblem(t, w.key.call(http.MethodPost, "/contacts", `{"phone_number": "+37255566679", "email": "mari@", "first_name": "`+strings.Repeat("ä", 101)+`"}`), http.StatusUnprocessableEntity,
			map[string]string{"#/email": "Enter an email address like name@example.com.", "#/first_name": "First name can be at most 100 characters."})
	})
	t.Run("422 wrong type", func(t *testing.T) {
		wantProblem(t, w.key.call(http.MethodPost, "/contacts", `{"phone_number": "+37255566679", "groups": ["Newsletter"]}`), http.StatusUnprocessableEntity,
			map[string]string{"#/groups": "groups must be a number"})
	})
	t.Run("400 not JSON", func(t *testing.T) {
		wantProblem(t, w.key.call(http.MethodPost, "/contacts", `{"phone_number": `), http.StatusBadRequest, nil)
	})
	t.Run("415", func(t *testing.T) {
		r := w.key.request(http.MethodPost, "/contacts", `{"phone_number": "+37255566679"}`)
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		wantProblem(t, w.key.send(r), http.StatusUnsupportedMediaType, nil)
	})
	t.Run("413", func(t *testing.T) {
		res := w.key.call(http.MethodPost, "/contacts", `{"phone_number": "+37255566679", "company": "`+strings.Repeat("x", 300<<10)+`"}`)
		wantProblem(t, res, http.StatusRequestEntityTooLarge, nil)
	})
	t.Run("401 no key", func(t *testing.T) {
		r := w.key.request(http.MethodPost, "/contacts", `{"phone_number": "+37255566679"}`)
		r.Header.Del("Authorization")
		wantProblem(t, w.key.send(r), http.StatusUnauthorized, nil)
		if n := w.a.rows(`SELECT COUNT(*) FROM contacts WHERE phone = '+37255566679'`); n != 0 {
			t.Fatal("the contact was added without a key")
		}
	})
}

func TestAPIContactList(t *testing.T) {
	w := newContactsWorld(t)
	for _, body := range []string{
		`{"phone_number": "+37255500001", "first_name": "Anna", "last_name": "Kask", "groups": [` + itoa(w.group) + `]}`,
		`{"phone_number": "+37255500002", "first_name": "Mari", "last_name": "Tamm"}`,
		`{"phone_number": "+37255500003", "first_name": "Berit", "last_name": "Mets", "groups": [` + itoa(w.group) + `]}`,
		`{"phone_number": "+37255500004", "first_name": "Mart", "last_name": "Kuusk"}`,
		`{"phone_number": "+37255500005", "first_name": "Carl", "last_name": "Saar"}`,
	} {
		wantStatus(t, w.key.call(http.MethodPost, "/contacts", body), http.StatusCreated)
	}
	type page struct {
		Data       []contactDoc `json:"data"`
		NextCursor *string      `json:"next_cursor"`
	}
	names := func(p page) string {
		var n []string
		for _, c := range p.Data {
			n = append(n, c.FirstName)
		}
		return strings.Join(n, ",")
	}
	t.Run("200 pages in name order", func(t *testing.T) {
		var all []string
		cursor := ""
		for i := 0; ; i++ {
			res := w.key.call(http.MethodGet, "/contacts?limit=2"+cursor, "")
			wantStatus(t, res, http.StatusOK)
			p := decodeInto[page](t, res)
			all = append(all, names(p))
			if p.NextCursor == nil {
				break
			}
			if i > 5 {
				t.Fatal("the pages never end")
			}
			cursor = "&cursor=" + url.QueryEscape(*p.NextCursor)
		}
		if got := strings.Join(all, "|"); got != "Anna,Berit|Carl,Mari|Mart" {
			t.Fatalf("pages %s", got)
		}
	})
	t.Run("200 default page", func(t *testing.T) {
		res := w.key.call(http.MethodGet, "/contacts", "")
		p := decodeInto[page](t, res)
		if names(p) != "Anna,Berit,Carl,Mari,Mart" || p.NextCursor != nil || !strings.Contains(res.body, `"next_cursor":null`) {
			t.Fatalf("page %s", res.body)
		}
		if strings.Contains(res.body, "Secret") {
			t.Fatal("another organisation's contact is listed")
		}
	})
	t.Run("200 search by name", func(t *testing.T) {
		if got := names(decodeInto[page](t, w.key.call(http.MethodGet, "/contacts?q=mar", ""))); got != "Mari,Mart" {
			t.Fatalf("q=mar: %s", got)
		}
		if got := names(decodeInto[page](t, w.key.call(http.MethodGet, "/contacts?q=kas", ""))); got != "Anna" {
			t.Fatalf("q=kas (a last name): %s", got)
		}
	})
	t.Run("200 search by number", func(t *testing.T) {
		if got := names(decodeInto[page](t, w.key.call(http.MethodGet, "/contacts?q="+url.QueryEscape("5550 0003"), ""))); got != "Berit" {
			t.Fatalf("q=5550 0003: %s", got)
		}
	})
	t.Run("200 group", func(t *testing.T) {
		if got := names(decodeInto[page](t, w.key.call(http.MethodGet, "/contacts?group="+itoa(w.group), ""))); got != "Anna,Berit" {
			t.Fatalf("group: %s", got)
		}
	})
	t.Run("404 another organisation's group", func(t *testing.T) {
		res := w.key.call(http.MethodGet, "/contacts?group="+itoa(w.otherGroup), "")
		wantProblem(t, res, http.StatusNotFound, nil)
		if strings.Contains(res.body, "Secret") || strings.Contains(res.body, "Their customers") {
			t.Fatal("another organisation's group shows")
		}
	})
	for _, bad := range []struct{ query, param, detail string }{
		{"limit=0", "limit", "limit must be a whole number from 1 to 100."},
		{"limit=101", "limit", "limit must be a whole number from 1 to 100."},
		{"limit=ten", "limit", "limit must be a whole number from 1 to 100."},
		{"limit=%2B5", "limit", "limit must be a whole number from 1 to 100."},
		{"cursor=%25%25", "cursor", "This cursor is not one the API gave"},
		{"group=news", "group", "group must be the id of one of your groups"},
		{"q=" + strings.Repeat("a", 101), "q", "Search for at most 100 characters"},
	} {
		t.Run("422 "+bad.query[:min(len(bad.query), 12)], func(t *testing.T) {
			wantProblem(t, w.key.call(http.MethodGet, "/contacts?"+bad.query, ""), http.StatusUnprocessableEntity, map[string]string{bad.param: bad.detail})
		})
	}
	t.Run("401 no key", func(t *testing.T) {
		r := w.key.request(http.MethodGet, "/contacts", "")
		r.Header.Del("Authorization")
		res := w.key.send(r)
		wantProblem(t, res, http.StatusUnauthorized, nil)
		if res.header.Get("WWW-Authenticate") == "" {
			t.Fatal("no WWW-Authenticate")
		}
	})
	t.Run("401 key in the address", func(t *testing.T) {
		r := w.key.request(http.MethodGet, "/contacts?key="+w.key.key, "")
		wantProblem(t, w.key.send(r), http.StatusUnauthorized, nil)
	})
}

func TestAPIContactReadSaveDelete(t *testing.T) {
	w := newContactsWorld(t)
	res := w.key.call(http.MethodPost, "/contacts", `{"phone_number": "+37255566677", "first_name": "Mari", "last_name": "Tamm", "email": "mari@example.com", "groups": [`+itoa(w.group)+`], "opted_out": true}`)
	wantStatus(t, res, http.StatusCreated)
	id := decodeInto[contactDoc](t, res).ID
	wantStatus(t, w.key.call(http.MethodPost, "/contacts", `{"phone_number": "+37255566678", "first_name": "Taken"}`), http.StatusCreated)
	p := "/contacts/" + itoa(id)

	t.Run("200 read", func(t *testing.T) {
		ct := decodeInto[contactDoc](t, w.key.call(http.MethodGet, p, ""))
		if ct.ID != id || ct.PhoneNumber != "+37255566677" || ct.FirstName != "Mari" || len(ct.Groups) != 1 || !ct.OptedOut {
			t.Fatalf("contact %+v", ct)
		}
	})
	for _, c := range []struct{ name, path string }{
		{"another organisation's", "/contacts/" + itoa(w.otherContact)},
		{"missing", "/contacts/999999"},
		{"non-numeric", "/contacts/mari"},
		{"zero", "/contacts/0"},
	} {
		t.Run("404 read "+c.name, func(t *testing.T) {
			res := w.key.call(http.MethodGet, c.path, "")
			wantProblem(t, res, http.StatusNotFound, nil)
			if strings.Contains(res.body, "Secret") || strings.Contains(res.body, w.otherPhone) {
				t.Fatal("another organisation's contact shows")
			}
		})
		t.Run("404 save "+c.name, func(t *testing.T) {
			wantProblem(t, w.key.call(http.MethodPut, c.path, `{"phone_number": "+37255566690", "first_name": "Mine"}`), http.StatusNotFound, nil)
		})
		t.Run("404 delete "+c.name, func(t *testing.T) {
			wantProblem(t, w.key.call(http.MethodDelete, c.path, ""), http.StatusNotFound, nil)
		})
	}
	if ct, err := w.a.db.FindContact(context.Background(), w.outsider.org, w.otherContact); err != nil || ct.FirstName != "Secret" || ct.Phone != w.otherPhone || len(ct.Groups) != 1 {
		t.Fatalf("the other organisation's contact changed: %+v, %v", ct, err)
	}
	t.Run("404 save with another organisation's group", func(t *testing.T) {
		wantProblem(t, w.key.call(http.MethodPut, p, `{"phone_number": "+37255566677", "groups": [`+itoa(w.otherGroup)+`]}`), http.StatusNotFound, nil)
		if ct, _ := w.a.db.FindContact(context.Background(), w.owner.org, id); len(ct.Groups) != 1 || ct.Groups[0].ID != w.group {
			t.Fatalf("groups %+v", ct.Groups)
		}
	})
	t.Run("409 save with a number another contact has", func(t *testing.T) {
		wantProblem(t, w.key.call(http.MethodPut, p, `{"phone_number": "+37255566678"}`), http.StatusConflict,
			map[string]string{"#/phone_number": "There is already a contact with the number +37255566678."})
	})
	t.Run("422 save", func(t *testing.T) {
		wantProblem(t, w.key.call(http.MethodPut, p, `{"phone_number": "+37255566677", "nickname": "M"}`), http.StatusUnprocessableEntity,
			map[string]string{"#/nickname": "There is no field nickname here"})
		wantProblem(t, w.key.call(http.MethodPut, p, `{"phone_number": "not a number"}`), http.StatusUnprocessableEntity,
			map[string]string{"#/phone_number": "not a number is not a phone number."})
	})
	t.Run("200 save replaces the whole contact", func(t *testing.T) {
		res := w.key.call(http.MethodPut, p, `{"phone_number": "+37255566677", "first_name": "Maria"}`)
		wantStatus(t, res, http.StatusOK)
		ct := decodeInto[contactDoc](t, res)
		if ct.FirstName != "Maria" || ct.LastName != "" || ct.Email != "" || len(ct.Groups) != 0 || ct.OptedOut {
			t.Fatalf("members left out were kept: %+v", ct)
		}
		entry := w.audit(t, w.owner.org)[0]
		if entry.Action != store.AuditContactOptOutChange || !strings.HasPrefix(entry.Detail, "Opted in again") || !strings.Contains(entry.ActorName, "Test key") {
			t.Fatalf("audit %+v", entry)
		}
	})
	t.Run("204 delete keeps the opt-out", func(t *testing.T) {
		wantStatus(t, w.key.call(http.MethodPut, p, `{"phone_number": "+37255566677", "first_name": "Maria", "opted_out": true}`), http.StatusOK)
		res := w.key.call(http.MethodDelete, p, "")
		wantStatus(t, res, http.StatusNoContent)
		if res.body != "" {
			t.Fatalf("body %q", res.body)
		}
		wantProblem(t, w.key.call(http.MethodGet, p, ""), http.StatusNotFound, nil)
		if n := w.a.rows(`SELECT COUNT(*) FROM opt_outs WHERE org_id = ? AND phone = '+37255566677'`, w.owner.org); n != 1 {
			t.Fatalf("%d opt-outs", n)
		}
		entry := w.audit(t, w.owner.org)[0]
		if entry.Action != store.AuditContactDeleted || !strings.Contains(entry.Target, "+37255566677") || !strings.Contains(entry.ActorName, "Test key") {
			t.Fatalf("audit %+v", entry)
		}
	})
	t.Run("401 revoked key, next request", func(t *testing.T) {
		wantStatus(t, w.key.call(http.MethodGet, "/contacts", ""), http.StatusOK)
		w.key.revoke()
		wantProblem(t, w.key.call(http.MethodGet, "/contacts", ""), http.StatusUnauthorized, nil)
		wantProblem(t, w.key.call(http.MethodPost, "/contacts", `{"phone_number": "+37255566691"}`), http.StatusUnauthorized, nil)
	})
}

func TestAPIBalance(t *testing.T) {
	w := newContactsWorld(t)
	w.a.fundOrg(w.owner.org, 125_000, "EE")
	res := w.key.call(http.MethodGet, "/balance", "")
	wantStatus(t, res, http.StatusOK)
	if res.body != `{"balance":"12.5000","currency":"EUR"}` {
		t.Fatalf("balance %s", res.body)
	}
	if got := w.otherKey.call(http.MethodGet, "/balance", "").body; got != `{"balance":"0.0000","currency":"EUR"}` {
		t.Fatalf("the other organisation's balance %s", got)
	}
	r := w.key.request(http.MethodGet, "/balance", "")
	wrong := []byte(w.key.key)
	wrong[len(wrong)-1] ^= 1 // another key of the right shape
	r.Header.Set("Authorization", "Bearer "+string(wrong))
	wantProblem(t, w.key.send(r), http.StatusUnauthorized, nil)
	// A session of the owner opens nothing: the API reads no cookie.
	r = w.key.request(http.MethodGet, "/balance", "")
	r.Header.Del("Authorization")
	r.AddCookie(w.owner.sessionCookie())
	wantProblem(t, w.key.send(r), http.StatusUnauthorized, nil)
}
