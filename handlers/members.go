package handlers

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/store"
	"switchboard/views"
)

// membersPerPage is how many members one page of the members list shows.
const membersPerPage = 50

// encodeCursor and decodeCursor keep the keyset cursor opaque in URLs.
func encodeCursor(c *store.MemberCursor) string {
	if c == nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.ProfileID, 10) + "\x00" + c.SortName))
}

func decodeCursor(s string) store.MemberCursor {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return store.MemberCursor{}
	}
	id, name, ok := strings.Cut(string(b), "\x00")
	n, err := strconv.ParseInt(id, 10, 64)
	if !ok || err != nil {
		return store.MemberCursor{}
	}
	return store.MemberCursor{SortName: name, ProfileID: n}
}

// grantable returns the roles the member may give: built-in and custom
// roles they hold every permission of, never Owner.
func (s *Server) grantable(c echo.Context, m *switchboard.Membership) ([]switchboard.Role, error) {
	var roles []switchboard.Role
	// An organisation without roles of its own, as read with the
	// membership in this request, has none to read.
	if om, ok := orgHolds(c, m.Org.ID); !ok || om.HasCustomRoles {
		var err error
		if roles, err = s.db.CustomRoles(c.Request().Context(), m.Org.ID); err != nil {
			return nil, err
		}
	}
	var list []switchboard.Role
	for _, r := range switchboard.BuiltinRoles {
		if m.MayGrant(r) {
			list = append(list, r)
		}
	}
	for _, r := range roles {
		if m.MayGrant(r) {
			list = append(list, r)
		}
	}
	return list, nil
}

// membersPage builds the members page as it is now.
func (s *Server) membersPage(c echo.Context) (views.MembersPage, error) {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	q := strings.ToValidUTF8(strings.TrimSpace(c.QueryParam("q")), "")
	if r := []rune(q); len(r) > 100 {
		q = string(r[:100])
	}
	after := c.QueryParam("after")
	page := views.MembersPage{Membership: m, Query: q, First: after == "", Now: s.db.Now(), Invite: views.Form{Values: map[string][]string{"role": {string(switchboard.RoleSender)}}}}
	members, next, err := s.db.ListMembers(ctx, m.Org.ID, q, decodeCursor(after), membersPerPage)
	if err != nil {
		return page, err
	}
	page.Members, page.NextCursor = members, encodeCursor(next)
	if page.Grantable, err = s.grantable(c, m); err != nil {
		return page, err
	}
	if om, ok := orgHolds(c, m.Org.ID); ok && !om.HasPending {
		// None waits, as read with the membership in this request.
		return page, nil
	}
	page.Pending, page.PendingAll, err = s.db.ListPendingInvitations(ctx, m.Org.ID, 100)
	return page, err
}

func (s *Server) handleMembers(c echo.Context) error {
	page, err := s.membersPage(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.Members(page))
}

// parseRole reads a role key from a form and resolves it within the
// organisation: a custom role of another organisation is not found.
func (s *Server) parseRole(c echo.Context, orgID int64, key string) (switchboard.Role, bool, error) {
	kind, id, ok := switchboard.ParseRoleKey(key)
	if !ok {
		return switchboard.Role{}, false, nil
	}
	if kind != switchboard.RoleCustom {
		return switchboard.BuiltinRole(kind), true, nil
	}
	r, err := s.db.FindRole(c.Request().Context(), orgID, id)
	if switchboard.ErrorCode(err) == switchboard.ENOTFOUND {
		return switchboard.Role{}, false, nil
	} else if err != nil {
		return switchboard.Role{}, false, err
	}
	return *r, true, nil
}

// target reads the member named in the URL, within the organisation of the
// URL (another organisation's member is not found), and checks that m may
// change their role or revoke them.
func (s *Server) target(c echo.Context, m *switchboard.Membership) (*switchboard.Member, error) {
	id, err := parseID(c.Param("profile"))
	if err != nil {
		return nil, switchboard.Errorf(switchboard.ENOTFOUND, "This member does not exist.")
	}
	target, err := s.db.FindMember(c.Request().Context(), m.Org.ID, id)
	if err != nil {
		return nil, err
	}
	if !m.MayManage(target) {
		return nil, switchboard.Errorf(switchboard.EFORBIDDEN, "You cannot change the role of %s or revoke their access: nobody acts on the owner or on themself, and nobody on a role more powerful than their own.", target.Email)
	}
	return target, nil
}

// handleMember shows one member's page: who they are and, to those who
// may, the role form and the way to revoke their access.
func (s *Server) handleMember(c echo.Context) error {
	m := switchboard.MembershipFromContext(c.Request().Context())
	target, err := s.member(c, m)
	if err != nil {
		return err
	}
	return s.memberPage(c, http.StatusOK, target, views.Form{Values: url.Values{"role": {target.Role.Key()}}})
}

// member reads the member named in the URL within the organisation of the
// URL: another organisation's member is not found.
func (s *Server) member(c echo.Context, m *switchboard.Membership) (*switchboard.Member, error) {
	id, err := parseID(c.Param("profile"))
	if err != nil {
		return nil, switchboard.Errorf(switchboard.ENOTFOUND, "This member does not exist.")
	}
	return s.db.FindMember(c.Request().Context(), m.Org.ID, id)
}

// memberPage renders a member's page with the role form as given.
func (s *Server) memberPage(c echo.Context, status int, target *switchboard.Member, role views.Form) error {
	m := switchboard.MembershipFromContext(c.Request().Context())
	page := views.MemberPage{Membership: m, Member: *target, Role: role}
	if m.MayManage(target) {
		var err error
		if page.Grantable, err = s.grantable(c, m); err != nil {
			return err
		}
	}
	return s.render(c, status, views.Member(page))
}

func (s *Server) handleMemberRole(c echo.Context) error {
	values, err := form(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	target, err := s.target(c, m)
	if err != nil {
		return err
	}
	r, ok, err := s.parseRole(c, m.Org.ID, values.Get("role"))
	if err != nil {
		return err
	}
	if !ok {
		return s.memberPage(c, http.StatusUnprocessableEntity, target, views.Form{Values: values, Errors: switchboard.FieldErrors{"role": "Choose a role from the list."}})
	}
	if !m.MayGrant(r) {
		return switchboard.Errorf(switchboard.EFORBIDDEN, "You cannot give the role %s: nobody grants more than they hold, and ownership moves only by transfer.", r.Name)
	}
	if cur := values.Get("current_role"); cur != "" && cur != target.Role.Key() {
		// The page shows the role as it is now; the choice made stays.
		values.Set("current_role", target.Role.Key())
		return s.memberPage(c, http.StatusConflict, target, views.Form{Values: values, Message: "This member's role changed while you were looking: it is now " + target.Role.Name + ". Check it and try again."})
	}
	if r.Key() == target.Role.Key() {
		return redirect(c, switchboard.OrgPath(m.Org.ID, "members"))
	}
	if err := s.db.ChangeRole(ctx, s.actor(c), m.Org.ID, target, r); err != nil {
		return err
	}
	s.flash(c, target.Name()+" is now "+r.Name+".")
	return redirect(c, switchboard.OrgPath(m.Org.ID, "members"))
}

// handleMemberRevokeConfirm asks before revoking a member's access.
func (s *Server) handleMemberRevokeConfirm(c echo.Context) error {
	m := switchboard.MembershipFromContext(c.Request().Context())
	target, err := s.target(c, m)
	if err != nil {
		return err
	}
	path := switchboard.OrgPath(m.Org.ID, "members/"+strconv.FormatInt(target.ProfileID, 10))
	return s.render(c, http.StatusOK, views.Confirm(views.ConfirmPage{
		Title:       "Revoke access of " + target.Name() + "?",
		Consequence: target.Name() + " (" + target.Email + ") will lose access to " + m.Org.Name + " at once and be logged out of it. You can invite them again later.",
		Action:      path + "/revoke",
		Button:      "Revoke access",
		CancelURL:   path,
	}))
}

func (s *Server) handleMemberRevoke(c echo.Context) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	target, err := s.target(c, m)
	if err != nil {
		return err
	}
	if err := s.db.RemoveMember(ctx, s.actor(c), m.Org.ID, target, "member.revoked"); err != nil {
		return err
	}
	s.flash(c, target.Name()+" no longer has access to "+m.Org.Name+".")
	return redirect(c, switchboard.OrgPath(m.Org.ID, "members"))
}

// handleLeaveConfirm asks before a member leaves the organisation.
func (s *Server) handleLeaveConfirm(c echo.Context) error {
	m := switchboard.MembershipFromContext(c.Request().Context())
	if m.IsOwner() {
		return ownerLeaves(m)
	}
	return s.render(c, http.StatusOK, views.Confirm(views.ConfirmPage{
		Title:       "Leave " + m.Org.Name + "?",
		Consequence: "You will lose access to " + m.Org.Name + " at once. To come back, an administrator must invite you again.",
		Action:      switchboard.OrgPath(m.Org.ID, "leave"),
		Button:      "Leave organisation",
		CancelURL:   switchboard.OrgPath(m.Org.ID, ""),
	}))
}

var errOwnerLeaves = switchboard.Errorf(switchboard.EFORBIDDEN, "The owner cannot leave. Transfer ownership to another member, or delete the organisation, first.")

// handleLeave lets a member leave the organisation; the owner must transfer
// ownership or delete it first.
func (s *Server) handleLeave(c echo.Context) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	if m.IsOwner() {
		return ownerLeaves(m)
	}
	if err := s.db.RemoveMember(ctx, s.actor(c), m.Org.ID, m.Member, "member.left"); err != nil {
		return err
	}
	if err := s.renewAfterChange(c, m.Member.ProfileID); err != nil {
		return err
	}
	s.flash(c, "You left "+m.Org.Name+".")
	return redirect(c, "/orgs")
}

// handleTransfer hands the organisation to another member once the owner
// has confirmed with their password; the owner becomes an Administrator.
func (s *Server) handleTransfer(c echo.Context) error {
	values, err := form(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	p := switchboard.ProfileFromContext(ctx)
	errs := switchboard.FieldErrors{}
	var target *switchboard.Member
	if email := values.Get("new_owner"); email == "" {
		errs.Add("new_owner", "Enter the email of the member who will own the organisation.")
	} else if target, err = s.db.FindMemberByEmail(ctx, m.Org.ID, email); err != nil {
		if switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
			return err
		}
		errs.Add("new_owner", "Nobody with this email is a member of this organisation.")
	} else if target.ProfileID == p.ID {
		errs.Add("new_owner", "You already own this organisation.")
	}
	if values.Get("confirm_password") == "" {
		errs.Add("confirm_password", "Enter your password to confirm.")
	} else if len(errs) == 0 {
		done, wait := s.limits.login.begin(p.Email, c.RealIP())
		if wait > 0 {
			return switchboard.Errorf(switchboard.ETOOMANY, "%s", tooManyLogins(c, wait))
		}
		hash, err := s.db.PasswordHash(ctx, p.ID)
		if err != nil {
			return err
		}
		if ok, err := s.hasher.verify(ctx, values.Get("confirm_password"), hash); err != nil {
			return err
		} else if done(ok); !ok {
			errs.Add("confirm_password", "This is not your password.")
		}
	}
	if len(errs) > 0 {
		page, err := s.settingsPage(c)
		if err != nil {
			return err
		}
		page.Transfer = views.Form{Values: values, Errors: errs}
		return s.render(c, http.StatusUnprocessableEntity, views.Settings(page))
	}
	if err := s.db.TransferOwnership(ctx, s.actor(c), m.Org.ID, p.ID, target.ProfileID); err != nil {
		return err
	}
	if err := s.renewAfterChange(c, p.ID); err != nil {
		return err
	}
	s.flash(c, target.Name()+" now owns "+m.Org.Name+". You are an Administrator.")
	return redirect(c, switchboard.OrgPath(m.Org.ID, ""))
}

// handleMembersPolicy switches "only the owner manages members".
func (s *Server) handleMembersPolicy(c echo.Context) error {
	values, err := form(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	ownerOnly := values.Get("owner_only_members") == "on"
	if err := s.db.SetOwnerOnlyMembers(ctx, s.actor(c), m.Org.ID, ownerOnly); err != nil {
		return err
	}
	if ownerOnly {
		s.flash(c, "Only you manage members now.")
	} else {
		s.flash(c, "Administrators may manage members again.")
	}
	return redirect(c, switchboard.OrgPath(m.Org.ID, "settings"))
}

func (s *Server) handleAudit(c echo.Context) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	before, _ := parseID(c.QueryParam("before"))
	entries, next, err := s.db.ListAudit(ctx, m.Org.ID, before, 50)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.Audit(views.AuditPage{Membership: m, Entries: entries, Next: next, First: before == 0}))
}
