package store_test

import (
	"crypto/sha256"
	"testing"
	"time"

	"switchboard"
	"switchboard/store"
)

// TestIdempotencyKey: the first answer is kept and given again, byte for
// byte, to the same request with the same key, which sends nothing; the
// same key with another request is refused naming the header; keys are
// the organisation's own; after 24 hours the key is free again, and the
// expired answers are deleted.
func TestIdempotencyKey(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	otherOwner, other := newOwner(t, db, "Bob", "Other", "bob@example.com")
	key := newAPIKey(t, db, owner, org.ID, "Website")
	otherKey := newAPIKey(t, db, otherOwner, other.ID, "Shop")
	fund(t, dsn, org.ID, 100_000)
	fund(t, dsn, other.ID, 100_000)
	raw := rawDB(t, dsn)
	messages := func(orgID int64) int {
		return count(t, raw, `SELECT COUNT(*) FROM messages WHERE org_id = ?`, orgID)
	}

	idem := store.Idempotency{Key: "order-42", RequestHash: sha256.Sum256([]byte("POST /api/v1/messages {\"to\":\"+37255500001\"}"))}
	kept, err := db.KeptAnswer(ctx, org.ID, idem)
	if err != nil || kept != nil {
		t.Fatalf("an unused key has an answer: %+v, %v", kept, err)
	}
	var queued []switchboard.Message
	first, err := db.QueueAPIMessages(ctx, apiBatch(org.ID, key, 500, "+37255500001"), &idem, echoAnswer(&queued))
	must(t, err)
	if first.Replayed || messages(org.ID) != 1 {
		t.Fatalf("first send: %+v, %d messages", first, messages(org.ID))
	}

	kept, err = db.KeptAnswer(ctx, org.ID, idem)
	must(t, err)
	if kept == nil || !kept.Replayed || kept.Status != first.Status || string(kept.Body) != string(first.Body) {
		t.Fatalf("kept %+v, want the first answer %+v", kept, first)
	}
	again, err := db.QueueAPIMessages(ctx, apiBatch(org.ID, key, 500, "+37255500001"), &idem, echoAnswer(&queued))
	must(t, err)
	if !again.Replayed || string(again.Body) != string(first.Body) || messages(org.ID) != 1 {
		t.Fatalf("a retry: %+v, %d messages", again, messages(org.ID))
	}

	otherRequest := store.Idempotency{Key: idem.Key, RequestHash: sha256.Sum256([]byte("another body"))}
	_, err = db.KeptAnswer(ctx, org.ID, otherRequest)
	wantCode(t, err, switchboard.EINVALID)
	if f := switchboard.Fields(err)["Idempotency-Key"]; f == "" {
		t.Errorf("the error names no Idempotency-Key: %v", err)
	}
	_, err = db.QueueAPIMessages(ctx, apiBatch(org.ID, key, 500, "+37255500002"), &otherRequest, echoAnswer(&queued))
	wantCode(t, err, switchboard.EINVALID)
	if messages(org.ID) != 1 {
		t.Errorf("the same key with another request sent")
	}

	// Another organisation's key of the same name is its own.
	if kept, err := db.KeptAnswer(ctx, other.ID, idem); err != nil || kept != nil {
		t.Errorf("another organisation sees the key: %+v, %v", kept, err)
	}
	a, err := db.QueueAPIMessages(ctx, apiBatch(other.ID, otherKey, 500, "+37255500001"), &otherRequest, echoAnswer(&queued))
	must(t, err)
	if a.Replayed || messages(other.ID) != 1 {
		t.Errorf("another organisation's send with the same key: %+v", a)
	}

	// 24 hours later the key is free: ignored, taken over by the next
	// send, and deleted by the cleanup.
	setNow(db, t0.Add(store.IdempotencyTTL))
	if kept, err := db.KeptAnswer(ctx, org.ID, otherRequest); err != nil || kept != nil {
		t.Fatalf("an expired answer: %+v, %v", kept, err)
	}
	a, err = db.QueueAPIMessages(ctx, apiBatch(org.ID, key, 500, "+37255500002"), &otherRequest, echoAnswer(&queued))
	must(t, err)
	if a.Replayed || messages(org.ID) != 2 {
		t.Fatalf("a send with an expired key: %+v, %d messages", a, messages(org.ID))
	}
	if kept, err := db.KeptAnswer(ctx, org.ID, otherRequest); err != nil || kept == nil || string(kept.Body) != string(a.Body) {
		t.Fatalf("the taken-over key keeps %+v, %v; want %q", kept, err, a.Body)
	}
	setNow(db, t0.Add(store.IdempotencyTTL+time.Hour))
	n, err := db.DeleteExpiredAnswers(ctx)
	must(t, err)
	if n != 1 {
		t.Errorf("deleted %d expired answers, want 1 (the other organisation's)", n)
	}
	if c := count(t, raw, `SELECT COUNT(*) FROM api_idempotency`); c != 1 {
		t.Errorf("%d answers kept, want 1", c)
	}
}
