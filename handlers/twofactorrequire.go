package handlers

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/views"
)

// pathTwoFactorSetUp is where a member sets up two-factor authentication
// (the account's two-factor page); it comes back to its next parameter.
const pathTwoFactorSetUp = "/account/two-factor"

// twoFactorSetUpURL is the set-up page with next, when it is a path on
// this site, to come back to afterwards.
func twoFactorSetUpURL(next string) string {
	if next = safeNext(next); next == "" {
		return pathTwoFactorSetUp
	}
	return pathTwoFactorSetUp + "?next=" + url.QueryEscape(next)
}

// requireTwoFactor stops a member without two-factor authentication at the
// door of an organisation that requires it, whatever the page: a GET is
// sent to set it up and back here afterwards (303), anything else is
// refused before it is performed (403, with a link). It reads the
// organisation's setting and the profile's two-factor as loaded for this
// very request, so turning either on or off applies to the next one. Only
// this organisation is closed: others, the switcher and /orgs are not
// under it. The JSON API has its own server and keys, not people, and is
// not affected.
func (s *Server) requireTwoFactor(c echo.Context, m *switchboard.Membership) error {
	p := switchboard.ProfileFromContext(c.Request().Context())
	if !m.Org.RequireTwoFactor || p == nil || p.TwoFactor {
		return nil
	}
	r := c.Request()
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return redirect(c, twoFactorSetUpURL(r.URL.RequestURI()))
	}
	// Come back to the page the form was on when it was this
	// organisation's, to its dashboard otherwise.
	back := switchboard.OrgPath(m.Org.ID, "")
	if u, err := url.Parse(r.Referer()); err == nil && u.Host == r.Host && strings.HasPrefix(u.Path, back) {
		if next := safeNext(u.RequestURI()); next != "" {
			back = next
		}
	}
	// The page's navigation is this organisation's.
	c.SetRequest(r.WithContext(switchboard.NewContextWithMembership(r.Context(), m)))
	return s.render(c, http.StatusForbidden, views.TwoFactorRequired(views.TwoFactorRequiredPage{Membership: m, SetUpURL: twoFactorSetUpURL(back)}))
}

// handleRequireTwoFactor switches "Require two-factor authentication"
// (owner only). Turning it on while members are without two-factor first
// shows how many and asks again (the confirm field); the owner must have
// it on themself, or the setting would close the organisation to them too.
func (s *Server) handleRequireTwoFactor(c echo.Context) error {
	values, err := form(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	require := values.Get("require_two_factor") == "on"
	if require && !m.Org.RequireTwoFactor {
		var state views.RequireTwoFactorForm
		status := http.StatusOK
		if p := switchboard.ProfileFromContext(ctx); !p.TwoFactor {
			state.Error = "Turn on two-factor authentication for your own profile first (Account, Two-factor authentication): this setting would otherwise send you there too."
			status = http.StatusUnprocessableEntity
		} else if values.Get("confirm") != "on" {
			without, err := s.db.CountMembersWithoutTwoFactor(ctx, m.Org.ID)
			if err != nil {
				return err
			}
			state.Confirm, state.Without = without > 0, without
		}
		if state.Error != "" || state.Confirm {
			page, err := s.settingsPage(c)
			if err != nil {
				return err
			}
			page.TwoFactor = state
			return s.render(c, status, views.Settings(page))
		}
	}
	if err := s.db.SetRequireTwoFactor(ctx, s.actor(c), m.Org.ID, require); err != nil {
		return err
	}
	if require {
		s.flash(c, m.Org.Name+" now requires two-factor authentication of every member.")
	} else {
		s.flash(c, m.Org.Name+" no longer requires two-factor authentication.")
	}
	return redirect(c, switchboard.OrgPath(m.Org.ID, "settings"))
}
