package handlers

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/views"
)

// senderNamesPage builds the sender names page with the application form
// as given.
func (s *Server) senderNamesPage(c echo.Context, apply views.Form) (views.SenderNamesPage, error) {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	names, err := s.db.ListSenderNames(ctx, m.Org.ID)
	if err != nil {
		return views.SenderNamesPage{}, err
	}
	return views.SenderNamesPage{Membership: m, Apply: apply, Names: names, DefaultSender: s.cfg.DefaultSender}, nil
}

// handleSenderNames lists the organisation's sender names with their
// status, and the form to apply for one.
func (s *Server) handleSenderNames(c echo.Context) error {
	page, err := s.senderNamesPage(c, views.Form{})
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.SenderNames(page))
}

// handleSenderNameApply applies for a sender name; the operator decides
// (switchboard sender-names approve|reject ID).
func (s *Server) handleSenderNameApply(c echo.Context) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	values, err := form(c)
	if err != nil {
		return err
	}
	// Spaces run together count as one: "Acme  Shop" is "Acme Shop".
	name := strings.Join(strings.Fields(values.Get("name")), " ")
	sn := &switchboard.SenderName{OrgID: m.Org.ID, Name: name, UseCase: values.Get("use_case")}
	err = sn.Validate()
	if err == nil {
		err = s.db.ApplySenderName(ctx, s.actor(c), sn)
	}
	if fe := switchboard.Fields(err); fe != nil {
		kept := url.Values{"name": {values.Get("name")}, "use_case": {values.Get("use_case")}}
		page, perr := s.senderNamesPage(c, views.Form{Values: kept, Errors: fe})
		if perr != nil {
			return perr
		}
		return s.render(c, http.StatusUnprocessableEntity, views.SenderNames(page))
	} else if err != nil {
		return err
	}
	s.flash(c, "Your application for the sender name "+sn.Name+" was sent. It is pending until we approve it; then it appears in From.")
	return redirect(c, switchboard.OrgPath(m.Org.ID, "sender-names"))
}
