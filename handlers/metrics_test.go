package handlers_test

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"switchboard/handlers"
	"switchboard/metrics"
	"switchboard/store/storetest"
)

// newMetricsApp is the real server with metrics served on its address, as
// the binary runs without --metrics-addr; messages by status are read at
// every scrape.
func newMetricsApp(t *testing.T, proxies []*net.IPNet) *app {
	t.Helper()
	base, _ := url.Parse(testBaseURL)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, dsn := storetest.Open(t)
	m := metrics.New(db, logger)
	m.StatusEvery = 0
	return newAppOn(t, db, dsn, handlers.Config{BaseURL: base, TrustedProxies: proxies, Logger: logger,
		Metrics: m, MetricsOnMain: true})
}

// scrape reads /metrics from the test's loopback client and parses it as
// Prometheus' text format: a scrape that does not parse fails the test.
func scrape(t *testing.T, a *app) map[string]*dto.MetricFamily {
	t.Helper()
	res := a.client().get("/metrics")
	wantStatus(t, res, http.StatusOK)
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(strings.NewReader(res.body))
	if err != nil {
		t.Fatalf("/metrics is not Prometheus text: %v\n%s", err, res.body)
	}
	return families
}

// value is the value of the series of family whose labels include all of
// want; -1 when there is none.
func value(families map[string]*dto.MetricFamily, family string, want map[string]string) float64 {
	f := families[family]
	if f == nil {
		return -1
	}
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		ok := true
		for k, v := range want {
			if labels[k] != v {
				ok = false
			}
		}
		if !ok {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

func TestMetricsCountRequestsByRoutePattern(t *testing.T) {
	a := newMetricsApp(t, nil)
	owner := a.signup("owner@example.com", "Acme")
	wantStatus(t, owner.get(path(owner.org, "members")), http.StatusOK)
	wantStatus(t, owner.get(path(owner.org, "members")), http.StatusOK)

	const token = "Zq3xVb7Tk9mWcR2pLs8dNf4hJy6"
	c := a.client()
	c.get("/invitations/" + token)
	c.get("/password/reset/" + token)
	c.get("/s/" + token)
	c.get("/orgs/123/members/456")
	c.get("/api/v1/messages/789")
	c.get("/no/such/page/" + token)

	families := scrape(t, a)
	route := "/orgs/:org/members"
	if n := value(families, "switchboard_http_requests_total", map[string]string{"route": route, "method": "GET", "status": "200"}); n != 2 {
		t.Errorf("GET %s 200 counted %v times, want 2", route, n)
	}
	if n := value(families, "switchboard_http_request_duration_seconds", map[string]string{"route": route, "method": "GET"}); n != 2 {
		t.Errorf("latency of GET %s observed %v times, want 2", route, n)
	}
	for _, want := range []map[string]string{
		{"route": "/invitations/:token", "method": "GET"},
		{"route": "/password/reset/:token", "method": "GET"},
		{"route": "/s/:token", "method": "GET"},
		{"route": "/orgs/:org/members/:profile", "method": "GET"},
		{"route": "/api/v1/messages/:id", "method": "GET", "status": "401"},
		{"route": "unmatched", "method": "GET", "status": "404"},
	} {
		if n := value(families, "switchboard_http_requests_total", want); n < 1 {
			t.Errorf("no request counted with %v", want)
		}
	}
	// No label value anywhere holds the token or the ids of the paths.
	for name, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				v := l.GetValue()
				if strings.Contains(v, token) || strings.Contains(v, "123") || strings.Contains(v, "456") || strings.Contains(v, "789") ||
					strings.Contains(v, "/orgs/"+itoa(owner.org)+"/") {
					t.Errorf("%s has a raw path in label %s=%q", name, l.GetName(), v)
				}
			}
		}
	}
}

func TestMetricsCountLoginsByResult(t *testing.T) {
	a := newMetricsApp(t, nil)
	a.signup("owner@example.com", "Acme")
	a.login("owner@example.com", testPassword)
	for range 2 {
		res := a.client().post("/login", url.Values{"email": {"owner@example.com"}, "password": {"not the password"}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
	}
	res := a.client().post("/login", url.Values{"email": {"nobody@example.com"}, "password": {"not the password"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)

	families := scrape(t, a)
	for result, want := range map[string]float64{metrics.LoginSuccess: 1, metrics.LoginWrongPassword: 3, metrics.LoginTwoFactorFailed: 0} {
		if n := value(families, "switchboard_logins_total", map[string]string{"result": result}); n != want {
			t.Errorf("logins %s = %v, want %v", result, n, want)
		}
	}
	for _, m := range families["switchboard_logins_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if strings.Contains(l.GetValue(), "@") {
				t.Errorf("an email is a label: %q", l.GetValue())
			}
		}
	}
}

func TestMetricsQueueGaugesFollowRows(t *testing.T) {
	a := newMetricsApp(t, nil)
	families := scrape(t, a)
	for _, g := range []string{"switchboard_outbox_emails", "switchboard_message_queue_messages", "switchboard_campaigns_scheduled"} {
		if n := value(families, g, nil); n != 0 {
			t.Errorf("%s = %v on an empty database, want 0", g, n)
		}
	}
	owner := a.signup("owner@example.com", "Acme")
	a.fundOrg(owner.org, 10_000, "EE")
	// An invitation queues an email (no mail worker runs here).
	wantStatus(t, owner.post(path(owner.org, "members"), url.Values{"email": {"bob@example.com"}, "role": {"sender"}}), http.StatusSeeOther)
	form := url.Values{"from": {"Switchboard"}, "to": {"55500001\n55500002"}, "message": {"Hello"}, "action": {"send"}}
	wantStatus(t, owner.post(path(owner.org, "messages/new"), form), http.StatusSeeOther)

	families = scrape(t, a)
	emails := float64(a.rows(`SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL`))
	if emails < 1 {
		t.Fatalf("the invitation queued no email")
	}
	if n := value(families, "switchboard_outbox_emails", nil); n != emails {
		t.Errorf("switchboard_outbox_emails = %v, want %v", n, emails)
	}
	if n := value(families, "switchboard_message_queue_messages", nil); n != 2 {
		t.Errorf("switchboard_message_queue_messages = %v, want 2", n)
	}
	if n := value(families, "switchboard_messages", map[string]string{"status": "queued"}); n != 2 {
		t.Errorf("switchboard_messages{status=queued} = %v, want 2", n)
	}
	if n := value(families, "switchboard_messages", map[string]string{"status": "delivered"}); n != 0 {
		t.Errorf("switchboard_messages{status=delivered} = %v, want 0", n)
	}
}

// TestMetricsOnlyToThisMachine: on the panel's address /metrics answers a
// loopback client, and is the panel's 404 to anyone else, however they
// dress the request up as local.
func TestMetricsOnlyToThisMachine(t *testing.T) {
	_, proxy, _ := net.ParseCIDR("10.0.0.5/32")
	for _, tc := range []struct {
		name    string
		proxies []*net.IPNet
		remote  string
		header  map[string]string
		want    int
	}{
		{"loopback", nil, "127.0.0.1:5000", nil, http.StatusOK},
		{"loopback IPv6", nil, "[::1]:5000", nil, http.StatusOK},
		{"remote", nil, "203.0.113.5:5000", nil, http.StatusNotFound},
		{"remote claiming loopback, no trusted proxy", nil, "203.0.113.5:5000", map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1"}, http.StatusNotFound},
		{"remote claiming loopback to an untrusted peer", []*net.IPNet{proxy}, "203.0.113.5:5000", map[string]string{"X-Forwarded-For": "127.0.0.1"}, http.StatusNotFound},
		{"local proxy not named trusted relays a client", nil, "127.0.0.1:5000", map[string]string{"X-Forwarded-For": "203.0.113.5"}, http.StatusNotFound},
		{"trusted proxy relays a remote client", []*net.IPNet{proxy}, "10.0.0.5:5000", map[string]string{"X-Forwarded-For": "203.0.113.5"}, http.StatusNotFound},
		{"trusted proxy relays a client that claims loopback", []*net.IPNet{proxy}, "10.0.0.5:5000", map[string]string{"X-Forwarded-For": "127.0.0.1, 203.0.113.5"}, http.StatusNotFound},
		{"trusted proxy's own scrape", []*net.IPNet{proxy}, "10.0.0.5:5000", nil, http.StatusOK},
		{"trusted proxy relays its own machine", []*net.IPNet{proxy}, "10.0.0.5:5000", map[string]string{"X-Forwarded-For": "127.0.0.1"}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newMetricsApp(t, tc.proxies)
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			req.RemoteAddr = tc.remote
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			a.srv.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d\n%s", rec.Code, tc.want, rec.Body.String())
			}
			if tc.want == http.StatusOK && !strings.Contains(rec.Body.String(), "switchboard_logins_total") {
				t.Errorf("no metrics in\n%s", rec.Body.String())
			}
			if tc.want == http.StatusNotFound && strings.Contains(rec.Body.String(), "switchboard_") {
				t.Errorf("metrics leaked in the 404:\n%s", rec.Body.String())
			}
		})
	}
}

// TestMetricsNotOnMainWithMetricsAddr: with --metrics-addr the panel's
// address answers 404 to loopback too.
func TestMetricsNotOnMainWithMetricsAddr(t *testing.T) {
	base, _ := url.Parse(testBaseURL)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, dsn := storetest.Open(t)
	a := newAppOn(t, db, dsn, handlers.Config{BaseURL: base, Logger: logger, Metrics: metrics.New(db, logger)})
	wantStatus(t, a.client().get("/metrics"), http.StatusNotFound)
}
