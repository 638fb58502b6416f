package store_test

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard"
	"switchboard/store"
)

// newAPIKey creates a key of the organisation and returns it.
func newAPIKey(tb testing.TB, db *store.DB, owner *switchboard.Profile, orgID int64, name string) *switchboard.APIKey {
	tb.Helper()
	plain, hash := switchboard.NewAPIKey()
	k := &switchboard.APIKey{OrgID: orgID, Name: name}
	must(tb, db.CreateAPIKey(ctx, actorOf(owner), k, hash, plain[:switchboard.APIKeyShown]))
	return k
}

// apiBatch is a send of one message of price to each number through key.
func apiBatch(orgID int64, key *switchboard.APIKey, price switchboard.Money, numbers ...string) store.Batch {
	b := store.Batch{OrgID: orgID, Actor: switchboard.Actor{Name: "API key " + key.Name, APIKeyID: key.ID}, Currency: "EUR",
		Description: fmt.Sprintf("%d messages", len(numbers)), APIKeyID: key.ID}
	for _, n := range numbers {
		b.Messages = append(b.Messages, oneMessage(n, price))
	}
	return b
}

// echoAnswer renders the queued messages' ids as the answer, and keeps
// what it was given.
func echoAnswer(got *[]switchboard.Message) func([]switchboard.Message) (store.Answer, error) {
	return func(queued []switchboard.Message) (store.Answer, error) {
		*got = queued
		body := "ids"
		for _, m := range queued {
			body += fmt.Sprintf(" %d", m.ID)
		}
		return store.Answer{Status: 202, Body: []byte(body)}, nil
	}
}

// TestQueueAPIMessages: an API send queues and debits as a page's does,
// returns the messages with their ids, and every message carries its key
// and send_at, which History reads back; its queue rows are due at
// send_at. A page's send carries neither.
func TestQueueAPIMessages(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	key := newAPIKey(t, db, owner, org.ID, "Website")
	fund(t, dsn, org.ID, 10_000)
	raw := rawDB(t, dsn)

	sendAt := t0.Add(7 * 24 * time.Hour)
	b := apiBatch(org.ID, key, 500, "+37255500001", "+37255500002")
	b.SendAt = &sendAt
	var queued []switchboard.Message
	a, err := db.QueueAPIMessages(ctx, b, nil, echoAnswer(&queued))
	must(t, err)
	if len(queued) != 2 || a.Replayed || a.Status != 202 {
		t.Fatalf("answer %+v, queued %+v", a, queued)
	}
	for i, m := range queued {
		if m.ID == 0 || m.To != b.Messages[i].To || m.APIKeyID != key.ID || m.SendAt == nil || !m.SendAt.Equal(sendAt) ||
			m.Status != switchboard.StatusQueued || m.Price != 500 || !m.CreatedAt.Equal(t0) {
			t.Errorf("queued message %d: %+v", i, m)
		}
		if want := fmt.Sprintf(" %d", m.ID); !strings.Contains(string(a.Body), want) {
			t.Errorf("answer %q lacks %q", a.Body, want)
		}
		if n := count(t, raw, `SELECT COUNT(*) FROM message_queue WHERE message_id = ? AND next_attempt_at = ?`, m.ID, sendAt.UnixMilli()); n != 1 {
			t.Errorf("message %d: %d queue rows due at send_at, want 1", m.ID, n)
		}
	}
	if bal, _ := db.Balance(ctx, org.ID); bal != 9_000 {
		t.Errorf("balance %d, want 9000", bal)
	}

	// History reads the key and send_at back, in each of its readers.
	list, _, err := db.ListMessages(ctx, org.ID, store.MessageFilter{}, 0, 10)
	must(t, err)
	if len(list) != 2 || list[0].APIKeyID != key.ID || list[0].SendAt == nil || !list[0].SendAt.Equal(sendAt) {
		t.Errorf("ListMessages: %+v", list)
	}
	m, err := db.FindMessage(ctx, org.ID, queued[0].ID)
	must(t, err)
	if m.APIKeyID != key.ID || m.SendAt == nil || !m.SendAt.Equal(sendAt) {
		t.Errorf("FindMessage: %+v", m)
	}
	streamed := 0
	must(t, db.StreamMessages(ctx, org.ID, store.MessageFilter{}, func(m *switchboard.Message) error {
		streamed++
		if m.APIKeyID != key.ID || m.SendAt == nil || !m.SendAt.Equal(sendAt) {
			t.Errorf("StreamMessages: %+v", m)
		}
		return nil
	}))
	if streamed != 2 {
		t.Errorf("streamed %d messages, want 2", streamed)
	}

	// Without send_at: due at once, and send_at stays empty.
	queued = nil
	_, err = db.QueueAPIMessages(ctx, apiBatch(org.ID, key, 500, "+37255500003"), nil, echoAnswer(&queued))
	must(t, err)
	if len(queued) != 1 || queued[0].SendAt != nil || queued[0].APIKeyID != key.ID {
		t.Fatalf("queued %+v", queued)
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM message_queue WHERE message_id = ? AND next_attempt_at = ?`, queued[0].ID, t0.UnixMilli()); n != 1 {
		t.Errorf("a message without send_at is not due at once")
	}

	// A page's send: no key, no send_at.
	batch, err := db.QueueMessages(ctx, store.Batch{OrgID: org.ID, Actor: actorOf(owner), Currency: "EUR", Description: "1 message",
		Messages: []switchboard.Message{oneMessage("+37255500004", 500)}})
	must(t, err)
	if n := count(t, raw, `SELECT COUNT(*) FROM messages WHERE batch_id = ? AND api_key_id IS NULL AND send_at IS NULL`, batch); n != 1 {
		t.Errorf("a page's message carries a key or a send_at")
	}
}

// TestQueueAPIMessagesLargeBatch: a send larger than one INSERT chunk
// carries the key and send_at on every message, on both engines' paths.
func TestQueueAPIMessagesLargeBatch(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	key := newAPIKey(t, db, owner, org.ID, "Website")
	fund(t, dsn, org.ID, 1<<40)
	numbers := make([]string, 1234)
	for i := range numbers {
		numbers[i] = fmt.Sprintf("+3725%07d", i)
	}
	sendAt := t0.Add(time.Hour)
	b := apiBatch(org.ID, key, 500, numbers...)
	b.SendAt = &sendAt
	var queued []switchboard.Message
	_, err := db.QueueAPIMessages(ctx, b, nil, echoAnswer(&queued))
	must(t, err)
	if len(queued) != len(numbers) {
		t.Fatalf("%d messages read back, want %d", len(queued), len(numbers))
	}
	for i, m := range queued {
		if m.To != numbers[i] {
			t.Fatalf("message %d is to %s, want %s (the order of the send)", i, m.To, numbers[i])
		}
	}
	raw := rawDB(t, dsn)
	if n := count(t, raw, `SELECT COUNT(*) FROM messages m JOIN message_queue q ON q.message_id = m.id
		WHERE m.org_id = ? AND m.api_key_id = ? AND m.send_at = ? AND q.next_attempt_at = ?`, org.ID, key.ID, sendAt.UnixMilli(), sendAt.UnixMilli()); n != len(numbers) {
		t.Errorf("%d messages with the key, send_at and a queue row due then, want %d", n, len(numbers))
	}
}

// TestQueueAPIMessagesPayment: a balance that does not cover the send is
// EPAYMENT with the page's words; nothing is queued, debited or kept
// under the Idempotency-Key, and the same key works once there is money.
func TestQueueAPIMessagesPayment(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	key := newAPIKey(t, db, owner, org.ID, "Website")
	fund(t, dsn, org.ID, 900)
	idem := &store.Idempotency{Key: "order-1", RequestHash: sha256.Sum256([]byte("POST /api/v1/messages body"))}
	var queued []switchboard.Message
	_, err := db.QueueAPIMessages(ctx, apiBatch(org.ID, key, 500, "+37255500001", "+37255500002"), idem, echoAnswer(&queued))
	wantCode(t, err, switchboard.EPAYMENT)
	if msg := switchboard.ErrorMessage(err); msg != "Your balance of €0.09 does not cover this send of €0.10." {
		t.Errorf("message %q", msg)
	}
	raw := rawDB(t, dsn)
	for _, q := range []string{`SELECT COUNT(*) FROM messages`, `SELECT COUNT(*) FROM message_queue`, `SELECT COUNT(*) FROM api_idempotency`, `SELECT COUNT(*) FROM ledger`} {
		if n := count(t, raw, q); n != 0 {
			t.Errorf("%s: %d after a refused send", q, n)
		}
	}
	if bal, _ := db.Balance(ctx, org.ID); bal != 900 {
		t.Errorf("balance %d, want 900", bal)
	}
	fund(t, dsn, org.ID, 1000)
	a, err := db.QueueAPIMessages(ctx, apiBatch(org.ID, key, 500, "+37255500001", "+37255500002"), idem, echoAnswer(&queued))
	must(t, err)
	if a.Replayed || len(queued) != 2 {
		t.Errorf("the retry after the money came: %+v, %d queued", a, len(queued))
	}
}

// TestClaimMessagesFromSendAt: a message scheduled by send_at is not
// claimed before then, and its claim's CreatedAt (where the worker's
// give-up clock starts) is its send_at, not when it was queued.
func TestClaimMessagesFromSendAt(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	key := newAPIKey(t, db, owner, org.ID, "Website")
	fund(t, dsn, org.ID, 10_000)
	sendAt := t0.Add(7 * 24 * time.Hour)
	b := apiBatch(org.ID, key, 500, "+37255500001")
	b.SendAt = &sendAt
	var queued []switchboard.Message
	_, err := db.QueueAPIMessages(ctx, b, nil, echoAnswer(&queued))
	must(t, err)
	list, err := db.ClaimMessages(ctx, sendAt.Add(-time.Minute), 10)
	must(t, err)
	if len(list) != 0 {
		t.Fatalf("claimed %d messages a minute before their send_at", len(list))
	}
	list, err = db.ClaimMessages(ctx, sendAt, 10)
	must(t, err)
	if len(list) != 1 || list[0].ID != queued[0].ID {
		t.Fatalf("claimed %+v at send_at", list)
	}
	if !list[0].CreatedAt.Equal(sendAt) {
		t.Errorf("the claim's CreatedAt is %v, want the send_at %v", list[0].CreatedAt, sendAt)
	}
}

// TestAPIAutoReplace: API sends take the mode of the API configuration,
// or the Auto-replace page's when it is empty or there is none, with the
// page's table either way; another organisation's configuration does not
// count.
func TestAPIAutoReplace(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	_, other := newOwner(t, db, "Bob", "Other", "bob@example.com")
	must(t, db.SaveAutoReplace(ctx, actorOf(owner), org.ID, switchboard.AutoReplace{Mode: switchboard.AutoReplaceOn,
		Rules: []switchboard.Replacement{{Find: "colour", Replace: "color"}}}))
	raw := rawDB(t, dsn)
	check := func(want switchboard.AutoReplaceMode) {
		t.Helper()
		ar, err := db.APIAutoReplace(ctx, org.ID)
		must(t, err)
		if ar.Mode != want || len(ar.Rules) != 1 || ar.Rules[0].Find != "colour" {
			t.Errorf("%+v, want mode %s with the table", ar, want)
		}
	}
	check(switchboard.AutoReplaceOn)
	_, err := raw.ExecContext(ctx, `INSERT INTO api_config (org_id, auto_replace, updated_at) VALUES (?, 'off', 1)`, other.ID)
	must(t, err)
	check(switchboard.AutoReplaceOn)
	_, err = raw.ExecContext(ctx, `INSERT INTO api_config (org_id, auto_replace, updated_at) VALUES (?, '', 1)`, org.ID)
	must(t, err)
	check(switchboard.AutoReplaceOn)
	_, err = raw.ExecContext(ctx, `UPDATE api_config SET auto_replace = 'full' WHERE org_id = ?`, org.ID)
	must(t, err)
	check(switchboard.AutoReplaceFull)
	_, err = db.APIAutoReplace(ctx, 1<<40)
	wantCode(t, err, switchboard.ENOTFOUND)
}

// TestQueueAPIMessagesParallelRetries: 20 requests with one
// Idempotency-Key at once make one send, and all get its answer.
func TestQueueAPIMessagesParallelRetries(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	key := newAPIKey(t, db, owner, org.ID, "Website")
	fund(t, dsn, org.ID, 100_000)
	idem := &store.Idempotency{Key: "retry", RequestHash: sha256.Sum256([]byte("one request"))}
	const n = 20
	answers := make([]store.Answer, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			var queued []switchboard.Message
			answers[i], errs[i] = db.QueueAPIMessages(ctx, apiBatch(org.ID, key, 500, "+37255500001"), idem, echoAnswer(&queued))
		})
	}
	close(start)
	wg.Wait()
	fresh := 0
	for i := range n {
		must(t, errs[i])
		if !answers[i].Replayed {
			fresh++
		}
		if answers[i].Status != 202 || string(answers[i].Body) != string(answers[0].Body) {
			t.Errorf("answer %d: %d %q, want 202 %q", i, answers[i].Status, answers[i].Body, answers[0].Body)
		}
	}
	if fresh != 1 {
		t.Errorf("%d sends were made, want 1", fresh)
	}
	if c := count(t, rawDB(t, dsn), `SELECT COUNT(*) FROM messages WHERE org_id = ?`, org.ID); c != 1 {
		t.Errorf("%d messages queued, want 1", c)
	}
	if bal, _ := db.Balance(ctx, org.ID); bal != 99_500 {
		t.Errorf("balance %d, want 99500 (one debit)", bal)
	}
}

// TestQueueAPIMessagesGroups: sends racing for a balance that covers
// only some of them each stay whole or nothing, however they are grouped
// into transactions: exactly as many as the money covers are queued, each
// with its debit, its ledger line and its kept answer; the others leave
// nothing behind, and the balance ends at zero.
func TestQueueAPIMessagesGroups(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	key := newAPIKey(t, db, owner, org.ID, "Website")
	const n, covered = 30, 20
	fund(t, dsn, org.ID, covered*500)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			idem := &store.Idempotency{Key: fmt.Sprintf("send-%d", i), RequestHash: sha256.Sum256([]byte(fmt.Sprint(i)))}
			var queued []switchboard.Message
			_, errs[i] = db.QueueAPIMessages(ctx, apiBatch(org.ID, key, 500, fmt.Sprintf("+3725550%04d", i)), idem, echoAnswer(&queued))
		})
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch switchboard.ErrorCode(err) {
		case "":
			ok++
		case switchboard.EPAYMENT:
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	raw := rawDB(t, dsn)
	if ok != covered {
		t.Errorf("%d sends went through, want %d", ok, covered)
	}
	for _, q := range []string{`SELECT COUNT(*) FROM messages`, `SELECT COUNT(*) FROM message_queue`, `SELECT COUNT(*) FROM ledger WHERE kind = 'spend'`,
		`SELECT COUNT(*) FROM api_idempotency WHERE status = 202`, `SELECT COUNT(*) FROM api_idempotency`} {
		if c := count(t, raw, q); c != covered {
			t.Errorf("%s: %d, want %d", q, c, covered)
		}
	}
	if bal, _ := db.Balance(ctx, org.ID); bal != 0 {
		t.Errorf("balance %d, want 0", bal)
	}
}
