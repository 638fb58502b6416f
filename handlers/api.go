package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/store"
)

// The JSON API (PRODUCT.md § API) is served by an Echo of its own, mounted
// at /api/ before the panel's (see ServeHTTP): none of the panel's
// middleware runs for it. It never reads or sets the session cookie, CSRF
// does not apply (nothing a browser sends on its own carries a key), and no
// CORS header is ever set: the API is for servers, and a browser page of
// another site cannot read its answers. A key is taken from the
// Authorization header only, never from the address.
//
// Every error is an RFC 9457 problem document (application/problem+json)
// with the words of the pages.

// apiPrefix is where the API lives; a path under it never reaches the
// panel's routes.
const apiPrefix = "/api/"

// apiBase is the prefix of every route of version 1.
const apiBase = "/api/v1"

// maxAPIBody is the largest request body the API accepts: a message to
// 1,000 recipients is about 20 KB.
const maxAPIBody = 256 << 10

// APIRoute is a route of the JSON API, for the OpenAPI conformance test.
type APIRoute struct {
	Method string
	Path   string // Echo's form: /api/v1/messages/:id
	Public bool   // served without a key (the OpenAPI document)
}

// APIRoutes lists every route of the JSON API.
func (s *Server) APIRoutes() []APIRoute { return s.apiRoutes }

type apiKey int

const callerKey apiKey = iota

// apiCaller returns the caller apiAuth found for the request.
func apiCaller(c echo.Context) *store.APICaller {
	caller, _ := c.Request().Context().Value(callerKey).(*store.APICaller)
	return caller
}

// newAPI builds the API's Echo: its middleware and every route.
func (s *Server) newAPI() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.apiError
	e.IPExtractor = s.echo.IPExtractor
	e.Use(s.apiRequests, s.apiHeaders, limitAPIBody)
	s.apiRouter = e
	s.apiLimiter = newAPILimiter(s.cfg.APIRate)
	s.apiRoutes = nil
	s.apiRoutesV1()
	return e
}

// apiRoute adds a route of the API that needs a key; each request with a
// valid key takes a token of its rate limit (handlers/apiratelimit.go).
func (s *Server) apiRoute(method, path string, h echo.HandlerFunc) {
	s.apiRoutes = append(s.apiRoutes, APIRoute{Method: method, Path: apiBase + path})
	s.apiRouter.Add(method, apiBase+path, h, s.apiAuth, s.apiRateLimit)
}

// apiPublicRoute adds a route of the API served without a key.
func (s *Server) apiPublicRoute(method, path string, h echo.HandlerFunc) {
	s.apiRoutes = append(s.apiRoutes, APIRoute{Method: method, Path: apiBase + path, Public: true})
	s.apiRouter.Add(method, apiBase+path, h)
}

// apiRequests gives the request an id, renders the error a handler
// returned as a problem document, and writes the access log line, as
// logRequests does for the pages.
func (s *Server) apiRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		id := randomID()
		c.SetRequest(c.Request().WithContext(context.WithValue(c.Request().Context(), requestIDKey, id)))
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		if err := s.apiRecover(c, next); err != nil {
			s.apiError(err, c)
		}
		var who slog.Attr
		if caller := apiCaller(c); caller != nil {
			who = slog.Int64("api_key", caller.Key.ID)
		}
		s.logAccess(c, "api request", id, start, who)
		s.observe(c, start)
		return nil
	}
}

// apiRecover runs next, turning a panic into an internal error (logged by
// apiError, answered 500 without a stack trace).
func (s *Server) apiRecover(c echo.Context, next echo.HandlerFunc) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return next(c)
}

// apiHeaders sets the headers every answer of the API carries. No
// Access-Control-* header, ever (no CORS): the API answers servers.
func (s *Server) apiHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h["X-Content-Type-Options"] = headerNosniff
		h["Cache-Control"] = headerNoStore
		h["Content-Security-Policy"] = []string{"default-src 'none'; frame-ancestors 'none'"}
		h["Referrer-Policy"] = headerNoReferrer
		if s.secure() {
			h["Strict-Transport-Security"] = headerHSTS
		}
		return next(c)
	}
}

// limitAPIBody refuses a body over maxAPIBody with 413, whether its length
// is announced or not.
func limitAPIBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.ContentLength > maxAPIBody {
			return errAPITooLarge
		}
		r.Body = http.MaxBytesReader(c.Response().Writer, r.Body, maxAPIBody)
		return next(c)
	}
}

var errAPITooLarge = echo.NewHTTPError(http.StatusRequestEntityTooLarge, fmt.Sprintf("The body is larger than %d KB.", maxAPIBody>>10))

// apiAuth finds the caller from the Authorization header's bearer key,
// read from the database on every request: a revoked key fails on the very
// next one. A key in the query string is refused, whatever else the
// request holds, so that nobody gets used to putting keys in addresses
// (which end up in logs and browser histories).
func (s *Server) apiAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		for name, values := range r.URL.Query() {
			for _, v := range values {
				if strings.Contains(v, switchboard.APIKeyPrefix) || strings.Contains(name, switchboard.APIKeyPrefix) {
					s.logger.Warn("api key in query string refused", "path", logPath(r), "ip", c.RealIP())
					return switchboard.Errorf(switchboard.EUNAUTHORIZED, "An API key is never accepted in the address, where logs and histories keep it. Send it as Authorization: Bearer sb_live_…, and revoke this key: it may have been seen.")
				}
			}
		}
		auth := r.Header.Get(echo.HeaderAuthorization)
		scheme, key, _ := strings.Cut(auth, " ")
		key = strings.TrimSpace(key)
		if !strings.EqualFold(scheme, "Bearer") || !switchboard.LooksLikeAPIKey(key) {
			s.logger.Warn("api key refused", "reason", "missing or malformed", "path", logPath(r), "ip", c.RealIP())
			return errAPIKey
		}
		caller, err := s.db.AuthenticateAPIKey(r.Context(), switchboard.HashAPIKey(key))
		if err != nil {
			if switchboard.ErrorCode(err) == switchboard.EUNAUTHORIZED {
				s.logger.Warn("api key refused", "reason", "unknown or revoked", "path", logPath(r), "ip", c.RealIP())
			}
			return err
		}
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), callerKey, caller)))
		return next(c)
	}
}

var errAPIKey = switchboard.Errorf(switchboard.EUNAUTHORIZED,
	"The API key is missing, unknown or revoked. Send a key of your organisation as Authorization: Bearer sb_live_…")

// problem is an RFC 9457 problem document. Errors names each field that is
// wrong, by JSON pointer into the request body ("#/to") or the name of a
// query parameter, with the words the page shows beside it.
type problem struct {
	Type     string         `json:"type"`
	Title    string         `json:"title"`
	Status   int            `json:"status"`
	Detail   string         `json:"detail"`
	Instance string         `json:"instance,omitempty"`
	Errors   []fieldProblem `json:"errors,omitempty"`
}

type fieldProblem struct {
	Pointer   string `json:"pointer,omitempty"`
	Parameter string `json:"parameter,omitempty"`
	Detail    string `json:"detail"`
}

// apiStatus is the status of an error's code in the API, where the pages
// answer 422 for all that the person can correct.
func apiStatus(code string) int {
	switch code {
	case switchboard.EINVALID:
		return http.StatusUnprocessableEntity
	case switchboard.ECONFLICT:
		return http.StatusConflict
	case switchboard.EPAYMENT:
		return http.StatusPaymentRequired
	case switchboard.ENOTFOUND:
		return http.StatusNotFound
	case switchboard.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case switchboard.EFORBIDDEN:
		return http.StatusForbidden
	case switchboard.EGONE:
		return http.StatusGone
	case switchboard.ETOOMANY:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// apiError answers err as a problem document. Field errors of a GET or
// DELETE are query parameters; of a POST or PUT, members of the body. A
// conflict (a contact's number the organisation has already) is 409, with
// the field.
func (s *Server) apiError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	r := c.Request()
	p := problem{Type: "about:blank", Instance: r.URL.Path}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		p.Status = he.Code
		switch he.Code {
		case http.StatusNotFound:
			p.Detail = "There is nothing at this address. The API's routes are listed in " + apiBase + "/openapi.json."
		case http.StatusMethodNotAllowed:
			p.Detail = "This address does not answer " + r.Method + ". The API's routes are listed in " + apiBase + "/openapi.json."
		default:
			if msg, ok := he.Message.(string); ok && he.Code < 500 {
				p.Detail = msg
			} else if he.Code < 500 {
				p.Detail = "This request could not be accepted."
			} else {
				p.Status, p.Detail = http.StatusInternalServerError, switchboard.ErrorMessage(errors.New(""))
			}
		}
	} else {
		code := switchboard.ErrorCode(err)
		p.Status, p.Detail = apiStatus(code), switchboard.ErrorMessage(err)
		if p.Status == http.StatusInternalServerError {
			attrs := []any{"err", err, "method", r.Method, "path", logPath(r)}
			if id, ok := r.Context().Value(requestIDKey).(string); ok {
				attrs = append(attrs, "request", id)
			}
			if caller := apiCaller(c); caller != nil {
				attrs = append(attrs, "api_key", caller.Key.ID)
			}
			s.logger.Error("internal error", attrs...)
		}
		for field, msg := range switchboard.Fields(err) {
			fp := fieldProblem{Detail: msg}
			if r.Method == http.MethodGet || r.Method == http.MethodDelete || isHeaderField(field) {
				fp.Parameter = field
			} else {
				fp.Pointer = "#/" + field
			}
			p.Errors = append(p.Errors, fp)
		}
		// A stable order: the map of field errors has none.
		slices.SortFunc(p.Errors, func(a, b fieldProblem) int { return strings.Compare(a.Pointer+a.Parameter, b.Pointer+b.Parameter) })
	}
	p.Title = http.StatusText(p.Status)
	if p.Status == http.StatusUnauthorized {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="Switchboard API"`)
	}
	if p.Status == http.StatusNotFound || p.Status == http.StatusForbidden {
		var key int64
		if caller := apiCaller(c); caller != nil {
			key = caller.Key.ID
		}
		s.logger.Warn("refused", "status", p.Status, "path", logPath(r), "ip", c.RealIP(), "api_key", key)
	}
	if err := writeProblem(c, p); err != nil {
		s.logger.Error("write problem", "err", err)
	}
}

// isHeaderField reports whether a field error names a request header
// (Idempotency-Key), which the problem names as a parameter: headers are
// written in their canonical form, members and query parameters in lower
// case.
func isHeaderField(field string) bool { return field != "" && field[0] >= 'A' && field[0] <= 'Z' }

// writeProblem writes p with its status.
func writeProblem(c echo.Context, p problem) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	return c.Blob(p.Status, "application/problem+json", b)
}

// apiJSON writes v as the answer, with status.
func apiJSON(c echo.Context, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.Blob(status, echo.MIMEApplicationJSON, b)
}

// decodeJSON reads the request's JSON body into v: Content-Type
// application/json, one JSON value and nothing after it, no member v does
// not know. A body that is not JSON is 400; an unknown member or a value
// of the wrong type is 422, naming the member.
func decodeJSON(c echo.Context, v any) error {
	r := c.Request()
	if mt, _, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType)); err != nil || mt != echo.MIMEApplicationJSON {
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, "Send the body as JSON, with Content-Type: application/json.")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return errAPITooLarge
		}
		return echo.NewHTTPError(http.StatusBadRequest, "The body could not be read.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonProblem(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return echo.NewHTTPError(http.StatusBadRequest, "The body holds more than one JSON value.")
	}
	return nil
}

// jsonProblem turns a decoding error into the answer the caller can act
// on.
func jsonProblem(err error) error {
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field != "" {
		field := strings.ReplaceAll(te.Field, ".", "/")
		return &switchboard.Error{Code: switchboard.EINVALID, Message: "Please correct the fields named below.",
			Fields: switchboard.FieldErrors{field: fmt.Sprintf("%s must be %s.", te.Field, jsonKind(te.Type.Kind().String()))}}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return &switchboard.Error{Code: switchboard.EINVALID, Message: "Please correct the fields named below.",
			Fields: switchboard.FieldErrors{name: "There is no field " + name + " here; the fields are listed in " + apiBase + "/openapi.json."}}
	}
	return echo.NewHTTPError(http.StatusBadRequest, "The body is not valid JSON.")
}

// jsonKind names a Go kind in JSON's words.
func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "a list"
	case "struct", "map":
		return "an object"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "a number"
	}
	return "of another type"
}

// apiList is a page of a list: its items, and the cursor of the next page
// (null on the last).
type apiList[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}
