package handlers

import (
	"math"
	"strconv"
	"sync"
	"time"
)

// loginGuard slows password guessing down without letting a stranger lock
// an owner out. It counts failures only, by (account, client address) pair:
// after pairFreeFailures failures in a row a pair must wait a delay that
// doubles with each further failure, up to pairMaxDelay; a success resets
// the pair and gives back everything the attempt took. So an attacker's
// address is slowed to a crawl while the owner, from an address that has
// not failed for the account, always gets in.
//
// Two brakes cover what one pair cannot see: an address failing across
// many accounts (password spraying) is held to a rate of failures, and an
// account failing from many addresses becomes "hot", which starts the
// delay from the first failure of each pair instead of the tenth; an
// address that has not failed for the account still gets in.
//
// Every attempt takes its slot before the password is hashed, as if it had
// failed, so concurrent attempts are all counted; success refunds it.
type loginGuard struct {
	mu       sync.Mutex
	now      func() time.Time
	pairs    map[pairKey]*pairState
	clients  map[string]*leak // failures per client address
	accounts map[string]*leak // failures per account
	swept    time.Time
}

// Limits of the login guard. The numbers stop scripts, not people: a person
// mistyping ten times in a row waits 2 s, then 4 s, and so on.
const (
	pairFreeFailures = 10
	pairMaxDelay     = 15 * time.Minute
	pairForget       = 24 * time.Hour // a pair quiet this long starts afresh

	clientBurst = 100              // failures per address across accounts
	clientEvery = 10 * time.Second // then one more failure per interval

	accountHot   = 50 // failures on one account from all addresses
	accountEvery = time.Minute
)

type pairKey struct{ account, client string }

type pairState struct {
	failures int
	last     time.Time // of the last counted attempt
}

// leak is a counter that drains by one every interval: a failure fills it
// by one; it is full at its burst.
type leak struct {
	level float64
	at    time.Time
}

func (l *leak) drain(now time.Time, every time.Duration) {
	if d := now.Sub(l.at); d > 0 {
		l.level = math.Max(0, l.level-float64(d)/float64(every))
	}
	l.at = now
}

func newLoginGuard() *loginGuard {
	return &loginGuard{now: time.Now, pairs: map[pairKey]*pairState{}, clients: map[string]*leak{}, accounts: map[string]*leak{}}
}

// pairDelay is how long a pair with failures failures must wait after its
// last attempt, given the failures it may have for free.
func pairDelay(failures, free int) time.Duration {
	n := failures - free
	if n < 0 {
		return 0
	}
	if n >= 20 {
		return pairMaxDelay
	}
	return min(time.Duration(1<<(n+1))*time.Second, pairMaxDelay)
}

// begin takes a slot for an attempt by client on account. When the attempt
// must wait, it returns how long and takes nothing. Otherwise the attempt
// counts as a failure until done(true) is called.
func (g *loginGuard) begin(account, client string) (done func(ok bool), wait time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	g.sweep(now)

	cl := g.clients[client]
	if cl == nil {
		cl = &leak{at: now}
		g.clients[client] = cl
	}
	cl.drain(now, clientEvery)
	if cl.level+1 > clientBurst {
		return nil, time.Duration((cl.level + 1 - clientBurst) * float64(clientEvery))
	}

	ac := g.accounts[account]
	if ac == nil {
		ac = &leak{at: now}
		g.accounts[account] = ac
	}
	ac.drain(now, accountEvery)
	free := pairFreeFailures
	if ac.level >= accountHot {
		free = 1
	}

	key := pairKey{account, client}
	p := g.pairs[key]
	if p == nil {
		p = &pairState{}
		g.pairs[key] = p
	}
	if w := p.last.Add(pairDelay(p.failures, free)).Sub(now); w > 0 && p.failures > 0 {
		return nil, w
	}

	// Count the attempt as a failure now; a success gives it back.
	cl.level++
	ac.level++
	p.failures++
	p.last = now
	var once sync.Once
	return func(ok bool) {
		if !ok {
			return
		}
		once.Do(func() {
			g.mu.Lock()
			defer g.mu.Unlock()
			cl.level = math.Max(0, cl.level-1)
			ac.level = math.Max(0, ac.level-1)
			delete(g.pairs, key)
		})
	}, 0
}

// sweep forgets, once a minute, what no longer limits anyone.
func (g *loginGuard) sweep(now time.Time) {
	if now.Sub(g.swept) < time.Minute {
		return
	}
	g.swept = now
	for k, p := range g.pairs {
		if now.Sub(p.last) > pairForget {
			delete(g.pairs, k)
		}
	}
	for k, l := range g.clients {
		if l.drain(now, clientEvery); l.level == 0 {
			delete(g.clients, k)
		}
	}
	for k, l := range g.accounts {
		if l.drain(now, accountEvery); l.level == 0 {
			delete(g.accounts, k)
		}
	}
}

// waitText says how long to wait, rounded up, in a sentence's words.
func waitText(d time.Duration) string {
	switch s := int(math.Ceil(d.Seconds())); {
	case s <= 1:
		return "a second"
	case s < 60:
		return strconv.Itoa(s) + " seconds"
	case s < 120:
		return "a minute"
	default:
		return strconv.Itoa(int(math.Ceil(float64(s)/60))) + " minutes"
	}
}
