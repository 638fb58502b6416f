package handlers

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/views"
)

func (s *Server) handleOrgList(c echo.Context) error {
	ctx := c.Request().Context()
	p := switchboard.ProfileFromContext(ctx)
	orgs, err := s.db.ListMemberships(ctx, p.ID)
	if err != nil {
		return err
	}
	// Someone whose access was taken away is told by whom and when, not
	// left wondering where the organisation went.
	removals, err := s.db.RecentRemovals(ctx, p.ID, s.db.Now().Add(-switchboard.RemovalNoticePeriod))
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.OrgList(views.OrgListPage{Orgs: orgs, Removals: removals}))
}

func (s *Server) handleOrgNewForm(c echo.Context) error {
	return s.render(c, http.StatusOK, views.OrgNew(views.OrgNewPage{}))
}

func (s *Server) handleOrgCreate(c echo.Context) error {
	values, err := form(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	org := &switchboard.Organisation{Name: strings.TrimSpace(values.Get("name"))}
	if err := org.Validate(); err != nil {
		return s.render(c, http.StatusUnprocessableEntity, views.OrgNew(views.OrgNewPage{Form: views.Form{Values: values, Errors: switchboard.Fields(err)}}))
	}
	// Each organisation has its own invitation allowance: creating them
	// without limit would multiply it (the review made 40 in 0.4 s).
	p := switchboard.ProfileFromContext(ctx)
	if !s.limits.orgCreate.allow(strconv.FormatInt(p.ID, 10)) {
		s.logger.Warn("organisation creation rate limited", "profile", p.ID)
		page := views.OrgNewPage{Form: views.Form{Values: values, Message: "You have created many organisations today. Please wait a few hours before creating another."}}
		return s.render(c, http.StatusTooManyRequests, views.OrgNew(page))
	}
	if err := s.db.CreateOrganisation(ctx, p, org); err != nil {
		return err
	}
	s.flash(c, org.Name+" was created. You are its owner.")
	return redirect(c, switchboard.OrgPath(org.ID, ""))
}

func (s *Server) handleDashboard(c echo.Context) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	now := s.db.Now()
	// One statement, whatever the organisation's size: kept counts and
	// sums, and the newest messages by their index.
	o, err := s.db.Overview(ctx, m.Org.ID, now)
	if err != nil {
		return err
	}
	page := views.DashboardPage{Membership: m, Members: o.Members, Pending: o.Pending, Currency: s.cfg.Currency, Zone: zoneOf(c),
		Balance: o.Balance, Spent: o.Spent, Month: now.UTC().Month().String(), Messages: o.Messages}
	if m.Org.IsSubaccount() {
		if page.Funds, err = s.db.SubaccountFunds(ctx, m.Org.ID); err != nil {
			return err
		}
	}
	for _, sec := range switchboard.Sections {
		if m.Can(sec.Permission) {
			page.Sections = append(page.Sections, sec)
		}
	}
	return s.render(c, http.StatusOK, views.Dashboard(page))
}

func orgValues(o *switchboard.Organisation) url.Values {
	return url.Values{"name": {o.Name}, "legal_name": {o.LegalName}, "vat_number": {o.VATNumber}, "address": {o.Address}, "billing_email": {o.BillingMail}, "country": {o.Country}}
}

// settingsPage builds the settings page with its forms as they are now.
func (s *Server) settingsPage(c echo.Context) (views.SettingsPage, error) {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	page := views.SettingsPage{Membership: m, Details: views.Form{Values: orgValues(m.Org)}}
	if m.Can(switchboard.PermOwnership) {
		counts, err := s.db.CountMembers(ctx, m.Org.ID)
		if err != nil {
			return page, err
		}
		page.Alone = counts.Members < 2
	}
	return page, nil
}

func (s *Server) handleSettings(c echo.Context) error {
	page, err := s.settingsPage(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.Settings(page))
}

func (s *Server) handleSettingsSave(c echo.Context) error {
	values, err := form(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	o := *m.Org
	o.Name = strings.TrimSpace(values.Get("name"))
	o.LegalName = strings.TrimSpace(values.Get("legal_name"))
	o.VATNumber = strings.TrimSpace(values.Get("vat_number"))
	o.Address = strings.TrimSpace(values.Get("address"))
	o.BillingMail = switchboard.NormalizeEmail(values.Get("billing_email"))
	o.Country = values.Get("country")
	if err := o.Validate(); err != nil {
		page, perr := s.settingsPage(c)
		if perr != nil {
			return perr
		}
		page.Details = views.Form{Values: values, Errors: switchboard.Fields(err)}
		return s.render(c, http.StatusUnprocessableEntity, views.Settings(page))
	}
	if err := s.db.UpdateOrganisation(ctx, s.actor(c), &o); err != nil {
		return err
	}
	s.flash(c, "The organisation's details were saved.")
	return redirect(c, switchboard.OrgPath(o.ID, "settings"))
}

// handleOrgDelete deletes the organisation once the owner has typed its
// name. Profiles stay; members simply no longer see it.
func (s *Server) handleOrgDelete(c echo.Context) error {
	values, err := form(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	if strings.TrimSpace(values.Get("confirm_name")) != m.Org.Name {
		page, err := s.settingsPage(c)
		if err != nil {
			return err
		}
		page.Delete = views.Form{Values: values, Errors: switchboard.FieldErrors{"confirm_name": "Type the organisation's name exactly as shown to confirm."}}
		return s.render(c, http.StatusUnprocessableEntity, views.Settings(page))
	}
	if err := s.db.DeleteOrganisation(ctx, m.Org.ID); err != nil {
		return err
	}
	s.logger.Info("organisation deleted", "org", m.Org.ID, "profile", m.Member.ProfileID)
	s.flash(c, m.Org.Name+" was deleted.")
	return redirect(c, "/orgs")
}

// actor is who makes the request, for the audit log.
func (s *Server) actor(c echo.Context) switchboard.Actor {
	p := switchboard.ProfileFromContext(c.Request().Context())
	a := switchboard.Actor{IP: c.RealIP()}
	if p != nil {
		a.ProfileID, a.Name = p.ID, p.Name()
	}
	return a
}

// removedFrom answers the dashboard of an organisation the profile no
// longer belongs to: if someone recently removed them, the 404 says by whom
// and when (they knew the organisation); otherwise the plain notFound.
func (s *Server) removedFrom(c echo.Context, orgID, profileID int64, notFound error) error {
	r, err := s.db.RecentRemoval(c.Request().Context(), orgID, profileID, s.db.Now().Add(-switchboard.RemovalNoticePeriod))
	if switchboard.ErrorCode(err) == switchboard.ENOTFOUND {
		return notFound
	} else if err != nil {
		return err
	}
	return &switchboard.Error{Code: switchboard.ENOTFOUND, Message: views.RemovalNotice(*r)}
}
