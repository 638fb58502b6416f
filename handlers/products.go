package handlers

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/views"
)

// productsPage builds the products page with the request form as given.
func (s *Server) productsPage(c echo.Context, request views.Form) (views.ProductsPage, error) {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	list, err := s.db.ListProductRequests(ctx, m.Org.ID)
	if err != nil {
		return views.ProductsPage{}, err
	}
	return views.ProductsPage{Membership: m, Request: request, Requests: list, Zone: zoneOf(c)}, nil
}

// handleProducts lists the organisation's product requests with their
// status, and the form to request one.
func (s *Server) handleProducts(c echo.Context) error {
	page, err := s.productsPage(c, views.Form{})
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.Products(page))
}

// handleProductRequest requests a product; the operator decides
// (switchboard products approve|decline ID).
func (s *Server) handleProductRequest(c echo.Context) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	values, err := form(c)
	if err != nil {
		return err
	}
	r := &switchboard.ProductRequest{OrgID: m.Org.ID, Product: switchboard.Product(values.Get("product")), Note: values.Get("note")}
	err = r.Validate()
	if err == nil {
		err = s.db.RequestProduct(ctx, s.actor(c), r)
	}
	if fe := switchboard.Fields(err); fe != nil {
		kept := url.Values{"product": {values.Get("product")}, "note": {values.Get("note")}}
		page, perr := s.productsPage(c, views.Form{Values: kept, Errors: fe})
		if perr != nil {
			return perr
		}
		return s.render(c, http.StatusUnprocessableEntity, views.Products(page))
	} else if err != nil {
		return err
	}
	s.flash(c, "Your request for "+r.Product.Label()+" was sent. We will answer here, usually within two working days.")
	return redirect(c, switchboard.OrgPath(m.Org.ID, "products"))
}
