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
	// DueEmails returns up to limit unsent emails due at now, oldest first.
	DueEmails(ctx context.Context, now time.Time, limit int) ([]switchboard.Email, error)
	// MarkEmailSent records that the email went out at at.
	MarkEmailSent(ctx context.Context, id int64, at time.Time) error
	// MarkEmailFailed records a failed attempt and when to try again.
	MarkEmailFailed(ctx context.Context, id int64, reason string, next time.Time) error
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

// Worker sends the emails of an Outbox through a Sender and retries the ones
// that fail, later and later. Its exported fields may be changed before Run
// or Flush is first called.
type Worker struct {
	// Now returns the current time; tests move it forward.
	Now func() time.Time
	// Backoff returns how long to wait after an email's attempts-th failed
	// attempt; DefaultBackoff unless tests shorten it.
	Backoff func(attempts int) time.Duration

	outbox Outbox
	sender Sender
	logger *slog.Logger
	wake   chan struct{}
	// flushing lets one Flush run at a time, so that Run and a test's Flush
	// never send the same email twice.
	flushing sync.Mutex
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

// Run sends emails until ctx is done: whatever is due, then it sleeps until
// the next email is due, Notify is called, or a minute has passed.
func (w *Worker) Run(ctx context.Context) {
	for ctx.Err() == nil {
		if _, err := w.Flush(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, errSend) {
			// Failed deliveries were logged one by one; this is the outbox.
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
	// Due already means the last Flush could not send it (the outbox
	// failed, or an email arrived meanwhile and Notify will say so): wait a
	// little rather than spin.
	return min(max(next.Sub(w.Now()), time.Second), idleCheck)
}

// errSend marks Flush's error when only deliveries failed, which Run has
// already logged.
var errSend = errors.New("mail: some emails could not be sent")

// Flush sends every email due now, once each, and returns how many went
// out. A failed delivery is recorded with the time of its next attempt, and
// makes Flush return an error after it has tried the others; an error of the
// outbox stops it at once.
func (w *Worker) Flush(ctx context.Context) (sent int, err error) {
	w.flushing.Lock()
	defer w.flushing.Unlock()

	now := w.Now()
	tried := map[int64]bool{}
	failed := 0
	for {
		emails, err := w.outbox.DueEmails(ctx, now, batchSize)
		if err != nil {
			return sent, fmt.Errorf("mail: due emails: %w", err)
		}
		fresh := 0
		for i := range emails {
			e := &emails[i]
			if tried[e.ID] {
				// Due again at once (a zero backoff): it waits for the next
				// Flush rather than loop here.
				continue
			}
			tried[e.ID] = true
			fresh++
			ok, err := w.send(ctx, e)
			switch {
			case ok:
				sent++
			case err == nil:
				failed++
			}
			if err != nil {
				return sent, err
			}
		}
		if len(emails) < batchSize || fresh == 0 {
			break
		}
	}
	if failed > 0 {
		return sent, fmt.Errorf("%w: %d failed", errSend, failed)
	}
	return sent, nil
}

// send delivers one email and records the outcome. It reports whether the
// email went out; its error is the outbox's, or ctx's when the Worker is
// stopping (the attempt is then not counted).
func (w *Worker) send(ctx context.Context, e *switchboard.Email) (bool, error) {
	sendErr := w.sender.Send(ctx, e)
	if sendErr != nil && ctx.Err() != nil {
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

	attempts := e.Attempts + 1
	next := w.Now().Add(w.Backoff(attempts))
	reason := sendErr.Error()
	if len(reason) > maxReason {
		reason = strings.ToValidUTF8(reason[:maxReason], "")
	}
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
