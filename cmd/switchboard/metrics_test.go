package main

import (
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"switchboard/store/storetest"
)

// getBody GETs url and returns the status and body.
func getBody(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 30 * time.Second}
	res, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// freeAddr returns a loopback address nobody listens on, for a flag that
// needs one before the process starts.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestBinaryMetricsAddr runs the real binary with --metrics-addr: that
// address serves /metrics in Prometheus' text format, counting the
// panel's requests by route pattern, and the panel's address no longer
// serves it, not even to loopback.
func TestBinaryMetricsAddr(t *testing.T) {
	bin := buildBinary(t)
	metricsAddr := freeAddr(t)
	_, addr, lines := startBinary(t, bin, t.TempDir(), "--metrics-addr", metricsAddr)
	go func() {
		for lines.Scan() {
		}
	}()
	if status, _ := getBody(t, "http://"+addr+"/login"); status != http.StatusOK {
		t.Fatalf("GET /login: %d", status)
	}
	if status, body := getBody(t, "http://"+addr+"/metrics"); status != http.StatusNotFound || strings.Contains(body, "switchboard_") {
		t.Errorf("the panel's address answered /metrics with %d while --metrics-addr is set:\n%.300s", status, body)
	}
	status, body := getBody(t, "http://"+metricsAddr+"/metrics")
	if status != http.StatusOK {
		t.Fatalf("GET /metrics on --metrics-addr: %d\n%s", status, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("not Prometheus text: %v\n%s", err, body)
	}
	var counted bool
	for _, m := range families["switchboard_http_requests_total"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["route"] == "/login" && labels["method"] == "GET" && labels["status"] == "200" && m.GetCounter().GetValue() == 1 {
			counted = true
		}
	}
	if !counted {
		t.Errorf("GET /login is not counted once:\n%s", body)
	}
	if families["switchboard_outbox_emails"] == nil {
		t.Errorf("no outbox gauge:\n%s", body)
	}
}

// TestMainMetrics starts Main on both engines: without --metrics-addr the
// panel's address serves /metrics to loopback with the gauges read from
// the database; SWITCHBOARD_METRICS_ADDR sets the address of its own.
func TestMainMetrics(t *testing.T) {
	engines := map[string]func(t *testing.T) string{
		"SQLite":     func(t *testing.T) string { return filepath.Join(t.TempDir(), "sb.db") },
		"PostgreSQL": func(t *testing.T) string { return storetest.PostgresDSN(t) },
	}
	for name, dsn := range engines {
		t.Run(name, func(t *testing.T) {
			db := dsn(t)
			m := startMainFlags(t, db, io.Discard)
			status, body := getBody(t, m.URL()+"/metrics")
			if status != http.StatusOK || !strings.Contains(body, "switchboard_message_queue_messages 0") {
				t.Errorf("GET /metrics on the panel's address from loopback: %d\n%s", status, body)
			}
			if m.MetricsURL() != "" {
				t.Errorf("a metrics listener without --metrics-addr: %s", m.MetricsURL())
			}
			m.Close()

			metricsAddr := freeAddr(t)
			m = NewMain()
			m.Stdout = io.Discard
			env := map[string]string{"SWITCHBOARD_METRICS_ADDR": metricsAddr}
			if err := m.ParseFlags([]string{"--addr", "127.0.0.1:0", "--db", db}, func(k string) string { return env[k] }); err != nil {
				t.Fatal(err)
			}
			if err := m.Run(t.Context()); err != nil {
				m.Close()
				t.Fatalf("Run: %v", err)
			}
			defer m.Close()
			if status, _ := getBody(t, m.URL()+"/metrics"); status != http.StatusNotFound {
				t.Errorf("the panel's address answered /metrics with %d while SWITCHBOARD_METRICS_ADDR is set", status)
			}
			if status, body := getBody(t, m.MetricsURL()); status != http.StatusOK || !strings.Contains(body, "switchboard_outbox_emails 0") {
				t.Errorf("GET %s: %d\n%s", m.MetricsURL(), status, body)
			}
		})
	}
}

func TestMetricsAddrFlag(t *testing.T) {
	m := NewMain()
	m.Stdout = io.Discard
	err := m.ParseFlags([]string{"--metrics-addr", "9090"}, func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "--metrics-addr: \"9090\" is not host:port") {
		t.Errorf("--metrics-addr 9090: %v", err)
	}
}
