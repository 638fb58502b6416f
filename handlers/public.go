package handlers

import (
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/sms"
	"switchboard/views"
)

// The limits of joins through the public subscription pages. They stop a
// script filling a group with numbers, never people: a family or an
// office behind one address joins within joinsPerClient, and a link
// shared in a newsletter or on a poster gets joinsPerLink joins at once
// and another every joinLinkRefill (300 an hour) after that. Every POST
// counts, a mistake too, since a script trying numbers makes mistakes.
const (
	joinsPerClient   = 10
	joinClientRefill = time.Minute // 10 more in 10 minutes
	joinsPerLink     = 300
	joinLinkRefill   = 12 * time.Second
)

// refill is how long the limiter takes to allow one more attempt: the
// Retry-After of a refusal.
func (l *limiter) refill() time.Duration {
	return time.Duration(float64(time.Second) / float64(l.every))
}

// publicLink reads the link of the page's token. The page's URL holds the
// token: no Referer takes it elsewhere. A missing link is the public 404
// page, a switched-off one the 410 page, both without the panel's
// navigation; ok is false when the answer was written.
func (s *Server) publicLink(c echo.Context) (l *switchboard.SubscriptionLink, ok bool, err error) {
	c.Response().Header().Set("Referrer-Policy", "no-referrer")
	l, err = s.db.FindLinkByToken(c.Request().Context(), c.Param("token"))
	if switchboard.ErrorCode(err) == switchboard.ENOTFOUND {
		return nil, false, s.publicNotFound(c)
	} else if err != nil {
		return nil, false, err
	}
	if !l.Active {
		return nil, false, s.publicGone(c, l)
	}
	return l, true, nil
}

func (s *Server) publicNotFound(c echo.Context) error {
	return s.render(c, http.StatusNotFound, views.PublicMessage(views.PublicMessagePage{Status: http.StatusNotFound, Title: "Page not found",
		Message: "There is no subscription page at this address. Check the link you were given, or ask whoever gave it to you for a new one."}))
}

func (s *Server) publicGone(c echo.Context, l *switchboard.SubscriptionLink) error {
	return s.render(c, http.StatusGone, views.PublicMessage(views.PublicMessagePage{Status: http.StatusGone, Title: "This page was switched off", OrgName: l.OrgName,
		Message: l.OrgName + " switched this subscription page off, so you cannot join " + l.GroupName + " through it any more. Nothing was saved."}))
}

// publicTooMany answers 429 with Retry-After for a join refused by lim.
func (s *Server) publicTooMany(c echo.Context, lim *limiter, orgName string) error {
	wait := lim.refill()
	c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	return s.render(c, http.StatusTooManyRequests, views.PublicMessage(views.PublicMessagePage{Status: http.StatusTooManyRequests, Title: "Too many attempts", OrgName: orgName,
		Message: "This page received too many sign-ups in a short time. Please wait a minute and try again; nothing was saved."}))
}

// handleJoinForm shows a subscription link's public page, to visitors and
// to logged-in people alike. Opening it changes nothing.
func (s *Server) handleJoinForm(c echo.Context) error {
	l, ok, err := s.publicLink(c)
	if !ok {
		return err
	}
	return s.render(c, http.StatusOK, views.Join(views.JoinPage{Link: l, Action: "/s/" + url.PathEscape(c.Param("token"))}))
}

// handleJoin adds the person (by their number) to the link's group. The
// CSRF middleware has checked the form's token, made when the page was
// shown, as for every POST.
func (s *Server) handleJoin(c echo.Context) error {
	if !s.limits.joinClient.allow(c.RealIP()) {
		s.logger.Warn("join rate limited", "ip", c.RealIP())
		return s.publicTooMany(c, s.limits.joinClient, "")
	}
	l, ok, err := s.publicLink(c)
	if !ok {
		return err
	}
	if !s.limits.joinLink.allow(strconv.FormatInt(l.ID, 10)) {
		s.logger.Warn("join rate limited", "link", l.ID, "org", l.OrgID)
		return s.publicTooMany(c, s.limits.joinLink, l.OrgName)
	}
	values, err := form(c)
	if err != nil {
		return err
	}
	errs := switchboard.FieldErrors{}
	contact := &switchboard.Contact{FirstName: values.Get("first_name")}
	raw := values.Get("phone")
	if phone, err := sms.ParseNumber(raw, l.Country); err == nil {
		contact.Phone = phone
	} else if raw == "" || len(raw) > 40 {
		errs.Add("phone", "Enter your phone number, such as +372 5556 6677.")
	} else if errors.Is(err, sms.ErrNoCountry) {
		errs.Add("phone", "Add your country code to the number, such as +372 5556 6677.")
	} else {
		errs.Add("phone", err.Error()+" Check it, with your country code, such as +372 5556 6677.")
	}
	if values.Get("consent") == "" {
		errs.Add("consent", "Tick the box to agree, or you cannot join.")
	}
	if utf8.RuneCountInString(strings.TrimSpace(contact.FirstName)) > switchboard.MaxContactName {
		errs.Add("first_name", "First name can be at most 100 characters.")
	}
	if len(errs) == 0 {
		// The number is in E.164 now; this trims the name.
		errs.Merge(contact.Validate())
	}
	if len(errs) > 0 {
		kept := url.Values{"phone": {raw}, "first_name": {values.Get("first_name")}, "consent": {values.Get("consent")}}
		return s.render(c, http.StatusUnprocessableEntity, views.Join(views.JoinPage{Link: l, Form: views.Form{Values: kept, Errors: errs},
			Action: "/s/" + url.PathEscape(c.Param("token"))}))
	}
	if _, _, err := s.db.JoinThroughLink(c.Request().Context(), c.Param("token"), contact); err != nil {
		switch switchboard.ErrorCode(err) {
		case switchboard.EGONE:
			return s.publicGone(c, l)
		case switchboard.ENOTFOUND:
			return s.publicNotFound(c)
		}
		return err
	}
	return redirect(c, "/s/"+url.PathEscape(c.Param("token"))+"/thanks")
}

// handleJoined thanks the person who joined. It says nothing about any
// number: whoever opens the address sees the same page.
func (s *Server) handleJoined(c echo.Context) error {
	l, ok, err := s.publicLink(c)
	if !ok {
		return err
	}
	return s.render(c, http.StatusOK, views.Joined(views.JoinedPage{Link: l}))
}
