package store_test

import (
	"fmt"
	"testing"

	"switchboard"
	"switchboard/store"
)

// BenchmarkQueueMessages10000 is the store's part of a send to 10,000
// recipients: the debit, 10,000 messages, their delivery queue rows and
// the day's usage, in one transaction.
func BenchmarkQueueMessages10000(b *testing.B) {
	db, dsn := newDBWithPath(b)
	owner, org := newOwner(b, db, "Ada", "Lovelace", "ada@example.com")
	fund(b, dsn, org.ID, 1<<50)
	msgs := make([]switchboard.Message, 10_000)
	for i := range msgs {
		msgs[i] = switchboard.Message{From: "Acme", To: fmt.Sprintf("+3725%07d", i), Text: "Your appointment is tomorrow at 10:00. Reply STOP to opt out.",
			Encoding: switchboard.GSM7, Parts: 1, Price: 500}
	}
	batch := store.Batch{OrgID: org.ID, Actor: actorOf(owner), Currency: "EUR", Description: "10000 messages", Messages: msgs}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := db.QueueMessages(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
}
