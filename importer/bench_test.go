package importer_test

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"switchboard"
	"switchboard/importer"
)

// BenchmarkImport100k imports the generated file of 100,000 rows (bad
// lines, repeats, a fifth of its numbers present already) from queued to
// done, on the engine of the pass, and reports the peak of the live heap
// while it runs (sampled every 5 ms, runtime/metrics), the file included.
// The targets (issue 10): ≤ 5 s on SQLite, ≤ 10 s on PostgreSQL, ≤ 100 MB.
func BenchmarkImport100k(b *testing.B) {
	g := generate(100_000)
	var peak atomic.Uint64
	for b.Loop() {
		b.StopTimer()
		p := newPanel(b)
		p.seed(b, g.existing)
		imp := p.queue(b, g.csv, nil, p.group(b, "Imported"))
		w := importer.NewWorker(p.db, nil)
		runtime.GC()
		stop := sampleHeap(&peak)
		b.StartTimer()
		ran, err := w.RunOnce(ctx)
		b.StopTimer()
		stop()
		if !ran || err != nil {
			b.Fatal(ran, err)
		}
		wantCounts(b, p.find(b, imp.ID), switchboard.ImportDone, g.added, g.updated, g.skipped)
		b.StartTimer()
	}
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
}

// sampleHeap records the largest live heap seen in peak until stop is
// called.
func sampleHeap(peak *atomic.Uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
