package mail

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

// Outbox is the queue of emails the Worker sends; *store.DB is one. Each
// method runs in its own short transaction, and the Worker never sends while
// one is open.
type Outbox interface {
	// ClaimEmails returns up to limit unsent emails due at now, oldest
	// first, and leases them to this worker: no other worker, of this
	// process or another, gets them until their outcome is recorded, they
	// are released, or the lease runs out (the process died mid-send).
	ClaimEmails(ctx context.Context, now time.Time, limit int) ([]switchboard.Email, error)
	// ReleaseEmail gives back a claimed email that was not tried.
	ReleaseEmail(ctx context.Context, id int64) error
	// MarkEmailSent records that the email went out at at.
	MarkEmailSent(ctx context.Context, id int64, at time.Time) error
	// MarkEmailFailed records a failed attempt and when to try again.
	MarkEmailFailed(ctx context.Context, id int64, reason string, next time.Time) error
	// MarkEmailRefused gives the email up at at: the receiving server
	// refused it for good with answer.
	MarkEmailRefused(ctx context.Context, id int64, answer string, at time.Time) error
	// NextEmailAt returns when the next unsent email is due, and false when
	// there is none.
	NextEmailAt(ctx context.Context) (time.Time, bool, error)
}

// Backoff bounds: the first retry comes after BackoffMin, each later one
// after twice as long, never more than BackoffMax.
const (
	// BackoffMin is the wait after the first failed attempt.
	BackoffMin = 30 * time.Second
	// BackoffMax is the longest wait between two attempts.
	BackoffMax = time.Hour
)

// DefaultBackoff returns how long to wait after the email's attempts-th
// failed attempt: 30 s, 1 min, 2 min… up to 1 h, plus up to a tenth more at
// random, so that emails which failed together are not retried together.
func DefaultBackoff(attempts int) time.Duration {
	d := BackoffMax
	if attempts < 1 {
		attempts = 1
	}
	if attempts <= 20 { // 30 s << 20 is far past an hour
		d = min(BackoffMin<<(attempts-1), BackoffMax)
	}
	return d + rand.N(d/10+1)
}

// batchSize is how many due emails one query fetches.
const batchSize = 50

// DefaultConcurrency is how many emails a Worker sends at once when
// Worker.Concurrency is zero: enough that one stuck server or recipient
// does not hold the others, few enough not to look like a flood to the
// SMTP server.
const DefaultConcurrency = 4

// idleCheck is the longest the Worker sleeps without looking at the outbox,
// in case an email was queued without a Notify (by another process, or
// before a crash).
const idleCheck = time.Minute

// storeTimeout bounds recording the outcome of a delivery, which happens
// even while the Worker is stopping: an email that went out must not be sent
// again.
const storeTimeout = 10 * time.Second

// maxReason is the longest failure reason kept in the outbox.
const maxReason = 1000

// Worker sends the emails of an Outbox through a Sender, a few at once, and
// retries the ones that fail, later and later. Its exported fields may be
// changed before Run or Flush is first called.
type Worker struct {
	// Now returns the current time; tests move it forward.
	Now func() time.Time
	// Backoff returns how long to wait after an email's attempts-th failed
	// attempt; DefaultBackoff unless tests shorten it.
	Backoff func(attempts int) time.Duration
	// Concurrency is how many emails are sent at once; zero means
	// DefaultConcurrency.
	Concurrency int

	outbox Outbox
	sender Sender
	logger *slog.Logger
	wake   chan struct{}

	// dispatching lets one Run or Flush pick emails at a time. No email is
	// sent by two goroutines, or two processes, at once: each is claimed
	// from the outbox (Outbox.ClaimEmails) until its outcome is recorded.
	dispatching sync.Mutex
	mu          sync.Mutex
	slots       chan struct{} // one token per email being sent
}

// NewWorker returns a Worker that sends the emails of outbox through sender
// and logs failures to logger (slog.Default() when nil).
func NewWorker(outbox Outbox, sender Sender, logger *slog.Logger) *Worker {
	if logger == nil {
		logger = slog.Default()
	}
	return &Worker{
		Now:     time.Now,
		Backoff: DefaultBackoff,
		outbox:  outbox,
		sender:  sender,
		logger:  logger,
		wake:    make(chan struct{}, 1),
	}
}

// Notify wakes Run up to send what was just queued. It never blocks, and
// does nothing on a nil Worker, so callers need not check that mail is set
// up.
func (w *Worker) Notify() {
	if w == nil {
		return
	}
	select {
	case w.wake <- struct{}{}:
	default: // a wake-up is already pending; it will see this email too
	}
}

// Run sends emails until ctx is done: it starts sending whatever is due
// (Concurrency at a time), then sleeps until the next email is due, Notify is
// called, or a minute has passed. It does not wait for slow deliveries
// before looking again, so an email queued while one server hangs goes out
// meanwhile. When ctx ends, the connections of the deliveries under way are
// closed, those emails stay queued (the attempt is not counted), and Run
// returns once they have stopped.
func (w *Worker) Run(ctx context.Context) {
	var sending sync.WaitGroup
	defer sending.Wait()
	for ctx.Err() == nil {
		err := w.dispatch(ctx, &sending, func(_ bool, err error) {
			if err != nil && ctx.Err() == nil {
				w.logger.Error("mail: outbox", slog.Any("error", err))
			}
			// A slot is free: look again, for what waited on it.
			w.Notify()
		})
		if err != nil && ctx.Err() == nil {
			// Failed deliveries are logged one by one; this is the outbox.
			w.logger.Error("mail: outbox", slog.Any("error", err))
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

// sleep returns how long Run may wait before the next email is due.
func (w *Worker) sleep(ctx context.Context) time.Duration {
	next, ok, err := w.outbox.NextEmailAt(ctx)
	if err != nil || !ok {
		return idleCheck
	}
	// Due already means it is being sent, or the last round could not send
	// it (the outbox failed, or an email arrived meanwhile and Notify will
	// say so): wait a little rather than spin.
	return min(max(next.Sub(w.Now()), time.Second), idleCheck)
}

// errSend marks Flush's error when only deliveries failed, which were
// logged one by one.
var errSend = errors.New("mail: some emails could not be sent")

// Flush sends every email due now, once each and Concurrency at a time,
// waits for them, and returns how many went out. A failed delivery is
// recorded with the time of its next attempt, and makes Flush return an
// error after it has tried the others; so does an error of the outbox.
// Emails that Run is sending at the same moment are left to Run.
func (w *Worker) Flush(ctx context.Context) (sent int, err error) {
	var sending sync.WaitGroup
	var mu sync.Mutex
	failed := 0
	var errs []error
	err = w.dispatch(ctx, &sending, func(ok bool, err error) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case ok:
			sent++
		case err == nil:
			failed++
		}
		if err != nil {
			errs = append(errs, err)
		}
	})
	sending.Wait()
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return sent, errors.Join(errs...)
	}
	if failed > 0 {
		return sent, fmt.Errorf("%w: %d failed", errSend, failed)
	}
	return sent, nil
}

// dispatch starts sending, each in its own goroutine counted in sending,
// every email due now that is not being sent already, once each, and
// returns when all have started (it waits for a free slot before each) or
// the outbox failed. done is called after each delivery with whether it
// went out and the outbox's error, if any.
func (w *Worker) dispatch(ctx context.Context, sending *sync.WaitGroup, done func(sent bool, err error)) error {
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
	w.mu.Unlock()

	now := w.Now()
	tried := map[int64]bool{}
	for {
		// Claim no more emails than there are free slots: a claimed email
		// waiting here for a slot could outlive its lease and be claimed
		// by another process too.
		select {
		case w.slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		free := 1
		for free < batchSize {
			select {
			case w.slots <- struct{}{}:
				free++
				continue
			default:
			}
			break
		}
		emails, err := w.outbox.ClaimEmails(ctx, now, free)
		if err != nil {
			for range free {
				<-w.slots
			}
			return fmt.Errorf("mail: due emails: %w", err)
		}
		fresh := 0
		var again []int64
		for i := range emails {
			e := emails[i]
			if tried[e.ID] {
				// Tried already in this round and due again at once (a
				// zero backoff): it waits for the next round.
				again = append(again, e.ID)
				continue
			}
			tried[e.ID] = true
			fresh++
			sending.Go(func() {
				ok, err := w.send(ctx, &e)
				<-w.slots
				done(ok, err)
			})
		}
		for range free - fresh {
			<-w.slots
		}
		for _, id := range again {
			if err := w.outbox.ReleaseEmail(ctx, id); err != nil {
				return fmt.Errorf("mail: release email %d: %w", id, err)
			}
		}
		if len(emails) < free || fresh == 0 {
			return nil
		}
	}
}

// send delivers one email and records the outcome. It reports whether the
// email went out; its error is the outbox's, or ctx's when the Worker is
// stopping (the attempt is then not counted).
func (w *Worker) send(ctx context.Context, e *switchboard.Email) (bool, error) {
	sendErr := w.sender.Send(ctx, e)
	if sendErr != nil && ctx.Err() != nil {
		// Stopped, not failed: give the email back for the next worker.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
		defer cancel()
		if err := w.outbox.ReleaseEmail(rctx, e.ID); err != nil {
			return false, errors.Join(ctx.Err(), fmt.Errorf("mail: release email %d: %w", e.ID, err))
		}
		return false, ctx.Err()
	}
	// The delivery happened, or failed on its own: record it even if ctx
	// ends now, or the email would be sent twice.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	if sendErr == nil {
		if err := w.outbox.MarkEmailSent(rctx, e.ID, w.Now()); err != nil {
			return true, fmt.Errorf("mail: email %d was sent but not marked as sent: %w", e.ID, err)
		}
		return true, nil
	}

	reason := sendErr.Error()
	if len(reason) > maxReason {
		reason = strings.ToValidUTF8(reason[:maxReason], "")
	}
	var refused *RefusedError
	if errors.As(sendErr, &refused) {
		// A 5xx: the same answer would come every time.
		w.logger.LogAttrs(ctx, slog.LevelWarn, "mail: email refused by the receiving server, given up",
			slog.Int64("id", e.ID),
			slog.String("to", e.To),
			slog.String("answer", refused.Answer),
			slog.String("error", reason),
		)
		if err := w.outbox.MarkEmailRefused(rctx, e.ID, refused.Answer, w.Now()); err != nil {
			return false, fmt.Errorf("mail: mark email %d refused: %w", e.ID, err)
		}
		return false, nil
	}

	attempts := e.Attempts + 1
	next := w.Now().Add(w.Backoff(attempts))
	w.logger.LogAttrs(ctx, slog.LevelWarn, "mail: email not sent, will retry",
		slog.Int64("id", e.ID),
		slog.String("to", e.To),
		slog.Int("attempts", attempts),
		slog.Time("next_attempt", next),
		slog.String("error", reason),
	)
	if err := w.outbox.MarkEmailFailed(rctx, e.ID, reason, next); err != nil {
		return false, fmt.Errorf("mail: mark email %d failed: %w", e.ID, err)
	}
	return false, nil
}
