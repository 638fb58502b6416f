package gateway_test

import (
	"testing"
	"time"

	"switchboard/gateway"
)

// BenchmarkLogGatewayDelivery measures the delivery worker with the log
// gateway: each round queues 2,000 messages (not timed), then Flush sends
// them all and records each as delivered. It reports messages/s (the
// target is at least 2,000 a second, on both engines).
func BenchmarkLogGatewayDelivery(b *testing.B) {
	const perRound = 2000
	p := newPanel(b)
	w := gateway.NewWorker(p.db, gateway.Log{Logger: quiet()}, quiet())
	to := numbers(perRound)
	var elapsed time.Duration
	delivered := 0
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		p.queue(b, 100, to...)
		b.StartTimer()
		start := time.Now()
		n, err := w.Flush(ctx)
		elapsed += time.Since(start)
		if err != nil || n != perRound {
			b.Fatalf("Flush = %d, %v; want %d", n, err, perRound)
		}
		delivered += n
	}
	b.ReportMetric(float64(delivered)/elapsed.Seconds(), "messages/s")
}
