package store_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"
	"time"

	"switchboard"
	"switchboard/store"
	"switchboard/store/storetest"
)

// The spending side of subaccounts (issue 12 point 3): every spend of a
// subaccount debits its parent in the same transaction, a budgeted one
// never passes its budget, a suspended one is refused; and the money
// holds under concurrency on both engines.

// newSubaccountNamed makes a new organisation called name, owned by owner,
// a subaccount of parent by a raw row (status active).
func newSubaccountNamed(tb testing.TB, db *store.DB, owner *switchboard.Profile, parentID int64, name string, funding switchboard.Funding, budget switchboard.Money) *switchboard.Organisation {
	tb.Helper()
	sub := &switchboard.Organisation{Name: name}
	must(tb, db.CreateOrganisation(ctx, owner, sub))
	must(tb, db.ExecForTest(ctx, `INSERT INTO subaccounts (org_id, parent_id, email, funding, budget, status, created_at)
		VALUES (?, ?, ?, ?, ?, 'active', 0)`, sub.ID, parentID, owner.Email, string(funding), int64(budget)))
	return sub
}

// setSubaccountStatus suspends, resumes or closes a subaccount behind the
// store's back (the parent's pages come with another part of the issue).
func setSubaccountStatus(tb testing.TB, db *store.DB, subID int64, status switchboard.SubaccountStatus) {
	tb.Helper()
	must(tb, db.ExecForTest(ctx, `UPDATE subaccounts SET status = ? WHERE org_id = ?`, string(status), subID))
}

// sendOne is a send of one message of price to number by org.
func sendOne(org int64, actor switchboard.Actor, number string, price switchboard.Money) store.Batch {
	return store.Batch{OrgID: org, Actor: actor, Currency: "EUR", Description: "1 message from Acme",
		Messages: []switchboard.Message{oneMessage(number, price)}}
}

// moneyOf reads what the money of a parent and its subaccounts is now: the
// parent's balance, each subaccount's spent, and the sums of the ledger
// and usage_daily of an organisation.
type moneyReader struct {
	tb  testing.TB
	raw *storetest.Raw
}

func (m moneyReader) balance(org int64) int {
	return count(m.tb, m.raw, `SELECT balance FROM organisations WHERE id = ?`, org)
}

func (m moneyReader) spent(sub int64) int {
	return count(m.tb, m.raw, `SELECT spent FROM subaccounts WHERE org_id = ?`, sub)
}

func (m moneyReader) ledger(org int64) int {
	return count(m.tb, m.raw, `SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE org_id = ?`, org)
}

// parentLedger is the sum of the parent's ledger lines about subaccount
// name.
func (m moneyReader) parentLedger(parent int64, name string) int {
	return count(m.tb, m.raw, `SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE org_id = ? AND description LIKE ?`, parent, "Subaccount "+name+": %")
}

func (m moneyReader) usage(org int64) (messages, spent, refunded int) {
	m.tb.Helper()
	must(m.tb, m.raw.QueryRowContext(ctx, `SELECT COALESCE(SUM(messages), 0), COALESCE(SUM(spent), 0), COALESCE(SUM(refunded), 0) FROM usage_daily WHERE org_id = ?`, org).Scan(&messages, &spent, &refunded))
	return messages, spent, refunded
}

// TestSubaccountBudgetRace: 50 sends of a budgeted subaccount at once,
// whose budget covers exactly 17 of them (the parent's balance covers all
// 50): exactly 17 go through, the 33 others are refused with the budget's
// sentence, and the parent's balance falls by exactly the budget; the
// ledger lines of both sides and the day's usage agree.
func TestSubaccountBudgetRace(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, parent := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	const price, covered, sends = 500, 17, 50
	const start = 1_000_000
	fund(t, dsn, parent.ID, start)
	sub := newSubaccountNamed(t, db, owner, parent.ID, "Acme Estonia", switchboard.FundingBudget, price*covered)

	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refused := 0, 0
	begin := make(chan struct{})
	for i := range sends {
		wg.Go(func() {
			<-begin
			_, err := db.QueueMessages(ctx, sendOne(sub.ID, actorOf(owner), fmt.Sprintf("+3725550%04d", i), price))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case switchboard.ErrorCode(err) == switchboard.EPAYMENT && switchboard.ErrorMessage(err) == "The budget left of €0.00 does not cover this send of €0.05.":
				refused++
			default:
				t.Errorf("send %d: %v", i, err)
			}
		})
	}
	close(begin)
	wg.Wait()
	if ok != covered || refused != sends-covered {
		t.Fatalf("%d sends went through and %d were refused; want %d and %d", ok, refused, covered, sends-covered)
	}
	m := moneyReader{t, rawDB(t, dsn)}
	if b := m.balance(parent.ID); b != start-price*covered {
		t.Errorf("parent's balance %d, want %d", b, start-price*covered)
	}
	if s := m.spent(sub.ID); s != price*covered {
		t.Errorf("spent %d, want the budget %d", s, price*covered)
	}
	if l := m.ledger(sub.ID); l != -price*covered {
		t.Errorf("the subaccount's ledger sums to %d, want %d", l, -price*covered)
	}
	if l := m.parentLedger(parent.ID, "Acme Estonia"); l != -price*covered {
		t.Errorf("the parent's ledger lines of the subaccount sum to %d, want %d", l, -price*covered)
	}
	if n := count(t, m.raw, `SELECT COUNT(*) FROM messages WHERE org_id = ?`, sub.ID); n != covered {
		t.Errorf("%d messages, want %d", n, covered)
	}
	if msgs, spent, _ := m.usage(sub.ID); msgs != covered || spent != price*covered {
		t.Errorf("usage_daily: %d messages, %d spent; want %d, %d", msgs, spent, covered, price*covered)
	}
	if msgs, _, _ := m.usage(parent.ID); msgs != 0 {
		t.Errorf("usage_daily counts %d messages for the parent, which sent none", msgs)
	}
	// The budget's last line says nothing is left.
	if n := count(t, m.raw, `SELECT balance_after FROM ledger WHERE org_id = ? ORDER BY id DESC LIMIT 1`, sub.ID); n != 0 {
		t.Errorf("the subaccount's last line says %d left, want 0", n)
	}
}

// TestParentAndSubaccountsSpendAtOnce: a parent, a subaccount that shares
// its balance and one with a budget all send at once, more than the
// parent's balance covers: the balance never goes below zero, ends at the
// start less every accepted spend (zero: the sends are of one price and
// outnumber it), and every accepted spend has its messages and its ledger
// lines on both sides, every refused one none.
func TestParentAndSubaccountsSpendAtOnce(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, parent := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	const price, start, rounds = 500, 500 * 40, 30
	fund(t, dsn, parent.ID, start)
	shared := newSubaccountNamed(t, db, owner, parent.ID, "Acme Latvia", switchboard.FundingShared, 0)
	budgeted := newSubaccountNamed(t, db, owner, parent.ID, "Acme Estonia", switchboard.FundingBudget, price*12)
	orgs := []int64{parent.ID, shared.ID, budgeted.ID}

	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := map[int64]int{}
	begin := make(chan struct{})
	for i := range rounds {
		for _, org := range orgs {
			wg.Go(func() {
				<-begin
				_, err := db.QueueMessages(ctx, sendOne(org, actorOf(owner), fmt.Sprintf("+3725551%04d", i), price))
				mu.Lock()
				defer mu.Unlock()
				switch switchboard.ErrorCode(err) {
				case "":
					accepted[org]++
				case switchboard.EPAYMENT:
				default:
					t.Errorf("send %d of %d: %v", i, org, err)
				}
			})
		}
	}
	close(begin)
	wg.Wait()
	m := moneyReader{t, rawDB(t, dsn)}
	total := accepted[parent.ID] + accepted[shared.ID] + accepted[budgeted.ID]
	t.Logf("accepted: parent %d, shared %d, budgeted %d", accepted[parent.ID], accepted[shared.ID], accepted[budgeted.ID])
	if total != start/price {
		t.Errorf("%d sends accepted, want %d (the balance covers that many, and more were tried)", total, start/price)
	}
	if accepted[budgeted.ID] > 12 {
		t.Errorf("the budgeted subaccount sent %d, past its budget of 12", accepted[budgeted.ID])
	}
	if b := m.balance(parent.ID); b != start-price*total || b < 0 {
		t.Errorf("parent's balance %d, want %d", b, start-price*total)
	}
	if n := count(t, m.raw, `SELECT COUNT(*) FROM ledger WHERE org_id = ? AND balance_after < 0`, parent.ID); n != 0 {
		t.Errorf("%d ledger lines of the parent show a balance below zero", n)
	}
	for _, s := range []struct {
		org  int64
		name string
	}{{shared.ID, "Acme Latvia"}, {budgeted.ID, "Acme Estonia"}} {
		want := -price * accepted[s.org]
		if l := m.ledger(s.org); l != want {
			t.Errorf("%s: its ledger sums to %d, want %d", s.name, l, want)
		}
		if l := m.parentLedger(parent.ID, s.name); l != want {
			t.Errorf("%s: the parent's lines of it sum to %d, want %d", s.name, l, want)
		}
		if sp := m.spent(s.org); sp != -want {
			t.Errorf("%s: spent %d, want %d", s.name, sp, -want)
		}
	}
	// The parent's ledger holds its own spends and its subaccounts': all of
	// them, as its balance says.
	if l := m.ledger(parent.ID); l != -price*total {
		t.Errorf("the parent's ledger sums to %d, want %d", l, -price*total)
	}
	for _, org := range orgs {
		if n := count(t, m.raw, `SELECT COUNT(*) FROM messages WHERE org_id = ?`, org); n != accepted[org] {
			t.Errorf("organisation %d: %d messages, want %d", org, n, accepted[org])
		}
		if msgs, spent, _ := m.usage(org); msgs != accepted[org] || spent != price*accepted[org] {
			t.Errorf("organisation %d: usage %d messages %d spent, want %d, %d", org, msgs, spent, accepted[org], price*accepted[org])
		}
	}
}

// TestSubaccountSuspendedAndResumed: a suspended subaccount's send, API
// send and campaign (scheduled before, started while suspended; and a new
// one) are all refused with the parent's sentence, and nothing is
// debited; once resumed, it sends again. A closed one sends nothing either.
func TestSubaccountSuspendedAndResumed(t *testing.T) {
	w := newCampaignWorld(t, "+37255500001", "+37255500002")
	parentOwner, parent := newOwner(t, w.db, "Grace", "Hopper", "grace@example.com")
	_ = parentOwner
	fund(t, w.dsn, parent.ID, 100_000)
	must(t, w.db.ExecForTest(ctx, `INSERT INTO subaccounts (org_id, parent_id, email, funding, budget, status, created_at)
		VALUES (?, ?, 'ada@example.com', 'budget', 50000, 'active', 0)`, w.org.ID, parent.ID))
	m := moneyReader{t, rawDB(t, w.dsn)}
	const sentence = "Grace's company has suspended this subaccount: sending is paused until they resume it."

	now := time.Now()
	early := w.schedule(t, now.Add(time.Minute), w.group.ID)
	setSubaccountStatus(t, w.db, w.org.ID, switchboard.SubaccountSuspended)

	_, err := w.db.QueueMessages(ctx, sendOne(w.org.ID, actorOf(w.owner), "+37255500009", 500))
	if switchboard.ErrorCode(err) != switchboard.EFORBIDDEN || switchboard.ErrorMessage(err) != sentence {
		t.Errorf("page send while suspended: %v", err)
	}
	idem := &store.Idempotency{Key: "suspended-1", RequestHash: sha256.Sum256([]byte("a"))}
	_, err = w.db.QueueAPIMessages(ctx, sendOne(w.org.ID, switchboard.Actor{}, "+37255500009", 500), idem, okAnswer)
	if switchboard.ErrorCode(err) != switchboard.EFORBIDDEN || switchboard.ErrorMessage(err) != sentence {
		t.Errorf("API send while suspended: %v", err)
	}
	c := &switchboard.Campaign{OrgID: w.org.ID, Name: "Later", From: "Acme", Text: "Hello", SendAt: now, GroupIDs: []int64{w.group.ID}}
	err = w.db.CreateCampaign(ctx, actorOf(w.owner), c)
	if switchboard.ErrorCode(err) != switchboard.EFORBIDDEN || switchboard.ErrorMessage(err) != sentence {
		t.Errorf("campaign created while suspended: %v", err)
	}
	early.SendAt = now.Add(2 * time.Minute)
	if err := w.db.UpdateCampaign(ctx, actorOf(w.owner), early); switchboard.ErrorMessage(err) != sentence {
		t.Errorf("campaign changed while suspended: %v", err)
	}
	started := startDue(t, w.db, now.Add(time.Hour))
	if len(started) != 1 || started[0].Status != switchboard.CampaignFailed || started[0].Reason != sentence {
		t.Fatalf("the campaign started while suspended: %+v", started)
	}
	cp, err := w.db.FindCampaign(ctx, w.org.ID, early.ID)
	must(t, err)
	if cp.Status != switchboard.CampaignFailed || cp.Reason != sentence {
		t.Errorf("campaign after its start: %s %q", cp.Status, cp.Reason)
	}
	if !hasAction(t, w.db, w.org.ID, store.AuditCampaignFailed) {
		t.Error("no campaign.failed in the audit log")
	}
	if b := m.balance(parent.ID); b != 100_000 || m.spent(w.org.ID) != 0 {
		t.Errorf("while suspended: parent's balance %d, spent %d; want 100000, 0", b, m.spent(w.org.ID))
	}
	if n := count(t, m.raw, `SELECT COUNT(*) FROM messages`) + count(t, m.raw, `SELECT COUNT(*) FROM ledger`) + count(t, m.raw, `SELECT COUNT(*) FROM api_idempotency`); n != 0 {
		t.Errorf("refused sends left %d rows of messages, ledger and idempotency keys", n)
	}

	// Resumed: each way sends again, the API's key too (nothing was kept
	// under it).
	setSubaccountStatus(t, w.db, w.org.ID, switchboard.SubaccountActive)
	if _, err := w.db.QueueMessages(ctx, sendOne(w.org.ID, actorOf(w.owner), "+37255500009", 500)); err != nil {
		t.Errorf("page send once resumed: %v", err)
	}
	if a, err := w.db.QueueAPIMessages(ctx, sendOne(w.org.ID, switchboard.Actor{}, "+37255500009", 500), idem, okAnswer); err != nil || a.Replayed {
		t.Errorf("API send once resumed: %+v %v", a, err)
	}
	c.SendAt = now
	must(t, w.db.CreateCampaign(ctx, actorOf(w.owner), c))
	started = startDue(t, w.db, now.Add(time.Hour))
	if len(started) != 1 || started[0].Status != switchboard.CampaignSending || started[0].Cost != 1000 {
		t.Fatalf("the campaign once resumed: %+v", started)
	}
	if b, s := m.balance(parent.ID), m.spent(w.org.ID); b != 100_000-2000 || s != 2000 {
		t.Errorf("once resumed: parent's balance %d, spent %d; want 98000, 2000", b, s)
	}

	// Closed: nothing, with its own sentence.
	setSubaccountStatus(t, w.db, w.org.ID, switchboard.SubaccountClosed)
	_, err = w.db.QueueMessages(ctx, sendOne(w.org.ID, actorOf(w.owner), "+37255500009", 500))
	if switchboard.ErrorCode(err) != switchboard.EFORBIDDEN || switchboard.ErrorMessage(err) != "This subaccount was closed by Grace's company: it sends nothing." {
		t.Errorf("send of a closed subaccount: %v", err)
	}
}

// okAnswer is an API send's answer as the handler renders it, reduced to
// its status.
func okAnswer([]switchboard.Message) (store.Answer, error) {
	return store.Answer{Status: 202, Body: []byte(`{}`)}, nil
}

// TestSubaccountCampaignPastItsBudget: a subaccount's campaign whose cost
// its budget does not cover fails with the budget's sentence, and one its
// parent's balance does not cover with the parent's; nothing is debited.
func TestSubaccountCampaignPastItsBudget(t *testing.T) {
	w := newCampaignWorld(t, "+37255500001", "+37255500002", "+37255500003")
	_, parent := newOwner(t, w.db, "Grace", "Hopper", "grace@example.com")
	fund(t, w.dsn, parent.ID, 100_000)
	must(t, w.db.ExecForTest(ctx, `INSERT INTO subaccounts (org_id, parent_id, email, funding, budget, status, created_at)
		VALUES (?, ?, 'ada@example.com', 'budget', 1000, 'active', 0)`, w.org.ID, parent.ID))
	now := time.Now()
	w.schedule(t, now, w.group.ID)
	started := startDue(t, w.db, now.Add(time.Hour))
	if len(started) != 1 || started[0].Status != switchboard.CampaignFailed || started[0].Reason != "The budget left of €0.10 does not cover this send of €0.15." {
		t.Fatalf("campaign past the budget: %+v", started)
	}
	must(t, w.db.ExecForTest(ctx, `UPDATE subaccounts SET budget = 100000 WHERE org_id = ?`, w.org.ID))
	fund(t, w.dsn, parent.ID, 1000)
	w.schedule(t, now, w.group.ID)
	started = startDue(t, w.db, now.Add(time.Hour))
	if len(started) != 1 || started[0].Status != switchboard.CampaignFailed ||
		started[0].Reason != "The balance of Grace's company, which funds this subaccount, is €0.10 and does not cover this send of €0.15." {
		t.Fatalf("campaign past the parent's balance: %+v", started)
	}
	m := moneyReader{t, rawDB(t, w.dsn)}
	if b, s := m.balance(parent.ID), m.spent(w.org.ID); b != 1000 || s != 0 {
		t.Errorf("parent's balance %d, spent %d; want 1000, 0", b, s)
	}
}

// TestSubaccountAPIGroupCommitMixed: API sends of four organisations at
// once, gathered by SQLite's group commit (one transaction, a savepoint
// each; one transaction each on PostgreSQL): a plain organisation's, an
// active budgeted subaccount's (budget for 5), a suspended subaccount's
// and a closed one's. The refused sends (EPAYMENT and EFORBIDDEN) roll
// back alone: every accepted send is whole, no refused one left a row or
// kept its idempotency key, and the money adds up.
func TestSubaccountAPIGroupCommitMixed(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, parent := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	_, plain := newOwner(t, db, "Grace", "Hopper", "grace@example.com")
	const price = 500
	fund(t, dsn, parent.ID, 1_000_000)
	fund(t, dsn, plain.ID, 1_000_000)
	budgeted := newSubaccountNamed(t, db, owner, parent.ID, "Acme Estonia", switchboard.FundingBudget, 5*price)
	suspended := newSubaccountNamed(t, db, owner, parent.ID, "Acme Latvia", switchboard.FundingShared, 0)
	closed := newSubaccountNamed(t, db, owner, parent.ID, "Acme Lithuania", switchboard.FundingShared, 0)
	setSubaccountStatus(t, db, suspended.ID, switchboard.SubaccountSuspended)
	setSubaccountStatus(t, db, closed.ID, switchboard.SubaccountClosed)
	orgs := []int64{plain.ID, budgeted.ID, suspended.ID, closed.ID}

	const rounds = 15
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := map[int64]int{}
	codes := map[int64]map[string]int{}
	begin := make(chan struct{})
	for i := range rounds {
		for _, org := range orgs {
			wg.Go(func() {
				<-begin
				idem := &store.Idempotency{Key: fmt.Sprintf("key-%d-%d", org, i), RequestHash: sha256.Sum256([]byte("x"))}
				_, err := db.QueueAPIMessages(ctx, sendOne(org, switchboard.Actor{}, fmt.Sprintf("+3725552%04d", i), price), idem, okAnswer)
				mu.Lock()
				defer mu.Unlock()
				if codes[org] == nil {
					codes[org] = map[string]int{}
				}
				codes[org][switchboard.ErrorCode(err)]++
				if err == nil {
					accepted[org]++
				}
			})
		}
	}
	close(begin)
	wg.Wait()
	want := map[int64]map[string]int{
		plain.ID:     {"": rounds},
		budgeted.ID:  {"": 5, switchboard.EPAYMENT: rounds - 5},
		suspended.ID: {switchboard.EFORBIDDEN: rounds},
		closed.ID:    {switchboard.EFORBIDDEN: rounds},
	}
	for _, org := range orgs {
		if fmt.Sprint(codes[org]) != fmt.Sprint(want[org]) {
			t.Errorf("organisation %d: outcomes %v, want %v", org, codes[org], want[org])
		}
	}
	m := moneyReader{t, rawDB(t, dsn)}
	for _, org := range orgs {
		if n := count(t, m.raw, `SELECT COUNT(*) FROM messages WHERE org_id = ?`, org); n != accepted[org] {
			t.Errorf("organisation %d: %d messages, want %d", org, n, accepted[org])
		}
		if n := count(t, m.raw, `SELECT COUNT(*) FROM message_queue q JOIN messages x ON x.id = q.message_id WHERE x.org_id = ?`, org); n != accepted[org] {
			t.Errorf("organisation %d: %d queued, want %d", org, n, accepted[org])
		}
		if n := count(t, m.raw, `SELECT COUNT(*) FROM api_idempotency WHERE org_id = ?`, org); n != accepted[org] {
			t.Errorf("organisation %d: %d idempotency keys kept, want %d", org, n, accepted[org])
		}
		if l := m.ledger(org); l != -price*accepted[org] {
			t.Errorf("organisation %d: ledger %d, want %d", org, l, -price*accepted[org])
		}
	}
	if b := m.balance(plain.ID); b != 1_000_000-price*rounds {
		t.Errorf("plain organisation's balance %d", b)
	}
	if b := m.balance(parent.ID); b != 1_000_000-price*5 {
		t.Errorf("parent's balance %d, want %d", b, 1_000_000-price*5)
	}
	if m.spent(suspended.ID)+m.spent(closed.ID) != 0 || m.spent(budgeted.ID) != 5*price {
		t.Errorf("spent: budgeted %d, suspended %d, closed %d", m.spent(budgeted.ID), m.spent(suspended.ID), m.spent(closed.ID))
	}
}

// TestRefundsTakeSubaccountsBeforeBalances: the delivery worker's batch
// that refunds messages of a parent and of two of its subaccounts while a
// send of the second subaccount is under way (its subaccounts row taken,
// the parent's balance next) must not deadlock: the batch takes every
// subaccounts row it needs before any balance, as sends do. PostgreSQL
// only: SQLite's single writer runs one transaction at a time.
func TestRefundsTakeSubaccountsBeforeBalances(t *testing.T) {
	if !storetest.Postgres() {
		t.Skip("row locks: PostgreSQL only")
	}
	db, dsn := newDBWithPath(t)
	owner, parent := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	fund(t, dsn, parent.ID, 100_000)
	first := newSubaccountNamed(t, db, owner, parent.ID, "Acme Estonia", switchboard.FundingShared, 0)
	second := newSubaccountNamed(t, db, owner, parent.ID, "Acme Latvia", switchboard.FundingShared, 0)
	raw := rawDB(t, dsn)
	var ids []int64
	for _, org := range []int64{parent.ID, first.ID, second.ID} {
		batch, err := db.QueueMessages(ctx, sendOne(org, actorOf(owner), "+37255500001", 500))
		must(t, err)
		var id int64
		must(t, raw.QueryRowContext(ctx, `SELECT id FROM messages WHERE batch_id = ?`, batch).Scan(&id))
		ids = append(ids, id)
	}

	// A send of the second subaccount, half done: its row is taken.
	send, err := raw.BeginTx(ctx, nil)
	must(t, err)
	defer send.Rollback()
	var pid int
	must(t, send.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid))
	_, err = send.ExecContext(ctx, `UPDATE subaccounts SET spent = spent + 500 WHERE org_id = ?`, second.ID)
	must(t, err)

	done := make(chan error, 1)
	go func() {
		var outcomes []switchboard.DeliveryOutcome
		for _, id := range ids {
			outcomes = append(outcomes, switchboard.DeliveryOutcome{MessageID: id, Status: switchboard.StatusFailed, Reason: "Unknown number"})
		}
		done <- db.RecordDeliveries(ctx, outcomes)
	}()
	// Once the batch waits for the send, the send takes the parent's
	// balance, as a send's debit does next.
	watch := rawDB(t, dsn)
	deadline := time.Now().Add(20 * time.Second)
	for count(t, watch, `SELECT COUNT(*) FROM pg_stat_activity WHERE ? = ANY(pg_blocking_pids(pid))`, pid) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the refunds never waited for the send")
		}
		time.Sleep(10 * time.Millisecond)
	}
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := send.ExecContext(sctx, `UPDATE organisations SET balance = balance - 500 WHERE id = ? AND balance >= 500`, parent.ID); err != nil {
		t.Fatalf("the send's debit of the parent: %v", err)
	}
	must(t, send.Commit())
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the refunds: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the refunds never finished")
	}
	m := moneyReader{t, raw}
	// 100000 − 3 × 500 sent + 3 × 500 refunded − 500 of the raw send.
	if b := m.balance(parent.ID); b != 100_000-500 {
		t.Errorf("parent's balance %d, want 99500", b)
	}
	if s1, s2 := m.spent(first.ID), m.spent(second.ID); s1 != 0 || s2 != 500 {
		t.Errorf("spent %d and %d, want 0 and 500", s1, s2)
	}
}
