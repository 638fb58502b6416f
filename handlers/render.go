package handlers

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/views"
)

// render writes a page with status. The page is rendered into a buffer
// first, so a failure shows the error page rather than half a page.
func (s *Server) render(c echo.Context, status int, page templ.Component) error {
	ctx, err := s.chromeContext(c)
	if err != nil {
		return err
	}
	buf := pageBuffers.Get().(*bytes.Buffer)
	defer putPageBuffer(buf)
	if err := page.Render(ctx, buf); err != nil {
		return err
	}
	// Its length known, the page goes out in one piece rather than in
	// chunks.
	c.Response().Header()["Content-Length"] = []string{strconv.Itoa(buf.Len())}
	return c.HTMLBlob(status, buf.Bytes())
}

// pageBuffers keeps the buffers pages are rendered into: a members page
// is 14 KB, and growing a fresh buffer to that size on every view
// allocated twice as much again.
var pageBuffers = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, 16<<10)) }}

// putPageBuffer gives a buffer back once its page is written (HTMLBlob
// writes before it returns). An unusually large one is dropped rather than
// kept for ever.
func putPageBuffer(buf *bytes.Buffer) {
	if buf.Cap() > 256<<10 {
		return
	}
	buf.Reset()
	pageBuffers.Put(buf)
}

// chromeContext returns the request's context with what the layout needs.
func (s *Server) chromeContext(c echo.Context) (context.Context, error) {
	ctx := c.Request().Context()
	ch := &views.Chrome{
		Profile: switchboard.ProfileFromContext(ctx),
		Current: switchboard.MembershipFromContext(ctx),
	}
	if sec, ok := ctx.Value(sectionKey).(section); ok {
		ch.Section, ch.SectionPerm = sec.path, sec.perm
	}
	// An error raised before the session loaded (an oversized body) renders
	// without one: no flash, and no form token to offer.
	ch.CSRF = func() string { return "" }
	if sessionLoaded(ctx) {
		ch.Flash = s.sessions.PopString(ctx, sessionFlash)
		ch.CSRF = func() string { return s.csrfToken(ctx) }
	}
	if ch.Profile != nil {
		// A GET changes nothing, so the memberships read with the profile
		// at the start of the request are still the ones to list; after a
		// POST (a new organisation, a departure) they are read again.
		list, ok := memberships(ctx)
		if m := c.Request().Method; ok && (m == http.MethodGet || m == http.MethodHead) {
			ch.Orgs = make([]switchboard.OrgSummary, len(list))
			for i, m := range list {
				ch.Orgs[i] = switchboard.OrgSummary{ID: m.Org.ID, Name: m.Org.Name, Role: m.Member.Role, OwnerOnlyMembers: m.Org.OwnerOnlyMembers,
					ParentID: m.Org.ParentID, ParentName: m.Org.ParentName}
			}
		} else {
			orgs, err := s.db.ListMemberships(ctx, ch.Profile.ID)
			if err != nil {
				return nil, err
			}
			ch.Orgs = orgs
		}
	}
	return views.WithChrome(ctx, ch), nil
}

// flash sets the message shown on the next page.
func (s *Server) flash(c echo.Context, msg string) {
	s.sessions.Put(c.Request().Context(), sessionFlash, msg)
}

// redirect answers 303 See Other, the answer to a form that worked.
func redirect(c echo.Context, path string) error {
	return c.Redirect(http.StatusSeeOther, path)
}

// form returns what was posted, one value per field: a repeated field
// counts by its first value only.
func form(c echo.Context) (url.Values, error) {
	if err := c.Request().ParseForm(); err != nil {
		return nil, switchboard.Errorf(switchboard.EINVALID, "The form could not be read. Please try again.")
	}
	one := url.Values{}
	for k, v := range c.Request().PostForm {
		if len(v) > 0 {
			one.Set(k, v[0])
		}
	}
	return one, nil
}

// handleError turns any error into the panel's own error page. Internal
// errors are logged with the request id and shown as "Something went wrong";
// their text never reaches the page.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	ctx := c.Request().Context()
	page := views.ErrorPage{Status: http.StatusInternalServerError, Title: "Something went wrong", Message: switchboard.ErrorMessage(err)}
	var he *echo.HTTPError
	switch code := switchboard.ErrorCode(err); {
	case errors.As(err, &he):
		page.Status = he.Code
		switch he.Code {
		case http.StatusNotFound, http.StatusMethodNotAllowed:
			page.Status, page.Title, page.Message = http.StatusNotFound, "Page not found", "There is nothing at this address. Check the link, or go back to your organisations."
		case http.StatusForbidden, http.StatusBadRequest:
			page.Title, page.Message = "Request refused", "This request could not be accepted. Go back, reload the page and try again."
		case http.StatusRequestEntityTooLarge:
			page.Title, page.Message = "Too large", "What you sent is larger than Switchboard accepts (1 MB). Go back and send less."
		default:
			if he.Code < 500 {
				page.Title, page.Message = http.StatusText(he.Code), "This request could not be accepted."
			} else {
				page.Status, page.Message = http.StatusInternalServerError, switchboard.ErrorMessage(errors.New(""))
			}
		}
	case code == switchboard.EUNAUTHORIZED:
		next := c.Request().URL.RequestURI()
		if c.Request().Method != http.MethodGet {
			next = c.Request().Referer()
			if u, err := url.Parse(next); err == nil {
				next = u.RequestURI()
			}
		}
		if err := redirect(c, "/login?next="+url.QueryEscape(safeNext(next))); err != nil {
			s.logger.Error("redirect to login", "err", err)
		}
		return
	case code == switchboard.ENOTFOUND:
		page.Status, page.Title = http.StatusNotFound, "Not found"
	case code == switchboard.EFORBIDDEN:
		page.Status, page.Title = http.StatusForbidden, "You don't have access to this section"
	case code == switchboard.EGONE:
		page.Status, page.Title = http.StatusGone, "This link no longer works"
	case code == switchboard.ETOOMANY:
		page.Status, page.Title = http.StatusTooManyRequests, "Too many attempts"
	case code == switchboard.EINVALID, code == switchboard.ECONFLICT, code == switchboard.EPAYMENT:
		page.Status, page.Title = http.StatusUnprocessableEntity, "This could not be done"
	default:
		attrs := []any{"err", err, "method", c.Request().Method, "path", logPath(c.Request())}
		if id, ok := ctx.Value(requestIDKey).(string); ok {
			attrs = append(attrs, "request", id)
		}
		if p := switchboard.ProfileFromContext(ctx); p != nil {
			attrs = append(attrs, "profile", p.ID)
		}
		s.logger.Error("internal error", attrs...)
	}
	if page.Status == http.StatusForbidden || page.Status == http.StatusNotFound {
		s.logger.Warn("refused", "status", page.Status, "path", logPath(c.Request()), "ip", c.RealIP(), "profile", profileID(ctx))
	}
	if e, ok := errors.AsType[*switchboard.Error](err); ok && e.Code == switchboard.EFORBIDDEN && e.Fields != nil {
		page.Section, page.RoleName = e.Fields["section"], e.Fields["role"]
		page.OwnerName, page.OwnerEmail = e.Fields["owner_name"], e.Fields["owner_email"]
		subaccountRefusalPage(ctx, e, &page)
	}
	s.writeErrorPage(c, page)
}

func profileID(ctx context.Context) int64 {
	if p := switchboard.ProfileFromContext(ctx); p != nil {
		return p.ID
	}
	return 0
}

// errorPageFallback is written when the error page itself cannot render.
var errorPageFallback = []byte(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Something went wrong · Switchboard</title></head><body><h1>Something went wrong</h1><p>Please try again in a moment.</p></body></html>`)

func (s *Server) writeErrorPage(c echo.Context, page views.ErrorPage) {
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(page.Status)
		return
	}
	ctx, err := s.chromeContext(c)
	var buf bytes.Buffer
	if err == nil {
		err = views.Error(page).Render(ctx, &buf)
	}
	if err != nil {
		s.logger.Error("render error page", "err", err)
		_ = c.HTMLBlob(page.Status, errorPageFallback)
		return
	}
	_ = c.HTMLBlob(page.Status, buf.Bytes())
}

// forbidden answers 403 for a section the member's role does not allow,
// naming the role that would and the owner to ask.
func (s *Server) forbidden(c echo.Context, m *switchboard.Membership, perm switchboard.Permission) error {
	if m.Org.IsSubaccount() && switchboard.SubaccountRefuses(perm) {
		// No role would allow it here: the page says why instead.
		return subaccountRefused(m, perm)
	}
	sec := switchboard.SectionOf(perm)
	role := switchboard.RoleAllowing(perm)
	if perm == switchboard.PermMembers && m.Org.OwnerOnlyMembers {
		role = switchboard.BuiltinRole(switchboard.RoleOwner)
	}
	e := &switchboard.Error{
		Code:    switchboard.EFORBIDDEN,
		Message: "Your role here, " + m.Member.Role.Name + ", does not include " + sec.Name + ".",
		Fields:  switchboard.FieldErrors{"section": sec.Name, "role": role.Name},
	}
	if owner, err := s.db.FindOwner(c.Request().Context(), m.Org.ID); err == nil {
		e.Fields["owner_name"], e.Fields["owner_email"] = owner.Name(), owner.Email
	}
	return e
}

// safeNext returns next if it is a path on this site, and "" otherwise, so
// that a login link cannot send people elsewhere.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\\\r\n\t") {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return ""
	}
	if strings.HasPrefix(u.Path, "/login") || strings.HasPrefix(u.Path, "/logout") {
		return ""
	}
	return next
}
