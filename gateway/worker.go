package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"switchboard"
)

// Queue is the queue of messages the Worker sends; *store.DB is one. Each
// method runs in its own short transaction, and the Worker never calls a
// gateway while one is open.
type Queue interface {
	// ClaimMessages returns up to limit queued messages due at now and
	// leases them to this worker: no other worker, of this process or
	// another, gets them until their outcome is recorded or the lease runs
	// out (the process died mid-send).
	ClaimMessages(ctx context.Context, now time.Time, limit int) ([]switchboard.Delivery, error)
	// RecordDeliveries records the outcomes of claimed messages, all in
	// one transaction.
	RecordDeliveries(ctx context.Context, outcomes []switchboard.DeliveryOutcome) error
	// NextMessageAt returns when the next queued message is due, and false
	// when there is none.
	NextMessageAt(ctx context.Context) (time.Time, bool, error)
}

// Backoff bounds: the first retry comes after BackoffMin, each later one
// after twice as long, never more than BackoffMax.
const (
	// BackoffMin is the wait after the first outage.
	BackoffMin = 10 * time.Second
	// BackoffMax is the longest wait between two attempts.
	BackoffMax = time.Hour
)

// GiveUpAfter is how long a message is retried through an outage before it
// fails and is refunded: an SMS days late is worth less than the money
// back.
const GiveUpAfter = 48 * time.Hour

// DefaultBackoff returns how long to wait after a message's attempts-th
// outage: 10 s, 20 s, 40 s… up to 1 h, plus up to a tenth more at random,
// so that messages which met an outage together are not retried together.
func DefaultBackoff(attempts int) time.Duration {
	d := BackoffMax
	if attempts < 1 {
		attempts = 1
	}
	if attempts <= 20 { // 10 s << 20 is far past an hour
		d = min(BackoffMin<<(attempts-1), BackoffMax)
	}
	return d + rand.N(d/10+1)
}

// DefaultConcurrency is how many messages a Worker has under way at once
// (sent, or waiting for their outcome to be recorded) when
// Worker.Concurrency is zero: enough that a slow answer from the gateway
// does not hold the others, and that the outcomes of many messages are
// recorded in one transaction; few enough not to flood a gateway.
const DefaultConcurrency = 32

// maxBatch bounds how many outcomes one transaction records.
const maxBatch = 500

// idleCheck is the longest the Worker sleeps without looking at the queue,
// in case messages were queued without a Notify (by another process, or
// before a crash).
const idleCheck = time.Minute

// storeTimeout bounds recording outcomes, which happens even while the
// Worker is stopping: a message the gateway took must not be sent again.
const storeTimeout = 10 * time.Second

// maxLastError is the longest outage description kept in the queue.
const maxLastError = 1000

// Worker sends the messages of a Queue through a Gateway, Concurrency at a
// time, and records what became of each: sent (or delivered), failed and
// refunded when the gateway refused it for good, or queued again with a
// backoff after an outage. Its exported fields may be changed before Run
// or Flush is first called.
type Worker struct {
	// Now returns the current time; tests move it forward.
	Now func() time.Time
	// Backoff returns how long to wait after a message's attempts-th
	// outage; DefaultBackoff unless tests shorten it.
	Backoff func(attempts int) time.Duration
	// Concurrency is how many messages are under way at once; zero means
	// DefaultConcurrency.
	Concurrency int
	// GiveUpAfter is how long after it was queued a message that meets
	// outages is given up; zero means GiveUpAfter.
	GiveUpAfter time.Duration

	queue   Queue
	gateway Gateway
	logger  *slog.Logger
	wake    chan struct{}

	// dispatching lets one Run or Flush claim messages at a time. No
	// message is sent by two goroutines, or two processes, at once: each is
	// claimed from the queue (Queue.ClaimMessages) until its outcome is
	// recorded.
	dispatching sync.Mutex
	mu          sync.Mutex
	slots       chan struct{} // one token per message under way

	// Outcomes wait in pending while one goroutine records those before
	// them; it then records all that arrived meanwhile in one transaction
	// (a group commit).
	recording sync.Mutex
	pending   []finished
	recorder  bool
}

// finished is an outcome waiting to be recorded, and what to do once it is.
type finished struct {
	outcome  switchboard.DeliveryOutcome
	done     func(err error)
	recorded chan struct{} // closed once done has run
}

// NewWorker returns a Worker that sends the messages of queue through gw
// and logs to logger (slog.Default() when nil).
func NewWorker(queue Queue, gw Gateway, logger *slog.Logger) *Worker {
	if logger == nil {
		logger = slog.Default()
	}
	return &Worker{
		Now:     time.Now,
		Backoff: DefaultBackoff,
		queue:   queue,
		gateway: gw,
		logger:  logger,
		wake:    make(chan struct{}, 1),
	}
}

// Notify wakes Run up to send what was just queued. It never blocks, and
// does nothing on a nil Worker.
func (w *Worker) Notify() {
	if w == nil {
		return
	}
	select {
	case w.wake <- struct{}{}:
	default: // a wake-up is already pending; it will see these messages too
	}
}

// Run sends messages until ctx is done: it starts sending whatever is due
// (Concurrency at a time), then sleeps until the next message is due,
// Notify is called, or a minute has passed. When ctx ends, the calls to
// the gateway under way are cut, those messages are given back to the
// queue untried (their claims released, the attempt not counted), and Run
// returns once every outcome is recorded.
func (w *Worker) Run(ctx context.Context) {
	var sending sync.WaitGroup
	defer sending.Wait()
	for ctx.Err() == nil {
		err := w.dispatch(ctx, &sending, func(_ switchboard.DeliveryOutcome, err error) {
			if err != nil && ctx.Err() == nil {
				w.logger.Error("gateway: message queue", slog.Any("error", err))
			}
			// A slot is free: look again, for what waited on it.
			w.Notify()
		})
		if err != nil && ctx.Err() == nil {
			w.logger.Error("gateway: message queue", slog.Any("error", err))
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

// sleep returns how long Run may wait before the next message is due.
func (w *Worker) sleep(ctx context.Context) time.Duration {
	next, ok, err := w.queue.NextMessageAt(ctx)
	if err != nil || !ok {
		return idleCheck
	}
	// Due already means it is being sent, or arrived meanwhile and Notify
	// will say so: wait a little rather than spin.
	return min(max(next.Sub(w.Now()), time.Second), idleCheck)
}

// Flush sends every message due now, once each and Concurrency at a time,
// waits until every outcome is recorded, and returns how many the gateway
// accepted. Refusals and outages are recorded, not errors; an error of the
// queue is returned after the others were tried. Messages that Run is
// sending at the same moment are left to Run.
func (w *Worker) Flush(ctx context.Context) (accepted int, err error) {
	var sending sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	err = w.dispatch(ctx, &sending, func(o switchboard.DeliveryOutcome, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, err)
		} else if o.Status == switchboard.StatusSent || o.Status == switchboard.StatusDelivered {
			accepted++
		}
	})
	sending.Wait()
	if err != nil {
		errs = append(errs, err)
	}
	return accepted, errors.Join(errs...)
}

// dispatch starts sending, each in its own goroutine counted in sending,
// every message due now that is not under way already, once each, and
// returns when all have started (it waits for a free slot before each
// claim) or the queue failed. done is called once each outcome is recorded
// (or could not be), with the outcome and the queue's error.
func (w *Worker) dispatch(ctx context.Context, sending *sync.WaitGroup, done func(switchboard.DeliveryOutcome, error)) error {
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
	batch := cap(w.slots)
	w.mu.Unlock()

	now := w.Now()
	tried := map[int64]bool{}
	for {
		// Claim no more messages than there are free slots: a claimed
		// message waiting here for a slot could outlive its lease and be
		// claimed by another process too.
		select {
		case w.slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		free := 1
		for free < batch {
			select {
			case w.slots <- struct{}{}:
				free++
				continue
			default:
			}
			break
		}
		list, err := w.claim(ctx, now, free)
		if err != nil {
			for range free {
				<-w.slots
			}
			return fmt.Errorf("gateway: due messages: %w", err)
		}
		fresh := 0
		for i := range list {
			d := list[i]
			if tried[d.ID] {
				// Tried already in this round and due again at once (a
				// zero backoff): given back for the next round.
				sending.Go(func() {
					w.finish(switchboard.DeliveryOutcome{MessageID: d.ID, Status: switchboard.StatusQueued, Untried: true}, func(err error) {
						<-w.slots
						if err != nil {
							done(switchboard.DeliveryOutcome{MessageID: d.ID, Untried: true}, err)
						}
					})
				})
				continue
			}
			tried[d.ID] = true
			fresh++
			sending.Go(func() {
				o := w.send(ctx, &d, now)
				w.finish(o, func(err error) {
					<-w.slots
					done(o, err)
				})
			})
		}
		for range free - len(list) {
			<-w.slots
		}
		if len(list) < free || fresh == 0 {
			return nil
		}
	}
}

// claim claims up to free due messages, within storeTimeout: a database
// that stops answering makes a round fail (and Run try again later) rather
// than hold the Worker for good. Every message it returns has a slot: should
// the queue ever hand out more than asked, the rest are given back at once.
func (w *Worker) claim(ctx context.Context, now time.Time, free int) ([]switchboard.Delivery, error) {
	cctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	list, err := w.queue.ClaimMessages(cctx, now, free)
	if err != nil || len(list) <= free {
		return list, err
	}
	extra := make([]switchboard.DeliveryOutcome, 0, len(list)-free)
	for _, d := range list[free:] {
		extra = append(extra, switchboard.DeliveryOutcome{MessageID: d.ID, Status: switchboard.StatusQueued, Untried: true})
	}
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer rcancel()
	if err := w.queue.RecordDeliveries(rctx, extra); err != nil {
		w.logger.Error("gateway: give back messages claimed beyond the free slots", slog.Any("error", err))
	}
	return list[:free], nil
}

// send hands one message to the gateway and returns its outcome, to be
// recorded. round is the time the dispatch round claims at: a message
// that meets an outage is due again after it, never in the same round,
// however short the backoff.
func (w *Worker) send(ctx context.Context, d *switchboard.Delivery, round time.Time) switchboard.DeliveryOutcome {
	m := &Message{ID: d.ID, From: d.From, To: d.To, Text: d.Text, Encoding: d.Encoding, Parts: d.Parts}
	status, err := w.gateway.Send(ctx, m)
	o := switchboard.DeliveryOutcome{MessageID: d.ID}
	if err == nil {
		if status != switchboard.StatusDelivered {
			status = switchboard.StatusSent
		}
		o.Status = status
		return o
	}
	if ctx.Err() != nil {
		// Stopped, not failed: given back for the next worker.
		o.Status, o.Untried = switchboard.StatusQueued, true
		return o
	}
	if reason, ok := Refused(err); ok {
		w.logger.LogAttrs(ctx, slog.LevelWarn, "gateway: message refused for good, refunded",
			slog.Int64("id", d.ID), slog.Int64("org_id", d.OrgID), slog.String("reason", reason))
		o.Status, o.Reason = switchboard.StatusFailed, "The gateway refused this message: "+reason
		return o
	}

	lastError := err.Error()
	if len(lastError) > maxLastError {
		lastError = strings.ToValidUTF8(lastError[:maxLastError], "")
	}
	giveUp := w.GiveUpAfter
	if giveUp <= 0 {
		giveUp = GiveUpAfter
	}
	attempts := d.Attempts + 1
	if w.Now().Sub(d.CreatedAt) >= giveUp {
		w.logger.LogAttrs(ctx, slog.LevelError, "gateway: message given up after an outage, refunded",
			slog.Int64("id", d.ID), slog.Int64("org_id", d.OrgID), slog.Int("attempts", attempts), slog.String("error", lastError))
		o.Status = switchboard.StatusFailed
		o.Reason = fmt.Sprintf("The gateway could not be reached for %s; the message was not sent.", hours(giveUp))
		return o
	}
	next := w.Now().Add(w.Backoff(attempts))
	if earliest := round.Add(time.Millisecond); next.Before(earliest) {
		next = earliest
	}
	w.logger.LogAttrs(ctx, slog.LevelWarn, "gateway: message not sent, will retry",
		slog.Int64("id", d.ID), slog.Int("attempts", attempts), slog.Time("next_attempt", next), slog.String("error", lastError))
	o.Status, o.Reason, o.Retry = switchboard.StatusQueued, lastError, next
	return o
}

// hours says d in the words of a reason: "48 hours".
func hours(d time.Duration) string {
	if d >= time.Hour && d%time.Hour == 0 {
		if d == time.Hour {
			return "an hour"
		}
		return fmt.Sprintf("%d hours", d/time.Hour)
	}
	return d.String()
}

// finish records o, together with the outcomes that arrive while another
// goroutine records those before them, calls done with the queue's error,
// and returns once that is over (so that waiting for the goroutines that
// send is waiting for their outcomes too). Recording goes on even when the
// Worker is stopping: a message that went out must not be sent again.
func (w *Worker) finish(o switchboard.DeliveryOutcome, done func(err error)) {
	f := finished{outcome: o, done: done, recorded: make(chan struct{})}
	w.recording.Lock()
	w.pending = append(w.pending, f)
	if w.recorder {
		// The goroutine recording now takes this one in its next round.
		w.recording.Unlock()
		<-f.recorded
		return
	}
	w.recorder = true
	for len(w.pending) > 0 {
		n := min(len(w.pending), maxBatch)
		batch := w.pending[:n:n]
		w.pending = w.pending[n:]
		w.recording.Unlock()
		w.record(batch)
		w.recording.Lock()
	}
	w.pending = nil
	w.recorder = false
	w.recording.Unlock()
}

// record writes batch in one transaction, or, if that fails, each outcome
// in a transaction of its own, so that one bad outcome does not hold the
// others.
func (w *Worker) record(batch []finished) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	outcomes := make([]switchboard.DeliveryOutcome, len(batch))
	for i, f := range batch {
		outcomes[i] = f.outcome
	}
	err := w.queue.RecordDeliveries(ctx, outcomes)
	if err == nil || len(batch) == 1 {
		for _, f := range batch {
			f.done(w.recordError(f.outcome, err))
			close(f.recorded)
		}
		return
	}
	for _, f := range batch {
		err := w.queue.RecordDeliveries(ctx, []switchboard.DeliveryOutcome{f.outcome})
		f.done(w.recordError(f.outcome, err))
		close(f.recorded)
	}
}

// recordError says what could not be recorded.
func (w *Worker) recordError(o switchboard.DeliveryOutcome, err error) error {
	if err == nil {
		return nil
	}
	if o.Status == switchboard.StatusSent || o.Status == switchboard.StatusDelivered {
		return fmt.Errorf("gateway: message %d was sent but not recorded as sent (it will be sent again after its lease): %w", o.MessageID, err)
	}
	return fmt.Errorf("gateway: record the outcome of message %d: %w", o.MessageID, err)
}
