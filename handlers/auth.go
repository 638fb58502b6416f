package handlers

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/mail"
	"switchboard/metrics"
	"switchboard/password"
	"switchboard/store"
	"switchboard/views"
)

// landing is where a profile goes after logging in without a next page: the
// organisation it used last, if it is still a member, or the list.
func (s *Server) landing(c echo.Context, p *switchboard.Profile) string {
	if p.LastOrgID != 0 {
		if _, err := s.db.FindMembership(c.Request().Context(), p.LastOrgID, p.ID); err == nil {
			return switchboard.OrgPath(p.LastOrgID, "")
		}
	}
	return "/orgs"
}

// logIn starts a session for p with a new token, and a new CSRF token: one
// seen before the login is worth nothing after it.
func (s *Server) logIn(c echo.Context, p *switchboard.Profile) error {
	ctx := c.Request().Context()
	if err := s.renewPrivileges(ctx, p.PrivilegeEpoch); err != nil {
		return err
	}
	s.sessions.Put(ctx, sessionCSRF, newCSRFToken())
	s.sessions.Put(ctx, sessionProfile, p.ID)
	s.sessions.Put(ctx, sessionEpoch, p.AuthEpoch)
	s.sessions.Put(ctx, sessionSeen, s.db.Now().Unix())
	return nil
}

// renewPrivileges gives the session a new token and records the privilege
// epoch it now stands in: at login, and whenever what the profile may do
// changes.
func (s *Server) renewPrivileges(ctx context.Context, epoch int64) error {
	if err := s.sessions.RenewToken(ctx); err != nil {
		return err
	}
	s.sessions.Put(ctx, sessionPrivilege, epoch)
	return nil
}

// renewAfterChange renews the session of the profile acting now, after a
// change of its own privileges (joining, leaving, handing over ownership),
// reading the new epoch from the database.
func (s *Server) renewAfterChange(c echo.Context, profileID int64) error {
	ctx := c.Request().Context()
	p, err := s.db.FindProfile(ctx, profileID)
	if err != nil {
		return err
	}
	return s.renewPrivileges(ctx, p.PrivilegeEpoch)
}

func (s *Server) handleSignupForm(c echo.Context) error {
	if p := switchboard.ProfileFromContext(c.Request().Context()); p != nil {
		return redirect(c, s.landing(c, p))
	}
	return s.render(c, http.StatusOK, views.Signup(views.SignupPage{Action: "/signup"}))
}

func (s *Server) handleSignup(c echo.Context) error {
	values, err := form(c)
	if err != nil {
		return err
	}
	page := views.SignupPage{Action: "/signup", Form: views.Form{Values: values}}
	if !s.limits.signupClient.allow(c.RealIP()) {
		page.Form.Message = "Too many sign-ups from your network just now. Please wait a few minutes and try again."
		return s.render(c, http.StatusTooManyRequests, views.Signup(page))
	}
	secret := values.Get("password")
	p := &switchboard.Profile{Email: switchboard.NormalizeEmail(values.Get("email")), FirstName: values.Get("first_name"), LastName: values.Get("last_name")}
	org := &switchboard.Organisation{Name: values.Get("org_name")}
	errs := switchboard.FieldErrors{}
	errs.Merge(p.Validate())
	switchboard.ValidateName(errs, "org_name", "your organisation's name", org.Name)
	password.Validate(errs, "password", secret, p)
	if len(errs) > 0 {
		page.Form.Errors = errs
		return s.render(c, http.StatusUnprocessableEntity, views.Signup(page))
	}
	hash, err := s.hasher.hash(c.Request().Context(), secret)
	if err != nil {
		return err
	}
	if err := s.db.CreateProfileWithOrganisation(c.Request().Context(), p, hash, org); err != nil {
		if fe := switchboard.Fields(err); fe != nil {
			page.Form.Errors = fe
			return s.render(c, http.StatusUnprocessableEntity, views.Signup(page))
		}
		return err
	}
	if err := s.logIn(c, p); err != nil {
		return err
	}
	s.flash(c, "Welcome to Switchboard. "+org.Name+" is ready: invite your team from Members.")
	return redirect(c, switchboard.OrgPath(org.ID, ""))
}

func (s *Server) handleLoginForm(c echo.Context) error {
	next := safeNext(c.QueryParam("next"))
	if p := switchboard.ProfileFromContext(c.Request().Context()); p != nil {
		if next == "" {
			next = s.landing(c, p)
		}
		return redirect(c, next)
	}
	page := views.LoginPage{Next: next, Form: views.Form{Values: map[string][]string{"email": {c.QueryParam("email")}}}}
	return s.render(c, http.StatusOK, views.Login(page))
}

// errLoginFailed is the one answer to a wrong email or a wrong password.
const errLoginFailed = "The email or password is not correct."

func (s *Server) handleLogin(c echo.Context) error {
	values, err := form(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	email := switchboard.NormalizeEmail(values.Get("email"))
	password := values.Get("password")
	next := safeNext(values.Get("next"))
	page := views.LoginPage{Next: next, Form: views.Form{Values: values}}

	if email == "" || password == "" {
		page.Form.Errors = switchboard.FieldErrors{}
		if email == "" {
			page.Form.Errors.Add("email", "Enter your email address.")
		}
		if password == "" {
			page.Form.Errors.Add("password", "Enter your password.")
		}
		return s.render(c, http.StatusUnprocessableEntity, views.Login(page))
	}
	// The slot is taken before any work, so parallel attempts all count.
	done, wait := s.limits.login.begin(email, c.RealIP())
	if wait > 0 {
		s.logger.Warn("login rate limited", "ip", c.RealIP(), "wait", wait.Round(time.Second))
		s.countLogin(metrics.LoginRateLimited)
		page.Form.Message = tooManyLogins(c, wait)
		return s.render(c, http.StatusTooManyRequests, views.Login(page))
	}
	p, hash, err := s.db.FindProfileByEmail(ctx, email)
	if err != nil && switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
		return err
	}
	ok, err := s.hasher.verify(ctx, password, hash)
	if err != nil {
		return err
	}
	done(ok && p != nil)
	if !ok || p == nil {
		s.logger.Warn("login failed", "ip", c.RealIP())
		s.countLogin(metrics.LoginWrongPassword)
		page.Form.Message = errLoginFailed
		return s.render(c, http.StatusUnprocessableEntity, views.Login(page))
	}
	if p.TwoFactor {
		// No session before the second factor (handlers/twofactorlogin.go).
		s.countLogin(metrics.LoginTwoFactorRequired)
		return s.startTwoFactor(c, p, next)
	}
	if err := s.logIn(c, p); err != nil {
		return err
	}
	s.countLogin(metrics.LoginSuccess)
	if next == "" {
		next = s.landing(c, p)
	}
	return redirect(c, next)
}

// tooManyLogins sets Retry-After and returns the sentence for a login that
// must wait.
func tooManyLogins(c echo.Context, wait time.Duration) string {
	c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	return "Too many failed attempts for this account from your network. Please wait " + waitText(wait) + " and try again."
}

func (s *Server) handleLogout(c echo.Context) error {
	ctx := c.Request().Context()
	// Destroy deletes the session from the store: the old cookie is
	// worthless from now on.
	if err := s.sessions.Destroy(ctx); err != nil {
		return err
	}
	values, err := form(c)
	if err != nil {
		return err
	}
	if next := safeNext(values.Get("next")); next != "" {
		return redirect(c, next)
	}
	return redirect(c, "/login")
}

func (s *Server) handleForgotForm(c echo.Context) error {
	return s.render(c, http.StatusOK, views.Forgot(views.ForgotPage{}))
}

// handleForgot sends a reset link if the email is registered, and answers
// the same either way, after the same work: looking the email up, making
// the token and queuing the email happen in a background job, so the time
// of the answer does not tell whether the email is registered.
func (s *Server) handleForgot(c echo.Context) error {
	values, err := form(c)
	if err != nil {
		return err
	}
	email := switchboard.NormalizeEmail(values.Get("email"))
	page := views.ForgotPage{Form: views.Form{Values: values}}
	errs := switchboard.FieldErrors{}
	switchboard.ValidateEmail(errs, "email", email)
	if len(errs) > 0 {
		page.Form.Errors = errs
		return s.render(c, http.StatusUnprocessableEntity, views.Forgot(page))
	}
	if !s.limits.resetClient.allow(c.RealIP()) {
		page.Form.Message = "Too many requests. Please wait a few minutes and try again."
		return s.render(c, http.StatusTooManyRequests, views.Forgot(page))
	}
	if err := s.enqueue(c.Request().Context(), "password reset", func(ctx context.Context) error { return s.sendPasswordReset(ctx, email) }); err != nil {
		return err
	}
	page.Sent = true
	return s.render(c, http.StatusOK, views.Forgot(page))
}

// sendPasswordReset queues a reset email to email if a profile has it, and
// does nothing otherwise. It runs in the background (see handleForgot).
func (s *Server) sendPasswordReset(ctx context.Context, email string) error {
	// A limited account simply gets no new email.
	if !s.limits.resetAccount.allow(email) {
		return nil
	}
	p, _, err := s.db.FindProfileByEmail(ctx, email)
	if switchboard.ErrorCode(err) == switchboard.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	token, hash := newToken()
	msg, err := mail.PasswordReset(mail.PasswordResetMessage{To: p.Email, Name: p.Name(), Link: s.link("/password/reset/" + token), Lifetime: store.PasswordResetLifetime})
	if err != nil {
		return err
	}
	// An address that had its emails for today gets the same answer and no
	// email, like a limited account: the answer never says more.
	if err := s.db.CreatePasswordReset(ctx, p.ID, hash, msg); switchboard.ErrorCode(err) == switchboard.ETOOMANY {
		s.logger.Warn("password reset email refused: recipient's daily emails used up", "profile", p.ID)
		return nil
	} else if err != nil {
		return err
	}
	s.notifyMail()
	return nil
}

func (s *Server) handleResetForm(c echo.Context) error {
	c.Response().Header().Set("Referrer-Policy", "no-referrer")
	if _, err := s.db.FindPasswordReset(c.Request().Context(), hashToken(c.Param("token"))); err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.Reset(views.ResetPage{Action: c.Request().URL.Path}))
}

func (s *Server) handleReset(c echo.Context) error {
	c.Response().Header().Set("Referrer-Policy", "no-referrer")
	values, err := form(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	hash := hashToken(c.Param("token"))
	id, err := s.db.FindPasswordReset(ctx, hash)
	if err != nil {
		return err
	}
	who, err := s.db.FindProfile(ctx, id)
	if err != nil {
		return err
	}
	secret := values.Get("password")
	errs := switchboard.FieldErrors{}
	password.Validate(errs, "password", secret, who)
	if len(errs) > 0 {
		return s.render(c, http.StatusUnprocessableEntity, views.Reset(views.ResetPage{Action: c.Request().URL.Path, Form: views.Form{Values: values, Errors: errs}}))
	}
	encoded, err := s.hasher.hash(ctx, secret)
	if err != nil {
		return err
	}
	if _, err := s.db.ResetPassword(ctx, hash, encoded); err != nil {
		return err
	}
	// Whoever was logged in here is logged out: they log in with the new
	// password, which proves it works.
	if err := s.sessions.Destroy(ctx); err != nil {
		return err
	}
	s.flash(c, "Your password was changed. Log in with your new password.")
	return redirect(c, "/login")
}
