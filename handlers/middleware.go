package handlers

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/a-h/templ"
	"github.com/alexedwards/scs/v2"
	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/store"
)

// Session keys. The session holds ids only; everything else is read from
// the database on each request.
const (
	sessionProfile = "profile_id"
	sessionEpoch   = "auth_epoch"
	sessionSeen    = "seen"
	sessionFlash   = "flash"
	sessionCSRF    = "csrf"
)

// sessionPrivilege is the session key of the profile's privilege epoch when
// the session token was last renewed.
const sessionPrivilege = "privilege_epoch"

type requestKey int

const (
	requestIDKey requestKey = iota + 1
	sectionKey
	// sessionLoadedKey is set once scs loaded the session: an error raised
	// before (an oversized body) renders its page without one.
	sessionLoadedKey
	// membershipsKey holds the logged-in profile's memberships, read with
	// the profile in this request (see loadProfile).
	membershipsKey
)

// memberships returns the logged-in profile's place in every organisation,
// as loadProfile read it from the database in this request, and whether it
// did.
func memberships(ctx context.Context) ([]store.OrgMembership, bool) {
	list, ok := ctx.Value(membershipsKey).([]store.OrgMembership)
	return list, ok
}

// orgHolds returns what loadProfile read, with the membership, about
// whether organisation id defines custom roles and has pending
// invitations, and whether that can be trusted: on a GET, which changes
// nothing, it can; after a POST the lists are read again.
func orgHolds(c echo.Context, id int64) (*store.OrgMembership, bool) {
	if m := c.Request().Method; m != http.MethodGet && m != http.MethodHead {
		return nil, false
	}
	om, err := findMembership(c.Request().Context(), id)
	return om, err == nil
}

// sessionLoaded reports whether the session of the request was loaded;
// scs panics on a context without one.
func sessionLoaded(ctx context.Context) bool {
	loaded, _ := ctx.Value(sessionLoadedKey).(bool)
	return loaded
}

// logRequests writes one structured line per request, after the error (if
// any) was rendered, so the line tells the status the client really got,
// also for errors raised before the session loads (an oversized body).
// Paths holding tokens are logged by their pattern, never as they are.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		id := randomID()
		c.SetRequest(c.Request().WithContext(context.WithValue(c.Request().Context(), requestIDKey, id)))
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		if err := next(c); err != nil {
			s.handleError(err, c)
		}
		var who slog.Attr
		if p := switchboard.ProfileFromContext(c.Request().Context()); p != nil {
			who = slog.Int64("profile", p.ID)
		}
		s.logAccess(c, "request", id, start, who)
		s.observe(c, start)
		return nil
	}
}

// logAccess writes the access log line of a request that began at start
// with the id given, once its answer is sent; who names the caller (the
// profile, the API key) unless it is empty. The pages and the JSON API
// write the same line.
func (s *Server) logAccess(c echo.Context, msg, id string, start time.Time, who slog.Attr) {
	ctx := c.Request().Context()
	if !s.logger.Enabled(ctx, slog.LevelInfo) {
		return
	}
	// Typed attributes, in an array on the stack: the same line as Info
	// with key-value pairs, without boxing each value.
	attrs := [...]slog.Attr{slog.String("id", id), slog.String("method", c.Request().Method), slog.String("path", logPath(c.Request())),
		slog.Int("status", c.Response().Status), slog.Int64("bytes", c.Response().Size),
		slog.Duration("duration", time.Since(start).Round(time.Microsecond)), slog.String("ip", c.RealIP()), who}
	n := len(attrs)
	if who.Key == "" {
		n--
	}
	s.logger.LogAttrs(ctx, slog.LevelInfo, msg, attrs[:n]...)
}

// tokenRoutes are the routes whose path holds a token from an email: the
// first segments, and the tails that follow the token.
var tokenRoutes = []struct {
	prefix []string
	tails  []string
}{
	{[]string{"invitations"}, []string{"signup"}},
	{[]string{"password", "reset"}, nil},
}

// longRun is a stretch of characters long enough to be a token.
var longRun = regexp.MustCompile(`[A-Za-z0-9_\-]{20,}`)

// tokenPattern returns the pattern of the token route that path has the
// shape of ("/invitations/:token"), whatever the method, a trailing slash,
// extra segments, case, backslashes or encoded slashes: the route did not
// need to match (a 404 or 405 matches none) for the token to be there.
func tokenPattern(path string) (string, bool) {
	if !mayHoldToken(path) {
		return "", false
	}
	return tokenShape(path)
}

// tokenShape is tokenPattern's full look at path.
func tokenShape(path string) (string, bool) {
	shape := path
	for i := 0; i < 3 && strings.Contains(shape, "%"); i++ {
		u, err := url.PathUnescape(shape)
		if err != nil {
			break
		}
		shape = u
	}
	shape = strings.ToLower(strings.ReplaceAll(shape, `\`, "/"))
	var segs []string
	for _, seg := range strings.Split(shape, "/") {
		if seg != "" && seg != "." {
			segs = append(segs, seg)
		}
	}
	for _, r := range tokenRoutes {
		n := len(r.prefix)
		if len(segs) <= n || !slices.Equal(segs[:n], r.prefix) {
			continue
		}
		pattern := "/" + strings.Join(r.prefix, "/") + "/:token"
		switch rest := segs[n+1:]; {
		case len(rest) == 0:
		case len(rest) == 1 && slices.Contains(r.tails, rest[0]):
			pattern += "/" + rest[0]
		default:
			pattern += "/…"
		}
		return pattern, true
	}
	return "", false
}

// mayHoldToken reports whether path could have the shape of a token
// route, by a quick look that spares every other request the full one: a
// path of plain ASCII without '%' or a backslash decodes and folds to
// itself, so it can only if it holds one of the routes' first segments in
// some case.
// Anything else (an escape, a backslash, a non-ASCII letter that folds to
// an ASCII one) gets the full look.
func mayHoldToken(path string) bool {
	for i := 0; i < len(path); i++ {
		if c := path[i]; c >= utf8.RuneSelf || c == '%' || c == '\\' {
			return true
		}
	}
	for _, r := range tokenRoutes {
		if containsFold(path, r.prefix[0]) {
			return true
		}
	}
	return false
}

// containsFold reports whether s holds lower, a lower-case ASCII word, in
// any ASCII case.
func containsFold(s, lower string) bool {
	for i := 0; i+len(lower) <= len(s); i++ {
		j := 0
		for j < len(lower) && s[i+j]|0x20 == lower[j] {
			j++
		}
		if j == len(lower) {
			return true
		}
	}
	return false
}

// hasLongRun reports whether s holds a run of characters long enough to be
// a token (longRun), without the regular expression's cost on the paths
// that do not.
func hasLongRun(s string) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			if run++; run >= 20 {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

// logPath is the path of r as every log line writes it: a token route by
// its pattern, and, in any other path, a run of characters long enough to
// be a token (one pasted into a mistyped link) blanked out.
func logPath(r *http.Request) string {
	if p, ok := tokenPattern(r.URL.Path); ok {
		return p
	}
	if p, ok := tokenPattern(r.URL.EscapedPath()); ok {
		return p
	}
	if !hasLongRun(r.URL.Path) {
		return r.URL.Path
	}
	return longRun.ReplaceAllString(r.URL.Path, "…")
}

// maxBody is the largest request body the panel accepts: its forms are a
// few kilobytes.
const maxBody = 1 << 20

// limitBody refuses a body over maxBody with 413 before the session loads
// and before anything reads the form. A body of unknown length (chunked) is
// read here, up to the limit, so that its refusal does not depend on what
// reads it first: the CSRF check would otherwise see a cut form and answer
// 403, a handler 422.
func limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Method == http.MethodPost && c.Path() == importRoute {
			return limitImport(c, next)
		}
		if r.ContentLength > maxBody {
			return echo.ErrStatusRequestEntityTooLarge
		}
		if r.ContentLength < 0 {
			b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
			if err != nil {
				return echo.ErrBadRequest
			}
			if len(b) > maxBody {
				return echo.ErrStatusRequestEntityTooLarge
			}
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		}
		return next(c)
	}
}

// importReadTime is how long the upload of a contact import may take to
// arrive: 50 MB over a slow line takes longer than the server's
// ReadTimeout.
const importReadTime = 10 * time.Minute

// limitImport is limitBody for the one route that takes a large body, the
// contact import's upload (handlers/import.go): up to importBody, refused
// with a page saying so when over it, whether its length is announced or
// not. Nothing of it is read here: readImportUpload reads it once the
// session shows someone logged in.
func limitImport(c echo.Context, next echo.HandlerFunc) error {
	r := c.Request()
	if r.ContentLength > importBody {
		return errImportTooLarge
	}
	// Not supported by every ResponseWriter (httptest's recorder): the
	// server's own deadline stays then.
	_ = http.NewResponseController(c.Response().Writer).SetReadDeadline(time.Now().Add(importReadTime))
	r.Body = http.MaxBytesReader(c.Response().Writer, r.Body, importBody)
	return next(c)
}

// readImportUpload reads the import's multipart upload after the session
// loaded and before the CSRF check would read it with 32 MB in memory:
// importMemory of it in memory, the rest in a temporary file that net/http
// removes when the request ends. A visitor whose session holds no profile
// is sent to log in before a byte of the file is read, so that nobody can
// make the server store 50 MB without an account.
func (s *Server) readImportUpload(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Method != http.MethodPost || c.Path() != importRoute {
			return next(c)
		}
		if s.sessions.GetInt64(r.Context(), sessionProfile) == 0 {
			return &switchboard.Error{Code: switchboard.EUNAUTHORIZED, Message: "Please log in to continue."}
		}
		if mt, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType)); mt == echo.MIMEMultipartForm {
			if err := r.ParseMultipartForm(importMemory); err != nil {
				if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
					return errImportTooLarge
				}
				return echo.ErrBadRequest
			}
		}
		return next(c)
	}
}

func randomID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// permissionsPolicy denies the browser features the panel never uses, so
// an injected frame or script cannot ask for them in the panel's name.
const permissionsPolicy = "accelerometer=(), autoplay=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), " +
	"hid=(), magnetometer=(), microphone=(), midi=(), payment=(), publickey-credentials-get=(), screen-wake-lock=(), serial=(), usb=(), xr-spatial-tracking=()"

// The fixed values of the security headers, shared by every answer.
var (
	headerPermissionsPolicy = []string{permissionsPolicy}
	headerNosniff           = []string{"nosniff"}
	headerDeny              = []string{"DENY"}
	headerSameOrigin        = []string{"same-origin"}
	headerNoReferrer        = []string{"no-referrer"}
	headerNoStore           = []string{"no-store"}
	headerHSTS              = []string{"max-age=63072000; includeSubDomains"}
)

// securityHeaders sets the headers every answer carries, and a fresh CSP
// nonce for the page.
func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		nonce := randomID()
		h := c.Response().Header()
		// Nonces only in script-src: the panel ships no script file of its
		// own, so 'self' would only widen what an injected tag could load.
		// The keys are written canonical and the fixed values shared (Set
		// and Add replace a value, never change it in place), which spares
		// each request the canonicalising and the copies.
		h["Content-Security-Policy"] = []string{"default-src 'self'; script-src 'nonce-" + nonce + "'; style-src 'self'; img-src 'self' data:; " +
			"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"}
		h["Permissions-Policy"] = headerPermissionsPolicy
		h["X-Content-Type-Options"] = headerNosniff
		h["X-Frame-Options"] = headerDeny
		h["Referrer-Policy"] = headerSameOrigin
		h["Cross-Origin-Opener-Policy"] = headerSameOrigin
		// Pages hold personal data: no copy in any cache (the static files
		// set their own caching).
		h["Cache-Control"] = headerNoStore
		if _, ok := tokenPattern(c.Request().URL.Path); ok {
			// Its URL holds a token: no Referer takes it elsewhere, whatever
			// the answer.
			h["Referrer-Policy"] = headerNoReferrer
		}
		if s.secure() {
			h["Strict-Transport-Security"] = headerHSTS
		}
		c.SetRequest(c.Request().WithContext(templ.WithNonce(c.Request().Context(), nonce)))
		return next(c)
	}
}

// sessionMiddleware loads the scs session, commits it just before the
// answer's headers go out (once, whatever the handler did), and renders
// errors while the session is still in scope.
func (s *Server) sessionMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		c.Response().Header().Add(echo.HeaderVary, echo.HeaderCookie)
		var token string
		if ck, err := r.Cookie(s.sessions.Cookie.Name); err == nil {
			token = ck.Value
		}
		ctx, loadErr := s.sessions.Load(r.Context(), token)
		if loadErr != nil {
			// The error page still needs a session to render in.
			ctx, _ = s.sessions.Load(r.Context(), "")
		}
		c.SetRequest(r.WithContext(context.WithValue(ctx, sessionLoadedKey, true)))
		committed := false
		c.Response().Before(func() {
			if committed {
				return
			}
			committed = true
			ctx := c.Request().Context()
			w := c.Response().Writer
			switch s.sessions.Status(ctx) {
			case scs.Modified:
				token, expiry, err := s.sessions.Commit(ctx)
				if err != nil {
					s.logger.Error("commit session", "err", err)
					return
				}
				s.sessions.WriteSessionCookie(ctx, w, token, expiry)
			case scs.Destroyed:
				s.sessions.WriteSessionCookie(ctx, w, "", time.Time{})
			}
		})
		err := loadErr
		if err == nil {
			err = next(c)
		}
		if err != nil {
			s.handleError(err, c)
		}
		return nil
	}
}

// loadProfile puts the logged-in profile, read from the database now, in
// the request's context, with its place in every organisation, read in the
// same query: loadMembership authorizes from it and the layout's switcher
// lists it, so a page inside an organisation reads the database once for
// all three, and still on every request. A session whose profile is gone,
// whose password changed since, or that was idle too long, is ended.
func (s *Server) loadProfile(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		id := s.sessions.GetInt64(ctx, sessionProfile)
		if id == 0 {
			return next(c)
		}
		now := s.db.Now()
		seen := time.Unix(s.sessions.GetInt64(ctx, sessionSeen), 0)
		p, list, err := s.db.FindProfileWithMemberships(ctx, id)
		if switchboard.ErrorCode(err) == switchboard.ENOTFOUND || (err == nil && p.AuthEpoch != s.sessions.GetInt64(ctx, sessionEpoch)) || now.Sub(seen) > s.cfg.SessionIdle {
			if err := s.sessions.Destroy(ctx); err != nil {
				return err
			}
			return next(c)
		} else if err != nil {
			return err
		}
		if now.Sub(seen) > time.Minute {
			s.sessions.Put(ctx, sessionSeen, now.Unix())
		}
		// What the profile may do changed since this session's token was
		// made (a role given or taken, from this session or another): a
		// new token, as at login, so a token captured before is worthless
		// after.
		if p.PrivilegeEpoch != s.sessions.GetInt64(ctx, sessionPrivilege) {
			if err := s.renewPrivileges(ctx, p.PrivilegeEpoch); err != nil {
				return err
			}
		}
		ctx = context.WithValue(switchboard.NewContextWithProfile(ctx, p), membershipsKey, list)
		c.SetRequest(c.Request().WithContext(ctx))
		return next(c)
	}
}

// csrf refuses a state-changing request unless it carries the token of its
// own session in the form field _csrf, or comes from a browser that says it
// was sent by a page of this very origin (Sec-Fetch-Site: same-origin).
//
// The token lives in the server-side session, not in a cookie of its own:
// a cookie planted from a sibling domain, with a matching field, proves
// nothing. A browser's Sec-Fetch-Site cannot be set by a page's script, so
// same-origin is the browser vouching that one of our own pages sent the
// form; a cross-site attacker can only ever make it say same-site or
// cross-site, which are refused even with a token. Trusting same-origin
// keeps forms working in a tab opened before a login or logout renewed the
// token. Without the header (older browsers, scripts) the token is needed.
func (s *Server) csrf() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			switch r.Method {
			case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
				return next(c)
			}
			if gatewayCallback(c) {
				// Sent by the SMS provider, not a browser, and signed
				// instead: a request without a valid signature changes
				// nothing (handlers/gateway.go).
				return next(c)
			}
			ok := false
			switch site := r.Header.Get(echo.HeaderSecFetchSite); site {
			case "same-origin":
				ok = true
			case "same-site", "cross-site":
				ok = false
			default:
				want := s.sessions.GetString(r.Context(), sessionCSRF)
				got := c.FormValue("_csrf")
				ok = want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
			}
			if !ok {
				s.logger.Warn("csrf refused", "path", logPath(r), "ip", c.RealIP(), "sec_fetch_site", r.Header.Get(echo.HeaderSecFetchSite))
				return switchboard.Errorf(switchboard.EFORBIDDEN, "This form has expired or did not come from Switchboard. Go back, reload the page and try again.")
			}
			return next(c)
		}
	}
}

// csrfToken returns the session's CSRF token, making one (and so starting
// the session) the first time a form needs it.
func (s *Server) csrfToken(ctx context.Context) string {
	tok := s.sessions.GetString(ctx, sessionCSRF)
	if tok == "" {
		tok = newCSRFToken()
		s.sessions.Put(ctx, sessionCSRF, tok)
	}
	return tok
}

// newCSRFToken returns 256 random bits, URL-safe.
func newCSRFToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// requireProfile sends visitors who are not logged in to the login page,
// and back here afterwards.
func (s *Server) requireProfile(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if switchboard.ProfileFromContext(c.Request().Context()) == nil {
			return &switchboard.Error{Code: switchboard.EUNAUTHORIZED, Message: "Please log in to continue."}
		}
		return next(c)
	}
}

// loadMembership finds, for every request inside /orgs/:org, the
// organisation and the profile's place in it among the memberships
// loadProfile read from the database for this very request (never from an
// earlier one, nor from the session). An organisation the profile is not a
// member of answers 404, as one that does not exist.
func (s *Server) loadMembership(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		p := switchboard.ProfileFromContext(ctx)
		if p == nil {
			return &switchboard.Error{Code: switchboard.EUNAUTHORIZED, Message: "Please log in to continue."}
		}
		id, err := parseID(c.Param("org"))
		if err != nil {
			return errOrgNotFound
		}
		var m *switchboard.Membership
		om, err := findMembership(ctx, id)
		if err == nil {
			m = &om.Membership
		} else {
			// Not among them: read again on its own, as before, so the
			// answer (a 404, or why access was removed) is unchanged.
			m, err = s.db.FindMembership(ctx, id, p.ID)
		}
		if switchboard.ErrorCode(err) == switchboard.ENOTFOUND && c.Path() == "/orgs/:org" {
			return s.removedFrom(c, id, p.ID, err)
		} else if err != nil {
			return err
		}
		if err := s.requireTwoFactor(c, m); err != nil || c.Response().Committed {
			return err
		}
		if p.LastOrgID != id && c.Request().Method == http.MethodGet {
			if err := s.db.SetLastOrganisation(ctx, p.ID, id); err != nil {
				return err
			}
		}
		c.SetRequest(c.Request().WithContext(switchboard.NewContextWithMembership(ctx, m)))
		return next(c)
	}
}

// findMembership returns the membership of organisation id among those
// loadProfile read in this request.
func findMembership(ctx context.Context, id int64) (*store.OrgMembership, error) {
	list, _ := memberships(ctx)
	for i := range list {
		if list[i].Org.ID == id {
			return &list[i], nil
		}
	}
	return nil, errOrgNotFound
}

var errOrgNotFound = switchboard.Errorf(switchboard.ENOTFOUND, "This organisation does not exist, or you are not a member of it.")

// parseID reads a positive decimal id, and nothing else.
func parseID(s string) (int64, error) {
	if s == "" || len(s) > 18 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, errors.New("not an id")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, errors.New("not an id")
	}
	return n, nil
}

// OrgRoute is a route inside an organisation and the permission it needs;
// "" means any member.
type OrgRoute struct {
	Method     string
	Path       string
	Permission switchboard.Permission
}

// OrgRoutes lists every route inside an organisation, for the
// authorization tests.
func (s *Server) OrgRoutes() []OrgRoute { return s.orgRoutes }

// section is the organisation section a request is in, for the switcher.
type section struct {
	path string
	perm switchboard.Permission
}

// orgRoute adds a route inside an organisation that only members whose role
// allows perm may use; everyone else gets the 403 page.
func (s *Server) orgRoute(g *echo.Group, method, path string, perm switchboard.Permission, h echo.HandlerFunc) {
	s.orgRouteAllowing(g, method, path, perm, nil, h)
}

// orgRouteAllowing is orgRoute for a route whose rule is wider than its
// permission: allow, when given, decides who may use it instead of
// Membership.Can(perm) (the audit log: Membership.CanReadAudit), and
// everyone else gets perm's 403 page.
func (s *Server) orgRouteAllowing(g *echo.Group, method, path string, perm switchboard.Permission, allow func(*switchboard.Membership) bool, h echo.HandlerFunc) {
	s.orgRoutes = append(s.orgRoutes, OrgRoute{Method: method, Path: "/orgs/:org" + path, Permission: perm})
	sec := section{path: strings.SplitN(strings.TrimPrefix(path, "/"), "/", 2)[0], perm: perm}
	if sec.path == "invitations" {
		// Invitations are managed from the members page: their pages and
		// errors belong to the Members section of the navigation.
		sec.path = "members"
	}
	if sec.path == "history.csv" {
		// The export's errors are shown on the history page's section.
		sec.path = "history"
	}
	if sec.path == "contacts.csv" {
		sec.path = "contacts"
	}
	g.Add(method, path, func(c echo.Context) error {
		ctx := context.WithValue(c.Request().Context(), sectionKey, sec)
		c.SetRequest(c.Request().WithContext(ctx))
		m := switchboard.MembershipFromContext(ctx)
		ok := perm == "" || m.Can(perm)
		if allow != nil {
			ok = allow(m)
		}
		if !ok {
			return s.forbidden(c, m, perm)
		}
		return h(c)
	})
}
