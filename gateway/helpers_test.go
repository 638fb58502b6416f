package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"

	"switchboard"
	"switchboard/gateway"
	"switchboard/store"
	"switchboard/store/storetest"
)

// TestMain runs every test of the package on SQLite, then on PostgreSQL
// when SWITCHBOARD_POSTGRES_URL names a server.
func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

var ctx = context.Background()

const secret = "a webhook secret of some length"

// panel is a database with one organisation that sends.
type panel struct {
	db    *store.DB
	dsn   string
	raw   *storetest.Raw
	owner int64
	org   int64
}

func newPanel(tb testing.TB) *panel {
	tb.Helper()
	db, dsn := storetest.Open(tb)
	p := &switchboard.Profile{Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace"}
	org := &switchboard.Organisation{Name: "Acme"}
	if err := db.CreateProfileWithOrganisation(ctx, p, "hash", org); err != nil {
		tb.Fatal(err)
	}
	return &panel{db: db, dsn: dsn, raw: storetest.OpenRaw(tb, dsn), owner: p.ID, org: org.ID}
}

// queue funds the organisation with just enough and queues one message of
// price to each number, as the Send SMS page does; it returns their ids in
// the order given.
func (p *panel) queue(tb testing.TB, price switchboard.Money, numbers ...string) []int64 {
	tb.Helper()
	if _, err := p.raw.ExecContext(ctx, `UPDATE organisations SET balance = balance + ? WHERE id = ?`, int64(price)*int64(len(numbers)), p.org); err != nil {
		tb.Fatal(err)
	}
	b := store.Batch{OrgID: p.org, Actor: switchboard.Actor{ProfileID: p.owner}, Currency: "EUR", Description: "test send"}
	for _, n := range numbers {
		b.Messages = append(b.Messages, switchboard.Message{From: "Acme", To: n, Text: "Hello " + n, Encoding: switchboard.GSM7, Parts: 1, Price: price})
	}
	batch, err := p.db.QueueMessages(ctx, b)
	if err != nil {
		tb.Fatal(err)
	}
	rows, err := p.raw.QueryContext(ctx, `SELECT id, recipient FROM messages WHERE batch_id = ?`, batch)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	byNumber := map[string]int64{}
	for rows.Next() {
		var id int64
		var to string
		if err := rows.Scan(&id, &to); err != nil {
			tb.Fatal(err)
		}
		byNumber[to] = id
	}
	ids := make([]int64, len(numbers))
	for i, n := range numbers {
		ids[i] = byNumber[n]
	}
	return ids
}

// numbers returns n distinct Estonian mobile numbers.
func numbers(n int) []string {
	list := make([]string, n)
	for i := range list {
		list[i] = fmt.Sprintf("+3725%07d", i)
	}
	return list
}

// message is a row of messages as the tests look at it.
type message struct {
	status, reason string
	refunded       bool
	sentAt         *int64
}

func (p *panel) message(tb testing.TB, id int64) message {
	tb.Helper()
	var m message
	if err := p.raw.QueryRowContext(ctx, `SELECT status, error, refunded, sent_at FROM messages WHERE id = ?`, id).Scan(&m.status, &m.reason, &m.refunded, &m.sentAt); err != nil {
		tb.Fatal(err)
	}
	return m
}

func (p *panel) count(tb testing.TB, q string, args ...any) int {
	tb.Helper()
	var n int
	if err := p.raw.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
	return n
}

// call is one POST the test gateway received.
type call struct {
	body      []byte
	signature string
	header    http.Header
	message   map[string]any
}

// testGateway is an SMS provider's webhook in the test: it records every
// call and answers what answer says (200 when nil).
type testGateway struct {
	*httptest.Server
	mu     sync.Mutex
	calls  []call
	answer func(id int64, attempt int) (status int, body string)
}

func newTestGateway(tb testing.TB, answer func(id int64, attempt int) (int, string)) *testGateway {
	tb.Helper()
	g := &testGateway{answer: answer}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c := call{body: body, signature: r.Header.Get(gateway.SignatureHeader), header: r.Header.Clone()}
		json.Unmarshal(body, &c.message)
		id, _ := c.message["id"].(float64)
		g.mu.Lock()
		g.calls = append(g.calls, c)
		attempt := 0
		for _, earlier := range g.calls {
			if earlier.message["id"] == c.message["id"] {
				attempt++
			}
		}
		g.mu.Unlock()
		status, answer := http.StatusOK, `{"accepted":true}`
		if g.answer != nil {
			status, answer = g.answer(int64(id), attempt)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	tb.Cleanup(g.Close)
	return g
}

// Calls returns the calls received so far.
func (g *testGateway) Calls() []call {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]call(nil), g.calls...)
}

// callsFor counts the calls received for each message id.
func (g *testGateway) callsFor() map[int64]int {
	got := map[int64]int{}
	for _, c := range g.Calls() {
		id, _ := c.message["id"].(float64)
		got[int64(id)]++
	}
	return got
}

func (g *testGateway) webhook(tb testing.TB) *gateway.Webhook {
	tb.Helper()
	w, err := gateway.NewWebhook(g.URL, secret)
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

// quiet is a logger for workers whose log the test does not read.
func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// slogTo is a text logger writing to b, guarded by mu.
func slogTo(b *bytes.Buffer, mu *sync.Mutex) *slog.Logger {
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
