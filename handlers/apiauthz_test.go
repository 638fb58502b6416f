package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// apiRouteCase says how to call one route of the JSON API on a fixture:
// an organisation A with a contact in a group, whose ids fill :id and the
// body's {group}.
type apiRouteCase struct {
	body string
	// byID marks routes that name one of A's objects in the address: with
	// another organisation's key they answer 404.
	byID bool
	// message marks the messages routes, whose :id is a message of A.
	message bool
}

// apiRouteCases is the JSON API's authorization table: every route of
// s.APIRoutes() has an entry, and every entry is served.
var apiRouteCases = map[string]apiRouteCase{
	"GET /api/v1/openapi.json":    {},
	"GET /api/v1/balance":         {},
	"GET /api/v1/contacts":        {},
	"POST /api/v1/contacts":       {body: `{"phone_number": "+37255566690", "groups": [{group}]}`},
	"GET /api/v1/contacts/:id":    {byID: true},
	"PUT /api/v1/contacts/:id":    {body: `{"phone_number": "+37255566691", "first_name": "Changed", "groups": [{group}]}`, byID: true},
	"DELETE /api/v1/contacts/:id": {byID: true},
	"POST /api/v1/messages":       {body: `{"to": "+37255566692", "from": "Switchboard", "text": "Hello"}`},
	"GET /api/v1/messages":        {},
	"GET /api/v1/messages/:id":    {byID: true, message: true},
}

// TestAuthorizationAPI walks every route of the JSON API as every kind of
// caller: no key, a revoked key, a key in the address, the owner's
// logged-in session without a key (the API reads no cookie), another
// organisation's key, and the organisation's own key. Only the last
// reaches the organisation's data; another organisation's key gets 404
// for A's ids, also for A's group in a body, and changes nothing of A's.
func TestAuthorizationAPI(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	outsider := a.signup("outsider@example.com", "Other")
	a.fundOrg(owner.org, 100_000, "EE")
	a.fundOrg(outsider.org, 100_000, "EE")
	own, other := newKeyClient(t, a, owner.org), newKeyClient(t, a, outsider.org)
	revoked := newKeyClient(t, a, owner.org)
	revoked.revoke()
	group := addGroup(t, owner, owner.org, "Newsletter")
	// A message of A from the start, for the routes whose :id is one: the
	// cases run in the map's order, POST /messages not necessarily first.
	wantStatus(t, own.call(http.MethodPost, "/messages", `{"to": "+37255566689", "from": "Switchboard", "text": "Hello"}`), http.StatusAccepted)

	served := map[string]bool{}
	public := map[string]bool{}
	for _, r := range a.srv.APIRoutes() {
		key := r.Method + " " + r.Path
		served[key], public[key] = true, r.Public
		if _, ok := apiRouteCases[key]; !ok {
			t.Errorf("route %s has no entry in apiRouteCases: add one", key)
		}
	}
	for key := range apiRouteCases {
		if !served[key] {
			t.Errorf("apiRouteCases has %s, which the server does not have", key)
		}
	}

	callers := []string{"no key", "revoked key", "key in the address", "session", "other organisation", "own key"}
	for route, rc := range apiRouteCases {
		method, pattern, _ := strings.Cut(route, " ")
		for _, who := range callers {
			t.Run(route+" as "+who, func(t *testing.T) {
				// A's contact, made fresh for each case (one of them deletes it).
				n := a.rows(`SELECT COUNT(*) FROM contacts WHERE org_id = ?`, owner.org)
				phone := "+3725556" + itoa(int64(7000+n))
				contact := addContact(t, owner, owner.org, url.Values{"phone": {phone}, "first_name": {"Private"}, "groups": {itoa(group)}})
				id := contact
				if rc.message {
					id = int64(a.rows(`SELECT COALESCE(MAX(id), 1) FROM messages WHERE org_id = ?`, owner.org))
				}
				p := strings.TrimPrefix(strings.Replace(pattern, ":id", itoa(id), 1), "/api/v1")
				body := strings.ReplaceAll(rc.body, "{group}", itoa(group))

				k := own
				switch who {
				case "no key", "session":
					k = &keyClient{t: t, a: a, org: owner.org, hc: own.hc}
				case "revoked key":
					k = revoked
				case "other organisation":
					k = other
				}
				r := k.request(method, p, body)
				switch who {
				case "key in the address":
					q := r.URL.Query()
					q.Set("api_key", own.key)
					r.URL.RawQuery = q.Encode()
				case "session":
					// Everything a browser of the owner would send.
					r.AddCookie(owner.sessionCookie())
					r.Header.Set("X-CSRF-Token", owner.csrf())
					r.Header.Set("Sec-Fetch-Site", "same-origin")
				}
				res := k.send(r)
				switch {
				case public[route]:
					wantStatus(t, res, http.StatusOK)
				case who == "own key":
					if res.status < 200 || res.status > 299 {
						t.Fatalf("the organisation's key got %d\n%s", res.status, res.body)
					}
				case who == "other organisation":
					if rc.byID || strings.Contains(rc.body, "{group}") {
						wantProblem(t, res, http.StatusNotFound, nil)
					} else if res.status < 200 || res.status > 299 {
						t.Fatalf("another organisation's key got %d on its own data\n%s", res.status, res.body)
					}
					if strings.Contains(res.body, "Private") || strings.Contains(res.body, phone) {
						t.Fatalf("A's contact shows to another organisation's key\n%s", res.body)
					}
					if ct, err := a.db.FindContact(t.Context(), owner.org, contact); err != nil || ct.FirstName != "Private" || len(ct.Groups) != 1 {
						t.Fatalf("A's contact changed: %+v, %v", ct, err)
					}
				default:
					wantProblem(t, res, http.StatusUnauthorized, nil)
					if ct, err := a.db.FindContact(t.Context(), owner.org, contact); err != nil || ct.FirstName != "Private" {
						t.Fatalf("A's contact changed: %+v, %v", ct, err)
					}
				}
			})
		}
	}
}
