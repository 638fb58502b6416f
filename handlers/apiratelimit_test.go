package handlers

import (
	"testing"
	"time"
)

// TestAPILimiterBucket: a key has a burst of rate requests, then one each
// 1/rate of a second; what is left, when the bucket is full again and
// when a refused key may go on are those of the bucket; keys are
// independent.
func TestAPILimiterBucket(t *testing.T) {
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	l := newAPILimiter(4)
	l.now = func() time.Time { return now }
	for i, want := range []int{3, 2, 1, 0} {
		a := l.take(1)
		if !a.allowed || a.remaining != want {
			t.Fatalf("request %d: %+v, want allowed with %d left", i, a, want)
		}
		if wantReset := time.Duration(4-want) * 250 * time.Millisecond; a.reset != wantReset {
			t.Errorf("request %d: reset %v, want %v", i, a.reset, wantReset)
		}
	}
	a := l.take(1)
	if a.allowed || a.remaining != 0 || a.retryAfter != 250*time.Millisecond || a.reset != time.Second {
		t.Fatalf("over the burst: %+v", a)
	}
	if wholeSeconds(a.retryAfter) != 1 || wholeSeconds(a.reset) != 1 || wholeSeconds(0) != 0 {
		t.Errorf("whole seconds round up: %d %d", wholeSeconds(a.retryAfter), wholeSeconds(a.reset))
	}
	// Another key is untouched by the first one's flood.
	if b := l.take(2); !b.allowed || b.remaining != 3 {
		t.Errorf("another key: %+v", b)
	}
	// A refused request takes nothing: a quarter of a second later one
	// token is back.
	now = now.Add(250 * time.Millisecond)
	if a := l.take(1); !a.allowed || a.remaining != 0 {
		t.Errorf("a token back after 1/rate s: %+v", a)
	}
	// A second later the bucket is full, and holds no more than full.
	now = now.Add(10 * time.Second)
	if a := l.take(1); !a.allowed || a.remaining != 3 {
		t.Errorf("after a long pause: %+v", a)
	}
}

// TestAPILimiterForgetsIdleKeys: a bucket that has filled up again is
// dropped at the next sweep, so memory holds the keys in use, not every
// key ever seen; a key in use keeps its bucket (and its count).
func TestAPILimiterForgetsIdleKeys(t *testing.T) {
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	l := newAPILimiter(2)
	l.now = func() time.Time { return now }
	for key := range int64(1000) {
		l.take(key)
	}
	if n := l.size(); n != 1000 {
		t.Fatalf("%d buckets, want 1000", n)
	}
	now = now.Add(apiSweepInterval - 100*time.Millisecond)
	l.take(7)
	l.take(7)
	now = now.Add(100 * time.Millisecond)
	a := l.take(7)
	if n := l.size(); n != 1 {
		t.Errorf("%d buckets after the sweep, want 1 (the key in use)", n)
	}
	if a.allowed {
		t.Errorf("the key in use lost its count in the sweep: %+v", a)
	}
}
