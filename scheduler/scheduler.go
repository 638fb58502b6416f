// Package scheduler starts Switchboard's campaigns when they are due
// (PRODUCT.md § Messages and the gateway, Campaigns). The schedule lives in
// the database, not in this process: a Worker looks for due campaigns
// there, claims each with a lease so that two processes on one PostgreSQL
// never both start it, composes its text (the organisation's auto-replace,
// then GSM 03.38's count of parts) and has the store start it in one
// transaction: debit and queue, or fail with the reason. The delivery
// worker then sends what was queued. A campaign that fell due while no
// process ran is started by the first Worker that looks.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"switchboard"
	"switchboard/sms"
	"switchboard/store"
)

// Store is what the Worker needs of the database; *store.DB is one. Each
// method runs in a transaction of its own.
type Store interface {
	// ClaimCampaigns leases up to limit due campaigns to this worker.
	ClaimCampaigns(ctx context.Context, now time.Time, limit int) ([]store.CampaignClaim, error)
	// StartCampaign starts (or fails) a claimed campaign in one
	// transaction, and reports whether this call did.
	StartCampaign(ctx context.Context, s store.CampaignStart) (*switchboard.Campaign, bool, error)
	// NextCampaignAt returns when the next scheduled campaign is due, and
	// false when none waits.
	NextCampaignAt(ctx context.Context) (time.Time, bool, error)
	// AutoReplace returns the organisation's auto-replace settings.
	AutoReplace(ctx context.Context, orgID int64) (switchboard.AutoReplace, error)
}

// Notifier is woken when a campaign queued messages: the delivery worker.
type Notifier interface{ Notify() }

// idleCheck is the longest the Worker sleeps without looking at the
// schedule, for campaigns scheduled by another process (whose Notify does
// not reach this one) or due while the clock jumped.
const idleCheck = time.Minute

// startTimeout bounds one start: a start of 100,000 recipients takes
// about two seconds; one that takes this long is stuck, and its claim
// runs out for another try.
const startTimeout = time.Minute

// Worker starts the due campaigns of a Store. Its exported fields may be
// changed before Run or Flush is first called.
type Worker struct {
	// Now returns the current time; tests move it.
	Now func() time.Time

	db         Store
	prices     *switchboard.PriceTable
	currency   switchboard.Currency
	deliveries Notifier
	logger     *slog.Logger
	wake       chan struct{}
	// flushing lets one Run or Flush look at the schedule at a time.
	flushing sync.Mutex
}

// NewWorker returns a Worker that starts the campaigns of db, priced by
// prices in currency, wakes deliveries (may be nil) when it queued
// messages, and logs to logger (slog.Default() when nil).
func NewWorker(db Store, prices *switchboard.PriceTable, currency switchboard.Currency, deliveries Notifier, logger *slog.Logger) *Worker {
	if logger == nil {
		logger = slog.Default()
	}
	if prices == nil {
		prices = switchboard.DefaultPrices()
	}
	if currency == "" {
		currency = switchboard.DefaultCurrency
	}
	return &Worker{Now: time.Now, db: db, prices: prices, currency: currency, deliveries: deliveries, logger: logger, wake: make(chan struct{}, 1)}
}

// Notify wakes Run up to look at the schedule: a campaign was created or
// changed. It never blocks, and does nothing on a nil Worker.
func (w *Worker) Notify() {
	if w == nil {
		return
	}
	select {
	case w.wake <- struct{}{}:
	default: // a wake-up is pending already; it will see this campaign too
	}
}

// Run starts due campaigns until ctx is done: whatever is due at once,
// then it sleeps until the next campaign is due, Notify is called, or a
// minute has passed. A start under way when ctx ends is finished (it is one
// transaction of a few seconds at most), so that stopping never leaves a
// campaign claimed and unstarted for the length of its lease.
func (w *Worker) Run(ctx context.Context) {
	for ctx.Err() == nil {
		if _, err := w.Flush(ctx); err != nil && ctx.Err() == nil {
			w.logger.Error("scheduler: campaigns", slog.Any("error", err))
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

// sleep returns how long Run may wait before the next campaign is due.
func (w *Worker) sleep(ctx context.Context) time.Duration {
	next, ok, err := w.db.NextCampaignAt(ctx)
	if err != nil || !ok {
		return idleCheck
	}
	// Due already means another process is starting it (its lease runs
	// out at next) or it just became due: look again soon, without
	// spinning.
	return min(max(next.Sub(w.Now()), time.Second), idleCheck)
}

// Flush starts every campaign due now, one at a time, each claimed just
// before its start (a claim taken long before would run out while the
// others start), and returns how many it started or failed. A campaign
// another worker holds is left to it. An error of one start is logged
// and the others go on; the errors are returned together.
func (w *Worker) Flush(ctx context.Context) (done int, err error) {
	w.flushing.Lock()
	defer w.flushing.Unlock()
	var errs []error
	for ctx.Err() == nil {
		claims, err := w.db.ClaimCampaigns(ctx, w.Now(), 1)
		if err != nil {
			errs = append(errs, err)
			break
		}
		if len(claims) == 0 {
			break
		}
		c, ok, err := w.start(ctx, claims[0])
		if err != nil {
			w.logger.Error("scheduler: start campaign", slog.Int64("id", claims[0].ID), slog.Int64("org_id", claims[0].OrgID), slog.Any("error", err))
			errs = append(errs, fmt.Errorf("scheduler: campaign %d: %w", claims[0].ID, err))
			continue
		}
		if !ok {
			continue
		}
		done++
		if c.Status == switchboard.CampaignFailed {
			w.logger.Warn("scheduler: campaign failed", slog.Int64("id", c.ID), slog.Int64("org_id", c.OrgID), slog.String("reason", c.Reason))
			continue
		}
		w.logger.Info("scheduler: campaign started", slog.Int64("id", c.ID), slog.Int64("org_id", c.OrgID), slog.Int("recipients", c.Recipients))
		if w.deliveries != nil {
			w.deliveries.Notify()
		}
	}
	return done, errors.Join(errs...)
}

// start composes the claimed campaign's text and has the store start it,
// in a context of its own: a stop does not cut a start in the middle.
func (w *Worker) start(ctx context.Context, cl store.CampaignClaim) (*switchboard.Campaign, bool, error) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), startTimeout)
	defer cancel()
	ar, err := w.db.AutoReplace(sctx, cl.OrgID)
	if err != nil {
		return nil, false, err
	}
	s := Compose(cl.Text, ar)
	s.Claim, s.Prices, s.Currency = cl, w.prices, w.currency
	return w.db.StartCampaign(sctx, s)
}

// Compose returns what a campaign of text sends, as Send SMS counts it:
// the text after the organisation's auto-replace, its encoding and parts,
// and the problem that keeps it from being sent, if any.
func Compose(text string, ar switchboard.AutoReplace) store.CampaignStart {
	out := sms.Apply(strings.ReplaceAll(text, "\r\n", "\n"), ar)
	count := sms.Encode(out)
	s := store.CampaignStart{Text: out, Encoding: count.Encoding, Parts: count.Parts}
	switch {
	case strings.TrimSpace(out) == "":
		s.Problem = "Auto-replace leaves nothing of this message. Change the message, or the replacements on the Auto-replace page."
	case count.Parts > sms.MaxParts:
		s.Problem = fmt.Sprintf("A message is at most %d parts: %d GSM-7 characters, or %d with characters outside GSM-7 (UCS-2). This one is %d parts; shorten it.",
			sms.MaxParts, sms.MaxParts*sms.GSM7Multi, sms.MaxParts*sms.UCS2Multi, count.Parts)
	}
	return s
}
