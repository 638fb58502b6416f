package handlers

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/metrics"
	"switchboard/store"
	"switchboard/twofactor"
	"switchboard/views"
)

// The second step of a login with two-factor on. After the right password
// no session is made: a login challenge is stored (only its token's hash)
// and the browser holds the token in a short-lived cookie. The right Code,
// or an unused recovery code, deletes the challenge and only then makes
// the session, as a login without two-factor does.

// challengeCookie names the cookie holding a login challenge's token; over
// https it gets the __Host- prefix, as the session cookie does.
func (s *Server) challengeCookie() string {
	if s.secure() {
		return "__Host-switchboard_login"
	}
	return "switchboard_login"
}

// startTwoFactor stores a login challenge for p and sends the browser to
// the Code step.
func (s *Server) startTwoFactor(c echo.Context, p *switchboard.Profile, next string) error {
	token, hash := newToken()
	if err := s.db.CreateLoginChallenge(c.Request().Context(), hash, p.ID, next, c.RealIP()); err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{
		Name: s.challengeCookie(), Value: token, Path: "/",
		MaxAge: int(store.LoginChallengeLifetime / time.Second), HttpOnly: true, Secure: s.secure(), SameSite: http.SameSiteLaxMode,
	})
	return redirect(c, "/login/two-factor")
}

// endChallengeCookie tells the browser to forget the challenge's token.
func (s *Server) endChallengeCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{Name: s.challengeCookie(), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure(), SameSite: http.SameSiteLaxMode})
}

// challengeHash is the stored form of the request's challenge token, nil
// when it carries none.
func (s *Server) challengeHash(c echo.Context) []byte {
	ck, err := c.Cookie(s.challengeCookie())
	if err != nil || ck.Value == "" {
		return nil
	}
	return hashToken(ck.Value)
}

// loginAgain ends a challenge that is gone and sends the person back to
// the password.
func (s *Server) loginAgain(c echo.Context, msg string) error {
	s.endChallengeCookie(c)
	s.flash(c, msg)
	return redirect(c, "/login")
}

const msgLoginExpired = "Your login has expired. Please log in again."

func (s *Server) handleTwoFactorLoginForm(c echo.Context) error {
	ctx := c.Request().Context()
	if p := switchboard.ProfileFromContext(ctx); p != nil {
		return redirect(c, s.landing(c, p))
	}
	hash := s.challengeHash(c)
	if hash == nil {
		return redirect(c, "/login")
	}
	if _, err := s.db.FindLoginChallenge(ctx, hash); switchboard.ErrorCode(err) == switchboard.EGONE {
		return s.loginAgain(c, msgLoginExpired)
	} else if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.TwoFactorLogin(views.TwoFactorLoginPage{Recovery: c.QueryParam("recovery") != ""}))
}

// handleTwoFactorLogin checks the Code (or a recovery code) of a login
// challenge. Wrong codes count twice: in the challenge, which dies after
// store.MaxChallengeAttempts, and in the login guard, like wrong passwords.
func (s *Server) handleTwoFactorLogin(c echo.Context) error {
	values, err := form(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	hash := s.challengeHash(c)
	if hash == nil {
		return s.loginAgain(c, msgLoginExpired)
	}
	ch, err := s.db.FindLoginChallenge(ctx, hash)
	if switchboard.ErrorCode(err) == switchboard.EGONE {
		return s.loginAgain(c, msgLoginExpired)
	} else if err != nil {
		return err
	}
	p, err := s.db.FindProfile(ctx, ch.ProfileID)
	if err != nil {
		return err
	}
	recovery := values.Has("recovery_code")
	field, code := "code", strings.TrimSpace(values.Get("code"))
	if recovery {
		field, code = "recovery_code", strings.TrimSpace(values.Get("recovery_code"))
	}
	page := views.TwoFactorLoginPage{Recovery: recovery, Form: views.Form{Values: values, Errors: switchboard.FieldErrors{}}}
	if code == "" {
		if recovery {
			page.Form.Errors.Add(field, "Enter one of your recovery codes.")
		} else {
			page.Form.Errors.Add(field, "Enter the Code your app shows.")
		}
		return s.render(c, http.StatusUnprocessableEntity, views.TwoFactorLogin(page))
	}
	done, wait := s.limits.login.begin(codeGuardKey(p), c.RealIP())
	if wait > 0 {
		s.logger.Warn("two-factor code rate limited", "ip", c.RealIP(), "wait", wait.Round(time.Second))
		page.Form.Message = tooManyLogins(c, wait)
		return s.render(c, http.StatusTooManyRequests, views.TwoFactorLogin(page))
	}
	var done2 *store.LoginChallenge
	if recovery {
		done2, err = s.db.CompleteLoginWithRecoveryCode(ctx, hash, twofactor.HashRecoveryCode(code), switchboard.Actor{ProfileID: p.ID, Name: p.Name(), IP: c.RealIP()})
	} else {
		done2, err = s.completeWithCode(c, hash, p.ID, code)
	}
	switch {
	case err == nil:
	case switchboard.ErrorCode(err) == switchboard.EGONE:
		done(false)
		return s.loginAgain(c, msgLoginExpired)
	case err == errWrongCode || err == store.ErrCodeUsed || err == store.ErrRecoveryCodeWrong:
		refused := err
		done(false)
		s.countLogin(metrics.LoginTwoFactorFailed)
		s.logger.Warn("two-factor code refused", "ip", c.RealIP(), "profile", p.ID)
		left, err := s.db.FailLoginChallenge(ctx, hash)
		if switchboard.ErrorCode(err) == switchboard.EGONE || (err == nil && left == 0) {
			return s.loginAgain(c, "Too many wrong codes. Please log in again.")
		} else if err != nil {
			return err
		}
		switch {
		case recovery:
			page.Form.Errors.Add(field, "This recovery code is not correct or was already used.")
		case refused == store.ErrCodeUsed:
			page.Form.Errors.Add(field, "This code was already used. Wait for the next one in your app.")
		default:
			page.Form.Errors.Add(field, "This code is not correct. Type the six digits your app shows now.")
		}
		return s.render(c, http.StatusUnprocessableEntity, views.TwoFactorLogin(page))
	default:
		return err
	}
	done(true)
	s.endChallengeCookie(c)
	if err := s.logIn(c, p); err != nil {
		return err
	}
	s.countLogin(metrics.LoginSuccess)
	next := safeNext(done2.Next)
	if next == "" {
		next = s.landing(c, p)
	}
	return redirect(c, next)
}

// codeGuardKey is the account the login guard counts wrong codes under:
// apart from the password's, so that typing the right password again does
// not wipe out the wrong codes before it.
func codeGuardKey(p *switchboard.Profile) string { return "two-factor code " + p.Email }

// errWrongCode is a code that is not the profile's code now.
var errWrongCode = switchboard.Errorf(switchboard.EINVALID, "This code is not correct.")

// completeWithCode checks code against the profile's secret and, when it
// is right, completes the challenge, which refuses a code of a time step
// already used.
func (s *Server) completeWithCode(c echo.Context, hash []byte, profileID int64, code string) (*store.LoginChallenge, error) {
	secret, err := s.db.FindTwoFactorSecret(c.Request().Context(), profileID)
	if err != nil {
		return nil, err
	}
	plain, err := s.cfg.SecretKey.Open(secret.Sealed)
	if err != nil {
		s.logger.Error("two-factor secret cannot be opened with this key: is --secret-key the one the secret was sealed with?", "profile", profileID)
		return nil, errWrongCode
	}
	step, ok := twofactor.Check(string(plain), code, s.db.Now())
	if !ok {
		return nil, errWrongCode
	}
	return s.db.CompleteLoginChallenge(c.Request().Context(), hash, step)
}
