package reports_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard"
	"switchboard/gateway"
	"switchboard/reports"
	"switchboard/store"
)

// TestReportForEachStatusChange: a message sent then delivered, and one
// the gateway refused, make three reports, each POSTed once as PRODUCT.md's
// JSON, signed with the organisation's secret, a message's in order.
func TestReportForEachStatusChange(t *testing.T) {
	p := newPanel(t)
	rcv := newReceiver(t, nil)
	acme := p.newOrg(t, "acme", rcv.URL+"/sms/reports?token=abc")
	ids := p.queue(t, acme, "+37255500001", "+37255500002")

	// The real delivery worker, through a gateway that takes the first
	// number and refuses the second.
	sms := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if bytes.Contains(body, []byte("+37255500002")) {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error": "no such number"}`)
		}
	}))
	defer sms.Close()
	wh, err := gateway.NewWebhook(sms.URL, "a gateway secret of some length")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gateway.NewWorker(p.db, wh, quiet()).Flush(ctx); err != nil {
		t.Fatal(err)
	}
	p.delivered(t, ids[0])

	w := reports.NewWorker(p.db, true, quiet())
	if n, err := w.Flush(ctx); n != 3 || err != nil {
		t.Fatalf("Flush = %d, %v; want 3 reports accepted", n, err)
	}
	calls := rcv.Calls()
	if len(calls) != 3 {
		t.Fatalf("%d calls, want 3", len(calls))
	}
	var got []string
	events := map[int64]bool{}
	for _, c := range calls {
		got = append(got, fmt.Sprintf("%d %s", c.messageID(), c.status()))
		events[c.eventID()] = true
		sig := c.header.Get(gateway.SignatureHeader)
		if !gateway.Verify(c.body, sig, secret) || !strings.HasPrefix(sig, "sha256=") {
			t.Errorf("signature %q does not verify with the organisation's secret", sig)
		}
		if gateway.Verify(c.body, sig, "another secret") {
			t.Errorf("signature %q verifies with another secret", sig)
		}
		if ct, ua := c.header.Get("Content-Type"), c.header.Get("User-Agent"); ct != "application/json" || ua != "Switchboard" {
			t.Errorf("Content-Type %q, User-Agent %q", ct, ua)
		}
		var keys []string
		for k := range c.report {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if want := []string{"error", "event_id", "from", "id", "status", "status_at", "to"}; !slices.Equal(keys, want) {
			t.Errorf("JSON keys %v, want %v", keys, want)
		}
		if at, err := time.Parse(time.RFC3339, c.report["status_at"].(string)); err != nil || !strings.HasSuffix(c.report["status_at"].(string), "Z") ||
			time.Since(at) > time.Hour || time.Since(at) < 0 {
			t.Errorf("status_at %v is not an RFC 3339 time in UTC of now (%v)", c.report["status_at"], err)
		}
		if c.report["from"] != "Acme" {
			t.Errorf("from = %v", c.report["from"])
		}
	}
	if len(events) != 3 {
		t.Errorf("event ids %v, want three different", events)
	}
	// Two messages go out side by side; each message's reports in order.
	var first []string
	for _, g := range got {
		if strings.HasPrefix(g, fmt.Sprint(ids[0], " ")) {
			first = append(first, g)
		}
	}
	if want := []string{fmt.Sprintf("%d sent", ids[0]), fmt.Sprintf("%d delivered", ids[0])}; !slices.Equal(first, want) {
		t.Errorf("calls %v, want %v in that order", got, want)
	}
	if !slices.Contains(got, fmt.Sprintf("%d failed", ids[1])) {
		t.Errorf("calls %v, want the failure of message %d", got, ids[1])
	}
	for _, c := range calls {
		switch c.messageID() {
		case ids[0]:
			if c.report["to"] != "+37255500001" || c.report["error"] != nil || !bytes.Contains(c.body, []byte(`"error":null`)) {
				t.Errorf("report of the delivered message: %s", c.body)
			}
		case ids[1]:
			if c.report["to"] != "+37255500002" || c.report["error"] != "The gateway refused this message: no such number" {
				t.Errorf("report of the refused message: %s", c.body)
			}
		}
	}
	if q := p.queuedReports(t); len(q) != 0 {
		t.Errorf("reports left in the queue: %+v", q)
	}
	if n, err := w.Flush(ctx); n != 0 || err != nil || len(rcv.Calls()) != 3 {
		t.Errorf("a second Flush sent %d more (%v)", len(rcv.Calls())-3, err)
	}
}

// TestRetryWithBackoff: a 500, then a 200: the report is tried again after
// the backoff, not before, and accepted once.
func TestRetryWithBackoff(t *testing.T) {
	p := newPanel(t)
	rcv := newReceiver(t, func(_ call, attempt int) int {
		if attempt == 1 {
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	})
	acme := p.newOrg(t, "acme", rcv.URL)
	p.sent(t, p.queue(t, acme, "+37255500001")...)
	w := reports.NewWorker(p.db, true, quiet())
	now := time.Now()
	w.Now = func() time.Time { return now }

	if n, err := w.Flush(ctx); n != 0 || err != nil {
		t.Fatalf("first Flush = %d, %v; want the failure recorded", n, err)
	}
	q := p.queuedReports(t)
	if len(q) != 1 {
		t.Fatalf("queue %+v", q)
	}
	wait := time.UnixMilli(q[0].next).Sub(now)
	if q[0].attempts != 1 || q[0].claimed != nil || wait < 10*time.Second || wait > 11*time.Second+time.Millisecond ||
		q[0].lastError != "the receiver answered 500 Internal Server Error" {
		t.Fatalf("after a 500: %+v, next in %s; want one attempt, about 10 s, the 500", q[0], wait)
	}
	now = now.Add(9 * time.Second)
	if n, _ := w.Flush(ctx); n != 0 || len(rcv.Calls()) != 1 {
		t.Fatalf("a Flush before the backoff sent %d", len(rcv.Calls())-1)
	}
	now = now.Add(3 * time.Second)
	if n, err := w.Flush(ctx); n != 1 || err != nil {
		t.Fatalf("Flush after the backoff = %d, %v; want it accepted", n, err)
	}
	calls := rcv.Calls()
	if len(calls) != 2 || !bytes.Equal(calls[0].body, calls[1].body) {
		t.Fatalf("%d calls; want the same report twice", len(calls))
	}
	if q := p.queuedReports(t); len(q) != 0 {
		t.Errorf("queue after the 204: %+v", q)
	}
	now = now.Add(time.Hour)
	if n, _ := w.Flush(ctx); n != 0 || len(rcv.Calls()) != 2 {
		t.Error("sent again after it was accepted")
	}
}

// TestBackoffGrows: each failed attempt waits about twice as long as the
// one before, up to an hour.
func TestBackoffGrows(t *testing.T) {
	p := newPanel(t)
	rcv := newReceiver(t, func(call, int) int { return http.StatusBadGateway })
	acme := p.newOrg(t, "acme", rcv.URL)
	p.sent(t, p.queue(t, acme, "+37255500001")...)
	w := reports.NewWorker(p.db, true, quiet())
	now := time.Now()
	w.Now = func() time.Time { return now }
	for attempt, want := range []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second} {
		w.Flush(ctx)
		q := p.queuedReports(t)
		wait := time.UnixMilli(q[0].next).Sub(now)
		if q[0].attempts != attempt+1 || wait < want || wait > want*11/10+time.Millisecond {
			t.Fatalf("after attempt %d: %d attempts, next in %s; want %s", attempt+1, q[0].attempts, wait, want)
		}
		now = time.UnixMilli(q[0].next)
	}
}

// TestHangingReceiverTimesOut: a receiver that does not answer within the
// timeout is a failed attempt, tried again later.
func TestHangingReceiverTimesOut(t *testing.T) {
	p := newPanel(t)
	release := make(chan struct{})
	defer close(release)
	rcv := newReceiver(t, func(_ call, attempt int) int {
		if attempt == 1 {
			<-release
		}
		return http.StatusOK
	})
	acme := p.newOrg(t, "acme", rcv.URL)
	p.sent(t, p.queue(t, acme, "+37255500001")...)
	w := reports.NewWorker(p.db, true, quiet())
	w.Timeout = 200 * time.Millisecond
	now := time.Now()
	w.Now = func() time.Time { return now }
	if n, err := w.Flush(ctx); n != 0 || err != nil {
		t.Fatalf("Flush = %d, %v", n, err)
	}
	if q := p.queuedReports(t); len(q) != 1 || q[0].attempts != 1 || q[0].lastError != "the receiver did not answer within 200ms" {
		t.Fatalf("after a hang: %+v", q)
	}
	now = now.Add(time.Minute)
	if n, err := w.Flush(ctx); n != 1 || err != nil || len(rcv.Calls()) != 2 {
		t.Fatalf("Flush after the backoff = %d, %v, %d calls; want it accepted on the second call", n, err, len(rcv.Calls()))
	}
}

// TestGivenUpAfter24Hours: a report whose receiver still fails 24 hours
// after the status changed is dropped, with a line in the log.
func TestGivenUpAfter24Hours(t *testing.T) {
	p := newPanel(t)
	rcv := newReceiver(t, func(call, int) int { return http.StatusServiceUnavailable })
	acme := p.newOrg(t, "acme", rcv.URL)
	ids := p.queue(t, acme, "+37255500001")
	p.sent(t, ids...)
	var log bytes.Buffer
	var mu sync.Mutex
	w := reports.NewWorker(p.db, true, logTo(&log, &mu))
	now := time.Now()
	w.Now = func() time.Time { return now }
	w.Flush(ctx)
	now = now.Add(reports.GiveUpAfter - time.Minute)
	w.Flush(ctx)
	if q := p.queuedReports(t); len(q) != 1 || q[0].attempts != 2 {
		t.Fatalf("before 24 hours: %+v; want it still queued", q)
	}
	now = now.Add(2 * time.Minute)
	if n, err := w.Flush(ctx); n != 0 || err != nil {
		t.Fatalf("Flush = %d, %v", n, err)
	}
	if q := p.queuedReports(t); len(q) != 0 {
		t.Fatalf("after 24 hours: %+v; want it dropped", q)
	}
	if len(rcv.Calls()) != 3 {
		t.Errorf("%d calls, want 3", len(rcv.Calls()))
	}
	mu.Lock()
	defer mu.Unlock()
	line := log.String()
	if !strings.Contains(line, "delivery report dropped") || !strings.Contains(line, fmt.Sprintf("message_id=%d", ids[0])) || !strings.Contains(line, "503") {
		t.Errorf("the log does not say the report was dropped:\n%s", line)
	}
}

// TestURLClearedMeanwhile: a report whose organisation cleared its URL
// before it went out is not sent.
func TestURLClearedMeanwhile(t *testing.T) {
	p := newPanel(t)
	rcv := newReceiver(t, nil)
	acme := p.newOrg(t, "acme", rcv.URL)
	p.sent(t, p.queue(t, acme, "+37255500001")...)
	p.setURL(t, acme.id, "")
	if n, err := reports.NewWorker(p.db, true, quiet()).Flush(ctx); n != 0 || err != nil {
		t.Fatalf("Flush = %d, %v", n, err)
	}
	if len(rcv.Calls()) != 0 || rcv.conns.Load() != 0 {
		t.Errorf("%d calls after the URL was cleared", len(rcv.Calls()))
	}
	if q := p.queuedReports(t); len(q) != 0 {
		t.Errorf("queue %+v; want the report deleted", q)
	}
}

// TestLoopbackRefusedWithoutFlag: without --report-allow-loopback, a
// receiver on 127.0.0.1 is never connected to, whether the URL names the
// address or a name that resolves to it; the attempt fails saying why.
func TestLoopbackRefusedWithoutFlag(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "localhost"} {
		t.Run(host, func(t *testing.T) {
			p := newPanel(t)
			rcv := newReceiver(t, nil)
			url := strings.Replace(rcv.URL, "127.0.0.1", host, 1)
			acme := p.newOrg(t, "acme", url)
			p.sent(t, p.queue(t, acme, "+37255500001")...)
			if n, err := reports.NewWorker(p.db, false, quiet()).Flush(ctx); n != 0 || err != nil {
				t.Fatalf("Flush = %d, %v", n, err)
			}
			if c := rcv.conns.Load(); c != 0 || len(rcv.Calls()) != 0 {
				t.Fatalf("%d connections, %d calls to a loopback receiver without the flag", c, len(rcv.Calls()))
			}
			q := p.queuedReports(t)
			if len(q) != 1 || q[0].attempts != 1 || !strings.Contains(q[0].lastError, "a loopback address") || !strings.Contains(q[0].lastError, "--report-allow-loopback") {
				t.Fatalf("queue %+v; want a failed attempt saying the address is loopback", q)
			}
			// The same receiver with the flag.
			w := reports.NewWorker(p.db, true, quiet())
			w.Now = func() time.Time { return time.Now().Add(time.Minute) }
			if n, err := w.Flush(ctx); n != 1 || err != nil || rcv.conns.Load() == 0 {
				t.Fatalf("Flush with the flag = %d, %v", n, err)
			}
		})
	}
}

// TestPrivateAddressRefusedBeforeConnect: a report URL at a private
// address fails at once, with the refusal. 10.255.255.1 answers nothing:
// had a connection been tried, the attempt would end in the 30 s timeout
// (or the network's own error), not in the refusal.
func TestPrivateAddressRefusedBeforeConnect(t *testing.T) {
	p := newPanel(t)
	acme := p.newOrg(t, "acme", "http://10.255.255.1/reports")
	p.sent(t, p.queue(t, acme, "+37255500001")...)
	w := reports.NewWorker(p.db, true, quiet())
	w.Timeout = 30 * time.Second
	if n, err := w.Flush(ctx); n != 0 || err != nil {
		t.Fatalf("Flush = %d, %v", n, err)
	}
	q := p.queuedReports(t)
	if len(q) != 1 || q[0].attempts != 1 || q[0].lastError != "refused to connect to 10.255.255.1, a private address; reports go only to public addresses" {
		t.Fatalf("queue %+v; want a failed attempt refused before connecting", q)
	}
}

// TestCheckAddress: which addresses reports never go to.
func TestCheckAddress(t *testing.T) {
	for addr, want := range map[string]string{
		"93.184.216.34":          "",
		"2606:2800:220:1::248":   "",
		"100.63.255.255":         "",
		"127.0.0.1":              "loopback",
		"127.8.9.10":             "loopback",
		"::1":                    "loopback",
		"::ffff:127.0.0.1":       "loopback",
		"10.0.0.1":               "private",
		"172.16.5.4":             "private",
		"172.31.255.255":         "private",
		"192.168.1.1":            "private",
		"fc00::1":                "private",
		"fd12:3456::1":           "private",
		"::ffff:10.1.2.3":        "private",
		"100.64.0.1":             "shared",
		"169.254.169.254":        "link-local",
		"fe80::1":                "link-local",
		"0.0.0.0":                "unspecified",
		"0.1.2.3":                "unspecified",
		"::":                     "unspecified",
		"224.0.0.1":              "multicast",
		"239.255.255.250":        "multicast",
		"ff02::1":                "multicast",
		"255.255.255.255":        "broadcast",
		"fe80::1%eth0":           "link-local",
		"::ffff:169.254.169.254": "link-local",
	} {
		err := reports.CheckAddress(netip.MustParseAddr(addr), false)
		var refused *reports.AddressError
		switch {
		case want == "" && err != nil:
			t.Errorf("%s refused: %v", addr, err)
		case want != "" && (!errors.As(err, &refused) || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: %v, want refused as %s", addr, err, want)
		}
	}
	for addr, ok := range map[string]bool{"127.0.0.1": true, "::1": true, "10.0.0.1": false, "169.254.169.254": false, "0.0.0.0": false} {
		if err := reports.CheckAddress(netip.MustParseAddr(addr), true); (err == nil) != ok {
			t.Errorf("with loopback allowed, %s: %v", addr, err)
		}
	}
}

// TestRedirectNotFollowed: a receiver that redirects is a failed attempt;
// the other server never hears of the report.
func TestRedirectNotFollowed(t *testing.T) {
	p := newPanel(t)
	elsewhere := newReceiver(t, nil)
	rcv := httptest.NewServer(http.RedirectHandler(elsewhere.URL, http.StatusTemporaryRedirect))
	defer rcv.Close()
	acme := p.newOrg(t, "acme", rcv.URL)
	p.sent(t, p.queue(t, acme, "+37255500001")...)
	if n, err := reports.NewWorker(p.db, true, quiet()).Flush(ctx); n != 0 || err != nil {
		t.Fatalf("Flush = %d, %v", n, err)
	}
	if c := elsewhere.conns.Load(); c != 0 {
		t.Errorf("the redirect was followed: %d connections elsewhere", c)
	}
	if q := p.queuedReports(t); len(q) != 1 || q[0].lastError != "the receiver answered 307 Temporary Redirect" {
		t.Errorf("queue %+v", q)
	}
}

// TestDeliveredNeverBeforeSent: while a message's "sent" report waits for
// its retry, its "delivered" report waits too; then both go, in order.
func TestDeliveredNeverBeforeSent(t *testing.T) {
	p := newPanel(t)
	rcv := newReceiver(t, func(c call, attempt int) int {
		if c.status() == "sent" && attempt == 1 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	acme := p.newOrg(t, "acme", rcv.URL)
	ids := p.queue(t, acme, "+37255500001")
	p.sent(t, ids...)
	w := reports.NewWorker(p.db, true, quiet())
	now := time.Now()
	w.Now = func() time.Time { return now }
	w.Flush(ctx)
	p.delivered(t, ids[0])
	now = now.Add(time.Second)
	if n, _ := w.Flush(ctx); n != 0 || len(rcv.Calls()) != 1 {
		t.Fatalf("the delivered report went out before the sent one: %d calls", len(rcv.Calls()))
	}
	now = now.Add(time.Minute)
	if n, err := w.Flush(ctx); n != 2 || err != nil {
		t.Fatalf("Flush after the retry = %d, %v; want both", n, err)
	}
	var got []string
	for _, c := range rcv.Calls() {
		got = append(got, c.status())
	}
	if !slices.Equal(got, []string{"sent", "sent", "delivered"}) {
		t.Errorf("calls %v, want sent (500), sent, delivered", got)
	}
}

// TestSlowReceiverDoesNotHoldOthers: an organisation whose receiver hangs,
// with many reports due before the others', holds no more than its share of
// the calls: another organisation's reports arrive meanwhile.
func TestSlowReceiverDoesNotHoldOthers(t *testing.T) {
	p := newPanel(t)
	release := make(chan struct{})
	var releaseOnce sync.Once
	free := func() { releaseOnce.Do(func() { close(release) }) }
	defer free()
	slow := newReceiver(t, func(call, int) int { <-release; return http.StatusOK })
	fast := newReceiver(t, nil)
	a := p.newOrg(t, "slow", slow.URL)
	b := p.newOrg(t, "fast", fast.URL)
	numbers := make([]string, 20)
	for i := range numbers {
		numbers[i] = fmt.Sprintf("+3725551%04d", i)
	}
	p.sent(t, p.queue(t, a, numbers...)...)
	p.sent(t, p.queue(t, b, "+37255500001", "+37255500002", "+37255500003")...)

	w := reports.NewWorker(p.db, true, quiet())
	w.Timeout = time.Minute // longer than the test waits: the slow calls stay under way
	run, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { w.Run(run); close(done) }()
	defer func() { free(); stop(); <-done }()

	deadline := time.Now().Add(30 * time.Second) // an upper bound for a hang
	for len(fast.Calls()) < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(fast.Calls()); n != 3 {
		t.Fatalf("the fast receiver got %d reports while the slow one hung, want 3", n)
	}
	if n := len(slow.Calls()); n > reports.DefaultPerOrganisation {
		t.Errorf("the slow receiver holds %d calls, want at most %d", n, reports.DefaultPerOrganisation)
	}
}

// TestTwoWorkersSendEachOnce: two workers, each on its own handle of one
// database as two processes would be, send 300 reports: each arrives
// exactly once.
func TestTwoWorkersSendEachOnce(t *testing.T) {
	p := newPanel(t)
	rcv := newReceiver(t, nil)
	const n = 300
	numbers := make([]string, n)
	for i := range numbers {
		numbers[i] = fmt.Sprintf("+3725560%04d", i)
	}
	// Three organisations, so that both workers have room to work.
	for i, name := range []string{"acme", "bolt", "cask"} {
		o := p.newOrg(t, name, rcv.URL)
		p.sent(t, p.queue(t, o, numbers[i*n/3:(i+1)*n/3]...)...)
	}
	other, err := store.Open(ctx, p.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	run, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, db := range []*store.DB{p.db, other} {
		w := reports.NewWorker(db, true, quiet())
		wg.Go(func() { w.Run(run) })
	}
	deadline := time.Now().Add(60 * time.Second)
	for p.count(t, `SELECT COUNT(*) FROM api_reports`) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	wg.Wait()
	seen := map[int64]int{}
	for _, c := range rcv.Calls() {
		seen[c.eventID()]++
	}
	if len(seen) != n || len(rcv.Calls()) != n {
		t.Errorf("%d calls for %d reports, want %d each", len(rcv.Calls()), len(seen), n)
	}
	for id, times := range seen {
		if times != 1 {
			t.Errorf("report %d arrived %d times", id, times)
		}
	}
}

// TestStopWhileReceiverHangs: a worker stopped while its calls hang gives
// their reports back untried; the next process's worker sends each once.
func TestStopWhileReceiverHangs(t *testing.T) {
	p := newPanel(t)
	hang := make(chan struct{})
	var hung sync.WaitGroup
	hung.Add(4)
	var mu sync.Mutex
	accepted := map[int64]int{}
	rcv := newReceiver(t, func(c call, _ int) int {
		select {
		case <-hang: // the first process is gone
		default:
			hung.Done()
			<-hang
			return http.StatusOK // its caller hung up long ago
		}
		mu.Lock()
		accepted[c.eventID()]++
		mu.Unlock()
		return http.StatusOK
	})
	var total int
	for _, name := range []string{"acme", "bolt"} {
		o := p.newOrg(t, name, rcv.URL)
		numbers := make([]string, 5)
		for i := range numbers {
			numbers[i] = fmt.Sprintf("+3725562%04d", total+i)
		}
		total += len(numbers)
		p.sent(t, p.queue(t, o, numbers...)...)
	}

	first := reports.NewWorker(p.db, true, quiet())
	first.Concurrency = 4
	run, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { first.Run(run); close(done) }()
	hung.Wait() // four calls under way, none answered
	stop()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	close(hang)
	for _, q := range p.queuedReports(t) {
		if q.claimed != nil || q.attempts != 0 {
			t.Errorf("after the stop, report %d is %+v; want unclaimed, not tried", q.id, q)
		}
	}
	if q := p.queuedReports(t); len(q) != total {
		t.Fatalf("%d reports queued after the stop, want all %d", len(q), total)
	}

	other, err := store.Open(ctx, p.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if n, err := reports.NewWorker(other, true, quiet()).Flush(ctx); n != total || err != nil {
		t.Fatalf("Flush after the restart = %d, %v; want all %d", n, err, total)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(accepted) != total {
		t.Errorf("%d reports accepted after the restart, want %d", len(accepted), total)
	}
	for id, times := range accepted {
		if times != 1 {
			t.Errorf("report %d accepted %d times", id, times)
		}
	}
}

// TestRunSendsWithoutNotify: a running worker finds a report written by the
// database's trigger on its own, within its regular look at the queue.
func TestRunSendsWithoutNotify(t *testing.T) {
	p := newPanel(t)
	rcv := newReceiver(t, nil)
	acme := p.newOrg(t, "acme", rcv.URL)
	w := reports.NewWorker(p.db, true, quiet())
	run, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { w.Run(run); close(done) }()
	defer func() { stop(); <-done }()
	time.Sleep(50 * time.Millisecond) // asleep, with nothing queued
	p.sent(t, p.queue(t, acme, "+37255500001")...)
	deadline := time.Now().Add(20 * time.Second)
	for len(rcv.Calls()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if len(rcv.Calls()) != 1 {
		t.Fatalf("%d calls, want the report sent", len(rcv.Calls()))
	}
	var nilWorker *reports.Worker
	nilWorker.Notify() // does nothing, does not panic
}

// TestBody: the JSON of PRODUCT.md, with error null unless the message
// failed.
func TestBody(t *testing.T) {
	at := time.Date(2026, 11, 25, 1, 2, 3, 456e6, time.FixedZone("EET", 2*3600))
	r := &switchboard.Report{ID: 7, MessageID: 42, Status: switchboard.StatusDelivered, From: "Acme", To: "+37255500001", At: at}
	b, err := reports.Body(r)
	if want := `{"event_id":7,"id":42,"status":"delivered","error":null,"from":"Acme","to":"+37255500001","status_at":"2026-11-24T23:02:03.456Z"}`; err != nil || string(b) != want {
		t.Errorf("Body = %s, %v\nwant %s", b, err, want)
	}
	r.Status, r.Error = switchboard.StatusFailed, "no such number"
	b, _ = reports.Body(r)
	var m map[string]any
	json.Unmarshal(b, &m)
	if m["error"] != "no such number" || m["status"] != "failed" {
		t.Errorf("Body of a failure = %s", b)
	}
}

// TestDeliveredFollowsASlowSent: a "delivered" report that comes while its
// "sent" report's call is still under way waits for that call, and goes out
// soon after it, not at the end of the sent report's lease.
func TestDeliveredFollowsASlowSent(t *testing.T) {
	p := newPanel(t)
	sentCall := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	rcv := newReceiver(t, func(c call, _ int) int {
		if c.status() == "sent" {
			once.Do(func() { close(sentCall) })
			<-release
		}
		return http.StatusOK
	})
	acme := p.newOrg(t, "acme", rcv.URL)
	ids := p.queue(t, acme, "+37255500001")
	p.sent(t, ids...)
	w := reports.NewWorker(p.db, true, quiet())
	run, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { w.Run(run); close(done) }()
	defer func() { stop(); <-done }()
	<-sentCall
	p.delivered(t, ids[0])
	// Wait until the worker has found the delivered report and held it
	// back behind the call under way.
	deadline := time.Now().Add(30 * time.Second)
	for {
		q := p.queuedReports(t)
		if len(q) == 2 && q[1].next > q[1].created {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the delivered report was never held back: %+v", q)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(rcv.Calls()); n != 1 {
		t.Fatalf("%d calls while the sent report's call is under way, want 1", n)
	}
	close(release)
	// Well within the one-minute lease: a hang's bound, not a speed test.
	deadline = time.Now().Add(store.ReportLease / 2)
	for len(rcv.Calls()) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	var got []string
	for _, c := range rcv.Calls() {
		got = append(got, c.status())
	}
	if !slices.Equal(got, []string{"sent", "delivered"}) {
		t.Fatalf("calls %v, want sent then delivered, before the sent report's lease ends", got)
	}
}
