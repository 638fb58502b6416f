package handlers

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/mail"
	"switchboard/password"
	"switchboard/views"
)

// invitationEmail renders the email for an invitation with its link.
func (s *Server) invitationEmail(c echo.Context, m *switchboard.Membership, email string, role switchboard.Role, token string) (*switchboard.Email, error) {
	p := switchboard.ProfileFromContext(c.Request().Context())
	return mail.Invitation(mail.InvitationMessage{
		To: email, InviterName: p.Name(), InviterEmail: p.Email, OrgName: m.Org.Name, RoleName: role.Name,
		Link: s.link("/invitations/" + token), ExpiresAt: s.db.Now().Add(switchboard.InvitationLifetime),
	})
}

// handleInvite invites an email address with a role the inviter may grant.
// The form posts to the members address, so that a mistake re-renders the
// page there.
func (s *Server) handleInvite(c echo.Context) error {
	values, err := form(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	p := switchboard.ProfileFromContext(ctx)
	email := switchboard.NormalizeEmail(values.Get("email"))
	errs := switchboard.FieldErrors{}
	if email == "" {
		// ValidateEmail speaks to the person typing their own address.
		errs.Add("email", "Enter your colleague's email address.")
	} else {
		switchboard.ValidateEmail(errs, "email", email)
	}
	role, ok, err := s.parseRole(c, m.Org.ID, values.Get("role"))
	if err != nil {
		return err
	}
	if !ok {
		errs.Add("role", "Choose a role from the list.")
	} else if !m.MayGrant(role) {
		s.logger.Warn("invitation role refused", "org", m.Org.ID, "profile", p.ID, "role", role.Key())
		errs.Add("role", "You cannot give this role: nobody grants more than they hold, and ownership moves only by transfer.")
	}
	render := func(status int, f views.Form) error {
		page, err := s.membersPage(c)
		if err != nil {
			return err
		}
		page.Invite = f
		return s.render(c, status, views.Members(page))
	}
	if len(errs) > 0 {
		return render(http.StatusUnprocessableEntity, views.Form{Values: values, Errors: errs})
	}
	if !s.limits.inviteProfile.allow(strconv.FormatInt(p.ID, 10)) || !s.limits.inviteOrg.allow(strconv.FormatInt(m.Org.ID, 10)) {
		s.logger.Warn("invitation rate limited", "org", m.Org.ID, "profile", p.ID)
		return render(http.StatusTooManyRequests, views.Form{Values: values, Message: "Too many invitations in a short time. Please wait a few minutes and try again."})
	}
	token, hash := newToken()
	msg, err := s.invitationEmail(c, m, email, role, token)
	if err != nil {
		return err
	}
	inv := &switchboard.Invitation{OrgID: m.Org.ID, Email: email, Role: role, InvitedBy: p.ID, InviterName: p.Name()}
	if err := s.db.CreateInvitation(ctx, s.actor(c), inv, hash, msg); err != nil {
		if fe := switchboard.Fields(err); fe != nil {
			return render(http.StatusUnprocessableEntity, views.Form{Values: values, Errors: fe})
		}
		if switchboard.ErrorCode(err) == switchboard.ETOOMANY {
			// The address had its emails for today, whoever sent them.
			s.logger.Warn("invitation refused: recipient's daily emails used up", "org", m.Org.ID, "profile", p.ID)
			return render(http.StatusTooManyRequests, views.Form{Values: values, Message: "No invitation was sent. " + switchboard.ErrorMessage(err)})
		}
		return err
	}
	s.notifyMail()
	s.flash(c, "An invitation to join as "+role.Name+" is on its way to "+email+".")
	return redirect(c, switchboard.OrgPath(m.Org.ID, "members"))
}

// pendingInvitation reads the invitation named in the URL within the
// organisation of the URL, and checks that m may resend or cancel it.
func (s *Server) pendingInvitation(c echo.Context, m *switchboard.Membership) (*switchboard.Invitation, error) {
	id, err := parseID(c.Param("invitation"))
	if err != nil {
		return nil, switchboard.Errorf(switchboard.ENOTFOUND, "This invitation does not exist.")
	}
	inv, err := s.db.FindInvitation(c.Request().Context(), m.Org.ID, id)
	if err != nil {
		return nil, err
	}
	if inv.AcceptedAt != nil || inv.CancelledAt != nil {
		return nil, switchboard.Errorf(switchboard.ENOTFOUND, "This invitation is no longer pending.")
	}
	if !m.MayGrant(inv.Role) {
		return nil, switchboard.Errorf(switchboard.EFORBIDDEN, "You cannot resend or cancel an invitation to a role more powerful than yours.")
	}
	return inv, nil
}

// handleInvitationResend sends an invitation again with a new link. Resends
// are limited per invitation (a couple when an email got lost, not a stream
// to one inbox), count towards the inviter's invitations, and the address's
// emails of the day; a refusal is shown beside the invitation, with 429.
func (s *Server) handleInvitationResend(c echo.Context) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	inv, err := s.pendingInvitation(c, m)
	if err != nil {
		return err
	}
	refuse := func(msg string) error {
		s.logger.Warn("invitation resend rate limited", "org", m.Org.ID, "profile", m.Member.ProfileID, "invitation", inv.ID)
		page, err := s.membersPage(c)
		if err != nil {
			return err
		}
		page.InvitationError = map[int64]string{inv.ID: msg}
		return s.render(c, http.StatusTooManyRequests, views.Members(page))
	}
	if why := s.resendRefusal(inv.ID, m.Member.ProfileID); why != "" {
		return refuse(why)
	}
	token, hash := newToken()
	msg, err := s.invitationEmail(c, m, inv.Email, inv.Role, token)
	if err != nil {
		return err
	}
	if err := s.db.ResendInvitation(ctx, s.actor(c), m.Org.ID, inv.ID, hash, msg); err != nil {
		if switchboard.ErrorCode(err) == switchboard.ETOOMANY {
			return refuse("Not resent. " + switchboard.ErrorMessage(err) + " The link sent last still works.")
		}
		return err
	}
	s.notifyMail()
	s.flash(c, "A new invitation is on its way to "+inv.Email+". The previous link no longer works.")
	return redirect(c, switchboard.OrgPath(m.Org.ID, "members"))
}

// handleInvitationCancelConfirm asks before cancelling an invitation.
func (s *Server) handleInvitationCancelConfirm(c echo.Context) error {
	m := switchboard.MembershipFromContext(c.Request().Context())
	inv, err := s.pendingInvitation(c, m)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.Confirm(views.ConfirmPage{
		Title:       "Cancel the invitation to " + inv.Email + "?",
		Consequence: "The invitation to " + inv.Email + " as " + inv.Role.Name + " will stop working at once: its link will say that it was cancelled. You can invite them again later.",
		Action:      switchboard.OrgPath(m.Org.ID, "invitations/"+strconv.FormatInt(inv.ID, 10)+"/cancel"),
		Button:      "Cancel invitation",
		CancelURL:   switchboard.OrgPath(m.Org.ID, "members"),
	}))
}

func (s *Server) handleInvitationCancel(c echo.Context) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	inv, err := s.pendingInvitation(c, m)
	if err != nil {
		return err
	}
	if err := s.db.CancelInvitation(ctx, s.actor(c), m.Org.ID, inv.ID); err != nil {
		return err
	}
	s.flash(c, "The invitation to "+inv.Email+" was cancelled.")
	return redirect(c, switchboard.OrgPath(m.Org.ID, "members"))
}

// invitationFromLink reads the invitation of the link's token; anything
// but a usable invitation is the 410 page.
func (s *Server) invitationFromLink(c echo.Context) (*switchboard.Invitation, error) {
	c.Response().Header().Set("Referrer-Policy", "no-referrer")
	inv, err := s.db.FindInvitationByToken(c.Request().Context(), hashToken(c.Param("token")))
	if err != nil {
		return nil, err
	}
	if !inv.Usable(s.db.Now()) {
		return nil, switchboard.Errorf(switchboard.EGONE, "This invitation link no longer works: it was used, cancelled, replaced by a newer one, or it expired. Ask the person who invited you to send a new one.")
	}
	return inv, nil
}

// handleInvitation shows an invitation link's page. Opening it changes
// nothing; only its forms do.
func (s *Server) handleInvitation(c echo.Context) error {
	if !s.limits.acceptClient.allow(c.RealIP()) {
		return switchboard.Errorf(switchboard.ETOOMANY, "Too many attempts. Please wait a minute and try again.")
	}
	inv, err := s.invitationFromLink(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.Invitation(s.invitationPage(c, inv)))
}

func (s *Server) invitationPage(c echo.Context, inv *switchboard.Invitation) views.InvitationPage {
	page := views.InvitationPage{Invitation: inv, Path: "/invitations/" + c.Param("token")}
	if p := switchboard.ProfileFromContext(c.Request().Context()); p != nil {
		page.Accept = p.Email == switchboard.NormalizeEmail(inv.Email)
		page.Mismatch = !page.Accept
	}
	return page
}

// handleInvitationAccept joins the logged-in profile to the organisation, if
// it has the invited email.
func (s *Server) handleInvitationAccept(c echo.Context) error {
	ctx := c.Request().Context()
	p := switchboard.ProfileFromContext(ctx)
	if p == nil {
		return &switchboard.Error{Code: switchboard.EUNAUTHORIZED, Message: "Please log in to accept the invitation."}
	}
	if !s.limits.acceptClient.allow(c.RealIP()) {
		return switchboard.Errorf(switchboard.ETOOMANY, "Too many attempts. Please wait a minute and try again.")
	}
	inv, err := s.invitationFromLink(c)
	if err != nil {
		return err
	}
	joined, err := s.db.AcceptInvitation(ctx, hashToken(c.Param("token")), p, c.RealIP())
	if switchboard.ErrorCode(err) == switchboard.EFORBIDDEN {
		s.logger.Warn("invitation for another email", "profile", p.ID, "invitation", inv.ID)
		return s.render(c, http.StatusForbidden, views.Invitation(s.invitationPage(c, inv)))
	} else if err != nil {
		return err
	}
	// Joining is a privilege change: new session token. AcceptInvitation
	// left the new privilege epoch in p.
	if err := s.renewPrivileges(ctx, p.PrivilegeEpoch); err != nil {
		return err
	}
	s.flash(c, welcome(joined))
	return redirect(c, switchboard.OrgPath(joined.OrgID, ""))
}

// handleInvitationSignup creates a profile with the invited email and joins
// the organisation; no organisation of the new profile's own is created.
func (s *Server) handleInvitationSignup(c echo.Context) error {
	values, err := form(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if !s.limits.signupClient.allow(c.RealIP()) {
		return switchboard.Errorf(switchboard.ETOOMANY, "Too many sign-ups from your network just now. Please wait a few minutes and try again.")
	}
	inv, err := s.invitationFromLink(c)
	if err != nil {
		return err
	}
	if switchboard.ProfileFromContext(ctx) != nil {
		return redirect(c, "/invitations/"+c.Param("token"))
	}
	// The email is the invited one, whatever the form says.
	p := &switchboard.Profile{Email: switchboard.NormalizeEmail(inv.Email), FirstName: values.Get("first_name"), LastName: values.Get("last_name")}
	errs := switchboard.FieldErrors{}
	errs.Merge(p.Validate())
	password.Validate(errs, "password", values.Get("password"), p)
	page := s.invitationPage(c, inv)
	if len(errs) > 0 {
		page.Signup = views.Form{Values: values, Errors: errs}
		return s.render(c, http.StatusUnprocessableEntity, views.Invitation(page))
	}
	hash, err := s.hasher.hash(ctx, values.Get("password"))
	if err != nil {
		return err
	}
	joined, err := s.db.AcceptInvitationAsNewProfile(ctx, hashToken(c.Param("token")), p, hash, c.RealIP())
	if switchboard.ErrorCode(err) == switchboard.ECONFLICT {
		page.Signup = views.Form{Values: values, Errors: switchboard.FieldErrors{"email": "A profile with this email already exists. Log in to accept the invitation."}}
		return s.render(c, http.StatusUnprocessableEntity, views.Invitation(page))
	} else if err != nil {
		return err
	}
	p.LastOrgID = joined.OrgID
	if err := s.logIn(c, p); err != nil {
		return err
	}
	s.flash(c, welcome(joined))
	return redirect(c, switchboard.OrgPath(joined.OrgID, ""))
}

// welcome is the flash of an accepted invitation.
func welcome(joined *switchboard.Invitation) string {
	if joined.ParentName != "" {
		return "Welcome to " + joined.OrgName + ", a subaccount of " + joined.ParentName + ". It is yours: you are its Owner."
	}
	return "Welcome to " + joined.OrgName + ". You joined as " + joined.Role.Name + "."
}

// resendRefusal says why the rate limits refuse a resend of invitation
// invID by profileID now ("" when they allow it): a resend of the same
// invitation several times an hour, or an inviter sending too many at once.
// The Members page and a pending subaccount's page both resend.
func (s *Server) resendRefusal(invID, profileID int64) string {
	if !s.limits.resendInvitation.allow(strconv.FormatInt(invID, 10)) {
		return "This invitation was resent several times in the last hour. Please wait a while before sending it again, and check the address meanwhile."
	}
	if !s.limits.inviteProfile.allow(strconv.FormatInt(profileID, 10)) {
		return "Too many invitations in a short time. Please wait a few minutes and try again."
	}
	return ""
}
