package handlers_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"switchboard/handlers"
)

// BenchmarkAPISendMessage is POST /api/v1/messages for one recipient
// through the server's ServeHTTP (no sockets): the key checked, the
// rate limit, the body read strictly, the send planned as the page's
// (sender names, auto-replace, opt-outs, price), and one transaction that
// debits, queues and reads the message back, then the 202. Requests run
// in parallel, as a program's do; with -idempotency-key each carries a
// key of its own, whose answer is kept in the same transaction. The
// issue's target for the whole server, sockets and wrk included, is 1,500
// requests a second at 16 connections (cmd/switchboard-load/api.lua).
//
// The sends of one organisation take turns at its balance's row (the
// debit's lock is held until the send commits); -8-organisations spreads
// them over eight, as many customers' programs would.
func BenchmarkAPISendMessage(b *testing.B) {
	for _, bc := range []struct {
		name    string
		withKey bool
		orgs    int
	}{{"plain", false, 1}, {"idempotency-key", true, 1}, {"8-organisations", false, 8}} {
		withKey := bc.withKey
		b.Run(bc.name, func(b *testing.B) {
			a := newAppConfig(b, handlers.Config{BaseURL: mustURL(testBaseURL), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), APIRate: 1 << 30})
			var apis []*messagesAPI
			for i := range bc.orgs {
				owner := a.signup("owner"+itoa(int64(i))+"@example.com", "Acme")
				a.fundOrg(owner.org, 1<<50, "EE")
				apis = append(apis, a.newMessagesAPI(owner.org, "Load"))
			}
			body := `{"to": "+37255500001", "from": "Switchboard", "text": "Your code is 1234"}`
			var n, g atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(8) // 16 requests at once on 2 processors
			b.RunParallel(func(pb *testing.PB) {
				api := apis[int(g.Add(1))%len(apis)]
				for pb.Next() {
					req := httptest.NewRequest(http.MethodPost, "/api/v1/messages", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", "Bearer "+api.key)
					if withKey {
						req.Header.Set("Idempotency-Key", "bench-"+itoa(n.Add(1)))
					}
					rec := httptest.NewRecorder()
					a.srv.ServeHTTP(rec, req)
					if rec.Code != http.StatusAccepted {
						b.Fatalf("status %d\n%s", rec.Code, rec.Body.String())
					}
				}
			})
		})
	}
}
