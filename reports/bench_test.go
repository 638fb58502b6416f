package reports_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"switchboard/reports"
)

// BenchmarkFlush measures the worker end to end: each round makes 1,000
// reports (four organisations' messages marked sent; not timed), then
// Flush POSTs them all, signed, to a receiver on 127.0.0.1 and records each.
// It reports reports/s.
func BenchmarkFlush(b *testing.B) {
	const perRound = 1000
	p := newPanel(b)
	// A receiver that only answers: the test receiver's bookkeeping
	// would grow with every round.
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }))
	defer rcv.Close()
	var orgs []org
	for _, name := range []string{"acme", "bolt", "cask", "dune"} {
		orgs = append(orgs, p.newOrg(b, name, rcv.URL))
	}
	w := reports.NewWorker(p.db, true, quiet())
	var elapsed time.Duration
	sent, round := 0, 0
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		round++
		for i, o := range orgs {
			numbers := make([]string, perRound/len(orgs))
			for j := range numbers {
				numbers[j] = fmt.Sprintf("+372%02d%02d%05d", 50+round%50, i, j)
			}
			p.sent(b, p.queue(b, o, numbers...)...)
		}
		b.StartTimer()
		start := time.Now()
		n, err := w.Flush(ctx)
		elapsed += time.Since(start)
		if err != nil || n != perRound {
			b.Fatalf("Flush = %d, %v; want %d", n, err, perRound)
		}
		sent += n
	}
	b.ReportMetric(float64(sent)/elapsed.Seconds(), "reports/s")
}
