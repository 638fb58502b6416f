package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"switchboard"
	"switchboard/gateway"
	"switchboard/handlers"
	"switchboard/store"
)

const gatewaySecret = "the gateway secret of the tests"

// newGatewayApp is the real server with --gateway-secret set (secret may
// be empty: no secret configured).
func newGatewayApp(t testing.TB, secret string) *app {
	t.Helper()
	return newAppConfig(t, handlers.Config{BaseURL: mustURL(testBaseURL), GatewaySecret: secret, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// queueFromSender funds the person's organisation and queues one message of price
// to each number from sender, as Send SMS does; it returns their ids.
func (a *app) queueFromSender(p *person, sender string, price switchboard.Money, numbers ...string) []int64 {
	a.t.Helper()
	ctx := context.Background()
	raw := a.raw()
	if _, err := raw.ExecContext(ctx, `UPDATE organisations SET balance = balance + ? WHERE id = ?`, int64(price)*int64(len(numbers)), p.org); err != nil {
		a.t.Fatal(err)
	}
	b := store.Batch{OrgID: p.org, Actor: switchboard.Actor{ProfileID: p.profile}, Currency: "EUR", Description: "test"}
	for _, n := range numbers {
		b.Messages = append(b.Messages, switchboard.Message{From: sender, To: n, Text: "Hello", Encoding: switchboard.GSM7, Parts: 1, Price: price})
	}
	batch, err := a.db.QueueMessages(ctx, b)
	if err != nil {
		a.t.Fatal(err)
	}
	ids := make([]int64, len(numbers))
	for i, n := range numbers {
		if err := raw.QueryRowContext(ctx, `SELECT id FROM messages WHERE batch_id = ? AND recipient = ?`, batch, n).Scan(&ids[i]); err != nil {
			a.t.Fatal(err)
		}
	}
	return ids
}

// gatewayCall POSTs body to path as the gateway would, with signature as the
// X-Switchboard-Signature header (none when empty).
func (a *app) gatewayCall(path string, body []byte, signature string) *response {
	a.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, a.ts.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if signature != "" {
		req.Header.Set(gateway.SignatureHeader, signature)
	}
	return a.client().do(req)
}

// gatewaySigned POSTs v as JSON to path, signed with the tests' secret.
func (a *app) gatewaySigned(path string, v any) *response {
	a.t.Helper()
	body, err := json.Marshal(v)
	if err != nil {
		a.t.Fatal(err)
	}
	return a.gatewayCall(path, body, gateway.Sign(body, gatewaySecret))
}

type gatewayMessage struct {
	status, reason string
	refunded       bool
}

func (a *app) gatewayMessage(id int64) gatewayMessage {
	a.t.Helper()
	var m gatewayMessage
	if err := a.raw().QueryRowContext(context.Background(), `SELECT status, error, refunded FROM messages WHERE id = ?`, id).Scan(&m.status, &m.reason, &m.refunded); err != nil {
		a.t.Fatal(err)
	}
	return m
}

func (a *app) gatewayCount(q string, args ...any) int {
	a.t.Helper()
	var n int
	if err := a.raw().QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		a.t.Fatalf("%s: %v", q, err)
	}
	return n
}

func wantJSONField(t testing.TB, res *response, key, value string) {
	t.Helper()
	var got map[string]any
	if err := json.Unmarshal([]byte(res.body), &got); err != nil {
		t.Fatalf("answer is not JSON (%d): %s", res.status, res.body)
	}
	if fmt.Sprint(got[key]) != value {
		t.Errorf("answer's %s = %v, want %s (%s)", key, got[key], value, res.body)
	}
}

// TestGatewayReports: delivery reports move a message forward, refund a
// failed one exactly once, and say what is wrong with a bad one.
func TestGatewayReports(t *testing.T) {
	a := newGatewayApp(t, gatewaySecret)
	p := a.signup("ada@example.com", "Acme")
	ids := a.queueFromSender(p, "Acme", 500, "+37255500001", "+37255500002", "+37255500003", "+37255500004")
	ctx := context.Background()
	if err := a.db.RecordDeliveries(ctx, []switchboard.DeliveryOutcome{{MessageID: ids[0], Status: switchboard.StatusSent}, {MessageID: ids[1], Status: switchboard.StatusSent}}); err != nil {
		t.Fatal(err)
	}

	t.Run("delivered", func(t *testing.T) {
		res := a.gatewaySigned("/gateway/reports", map[string]any{"id": ids[0], "status": "delivered"})
		wantStatus(t, res, http.StatusOK)
		wantJSONField(t, res, "status", "delivered")
		if m := a.gatewayMessage(ids[0]); m.status != "delivered" || m.refunded {
			t.Errorf("message after a delivery report: %+v", m)
		}
		// A late failure changes nothing.
		res = a.gatewaySigned("/gateway/reports", map[string]any{"id": ids[0], "status": "failed", "error": "late"})
		wantStatus(t, res, http.StatusOK)
		wantJSONField(t, res, "status", "delivered")
		if m := a.gatewayMessage(ids[0]); m.status != "delivered" || m.refunded {
			t.Errorf("a delivered message after a failure report: %+v", m)
		}
	})
	t.Run("failed, twice", func(t *testing.T) {
		for range 2 {
			res := a.gatewaySigned("/gateway/reports", map[string]any{"id": fmt.Sprint(ids[1]), "status": "failed", "error": "absent subscriber"})
			wantStatus(t, res, http.StatusOK)
			wantJSONField(t, res, "status", "failed")
		}
		m := a.gatewayMessage(ids[1])
		if m.status != "failed" || !m.refunded || m.reason != "The gateway reported that the message could not be delivered: absent subscriber" {
			t.Errorf("message after two failure reports: %+v", m)
		}
		if n := a.gatewayCount(`SELECT COUNT(*) FROM ledger WHERE kind = 'refund' AND message_id = ?`, ids[1]); n != 1 {
			t.Errorf("%d refund lines, want 1", n)
		}
	})
	t.Run("failed, ten at once", func(t *testing.T) {
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				body, _ := json.Marshal(map[string]any{"id": ids[2], "status": "failed"})
				req, _ := http.NewRequest(http.MethodPost, a.ts.URL+"/gateway/reports", bytes.NewReader(body))
				req.Header.Set(gateway.SignatureHeader, gateway.Sign(body, gatewaySecret))
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					t.Errorf("status %d", res.StatusCode)
				}
			})
		}
		wg.Wait()
		if n := a.gatewayCount(`SELECT COUNT(*) FROM ledger WHERE kind = 'refund' AND message_id = ?`, ids[2]); n != 1 {
			t.Errorf("%d refund lines after ten reports at once, want 1", n)
		}
		if m := a.gatewayMessage(ids[2]); m.reason != "The gateway reported that the message could not be delivered." {
			t.Errorf("reason without an error: %q", m.reason)
		}
		if b, _ := a.db.Balance(ctx, p.org); b != 1000 {
			t.Errorf("balance %d, want the two failed messages' 1000 back", b)
		}
	})
	t.Run("mistakes", func(t *testing.T) {
		for name, tc := range map[string]struct {
			body   string
			status int
		}{
			"not JSON":          {`id=1&status=failed`, http.StatusBadRequest},
			"no id":             {`{"status":"delivered"}`, http.StatusBadRequest},
			"an id of letters":  {`{"id":"abc","status":"delivered"}`, http.StatusBadRequest},
			"a fraction":        {`{"id":1.5,"status":"delivered"}`, http.StatusBadRequest},
			"another status":    {fmt.Sprintf(`{"id":%d,"status":"queued"}`, ids[3]), http.StatusBadRequest},
			"an unknown id":     {`{"id":999999,"status":"delivered"}`, http.StatusNotFound},
			"an unknown failed": {`{"id":"999999","status":"failed","error":"x"}`, http.StatusNotFound},
		} {
			t.Run(name, func(t *testing.T) {
				body := []byte(tc.body)
				res := a.gatewayCall("/gateway/reports", body, gateway.Sign(body, gatewaySecret))
				wantStatus(t, res, tc.status)
				if !strings.HasPrefix(res.header.Get("Content-Type"), "application/json") || !strings.Contains(res.body, `"error":"`) {
					t.Errorf("answer is not a JSON error: %s %s", res.header.Get("Content-Type"), res.body)
				}
			})
		}
		if m := a.gatewayMessage(ids[3]); m.status != "queued" {
			t.Errorf("a refused report changed message %d: %+v", ids[3], m)
		}
	})
	t.Run("too large", func(t *testing.T) {
		body := []byte(`{"id":1,"status":"delivered","error":"` + strings.Repeat("x", 70<<10) + `"}`)
		res := a.gatewayCall("/gateway/reports", body, gateway.Sign(body, gatewaySecret))
		wantStatus(t, res, http.StatusRequestEntityTooLarge)
	})
}

// TestGatewayCallbacksRefuseBadSignatures: unsigned, wrongly signed, and
// (with no secret configured) any call answers 401 and changes nothing.
func TestGatewayCallbacksRefuseBadSignatures(t *testing.T) {
	for _, secret := range []string{gatewaySecret, ""} {
		t.Run("secret "+fmt.Sprint(secret != ""), func(t *testing.T) {
			a := newGatewayApp(t, secret)
			p := a.signup("ada@example.com", "Acme")
			ids := a.queueFromSender(p, "Acme", 500, "+37255500001")
			report, _ := json.Marshal(map[string]any{"id": ids[0], "status": "failed", "error": "forged"})
			stop, _ := json.Marshal(map[string]any{"from": "+37255500001", "to": "Acme", "text": "STOP"})
			for _, path := range []string{"/gateway/reports", "/gateway/inbound"} {
				body := report
				if path == "/gateway/inbound" {
					body = stop
				}
				sig := gateway.Sign(body, gatewaySecret)
				cases := map[string]struct {
					body      []byte
					signature string
				}{
					"unsigned":               {body, ""},
					"another secret":         {body, gateway.Sign(body, "another secret entirely")},
					"the empty secret":       {body, gateway.Sign(body, "")},
					"a signature cut short":  {body, sig[:len(sig)-1]},
					"without sha256=":        {body, strings.TrimPrefix(sig, "sha256=")},
					"another body":           {append(bytes.Clone(body), ' '), sig},
					"a signature of nothing": {body, gateway.Sign(nil, gatewaySecret)},
				}
				if secret == "" {
					cases["the right signature, but no secret set"] = struct {
						body      []byte
						signature string
					}{body, sig}
				}
				for name, tc := range cases {
					t.Run(path+" "+name, func(t *testing.T) {
						res := a.gatewayCall(path, tc.body, tc.signature)
						wantStatus(t, res, http.StatusUnauthorized)
						wantJSONField(t, res, "error", "The X-Switchboard-Signature header is missing or does not match the body; sign it with the gateway secret.")
					})
				}
			}
			if m := a.gatewayMessage(ids[0]); m.status != "queued" || m.refunded {
				t.Errorf("a refused report changed the message: %+v", m)
			}
			if b, _ := a.db.Balance(context.Background(), p.org); b != 0 {
				t.Errorf("balance %d after refused reports, want 0", b)
			}
			if n := a.gatewayCount(`SELECT COUNT(*) FROM opt_outs`); n != 0 {
				t.Errorf("%d opt-outs after refused STOPs", n)
			}
		})
	}
}

// TestGatewayCallbacksNeedNoSessionNorCSRF: the callbacks are exempt from
// the CSRF check, and only they: a logged-in browser posting to them
// without a signature gets 401, not in; a cross-site POST elsewhere is
// still refused.
func TestGatewayCallbacksNeedNoSessionNorCSRF(t *testing.T) {
	a := newGatewayApp(t, gatewaySecret)
	p := a.signup("ada@example.com", "Acme")
	ids := a.queueFromSender(p, "Acme", 500, "+37255500001")

	// A cross-site POST, signed: the signature is what counts.
	body, _ := json.Marshal(map[string]any{"id": ids[0], "status": "delivered"})
	req, _ := http.NewRequest(http.MethodPost, a.ts.URL+"/gateway/reports", bytes.NewReader(body))
	req.Header.Set(gateway.SignatureHeader, gateway.Sign(body, gatewaySecret))
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res := a.client().do(req)
	wantStatus(t, res, http.StatusOK)
	if res.header.Get("Set-Cookie") != "" {
		t.Errorf("a callback answered with a cookie: %s", res.header.Get("Set-Cookie"))
	}

	// The owner's own browser, with its session and CSRF token: no
	// signature, no entry.
	res = p.post("/gateway/reports", url.Values{"id": {fmt.Sprint(ids[0])}, "status": {"failed"}})
	wantStatus(t, res, http.StatusUnauthorized)
	if m := a.gatewayMessage(ids[0]); m.status != "delivered" {
		t.Errorf("message %+v", m)
	}

	// Elsewhere the CSRF check holds: no token, no entry.
	res = p.postRaw("/orgs/"+itoa(p.org)+"/settings", url.Values{"name": {"Renamed"}})
	wantStatus(t, res, http.StatusForbidden)
}

// TestGatewayInbound: STOP opts the sender out where it was written to,
// START opts it back in, anything else is accepted and ignored.
func TestGatewayInbound(t *testing.T) {
	a := newGatewayApp(t, gatewaySecret)
	acme := a.signup("ada@example.com", "Acme")
	globex := a.signup("bob@example.com", "Globex")
	initech := a.signup("cy@example.com", "Initech")
	const phone = "+37255500001"
	a.queueFromSender(acme, "+3725000001", 100, phone)
	a.queueFromSender(globex, "Globex", 100, phone)
	a.queueFromSender(initech, "Initech", 100, "+37255500002")
	optedOut := func(org int64) bool {
		return a.gatewayCount(`SELECT COUNT(*) FROM opt_outs WHERE org_id = ? AND phone = ?`, org, phone) == 1
	}

	for _, text := range []string{"STOP please", "Hello", "", "STOPP", "START NOW"} {
		res := a.gatewaySigned("/gateway/inbound", map[string]any{"from": phone, "to": "+3725000001", "text": text})
		wantStatus(t, res, http.StatusOK)
		wantJSONField(t, res, "action", "none")
	}
	if n := a.gatewayCount(`SELECT COUNT(*) FROM opt_outs`); n != 0 {
		t.Fatalf("%d opt-outs after messages that are not STOP", n)
	}

	// To Acme's own number: Acme only.
	res := a.gatewaySigned("/gateway/inbound", map[string]any{"from": "372 5550 0001", "to": "+3725000001", "text": " stop\n"})
	wantStatus(t, res, http.StatusOK)
	wantJSONField(t, res, "action", "opted out")
	wantJSONField(t, res, "organisations", "1")
	if !optedOut(acme.org) || optedOut(globex.org) || optedOut(initech.org) {
		t.Errorf("STOP to Acme's number: Acme %v, Globex %v, Initech %v; want Acme only", optedOut(acme.org), optedOut(globex.org), optedOut(initech.org))
	}
	res = a.gatewaySigned("/gateway/inbound", map[string]any{"from": phone, "to": "+3725000001", "text": "Start"})
	wantStatus(t, res, http.StatusOK)
	wantJSONField(t, res, "action", "opted in")
	if optedOut(acme.org) {
		t.Error("START left Acme's opt-out")
	}

	// To a number no organisation sent from: every one that wrote to it.
	res = a.gatewaySigned("/gateway/inbound", map[string]any{"from": "0037255500001", "to": "+3720000000", "text": "STOP"})
	wantStatus(t, res, http.StatusOK)
	wantJSONField(t, res, "organisations", "2")
	if !optedOut(acme.org) || !optedOut(globex.org) || optedOut(initech.org) {
		t.Errorf("STOP to a shared number: Acme %v, Globex %v, Initech %v; want Acme and Globex", optedOut(acme.org), optedOut(globex.org), optedOut(initech.org))
	}
	res = a.gatewaySigned("/gateway/inbound", map[string]any{"from": phone, "text": "START"})
	wantStatus(t, res, http.StatusOK)
	if optedOut(acme.org) || optedOut(globex.org) {
		t.Error("START left opt-outs")
	}

	// A STOP from something that is not a number, and bad JSON.
	res = a.gatewaySigned("/gateway/inbound", map[string]any{"from": "Acme", "to": "+3725000001", "text": "STOP"})
	wantStatus(t, res, http.StatusBadRequest)
	body := []byte(`{"from": "+37255500001", "text": `)
	wantStatus(t, a.gatewayCall("/gateway/inbound", body, gateway.Sign(body, gatewaySecret)), http.StatusBadRequest)
}
