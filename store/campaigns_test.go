package store_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"switchboard"
	"switchboard/store"
)

// campaignWorld is an organisation with a group of contacts, on a database
// of the test's own.
type campaignWorld struct {
	db    *store.DB
	dsn   string
	owner *switchboard.Profile
	org   *switchboard.Organisation
	group *switchboard.Group
}

// newCampaignWorld makes an organisation with the group Newsletter and
// one contact in it per number.
func newCampaignWorld(t testing.TB, numbers ...string) *campaignWorld {
	t.Helper()
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	w := &campaignWorld{db: db, dsn: dsn, owner: owner, org: org}
	w.group = w.newGroup(t, "Newsletter", numbers...)
	return w
}

// newGroup adds a group of the organisation with a contact per number.
func (w *campaignWorld) newGroup(t testing.TB, name string, numbers ...string) *switchboard.Group {
	t.Helper()
	g := &switchboard.Group{OrgID: w.org.ID, Name: name}
	must(t, w.db.CreateGroup(ctx, actorOf(w.owner), g))
	for _, n := range numbers {
		_, err := w.db.JoinGroup(ctx, &switchboard.Contact{OrgID: w.org.ID, Phone: n}, g.ID)
		must(t, err)
	}
	return g
}

// schedule creates a campaign "Spring sale" from Acme to the groups, due
// at sendAt.
func (w *campaignWorld) schedule(t testing.TB, sendAt time.Time, groups ...int64) *switchboard.Campaign {
	t.Helper()
	c := &switchboard.Campaign{OrgID: w.org.ID, Name: "Spring sale", From: "Acme", Text: "Hello", SendAt: sendAt, GroupIDs: groups}
	must(t, c.Validate())
	must(t, w.db.CreateCampaign(ctx, actorOf(w.owner), c))
	return c
}

// startDue claims and starts, one at a time, every campaign of db due at
// now, with the text "Hello" (GSM-7, one part) and the built-in prices,
// and returns the campaigns it started or failed.
func startDue(t testing.TB, db *store.DB, now time.Time) []*switchboard.Campaign {
	t.Helper()
	var done []*switchboard.Campaign
	for {
		claims, err := db.ClaimCampaigns(ctx, now, 1)
		must(t, err)
		if len(claims) == 0 {
			return done
		}
		c, ok, err := db.StartCampaign(ctx, store.CampaignStart{Claim: claims[0], Text: claims[0].Text, Encoding: switchboard.GSM7, Parts: 1,
			Prices: switchboard.DefaultPrices(), Currency: "EUR"})
		must(t, err)
		if ok {
			done = append(done, c)
		}
	}
}

func TestCreateAndFindCampaign(t *testing.T) {
	w := newCampaignWorld(t, "+37255500001")
	other, otherOrg := newOwner(t, w.db, "Bob", "Builder", "bob@example.com")
	otherGroup := &switchboard.Group{OrgID: otherOrg.ID, Name: "Theirs"}
	must(t, w.db.CreateGroup(ctx, actorOf(other), otherGroup))
	raw := rawDB(t, w.dsn)

	t.Run("ok", func(t *testing.T) {
		vip := w.newGroup(t, "VIP")
		c := w.schedule(t, t0.Add(time.Hour), w.group.ID, vip.ID)
		got, err := w.db.FindCampaign(ctx, w.org.ID, c.ID)
		must(t, err)
		if got.Name != "Spring sale" || got.From != "Acme" || got.Text != "Hello" || !got.SendAt.Equal(t0.Add(time.Hour)) ||
			got.Status != switchboard.CampaignScheduled || got.CreatedBy != w.owner.ID || len(got.Groups) != 2 || got.Groups[0].Name != "Newsletter" {
			t.Fatalf("campaign read back as %+v", got)
		}
		if n := count(t, raw, `SELECT COUNT(*) FROM audit_log WHERE org_id = ? AND action = 'campaign.created' AND target = 'Spring sale'`, w.org.ID); n != 1 {
			t.Errorf("%d audit lines campaign.created", n)
		}
	})
	t.Run("another organisation's group is not found and nothing is saved", func(t *testing.T) {
		before := count(t, raw, `SELECT COUNT(*) FROM campaigns`)
		c := &switchboard.Campaign{OrgID: w.org.ID, Name: "Sneaky", From: "Acme", Text: "Hi", SendAt: t0.Add(time.Hour), GroupIDs: []int64{w.group.ID, otherGroup.ID}}
		wantCode(t, w.db.CreateCampaign(ctx, actorOf(w.owner), c), switchboard.ENOTFOUND)
		if after := count(t, raw, `SELECT COUNT(*) FROM campaigns`); after != before {
			t.Errorf("%d campaigns after a refused create, want %d", after, before)
		}
	})
	t.Run("another organisation's campaign is not found", func(t *testing.T) {
		c := w.schedule(t, t0.Add(time.Hour), w.group.ID)
		_, err := w.db.FindCampaign(ctx, otherOrg.ID, c.ID)
		wantCode(t, err, switchboard.ENOTFOUND)
		wantCode(t, w.db.CancelCampaign(ctx, actorOf(other), otherOrg.ID, c.ID), switchboard.ENOTFOUND)
		changed := *c
		changed.OrgID, changed.GroupIDs = otherOrg.ID, []int64{otherGroup.ID}
		wantCode(t, w.db.UpdateCampaign(ctx, actorOf(other), &changed), switchboard.ENOTFOUND)
		got, err := w.db.FindCampaign(ctx, w.org.ID, c.ID)
		must(t, err)
		if got.Status != switchboard.CampaignScheduled || len(got.Groups) != 1 || got.Groups[0].ID != w.group.ID {
			t.Errorf("another organisation changed the campaign: %+v", got)
		}
	})
}

func TestListCampaignsPages(t *testing.T) {
	w := newCampaignWorld(t)
	var ids []int64
	for range 5 {
		ids = append(ids, w.schedule(t, t0.Add(time.Hour), w.group.ID).ID)
	}
	// Another organisation's campaigns, newer, are not on its pages.
	bob, otherOrg := newOwner(t, w.db, "Bob", "Builder", "bob@example.com")
	theirs := &switchboard.Group{OrgID: otherOrg.ID, Name: "Theirs"}
	must(t, w.db.CreateGroup(ctx, actorOf(bob), theirs))
	must(t, w.db.CreateCampaign(ctx, actorOf(bob), &switchboard.Campaign{OrgID: otherOrg.ID, Name: "Theirs", From: "Bob", Text: "Hi", SendAt: t0, GroupIDs: []int64{theirs.ID}}))

	first, next, err := w.db.ListCampaigns(ctx, w.org.ID, 0, 3)
	must(t, err)
	if len(first) != 3 || first[0].ID != ids[4] || first[2].ID != ids[2] || next != ids[2] {
		t.Fatalf("first page %v, next %d", campaignIDs(first), next)
	}
	second, next, err := w.db.ListCampaigns(ctx, w.org.ID, next, 3)
	must(t, err)
	if len(second) != 2 || second[0].ID != ids[1] || second[1].ID != ids[0] || next != 0 {
		t.Fatalf("second page %v, next %d", campaignIDs(second), next)
	}
}

// TestListCampaignsCountsNoMessages: a page of campaigns, with their
// counts by status, is one statement whatever the campaigns sent: the
// counts are read from the campaigns' rows, never counted from messages.
func TestListCampaignsCountsNoMessages(t *testing.T) {
	w := newCampaignWorld(t, "+37255500001", "+37255500002")
	fund(t, w.dsn, w.org.ID, switchboard.MoneyUnit)
	for range 3 {
		w.schedule(t, t0, w.group.ID)
	}
	startDue(t, w.db, t0)
	before := w.db.Statements()
	list, _, err := w.db.ListCampaigns(ctx, w.org.ID, 0, 50)
	must(t, err)
	if n := w.db.Statements() - before; n != 1 {
		t.Errorf("a page of campaigns took %d statements, want 1", n)
	}
	for _, c := range list {
		if c.Counts[switchboard.StatusQueued] != 2 || c.Recipients != 2 {
			t.Errorf("campaign %d: %d recipients, counts %v", c.ID, c.Recipients, c.Counts)
		}
	}
}

func campaignIDs(list []switchboard.Campaign) []int64 {
	var ids []int64
	for _, c := range list {
		ids = append(ids, c.ID)
	}
	return ids
}

// TestChangeOnlyWhileWaiting: a campaign can be changed and cancelled while
// it is scheduled and no scheduler holds it; once claimed or started, both
// are ErrCampaignStarted and change nothing.
func TestChangeOnlyWhileWaiting(t *testing.T) {
	w := newCampaignWorld(t, "+37255500001")
	fund(t, w.dsn, w.org.ID, 10*switchboard.MoneyUnit)
	vip := w.newGroup(t, "VIP", "+37255500002")

	t.Run("changed while waiting", func(t *testing.T) {
		c := w.schedule(t, t0.Add(time.Hour), w.group.ID)
		c.Name, c.Text, c.SendAt, c.GroupIDs = "Summer sale", "Bye", t0.Add(2*time.Hour), []int64{vip.ID}
		must(t, w.db.UpdateCampaign(ctx, actorOf(w.owner), c))
		got, err := w.db.FindCampaign(ctx, w.org.ID, c.ID)
		must(t, err)
		if got.Name != "Summer sale" || got.Text != "Bye" || !got.SendAt.Equal(t0.Add(2*time.Hour)) || len(got.GroupIDs) != 1 || got.GroupIDs[0] != vip.ID {
			t.Errorf("changed campaign read back as %+v", got)
		}
		must(t, w.db.CancelCampaign(ctx, actorOf(w.owner), w.org.ID, c.ID))
		if err := w.db.UpdateCampaign(ctx, actorOf(w.owner), c); !errors.Is(err, store.ErrCampaignCancelled) {
			t.Fatalf("change of a cancelled campaign: %v", err)
		}
		if err := w.db.CancelCampaign(ctx, actorOf(w.owner), w.org.ID, c.ID); !errors.Is(err, store.ErrCampaignCancelled) {
			t.Fatalf("second cancel: %v", err)
		}
	})
	t.Run("claimed", func(t *testing.T) {
		c := w.schedule(t, t0, w.group.ID)
		claims, err := w.db.ClaimCampaigns(ctx, t0, 10)
		must(t, err)
		if len(claims) != 1 || claims[0].ID != c.ID {
			t.Fatalf("claims %+v", claims)
		}
		changed := *c
		changed.Name, changed.GroupIDs = "Changed", []int64{vip.ID}
		if err := w.db.UpdateCampaign(ctx, actorOf(w.owner), &changed); !errors.Is(err, store.ErrCampaignStarted) {
			t.Fatalf("change of a claimed campaign: %v", err)
		}
		if err := w.db.CancelCampaign(ctx, actorOf(w.owner), w.org.ID, c.ID); !errors.Is(err, store.ErrCampaignStarted) {
			t.Fatalf("cancel of a claimed campaign: %v", err)
		}
		got, err := w.db.FindCampaign(ctx, w.org.ID, c.ID)
		must(t, err)
		if got.Name != "Spring sale" || got.GroupIDs[0] != w.group.ID || got.Status != switchboard.CampaignScheduled {
			t.Errorf("a claimed campaign changed: %+v", got)
		}
		// Once the lease runs out (its scheduler died), it waits again.
		later := t0.Add(store.CampaignLease + time.Second)
		setNow(w.db, later)
		defer setNow(w.db, t0)
		must(t, w.db.CancelCampaign(ctx, actorOf(w.owner), w.org.ID, c.ID))
		if started := startDue(t, w.db, later); len(started) != 0 {
			t.Errorf("a cancelled campaign started: %+v", started[0])
		}
	})
	t.Run("started", func(t *testing.T) {
		c := w.schedule(t, t0, w.group.ID)
		if started := startDue(t, w.db, t0); len(started) != 1 || started[0].Status != switchboard.CampaignSending {
			t.Fatalf("started %+v", started)
		}
		changed := *c
		changed.Name = "Changed"
		if err := w.db.UpdateCampaign(ctx, actorOf(w.owner), &changed); !errors.Is(err, store.ErrCampaignStarted) {
			t.Fatalf("change of a started campaign: %v", err)
		}
		if err := w.db.CancelCampaign(ctx, actorOf(w.owner), w.org.ID, c.ID); !errors.Is(err, store.ErrCampaignStarted) {
			t.Fatalf("cancel of a started campaign: %v", err)
		}
		got, err := w.db.FindCampaign(ctx, w.org.ID, c.ID)
		must(t, err)
		if got.Name != "Spring sale" || got.Status != switchboard.CampaignSending {
			t.Errorf("a started campaign changed: %+v", got)
		}
	})
}

// TestStartCampaign: the start sends once to every contact of the groups
// (a number in two groups once), never to an opted-out number, leaves out
// and counts the numbers without a price, and debits, queues and records
// the campaign in one go.
func TestStartCampaign(t *testing.T) {
	w := newCampaignWorld(t, "+37255500001", "+37255500002", "+37255500003", "+99912345678")
	vip := w.newGroup(t, "VIP", "+37255500003", "+37255500004")
	fund(t, w.dsn, w.org.ID, 10*switchboard.MoneyUnit)
	// STOP reaches only organisations that wrote to the number: the
	// opt-out is written directly, as the contacts page would.
	raw := rawDB(t, w.dsn)
	_, err := raw.ExecContext(ctx, `INSERT INTO opt_outs (org_id, phone, created_at) VALUES (?, '+37255500002', 0)`, w.org.ID)
	must(t, err)

	c := w.schedule(t, t0.Add(time.Minute), w.group.ID, vip.ID)
	if started := startDue(t, w.db, t0); len(started) != 0 {
		t.Fatalf("a campaign due in a minute started: %+v", started)
	}
	started := startDue(t, w.db, t0.Add(time.Minute))
	if len(started) != 1 {
		t.Fatalf("started %d campaigns", len(started))
	}
	got, err := w.db.FindCampaign(ctx, w.org.ID, c.ID)
	must(t, err)
	// +37255500001, 03, 04: three at 0.05; 02 opted out; +999 has no price.
	if got.Status != switchboard.CampaignSending || got.Recipients != 3 || got.Parts != 3 || got.Cost != 1500 || got.Unpriced != 1 ||
		got.Counts[switchboard.StatusQueued] != 3 || got.StartedAt == nil || got.BatchID == 0 {
		t.Fatalf("started campaign %+v", got)
	}
	var recipients []string
	rows, err := raw.QueryContext(ctx, `SELECT recipient FROM messages WHERE batch_id = ? ORDER BY recipient`, got.BatchID)
	must(t, err)
	for rows.Next() {
		var r string
		must(t, rows.Scan(&r))
		recipients = append(recipients, r)
	}
	rows.Close()
	if fmt.Sprint(recipients) != "[+37255500001 +37255500003 +37255500004]" {
		t.Errorf("sent to %v", recipients)
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM message_queue q JOIN messages m ON m.id = q.message_id WHERE m.batch_id = ?`, got.BatchID); n != 3 {
		t.Errorf("%d queue rows", n)
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM messages WHERE batch_id = ? AND sender = 'Acme' AND body = 'Hello' AND created_by = ?`, got.BatchID, w.owner.ID); n != 3 {
		t.Errorf("%d messages from Acme saying Hello, created by the campaign's author", n)
	}
	if b, err := w.db.Balance(ctx, w.org.ID); err != nil || b != 10*switchboard.MoneyUnit-1500 {
		t.Errorf("balance %d (%v)", b, err)
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM ledger WHERE id = ? AND amount = -1500 AND kind = 'spend'`, got.BatchID); n != 1 {
		t.Errorf("no ledger line for the batch")
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM usage_daily WHERE org_id = ? AND messages = 3 AND spent = 1500`, w.org.ID); n != 1 {
		t.Errorf("usage not added")
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM audit_log WHERE org_id = ? AND action = 'campaign.started' AND actor_name = 'Scheduler' AND detail = '3 recipients, €0.15'`, w.org.ID); n != 1 {
		t.Errorf("%d audit lines campaign.started", n)
	}
	// A second pass finds nothing to do.
	if again := startDue(t, w.db, t0.Add(time.Hour)); len(again) != 0 {
		t.Errorf("started again: %+v", again)
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM messages WHERE org_id = ?`, w.org.ID); n != 3 {
		t.Errorf("%d messages after a second pass", n)
	}
}

// TestStartCampaignFails: not enough balance, no contacts, no prices, or
// a text that cannot be sent: the campaign fails with the reason, nothing
// is debited or queued.
func TestStartCampaignFails(t *testing.T) {
	for _, tc := range []struct {
		name    string
		balance switchboard.Money
		numbers []string
		problem string
		reason  string
	}{
		{"balance", 900, []string{"+37255500001", "+37255500002"}, "", "Your balance of €0.09 does not cover this send of €0.10."},
		{"no contacts", 10 * switchboard.MoneyUnit, nil, "", store.ReasonNoContacts},
		{"no prices", 10 * switchboard.MoneyUnit, []string{"+99912345678"}, "", store.ReasonNoPrices},
		{"text", 10 * switchboard.MoneyUnit, []string{"+37255500001"}, "Auto-replace leaves nothing of this message.", "Auto-replace leaves nothing of this message."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newCampaignWorld(t, tc.numbers...)
			fund(t, w.dsn, w.org.ID, tc.balance)
			c := w.schedule(t, t0, w.group.ID)
			claims, err := w.db.ClaimCampaigns(ctx, t0, 1)
			must(t, err)
			got, ok, err := w.db.StartCampaign(ctx, store.CampaignStart{Claim: claims[0], Text: "Hello", Encoding: switchboard.GSM7, Parts: 1,
				Prices: switchboard.DefaultPrices(), Currency: "EUR", Problem: tc.problem})
			must(t, err)
			if !ok || got.Status != switchboard.CampaignFailed || got.Reason != tc.reason {
				t.Fatalf("start: %v %+v", ok, got)
			}
			read, err := w.db.FindCampaign(ctx, w.org.ID, c.ID)
			must(t, err)
			if read.Status != switchboard.CampaignFailed || read.Reason != tc.reason || read.Recipients != 0 || read.Cost != 0 {
				t.Errorf("failed campaign read back as %+v", read)
			}
			if b, err := w.db.Balance(ctx, w.org.ID); err != nil || b != tc.balance {
				t.Errorf("balance %d, want %d unchanged (%v)", b, tc.balance, err)
			}
			raw := rawDB(t, w.dsn)
			if n := count(t, raw, `SELECT COUNT(*) FROM messages`) + count(t, raw, `SELECT COUNT(*) FROM message_queue`) + count(t, raw, `SELECT COUNT(*) FROM ledger WHERE kind = 'spend'`); n != 0 {
				t.Errorf("%d messages, queue rows and spends written", n)
			}
			if n := count(t, raw, `SELECT COUNT(*) FROM audit_log WHERE action = 'campaign.failed' AND detail = ?`, tc.reason); n != 1 {
				t.Errorf("%d audit lines campaign.failed", n)
			}
			if again := startDue(t, w.db, t0.Add(time.Hour)); len(again) != 0 {
				t.Errorf("a failed campaign started again: %+v", again)
			}
		})
	}
}

// TestStartCampaignNeedsItsClaim: a start whose lease ran out and was
// claimed by another scheduler does nothing; the other starts it once.
func TestStartCampaignNeedsItsClaim(t *testing.T) {
	w := newCampaignWorld(t, "+37255500001")
	fund(t, w.dsn, w.org.ID, switchboard.MoneyUnit)
	w.schedule(t, t0, w.group.ID)
	first, err := w.db.ClaimCampaigns(ctx, t0, 1)
	must(t, err)
	if again, err := w.db.ClaimCampaigns(ctx, t0.Add(time.Minute), 1); err != nil || len(again) != 0 {
		t.Fatalf("claimed twice within the lease: %v %v", again, err)
	}
	later := t0.Add(store.CampaignLease + time.Second)
	second, err := w.db.ClaimCampaigns(ctx, later, 1)
	must(t, err)
	if len(second) != 1 {
		t.Fatalf("the lease ran out but the campaign was not claimed again")
	}
	start := func(cl store.CampaignClaim) bool {
		_, ok, err := w.db.StartCampaign(ctx, store.CampaignStart{Claim: cl, Text: "Hello", Encoding: switchboard.GSM7, Parts: 1, Prices: switchboard.DefaultPrices(), Currency: "EUR"})
		must(t, err)
		return ok
	}
	if start(first[0]) {
		t.Error("a start under a lease that ran out started the campaign")
	}
	if !start(second[0]) {
		t.Error("the start under the new lease did nothing")
	}
	if start(second[0]) {
		t.Error("started twice")
	}
	if n := count(t, rawDB(t, w.dsn), `SELECT COUNT(*) FROM messages`); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

// TestCampaignCountsFollowDeliveries: the counts by status move with every
// status change of the campaign's messages, whoever makes it, and the
// campaign is sent once none is queued; messages of other sends leave it
// alone.
func TestCampaignCountsFollowDeliveries(t *testing.T) {
	w := newCampaignWorld(t, "+37255500001", "+37255500002", "+37255500003")
	fund(t, w.dsn, w.org.ID, switchboard.MoneyUnit)
	c := w.schedule(t, t0, w.group.ID)
	startDue(t, w.db, t0)
	other := queueDeliveries(t, w.db, w.dsn, w.owner, w.org.ID, "Acme", 100, "+37255500009")

	claimed, err := w.db.ClaimMessages(ctx, t0, 10)
	must(t, err)
	if len(claimed) != 4 {
		t.Fatalf("%d messages claimed", len(claimed))
	}
	var ids []int64
	for _, d := range claimed {
		if d.ID != other[0] {
			ids = append(ids, d.ID)
		}
	}
	want := func(status switchboard.CampaignStatus, queued, sent, delivered, failed int) {
		t.Helper()
		got, err := w.db.FindCampaign(ctx, w.org.ID, c.ID)
		must(t, err)
		if got.Status != status || got.Counts[switchboard.StatusQueued] != queued || got.Counts[switchboard.StatusSent] != sent ||
			got.Counts[switchboard.StatusDelivered] != delivered || got.Counts[switchboard.StatusFailed] != failed {
			t.Fatalf("campaign %s with counts %v, want %s %d/%d/%d/%d", got.Status, got.Counts, status, queued, sent, delivered, failed)
		}
		list, _, err := w.db.ListCampaigns(ctx, w.org.ID, 0, 10)
		must(t, err)
		if list[0].Status != status || list[0].Counts[switchboard.StatusQueued] != queued {
			t.Fatalf("the list says %s %v", list[0].Status, list[0].Counts)
		}
	}
	want(switchboard.CampaignSending, 3, 0, 0, 0)
	must(t, w.db.RecordDeliveries(ctx, []switchboard.DeliveryOutcome{
		{MessageID: ids[0], Status: switchboard.StatusSent},
		{MessageID: ids[1], Status: switchboard.StatusDelivered},
		{MessageID: ids[2], Status: switchboard.StatusQueued, Reason: "outage", Retry: t0.Add(time.Minute)},
		{MessageID: other[0], Status: switchboard.StatusDelivered},
	}))
	want(switchboard.CampaignSending, 1, 1, 1, 0)
	_, err = w.db.ReportDelivery(ctx, ids[0], switchboard.StatusDelivered, "")
	must(t, err)
	want(switchboard.CampaignSending, 1, 0, 2, 0)
	must(t, w.db.RecordDeliveries(ctx, []switchboard.DeliveryOutcome{{MessageID: ids[2], Status: switchboard.StatusFailed, Reason: "refused"}}))
	want(switchboard.CampaignSent, 0, 0, 2, 1)
	// A late report of a message the gateway already had changes nothing.
	_, err = w.db.ReportDelivery(ctx, ids[1], switchboard.StatusFailed, "late")
	must(t, err)
	want(switchboard.CampaignSent, 0, 0, 2, 1)
}

// TestCampaignAudience: the preview's recipients are the groups' contacts
// without the opted out, each once, and it says how many opted out.
func TestCampaignAudience(t *testing.T) {
	w := newCampaignWorld(t, "+37255500001", "+37255500002")
	vip := w.newGroup(t, "VIP", "+37255500002", "+37255500003")
	_, err := rawDB(t, w.dsn).ExecContext(ctx, `INSERT INTO opt_outs (org_id, phone, created_at) VALUES (?, '+37255500003', 0)`, w.org.ID)
	must(t, err)
	phones, out, err := w.db.CampaignAudience(ctx, w.org.ID, []int64{w.group.ID, vip.ID})
	must(t, err)
	if fmt.Sprint(phones) != "[+37255500001 +37255500002]" || out != 1 {
		t.Errorf("audience %v, %d opted out", phones, out)
	}
	_, _, err = w.db.CampaignAudience(ctx, w.org.ID, []int64{w.group.ID, vip.ID + 1000})
	wantCode(t, err, switchboard.ENOTFOUND)
}

// TestClaimCampaignsTakesNoMoreThanItsLimit: each claim takes at most its
// limit, the earliest due first, and a claimed campaign is not claimed
// again within its lease. (The first form of the claim, IN (SELECT …
// LIMIT ? FOR UPDATE SKIP LOCKED), took all five at once on PostgreSQL
// from the second run of its prepared statement.)
func TestClaimCampaignsTakesNoMoreThanItsLimit(t *testing.T) {
	w := newCampaignWorld(t, "+37255500001")
	var ids []int64
	for i := range 5 {
		ids = append(ids, w.schedule(t, t0.Add(-time.Duration(i)*time.Minute), w.group.ID).ID)
	}
	w.schedule(t, t0.Add(time.Minute), w.group.ID) // not due
	for round := range 3 {
		var got []int64
		for {
			claims, err := w.db.ClaimCampaigns(ctx, t0.Add(time.Duration(round)*(store.CampaignLease+time.Second)), 2)
			must(t, err)
			if len(claims) > 2 {
				t.Fatalf("round %d: a claim of 2 took %d", round, len(claims))
			}
			if len(claims) == 0 {
				break
			}
			batch := []int64{}
			for _, cl := range claims {
				batch = append(batch, cl.ID)
			}
			slices.Sort(batch) // RETURNING has no order
			got = append(got, batch...)
		}
		// Two at a time, the earliest due first.
		want := []int64{ids[3], ids[4], ids[1], ids[2], ids[0]}
		if round > 0 {
			// The lease of every claim ran out: all due again, and the
			// campaign due at t0+1min too.
			want = append(want, ids[len(ids)-1]+1)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("round %d claimed %v, want %v", round, got, want)
		}
	}
}

// TestCampaignCountsUnderConcurrentDeliveries: two handles (two
// processes) record the outcomes of two campaigns' messages at once, in
// batches mixing both: every count ends exact (on PostgreSQL a statement
// waiting for another's lock on the campaign adds to the count that one
// committed) and both campaigns are sent, without an error.
func TestCampaignCountsUnderConcurrentDeliveries(t *testing.T) {
	numbers := make([]string, 200)
	for i := range numbers {
		numbers[i] = fmt.Sprintf("+3725570%04d", i)
	}
	w := newCampaignWorld(t, numbers...)
	fund(t, w.dsn, w.org.ID, 100*switchboard.MoneyUnit)
	a := w.schedule(t, t0, w.group.ID)
	b := w.schedule(t, t0, w.group.ID)
	startDue(t, w.db, t0)
	claimed, err := w.db.ClaimMessages(ctx, t0, 1000)
	must(t, err)
	if len(claimed) != 400 {
		t.Fatalf("%d claimed", len(claimed))
	}
	// Batches of 25 from both ends of the list: each holds messages of
	// both campaigns, in opposite orders.
	var batches [][]switchboard.DeliveryOutcome
	for i := 0; i < 200; i += 25 {
		var fwd, back []switchboard.DeliveryOutcome
		for j := i; j < i+25; j++ {
			fwd = append(fwd, switchboard.DeliveryOutcome{MessageID: claimed[j].ID, Status: switchboard.StatusDelivered})
			back = append(back, switchboard.DeliveryOutcome{MessageID: claimed[399-j].ID, Status: switchboard.StatusSent})
		}
		batches = append(batches, append(fwd[:12:12], back[:12]...), append(back[12:], fwd[12:]...))
	}
	other, _ := openSecondHandle(t, w.dsn)
	var wg sync.WaitGroup
	for i, batch := range batches {
		db := w.db
		if i%2 == 1 {
			db = other
		}
		wg.Go(func() {
			if err := db.RecordDeliveries(ctx, batch); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, c := range []*switchboard.Campaign{a, b} {
		got, err := w.db.FindCampaign(ctx, w.org.ID, c.ID)
		must(t, err)
		total := got.Counts[switchboard.StatusSent] + got.Counts[switchboard.StatusDelivered]
		if got.Status != switchboard.CampaignSent || got.Counts[switchboard.StatusQueued] != 0 || total != 200 {
			t.Errorf("campaign %d: %s %v", c.ID, got.Status, got.Counts)
		}
		want := count(t, rawDB(t, w.dsn), `SELECT COUNT(*) FROM messages WHERE batch_id = ? AND status = 'delivered'`, got.BatchID)
		if got.Counts[switchboard.StatusDelivered] != want {
			t.Errorf("campaign %d counts %d delivered, messages say %d", c.ID, got.Counts[switchboard.StatusDelivered], want)
		}
	}
}
