package store_test

import (
	"fmt"
	"testing"
	"time"

	"switchboard"
	"switchboard/store"
	"switchboard/store/storetest"
)

// statsWorld is a parent with three subaccounts that spent on several
// days through the real store (sends, deliveries, a refund on a later
// day), one of them closed afterwards, and another parent whose subaccount
// spent on the same days.
type statsWorld struct {
	db            *store.DB
	raw           *storetest.Raw
	parent, other *switchboard.Organisation
	subs          []*switchboard.Organisation // Budgeted, Shared, Closed
	day           []time.Time                 // day[0] … day[4], noon UTC
}

func newStatsWorld(t *testing.T) *statsWorld {
	t.Helper()
	db, dsn := newDBWithPath(t)
	w := &statsWorld{db: db, raw: rawDB(t, dsn)}
	owner, parent := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	otherOwner, other := newOwner(t, db, "Oscar", "Other", "oscar@example.com")
	w.parent, w.other = parent, other
	fund(t, dsn, parent.ID, 1_000_000)
	fund(t, dsn, other.ID, 1_000_000)
	for i, name := range []string{"Budgeted", "Shared", "Closed"} {
		funding, budget := switchboard.FundingShared, switchboard.Money(0)
		if i == 0 {
			funding, budget = switchboard.FundingBudget, 500_000
		}
		sub := newSubaccountRaw(t, db, owner, parent.ID, funding, budget)
		must(t, db.ExecForTest(ctx, `UPDATE organisations SET name = ? WHERE id = ?`, name, sub.ID))
		w.subs = append(w.subs, sub)
	}
	stranger := newSubaccountRaw(t, db, otherOwner, other.ID, switchboard.FundingShared, 0)
	for d := range 5 {
		w.day = append(w.day, time.Date(2025, time.March, 1+d, 12, 0, 0, 0, time.UTC))
	}

	send := func(org *switchboard.Organisation, day int, prices ...switchboard.Money) []int64 {
		t.Helper()
		setNow(db, w.day[day].Add(time.Duration(len(prices))*time.Minute))
		b := store.Batch{OrgID: org.ID, Actor: actorOf(owner), Currency: "EUR", Description: fmt.Sprintf("%d messages", len(prices))}
		for i, p := range prices {
			m := oneMessage(fmt.Sprintf("+3725550%04d", day*100+i), p)
			m.Parts = int(p / 500)
			b.Messages = append(b.Messages, m)
		}
		batch, err := db.QueueMessages(ctx, b)
		must(t, err)
		var ids []int64
		rows, err := w.raw.DB.QueryContext(ctx, w.raw.Bind(`SELECT id FROM messages WHERE batch_id = ? ORDER BY id`), batch)
		must(t, err)
		defer rows.Close()
		for rows.Next() {
			var id int64
			must(t, rows.Scan(&id))
			ids = append(ids, id)
		}
		return ids
	}
	report := func(day int, id int64, status switchboard.MessageStatus) {
		t.Helper()
		setNow(db, w.day[day].Add(3*time.Hour))
		_, err := db.ReportDelivery(ctx, id, status, "Unknown number")
		must(t, err)
	}
	sent := func(day int, id int64) {
		t.Helper()
		setNow(db, w.day[day].Add(4*time.Hour))
		must(t, db.RecordDeliveries(ctx, []switchboard.DeliveryOutcome{{MessageID: id, Status: switchboard.StatusSent}}))
	}

	budgeted, shared, closed := w.subs[0], w.subs[1], w.subs[2]
	// Day 0, before the periods the tests ask for.
	send(budgeted, 0, 500)
	// Day 1: the budgeted subaccount sends three, one of which fails on
	// day 3 (a refund on another day) and one is delivered; the shared one
	// sends a message of two parts, which the gateway accepts.
	b1 := send(budgeted, 1, 500, 500, 1000)
	s1 := send(shared, 1, 1000)
	report(1, b1[0], switchboard.StatusDelivered)
	sent(1, s1[0])
	// Day 2: all three send; the closed one before it is closed.
	b2 := send(budgeted, 2, 500, 500)
	send(shared, 2, 1500)
	c2 := send(closed, 2, 500, 500, 500)
	report(2, c2[1], switchboard.StatusFailed)
	report(2, b2[0], switchboard.StatusDelivered)
	// Day 3: the refund of a day-1 message; the stranger spends.
	report(3, b1[2], switchboard.StatusFailed)
	send(stranger, 3, 2500)
	// Day 4, after the periods: a day-2 message delivered (counted on the
	// day it was sent), and a new send.
	report(4, b2[1], switchboard.StatusDelivered)
	send(shared, 4, 500)
	must(t, db.ExecForTest(ctx, `UPDATE subaccounts SET status = 'closed', closed_at = ? WHERE org_id = ?`, w.day[4].UnixMilli(), closed.ID))
	return w
}

// ledgerCost is what the organisation's ledger lines from the start of
// day from to the end of day to add up to, as a cost (spends positive,
// refunds negative).
func (w *statsWorld) ledgerCost(t *testing.T, orgID int64, from, to time.Time, description string) switchboard.Money {
	t.Helper()
	start := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
	end := time.Date(to.Year(), to.Month(), to.Day()+1, 0, 0, 0, 0, time.UTC)
	var sum int64
	must(t, w.raw.QueryRowContext(ctx, `SELECT COALESCE(CAST(-SUM(amount) AS BIGINT), 0) FROM ledger
		WHERE org_id = ? AND created_at >= ? AND created_at < ? AND kind IN ('spend', 'refund') AND description LIKE ?`,
		orgID, start.UnixMilli(), end.UnixMilli(), description).Scan(&sum))
	return switchboard.Money(sum)
}

// messageCounts counts the organisation's messages sent from the start of
// day from to the end of day to, by status, and their parts, straight from
// messages (which the store's statistics must not read).
func (w *statsWorld) messageCounts(t *testing.T, orgID int64, from, to time.Time) (all, queued, sent, delivered, failed, parts int64) {
	t.Helper()
	start := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
	end := time.Date(to.Year(), to.Month(), to.Day()+1, 0, 0, 0, 0, time.UTC)
	must(t, w.raw.QueryRowContext(ctx, `SELECT COUNT(*),
			COALESCE(SUM(CASE WHEN status = 'queued' THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN status = 'delivered' THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(parts), 0)
		FROM messages WHERE org_id = ? AND created_at >= ? AND created_at < ?`, orgID, start.UnixMilli(), end.UnixMilli()).
		Scan(&all, &queued, &sent, &delivered, &failed, &parts))
	return
}

// TestSubaccountStatsEqualLedger checks the statistics of several periods
// against the ledger and the messages themselves: per subaccount and in
// total, the cost is the sum of its ledger lines of those days (a refund
// counted on its own day), day by day too, and the parent's lines
// "Subaccount …" add up to the same; the messages by status and their
// parts are what counting the messages gives. The closed subaccount is
// still there, and the other parent's subaccount is not.
func TestSubaccountStatsEqualLedger(t *testing.T) {
	w := newStatsWorld(t)
	periods := [][2]int{{1, 3}, {2, 2}, {0, 4}, {3, 3}, {1, 2}}
	for _, p := range periods {
		from, to := w.day[p[0]], w.day[p[1]]
		t.Run(fmt.Sprintf("days %d-%d", p[0], p[1]), func(t *testing.T) {
			st, err := w.db.SubaccountStats(ctx, w.parent.ID, from, to)
			must(t, err)
			if st.Days() != p[1]-p[0]+1 || !st.From.Equal(from.Truncate(24*time.Hour)) || !st.To.Equal(to.Truncate(24*time.Hour)) {
				t.Fatalf("period %v – %v of %d days, want %v – %v", st.From, st.To, st.Days(), from, to)
			}
			if len(st.Subaccounts) != 3 {
				t.Fatalf("%d subaccounts, want the parent's 3 (closed included): %+v", len(st.Subaccounts), st.Subaccounts)
			}
			var total store.SubaccountUsage
			for i, want := range []struct {
				name   string
				status switchboard.SubaccountStatus
				org    *switchboard.Organisation
			}{{"Budgeted", switchboard.SubaccountActive, w.subs[0]}, {"Closed", switchboard.SubaccountClosed, w.subs[2]}, {"Shared", switchboard.SubaccountActive, w.subs[1]}} {
				s := st.Subaccounts[i]
				if s.Name != want.name || s.Status != want.status || s.OrgID != want.org.ID {
					t.Fatalf("subaccount %d is %d %q %s, want %d %q %s", i, s.OrgID, s.Name, s.Status, want.org.ID, want.name, want.status)
				}
				if c := w.ledgerCost(t, s.OrgID, from, to, "%"); s.Cost != c {
					t.Errorf("%s: cost %d, the ledger says %d", s.Name, s.Cost, c)
				}
				for d := range st.Days() {
					if c := w.ledgerCost(t, s.OrgID, st.Day(d), st.Day(d), "%"); s.Daily[d] != c {
						t.Errorf("%s on %s: cost %d, the ledger says %d", s.Name, st.Day(d).Format(time.DateOnly), s.Daily[d], c)
					}
				}
				all, queued, sent, delivered, failed, parts := w.messageCounts(t, s.OrgID, from, to)
				got := [6]int64{s.Messages, s.Queued, s.Sent, s.Delivered, s.Failed, s.Parts}
				if want := [6]int64{all, queued, sent, delivered, failed, parts}; got != want {
					t.Errorf("%s: messages, queued, sent, delivered, failed, parts %v; counting the messages gives %v", s.Name, got, want)
				}
				total.Messages += all
				total.Queued += queued
				total.Sent += sent
				total.Delivered += delivered
				total.Failed += failed
				total.Parts += parts
			}
			if c := w.ledgerCost(t, w.parent.ID, from, to, "Subaccount %"); st.Total.Cost != c {
				t.Errorf("total cost %d, the parent's ledger lines of its subaccounts say %d", st.Total.Cost, c)
			}
			got := [6]int64{st.Total.Messages, st.Total.Queued, st.Total.Sent, st.Total.Delivered, st.Total.Failed, st.Total.Parts}
			if want := [6]int64{total.Messages, total.Queued, total.Sent, total.Delivered, total.Failed, total.Parts}; got != want {
				t.Errorf("totals %v, want %v", got, want)
			}
			for d := range st.Days() {
				if c := w.ledgerCost(t, w.parent.ID, st.Day(d), st.Day(d), "Subaccount %"); st.Total.Daily[d] != c {
					t.Errorf("total on %s: %d, the parent's ledger says %d", st.Day(d).Format(time.DateOnly), st.Total.Daily[d], c)
				}
			}
		})
	}

	// The figures the walk above must have met, written out once, so that
	// a test that compares nothing cannot pass: days 1–3.
	st, err := w.db.SubaccountStats(ctx, w.parent.ID, w.day[1], w.day[3])
	must(t, err)
	b := st.Subaccounts[0]
	if b.Messages != 5 || b.Delivered != 3 || b.Failed != 1 || b.Queued != 1 || b.Parts != 6 || b.Cost != 2000 {
		t.Errorf("Budgeted over days 1–3: %+v; want 5 messages (3 delivered, one of them on day 4, 1 failed, 1 queued), 6 parts, cost 2000 (3000 less a refund of 1000)", b)
	}
	if b.Daily[0] != 2000 || b.Daily[1] != 1000 || b.Daily[2] != -1000 {
		t.Errorf("Budgeted day by day: %v, want [2000 1000 -1000]", b.Daily)
	}
	if s := st.Subaccounts[2]; s.Sent != 1 || s.Messages != 2 || s.Cost != 2500 {
		t.Errorf("Shared over days 1–3: %+v; want 2 messages, 1 sent, cost 2500", s)
	}
	if c := st.Subaccounts[1]; c.Messages != 3 || c.Failed != 1 || c.Cost != 1000 {
		t.Errorf("Closed over days 1–3: %+v; want 3 messages, 1 failed, cost 1000", c)
	}

	// The other parent sees only its own subaccount; an organisation
	// without subaccounts sees none.
	st, err = w.db.SubaccountStats(ctx, w.other.ID, w.day[0], w.day[4])
	must(t, err)
	if len(st.Subaccounts) != 1 || st.Total.Cost != 2500 {
		t.Errorf("the other parent's statistics: %+v", st)
	}
	st, err = w.db.SubaccountStats(ctx, w.subs[0].ID, w.day[0], w.day[4])
	must(t, err)
	if len(st.Subaccounts) != 0 || st.Total.Cost != 0 || st.Days() != 5 {
		t.Errorf("statistics of an organisation without subaccounts: %+v", st)
	}
}

// TestSubaccountStatsPeriodLimits: a period ending before it starts, or
// longer than a leap year, is refused; a year of 366 days is not.
func TestSubaccountStatsPeriodLimits(t *testing.T) {
	db := newDB(t)
	_, parent := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	day := time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC)
	_, err := db.SubaccountStats(ctx, parent.ID, day, day.AddDate(0, 0, -1))
	wantCode(t, err, switchboard.EINVALID)
	_, err = db.SubaccountStats(ctx, parent.ID, day, day.AddDate(0, 0, 366))
	wantCode(t, err, switchboard.EINVALID)
	st, err := db.SubaccountStats(ctx, parent.ID, day, day.AddDate(0, 0, 365))
	must(t, err)
	if st.Days() != 366 {
		t.Errorf("2024 has %d days, want 366", st.Days())
	}
}
