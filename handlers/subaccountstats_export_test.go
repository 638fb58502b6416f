package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/views"
)

// AddStatisticsPage adds GET /orgs/:org/subaccounts/statistics, a page of
// the statistics alone (views.SubaccountStatsPage), for the tests of the
// statistics until the Subaccounts page shows them: it answers as that
// page does, with the view and status of subaccountStats.
func (s *Server) AddStatisticsPage() {
	org := s.echo.Group("/orgs/:org", s.requireProfile, s.loadMembership)
	s.orgRoute(org, http.MethodGet, "/subaccounts/statistics", switchboard.PermSubaccounts, func(c echo.Context) error {
		v, status, err := s.subaccountStats(c, switchboard.MembershipFromContext(c.Request().Context()))
		if err != nil {
			return err
		}
		return s.render(c, status, views.SubaccountStatsPage(v))
	})
}
