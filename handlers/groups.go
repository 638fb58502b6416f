package handlers

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/views"
)

var errNoGroup = switchboard.Errorf(switchboard.ENOTFOUND, "This group does not exist, or you do not have access to it.")

// renderGroups shows the Groups page with the forms as given.
func (s *Server) renderGroups(c echo.Context, status int, page views.GroupsPage) error {
	ctx := c.Request().Context()
	page.Membership = switchboard.MembershipFromContext(ctx)
	groups, err := s.db.ListGroups(ctx, page.Membership.Org.ID)
	if err != nil {
		return err
	}
	page.Groups = groups
	return s.render(c, status, views.Groups(page))
}

// handleGroups lists the organisation's groups with their counts.
func (s *Server) handleGroups(c echo.Context) error {
	return s.renderGroups(c, http.StatusOK, views.GroupsPage{})
}

// handleGroupCreate adds a group; a name the organisation has, whatever
// its case, is refused beside Name.
func (s *Server) handleGroupCreate(c echo.Context) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	values, err := form(c)
	if err != nil {
		return err
	}
	g := &switchboard.Group{OrgID: m.Org.ID, Name: values.Get("name")}
	err = g.Validate()
	if err == nil {
		err = s.db.CreateGroup(ctx, s.actor(c), g)
	}
	if fe := switchboard.Fields(err); fe != nil {
		return s.renderGroups(c, http.StatusUnprocessableEntity, views.GroupsPage{New: views.Form{Values: url.Values{"name": {values.Get("name")}}, Errors: fe}})
	} else if err != nil {
		return err
	}
	s.flash(c, "The group "+g.Name+" was created. Add contacts to it from their pages, or by importing a list.")
	return redirect(c, switchboard.OrgPath(m.Org.ID, "groups"))
}

// groupFromURL is the organisation's group of the URL; another
// organisation's, or an id that is none, answers 404.
func (s *Server) groupFromURL(c echo.Context, orgID int64) (*switchboard.Group, error) {
	id, err := parseID(c.Param("group"))
	if err != nil {
		return nil, errNoGroup
	}
	return s.db.FindGroup(c.Request().Context(), orgID, id)
}

// handleGroupRename renames a group; its contacts, campaigns and links
// follow it.
func (s *Server) handleGroupRename(c echo.Context) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	g, err := s.groupFromURL(c, m.Org.ID)
	if err != nil {
		return err
	}
	values, err := form(c)
	if err != nil {
		return err
	}
	renamed := &switchboard.Group{OrgID: m.Org.ID, Name: values.Get("name")}
	err = renamed.Validate()
	if err == nil {
		err = s.db.RenameGroup(ctx, s.actor(c), m.Org.ID, g.ID, renamed.Name)
	}
	if fe := switchboard.Fields(err); fe != nil {
		return s.renderGroups(c, http.StatusUnprocessableEntity, views.GroupsPage{Rename: map[int64]views.Form{
			g.ID: {Values: url.Values{"name": {values.Get("name")}}, Errors: fe},
		}})
	} else if err != nil {
		return err
	}
	s.flash(c, "The group "+g.Name+" is now named "+renamed.Name+".")
	return redirect(c, switchboard.OrgPath(m.Org.ID, "groups"))
}

func (s *Server) handleGroupDeleteConfirm(c echo.Context) error {
	m := switchboard.MembershipFromContext(c.Request().Context())
	g, err := s.groupFromURL(c, m.Org.ID)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.Confirm(views.ConfirmPage{
		Title: "Delete the group " + g.Name + "?",
		Consequence: "The group " + g.Name + " will be deleted. Its " + switchboard.Plural(g.Contacts, "contact stays", "contacts stay") +
			" in the phonebook and in their other groups. Subscription links to this group are deleted with it, and campaigns still waiting to start no longer send to it. This cannot be undone.",
		Action:    switchboard.OrgPath(m.Org.ID, "groups/"+strconv.FormatInt(g.ID, 10)+"/delete"),
		Button:    "Delete group",
		CancelURL: switchboard.OrgPath(m.Org.ID, "groups"),
	}))
}

func (s *Server) handleGroupDelete(c echo.Context) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	g, err := s.groupFromURL(c, m.Org.ID)
	if err != nil {
		return err
	}
	if err := s.db.DeleteGroup(ctx, s.actor(c), m.Org.ID, g.ID); err != nil {
		return err
	}
	s.flash(c, "The group "+g.Name+" was deleted. Its contacts are still in the phonebook.")
	return redirect(c, switchboard.OrgPath(m.Org.ID, "groups"))
}
