package handlers

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/password"
	"switchboard/views"
)

// timeZones offered in the account page's list; any IANA name is accepted.
var timeZones = []string{
	"UTC", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin", "Europe/Madrid",
	"Europe/Rome", "Europe/Amsterdam", "Europe/Brussels", "Europe/Zurich", "Europe/Vienna", "Europe/Stockholm",
	"Europe/Warsaw", "Europe/Athens", "Europe/Helsinki", "Europe/Istanbul", "Africa/Lagos", "Africa/Nairobi",
	"Africa/Johannesburg", "Asia/Dubai", "Asia/Kolkata", "Asia/Singapore", "Asia/Tokyo", "Australia/Sydney",
	"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Sao_Paulo",
}

func profileValues(p *switchboard.Profile) url.Values {
	return url.Values{"email": {p.Email}, "first_name": {p.FirstName}, "last_name": {p.LastName}, "language": {p.Language}, "time_zone": {p.TimeZone}}
}

func (s *Server) handleAccount(c echo.Context) error {
	p := switchboard.ProfileFromContext(c.Request().Context())
	return s.renderAccount(c, http.StatusOK, views.AccountPage{Profile: views.Form{Values: profileValues(p)}, Zones: timeZones})
}

func (s *Server) handleAccountSave(c echo.Context) error {
	values, err := form(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	current := switchboard.ProfileFromContext(ctx)
	p := *current
	p.FirstName, p.LastName = values.Get("first_name"), values.Get("last_name")
	p.Language, p.TimeZone = values.Get("language"), values.Get("time_zone")
	if err := p.Validate(); err != nil {
		values.Set("email", current.Email)
		page := views.AccountPage{Profile: views.Form{Values: values, Errors: switchboard.Fields(err)}, Zones: timeZones}
		return s.renderAccount(c, http.StatusUnprocessableEntity, page)
	}
	if err := s.db.UpdateProfile(ctx, &p); err != nil {
		return err
	}
	s.flash(c, "Your profile was saved.")
	return redirect(c, "/account")
}

// handlePasswordChange changes the password after checking the current one,
// and ends every other session of the profile.
func (s *Server) handlePasswordChange(c echo.Context) error {
	values, err := form(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	p := switchboard.ProfileFromContext(ctx)
	page := views.AccountPage{Profile: views.Form{Values: profileValues(p)}, Password: views.Form{Values: url.Values{}}, Zones: timeZones}
	errs := switchboard.FieldErrors{}
	current, next := values.Get("current_password"), values.Get("new_password")
	if current == "" {
		errs.Add("current_password", "Enter your current password.")
	}
	password.Validate(errs, "new_password", next, p)
	if len(errs) == 0 {
		done, wait := s.limits.login.begin(p.Email, c.RealIP())
		if wait > 0 {
			page.Password.Message = tooManyLogins(c, wait)
			return s.renderAccount(c, http.StatusTooManyRequests, page)
		}
		hash, err := s.db.PasswordHash(ctx, p.ID)
		if err != nil {
			return err
		}
		ok, err := s.hasher.verify(ctx, current, hash)
		if err != nil {
			return err
		}
		done(ok)
		if !ok {
			errs.Add("current_password", "This is not your current password.")
		}
	}
	if len(errs) > 0 {
		page.Password.Errors = errs
		return s.renderAccount(c, http.StatusUnprocessableEntity, page)
	}
	encoded, err := s.hasher.hash(ctx, next)
	if err != nil {
		return err
	}
	epoch, err := s.db.SetPassword(ctx, p.ID, encoded)
	if err != nil {
		return err
	}
	if err := s.keepThisSession(c, epoch); err != nil {
		return err
	}
	s.flash(c, "Your password was changed. Every other session was logged out.")
	return redirect(c, "/account")
}

// keepThisSession moves this session to the profile's new auth epoch (which
// ended all the others) under a new token.
func (s *Server) keepThisSession(c echo.Context, epoch int64) error {
	ctx := c.Request().Context()
	if err := s.sessions.RenewToken(ctx); err != nil {
		return err
	}
	s.sessions.Put(ctx, sessionEpoch, epoch)
	return nil
}

func (s *Server) handleLogoutOthers(c echo.Context) error {
	ctx := c.Request().Context()
	p := switchboard.ProfileFromContext(ctx)
	epoch, err := s.db.NewAuthEpoch(ctx, p.ID)
	if err != nil {
		return err
	}
	if err := s.keepThisSession(c, epoch); err != nil {
		return err
	}
	s.flash(c, "Every other session was logged out.")
	return redirect(c, "/account")
}
