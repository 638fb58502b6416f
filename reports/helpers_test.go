package reports_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"switchboard"
	"switchboard/store"
	"switchboard/store/storetest"
)

// TestMain runs every test of the package on SQLite, then on PostgreSQL
// when SWITCHBOARD_POSTGRES_URL names a server.
func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

var ctx = context.Background()

const secret = "the organisation's report secret"

// panel is a database with organisations that send.
type panel struct {
	db  *store.DB
	dsn string
	raw *storetest.Raw
}

// org is an organisation of the panel, with its owner.
type org struct {
	id, owner int64
}

func newPanel(tb testing.TB) *panel {
	tb.Helper()
	db, dsn := storetest.Open(tb)
	return &panel{db: db, dsn: dsn, raw: storetest.OpenRaw(tb, dsn)}
}

// newOrg signs up an owner with an organisation whose delivery reports go
// to url, signed with secret. The API configuration is written raw: its
// page is another part of the panel.
func (p *panel) newOrg(tb testing.TB, name, url string) org {
	tb.Helper()
	pr := &switchboard.Profile{Email: fmt.Sprintf("owner%d@%s.example", len(name), name), FirstName: "Ada", LastName: name}
	o := &switchboard.Organisation{Name: name}
	if err := p.db.CreateProfileWithOrganisation(ctx, pr, "hash", o); err != nil {
		tb.Fatal(err)
	}
	p.setURL(tb, o.ID, url)
	return org{id: o.ID, owner: pr.ID}
}

// setURL sets the organisation's report URL ("" for none).
func (p *panel) setURL(tb testing.TB, orgID int64, url string) {
	tb.Helper()
	if _, err := p.raw.ExecContext(ctx, `INSERT INTO api_config (org_id, report_url, report_secret, updated_at) VALUES (?, ?, ?, 1)
		ON CONFLICT (org_id) DO UPDATE SET report_url = excluded.report_url`, orgID, url, secret); err != nil {
		tb.Fatal(err)
	}
}

// queue funds the organisation and queues one message to each number, as
// the Send SMS page does; it returns their ids in the order given.
func (p *panel) queue(tb testing.TB, o org, numbers ...string) []int64 {
	tb.Helper()
	if _, err := p.raw.ExecContext(ctx, `UPDATE organisations SET balance = balance + ? WHERE id = ?`, 100*len(numbers), o.id); err != nil {
		tb.Fatal(err)
	}
	b := store.Batch{OrgID: o.id, Actor: switchboard.Actor{ProfileID: o.owner}, Currency: "EUR", Description: "test send"}
	for _, n := range numbers {
		b.Messages = append(b.Messages, switchboard.Message{From: "Acme", To: n, Text: "Hello " + n, Encoding: switchboard.GSM7, Parts: 1, Price: 100})
	}
	batch, err := p.db.QueueMessages(ctx, b)
	if err != nil {
		tb.Fatal(err)
	}
	ids := make([]int64, len(numbers))
	for i, n := range numbers {
		if err := p.raw.QueryRowContext(ctx, `SELECT id FROM messages WHERE batch_id = ? AND recipient = ?`, batch, n).Scan(&ids[i]); err != nil {
			tb.Fatal(err)
		}
	}
	return ids
}

// sent records the messages as accepted by the gateway, as the delivery
// worker does: one report each.
func (p *panel) sent(tb testing.TB, ids ...int64) {
	tb.Helper()
	var outcomes []switchboard.DeliveryOutcome
	for _, id := range ids {
		outcomes = append(outcomes, switchboard.DeliveryOutcome{MessageID: id, Status: switchboard.StatusSent})
	}
	if err := p.db.RecordDeliveries(ctx, outcomes); err != nil {
		tb.Fatal(err)
	}
}

// delivered records the gateway's report that the message was delivered.
func (p *panel) delivered(tb testing.TB, id int64) {
	tb.Helper()
	if _, err := p.db.ReportDelivery(ctx, id, switchboard.StatusDelivered, ""); err != nil {
		tb.Fatal(err)
	}
}

func (p *panel) count(tb testing.TB, q string, args ...any) int {
	tb.Helper()
	var n int
	if err := p.raw.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
	return n
}

// queued is a row of api_reports as the tests look at it.
type queued struct {
	id, messageID int64
	status        string
	attempts      int
	created, next int64
	claimed       *int64
	lastError     string
}

// queuedReports returns the rows of api_reports, in id order.
func (p *panel) queuedReports(tb testing.TB) []queued {
	tb.Helper()
	rows, err := p.raw.QueryContext(ctx, `SELECT id, message_id, status, attempts, created_at, next_attempt_at, claimed_until, last_error FROM api_reports ORDER BY id`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var list []queued
	for rows.Next() {
		var q queued
		if err := rows.Scan(&q.id, &q.messageID, &q.status, &q.attempts, &q.created, &q.next, &q.claimed, &q.lastError); err != nil {
			tb.Fatal(err)
		}
		list = append(list, q)
	}
	return list
}

// call is one POST a receiver got.
type call struct {
	body   []byte
	header http.Header
	report map[string]any
}

func (c call) eventID() int64   { n, _ := c.report["event_id"].(float64); return int64(n) }
func (c call) messageID() int64 { n, _ := c.report["id"].(float64); return int64(n) }
func (c call) status() string   { s, _ := c.report["status"].(string); return s }

// receiver is a customer's server in the test: it records every call and
// every connection made to it, and answers what answer says (200 when nil).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	calls  []call
	conns  atomic.Int32
	answer func(c call, attempt int) int
}

func newReceiver(tb testing.TB, answer func(c call, attempt int) int) *receiver {
	tb.Helper()
	r := &receiver{answer: answer}
	r.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		c := call{body: body, header: req.Header.Clone()}
		json.Unmarshal(body, &c.report)
		r.mu.Lock()
		attempt := 1
		for _, earlier := range r.calls {
			if earlier.eventID() == c.eventID() {
				attempt++
			}
		}
		r.calls = append(r.calls, c)
		r.mu.Unlock()
		status := http.StatusOK
		if r.answer != nil {
			status = r.answer(c, attempt)
		}
		w.WriteHeader(status)
	}))
	r.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			r.conns.Add(1)
		}
	}
	r.Start()
	tb.Cleanup(r.Close)
	return r
}

// Calls returns the calls received so far.
func (r *receiver) Calls() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls...)
}

// quiet is a logger for workers whose log the test does not read.
func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// logTo is a text logger writing to b, guarded by mu.
func logTo(b *bytes.Buffer, mu *sync.Mutex) *slog.Logger {
	return slog.New(slog.NewTextHandler(lockedWriter{b, mu}, nil))
}

type lockedWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
