package handlers

import (
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/metrics"
)

// metricsPath is where Prometheus scrapes.
const metricsPath = "/metrics"

// knownRoutes returns the route patterns of the panel and the API, so a
// request is counted under its pattern only when it is one of them: a
// path that matched no route is "unmatched", never itself (it may hold an
// id or a token, and random paths would add series without end).
func (s *Server) knownRoutes() map[string]bool {
	known := map[string]bool{}
	for _, e := range []*echo.Echo{s.echo, s.apiRouter} {
		for _, r := range e.Routes() {
			known[r.Path] = true
		}
	}
	return known
}

// observe counts a request that began at start, once its answer is sent:
// by route pattern (c.Path()), method and status.
func (s *Server) observe(c echo.Context, start time.Time) {
	if s.cfg.Metrics == nil {
		return
	}
	route := c.Path()
	if !s.routePatterns[route] {
		route = metrics.Unmatched
	}
	method := c.Request().Method
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
	default:
		// Any other word a client sends is one series, not one each.
		method = "other"
	}
	s.cfg.Metrics.Request(route, method, c.Response().Status, time.Since(start))
}

// countLogin counts a login attempt by result (metrics.Login*).
func (s *Server) countLogin(result string) { s.cfg.Metrics.Login(result) }

// metricsAllowed reports whether r may read /metrics on the main address:
// only when the client is this machine or a trusted proxy's host. The
// client is the address Echo's IP extractor finds, which believes
// X-Forwarded-For only from --trusted-proxies; and a request that came
// straight from loopback but carries a forwarding header is refused too,
// since a reverse proxy on this machine that was not named trusted relays
// the whole internet from 127.0.0.1.
func (s *Server) metricsAllowed(r *http.Request) bool {
	ip := net.ParseIP(s.echo.IPExtractor(r))
	if ip == nil {
		return false
	}
	peer, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		peer = r.RemoteAddr
	}
	if ip.Equal(net.ParseIP(peer)) && (r.Header.Get(echo.HeaderXForwardedFor) != "" || r.Header.Get(echo.HeaderXRealIP) != "" || r.Header.Get("Forwarded") != "") {
		return false
	}
	if ip.IsLoopback() {
		return true
	}
	for _, n := range s.cfg.TrustedProxies {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}
