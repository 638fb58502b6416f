package gateway_test

import (
	"net/http"
	"sync"
	"testing"

	"switchboard"
	"switchboard/gateway"
	"switchboard/store"
)

// TestWebhookRefusalRefundsSubaccount: messages of a budgeted subaccount
// that the gateway refuses for good (a webhook test server answering 400)
// are failed and refunded by the real delivery worker: the parent's
// balance and the subaccount's budget get them back, with a refund line on
// each side; the one the gateway accepts stays spent.
func TestWebhookRefusalRefundsSubaccount(t *testing.T) {
	p := newPanel(t)
	sub := &switchboard.Organisation{Name: "Acme Estonia"}
	if err := p.db.CreateOrganisation(ctx, &switchboard.Profile{ID: p.owner, FirstName: "Ada", LastName: "Lovelace"}, sub); err != nil {
		t.Fatal(err)
	}
	if _, err := p.raw.ExecContext(ctx, `INSERT INTO subaccounts (org_id, parent_id, email, funding, budget, status, created_at)
		VALUES (?, ?, 'sub@example.com', 'budget', 3000, 'active', 0)`, sub.ID, p.org); err != nil {
		t.Fatal(err)
	}
	if _, err := p.raw.ExecContext(ctx, `UPDATE organisations SET balance = 10000 WHERE id = ?`, p.org); err != nil {
		t.Fatal(err)
	}
	b := store.Batch{OrgID: sub.ID, Actor: switchboard.Actor{ProfileID: p.owner}, Currency: "EUR", Description: "3 messages from Acme"}
	for _, n := range []string{"+37255500001", "+37255500002", "+37255500003"} {
		b.Messages = append(b.Messages, switchboard.Message{From: "Acme", To: n, Text: "Hello", Encoding: switchboard.GSM7, Parts: 1, Price: 700})
	}
	if _, err := p.db.QueueMessages(ctx, b); err != nil {
		t.Fatal(err)
	}
	money := func() (balance, spent int) {
		return p.count(t, `SELECT balance FROM organisations WHERE id = ?`, p.org), p.count(t, `SELECT spent FROM subaccounts WHERE org_id = ?`, sub.ID)
	}
	if b, s := money(); b != 10000-2100 || s != 2100 {
		t.Fatalf("after the send: parent's balance %d, spent %d", b, s)
	}
	var mu sync.Mutex // the gateway answers from the server's goroutines
	refused := map[int64]bool{}
	var accepted int64
	if err := p.raw.QueryRowContext(ctx, `SELECT MIN(id) FROM messages WHERE org_id = ?`, sub.ID).Scan(&accepted); err != nil {
		t.Fatal(err)
	}
	g := newTestGateway(t, func(id int64, attempt int) (int, string) {
		if id == accepted {
			return http.StatusOK, `{"accepted": true}`
		}
		mu.Lock()
		refused[id] = true
		mu.Unlock()
		return http.StatusBadRequest, `{"error": "not a mobile number"}`
	})
	w := gateway.NewWorker(p.db, g.webhook(t), quiet())
	for range 3 {
		if _, err := w.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if len(g.Calls()) != 3 || len(refused) != 2 {
		t.Fatalf("%d calls, %d refused; want 3, 2", len(g.Calls()), len(refused))
	}
	if b, s := money(); b != 10000-700 || s != 700 {
		t.Errorf("after the refunds: parent's balance %d, spent %d; want 9300, 700", b, s)
	}
	for id := range refused {
		if m := p.message(t, id); m.status != "failed" || !m.refunded {
			t.Errorf("message %d: %+v", id, m)
		}
		if n := p.count(t, `SELECT COUNT(*) FROM ledger WHERE org_id = ? AND kind = 'refund' AND message_id = ? AND amount = 700`, sub.ID, id); n != 1 {
			t.Errorf("message %d: %d refund lines of the subaccount, want 1", id, n)
		}
		if n := p.count(t, `SELECT COUNT(*) FROM ledger WHERE org_id = ? AND kind = 'refund' AND message_id = ? AND amount = 700 AND description LIKE 'Subaccount Acme Estonia: Refund of message %'`, p.org, id); n != 1 {
			t.Errorf("message %d: %d refund lines of the parent, want 1", id, n)
		}
	}
	// The last refund line of each side says what is left: the budget's
	// 3000 − 700 on the subaccount, the balance on the parent.
	if n := p.count(t, `SELECT balance_after FROM ledger WHERE org_id = ? ORDER BY id DESC LIMIT 1`, sub.ID); n != 2300 {
		t.Errorf("the subaccount's last line says %d left, want 2300", n)
	}
	if n := p.count(t, `SELECT balance_after FROM ledger WHERE org_id = ? ORDER BY id DESC LIMIT 1`, p.org); n != 9300 {
		t.Errorf("the parent's last line says a balance of %d, want 9300", n)
	}
	if n := p.count(t, `SELECT refunded FROM usage_daily WHERE org_id = ?`, sub.ID); n != 1400 {
		t.Errorf("usage refunded %d, want 1400", n)
	}
	if n := p.count(t, `SELECT failed FROM message_days WHERE org_id = ?`, sub.ID); n != 2 {
		t.Errorf("message_days counts %d failed, want 2", n)
	}
}
