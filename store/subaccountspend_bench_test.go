package store_test

import (
	"testing"

	"switchboard"
)

// BenchmarkQueueOneMessage is a send of one message by an organisation
// that is no subaccount: what fundingOf (the question "is this a
// subaccount?", asked by every debit) costs shows here, against the same
// benchmark without it. The database holds 100 subaccounts of another
// organisation, so the question is not asked of an empty table.
func BenchmarkQueueOneMessage(b *testing.B) {
	db, dsn := newDBWithPath(b)
	owner, org := newOwner(b, db, "Ada", "Lovelace", "ada@example.com")
	fund(b, dsn, org.ID, 1<<50)
	_, other := newOwner(b, db, "Grace", "Hopper", "grace@example.com")
	for range 100 {
		newSubaccountNamed(b, db, owner, other.ID, "Acme Estonia", switchboard.FundingShared, 0)
	}
	batch := sendOne(org.ID, actorOf(owner), "+37255500001", 500)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := db.QueueMessages(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkQueueOneMessageSubaccount is the same send by a budgeted
// subaccount: both conditional UPDATEs (its budget, its parent's
// balance) and a ledger line on each side.
func BenchmarkQueueOneMessageSubaccount(b *testing.B) {
	db, dsn := newDBWithPath(b)
	owner, parent := newOwner(b, db, "Ada", "Lovelace", "ada@example.com")
	fund(b, dsn, parent.ID, 1<<50)
	sub := newSubaccountNamed(b, db, owner, parent.ID, "Acme Estonia", switchboard.FundingBudget, switchboard.MaxBudget)
	must(b, db.ExecForTest(ctx, `UPDATE subaccounts SET budget = ? WHERE org_id = ?`, int64(1<<50), sub.ID))
	batch := sendOne(sub.ID, actorOf(owner), "+37255500001", 500)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := db.QueueMessages(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFundingOf is what fundingOf alone adds to each debit of an
// organisation that is no subaccount (ns/question; the database holds
// 100 subaccounts of another organisation): asked 1,000 times in one
// transaction, so that the transaction's own cost drops out.
func BenchmarkFundingOf(b *testing.B) {
	db, _ := newDBWithPath(b)
	owner, org := newOwner(b, db, "Ada", "Lovelace", "ada@example.com")
	_, other := newOwner(b, db, "Grace", "Hopper", "grace@example.com")
	for range 100 {
		newSubaccountNamed(b, db, owner, other.ID, "Acme Estonia", switchboard.FundingShared, 0)
	}
	const questions = 1000
	for b.Loop() {
		if err := db.FundingOfForTest(ctx, org.ID, questions); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*questions), "ns/question")
}

// BenchmarkDebitUpdate is debit's balance UPDATE alone, without and with
// the subaccount question inside it (ns/update): what a send that is no
// subaccount's pays for the question now.
func BenchmarkDebitUpdate(b *testing.B) {
	for _, probe := range []bool{false, true} {
		name := "without"
		if probe {
			name = "with_subaccount_question"
		}
		b.Run(name, func(b *testing.B) {
			db, dsn := newDBWithPath(b)
			owner, org := newOwner(b, db, "Ada", "Lovelace", "ada@example.com")
			fund(b, dsn, org.ID, 1<<50)
			_, other := newOwner(b, db, "Grace", "Hopper", "grace@example.com")
			for range 100 {
				newSubaccountNamed(b, db, owner, other.ID, "Acme Estonia", switchboard.FundingShared, 0)
			}
			const updates = 50
			for b.Loop() {
				if err := db.DebitUpdateForTest(ctx, org.ID, updates, probe); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*updates), "ns/update")
		})
	}
}
