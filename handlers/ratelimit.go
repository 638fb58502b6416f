package handlers

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is a set of token buckets by key (an email, a client address, an
// organisation). Every attempt takes a token before any work is done, so
// concurrent attempts are all counted. Idle buckets are forgotten.
type limiter struct {
	mu      sync.Mutex
	every   rate.Limit
	burst   int
	buckets map[string]*bucket
	swept   time.Time
	now     func() time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// newLimiter allows burst attempts at once, then one every interval.
func newLimiter(burst int, interval time.Duration) *limiter {
	return &limiter{every: rate.Every(interval), burst: burst, buckets: map[string]*bucket{}, now: time.Now}
}

// allow takes one attempt for key, and reports whether it was allowed.
func (l *limiter) allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.swept) > time.Minute {
		// A bucket that has refilled completely is the same as no bucket.
		full := time.Duration(float64(l.burst)/float64(l.every)) * time.Second
		for k, b := range l.buckets {
			if now.Sub(b.seen) > full {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(l.every, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	return b.lim.AllowN(now, 1)
}

// limits are the rate limits of the panel. They stop scripts, not teams: an
// office of 50 behind one address signing up in an hour, or an owner
// inviting 50 colleagues in a row, stay well within them.
type limits struct {
	login        *loginGuard // failed logins by account and client address
	signupClient *limiter
	resetAccount *limiter
	resetClient  *limiter
	inviteOrg    *limiter
	acceptClient *limiter
	// inviteProfile is per inviting profile, across all its organisations:
	// creating organisations must not multiply the invitation allowance.
	// Resends count too.
	inviteProfile *limiter
	// resendInvitation is per invitation: a couple of resends when an
	// email got lost, not a stream of them to one inbox.
	resendInvitation *limiter
	// orgCreate is per profile: a few organisations at once, ten a day.
	orgCreate *limiter
	// joinClient and joinLink limit the joins on the public subscription
	// pages (handlers/public.go), per client address and per link.
	joinClient *limiter
	joinLink   *limiter
}

func newLimits() *limits {
	return &limits{
		login:        newLoginGuard(),
		signupClient: newLimiter(100, 20*time.Second),
		resetAccount: newLimiter(5, 5*time.Minute),
		resetClient:  newLimiter(50, 10*time.Second),
		inviteOrg:    newLimiter(100, 10*time.Second),
		acceptClient: newLimiter(60, 5*time.Second),

		inviteProfile:    newLimiter(120, 30*time.Second),
		resendInvitation: newLimiter(3, 20*time.Minute),
		orgCreate:        newLimiter(10, 144*time.Minute),

		joinClient: newLimiter(joinsPerClient, joinClientRefill),
		joinLink:   newLimiter(joinsPerLink, joinLinkRefill),
	}
}
