package handlers

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/sms"
	"switchboard/store"
	"switchboard/views"
)

// apiPage builds the API page: the configuration as saved, the form as
// given (nil: as saved), and the examples with the organisation's own
// values, read within the organisation only.
func (s *Server) apiPage(c echo.Context, f *views.Form) (views.APIPage, error) {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	saved, err := s.db.APIConfig(ctx, m.Org.ID)
	if err != nil {
		return views.APIPage{}, err
	}
	ar, err := s.db.AutoReplace(ctx, m.Org.ID)
	if err != nil {
		return views.APIPage{}, err
	}
	page := views.APIPage{Membership: m, Saved: saved, PageMode: ar.Mode}
	if f != nil {
		page.Form = *f
	} else {
		page.Form = views.Form{Values: url.Values{"report_url": {saved.ReportURL}, "auto_replace": {string(saved.AutoReplace)}}}
	}
	senders, err := s.senders(ctx, m.Org.ID)
	if err != nil {
		return views.APIPage{}, err
	}
	ex := views.APIExamples{Base: s.link(apiBase), From: senders[0], To: sms.ExampleNumber(m.Org.Country)}
	messages, _, err := s.db.ListMessages(ctx, m.Org.ID, store.MessageFilter{}, 0, 1)
	if err != nil {
		return views.APIPage{}, err
	}
	if len(messages) > 0 {
		ex.MessageID = messages[0].ID
	}
	contacts, _, err := s.db.ListContacts(ctx, m.Org.ID, store.ContactFilter{}, "", 1)
	if err != nil {
		return views.APIPage{}, err
	}
	if len(contacts) > 0 {
		ex.ContactID = contacts[0].ID
	}
	page.Examples = ex
	return page, nil
}

// handleAPI shows the API configuration and the API's short
// documentation.
func (s *Server) handleAPI(c echo.Context) error {
	page, err := s.apiPage(c, nil)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.APISettings(page))
}

// handleAPISave saves the API configuration: the delivery-report URL
// (https://, or http:// to this machine when the operator allows it) and
// the auto-replace mode of API messages. The report worker is woken, so
// that a new URL is used at once.
func (s *Server) handleAPISave(c echo.Context) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	values, err := form(c)
	if err != nil {
		return err
	}
	cfg := &switchboard.APIConfig{OrgID: m.Org.ID, ReportURL: values.Get("report_url"), AutoReplace: switchboard.AutoReplaceMode(values.Get("auto_replace"))}
	if err := cfg.Validate(s.cfg.ReportAllowLoopback); err != nil {
		fe := switchboard.Fields(err)
		if fe == nil {
			return err
		}
		kept := url.Values{"report_url": {values.Get("report_url")}, "auto_replace": {values.Get("auto_replace")}}
		page, perr := s.apiPage(c, &views.Form{Values: kept, Errors: fe})
		if perr != nil {
			return perr
		}
		return s.render(c, http.StatusUnprocessableEntity, views.APISettings(page))
	}
	if err := s.db.SaveAPIConfig(ctx, s.actor(c), cfg); err != nil {
		return err
	}
	s.notifyReports()
	if cfg.ReportURL != "" {
		s.flash(c, "The API configuration was saved. Delivery reports go to "+cfg.ReportURL+", signed with the secret shown below.")
	} else {
		s.flash(c, "The API configuration was saved. No delivery reports are sent.")
	}
	return redirect(c, switchboard.OrgPath(m.Org.ID, "api"))
}

// notifyReports wakes the delivery-report worker after the configuration
// changed.
func (s *Server) notifyReports() {
	if s.cfg.Reports != nil {
		s.cfg.Reports.Notify()
	}
}

// handleReportSecretConfirm asks before replacing the signing secret.
func (s *Server) handleReportSecretConfirm(c echo.Context) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	saved, err := s.db.APIConfig(ctx, m.Org.ID)
	if err != nil {
		return err
	}
	page := views.ConfirmPage{
		Title:       "Generate a new signing secret?",
		Consequence: "Reports are signed with the new secret from the next one on, and the current secret stops working at once: put the new one into your receiver, or it will refuse the reports (they are retried until it accepts them).",
		Action:      switchboard.OrgPath(m.Org.ID, "api/secret"),
		Button:      "Generate a new secret",
		CancelURL:   switchboard.OrgPath(m.Org.ID, "api"),
	}
	if saved.ReportURL == "" {
		page.Blocked = "There is no delivery-report URL yet. Save one first: its signing secret is made with it."
	}
	return s.render(c, http.StatusOK, views.Confirm(page))
}

// handleReportSecret replaces the signing secret. The new secret is shown
// on the API page, never in the flash.
func (s *Server) handleReportSecret(c echo.Context) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	if _, err := s.db.RotateReportSecret(ctx, s.actor(c), m.Org.ID); err != nil {
		return err
	}
	s.notifyReports()
	s.flash(c, "A new signing secret was generated. Reports are signed with it from now on: put it into your receiver.")
	return redirect(c, switchboard.OrgPath(m.Org.ID, "api"))
}
