package reports

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"switchboard"
	"switchboard/gateway"
	"switchboard/store"
)

// Queue is the queue of delivery reports the Worker sends; *store.DB is
// one. Each method runs in its own short transaction, and the Worker never
// calls a receiver while one is open.
type Queue interface {
	// ClaimReports returns up to limit reports due at now, no more of one
	// organisation than room allows, and leases them to this worker (see
	// store.ClaimReports).
	ClaimReports(ctx context.Context, now time.Time, limit int, room store.ReportRoom) ([]switchboard.Report, error)
	// RecordReports records the outcomes of claimed reports.
	RecordReports(ctx context.Context, outcomes []switchboard.ReportOutcome) error
	// NextReportAt returns when the next report is due, and false when
	// there is none.
	NextReportAt(ctx context.Context) (time.Time, bool, error)
}

// Timeout bounds one call to a receiver, from connecting to the end of its
// answer.
const Timeout = 10 * time.Second

// GiveUpAfter is how long after its status changed a report is retried:
// one a day late tells its receiver little that the API cannot.
const GiveUpAfter = 24 * time.Hour

// DefaultConcurrency is how many calls a Worker has under way at once when
// Worker.Concurrency is zero.
const DefaultConcurrency = 8

// DefaultPerOrganisation is how many reports of one organisation a Worker
// has under way at once when Worker.PerOrganisation is zero: a receiver that
// hangs holds that many calls, and the others go on.
const DefaultPerOrganisation = 2

// poll is the longest the Worker sleeps without looking at the queue. The
// queue is written by a trigger, in transactions of the delivery worker,
// the gateway's reports, refunds, other processes: none of them wakes this
// Worker, so it looks every few seconds (one probe of an index).
const poll = 2 * time.Second

// storeTimeout bounds one call to the queue. Outcomes are recorded within
// it even while the Worker stops: a report the receiver took must not be
// sent again.
const storeTimeout = 10 * time.Second

// maxLastError is the longest error kept with a report.
const maxLastError = 500

// Worker POSTs the delivery reports of a Queue, Concurrency at a time and
// no more than PerOrganisation of one organisation, and records what became
// of each. Its exported fields may be changed before Run or Flush is first
// called.
type Worker struct {
	// Now returns the current time; tests move it forward.
	Now func() time.Time
	// Backoff returns how long to wait after a report's attempts-th failed
	// attempt: gateway.DefaultBackoff (10 s doubling to an hour, with
	// jitter) unless tests change it.
	Backoff func(attempts int) time.Duration
	// Concurrency is how many calls are under way at once; zero means
	// DefaultConcurrency.
	Concurrency int
	// PerOrganisation is how many reports of one organisation are under
	// way at once; zero means DefaultPerOrganisation.
	PerOrganisation int
	// Timeout bounds each call; zero means Timeout. Tests shorten it.
	Timeout time.Duration
	// GiveUpAfter is how long after its status changed a report is
	// retried; zero means GiveUpAfter.
	GiveUpAfter time.Duration

	queue  Queue
	client *http.Client
	logger *slog.Logger
	wake   chan struct{}

	// dispatching lets one Run or Flush claim reports at a time.
	dispatching sync.Mutex
	mu          sync.Mutex
	slots       chan struct{} // one token per call under way
	underway    map[int64]int // reports under way, by organisation

	// Outcomes wait in pending while one goroutine records those before
	// them; it then records all that arrived meanwhile in one transaction
	// (a group commit: SQLite has one writer, shared with the panel).
	recording sync.Mutex
	pending   []*finished
	recorder  bool
}

// finished is the outcomes of one message's reports, waiting to be
// recorded.
type finished struct {
	outcomes []switchboard.ReportOutcome
	err      error
	recorded chan struct{} // closed once err is set
}

// maxBatch bounds how many outcomes one transaction records.
const maxBatch = 500

// NewWorker returns a Worker that sends the reports of queue and logs to
// logger (slog.Default() when nil). allowLoopback lets reports reach this
// machine's loopback addresses (--report-allow-loopback); every other
// address that is not public is refused whatever.
func NewWorker(queue Queue, allowLoopback bool, logger *slog.Logger) *Worker {
	if logger == nil {
		logger = slog.Default()
	}
	dialer := &net.Dialer{
		Timeout:   Timeout,
		KeepAlive: 30 * time.Second,
		// Checked here, on the address about to be connected to, after
		// the name was resolved: a check of the URL when it was saved
		// proves nothing about what its name resolves to now.
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return &AddressError{Reason: "an address that could not be read"}
			}
			return CheckAddress(ap.Addr(), allowLoopback)
		},
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	// A proxy would make the connection the check sees the proxy's.
	transport.Proxy = nil
	transport.DialContext = dialer.DialContext
	transport.MaxIdleConnsPerHost = DefaultPerOrganisation
	return &Worker{
		Now:     time.Now,
		Backoff: gateway.DefaultBackoff,
		queue:   queue,
		logger:  logger,
		wake:    make(chan struct{}, 1),
		client: &http.Client{
			Transport: transport,
			// A redirect is not followed: it could carry the report to
			// an address the check never saw in the URL, and the
			// receiver's answer is then not 2xx: a failed attempt.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		underway: map[int64]int{},
	}
}

// AddressError is a connection the Worker refused to make: the report URL
// led to an address that is not public.
type AddressError struct {
	Addr   netip.Addr
	Reason string // "a private address"
}

func (e *AddressError) Error() string {
	if !e.Addr.IsValid() {
		return "reports: refused to connect to " + e.Reason
	}
	return fmt.Sprintf("reports: refused to connect to %s, %s", e.Addr, e.Reason)
}

// The address ranges CheckAddress refuses beyond netip's own tests.
var (
	sharedAddresses = netip.MustParsePrefix("100.64.0.0/10") // carrier-grade NAT, RFC 6598
	thisNetwork     = netip.MustParsePrefix("0.0.0.0/8")
	broadcast       = netip.MustParseAddr("255.255.255.255")
)

// CheckAddress returns an *AddressError when a report must not be sent to
// addr: a loopback address (unless allowLoopback), a private one (RFC 1918,
// fc00::/7) or a shared one (100.64.0.0/10), a link-local one (169.254/16,
// fe80::/10: cloud metadata services live there), an unspecified one,
// multicast or broadcast. IPv4 addresses written as IPv6 (::ffff:10.0.0.1)
// are judged as IPv4.
func CheckAddress(addr netip.Addr, allowLoopback bool) error {
	ip := addr.Unmap()
	reason := ""
	switch {
	case ip.IsLoopback():
		if allowLoopback {
			return nil
		}
		reason = "a loopback address (the operator allows those with --report-allow-loopback)"
	case ip.IsUnspecified() || (ip.Is4() && thisNetwork.Contains(ip)):
		reason = "an unspecified address"
	case ip.IsPrivate():
		reason = "a private address"
	case ip.Is4() && sharedAddresses.Contains(ip):
		reason = "a shared (carrier-grade NAT) address"
	case ip.IsLinkLocalUnicast():
		reason = "a link-local address"
	case ip.IsMulticast() || ip == broadcast:
		reason = "a multicast or broadcast address"
	default:
		return nil
	}
	return &AddressError{Addr: ip, Reason: reason + "; reports go only to public addresses"}
}

// Notify wakes Run up, to send reports due now or read a changed report
// URL. It never blocks, and does nothing on a nil Worker.
func (w *Worker) Notify() {
	if w == nil {
		return
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run sends reports until ctx is done: whatever is due, then it sleeps
// until the next report is due, Notify is called, or a couple of seconds
// passed. When ctx ends, the calls under way are cut, their reports given
// back untried (the claim released, the attempt not counted), and Run
// returns once every outcome is recorded.
func (w *Worker) Run(ctx context.Context) {
	var sending sync.WaitGroup
	defer sending.Wait()
	for ctx.Err() == nil {
		_, err := w.dispatch(ctx, w.Now(), &sending, func([]switchboard.ReportOutcome, error) {
			// A call is over: look again, for what waited on it.
			w.Notify()
		})
		if err != nil && ctx.Err() == nil {
			w.logger.Error("reports: delivery report queue", slog.Any("error", err))
		}
		timer := time.NewTimer(w.sleep(ctx))
		select {
		case <-ctx.Done():
		case <-w.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// sleep returns how long Run may wait before the next report is due.
func (w *Worker) sleep(ctx context.Context) time.Duration {
	next, ok, err := w.queue.NextReportAt(ctx)
	if err != nil || !ok {
		return poll
	}
	// Due already means it waits for a call of its organisation to end,
	// and that end wakes Run: wait a little rather than spin.
	return min(max(next.Sub(w.Now()), time.Second), poll)
}

// Flush sends every report due now, in order and each at most once, waits
// until every outcome is recorded, and returns how many receivers
// accepted. Failed attempts are recorded, not errors; an error of the queue
// is returned. Reports that Run is sending at the same moment are left to
// Run.
func (w *Worker) Flush(ctx context.Context) (accepted int, err error) {
	var mu sync.Mutex
	var errs []error
	now := w.Now()
	for {
		var sending sync.WaitGroup
		claimed, err := w.dispatch(ctx, now, &sending, func(outcomes []switchboard.ReportOutcome, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			for _, o := range outcomes {
				if o.Result == switchboard.ReportAccepted {
					accepted++
				}
			}
		})
		sending.Wait()
		if err != nil {
			errs = append(errs, err)
		}
		// Once the calls are over, reports that waited for room or for an
		// earlier report of their message may be due: look again, until a
		// round claims nothing (each report claimed is then done, or due
		// after now).
		if claimed == 0 || err != nil {
			return accepted, errors.Join(errs...)
		}
	}
}

// dispatch starts a goroutine (counted in sending) for each message whose
// reports it claims, each with a slot, until nothing more is due at now
// that this Worker has room for, and returns how many reports it claimed.
// done is called with each goroutine's outcomes once they are recorded,
// with the queue's error.
func (w *Worker) dispatch(ctx context.Context, now time.Time, sending *sync.WaitGroup, done func([]switchboard.ReportOutcome, error)) (int, error) {
	w.dispatching.Lock()
	defer w.dispatching.Unlock()
	w.mu.Lock()
	if w.slots == nil {
		n := w.Concurrency
		if n <= 0 {
			n = DefaultConcurrency
		}
		w.slots = make(chan struct{}, n)
	}
	perOrg := w.PerOrganisation
	if perOrg <= 0 {
		perOrg = DefaultPerOrganisation
	}
	w.mu.Unlock()

	claimed := 0
	for {
		// Claim no more than there are free slots: a claimed report
		// waiting here could outlive its lease.
		select {
		case w.slots <- struct{}{}:
		case <-ctx.Done():
			return claimed, ctx.Err()
		}
		free := 1
	more:
		for free < cap(w.slots) {
			select {
			case w.slots <- struct{}{}:
				free++
			default:
				break more
			}
		}
		w.mu.Lock()
		underway := maps.Clone(w.underway)
		w.mu.Unlock()
		cctx, cancel := context.WithTimeout(ctx, storeTimeout)
		list, err := w.queue.ClaimReports(cctx, now, free, store.ReportRoom{PerOrganisation: perOrg, Underway: underway})
		cancel()
		if err != nil {
			for range free {
				<-w.slots
			}
			return claimed, fmt.Errorf("reports: due reports: %w", err)
		}
		claimed += len(list)
		groups := byMessage(list)
		// A queue that hands out more than asked for still gets one slot
		// per message: the extra slots are waited for here.
		for range len(groups) - free {
			w.slots <- struct{}{}
		}
		for range free - len(groups) {
			<-w.slots
		}
		for _, g := range groups {
			w.mu.Lock()
			w.underway[g[0].OrgID] += len(g)
			w.mu.Unlock()
			sending.Go(func() {
				outcomes := w.sendInOrder(ctx, g, now)
				err := w.record(outcomes)
				w.mu.Lock()
				if w.underway[g[0].OrgID] -= len(g); w.underway[g[0].OrgID] <= 0 {
					delete(w.underway, g[0].OrgID)
				}
				w.mu.Unlock()
				<-w.slots
				done(outcomes, err)
			})
		}
		if len(list) == 0 {
			return claimed, nil
		}
	}
}

// byMessage splits a claim (in id order) into the reports of each
// message, each group in id order, which is the order they go out in.
func byMessage(list []switchboard.Report) [][]switchboard.Report {
	var groups [][]switchboard.Report
	at := map[int64]int{}
	for _, r := range list {
		i, ok := at[r.MessageID]
		if !ok {
			i = len(groups)
			at[r.MessageID] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], r)
	}
	return groups
}

// sendInOrder POSTs the reports of one message one after the other, and
// returns their outcomes. After one that failed, the later ones are given
// back untried: they wait for it (see store.ClaimReports).
func (w *Worker) sendInOrder(ctx context.Context, reports []switchboard.Report, round time.Time) []switchboard.ReportOutcome {
	outcomes := make([]switchboard.ReportOutcome, 0, len(reports))
	failed := false
	for i := range reports {
		r := &reports[i]
		if failed || ctx.Err() != nil {
			outcomes = append(outcomes, switchboard.ReportOutcome{ReportID: r.ID, Result: switchboard.ReportUntried})
			continue
		}
		o := w.send(ctx, r, round)
		failed = o.Result != switchboard.ReportAccepted
		outcomes = append(outcomes, o)
	}
	return outcomes
}

// send POSTs one report and returns its outcome. round is the time the
// dispatch claims at: a report that fails is due again after it, never in
// the same round, however short the backoff.
func (w *Worker) send(ctx context.Context, r *switchboard.Report, round time.Time) switchboard.ReportOutcome {
	o := switchboard.ReportOutcome{ReportID: r.ID}
	err := w.post(ctx, r)
	if err == nil {
		o.Result = switchboard.ReportAccepted
		return o
	}
	if ctx.Err() != nil {
		// Stopped, not failed: given back for the next worker.
		o.Result = switchboard.ReportUntried
		return o
	}
	o.Error = err.Error()
	if len(o.Error) > maxLastError {
		o.Error = strings.ToValidUTF8(o.Error[:maxLastError], "")
	}
	giveUp := w.GiveUpAfter
	if giveUp <= 0 {
		giveUp = GiveUpAfter
	}
	attempts := r.Attempts + 1
	if w.Now().Sub(r.At) >= giveUp {
		w.logger.LogAttrs(ctx, slog.LevelError, "reports: delivery report dropped: its receiver failed for 24 hours",
			slog.Int64("event_id", r.ID), slog.Int64("org_id", r.OrgID), slog.Int64("message_id", r.MessageID),
			slog.String("status", string(r.Status)), slog.Int("attempts", attempts), slog.String("error", o.Error))
		o.Result = switchboard.ReportDropped
		return o
	}
	next := w.Now().Add(w.Backoff(attempts))
	if earliest := round.Add(time.Millisecond); next.Before(earliest) {
		next = earliest
	}
	w.logger.LogAttrs(ctx, slog.LevelWarn, "reports: delivery report not accepted, will retry",
		slog.Int64("event_id", r.ID), slog.Int64("org_id", r.OrgID), slog.Int("attempts", attempts),
		slog.Time("next_attempt", next), slog.String("error", o.Error))
	o.Result, o.Retry = switchboard.ReportRetry, next
	return o
}

// message is the JSON a receiver gets: the report's own id (event_id, the
// same on every attempt), the message's id, the status it reached and its
// reason, its sender and recipient, and when the status changed.
type message struct {
	EventID  int64     `json:"event_id"`
	ID       int64     `json:"id"`
	Status   string    `json:"status"`
	Error    *string   `json:"error"`
	From     string    `json:"from"`
	To       string    `json:"to"`
	StatusAt time.Time `json:"status_at"`
}

// Body returns the JSON body a receiver gets for r: {"event_id", "id",
// "status", "error" (null unless failed), "from", "to", "status_at" (RFC
// 3339, UTC)}.
func Body(r *switchboard.Report) ([]byte, error) {
	m := message{EventID: r.ID, ID: r.MessageID, Status: string(r.Status), From: r.From, To: r.To, StatusAt: r.At.UTC()}
	if r.Error != "" {
		m.Error = &r.Error
	}
	return json.Marshal(m)
}

// post POSTs r to its organisation's report URL, signed with its secret,
// and returns nil when the receiver answered 2xx.
func (w *Worker) post(ctx context.Context, r *switchboard.Report) error {
	body, err := Body(r)
	if err != nil {
		return fmt.Errorf("encode the report: %v", err)
	}
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = Timeout
	}
	call, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(call, http.MethodPost, r.URL, bytes.NewReader(body))
	if err != nil {
		return errors.New("the report URL could not be used")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Switchboard")
	req.Header.Set(gateway.SignatureHeader, gateway.Sign(body, r.Secret))
	res, err := w.client.Do(req)
	if err != nil {
		return errors.New(describe(err, timeout))
	}
	// Drained, so the connection is used again.
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("the receiver answered %s", res.Status)
	}
	return nil
}

// describe says what went wrong with a call that got no answer, without
// the URL, whose query may hold the customer's token: these words reach
// the log and the queue.
func describe(err error, timeout time.Duration) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var refused *AddressError
	var dns *net.DNSError
	var op *net.OpError
	var ne net.Error
	switch {
	case errors.As(err, &refused):
		return strings.TrimPrefix(refused.Error(), "reports: ")
	case errors.As(err, &dns):
		return "the report URL's host name does not resolve (" + dns.Error() + ")"
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return fmt.Sprintf("the receiver did not answer within %s", timeout)
	case errors.As(err, &op) && op.Op == "dial":
		return "the receiver refused the connection (" + op.Err.Error() + ")"
	}
	return "the call failed (" + err.Error() + ")"
}

// record writes outcomes, together with those that arrive while another
// goroutine records the ones before them, and returns once they are
// written (or could not be), within storeTimeout and even while the Worker
// stops: a report the receiver took must not be sent again.
func (w *Worker) record(outcomes []switchboard.ReportOutcome) error {
	f := &finished{outcomes: outcomes, recorded: make(chan struct{})}
	w.recording.Lock()
	w.pending = append(w.pending, f)
	if w.recorder {
		// The goroutine recording now takes this one in its next round.
		w.recording.Unlock()
		<-f.recorded
		return f.err
	}
	w.recorder = true
	for len(w.pending) > 0 {
		n, size := 0, 0
		for n < len(w.pending) && (n == 0 || size+len(w.pending[n].outcomes) <= maxBatch) {
			size += len(w.pending[n].outcomes)
			n++
		}
		batch := w.pending[:n:n]
		w.pending = w.pending[n:]
		w.recording.Unlock()
		w.recordBatch(batch)
		w.recording.Lock()
	}
	w.pending = nil
	w.recorder = false
	w.recording.Unlock()
	return f.err
}

// recordBatch writes batch in one transaction, or, if that fails, each
// message's outcomes in a transaction of their own, so that one bad outcome
// does not hold the others.
func (w *Worker) recordBatch(batch []*finished) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	var all []switchboard.ReportOutcome
	for _, f := range batch {
		all = append(all, f.outcomes...)
	}
	err := w.queue.RecordReports(ctx, all)
	for _, f := range batch {
		f.err = err
		if err != nil && len(batch) > 1 {
			f.err = w.queue.RecordReports(ctx, f.outcomes)
		}
		if f.err != nil {
			w.logger.Error("reports: record delivery reports", slog.Any("error", f.err))
		}
		close(f.recorded)
	}
}
