package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard"
	"switchboard/gateway"
	"switchboard/store"
	"switchboard/store/storetest"
)

const testGatewaySecret = "a gateway secret for the tests"

// startMainFlags runs Main on port 0 with the database db and more flags.
func startMainFlags(t *testing.T, db string, out io.Writer, flags ...string) *Main {
	t.Helper()
	m := NewMain()
	m.Stdout = out
	if err := m.ParseFlags(append([]string{"--addr", "127.0.0.1:0", "--db", db}, flags...), func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(t.Context()); err != nil {
		m.Close()
		t.Fatalf("Run: %v", err)
	}
	return m
}

// queueDeliverySend creates an organisation on db, funds it, and queues a message
// to each number, as Send SMS does; it returns the messages' ids.
func queueDeliverySend(t *testing.T, db *store.DB, dsn string, numbers ...string) []int64 {
	t.Helper()
	ctx := context.Background()
	p := &switchboard.Profile{Email: fmt.Sprintf("owner%d@example.com", time.Now().UnixNano()), FirstName: "Ada", LastName: "Lovelace"}
	org := &switchboard.Organisation{Name: "Acme"}
	if err := db.CreateProfileWithOrganisation(ctx, p, "hash", org); err != nil {
		t.Fatal(err)
	}
	raw := storetest.OpenRaw(t, dsn)
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

func messageStatusOf(t *testing.T, dsn string, id int64) string {
	t.Helper()
	var s string
	if err := storetest.OpenRaw(t, dsn).QueryRowContext(context.Background(), `SELECT status FROM messages WHERE id = ?`, id).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func waitForDelivery(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// deliveryWebhook is an SMS provider in the test: it counts the calls for
// each message id that it accepted, and answers with answer, which is
// given the path called and the message's id.
type deliveryWebhook struct {
	*httptest.Server
	mu     sync.Mutex
	calls  map[int64]int
	bad    int // calls whose signature did not verify
	answer func(path string, id int64) int
}

func newDeliveryWebhook(t *testing.T, answer func(path string, id int64) int) *deliveryWebhook {
	w := &deliveryWebhook{calls: map[int64]int{}, answer: answer}
	w.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m struct{ ID int64 }
		json.Unmarshal(body, &m)
		status := http.StatusOK
		if w.answer != nil {
			status = w.answer(r.URL.Path, m.ID)
		}
		w.mu.Lock()
		if !gateway.Verify(body, r.Header.Get(gateway.SignatureHeader), testGatewaySecret) {
			w.bad++
		}
		if status < 300 {
			w.calls[m.ID]++
		}
		w.mu.Unlock()
		rw.WriteHeader(status)
	}))
	t.Cleanup(w.Close)
	return w
}

func (w *deliveryWebhook) accepted(id int64) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls[id]
}

// TestMainDeliversThroughTheWebhook: Main with --gateway URL sends a queued
// message to the webhook, signed, and takes the delivery report back.
func TestMainDeliversThroughTheWebhook(t *testing.T) {
	db := filepath.Join(t.TempDir(), "sb.db")
	hook := newDeliveryWebhook(t, nil)
	m := startMainFlags(t, db, io.Discard, "--gateway", hook.URL, "--gateway-secret", testGatewaySecret)
	defer m.Close()
	ids := queueDeliverySend(t, m.DB, db, "+37255500001")
	m.Deliveries.Notify()
	waitForDelivery(t, "the message is sent", func() bool { return messageStatusOf(t, db, ids[0]) == "sent" })
	if hook.accepted(ids[0]) != 1 || hook.bad != 0 {
		t.Fatalf("the webhook took message %d %d times (%d badly signed)", ids[0], hook.accepted(ids[0]), hook.bad)
	}

	body, _ := json.Marshal(map[string]any{"id": ids[0], "status": "delivered"})
	req, _ := http.NewRequest(http.MethodPost, m.URL()+"/gateway/reports", bytes.NewReader(body))
	req.Header.Set(gateway.SignatureHeader, gateway.Sign(body, testGatewaySecret))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || messageStatusOf(t, db, ids[0]) != "delivered" {
		t.Fatalf("report answered %d; message %s", res.StatusCode, messageStatusOf(t, db, ids[0]))
	}
}

// TestMainLogGatewayDelivers: by default messages are written to the log
// and Delivered.
func TestMainLogGatewayDelivers(t *testing.T) {
	db := filepath.Join(t.TempDir(), "sb.db")
	var out syncBuffer
	m := startMainFlags(t, db, &out)
	defer m.Close()
	ids := queueDeliverySend(t, m.DB, db, "+37255500001")
	m.Deliveries.Notify()
	waitForDelivery(t, "the message is delivered", func() bool { return messageStatusOf(t, db, ids[0]) == "delivered" })
	m.Close()
	if !strings.Contains(out.String(), `"to":"+37255500001"`) || !strings.Contains(out.String(), `"gateway":"log"`) {
		t.Errorf("the log does not show the message and the gateway:\n%s", out.String())
	}
}

// TestMainRestartDeliversEachOnce stops Main while the gateway holds its
// calls with messages queued, and starts it again: every message reaches
// the gateway exactly once, on both engines.
func TestMainRestartDeliversEachOnce(t *testing.T) {
	engines := map[string]func(t *testing.T) string{
		"SQLite":     func(t *testing.T) string { return filepath.Join(t.TempDir(), "sb.db") },
		"PostgreSQL": func(t *testing.T) string { return storetest.PostgresDSN(t) },
	}
	for name, dsn := range engines {
		t.Run(name, func(t *testing.T) {
			db := dsn(t)
			// The two processes call the gateway at two paths. The first
			// process's calls hang until the test ends and are never
			// accepted, even if the gateway reads one only after that
			// process cut it (a busy machine's server may read a request
			// from its socket late): a real gateway can take such a call
			// too, and tells the retry apart by the message's id.
			var hanging sync.WaitGroup
			hanging.Add(1)
			release := make(chan struct{})
			var once sync.Once
			hook := newDeliveryWebhook(t, func(path string, _ int64) int {
				if path == "/first" {
					once.Do(hanging.Done)
					<-release
					return http.StatusServiceUnavailable
				}
				return http.StatusOK
			})
			defer close(release)

			first := startMainFlags(t, db, io.Discard, "--gateway", hook.URL+"/first", "--gateway-secret", testGatewaySecret)
			numbers := make([]string, 50)
			for i := range numbers {
				numbers[i] = fmt.Sprintf("+3725550%04d", i)
			}
			ids := queueDeliverySend(t, first.DB, db, numbers...)
			first.Deliveries.Notify()
			hanging.Wait()
			stopped := make(chan error, 1)
			go func() { stopped <- first.Close() }()
			select {
			case err := <-stopped:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("Close did not return while the gateway hung")
			}
			raw := storetest.OpenRaw(t, db)
			var claimed, tried int
			raw.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM message_queue WHERE claimed_until IS NOT NULL`).Scan(&claimed)
			raw.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM message_queue WHERE attempts > 0`).Scan(&tried)
			if claimed != 0 || tried != 0 {
				t.Fatalf("after the stop %d messages are still claimed and %d counted as tried; want all given back", claimed, tried)
			}

			second := startMainFlags(t, db, io.Discard, "--gateway", hook.URL+"/second", "--gateway-secret", testGatewaySecret)
			defer second.Close()
			second.Deliveries.Notify()
			waitForDelivery(t, "every message is sent", func() bool {
				var left int
				raw.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM message_queue`).Scan(&left)
				return left == 0
			})
			for _, id := range ids {
				if n := hook.accepted(id); n != 1 {
					t.Errorf("message %d accepted %d times, want 1", id, n)
				}
				if s := messageStatusOf(t, db, id); s != "sent" {
					t.Errorf("message %d is %s", id, s)
				}
			}
		})
	}
}
