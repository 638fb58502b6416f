package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"switchboard"
)

// apiBalance is the organisation's balance as the API shows it: money as a
// decimal string with four decimals (a float would round it).
type apiBalance struct {
	Balance  string `json:"balance"`
	Currency string `json:"currency"`
}

// handleAPIBalance answers the balance of the key's organisation, read now:
// what it can spend. For a subaccount, which has no balance of its own,
// that is what both of its limits allow at once (store.Spendable).
func (s *Server) handleAPIBalance(c echo.Context) error {
	caller := apiCaller(c)
	b, err := s.db.Spendable(c.Request().Context(), caller.Org.ID)
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, apiBalance{Balance: switchboard.FormatAmount(b, 4), Currency: string(s.cfg.Currency)})
}
