package handlers

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/views"
)

// apiKeysPage builds the API keys page with the create form as given.
func (s *Server) apiKeysPage(c echo.Context, create views.Form) (views.APIKeysPage, error) {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	keys, err := s.db.ListAPIKeys(ctx, m.Org.ID)
	if err != nil {
		return views.APIKeysPage{}, err
	}
	return views.APIKeysPage{Membership: m, Keys: keys, Create: create, Zone: zoneOf(c)}, nil
}

// handleAPIKeys lists the organisation's API keys, and the form to create
// one.
func (s *Server) handleAPIKeys(c echo.Context) error {
	page, err := s.apiKeysPage(c, views.Form{})
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.APIKeys(page))
}

// handleAPIKeyCreate creates a key and answers the list with the new key
// shown once, in this answer's body only: not a redirect, so that the key
// never travels through the session, a flash or an address (which logs,
// histories and Referer headers keep). Only its hash is stored. The page
// is no-store, as every page (securityHeaders).
func (s *Server) handleAPIKeyCreate(c echo.Context) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	values, err := form(c)
	if err != nil {
		return err
	}
	k := &switchboard.APIKey{OrgID: m.Org.ID, Name: values.Get("name")}
	if err := k.Validate(); err != nil {
		fe := switchboard.Fields(err)
		if fe == nil {
			return err
		}
		page, perr := s.apiKeysPage(c, views.Form{Values: url.Values{"name": {values.Get("name")}}, Errors: fe})
		if perr != nil {
			return perr
		}
		return s.render(c, http.StatusUnprocessableEntity, views.APIKeys(page))
	}
	plain, hash := switchboard.NewAPIKey()
	if err := s.db.CreateAPIKey(ctx, s.actor(c), k, hash, plain[:switchboard.APIKeyShown]); err != nil {
		return err
	}
	s.logger.Info("api key created", "org", m.Org.ID, "api_key", k.ID, "profile", profileID(ctx))
	page, err := s.apiKeysPage(c, views.Form{})
	if err != nil {
		return err
	}
	page.NewKey, page.NewKeyName = plain, k.Name
	return s.render(c, http.StatusOK, views.APIKeys(page))
}

// apiKeyOfURL reads the key named in the URL within the organisation of
// the URL: another organisation's key is a 404, as a missing one.
func (s *Server) apiKeyOfURL(c echo.Context, m *switchboard.Membership) (*switchboard.APIKey, error) {
	id, err := parseID(c.Param("key"))
	if err != nil {
		return nil, errNoAPIKey
	}
	return s.db.FindAPIKey(c.Request().Context(), m.Org.ID, id)
}

var errNoAPIKey = switchboard.Errorf(switchboard.ENOTFOUND, "This API key does not exist, or you do not have access to it.")

// handleAPIKeyRevokeConfirm asks before revoking a key.
func (s *Server) handleAPIKeyRevokeConfirm(c echo.Context) error {
	m := switchboard.MembershipFromContext(c.Request().Context())
	k, err := s.apiKeyOfURL(c, m)
	if err != nil {
		return err
	}
	page := views.ConfirmPage{
		Title:       "Revoke the API key " + k.Name + "?",
		Consequence: "Every program using the key " + k.Prefix + "… stops at once: its very next request is refused. This cannot be undone; a program that still needs the API needs a new key.",
		Action:      switchboard.OrgPath(m.Org.ID, "api-keys/"+strconv.FormatInt(k.ID, 10)+"/revoke"),
		Button:      "Revoke key",
		CancelURL:   switchboard.OrgPath(m.Org.ID, "api-keys"),
	}
	if k.Revoked() {
		page.Blocked = "The API key " + k.Name + " is already revoked: no program can use it."
	}
	return s.render(c, http.StatusOK, views.Confirm(page))
}

// handleAPIKeyRevoke revokes a key: the store refuses it from the very
// next request on.
func (s *Server) handleAPIKeyRevoke(c echo.Context) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	id, err := parseID(c.Param("key"))
	if err != nil {
		return errNoAPIKey
	}
	k, err := s.db.RevokeAPIKey(ctx, s.actor(c), m.Org.ID, id)
	if err != nil {
		return err
	}
	s.logger.Info("api key revoked", "org", m.Org.ID, "api_key", k.ID, "profile", profileID(ctx))
	s.flash(c, "API key "+k.Name+" revoked.")
	return redirect(c, switchboard.OrgPath(m.Org.ID, "api-keys"))
}
