package store_test

import (
	"fmt"
	"testing"
	"time"

	"switchboard"
	"switchboard/store"
)

// TestOverview: the dashboard's figures come from the kept sums of the
// month (UTC) and the newest five messages of the organisation alone.
func TestOverview(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	other, globex := newOwner(t, db, "Grace", "Hopper", "grace@example.com")
	fund(t, dsn, org.ID, 10*switchboard.MoneyUnit)
	fund(t, dsn, globex.ID, 10*switchboard.MoneyUnit)

	empty, err := db.Overview(ctx, org.ID, t0)
	must(t, err)
	if empty.Members != 1 || empty.Balance != 10*switchboard.MoneyUnit || empty.Spent != 0 || len(empty.Messages) != 0 {
		t.Fatalf("overview of a new organisation: %+v", empty)
	}

	for i := range 7 {
		_, err := db.QueueMessages(ctx, store.Batch{OrgID: org.ID, Actor: actorOf(owner), Currency: "EUR",
			Messages: []switchboard.Message{oneMessage(fmt.Sprintf("+3725550000%d", i), 500)}})
		must(t, err)
	}
	_, err = db.QueueMessages(ctx, store.Batch{OrgID: globex.ID, Actor: actorOf(other), Currency: "EUR",
		Messages: []switchboard.Message{oneMessage("+37255599999", 700)}})
	must(t, err)
	// The months around t0 (3 March 2025): only March counts, less its
	// refunds.
	raw := rawDB(t, dsn)
	for _, row := range []struct {
		day             string
		spent, refunded int64
	}{{"2025-02-28", 90000, 0}, {"2025-03-01", 2000, 500}, {"2025-03-31", 1000, 0}, {"2025-04-01", 80000, 0}} {
		if _, err := raw.ExecContext(ctx, `INSERT INTO usage_daily (org_id, day, messages, parts, spent, refunded) VALUES (?, ?, 1, 1, ?, ?)`,
			org.ID, row.day, row.spent, row.refunded); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := raw.ExecContext(ctx, `UPDATE messages SET status = 'delivered' WHERE org_id = ? AND recipient = '+37255500006'`, org.ID); err != nil {
		t.Fatal(err)
	}

	o, err := db.Overview(ctx, org.ID, t0)
	must(t, err)
	if want := switchboard.Money(7*500 + 2000 - 500 + 1000); o.Spent != want {
		t.Errorf("spent this month %d, want %d", o.Spent, want)
	}
	if want := 10*switchboard.MoneyUnit - 7*500; o.Balance != want {
		t.Errorf("balance %d, want %d", o.Balance, want)
	}
	if len(o.Messages) != store.OverviewMessages {
		t.Fatalf("%d messages, want %d", len(o.Messages), store.OverviewMessages)
	}
	for i, m := range o.Messages {
		if want := fmt.Sprintf("+3725550000%d", 6-i); m.To != want || m.OrgID != org.ID || m.Price != 500 || m.From != "Acme" {
			t.Errorf("message %d: %+v, want to %s", i, m, want)
		}
	}
	if o.Messages[0].Status != switchboard.StatusDelivered || o.Messages[1].Status != switchboard.StatusQueued {
		t.Errorf("statuses %s, %s", o.Messages[0].Status, o.Messages[1].Status)
	}

	// Another month reads other rows.
	april, err := db.Overview(ctx, org.ID, time.Date(2025, time.April, 15, 0, 0, 0, 0, time.UTC))
	must(t, err)
	if april.Spent != 80000 {
		t.Errorf("April's spend %d, want 80000", april.Spent)
	}

	_, err = db.Overview(ctx, globex.ID+1000, t0)
	wantCode(t, err, switchboard.ENOTFOUND)
}
