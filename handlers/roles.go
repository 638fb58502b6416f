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

func roleValues(r switchboard.Role) url.Values {
	v := url.Values{"name": {r.Name}}
	for _, p := range r.Permissions {
		v.Add("permissions", string(p))
	}
	return v
}

// rolesPage builds the roles page as it is now.
func (s *Server) rolesPage(c echo.Context) (views.RolesPage, error) {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	roles, err := s.db.ListRoles(ctx, m.Org.ID)
	if err != nil {
		return views.RolesPage{}, err
	}
	page := views.RolesPage{Membership: m}
	for _, r := range roles {
		page.Roles = append(page.Roles, views.RoleRow{Role: r.Role, Members: r.Members, Invitations: r.Invitations, Form: views.Form{Values: roleValues(r.Role)}})
	}
	return page, nil
}

func (s *Server) handleRoles(c echo.Context) error {
	page, err := s.rolesPage(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.Roles(page))
}

// readRole reads a role form: its name and every ticked section.
func readRole(c echo.Context) (switchboard.Role, url.Values, error) {
	values, err := form(c)
	if err != nil {
		return switchboard.Role{}, nil, err
	}
	r := switchboard.Role{Kind: switchboard.RoleCustom, Name: strings.TrimSpace(values.Get("name"))}
	values.Del("permissions")
	seen := map[string]bool{}
	for _, p := range c.Request().PostForm["permissions"] {
		if !seen[p] {
			seen[p] = true
			r.Permissions = append(r.Permissions, switchboard.Permission(p))
			values.Add("permissions", p)
		}
	}
	return r, values, nil
}

func (s *Server) handleRoleCreate(c echo.Context) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	r, values, err := readRole(c)
	if err != nil {
		return err
	}
	err = r.Validate()
	if err == nil {
		err = s.db.CreateRole(ctx, s.actor(c), m.Org.ID, &r)
	}
	if fe := switchboard.Fields(err); fe != nil {
		page, perr := s.rolesPage(c)
		if perr != nil {
			return perr
		}
		page.New = views.Form{Values: values, Errors: fe}
		return s.render(c, http.StatusUnprocessableEntity, views.Roles(page))
	} else if err != nil {
		return err
	}
	s.flash(c, "The role "+r.Name+" was created.")
	return redirect(c, switchboard.OrgPath(m.Org.ID, "roles"))
}

var errNoRole = switchboard.Errorf(switchboard.ENOTFOUND, "This role does not exist.")

func (s *Server) roleFromURL(c echo.Context, m *switchboard.Membership) (*switchboard.Role, error) {
	id, err := parseID(c.Param("role"))
	if err != nil {
		return nil, errNoRole
	}
	return s.db.FindRole(c.Request().Context(), m.Org.ID, id)
}

func (s *Server) handleRoleUpdate(c echo.Context) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	existing, err := s.roleFromURL(c, m)
	if err != nil {
		return err
	}
	r, values, err := readRole(c)
	if err != nil {
		return err
	}
	r.ID = existing.ID
	err = r.Validate()
	if err == nil {
		err = s.db.UpdateRole(ctx, s.actor(c), m.Org.ID, &r)
	}
	if fe := switchboard.Fields(err); fe != nil {
		page, perr := s.rolesPage(c)
		if perr != nil {
			return perr
		}
		for i := range page.Roles {
			if page.Roles[i].Role.ID == r.ID {
				page.Roles[i].Form = views.Form{Values: values, Errors: fe}
			}
		}
		return s.render(c, http.StatusUnprocessableEntity, views.Roles(page))
	} else if err != nil {
		return err
	}
	s.flash(c, "The role "+r.Name+" was saved. Its members have the new sections from their next click.")
	return redirect(c, switchboard.OrgPath(m.Org.ID, "roles"))
}

// handleRoleDeleteConfirm asks before deleting a role, or says why it
// cannot be deleted yet while people hold it.
func (s *Server) handleRoleDeleteConfirm(c echo.Context) error {
	m := switchboard.MembershipFromContext(c.Request().Context())
	id, err := parseID(c.Param("role"))
	if err != nil {
		return errNoRole
	}
	u, err := s.db.FindRoleUsage(c.Request().Context(), m.Org.ID, id)
	if err != nil {
		return err
	}
	page := views.ConfirmPage{
		Title:       "Delete the role " + u.Name + "?",
		Consequence: "The role " + u.Name + " will be deleted at once. Nobody holds it now. This cannot be undone.",
		Action:      switchboard.OrgPath(m.Org.ID, "roles/"+strconv.FormatInt(u.ID, 10)+"/delete"),
		Button:      "Delete role",
		CancelURL:   switchboard.OrgPath(m.Org.ID, "roles"),
	}
	if u.Held() {
		page.Blocked = "The role " + u.Name + " is held by " + switchboard.Plural(u.Members, "member", "members") + " and " + switchboard.Plural(u.Invitations, "pending invitation", "pending invitations") + ". Give them another role first, then delete it."
	}
	return s.render(c, http.StatusOK, views.Confirm(page))
}

func (s *Server) handleRoleDelete(c echo.Context) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	r, err := s.roleFromURL(c, m)
	if err != nil {
		return err
	}
	if err := s.db.DeleteRole(ctx, s.actor(c), m.Org.ID, r.ID); err != nil {
		if switchboard.ErrorCode(err) == switchboard.ECONFLICT {
			page, perr := s.rolesPage(c)
			if perr != nil {
				return perr
			}
			for i := range page.Roles {
				if page.Roles[i].Role.ID == r.ID {
					page.Roles[i].Form.Message = switchboard.ErrorMessage(err)
				}
			}
			return s.render(c, http.StatusConflict, views.Roles(page))
		}
		return err
	}
	s.flash(c, "The role "+r.Name+" was deleted.")
	return redirect(c, switchboard.OrgPath(m.Org.ID, "roles"))
}
