// Package handlers is Switchboard's web server: routes, middleware and one
// file per resource. Handlers read forms, call the store and render views;
// they never hold SQL.
package handlers

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/metrics"
	"switchboard/secretkey"
	"switchboard/store"
)

// Notifier wakes the mail worker after an email was queued.
type Notifier interface{ Notify() }

// Config is what the server needs from the command line.
type Config struct {
	// BaseURL is the panel's public address; links in emails are built from
	// it, never from the request's Host.
	BaseURL *url.URL
	// TrustedProxies are the proxies whose X-Forwarded-For is believed.
	TrustedProxies []*net.IPNet
	Logger         *slog.Logger
	// Mail is woken when an email is queued; may be nil.
	Mail Notifier
	// SessionIdle and SessionLifetime end sessions left unused, and every
	// session after a while.
	SessionIdle     time.Duration
	SessionLifetime time.Duration
	// Currency and Prices price messages and show money; by default EUR
	// and the built-in price table.
	Currency switchboard.Currency
	Prices   *switchboard.PriceTable
	// Payments is "manual" (default: invoices wait for the operator) or
	// "test" (paid at once).
	Payments string
	// Seller is the operator's company, copied onto each invoice.
	Seller switchboard.Party
	// DefaultSender is the From every organisation may use (default
	// "Switchboard").
	DefaultSender string
	// GatewaySecret checks the signature of the webhook gateway's calls
	// (delivery reports, incoming messages); empty refuses them all.
	GatewaySecret string
	// Deliveries is woken when messages are queued; may be nil.
	Deliveries Notifier
	// Campaigns is woken when a campaign is scheduled or changed (the
	// scheduler, package scheduler); may be nil.
	Campaigns Notifier
	// Imports is woken when a contact import is queued; may be nil.
	Imports Notifier
	// ReportAllowLoopback lets an organisation's delivery-report URL be
	// http:// to a loopback address (--report-allow-loopback): a receiver
	// on the same machine, or tests. Otherwise reports go over https://
	// only, and never to this machine or a private network.
	ReportAllowLoopback bool
	// Reports is woken when an organisation's API configuration changes
	// (the delivery-report worker, package reports); may be nil.
	Reports Notifier
	// APIRate is how many requests a second each API key may make
	// (--api-rate, default DefaultAPIRate); a burst of as many is allowed.
	APIRate int
	// HashConcurrency is how many password hashes may run at once; by
	// default as many as the runtime has processors (GOMAXPROCS), since a
	// hash never goes faster than one core and each holds 19 MiB.
	HashConcurrency int
	// Metrics counts requests and logins (package metrics); may be nil.
	Metrics *metrics.Metrics
	// MetricsOnMain serves Metrics at /metrics on the panel's address, to
	// loopback and trusted proxies only; false when --metrics-addr serves
	// them on an address of their own.
	MetricsOnMain bool
	// SecretKey seals two-factor secrets at rest (--secret-key, or the key
	// file beside the database). Without one a key is made for this
	// process only: secrets sealed under it cannot be read after a restart,
	// so only tests leave it out.
	SecretKey *secretkey.Key
}

// Server serves the panel.
type Server struct {
	db       *store.DB
	cfg      Config
	logger   *slog.Logger
	echo     *echo.Echo
	sessions *scs.SessionManager
	hasher   *hasher
	limits   *limits
	jobs     *jobs

	orgRoutes []OrgRoute

	// The JSON API's own Echo (handlers/api.go) and its routes.
	apiRouter  *echo.Echo
	apiRoutes  []APIRoute
	apiLimiter *apiLimiter

	// routePatterns are the routes of both Echos, for the metrics' route
	// label (handlers/metrics.go).
	routePatterns map[string]bool
}

// DefaultAPIRate is how many requests a second an API key may make when
// Config.APIRate is zero.
const DefaultAPIRate = 100

// New returns a server for db.
func New(db *store.DB, cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.BaseURL == nil {
		cfg.BaseURL = &url.URL{Scheme: "http", Host: "localhost:8080"}
	}
	if cfg.SessionIdle == 0 {
		cfg.SessionIdle = 8 * time.Hour
	}
	if cfg.SessionLifetime == 0 {
		cfg.SessionLifetime = 7 * 24 * time.Hour
	}
	if cfg.Currency == "" {
		cfg.Currency = switchboard.DefaultCurrency
	}
	if cfg.Prices == nil {
		cfg.Prices = switchboard.DefaultPrices()
	}
	if cfg.Payments == "" {
		cfg.Payments = "manual"
	}
	if cfg.DefaultSender == "" {
		cfg.DefaultSender = "Switchboard"
	}
	if cfg.APIRate <= 0 {
		cfg.APIRate = DefaultAPIRate
	}
	if cfg.HashConcurrency == 0 {
		cfg.HashConcurrency = runtime.GOMAXPROCS(0)
	}
	if cfg.SecretKey == nil {
		cfg.SecretKey, _, _ = secretkey.Generate()
	}
	s := &Server{
		db:     db,
		cfg:    cfg,
		logger: cfg.Logger,
		hasher: newHasher(cfg.HashConcurrency),
		limits: newLimits(),
		jobs:   newJobs(),
	}

	sm := scs.New()
	sm.Store = db.Sessions()
	sm.Lifetime = cfg.SessionLifetime
	sm.Cookie.Name = "switchboard_session"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Path = "/"
	if s.secure() {
		sm.Cookie.Secure = true
		sm.Cookie.Name = "__Host-switchboard_session"
	}
	s.sessions = sm

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.handleError
	if len(cfg.TrustedProxies) > 0 {
		opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
		for _, n := range cfg.TrustedProxies {
			opts = append(opts, echo.TrustIPRange(n))
		}
		e.IPExtractor = echo.ExtractIPFromXFFHeader(opts...)
	} else {
		e.IPExtractor = echo.ExtractIPDirect()
	}
	s.echo = e
	s.routes()
	s.newAPI()
	s.routePatterns = s.knownRoutes()
	return s
}

// ServeHTTP serves one request: the JSON API's under /api/, the panel's
// everywhere else.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// /metrics answers before any middleware (no session, no CSRF) and
	// only to this machine; to anyone else it is the panel's 404.
	if r.URL.Path == metricsPath && s.cfg.MetricsOnMain && s.cfg.Metrics != nil && s.metricsAllowed(r) {
		s.cfg.Metrics.Handler().ServeHTTP(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, apiPrefix) {
		s.apiRouter.ServeHTTP(w, r)
		return
	}
	s.echo.ServeHTTP(w, r)
}

// secure reports whether the panel is served over https.
func (s *Server) secure() bool { return s.cfg.BaseURL.Scheme == "https" }

// link returns an absolute link to path on the panel, for emails.
func (s *Server) link(path string) string {
	u := *s.cfg.BaseURL
	u.Path = singleJoin(u.Path, path)
	u.RawQuery, u.Fragment = "", ""
	return u.String()
}

func singleJoin(base, path string) string {
	for len(base) > 0 && base[len(base)-1] == '/' {
		base = base[:len(base)-1]
	}
	return base + path
}

// StartBackground runs the server's housekeeping (deleting expired
// sessions and Idempotency-Key answers) and its queue of background jobs until ctx is done; then the
// jobs already queued are finished (see WaitBackground).
func (s *Server) StartBackground(ctx context.Context) {
	go s.runJobs(ctx)
	go func() {
		t := time.NewTicker(10 * time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := s.db.Sessions().DeleteExpired(ctx); err != nil && ctx.Err() == nil {
					s.logger.Error("delete expired sessions", "err", err)
				}
				// Idempotency-Key answers past 24 hours are ignored already.
				if _, err := s.db.DeleteExpiredAnswers(ctx); err != nil && ctx.Err() == nil {
					s.logger.Error("delete expired Idempotency-Key answers", "err", err)
				}
			}
		}
	}()
}

// notifyDeliveries wakes the delivery worker after messages were queued.
func (s *Server) notifyDeliveries() {
	if s.cfg.Deliveries != nil {
		s.cfg.Deliveries.Notify()
	}
}

func (s *Server) notifyMail() {
	if s.cfg.Mail != nil {
		s.cfg.Mail.Notify()
	}
}
