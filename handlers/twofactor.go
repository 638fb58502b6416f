package handlers

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/twofactor"
	"switchboard/views"
)

// The account's side of two-factor authentication (/account/two-factor):
// setting it up, the recovery codes, turning it off. The login's side is in
// twofactorlogin.go.

// securityEventsShown is how many security events the account page lists.
const securityEventsShown = 20

// renderAccount renders the account page with the profile's two-factor
// state and security activity read now.
func (s *Server) renderAccount(c echo.Context, status int, page views.AccountPage) error {
	ctx := c.Request().Context()
	p := switchboard.ProfileFromContext(ctx)
	events, err := s.db.ListProfileEvents(ctx, p.ID, securityEventsShown)
	if err != nil {
		return err
	}
	page.TwoFactor, page.Events = p.TwoFactor, events
	return s.render(c, status, views.Account(page))
}

// renderTwoFactor fills the page with what the store holds (on or off, the
// secret waiting for its first code, the codes left) and renders it.
func (s *Server) renderTwoFactor(c echo.Context, status int, page views.TwoFactorPage) error {
	ctx := c.Request().Context()
	p := switchboard.ProfileFromContext(ctx)
	secret, err := s.db.FindTwoFactorSecret(ctx, p.ID)
	if err != nil {
		return err
	}
	page.On = secret.On
	if secret.On {
		if page.CodesLeft, err = s.db.RecoveryCodesLeft(ctx, p.ID); err != nil {
			return err
		}
	} else if secret.Sealed != "" {
		plain, err := s.cfg.SecretKey.Open(secret.Sealed)
		if err != nil {
			// Sealed under another key (the key file was replaced): the
			// set-up starts again, as if there were none.
			s.logger.Warn("two-factor secret being set up cannot be opened with this key", "profile", p.ID)
		} else {
			u, err := twofactor.URL(string(plain), p.Email)
			if err != nil {
				return err
			}
			qr, err := twofactor.QR(u)
			if err != nil {
				return err
			}
			page.Setup = &views.TwoFactorSetup{Secret: string(plain), QR: qr}
		}
	}
	return s.render(c, status, views.TwoFactor(page))
}

func (s *Server) handleTwoFactor(c echo.Context) error {
	next := safeNext(c.QueryParam("next"))
	if p := switchboard.ProfileFromContext(c.Request().Context()); p.TwoFactor && next != "" {
		return redirect(c, next)
	}
	return s.renderTwoFactor(c, http.StatusOK, views.TwoFactorPage{Next: next})
}

// handleTwoFactorSetup makes a new secret, sealed, waiting for its first
// code; the page then shows it.
func (s *Server) handleTwoFactorSetup(c echo.Context) error {
	ctx := c.Request().Context()
	p := switchboard.ProfileFromContext(ctx)
	next := safeNext(c.FormValue("next"))
	if p.TwoFactor {
		return redirect(c, twoFactorSetUpURL(next))
	}
	secret, _, err := twofactor.Generate(p.Email)
	if err != nil {
		return err
	}
	sealed, err := s.cfg.SecretKey.Seal([]byte(secret))
	if err != nil {
		return err
	}
	if err := s.db.SetPendingTwoFactor(ctx, p.ID, sealed); err != nil && switchboard.ErrorCode(err) != switchboard.ECONFLICT {
		return err
	}
	return redirect(c, twoFactorSetUpURL(next))
}

// handleTwoFactorEnable turns two-factor on when the Code matches the
// secret being set up, and shows the recovery codes, once.
func (s *Server) handleTwoFactorEnable(c echo.Context) error {
	values, err := form(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	p := switchboard.ProfileFromContext(ctx)
	if p.TwoFactor {
		return redirect(c, "/account/two-factor")
	}
	next := safeNext(values.Get("next"))
	page := views.TwoFactorPage{Confirm: views.Form{Values: values, Errors: switchboard.FieldErrors{}}, Next: next}
	secret, err := s.db.FindTwoFactorSecret(ctx, p.ID)
	if err != nil {
		return err
	}
	plain, openErr := s.cfg.SecretKey.Open(secret.Sealed)
	if secret.Sealed == "" || openErr != nil {
		s.flash(c, "Start the set-up again: there is no secret waiting for a code.")
		return redirect(c, "/account/two-factor")
	}
	code := values.Get("code")
	step, ok := twofactor.Check(string(plain), code, s.db.Now())
	if !ok {
		if strings.TrimSpace(code) == "" {
			page.Confirm.Errors.Add("code", "Enter the Code your app shows.")
		} else {
			page.Confirm.Errors.Add("code", "This code is not correct. Check that the app shows Switchboard with your email, and type the six digits it shows now.")
		}
		return s.renderTwoFactor(c, http.StatusUnprocessableEntity, page)
	}
	codes, hashes, err := newRecoveryCodes()
	if err != nil {
		return err
	}
	epoch, err := s.db.EnableTwoFactor(ctx, p.ID, secret.Sealed, step, hashes, s.actor(c))
	if switchboard.ErrorCode(err) == switchboard.ECONFLICT {
		// Another tab started again or finished first.
		page.Confirm.Errors.Add("code", "This set-up was replaced in another window. Scan the QR code shown here and type its code.")
		return s.renderTwoFactor(c, http.StatusUnprocessableEntity, page)
	} else if err != nil {
		return err
	}
	// A privilege change: this session gets a new token, every other
	// session of the profile ends (they were opened by a password alone).
	if err := s.keepThisSession(c, epoch); err != nil {
		return err
	}
	s.logger.Info("two-factor turned on", "profile", p.ID)
	return s.renderTwoFactor(c, http.StatusOK, views.TwoFactorPage{RecoveryCodes: codes, Next: next})
}

// newRecoveryCodes makes the recovery codes to show and the hashes to store.
func newRecoveryCodes() ([]string, [][]byte, error) {
	codes, err := twofactor.NewRecoveryCodes()
	if err != nil {
		return nil, nil, err
	}
	hashes := make([][]byte, len(codes))
	for i, c := range codes {
		hashes[i] = twofactor.HashRecoveryCode(c)
	}
	return codes, hashes, nil
}

// checkPassword checks the profile's password through the login guard,
// as a login would, so the forms asking for it cannot be used to guess it.
// It returns the message to show beside the field, "" when it is right,
// and sets the status to answer.
func (s *Server) checkPassword(c echo.Context, p *switchboard.Profile, secret string) (msg string, status int, err error) {
	if secret == "" {
		return "Enter your password.", http.StatusUnprocessableEntity, nil
	}
	ctx := c.Request().Context()
	done, wait := s.limits.login.begin(p.Email, c.RealIP())
	if wait > 0 {
		return tooManyLogins(c, wait), http.StatusTooManyRequests, nil
	}
	hash, err := s.db.PasswordHash(ctx, p.ID)
	if err != nil {
		return "", 0, err
	}
	ok, err := s.hasher.verify(ctx, secret, hash)
	if err != nil {
		return "", 0, err
	}
	done(ok)
	if !ok {
		s.logger.Warn("wrong password on the two-factor page", "ip", c.RealIP(), "profile", p.ID)
		return "This is not your password.", http.StatusUnprocessableEntity, nil
	}
	return "", 0, nil
}

// handleRecoveryCodesRegenerate replaces the recovery codes after the
// password, and shows the new ones once.
func (s *Server) handleRecoveryCodesRegenerate(c echo.Context) error {
	values, err := form(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	p := switchboard.ProfileFromContext(ctx)
	if !p.TwoFactor {
		return redirect(c, "/account/two-factor")
	}
	page := views.TwoFactorPage{Regenerate: views.Form{Values: values, Errors: switchboard.FieldErrors{}}}
	msg, status, err := s.checkPassword(c, p, values.Get("password"))
	if err != nil {
		return err
	}
	if msg != "" {
		page.Regenerate.Errors.Add("password", msg)
		return s.renderTwoFactor(c, status, page)
	}
	codes, hashes, err := newRecoveryCodes()
	if err != nil {
		return err
	}
	if err := s.db.RegenerateRecoveryCodes(ctx, p.ID, hashes, s.actor(c)); err != nil {
		return err
	}
	return s.renderTwoFactor(c, http.StatusOK, views.TwoFactorPage{RecoveryCodes: codes})
}

// recoveryCodeShape is what NewRecoveryCodes makes; the download echoes
// nothing else.
var recoveryCodeShape = regexp.MustCompile(`^[a-z2-9]{5}-[a-z2-9]{5}$`)

// handleRecoveryCodesDownload returns the recovery codes the page just
// showed as a text file: the page posts them back, since they are stored
// only as hashes.
func (s *Server) handleRecoveryCodesDownload(c echo.Context) error {
	if err := c.Request().ParseForm(); err != nil {
		return switchboard.Errorf(switchboard.EINVALID, "The form could not be read. Please try again.")
	}
	codes := c.Request().PostForm["code"]
	if len(codes) == 0 || len(codes) > twofactor.RecoveryCodes {
		return switchboard.Errorf(switchboard.EINVALID, "There are no recovery codes to download. Regenerate them to get new ones.")
	}
	var b strings.Builder
	b.WriteString("Switchboard recovery codes for " + switchboard.ProfileFromContext(c.Request().Context()).Email + "\r\nEach code logs you in once.\r\n\r\n")
	for _, code := range codes {
		if !recoveryCodeShape.MatchString(code) {
			return switchboard.Errorf(switchboard.EINVALID, "These are not Switchboard recovery codes.")
		}
		b.WriteString(code + "\r\n")
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, `attachment; filename="switchboard-recovery-codes.txt"`)
	h.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", []byte(b.String()))
}

// handleTwoFactorDisable turns two-factor off after the password and a
// code (from the app, or a recovery code).
func (s *Server) handleTwoFactorDisable(c echo.Context) error {
	values, err := form(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	p := switchboard.ProfileFromContext(ctx)
	if !p.TwoFactor {
		return redirect(c, "/account/two-factor")
	}
	values.Del("password") // never typed back into the page
	page := views.TwoFactorPage{Disable: views.Form{Values: values, Errors: switchboard.FieldErrors{}}}
	code := strings.TrimSpace(values.Get("code"))
	if code == "" {
		page.Disable.Errors.Add("code", "Enter the Code your app shows, or one of your recovery codes.")
	}
	msg, status, err := s.checkPassword(c, p, c.Request().PostForm.Get("password"))
	if err != nil {
		return err
	}
	if msg != "" {
		page.Disable.Errors.Add("password", msg)
	}
	if len(page.Disable.Errors) > 0 {
		return s.renderTwoFactor(c, max(status, http.StatusUnprocessableEntity), page)
	}
	done, wait := s.limits.login.begin(codeGuardKey(p), c.RealIP())
	if wait > 0 {
		page.Disable.Message = tooManyLogins(c, wait)
		return s.renderTwoFactor(c, http.StatusTooManyRequests, page)
	}
	ok, err := s.checkSecondFactor(c, p, code)
	if err != nil {
		return err
	}
	done(ok)
	if !ok {
		page.Disable.Errors.Add("code", "This code is not correct, or was already used. Type the six digits your app shows now, or an unused recovery code.")
		return s.renderTwoFactor(c, http.StatusUnprocessableEntity, page)
	}
	epoch, err := s.db.DisableTwoFactor(ctx, p.ID, s.actor(c))
	if err != nil {
		return err
	}
	if err := s.keepThisSession(c, epoch); err != nil {
		return err
	}
	s.logger.Info("two-factor turned off", "profile", p.ID)
	s.flash(c, "Two-factor authentication is off. Every other session was logged out.")
	return redirect(c, "/account/two-factor")
}

// checkSecondFactor accepts a code from the app (once: its time step is
// recorded) or an unused recovery code (used up) for the profile.
func (s *Server) checkSecondFactor(c echo.Context, p *switchboard.Profile, code string) (bool, error) {
	ctx := c.Request().Context()
	if isAppCode(code) {
		secret, err := s.db.FindTwoFactorSecret(ctx, p.ID)
		if err != nil {
			return false, err
		}
		plain, err := s.cfg.SecretKey.Open(secret.Sealed)
		if err != nil {
			s.logger.Error("two-factor secret cannot be opened with this key", "profile", p.ID)
			return false, nil
		}
		step, ok := twofactor.Check(string(plain), code, s.db.Now())
		if !ok {
			return false, nil
		}
		return s.db.AcceptTwoFactorStep(ctx, p.ID, step)
	}
	return s.db.UseRecoveryCode(ctx, p.ID, twofactor.HashRecoveryCode(code), s.actor(c))
}

// isAppCode tells a code from the app (digits) from a recovery code.
func isAppCode(code string) bool {
	code = twofactor.NormalizeCode(code)
	return code != "" && strings.Trim(code, "0123456789") == ""
}
