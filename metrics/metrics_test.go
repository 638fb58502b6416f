package metrics_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"switchboard"
	"switchboard/metrics"
	"switchboard/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: %d\n%s", rec.Code, rec.Body.String())
	}
	return rec.Body.String()
}

// TestMessagesByStatusKept: the queue lengths are read at every scrape,
// the count of messages by status only once in StatusEvery.
func TestMessagesByStatusKept(t *testing.T) {
	db, dsn := storetest.Open(t)
	m := metrics.New(db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	m.StatusEvery = time.Hour
	body := scrape(t, m)
	for _, want := range []string{"switchboard_message_queue_messages 0", `switchboard_messages{status="queued"} 0`} {
		if !strings.Contains(body, want) {
			t.Fatalf("no %q in\n%s", want, body)
		}
	}

	org := &switchboard.Organisation{Name: "Acme"}
	if err := db.CreateProfileWithOrganisation(context.Background(), &switchboard.Profile{Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace"}, "hash", org); err != nil {
		t.Fatal(err)
	}
	storetest.SeedMessages(t, dsn, org.ID, 100, time.Now()) // 4 queued
	raw := storetest.OpenRaw(t, dsn)
	if _, err := raw.ExecContext(context.Background(), `INSERT INTO message_queue (message_id, next_attempt_at) SELECT id, 0 FROM messages WHERE status = 'queued'`); err != nil {
		t.Fatal(err)
	}
	body = scrape(t, m)
	for _, want := range []string{"switchboard_message_queue_messages 4", `switchboard_messages{status="queued"} 0`} {
		if !strings.Contains(body, want) {
			t.Errorf("within StatusEvery: no %q in\n%s", want, body)
		}
	}
	m.StatusEvery = 0
	body = scrape(t, m)
	for _, want := range []string{`switchboard_messages{status="queued"} 4`, `switchboard_messages{status="delivered"} 91`} {
		if !strings.Contains(body, want) {
			t.Errorf("after StatusEvery: no %q in\n%s", want, body)
		}
	}
}

// TestLoginResultsFixed: a result outside the fixed set adds no series.
func TestLoginResultsFixed(t *testing.T) {
	m := metrics.New(nil, nil)
	m.Login(metrics.LoginTwoFactorFailed)
	m.Login("someone@example.com")
	body := scrape(t, m)
	if strings.Contains(body, "example.com") {
		t.Errorf("a made-up result became a label:\n%s", body)
	}
	for _, want := range []string{`switchboard_logins_total{result="two_factor_failed"} 1`, `switchboard_logins_total{result="wrong_password"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("no %q in\n%s", want, body)
		}
	}
	var nilMetrics *metrics.Metrics
	nilMetrics.Login(metrics.LoginSuccess) // a server without metrics counts nothing, without a panic
	nilMetrics.Request("/", "GET", 200, time.Millisecond)
}
