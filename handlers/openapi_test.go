package handlers_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"switchboard"
	"switchboard/handlers"
)

// The OpenAPI conformance test (issue 11, point 4): the document served at
// /api/v1/openapi.json is valid OpenAPI 3.1 (kin-openapi), names exactly
// the routes the server has, and the server's real answers, successes
// and errors, validate against it.

// loadOpenAPI fetches the document from the real server, without a key,
// and loads it with kin-openapi.
func loadOpenAPI(t testing.TB, a *app) (*openapi3.T, []byte) {
	t.Helper()
	res, err := http.Get(a.ts.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /api/v1/openapi.json: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if sc := res.Header.Values("Set-Cookie"); len(sc) > 0 {
		t.Fatalf("the document sets a cookie: %q", sc)
	}
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return doc, body
}

// documentedRoutes lists the document's operations as Echo's routes:
// "GET /api/v1/contacts/:id", with whether each needs a key.
func documentedRoutes(doc *openapi3.T) map[string]bool {
	routes := map[string]bool{}
	for p, item := range doc.Paths.Map() {
		echoPath := "/api/v1" + strings.NewReplacer("{", ":", "}", "").Replace(p)
		for method, op := range item.Operations() {
			security := doc.Security
			if op.Security != nil {
				security = *op.Security
			}
			routes[method+" "+echoPath] = len(security) > 0
		}
	}
	return routes
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	a := newApp(t)
	doc, raw := loadOpenAPI(t, a)
	if doc.OpenAPI != "3.1.0" || !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the document is not valid OpenAPI 3.1: %v", err)
	}
	// The server is the panel's own address (--base-url), not the
	// request's Host.
	if len(doc.Servers) != 1 || doc.Servers[0].URL != testBaseURL+"/api/v1" {
		t.Fatalf("servers %+v, want %s/api/v1", doc.Servers, testBaseURL)
	}
	// The rest is the embedded file as written.
	var served, written map[string]any
	if err := json.Unmarshal(raw, &served); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(file, &written); err != nil {
		t.Fatal(err)
	}
	delete(served, "servers")
	delete(written, "servers")
	if a, b := mustJSON(t, served), mustJSON(t, written); a != b {
		t.Fatal("the served document differs from openapi.json beyond its servers")
	}
	// Bearer keys, and request bodies that refuse members they do not name
	// (as decodeJSON does).
	if s := doc.Components.SecuritySchemes["bearer"]; s == nil || s.Value.Type != "http" || s.Value.Scheme != "bearer" {
		t.Fatalf("security scheme %+v", s)
	}
	for p, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody == nil {
				continue
			}
			schema := op.RequestBody.Value.Content.Get("application/json").Schema.Value
			if schema.AdditionalProperties.Has == nil || *schema.AdditionalProperties.Has {
				t.Errorf("%s %s: the body's schema must say additionalProperties: false", method, p)
			}
		}
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestOpenAPIRoutes: every route of the server is documented, with the
// key it needs, and every documented operation is served (but the
// pending ones).
func TestOpenAPIRoutes(t *testing.T) {
	a := newApp(t)
	doc, _ := loadOpenAPI(t, a)
	documented := documentedRoutes(doc)
	served := map[string]bool{}
	for _, r := range a.srv.APIRoutes() {
		key := r.Method + " " + r.Path
		served[key] = true
		needsKey, ok := documented[key]
		switch {
		case !ok:
			t.Errorf("route %s is served but not documented in handlers/openapi.json", key)
		case needsKey == r.Public:
			t.Errorf("route %s: the document says a key is needed: %v; the server: %v", key, needsKey, !r.Public)
		}
	}
	var missing []string
	for key := range documented {
		if !served[key] {
			missing = append(missing, key)
		}
	}
	sort.Strings(missing)
	for _, key := range missing {
		t.Errorf("operation %s is documented but not served", key)
	}
	// Every operation with a key documents what a key can be refused
	// with; every body, what a body can be refused with.
	for p, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			key := method + " /api/v1" + strings.NewReplacer("{", ":", "}", "").Replace(p)
			var want []string
			if documented[key] {
				want = append(want, "401", "429")
			}
			if op.RequestBody != nil {
				want = append(want, "400", "413", "415", "422")
			}
			for _, status := range want {
				if op.Responses.Value(status) == nil {
					t.Errorf("%s does not document %s", key, status)
				}
			}
		}
	}
}

// conformanceCase is one request to the real server whose request and
// answer are validated against the document.
type conformanceCase struct {
	name   string
	method string
	path   string // under /api/v1; may be filled by pathFn
	pathFn func(t *testing.T) string
	body   string
	// ctype replaces the body's Content-Type.
	ctype string
	// header is added to the request.
	header map[string]string
	// as: "" the organisation's key, "none" without a key, "revoked" a
	// revoked key of the organisation, "other" the key of another
	// organisation, whose balance is zero, "suspended" the key of a
	// subaccount of the organisation that it suspended.
	as         string
	wantStatus int
	// invalidRequest marks a request the document itself refuses (an
	// unknown member, a bad parameter, no key): the validator must refuse
	// it too, and the server must answer the error documented for it.
	invalidRequest bool
	// route is the Echo route the case drives, to skip pending ones.
	route string
}

// conformanceWorld is what the cases need: an organisation with credit, a
// key, a group and a contact; another organisation with a contact and a
// group.
type conformanceWorld struct {
	*contactsWorld
	revoked       *keyClient
	suspended     *keyClient
	contact       int64
	taken         string // a number the organisation's contact has
	router        routers.Router
	doc           *openapi3.T
	servedRoutes  map[string]bool
	ownMessage    func() int64
	otherMessages int64
}

func newConformanceWorld(t *testing.T) *conformanceWorld {
	w := &conformanceWorld{contactsWorld: newContactsWorld(t)}
	w.a.fundOrg(w.owner.org, 100_000, "EE")
	w.revoked = newKeyClient(t, w.a, w.owner.org)
	w.revoked.revoke()
	sub := w.a.signup("sub@example.com", "Acme Estonia")
	w.a.makeSubaccount(w.owner.org, sub.org, switchboard.FundingShared, 0, switchboard.SubaccountSuspended)
	w.suspended = newKeyClient(t, w.a, sub.org)
	w.taken = "+37255566611"
	w.contact = addContact(t, w.owner, w.owner.org, url.Values{"phone": {w.taken}, "first_name": {"Mari"}, "groups": {itoa(w.group)}})
	addContact(t, w.owner, w.owner.org, url.Values{"phone": {"+37255566610"}, "first_name": {"Zed"}})
	doc, _ := loadOpenAPI(t, w.a)
	// Requests go to the test server, not --base-url.
	doc.Servers = openapi3.Servers{{URL: w.a.ts.URL + "/api/v1"}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	w.doc, w.router = doc, router
	w.servedRoutes = map[string]bool{}
	for _, r := range w.a.srv.APIRoutes() {
		w.servedRoutes[r.Method+" "+r.Path] = true
	}
	w.ownMessage = func() int64 {
		return int64(w.a.rows(`SELECT COALESCE(MAX(id), 0) FROM messages WHERE org_id = ?`, w.owner.org))
	}
	return w
}

// bearerOnly is the document's security scheme as the validator checks
// it: a request without a bearer key does not follow the document.
func bearerOnly(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.SecuritySchemeName != "bearer" {
		return errors.New("unknown security scheme " + in.SecuritySchemeName)
	}
	auth := in.RequestValidationInput.Request.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "Bearer ") {
		return errors.New("no bearer key")
	}
	return nil
}

// run sends the case's request to the server, after validating it against
// the document, and validates the answer. It returns the answer.
func (w *conformanceWorld) run(t *testing.T, c conformanceCase) *response {
	t.Helper()
	if c.route != "" && !w.servedRoutes[c.route] {
		t.Fatalf("%s is not served", c.route)
	}
	p := c.path
	if c.pathFn != nil {
		p = c.pathFn(t)
	}
	k := w.key
	switch c.as {
	case "none":
		k = &keyClient{t: t, a: w.a, org: w.owner.org, hc: w.key.hc}
	case "revoked":
		k = w.revoked
	case "other":
		k = w.otherKey
	case "suspended":
		k = w.suspended
	}
	build := func() *http.Request {
		r := k.request(c.method, p, c.body)
		if c.ctype != "" {
			r.Header.Set("Content-Type", c.ctype)
		}
		for name, v := range c.header {
			r.Header.Set(name, v)
		}
		return r
	}
	ctx := context.Background()
	opts := &openapi3filter.Options{AuthenticationFunc: bearerOnly, IncludeResponseStatus: true, MultiError: true}

	// The request, as the document sees it.
	vr := build()
	route, params, err := w.router.FindRoute(vr)
	if err != nil {
		t.Fatalf("the document has no operation for %s %s: %v", c.method, p, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: vr, PathParams: params, Route: route, Options: opts}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	if c.invalidRequest && reqErr == nil {
		t.Fatalf("the document accepts the request %s %s, which the case says it refuses", c.method, p)
	} else if !c.invalidRequest && reqErr != nil {
		t.Fatalf("the request does not follow the document: %v", reqErr)
	}

	// The answer, as the server gives it.
	res := k.send(build())
	if res.status != c.wantStatus {
		t.Fatalf("status %d, want %d\n%s", res.status, c.wantStatus, res.body)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.status, Header: res.header, Options: opts}
	out.SetBodyBytes([]byte(res.body))
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		t.Fatalf("the answer does not follow the document: %v\n%s", err, res.body)
	}
	return res
}

func TestOpenAPIAnswers(t *testing.T) {
	w := newConformanceWorld(t)
	own, other := itoa(w.contact), itoa(w.otherContact)
	const contacts, contact = "GET /api/v1/contacts", "GET /api/v1/contacts/:id"
	const create, save, del = "POST /api/v1/contacts", "PUT /api/v1/contacts/:id", "DELETE /api/v1/contacts/:id"
	const send, list, one = "POST /api/v1/messages", "GET /api/v1/messages", "GET /api/v1/messages/:id"
	big := `{"phone_number": "+37255566612", "company": "` + strings.Repeat("x", 300<<10) + `"}`
	message := `{"to": "+37255566677", "from": "Switchboard", "text": "Hello"}`
	cases := []conformanceCase{
		{name: "openapi 200", method: "GET", path: "/openapi.json", as: "none", wantStatus: 200, route: "GET /api/v1/openapi.json"},
		{name: "balance 200", method: "GET", path: "/balance", wantStatus: 200, route: "GET /api/v1/balance"},
		{name: "balance 401 no key", method: "GET", path: "/balance", as: "none", wantStatus: 401, invalidRequest: true, route: "GET /api/v1/balance"},
		{name: "balance 401 revoked", method: "GET", path: "/balance", as: "revoked", wantStatus: 401, route: "GET /api/v1/balance"},

		{name: "contacts 200", method: "GET", path: "/contacts", wantStatus: 200, route: contacts},
		{name: "contacts 200 filtered", method: "GET", path: "/contacts?limit=1&q=mar&group=" + itoa(w.group), wantStatus: 200, route: contacts},
		{name: "contacts 200 next page", method: "GET", pathFn: func(t *testing.T) string { return "/contacts?limit=1&cursor=" + w.nextCursor(t) }, wantStatus: 200, route: contacts},
		{name: "contacts 401", method: "GET", path: "/contacts", as: "none", wantStatus: 401, invalidRequest: true, route: contacts},
		{name: "contacts 404 other group", method: "GET", path: "/contacts?group=" + itoa(w.otherGroup), wantStatus: 404, route: contacts},
		{name: "contacts 422 limit", method: "GET", path: "/contacts?limit=101", wantStatus: 422, invalidRequest: true, route: contacts},
		{name: "contacts 422 cursor", method: "GET", path: "/contacts?cursor=%25", wantStatus: 422, route: contacts},

		{name: "create 201", method: "POST", path: "/contacts", body: `{"phone_number": "+37255566613", "first_name": "Anna", "groups": [` + itoa(w.group) + `], "opted_out": true}`, wantStatus: 201, route: create},
		{name: "create 400", method: "POST", path: "/contacts", body: `{"phone_number"`, wantStatus: 400, invalidRequest: true, route: create},
		{name: "create 401", method: "POST", path: "/contacts", body: `{"phone_number": "+37255566614"}`, as: "revoked", wantStatus: 401, route: create},
		{name: "create 404 other group", method: "POST", path: "/contacts", body: `{"phone_number": "+37255566614", "groups": [` + itoa(w.otherGroup) + `]}`, wantStatus: 404, route: create},
		{name: "create 409", method: "POST", path: "/contacts", body: `{"phone_number": "` + w.taken + `"}`, wantStatus: 409, route: create},
		{name: "create 413", method: "POST", path: "/contacts", body: big, wantStatus: 413, invalidRequest: true, route: create},
		{name: "create 415", method: "POST", path: "/contacts", body: `{"phone_number": "+37255566614"}`, ctype: "text/plain", wantStatus: 415, invalidRequest: true, route: create},
		{name: "create 422 unknown member", method: "POST", path: "/contacts", body: `{"phone_number": "+37255566614", "nickname": "A"}`, wantStatus: 422, invalidRequest: true, route: create},
		{name: "create 422 phone", method: "POST", path: "/contacts", body: `{"phone_number": "12ab"}`, wantStatus: 422, route: create},

		{name: "contact 200", method: "GET", path: "/contacts/" + own, wantStatus: 200, route: contact},
		{name: "contact 401", method: "GET", path: "/contacts/" + own, as: "none", wantStatus: 401, invalidRequest: true, route: contact},
		{name: "contact 404 other", method: "GET", path: "/contacts/" + other, wantStatus: 404, route: contact},
		{name: "contact 404 not a number", method: "GET", path: "/contacts/mari", wantStatus: 404, invalidRequest: true, route: contact},

		{name: "save 200", method: "PUT", path: "/contacts/" + own, body: `{"phone_number": "` + w.taken + `", "first_name": "Maria", "groups": [` + itoa(w.group) + `]}`, wantStatus: 200, route: save},
		{name: "save 400", method: "PUT", path: "/contacts/" + own, body: `[`, wantStatus: 400, invalidRequest: true, route: save},
		{name: "save 401", method: "PUT", path: "/contacts/" + own, body: `{"phone_number": "` + w.taken + `"}`, as: "none", wantStatus: 401, invalidRequest: true, route: save},
		{name: "save 404 other", method: "PUT", path: "/contacts/" + other, body: `{"phone_number": "+37255566615"}`, wantStatus: 404, route: save},
		{name: "save 409", method: "PUT", path: "/contacts/" + own, body: `{"phone_number": "+37255566613"}`, wantStatus: 409, route: save},
		{name: "save 413", method: "PUT", path: "/contacts/" + own, body: big, wantStatus: 413, invalidRequest: true, route: save},
		{name: "save 415", method: "PUT", path: "/contacts/" + own, body: `{"phone_number": "` + w.taken + `"}`, ctype: "application/x-www-form-urlencoded", wantStatus: 415, invalidRequest: true, route: save},
		{name: "save 422", method: "PUT", path: "/contacts/" + own, body: `{"phone_number": "` + w.taken + `", "email": "mari@"}`, wantStatus: 422, route: save},

		{name: "delete 401", method: "DELETE", path: "/contacts/" + own, as: "revoked", wantStatus: 401, route: del},
		{name: "delete 404 other", method: "DELETE", path: "/contacts/" + other, wantStatus: 404, route: del},
		{name: "delete 204", method: "DELETE", path: "/contacts/" + own, wantStatus: 204, route: del},
		{name: "delete 404 gone", method: "DELETE", path: "/contacts/" + own, wantStatus: 404, route: del},

		// The messages routes.
		{name: "send 202", method: "POST", path: "/messages", body: message, header: map[string]string{"Idempotency-Key": "conformance-1"}, wantStatus: 202, route: send},
		{name: "send 202 again", method: "POST", path: "/messages", body: message, header: map[string]string{"Idempotency-Key": "conformance-1"}, wantStatus: 202, route: send},
		{name: "send 202 list", method: "POST", path: "/messages", body: `{"to": ["+37255566677", "+37255566678"], "from": "Switchboard", "text": "Hello", "auto_replace": "full"}`, wantStatus: 202, route: send},
		{name: "send 400", method: "POST", path: "/messages", body: `{"to": `, wantStatus: 400, invalidRequest: true, route: send},
		{name: "send 401", method: "POST", path: "/messages", body: message, as: "revoked", wantStatus: 401, route: send},
		{name: "send 402", method: "POST", path: "/messages", body: message, as: "other", wantStatus: 402, route: send},
		{name: "send 403 suspended subaccount", method: "POST", path: "/messages", body: message, as: "suspended", wantStatus: 403, route: send},
		{name: "send 413", method: "POST", path: "/messages", body: `{"to": "+37255566677", "from": "Switchboard", "text": "` + strings.Repeat("x", 300<<10) + `"}`, wantStatus: 413, route: send},
		{name: "send 415", method: "POST", path: "/messages", body: message, ctype: "text/plain", wantStatus: 415, invalidRequest: true, route: send},
		{name: "send 422 unknown member", method: "POST", path: "/messages", body: `{"to": "+37255566677", "from": "Switchboard", "text": "Hi", "priority": 1}`, wantStatus: 422, invalidRequest: true, route: send},
		{name: "send 422 number", method: "POST", path: "/messages", body: `{"to": "12ab", "from": "Switchboard", "text": "Hi"}`, wantStatus: 422, route: send},
		{name: "send 422 other body, same key", method: "POST", path: "/messages", body: `{"to": "+37255566679", "from": "Switchboard", "text": "Other"}`, header: map[string]string{"Idempotency-Key": "conformance-1"}, wantStatus: 422, route: send},
		{name: "messages 200", method: "GET", path: "/messages?limit=1&status=queued&to=%2B37255566677&from=Switchboard&since=2020-01-01T00:00:00Z", wantStatus: 200, route: list},
		{name: "messages 401", method: "GET", path: "/messages", as: "none", wantStatus: 401, invalidRequest: true, route: list},
		{name: "messages 422 limit", method: "GET", path: "/messages?limit=0", wantStatus: 422, invalidRequest: true, route: list},
		{name: "message 200", method: "GET", pathFn: func(*testing.T) string { return "/messages/" + itoa(w.ownMessage()) }, wantStatus: 200, route: one},
		{name: "message 401", method: "GET", path: "/messages/1", as: "revoked", wantStatus: 401, route: one},
		{name: "message 404", method: "GET", path: "/messages/999999999", wantStatus: 404, route: one},
	}
	// One case per documented status an operation can give and a test can
	// provoke; the statuses of each operation that no case reaches are
	// named, so that a new status gets a case. (500 is no one's to
	// provoke; 429 has its own test; 409 on POST /messages is a retry
	// that races the first answer.)
	reached := map[string]bool{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w.run(t, c)
			reached[c.route+" "+itoa(int64(c.wantStatus))] = true
		})
	}
	for p, item := range w.doc.Paths.Map() {
		for method, op := range item.Operations() {
			route := method + " /api/v1" + strings.NewReplacer("{", ":", "}", "").Replace(p)
			for status := range op.Responses.Map() {
				if status == "500" || status == "429" || (route == send && status == "409") {
					continue
				}
				if !reached[route+" "+status] {
					t.Errorf("no case reaches %s → %s", route, status)
				}
			}
		}
	}
}

// nextCursor is the cursor after the organisation's first contact.
func (w *conformanceWorld) nextCursor(t *testing.T) string {
	t.Helper()
	var page struct {
		NextCursor *string `json:"next_cursor"`
	}
	res := w.key.call(http.MethodGet, "/contacts?limit=1", "")
	if err := json.Unmarshal([]byte(res.body), &page); err != nil || page.NextCursor == nil {
		t.Fatalf("no next page: %v\n%s", err, res.body)
	}
	return url.QueryEscape(*page.NextCursor)
}

// TestOpenAPIRateLimit drives a key past its rate and validates the 429
// against the document: Retry-After and the RateLimit-* headers.
func TestOpenAPIRateLimit(t *testing.T) {
	a := newAppConfig(t, handlers.Config{BaseURL: mustURL(testBaseURL), APIRate: 2, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	owner := a.signup("owner@example.com", "Acme")
	w := &conformanceWorld{contactsWorld: &contactsWorld{a: a, owner: owner, key: newKeyClient(t, a, owner.org)}}
	doc, _ := loadOpenAPI(t, a)
	doc.Servers = openapi3.Servers{{URL: a.ts.URL + "/api/v1"}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	w.doc, w.router, w.servedRoutes = doc, router, map[string]bool{"GET /api/v1/balance": true}
	for range 20 {
		if res := w.key.call(http.MethodGet, "/balance", ""); res.status == http.StatusTooManyRequests {
			res = w.run(t, conformanceCase{method: "GET", path: "/balance", wantStatus: 429})
			if res.header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
			return
		}
	}
	t.Fatal("no 429 after 20 requests at a rate of 2 a second")
}

// TestOpenAPIValidatorIsActive proves the validator of the tests above
// refuses answers that differ from the document, so that their passing
// means something: a contact with a member too many, money as a number, an
// undocumented status, a problem in the wrong media type.
func TestOpenAPIValidatorIsActive(t *testing.T) {
	w := newConformanceWorld(t)
	ctx := context.Background()
	opts := &openapi3filter.Options{AuthenticationFunc: bearerOnly, IncludeResponseStatus: true}
	validate := func(method, p string, status int, ctype, body string) error {
		r := w.key.request(method, p, "")
		route, params, err := w.router.FindRoute(r)
		if err != nil {
			t.Fatal(err)
		}
		in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts}
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			t.Fatal(err)
		}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: http.Header{"Content-Type": {ctype}}, Options: opts}
		out.SetBodyBytes([]byte(body))
		return openapi3filter.ValidateResponse(ctx, out)
	}
	real := w.key.call(http.MethodGet, "/contacts/"+itoa(w.contact), "")
	if err := validate("GET", "/contacts/"+itoa(w.contact), 200, "application/json", real.body); err != nil {
		t.Fatalf("the real answer fails: %v", err)
	}
	var contact map[string]any
	if err := json.Unmarshal([]byte(real.body), &contact); err != nil {
		t.Fatal(err)
	}
	wrong := map[string]func(map[string]any){
		"a member too many":     func(m map[string]any) { m["nickname"] = "Mari" },
		"a member missing":      func(m map[string]any) { delete(m, "opted_out") },
		"a number not in E.164": func(m map[string]any) { m["phone_number"] = "55566611" },
		"groups as names":       func(m map[string]any) { m["groups"] = []string{"Newsletter"} },
		"a null where a string": func(m map[string]any) { m["email"] = nil },
	}
	for name, change := range wrong {
		m := map[string]any{}
		for k, v := range contact {
			m[k] = v
		}
		change(m)
		if err := validate("GET", "/contacts/"+itoa(w.contact), 200, "application/json", mustJSON(t, m)); err == nil {
			t.Errorf("a contact with %s passes", name)
		}
	}
	if err := validate("GET", "/balance", 200, "application/json", `{"balance": 12.5, "currency": "EUR"}`); err == nil {
		t.Error("money as a number passes")
	}
	if err := validate("GET", "/balance", 418, "application/problem+json", `{"type": "about:blank", "title": "I'm a teapot", "status": 418, "detail": "No."}`); err == nil {
		t.Error("an undocumented status passes")
	}
	if err := validate("GET", "/balance", 401, "application/json", `{"type": "about:blank", "title": "Unauthorized", "status": 401, "detail": "No."}`); err == nil {
		t.Error("a problem as application/json passes")
	}
	if err := validate("GET", "/balance", 401, "application/problem+json", `{"title": "Unauthorized", "status": 401}`); err == nil {
		t.Error("a problem without type and detail passes")
	}
	// And a request the document refuses: an unknown member.
	r := w.key.request(http.MethodPost, "/contacts", `{"phone_number": "+37255566677", "nickname": "M"}`)
	route, params, err := w.router.FindRoute(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := openapi3filter.ValidateRequest(ctx, &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts}); err == nil {
		t.Error("a body with an unknown member passes")
	}
}
