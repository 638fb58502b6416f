package handlers

import (
	"context"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the processor time the process has used so far. The
// benchmarks report it beside the wall time, which a busy machine blurs.
func cpuTime() time.Duration {
	var u syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &u)
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// BenchmarkLoginHash is the password check of one login alone, the part of
// a login that takes time: holding the hashes in check under load must not
// make it slower.
func BenchmarkLoginHash(b *testing.B) { benchLogins(b, 1) }

// BenchmarkLoginHash32AtOnce checks 32 passwords at once, as 32 people
// logging in at the same moment; the time is per batch of 32.
func BenchmarkLoginHash32AtOnce(b *testing.B) { benchLogins(b, 32) }

// benchLogins checks atOnce passwords at the same time per operation, and
// reports the processor time as well: on a busy machine it moves less than
// the wall time.
func benchLogins(b *testing.B, atOnce int) {
	h := newHasher(runtime.GOMAXPROCS(0))
	encoded, err := h.hash(context.Background(), "a benchmark passphrase")
	if err != nil {
		b.Fatal(err)
	}
	start := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		var wg sync.WaitGroup
		for range atOnce {
			wg.Go(func() {
				if ok, err := h.verify(context.Background(), "a benchmark passphrase", encoded); !ok || err != nil {
					b.Error(ok, err)
				}
			})
		}
		wg.Wait()
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N)/1e6, "cpu-ms/op")
}
