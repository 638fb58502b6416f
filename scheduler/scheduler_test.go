package scheduler_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"switchboard"
	"switchboard/gateway"
	"switchboard/scheduler"
	"switchboard/store"
	"switchboard/store/storetest"
)

// TestMain runs every test of the package on SQLite, then on PostgreSQL
// when SWITCHBOARD_POSTGRES_URL names a server.
func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

var ctx = context.Background()

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// panel is a database with one organisation, its owner and a group.
type panel struct {
	db    *store.DB
	dsn   string
	raw   *storetest.Raw
	owner switchboard.Actor
	org   int64
	group int64
}

// newPanel opens a database with an organisation whose group Newsletter
// holds a contact per number, and funds it with balance.
func newPanel(tb testing.TB, balance switchboard.Money, numbers ...string) *panel {
	tb.Helper()
	db, dsn := storetest.Open(tb)
	p := &switchboard.Profile{Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace"}
	org := &switchboard.Organisation{Name: "Acme"}
	must(tb, db.CreateProfileWithOrganisation(ctx, p, "hash", org))
	pn := &panel{db: db, dsn: dsn, raw: storetest.OpenRaw(tb, dsn), owner: switchboard.Actor{ProfileID: p.ID, Name: p.Name()}, org: org.ID}
	g := &switchboard.Group{OrgID: org.ID, Name: "Newsletter"}
	must(tb, db.CreateGroup(ctx, pn.owner, g))
	pn.group = g.ID
	for _, n := range numbers {
		_, err := db.JoinGroup(ctx, &switchboard.Contact{OrgID: org.ID, Phone: n}, g.ID)
		must(tb, err)
	}
	_, err := pn.raw.ExecContext(ctx, `UPDATE organisations SET balance = ? WHERE id = ?`, int64(balance), org.ID)
	must(tb, err)
	return pn
}

// schedule creates a campaign to the group, due at sendAt.
func (p *panel) schedule(tb testing.TB, name string, sendAt time.Time) int64 {
	tb.Helper()
	c := &switchboard.Campaign{OrgID: p.org, Name: name, From: "Acme", Text: "Spring sale: 20% off", SendAt: sendAt, GroupIDs: []int64{p.group}}
	must(tb, c.Validate())
	must(tb, p.db.CreateCampaign(ctx, p.owner, c))
	return c.ID
}

func (p *panel) count(tb testing.TB, q string, args ...any) int {
	tb.Helper()
	var n int
	must(tb, p.raw.QueryRowContext(ctx, q, args...).Scan(&n))
	return n
}

func (p *panel) campaign(tb testing.TB, id int64) *switchboard.Campaign {
	tb.Helper()
	c, err := p.db.FindCampaign(ctx, p.org, id)
	must(tb, err)
	return c
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// numbers returns n distinct Estonian mobile numbers.
func numbers(n int) []string {
	list := make([]string, n)
	for i := range list {
		list[i] = fmt.Sprintf("+3725550%04d", i)
	}
	return list
}

// wakes counts the Worker's calls to Notify: the delivery worker's
// wake-ups.
type wakes struct{ n atomic.Int64 }

func (w *wakes) Notify() { w.n.Add(1) }

// waitFor polls cond until it holds, failing the test after a bound far
// above what it needs (the bound is against a hang, not a speed test).
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("still waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDueWhileStoppedStartsOnceAfterStart: a campaign whose time passed
// while no process ran is started by the first Worker to run, once; the
// delivery worker it wakes sends every message, and the campaign is sent.
// A second pass, and a restart, start nothing more.
func TestDueWhileStoppedStartsOnceAfterStart(t *testing.T) {
	p := newPanel(t, 10*switchboard.MoneyUnit, numbers(25)...)
	id := p.schedule(t, "Spring sale", time.Now().Add(-3*time.Hour))

	deliveries := gateway.NewWorker(p.db, gateway.Log{Logger: quiet}, quiet)
	w := scheduler.NewWorker(p.db, nil, "EUR", deliveries, quiet)
	runCtx, stop := context.WithCancel(ctx)
	var running sync.WaitGroup
	running.Go(func() { deliveries.Run(runCtx) })
	running.Go(func() { w.Run(runCtx) })
	waitFor(t, "the campaign to be sent", func() bool { return p.campaign(t, id).Status == switchboard.CampaignSent })
	stop()
	running.Wait()

	c := p.campaign(t, id)
	if c.Recipients != 25 || c.Counts[switchboard.StatusDelivered] != 25 || c.Counts[switchboard.StatusQueued] != 0 || c.Cost != 25*500 {
		t.Fatalf("campaign after the start: %+v", c)
	}
	if n := p.count(t, `SELECT COUNT(*) FROM messages WHERE org_id = ?`, p.org); n != 25 {
		t.Fatalf("%d messages, want 25", n)
	}
	if n := p.count(t, `SELECT COUNT(DISTINCT recipient) FROM messages WHERE batch_id = ?`, c.BatchID); n != 25 {
		t.Fatalf("%d recipients, want 25", n)
	}

	// A second pass of the same worker, and a new one as after a restart.
	if n, err := w.Flush(ctx); err != nil || n != 0 {
		t.Fatalf("second pass started %d (%v)", n, err)
	}
	again := scheduler.NewWorker(p.db, nil, "EUR", nil, quiet)
	again.Now = func() time.Time { return time.Now().Add(store.CampaignLease * 2) }
	if n, err := again.Flush(ctx); err != nil || n != 0 {
		t.Fatalf("after a restart %d started (%v)", n, err)
	}
	if n := p.count(t, `SELECT COUNT(*) FROM messages WHERE org_id = ?`, p.org); n != 25 {
		t.Fatalf("%d messages after more passes, want 25", n)
	}
}

// TestTwoSchedulersStartEachOnce: two processes (two handles on one
// database, each with its Worker, two goroutines each) start 40 due
// campaigns side by side: each campaign's messages exist once, and each
// campaign is started by exactly one of them.
func TestTwoSchedulersStartEachOnce(t *testing.T) {
	const campaigns, contacts = 40, 5
	p := newPanel(t, 100*switchboard.MoneyUnit, numbers(contacts)...)
	ids := make([]int64, campaigns)
	for i := range ids {
		ids[i] = p.schedule(t, fmt.Sprintf("Campaign %d", i), time.Now().Add(-time.Minute))
	}
	other, err := store.Open(ctx, p.dsn)
	must(t, err)
	t.Cleanup(func() { other.Close() })

	var started atomic.Int64
	var wg sync.WaitGroup
	for _, db := range []*store.DB{p.db, other} {
		w := scheduler.NewWorker(db, nil, "EUR", nil, quiet)
		for range 2 {
			wg.Go(func() {
				for range 3 {
					n, err := w.Flush(ctx)
					if err != nil {
						t.Error(err)
					}
					started.Add(int64(n))
				}
			})
		}
	}
	wg.Wait()
	if started.Load() != campaigns {
		t.Errorf("%d starts reported, want %d", started.Load(), campaigns)
	}
	for _, id := range ids {
		c := p.campaign(t, id)
		if c.Status != switchboard.CampaignSending || c.Recipients != contacts {
			t.Errorf("campaign %d: %s with %d recipients", id, c.Status, c.Recipients)
		}
		if n := p.count(t, `SELECT COUNT(*) FROM messages WHERE batch_id = ?`, c.BatchID); n != contacts {
			t.Errorf("campaign %d has %d messages, want %d", id, n, contacts)
		}
	}
	if n := p.count(t, `SELECT COUNT(*) FROM messages`); n != campaigns*contacts {
		t.Errorf("%d messages in all, want %d", n, campaigns*contacts)
	}
	if n := p.count(t, `SELECT COUNT(*) FROM audit_log WHERE action = 'campaign.started'`); n != campaigns {
		t.Errorf("%d audit lines campaign.started, want %d", n, campaigns)
	}
	if b, err := p.db.Balance(ctx, p.org); err != nil || b != 100*switchboard.MoneyUnit-campaigns*contacts*500 {
		t.Errorf("balance %d (%v)", b, err)
	}
}

// TestCancelledBeforeStartSendsNothing: a campaign cancelled before its
// time is never started, queued or debited.
func TestCancelledBeforeStartSendsNothing(t *testing.T) {
	p := newPanel(t, switchboard.MoneyUnit, numbers(3)...)
	id := p.schedule(t, "Spring sale", time.Now().Add(time.Hour))
	must(t, p.db.CancelCampaign(ctx, p.owner, p.org, id))
	w := scheduler.NewWorker(p.db, nil, "EUR", nil, quiet)
	w.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if n, err := w.Flush(ctx); err != nil || n != 0 {
		t.Fatalf("started %d (%v)", n, err)
	}
	if c := p.campaign(t, id); c.Status != switchboard.CampaignCancelled {
		t.Errorf("status %s", c.Status)
	}
	if n := p.count(t, `SELECT COUNT(*) FROM messages`); n != 0 {
		t.Errorf("%d messages", n)
	}
	if b, _ := p.db.Balance(ctx, p.org); b != switchboard.MoneyUnit {
		t.Errorf("balance %d", b)
	}
}

// TestNotEnoughBalanceFails: the Worker fails a campaign the balance does
// not cover, with PRODUCT.md's sentence; nothing is queued or debited, and
// the delivery worker is not woken.
func TestNotEnoughBalanceFails(t *testing.T) {
	p := newPanel(t, 1400, numbers(3)...)
	id := p.schedule(t, "Spring sale", time.Now())
	var woken wakes
	w := scheduler.NewWorker(p.db, nil, "EUR", &woken, quiet)
	if n, err := w.Flush(ctx); err != nil || n != 1 {
		t.Fatalf("flush: %d (%v)", n, err)
	}
	c := p.campaign(t, id)
	if c.Status != switchboard.CampaignFailed || c.Reason != "Your balance of €0.14 does not cover this send of €0.15." {
		t.Errorf("campaign %s: %q", c.Status, c.Reason)
	}
	if n := p.count(t, `SELECT COUNT(*) FROM messages`); n != 0 {
		t.Errorf("%d messages", n)
	}
	if b, _ := p.db.Balance(ctx, p.org); b != 1400 {
		t.Errorf("balance %d, want 1400", b)
	}
	if woken.n.Load() != 0 {
		t.Errorf("the delivery worker was woken %d times", woken.n.Load())
	}
}

// TestComposeAppliesAutoReplace: the text leaves as auto-replace makes it,
// counted as Send SMS counts it; a text auto-replace empties, or one too
// long, fails the campaign with the reason.
func TestComposeAppliesAutoReplace(t *testing.T) {
	full := switchboard.AutoReplace{Mode: switchboard.AutoReplaceFull, Rules: []switchboard.Replacement{{Find: "&", Replace: "and"}}}
	s := scheduler.Compose("„Tea & cake“ on Friday", full)
	if s.Text != `"Tea and cake" on Friday` || s.Encoding != switchboard.GSM7 || s.Parts != 1 || s.Problem != "" {
		t.Errorf("composed %+v", s)
	}
	gone := switchboard.AutoReplace{Mode: switchboard.AutoReplaceOn, Rules: []switchboard.Replacement{{Find: "Hi", Replace: ""}}}
	if s := scheduler.Compose("Hi", gone); s.Problem == "" {
		t.Error("an empty text is no problem")
	}
	long := make([]byte, 2000)
	for i := range long {
		long[i] = 'a'
	}
	if s := scheduler.Compose(string(long), switchboard.AutoReplace{}); s.Problem == "" {
		t.Error("a text of 2,000 characters is no problem")
	}
}
