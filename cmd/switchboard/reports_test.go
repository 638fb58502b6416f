package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"switchboard"
	"switchboard/gateway"
	"switchboard/store"
	"switchboard/store/storetest"
)

const testReportSecret = "an organisation's report secret"

// reportReceiver is a customer's server in the test: it keeps the reports
// whose signature verifies, and counts the others and the connections.
type reportReceiver struct {
	*httptest.Server
	mu      sync.Mutex
	reports []map[string]any
	bad     int
	conns   atomic.Int32
}

func newReportReceiver(t *testing.T) *reportReceiver {
	r := &reportReceiver{}
	r.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if !gateway.Verify(body, req.Header.Get(gateway.SignatureHeader), testReportSecret) {
			r.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var m map[string]any
		json.Unmarshal(body, &m)
		r.reports = append(r.reports, m)
	}))
	r.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			r.conns.Add(1)
		}
	}
	r.Start()
	t.Cleanup(r.Close)
	return r
}

func (r *reportReceiver) received() ([]map[string]any, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.reports...), r.bad
}

// TestMainSendsDeliveryReports: Main with --report-allow-loopback and the
// log gateway delivers a queued message, and the organisation's receiver
// gets the signed "delivered" report; without the flag the same receiver
// on 127.0.0.1 is never connected to.
func TestMainSendsDeliveryReports(t *testing.T) {
	engines := map[string]func(t *testing.T) string{
		"SQLite":     func(t *testing.T) string { return filepath.Join(t.TempDir(), "sb.db") },
		"PostgreSQL": func(t *testing.T) string { return storetest.PostgresDSN(t) },
	}
	for name, dsn := range engines {
		t.Run(name, func(t *testing.T) {
			db := dsn(t)
			rcv := newReportReceiver(t)
			m := startMainFlags(t, db, io.Discard, "--report-allow-loopback")
			defer m.Close()
			ids := queueWithReports(t, m.DB, db, rcv.URL+"/reports", "+37255500001")
			m.Deliveries.Notify()
			waitForDelivery(t, "the receiver gets the report", func() bool { got, _ := rcv.received(); return len(got) > 0 })
			got, bad := rcv.received()
			if len(got) != 1 || bad != 0 {
				t.Fatalf("the receiver got %v (%d badly signed), want one report", got, bad)
			}
			if r := got[0]; r["id"] != float64(ids[0]) || r["status"] != "delivered" || r["to"] != "+37255500001" || r["from"] != "Acme" || r["error"] != nil {
				t.Errorf("report %v, want message %d delivered", r, ids[0])
			}
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}

			// Without the flag, the next report fails before connecting.
			m = startMainFlags(t, db, io.Discard)
			defer m.Close()
			conns := rcv.conns.Load()
			more := queueWithReports(t, m.DB, db, rcv.URL+"/reports", "+37255500002")
			m.Deliveries.Notify()
			raw := storetest.OpenRaw(t, db)
			var lastError string
			waitForDelivery(t, "the report is refused", func() bool {
				raw.QueryRowContext(context.Background(), `SELECT last_error FROM api_reports WHERE message_id = ?`, more[0]).Scan(&lastError)
				return lastError != ""
			})
			if !strings.Contains(lastError, "--report-allow-loopback") || rcv.conns.Load() != conns {
				t.Errorf("without the flag: last error %q, %d new connections", lastError, rcv.conns.Load()-conns)
			}
		})
	}
}

// queueWithReports creates an organisation whose delivery reports go to
// url (its API configuration written raw, as the API configuration page
// will write it: that page is not this test's), funds it, and queues a
// message to each number, as Send SMS does; it returns the messages' ids.
func queueWithReports(t *testing.T, db *store.DB, dsn, url string, numbers ...string) []int64 {
	t.Helper()
	ctx := context.Background()
	p := &switchboard.Profile{Email: fmt.Sprintf("owner%d@example.com", time.Now().UnixNano()), FirstName: "Ada", LastName: "Lovelace"}
	org := &switchboard.Organisation{Name: "Acme"}
	if err := db.CreateProfileWithOrganisation(ctx, p, "hash", org); err != nil {
		t.Fatal(err)
	}
	raw := storetest.OpenRaw(t, dsn)
	if _, err := raw.ExecContext(ctx, `INSERT INTO api_config (org_id, report_url, report_secret, updated_at) VALUES (?, ?, ?, 1)`, org.ID, url, testReportSecret); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, `UPDATE organisations SET balance = ? WHERE id = ?`, 100*len(numbers), org.ID); err != nil {
		t.Fatal(err)
	}
	b := store.Batch{OrgID: org.ID, Actor: switchboard.Actor{ProfileID: p.ID}, Currency: "EUR"}
	for _, n := range numbers {
		b.Messages = append(b.Messages, switchboard.Message{From: "Acme", To: n, Text: "Hello", Encoding: switchboard.GSM7, Parts: 1, Price: 100})
	}
	batch, err := db.QueueMessages(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, len(numbers))
	for i, n := range numbers {
		if err := raw.QueryRowContext(ctx, `SELECT id FROM messages WHERE batch_id = ? AND recipient = ?`, batch, n).Scan(&ids[i]); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}
