package handlers

import (
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard"
)

// The JSON API's rate limit (PRODUCT.md § API: 429 with Retry-After past
// the per-key rate): a token bucket per API key, refilled at
// Config.APIRate tokens a second and holding as many, so a key may send a
// second's worth at once and then its rate. Every answer of a keyed route
// says where the key stands, in the RateLimit-Limit, RateLimit-Remaining
// and RateLimit-Reset headers (seconds until the bucket is full again);
// a request over the limit is 429 with Retry-After (seconds until one
// token is back).
//
// The buckets live in this process's memory: behind a load balancer each
// process counts on its own, so a key may reach the rate once per
// process. That is the price of not writing to the database on every
// request, which would cost more than the requests it guards. Each key
// has its own bucket: one key's flood never slows another's requests.
// Memory stays bounded: only authenticated keys get a bucket (apiAuth runs
// first), and a bucket that has filled up again is the same as none, so
// such buckets are dropped.

// apiLimiter holds the token buckets of the API keys.
type apiLimiter struct {
	mu      sync.Mutex
	rate    float64 // tokens a second
	burst   float64 // tokens a bucket holds
	buckets map[int64]*apiBucket
	swept   time.Time
	now     func() time.Time
}

// apiBucket is one key's bucket: how many tokens it held at a moment.
type apiBucket struct {
	tokens float64
	at     time.Time
}

// apiSweepInterval is how often idle buckets are looked for.
const apiSweepInterval = time.Minute

// newAPILimiter allows rate requests a second, and a burst of as many.
func newAPILimiter(rate int) *apiLimiter {
	return &apiLimiter{rate: float64(rate), burst: float64(rate), buckets: map[int64]*apiBucket{}, now: time.Now}
}

// apiAllowance is where a key stands after a request.
type apiAllowance struct {
	allowed    bool
	remaining  int           // whole tokens left
	reset      time.Duration // until the bucket is full
	retryAfter time.Duration // until one token is back, when refused
}

// take takes a token from key's bucket, if it holds one.
func (l *apiLimiter) take(key int64) apiAllowance {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.swept) >= apiSweepInterval {
		full := time.Duration(l.burst / l.rate * float64(time.Second))
		for k, b := range l.buckets {
			if now.Sub(b.at) >= full {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &apiBucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	if elapsed := now.Sub(b.at); elapsed > 0 {
		b.tokens = math.Min(l.burst, b.tokens+elapsed.Seconds()*l.rate)
	}
	b.at = now
	a := apiAllowance{allowed: b.tokens >= 1}
	if a.allowed {
		b.tokens--
	} else {
		a.retryAfter = time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	}
	a.remaining = int(b.tokens)
	a.reset = time.Duration((l.burst - b.tokens) / l.rate * float64(time.Second))
	return a
}

// size is how many buckets are held, for the tests of the sweep.
func (l *apiLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// wholeSeconds rounds d up to whole seconds, as the headers give them: a
// client that waits that long is never refused for having waited too
// little.
func wholeSeconds(d time.Duration) int {
	return int(math.Ceil(d.Seconds()))
}

// apiRateLimit takes a token of the caller's key (apiAuth found it) for
// every request, and refuses the request with 429 when there is none.
func (s *Server) apiRateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		caller := apiCaller(c)
		if caller == nil {
			return next(c)
		}
		a := s.apiLimiter.take(caller.Key.ID)
		h := c.Response().Header()
		h.Set("RateLimit-Limit", strconv.Itoa(int(s.apiLimiter.burst)))
		h.Set("RateLimit-Remaining", strconv.Itoa(a.remaining))
		h.Set("RateLimit-Reset", strconv.Itoa(wholeSeconds(a.reset)))
		if !a.allowed {
			wait := wholeSeconds(a.retryAfter)
			h.Set(echo.HeaderRetryAfter, strconv.Itoa(wait))
			s.logger.Warn("api rate limit", "api_key", caller.Key.ID, "path", logPath(c.Request()), "ip", c.RealIP())
			limit := int(s.apiLimiter.burst)
			return switchboard.Errorf(switchboard.ETOOMANY, "This API key made more than %s in a second. Wait %s (Retry-After), then send at most %d a second.",
				switchboard.Plural(limit, "request", "requests"), switchboard.Plural(wait, "second", "seconds"), limit)
		}
		return next(c)
	}
}
