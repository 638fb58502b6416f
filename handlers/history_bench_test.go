package handlers_test

import (
	"bytes"
	"io"
	"net/http"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/store/storetest"
)

// lineCounter counts the lines written to it and keeps nothing.
type lineCounter struct{ lines int }

func (w *lineCounter) Write(p []byte) (int, error) {
	w.lines += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}

// heapWatch samples the heap's live objects every few milliseconds, from
// runtime/metrics (which, unlike ReadMemStats, does not stop the world),
// and keeps the most it grew above base.
type heapWatch struct {
	base uint64
	peak atomic.Uint64
	stop chan struct{}
	wg   sync.WaitGroup
}

func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func watchHeap() *heapWatch {
	runtime.GC()
	w := &heapWatch{base: heapObjects(), stop: make(chan struct{})}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
				if h := heapObjects(); h > w.base && h-w.base > w.peak.Load() {
					w.peak.Store(h - w.base)
				}
			}
		}
	}()
	return w
}

func (w *heapWatch) done() uint64 {
	close(w.stop)
	w.wg.Wait()
	return w.peak.Load()
}

// BenchmarkHistoryCSV downloads the export of an organisation of a
// million messages through the real server, reading it as a browser
// would (into nothing here), and reports rows a second and the most the
// heap (server and client together) grew during a download. The targets
// are 200,000 rows/s and 30 MB.
func BenchmarkHistoryCSV(b *testing.B) {
	const size = 1_000_000
	a := newApp(b)
	owner := a.signup("owner@example.com", "Acme")
	setZone(b, a, owner.profile, "Europe/Tallinn")
	storetest.SeedMessages(b, a.dsn, owner.org, size, time.Date(2025, time.March, 3, 9, 0, 0, 0, time.UTC))
	var peak uint64
	b.ResetTimer()
	for b.Loop() {
		w := watchHeap()
		req, _ := http.NewRequest(http.MethodGet, a.ts.URL+path(owner.org, "history.csv"), nil)
		res, err := owner.hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var lines lineCounter
		_, err = io.Copy(&lines, res.Body)
		res.Body.Close()
		peak = max(peak, w.done())
		if err != nil || res.StatusCode != http.StatusOK || lines.lines != size+1 {
			b.Fatalf("export: %d, %d lines, %v", res.StatusCode, lines.lines, err)
		}
	}
	b.ReportMetric(float64(size)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peak)/(1<<20), "MB-heap-growth")
}
