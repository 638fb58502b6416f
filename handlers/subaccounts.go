package handlers

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/mail"
	"switchboard/views"
)

// The parent's Subaccounts section (issue 12, PRODUCT.md § Subaccounts):
// the list with the form that creates one, the statistics (drawn by
// subaccountStats), and each subaccount's page with its funding, Suspend,
// Resume, Close and, while pending, its invitation. Every route needs the
// Subaccounts permission, which a subaccount never has.

// subaccountsPage builds the Subaccounts page with the create form as
// given, and the status of its statistics (422 for a period typed wrong).
func (s *Server) subaccountsPage(c echo.Context, create views.Form) (views.SubaccountsPage, int, error) {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	list, err := s.db.ListSubaccounts(ctx, m.Org.ID)
	if err != nil {
		return views.SubaccountsPage{}, 0, err
	}
	stats, status, err := s.subaccountStats(c, m)
	if err != nil {
		return views.SubaccountsPage{}, 0, err
	}
	if create.Values == nil {
		create.Values = url.Values{"funding": {string(switchboard.FundingBudget)}}
	}
	return views.SubaccountsPage{Membership: m, Subaccounts: list, Create: create, Stats: stats, Currency: s.cfg.Currency, Zone: zoneOf(c)}, status, nil
}

// handleSubaccounts shows the parent's subaccounts, the form to create one
// and their statistics.
func (s *Server) handleSubaccounts(c echo.Context) error {
	page, status, err := s.subaccountsPage(c, views.Form{})
	if err != nil {
		return err
	}
	return s.render(c, status, views.Subaccounts(page))
}

// subaccountEmail renders the invitation to own the subaccount name, with
// its link.
func (s *Server) subaccountEmail(c echo.Context, m *switchboard.Membership, email, name, token string) (*switchboard.Email, error) {
	p := switchboard.ProfileFromContext(c.Request().Context())
	return mail.Invitation(mail.InvitationMessage{
		To: email, InviterName: p.Name(), InviterEmail: p.Email, OrgName: name, ParentName: m.Org.Name,
		RoleName: switchboard.BuiltinRole(switchboard.RoleOwner).Name,
		Link:     s.link("/invitations/" + token), ExpiresAt: s.db.Now().Add(switchboard.InvitationLifetime),
	})
}

// parseFunding reads the Funding and Budget fields into sub; a budget that
// is not a number is a field error (Validate checks the rest).
func parseFunding(values url.Values, sub *switchboard.Subaccount, errs switchboard.FieldErrors) {
	sub.Funding = switchboard.Funding(values.Get("funding"))
	if sub.Funding != switchboard.FundingBudget {
		return
	}
	typed := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(values.Get("budget")), "€"))
	if typed == "" {
		errs.Add("budget", "Enter a budget above zero, such as 100.")
		return
	}
	budget, ok := switchboard.ParseMoney(typed)
	if !ok {
		errs.Add("budget", "Enter the budget as a number, such as 100 or 99.90.")
		return
	}
	sub.Budget = budget
}

// handleSubaccountCreate creates a subaccount and invites its address to
// own it. Mistakes re-render the page with 422 and what was typed.
func (s *Server) handleSubaccountCreate(c echo.Context) error {
	values, err := form(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	p := switchboard.ProfileFromContext(ctx)
	kept := url.Values{"email": {values.Get("email")}, "name": {values.Get("name")}, "funding": {values.Get("funding")}, "budget": {values.Get("budget")}}
	render := func(status int, f views.Form) error {
		page, _, err := s.subaccountsPage(c, f)
		if err != nil {
			return err
		}
		return s.render(c, status, views.Subaccounts(page))
	}
	sub := &switchboard.Subaccount{ParentID: m.Org.ID, Email: switchboard.NormalizeEmail(values.Get("email")), Name: values.Get("name")}
	errs := switchboard.FieldErrors{}
	parseFunding(values, sub, errs)
	if fe := switchboard.Fields(sub.Validate()); fe != nil {
		for k, v := range fe {
			if _, ok := errs[k]; !ok {
				errs[k] = v
			}
		}
	}
	if sub.Email == "" {
		errs["email"] = "Enter the email address of the person who will own the subaccount."
	}
	if len(errs) > 0 {
		return render(http.StatusUnprocessableEntity, views.Form{Values: kept, Errors: errs})
	}
	if !s.limits.inviteProfile.allow(strconv.FormatInt(p.ID, 10)) || !s.limits.inviteOrg.allow(strconv.FormatInt(m.Org.ID, 10)) {
		s.logger.Warn("subaccount invitation rate limited", "org", m.Org.ID, "profile", p.ID)
		return render(http.StatusTooManyRequests, views.Form{Values: kept, Message: "Too many invitations in a short time. Please wait a few minutes and try again."})
	}
	token, hash := newToken()
	msg, err := s.subaccountEmail(c, m, sub.Email, sub.Name, token)
	if err != nil {
		return err
	}
	if err := s.db.CreateSubaccount(ctx, s.actor(c), s.cfg.Currency, sub, hash, msg); err != nil {
		if fe := switchboard.Fields(err); fe != nil {
			return render(http.StatusUnprocessableEntity, views.Form{Values: kept, Errors: fe})
		}
		if switchboard.ErrorCode(err) == switchboard.ETOOMANY {
			s.logger.Warn("subaccount refused: recipient's daily emails used up", "org", m.Org.ID, "profile", p.ID)
			return render(http.StatusTooManyRequests, views.Form{Values: kept, Message: "No subaccount was created. " + switchboard.ErrorMessage(err)})
		}
		return err
	}
	s.notifyMail()
	s.logger.Info("subaccount created", "org", m.Org.ID, "subaccount", sub.OrgID, "profile", p.ID)
	s.flash(c, "Invitation sent to "+sub.Email+": "+sub.Name+" is theirs once they accept it.")
	return redirect(c, switchboard.OrgPath(m.Org.ID, "subaccounts"))
}

var errNoSubaccount = switchboard.Errorf(switchboard.ENOTFOUND, "This subaccount does not exist, or you do not have access to it.")

// subaccountOfURL reads the subaccount named in the URL among the
// subaccounts of the organisation of the URL: another parent's subaccount
// is a 404, as a missing one.
func (s *Server) subaccountOfURL(c echo.Context, m *switchboard.Membership) (*switchboard.Subaccount, error) {
	id, err := parseID(c.Param("sub"))
	if err != nil {
		return nil, errNoSubaccount
	}
	return s.db.FindSubaccount(c.Request().Context(), m.Org.ID, id)
}

// subaccountPath is the address of the subaccount's page, or of one of its
// actions.
func subaccountPath(orgID, subID int64, action string) string {
	p := "subaccounts/" + strconv.FormatInt(subID, 10)
	if action != "" {
		p += "/" + action
	}
	return switchboard.OrgPath(orgID, p)
}

// subaccountPage builds a subaccount's page with the funding form as given
// (nil values: the funding it has).
func (s *Server) subaccountPage(c echo.Context, sub *switchboard.Subaccount, funding views.Form) (views.SubaccountPage, error) {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	page := views.SubaccountPage{Membership: m, Sub: sub, Funding: funding, Currency: s.cfg.Currency, Zone: zoneOf(c)}
	if page.Funding.Values == nil {
		page.Funding.Values = url.Values{"funding": {string(sub.Funding)}}
		if sub.Funding == switchboard.FundingBudget {
			page.Funding.Values.Set("budget", switchboard.FormatAmount(sub.Budget, 2))
		}
	}
	if sub.Status == switchboard.SubaccountPending {
		inv, err := s.db.FindSubaccountInvitation(ctx, m.Org.ID, sub.OrgID)
		if err != nil && switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
			return page, err
		}
		page.Invitation = inv
	}
	return page, nil
}

// handleSubaccount shows one subaccount: its details, funding, status and,
// while pending, its invitation.
func (s *Server) handleSubaccount(c echo.Context) error {
	m := switchboard.MembershipFromContext(c.Request().Context())
	sub, err := s.subaccountOfURL(c, m)
	if err != nil {
		return err
	}
	page, err := s.subaccountPage(c, sub, views.Form{})
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.SubaccountDetails(page))
}

// handleSubaccountFunding changes a subaccount's funding and budget.
func (s *Server) handleSubaccountFunding(c echo.Context) error {
	values, err := form(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	sub, err := s.subaccountOfURL(c, m)
	if err != nil {
		return err
	}
	changed := &switchboard.Subaccount{}
	errs := switchboard.FieldErrors{}
	parseFunding(values, changed, errs)
	if len(errs) == 0 {
		if fe := switchboard.Fields(changed.ValidateFunding()); fe != nil {
			errs = fe
		}
	}
	if len(errs) > 0 {
		page, err := s.subaccountPage(c, sub, views.Form{Values: url.Values{"funding": {values.Get("funding")}, "budget": {values.Get("budget")}}, Errors: errs})
		if err != nil {
			return err
		}
		return s.render(c, http.StatusUnprocessableEntity, views.SubaccountDetails(page))
	}
	if err := s.db.SetSubaccountFunding(ctx, s.actor(c), s.cfg.Currency, m.Org.ID, sub.OrgID, changed.Funding, changed.Budget); err != nil {
		return s.subaccountConflict(c, m, sub.OrgID, err)
	}
	if changed.Funding == switchboard.FundingBudget {
		s.flash(c, sub.Name+" now has a budget of "+s.cfg.Currency.Format(changed.Budget)+".")
	} else {
		s.flash(c, sub.Name+" now shares the balance of "+m.Org.Name+".")
	}
	return redirect(c, subaccountPath(m.Org.ID, sub.OrgID, ""))
}

// subaccountAction is one of the confirmed actions on a subaccount: its
// confirmation page's words, when it is offered, and what it does.
type subaccountAction struct {
	path        string
	title       func(sub *switchboard.Subaccount) string
	consequence func(parent string, sub *switchboard.Subaccount) string
	button      string
	offered     func(sub *switchboard.Subaccount) bool
	blocked     func(sub *switchboard.Subaccount) string
	do          func(s *Server, c echo.Context, parentID, subID int64) error
	done        func(sub *switchboard.Subaccount) string
}

var (
	suspendSubaccount = subaccountAction{
		path:  "suspend",
		title: func(sub *switchboard.Subaccount) string { return "Suspend " + sub.Name + "?" },
		consequence: func(parent string, sub *switchboard.Subaccount) string {
			return sub.Name + " can still log in and look, but every send is refused, on its pages, its campaigns and the API alike, until you resume it. Nothing is deleted."
		},
		button:  "Suspend",
		offered: func(sub *switchboard.Subaccount) bool { return sub.Status == switchboard.SubaccountActive },
		blocked: func(sub *switchboard.Subaccount) string {
			return sub.Name + " is " + strings.ToLower(sub.Status.Label()) + ": only an active subaccount can be suspended."
		},
		do: func(s *Server, c echo.Context, parentID, subID int64) error {
			return s.db.SuspendSubaccount(c.Request().Context(), s.actor(c), parentID, subID)
		},
		done: func(sub *switchboard.Subaccount) string {
			return sub.Name + " is suspended: it sends nothing until you resume it."
		},
	}
	resumeSubaccount = subaccountAction{
		path:  "resume",
		title: func(sub *switchboard.Subaccount) string { return "Resume " + sub.Name + "?" },
		consequence: func(parent string, sub *switchboard.Subaccount) string {
			return sub.Name + " can send again at once, paid by " + parent + " as before."
		},
		button:  "Resume",
		offered: func(sub *switchboard.Subaccount) bool { return sub.Status == switchboard.SubaccountSuspended },
		blocked: func(sub *switchboard.Subaccount) string {
			return sub.Name + " is " + strings.ToLower(sub.Status.Label()) + ": only a suspended subaccount can be resumed."
		},
		do: func(s *Server, c echo.Context, parentID, subID int64) error {
			return s.db.ResumeSubaccount(c.Request().Context(), s.actor(c), parentID, subID)
		},
		done: func(sub *switchboard.Subaccount) string { return sub.Name + " is resumed: it can send again." },
	}
	closeSubaccount = subaccountAction{
		path:  "close",
		title: func(sub *switchboard.Subaccount) string { return "Close " + sub.Name + "?" },
		consequence: func(parent string, sub *switchboard.Subaccount) string {
			return "Closing is final. " + sub.Name + " stops sending, its owner loses access to it at once (they keep their profile and their other organisations), and its API keys stop working. Its messages and spending stay in your statistics."
		},
		button:  "Close subaccount",
		offered: func(sub *switchboard.Subaccount) bool { return sub.Status != switchboard.SubaccountClosed },
		blocked: func(sub *switchboard.Subaccount) string { return sub.Name + " is already closed." },
		do: func(s *Server, c echo.Context, parentID, subID int64) error {
			return s.db.CloseSubaccount(c.Request().Context(), s.actor(c), parentID, subID)
		},
		done: func(sub *switchboard.Subaccount) string { return sub.Name + " is closed." },
	}
	cancelSubaccount = subaccountAction{
		path:  "cancel",
		title: func(sub *switchboard.Subaccount) string { return "Cancel the invitation to own " + sub.Name + "?" },
		consequence: func(parent string, sub *switchboard.Subaccount) string {
			return "The invitation sent to " + sub.Email + " stops working at once, and " + sub.Name + ", which nobody owns yet, is closed. You can create a subaccount for the address again later."
		},
		button:  "Cancel invitation",
		offered: func(sub *switchboard.Subaccount) bool { return sub.Status == switchboard.SubaccountPending },
		blocked: func(sub *switchboard.Subaccount) string {
			return sub.Name + " has no pending invitation: it is " + strings.ToLower(sub.Status.Label()) + "."
		},
		do: func(s *Server, c echo.Context, parentID, subID int64) error {
			return s.db.CancelSubaccountInvitation(c.Request().Context(), s.actor(c), parentID, subID)
		},
		done: func(sub *switchboard.Subaccount) string {
			return "The invitation to own " + sub.Name + " was cancelled."
		},
	}
)

// confirm answers the GET of the action's address: the confirmation page
// (or why it cannot be done now).
func (a subaccountAction) confirm(s *Server) echo.HandlerFunc {
	return func(c echo.Context) error {
		m := switchboard.MembershipFromContext(c.Request().Context())
		sub, err := s.subaccountOfURL(c, m)
		if err != nil {
			return err
		}
		page := views.ConfirmPage{
			Title:       a.title(sub),
			Consequence: a.consequence(m.Org.Name, sub),
			Action:      subaccountPath(m.Org.ID, sub.OrgID, a.path),
			Button:      a.button,
			CancelURL:   subaccountPath(m.Org.ID, sub.OrgID, ""),
		}
		if !a.offered(sub) {
			page.Blocked = a.blocked(sub)
		}
		return s.render(c, http.StatusOK, views.Confirm(page))
	}
}

// post answers the POST of the action's address: the store's conditional
// change, then back to the subaccount's page.
func (a subaccountAction) post(s *Server) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		m := switchboard.MembershipFromContext(ctx)
		sub, err := s.subaccountOfURL(c, m)
		if err != nil {
			return err
		}
		if err := a.do(s, c, m.Org.ID, sub.OrgID); err != nil {
			return s.subaccountConflict(c, m, sub.OrgID, err)
		}
		s.logger.Info("subaccount "+a.path, "org", m.Org.ID, "subaccount", sub.OrgID, "profile", profileID(ctx))
		s.flash(c, a.done(sub))
		return redirect(c, subaccountPath(m.Org.ID, sub.OrgID, ""))
	}
}

// handleSubaccountResend sends a pending subaccount's invitation again with
// a new link; the old one stops working. Limited as the Members page's
// resends are.
func (s *Server) handleSubaccountResend(c echo.Context) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	sub, err := s.subaccountOfURL(c, m)
	if err != nil {
		return err
	}
	page, err := s.subaccountPage(c, sub, views.Form{})
	if err != nil {
		return err
	}
	if page.Invitation == nil {
		return s.subaccountConflict(c, m, sub.OrgID, switchboard.Errorf(switchboard.ECONFLICT, "%s has no pending invitation to resend.", sub.Name))
	}
	refuse := func(msg string) error {
		s.logger.Warn("subaccount invitation resend refused", "org", m.Org.ID, "profile", m.Member.ProfileID, "subaccount", sub.OrgID)
		page.InvitationError = msg
		return s.render(c, http.StatusTooManyRequests, views.SubaccountDetails(page))
	}
	if why := s.resendRefusal(page.Invitation.ID, m.Member.ProfileID); why != "" {
		return refuse(why)
	}
	token, hash := newToken()
	msg, err := s.subaccountEmail(c, m, sub.Email, sub.Name, token)
	if err != nil {
		return err
	}
	if err := s.db.ResendSubaccountInvitation(ctx, s.actor(c), m.Org.ID, sub.OrgID, hash, msg); err != nil {
		if switchboard.ErrorCode(err) == switchboard.ETOOMANY {
			return refuse("Not resent. " + switchboard.ErrorMessage(err) + " The link sent last still works.")
		}
		return s.subaccountConflict(c, m, sub.OrgID, err)
	}
	s.notifyMail()
	s.flash(c, "A new invitation is on its way to "+sub.Email+". The previous link no longer works.")
	return redirect(c, subaccountPath(m.Org.ID, sub.OrgID, ""))
}

// subaccountConflict answers an action the subaccount's status refused
// meanwhile (ECONFLICT: suspending a pending one, anything on a closed
// one) with its page as it is now, the reason on top and status 409; any
// other error goes on as it is.
func (s *Server) subaccountConflict(c echo.Context, m *switchboard.Membership, subID int64, err error) error {
	if switchboard.ErrorCode(err) != switchboard.ECONFLICT {
		return err
	}
	sub, ferr := s.db.FindSubaccount(c.Request().Context(), m.Org.ID, subID)
	if ferr != nil {
		return ferr
	}
	page, perr := s.subaccountPage(c, sub, views.Form{})
	if perr != nil {
		return perr
	}
	page.Conflict = switchboard.ErrorMessage(err)
	return s.render(c, http.StatusConflict, views.SubaccountDetails(page))
}
