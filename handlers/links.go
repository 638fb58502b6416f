package handlers

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/views"
)

// linkAddress is the full public address of a link's page, built from
// --base-url as the links in emails are, never from the request's Host.
func (s *Server) linkAddress(token string) string {
	return s.link("/s/" + url.PathEscape(token))
}

// linksPage builds the subscription links page with the create form as
// given.
func (s *Server) linksPage(c echo.Context, create views.Form) (views.LinksPage, error) {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	groups, err := s.db.ListGroups(ctx, m.Org.ID)
	if err != nil {
		return views.LinksPage{}, err
	}
	links, err := s.db.ListSubscriptionLinks(ctx, m.Org.ID)
	if err != nil {
		return views.LinksPage{}, err
	}
	return views.LinksPage{Membership: m, Create: create, Groups: groups, Links: links, Address: s.linkAddress,
		GroupsAllowed: m.Can(switchboard.PermContacts)}, nil
}

// handleLinks lists the organisation's subscription links, with their
// public addresses and joins, and the form to create one.
func (s *Server) handleLinks(c echo.Context) error {
	page, err := s.linksPage(c, views.Form{})
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.Links(page))
}

// handleLinkCreate creates a subscription link to one of the
// organisation's groups. Another organisation's group id is a 404, as
// every id in a form that is not the organisation's.
func (s *Server) handleLinkCreate(c echo.Context) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	values, err := form(c)
	if err != nil {
		return err
	}
	l := &switchboard.SubscriptionLink{OrgID: m.Org.ID, Name: values.Get("name"), ConsentText: values.Get("consent_text")}
	errs := switchboard.FieldErrors{}
	if raw := values.Get("group"); raw != "" {
		if l.GroupID, err = parseID(raw); err != nil {
			errs.Add("group", "Choose the group people join.")
			l.GroupID = -1 // so that Validate does not say it again
		}
	}
	errs.Merge(l.Validate())
	if len(errs) == 0 {
		// The token is the page's address, not a secret: 256 random bits
		// make the links of every organisation impossible to guess or list.
		l.Token, _ = newToken()
		err = s.db.CreateSubscriptionLink(ctx, s.actor(c), l)
		if fe := switchboard.Fields(err); fe != nil {
			errs.Merge(err)
		} else if err != nil {
			return err
		}
	}
	if len(errs) > 0 {
		kept := url.Values{"name": {values.Get("name")}, "group": {values.Get("group")}, "consent_text": {values.Get("consent_text")}}
		page, err := s.linksPage(c, views.Form{Values: kept, Errors: errs})
		if err != nil {
			return err
		}
		return s.render(c, http.StatusUnprocessableEntity, views.Links(page))
	}
	s.flash(c, "The subscription link "+l.Name+" was created. People join "+l.GroupName+" at "+s.linkAddress(l.Token))
	return redirect(c, switchboard.OrgPath(m.Org.ID, "subscription-links"))
}

// linkOfURL reads the link named in the URL within the organisation of
// the URL: another organisation's link is a 404, as a missing one.
func (s *Server) linkOfURL(c echo.Context, m *switchboard.Membership) (*switchboard.SubscriptionLink, error) {
	id, err := parseID(c.Param("link"))
	if err != nil {
		return nil, switchboard.Errorf(switchboard.ENOTFOUND, "This subscription link does not exist, or you do not have access to it.")
	}
	return s.db.FindSubscriptionLink(c.Request().Context(), m.Org.ID, id)
}

// handleLinkSwitchConfirm asks before switching a link off (or on).
func (s *Server) handleLinkSwitchConfirm(active bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		m := switchboard.MembershipFromContext(c.Request().Context())
		l, err := s.linkOfURL(c, m)
		if err != nil {
			return err
		}
		page := views.ConfirmPage{
			Title:       "Switch off the subscription link " + l.Name + "?",
			Consequence: "Its page will say that it was switched off, and nobody can join " + l.GroupName + " through it until you switch it on again. The people who joined stay in the group.",
			Action:      switchboard.OrgPath(m.Org.ID, "subscription-links/"+strconv.FormatInt(l.ID, 10)+"/off"),
			Button:      "Switch off",
			CancelURL:   switchboard.OrgPath(m.Org.ID, "subscription-links"),
		}
		if active {
			page.Title = "Switch on the subscription link " + l.Name + "?"
			page.Consequence = "Its page at " + s.linkAddress(l.Token) + " will work again: anyone with the address can join " + l.GroupName + "."
			page.Action = switchboard.OrgPath(m.Org.ID, "subscription-links/"+strconv.FormatInt(l.ID, 10)+"/on")
			page.Button = "Switch on"
		}
		return s.render(c, http.StatusOK, views.Confirm(page))
	}
}

// handleLinkSwitch switches a link off (or on).
func (s *Server) handleLinkSwitch(active bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		m := switchboard.MembershipFromContext(ctx)
		id, err := parseID(c.Param("link"))
		if err != nil {
			return switchboard.Errorf(switchboard.ENOTFOUND, "This subscription link does not exist, or you do not have access to it.")
		}
		l, err := s.db.SetSubscriptionLinkActive(ctx, s.actor(c), m.Org.ID, id, active)
		if err != nil {
			return err
		}
		if active {
			s.flash(c, "The subscription link "+l.Name+" is switched on: people can join "+l.GroupName+" through it again.")
		} else {
			s.flash(c, "The subscription link "+l.Name+" is switched off: its page no longer lets anyone join.")
		}
		return redirect(c, switchboard.OrgPath(m.Org.ID, "subscription-links"))
	}
}
