package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard"
	"switchboard/gateway"
	"switchboard/store"
)

// TestWebhookSignedJSONOncePerRecipient: each recipient's message arrives
// once, as exactly PRODUCT.md's JSON, signed; the messages are then Sent.
func TestWebhookSignedJSONOncePerRecipient(t *testing.T) {
	p := newPanel(t)
	to := []string{"+37255500001", "+37255500002", "+37255500003"}
	ids := p.queue(t, 500, to...)
	g := newTestGateway(t, nil)
	w := gateway.NewWorker(p.db, g.webhook(t), quiet())
	if n, err := w.Flush(ctx); n != 3 || err != nil {
		t.Fatalf("Flush = %d, %v; want 3 accepted", n, err)
	}

	calls := g.Calls()
	if len(calls) != 3 {
		t.Fatalf("%d calls, want 3", len(calls))
	}
	for _, c := range calls {
		if !gateway.Verify(c.body, c.signature, secret) {
			t.Errorf("signature %q does not verify for %s", c.signature, c.body)
		}
		if c.signature != gateway.Sign(c.body, secret) || !strings.HasPrefix(c.signature, "sha256=") {
			t.Errorf("signature %q is not sha256=<hex HMAC>", c.signature)
		}
		if ct := c.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		var keys []string
		for k := range c.message {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if want := []string{"encoding", "from", "id", "parts", "text", "to"}; !slices.Equal(keys, want) {
			t.Errorf("JSON keys %v, want %v", keys, want)
		}
		// The id is a JSON number.
		if !bytes.Contains(c.body, []byte(`"id":`)) || bytes.Contains(c.body, []byte(`"id":"`)) {
			t.Errorf("id is not a number: %s", c.body)
		}
	}
	byID := g.callsFor()
	for i, id := range ids {
		if byID[id] != 1 {
			t.Errorf("message %d reached the gateway %d times, want 1", id, byID[id])
		}
		want := map[string]any{"id": float64(id), "from": "Acme", "to": to[i], "text": "Hello " + to[i], "encoding": "GSM-7", "parts": float64(1)}
		for _, c := range calls {
			if c.message["id"] == float64(id) {
				for k, v := range want {
					if c.message[k] != v {
						t.Errorf("message %d: %s = %v, want %v", id, k, c.message[k], v)
					}
				}
			}
		}
		if m := p.message(t, id); m.status != "sent" || m.sentAt == nil || m.refunded {
			t.Errorf("message %d after a 200: %+v, want sent", id, m)
		}
	}
	if n := p.count(t, `SELECT COUNT(*) FROM message_queue`); n != 0 {
		t.Errorf("%d messages left in the queue", n)
	}
	// Nothing is sent twice.
	if n, err := w.Flush(ctx); n != 0 || err != nil || len(g.Calls()) != 3 {
		t.Errorf("a second Flush sent %d (%v), calls now %d", n, err, len(g.Calls()))
	}
}

// TestWebhookOutageThenAccepted: a 503, then a 200 for the same message:
// retried later with the same id, accepted once.
func TestWebhookOutageThenAccepted(t *testing.T) {
	p := newPanel(t)
	ids := p.queue(t, 500, "+37255500001")
	g := newTestGateway(t, func(id int64, attempt int) (int, string) {
		if attempt == 1 {
			return http.StatusServiceUnavailable, "down for maintenance"
		}
		return http.StatusOK, "{}"
	})
	w := gateway.NewWorker(p.db, g.webhook(t), quiet())
	now := time.Now()
	w.Now = func() time.Time { return now }

	if n, err := w.Flush(ctx); n != 0 || err != nil {
		t.Fatalf("first Flush = %d, %v; want the outage recorded, nothing accepted", n, err)
	}
	if m := p.message(t, ids[0]); m.status != "queued" || m.refunded {
		t.Fatalf("after a 503 the message is %+v, want still queued", m)
	}
	var attempts int
	var next int64
	var lastError string
	if err := p.raw.QueryRowContext(ctx, `SELECT attempts, next_attempt_at, last_error FROM message_queue WHERE message_id = ?`, ids[0]).Scan(&attempts, &next, &lastError); err != nil {
		t.Fatal(err)
	}
	wait := time.UnixMilli(next).Sub(now)
	if attempts != 1 || wait < gateway.BackoffMin || wait > gateway.BackoffMin*11/10+time.Millisecond || !strings.Contains(lastError, "503") {
		t.Errorf("after a 503: attempts %d, next in %s, last error %q; want 1, about %s, the 503", attempts, wait, lastError, gateway.BackoffMin)
	}
	// Not due yet: nothing is sent.
	if n, _ := w.Flush(ctx); n != 0 || len(g.Calls()) != 1 {
		t.Fatalf("a Flush before the retry is due sent %d", len(g.Calls())-1)
	}
	now = now.Add(gateway.BackoffMax)
	if n, err := w.Flush(ctx); n != 1 || err != nil {
		t.Fatalf("Flush once due = %d, %v; want the message accepted", n, err)
	}
	calls := g.Calls()
	if len(calls) != 2 || !bytes.Equal(calls[0].body, calls[1].body) {
		t.Fatalf("calls: %d; want the same body twice (the same id)", len(calls))
	}
	if m := p.message(t, ids[0]); m.status != "sent" || m.refunded {
		t.Errorf("after the 200 the message is %+v, want sent, not refunded", m)
	}
	if b, _ := p.db.Balance(ctx, p.org); b != 0 {
		t.Errorf("balance %d, want 0: an outage refunds nothing", b)
	}
	if n, _ := w.Flush(ctx); n != 0 || len(g.Calls()) != 2 {
		t.Errorf("sent again after it was accepted")
	}
}

// TestWebhookRefusalFailsAndRefunds: a 400 fails the message with the
// gateway's reason and refunds it exactly once.
func TestWebhookRefusalFailsAndRefunds(t *testing.T) {
	p := newPanel(t)
	ids := p.queue(t, 700, "+37255500001", "+37255500002")
	g := newTestGateway(t, func(id int64, attempt int) (int, string) {
		if attempt > 1 {
			t.Errorf("message %d sent %d times", id, attempt)
		}
		return http.StatusBadRequest, `{"error": "the number +37255500001 is not a mobile number"}`
	})
	w := gateway.NewWorker(p.db, g.webhook(t), quiet())
	for range 3 {
		if _, err := w.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range ids {
		m := p.message(t, id)
		if m.status != "failed" || !m.refunded || m.reason != "The gateway refused this message: the number +37255500001 is not a mobile number" {
			t.Errorf("message %d after a 400: %+v", id, m)
		}
		if n := p.count(t, `SELECT COUNT(*) FROM ledger WHERE kind = 'refund' AND message_id = ? AND amount = 700`, id); n != 1 {
			t.Errorf("message %d has %d refund lines, want 1", id, n)
		}
	}
	if b, _ := p.db.Balance(ctx, p.org); b != 1400 {
		t.Errorf("balance %d, want the 1400 back", b)
	}
	if n := p.count(t, `SELECT refunded FROM usage_daily WHERE org_id = ?`, p.org); n != 1400 {
		t.Errorf("usage refunded %d, want 1400", n)
	}
	if n := p.count(t, `SELECT COUNT(*) FROM message_queue`); n != 0 {
		t.Errorf("%d refused messages still queued", n)
	}
	if len(g.Calls()) != 2 {
		t.Errorf("%d calls, want 2", len(g.Calls()))
	}
}

// TestWebhookAnswers: what each kind of answer, or its absence, does.
func TestWebhookAnswers(t *testing.T) {
	m := &gateway.Message{ID: 7, From: "Acme", To: "+37255500001", Text: "Hi", Encoding: switchboard.GSM7, Parts: 1}
	answer := func(status int, body string) *testGateway {
		return newTestGateway(t, func(int64, int) (int, string) { return status, body })
	}
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		refused string // the reason, when refused for good
		sent    bool
	}{
		{"200", 200, "", "", true},
		{"202", 202, "", "", true},
		{"204", 204, "", "", true},
		{"400 with a JSON error", 400, `{"error":"bad number"}`, "bad number", false},
		{"403 with a JSON message", 403, `{"message":"sender name not allowed"}`, "sender name not allowed", false},
		{"404 with text", 404, "no such route\n", "no such route", false},
		{"422 with nothing", 422, "", "the gateway answered 422 Unprocessable Entity", false},
		{"410 with HTML", 410, "<html><body>Gone</body></html>", "the gateway answered 410 Gone", false},
		{"400 with control characters", 400, "bad\x1b[31m \u202enumber", "bad [31m number", false},
		{"429 asks to come back later", 429, "slow down", "", false},
		{"408 asks to come back later", 408, "", "", false},
		{"500", 500, "", "", false},
		{"503", 503, "", "", false},
		{"302 is not followed", 302, "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := answer(tc.status, tc.body)
			status, err := g.webhook(t).Send(ctx, m)
			reason, refused := gateway.Refused(err)
			switch {
			case tc.sent:
				if err != nil || status != switchboard.StatusSent {
					t.Errorf("Send = %s, %v; want sent", status, err)
				}
			case tc.refused != "":
				if !refused || reason != tc.refused {
					t.Errorf("Send = %v; want refused for good with %q", err, tc.refused)
				}
			default:
				if err == nil || refused {
					t.Errorf("Send = %s, %v; want an outage", status, err)
				}
			}
		})
	}

	t.Run("a timeout", func(t *testing.T) {
		release := make(chan struct{})
		slow := newTestGateway(t, func(int64, int) (int, string) { <-release; return 200, "" })
		defer close(release)
		w := slow.webhook(t)
		w.Timeout = 100 * time.Millisecond
		_, err := w.Send(ctx, m)
		if _, refused := gateway.Refused(err); err == nil || refused || !strings.Contains(err.Error(), "did not answer within 100ms") {
			t.Errorf("Send to a gateway that does not answer = %v; want an outage saying so", err)
		}
	})
	t.Run("a refused connection", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		w, err := gateway.NewWebhook("http://"+addr+"/sms?key=the-providers-key", secret)
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.Send(ctx, m)
		if _, refused := gateway.Refused(err); err == nil || refused || !strings.Contains(err.Error(), "refused the connection") {
			t.Errorf("Send to a closed port = %v; want an outage saying so", err)
		}
		// The error reaches the log and the queue: never the URL's key.
		if strings.Contains(err.Error(), "the-providers-key") || strings.Contains(fmt.Sprint(w), "the-providers-key") {
			t.Errorf("the error or the gateway's name shows the key in the URL: %v, %v", err, w)
		}
	})
	t.Run("a connection closed without an answer", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		}))
		defer srv.Close()
		w, err := gateway.NewWebhook(srv.URL+"/sms?key=the-providers-key", secret)
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.Send(ctx, m)
		if _, refused := gateway.Refused(err); err == nil || refused {
			t.Fatalf("Send = %v; want an outage", err)
		}
		if strings.Contains(err.Error(), "the-providers-key") {
			t.Errorf("the error shows the key in the URL: %v", err)
		}
	})
	t.Run("a name that does not resolve", func(t *testing.T) {
		w, err := gateway.NewWebhook("http://gateway.invalid/sms", secret)
		if err != nil {
			t.Fatal(err)
		}
		w.Timeout = 2 * time.Second
		_, err = w.Send(ctx, m)
		if _, refused := gateway.Refused(err); err == nil || refused {
			t.Errorf("Send to a name that does not resolve = %v; want an outage", err)
		}
	})
	t.Run("a bad address or no secret", func(t *testing.T) {
		for _, u := range []string{"ftp://gateway.example/", "gateway.example", "http://"} {
			if _, err := gateway.NewWebhook(u, secret); err == nil {
				t.Errorf("NewWebhook(%q) took it", u)
			}
		}
		if _, err := gateway.NewWebhook("https://gateway.example/sms", ""); err == nil {
			t.Error("NewWebhook without a secret took it")
		}
	})
}

// TestSignAndVerify: the signature of PRODUCT.md, and what Verify refuses.
func TestSignAndVerify(t *testing.T) {
	body := []byte(`{"id":42,"status":"delivered","error":""}`)
	// RFC 4231, test case 2.
	if got, want := gateway.Sign([]byte("what do ya want for nothing?"), "Jefe"), "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"; got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
	sig := gateway.Sign(body, secret)
	if !gateway.Verify(body, sig, secret) || !gateway.Verify(body, " "+sig+" ", secret) {
		t.Error("Verify refuses Sign's own signature")
	}
	tampered := bytes.Replace(body, []byte("delivered"), []byte("failed"), 1)
	for name, tc := range map[string]struct {
		body      []byte
		header    string
		secret    string
		verifying bool
	}{
		"no header":          {body, "", secret, false},
		"no prefix":          {body, strings.TrimPrefix(sig, "sha256="), secret, false},
		"another algorithm":  {body, "sha1=" + strings.TrimPrefix(sig, "sha256="), secret, false},
		"not hex":            {body, "sha256=zz", secret, false},
		"cut short":          {body, sig[:len(sig)-2], secret, false},
		"another secret":     {body, gateway.Sign(body, "another secret of some length"), secret, false},
		"another body":       {tampered, sig, secret, false},
		"no secret set":      {body, gateway.Sign(body, ""), "", false},
		"upper-case hex too": {body, "sha256=" + strings.ToUpper(strings.TrimPrefix(sig, "sha256=")), secret, true},
	} {
		if got := gateway.Verify(tc.body, tc.header, tc.secret); got != tc.verifying {
			t.Errorf("%s: Verify = %v, want %v", name, got, tc.verifying)
		}
	}
}

// TestLogGatewayMarksDelivered: the default gateway writes each message to
// the log and the message is Delivered at once.
func TestLogGatewayMarksDelivered(t *testing.T) {
	p := newPanel(t)
	ids := p.queue(t, 500, "+37255500001", "+37255500002")
	var log bytes.Buffer
	var mu sync.Mutex
	logger := slogTo(&log, &mu)
	w := gateway.NewWorker(p.db, gateway.Log{Logger: logger}, quiet())
	if n, err := w.Flush(ctx); n != 2 || err != nil {
		t.Fatalf("Flush = %d, %v", n, err)
	}
	for _, id := range ids {
		if m := p.message(t, id); m.status != "delivered" || m.sentAt == nil {
			t.Errorf("message %d: %+v, want delivered", id, m)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{"+37255500001", "+37255500002", "Hello +37255500001", fmt.Sprintf("id=%d", ids[0])} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the log does not hold %q:\n%s", want, log.String())
		}
	}
}

// TestGiveUpAfterALongOutage: a message still meeting an outage 48 hours
// after it was queued fails and is refunded.
func TestGiveUpAfterALongOutage(t *testing.T) {
	p := newPanel(t)
	ids := p.queue(t, 500, "+37255500001")
	g := newTestGateway(t, func(int64, int) (int, string) { return http.StatusBadGateway, "" })
	w := gateway.NewWorker(p.db, g.webhook(t), quiet())
	now := time.Now()
	w.Now = func() time.Time { return now }
	w.Flush(ctx)
	if m := p.message(t, ids[0]); m.status != "queued" {
		t.Fatalf("after one outage: %+v", m)
	}
	now = now.Add(gateway.GiveUpAfter)
	w.Flush(ctx)
	m := p.message(t, ids[0])
	if m.status != "failed" || !m.refunded || m.reason != "The gateway could not be reached for 48 hours; the message was not sent." {
		t.Errorf("after 48 hours of outage: %+v", m)
	}
	if b, _ := p.db.Balance(ctx, p.org); b != 500 {
		t.Errorf("balance %d, want 500 back", b)
	}
	if len(g.Calls()) != 2 {
		t.Errorf("%d calls, want 2", len(g.Calls()))
	}
}

// TestDefaultBackoff: 10 s doubling, capped at an hour, with a little
// jitter.
func TestDefaultBackoff(t *testing.T) {
	for attempts, want := range map[int]time.Duration{0: 10 * time.Second, 1: 10 * time.Second, 2: 20 * time.Second, 3: 40 * time.Second,
		9: 2560 * time.Second, 10: time.Hour, 30: time.Hour, 1000: time.Hour} {
		got := gateway.DefaultBackoff(attempts)
		if got < want || got > want+want/10 {
			t.Errorf("DefaultBackoff(%d) = %s, want %s to %s", attempts, got, want, want+want/10)
		}
	}
}

// TestRestartDeliversEachOnce: a worker stopped while its calls hang gives
// its messages back untried; the next process's worker delivers each
// exactly once.
func TestRestartDeliversEachOnce(t *testing.T) {
	p := newPanel(t)
	const n = 40
	ids := p.queue(t, 100, numbers(n)...)
	hang := make(chan struct{})
	var hung sync.WaitGroup
	hung.Add(4)
	var mu sync.Mutex
	accepted := map[int64]int{}
	g := newTestGateway(t, func(id int64, attempt int) (int, string) {
		select {
		case <-hang: // the first process is gone
		default:
			hung.Done()
			<-hang
			// Its caller hung up long ago: this answer reaches no one.
			return http.StatusOK, ""
		}
		mu.Lock()
		accepted[id]++
		mu.Unlock()
		return http.StatusOK, ""
	})

	first := gateway.NewWorker(p.db, g.webhook(t), quiet())
	first.Concurrency = 4
	run, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { first.Run(run); close(done) }()
	hung.Wait() // four calls under way, none answered
	stop()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	close(hang)
	if c := p.count(t, `SELECT COUNT(*) FROM message_queue WHERE claimed_until IS NOT NULL OR attempts > 0`); c != 0 {
		t.Fatalf("%d messages still claimed or counted as tried after the stop", c)
	}

	// The next process, on a handle of its own.
	other, err := store.Open(ctx, p.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	second := gateway.NewWorker(other, g.webhook(t), quiet())
	if got, err := second.Flush(ctx); got != n || err != nil {
		t.Fatalf("Flush after the restart = %d, %v; want all %d", got, err, n)
	}
	for _, id := range ids {
		if accepted[id] != 1 {
			t.Errorf("message %d accepted %d times", id, accepted[id])
		}
		if m := p.message(t, id); m.status != "sent" {
			t.Errorf("message %d is %s", id, m.status)
		}
	}
}

// TestMessageOfADeadProcessIsSentByAnother: a process claimed messages and
// died before sending them; another process's worker leaves them alone
// during the lease and sends each once after it.
func TestMessageOfADeadProcessIsSentByAnother(t *testing.T) {
	p := newPanel(t)
	ids := p.queue(t, 100, "+37255500001", "+37255500002")
	if claimed, err := p.db.ClaimMessages(ctx, time.Now(), 10); err != nil || len(claimed) != 2 {
		t.Fatalf("the dead process's claim: %d, %v", len(claimed), err)
	}
	g := newTestGateway(t, nil)
	w := gateway.NewWorker(p.db, g.webhook(t), quiet())
	if n, err := w.Flush(ctx); n != 0 || err != nil || len(g.Calls()) != 0 {
		t.Fatalf("Flush during the lease = %d, %v; want nothing sent", n, err)
	}
	w.Now = func() time.Time { return time.Now().Add(store.MessageLease + time.Second) }
	if n, err := w.Flush(ctx); n != 2 || err != nil {
		t.Fatalf("Flush after the lease = %d, %v; want both sent", n, err)
	}
	for id, times := range g.callsFor() {
		if times != 1 || !slices.Contains(ids, id) {
			t.Errorf("message %d sent %d times", id, times)
		}
	}
}

// TestTwoWorkersNeverSendTwice runs two workers, each on its own handle of
// one database as two processes would, over 300 queued messages: every
// message reaches the gateway exactly once.
func TestTwoWorkersNeverSendTwice(t *testing.T) {
	p := newPanel(t)
	const n = 300
	ids := p.queue(t, 100, numbers(n)...)
	other, err := store.Open(ctx, p.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	g := newTestGateway(t, nil)
	run, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	workers := []*gateway.Worker{gateway.NewWorker(p.db, g.webhook(t), quiet()), gateway.NewWorker(other, g.webhook(t), quiet())}
	for _, w := range workers {
		w.Concurrency = 8
		wg.Go(func() { w.Run(run) })
	}
	deadline := time.Now().Add(60 * time.Second)
	for p.count(t, `SELECT COUNT(*) FROM message_queue`) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	wg.Wait()
	byID := g.callsFor()
	for _, id := range ids {
		if byID[id] != 1 {
			t.Errorf("message %d reached the gateway %d times, want 1", id, byID[id])
		}
	}
	if len(g.Calls()) != n {
		t.Errorf("%d calls, want %d", len(g.Calls()), n)
	}
	if c := p.count(t, `SELECT COUNT(*) FROM messages WHERE status = 'sent'`); c != n {
		t.Errorf("%d messages sent, want %d", c, n)
	}
}

// TestRunSendsOnNotify: a running worker sends what was queued as soon as
// it is told, without waiting for its idle check.
func TestRunSendsOnNotify(t *testing.T) {
	p := newPanel(t)
	g := newTestGateway(t, nil)
	w := gateway.NewWorker(p.db, g.webhook(t), quiet())
	run, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { w.Run(run); close(done) }()
	defer func() { stop(); <-done }()
	time.Sleep(50 * time.Millisecond) // asleep, with nothing queued
	ids := p.queue(t, 100, "+37255500001")
	w.Notify()
	deadline := time.Now().Add(20 * time.Second)
	for p.message(t, ids[0]).status != "sent" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if m := p.message(t, ids[0]); m.status != "sent" {
		t.Fatalf("message %+v, want sent after Notify", m)
	}
	var nilWorker *gateway.Worker
	nilWorker.Notify() // does nothing, does not panic
}

// TestFlushTriesEachMessageOnce: with no wait between attempts, a message
// that meets an outage is due again at once, yet one Flush tries it once.
func TestFlushTriesEachMessageOnce(t *testing.T) {
	p := newPanel(t)
	ids := p.queue(t, 100, numbers(5)...)
	g := newTestGateway(t, func(int64, int) (int, string) { return http.StatusServiceUnavailable, "" })
	w := gateway.NewWorker(p.db, g.webhook(t), quiet())
	w.Backoff = func(int) time.Duration { return 0 }
	w.Concurrency = 2
	now := time.Now()
	w.Now = func() time.Time { return now }
	if n, err := w.Flush(ctx); n != 0 || err != nil {
		t.Fatalf("Flush = %d, %v", n, err)
	}
	for _, id := range ids {
		if c := g.callsFor()[id]; c != 1 {
			t.Errorf("message %d tried %d times in one Flush, want 1", id, c)
		}
	}
	if c := p.count(t, `SELECT COUNT(*) FROM message_queue WHERE attempts = 1 AND claimed_until IS NULL`); c != len(ids) {
		t.Errorf("%d messages with one attempt and no claim, want %d", c, len(ids))
	}
	// The next Flush, a second later, tries them again.
	now = now.Add(time.Second)
	w.Flush(ctx)
	if c := len(g.Calls()); c != 2*len(ids) {
		t.Errorf("%d calls after two Flushes, want %d", c, 2*len(ids))
	}
}

// greedyQueue is the real store, claiming more messages than the Worker
// asks for, as a query planned badly could.
type greedyQueue struct{ *store.DB }

func (q greedyQueue) ClaimMessages(ctx context.Context, now time.Time, limit int) ([]switchboard.Delivery, error) {
	return q.DB.ClaimMessages(ctx, now, limit+3)
}

// TestClaimBeyondTheSlotsIsGivenBack: messages claimed beyond the free
// slots are given back, not sent without a slot (which would leave the
// Worker waiting for slots that never come back); each is still sent once.
func TestClaimBeyondTheSlotsIsGivenBack(t *testing.T) {
	p := newPanel(t)
	ids := p.queue(t, 100, numbers(10)...)
	g := newTestGateway(t, nil)
	w := gateway.NewWorker(greedyQueue{p.db}, g.webhook(t), quiet())
	w.Concurrency = 2
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 3 {
			w.Flush(ctx)
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Flush hung") // an upper bound for a hang, not a speed test
	}
	for _, id := range ids {
		if c := g.callsFor()[id]; c != 1 {
			t.Errorf("message %d sent %d times, want 1", id, c)
		}
	}
}
