package store_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"switchboard"
	"switchboard/store"
)

// seedMessages writes n messages of the organisation and a year of daily
// sums behind the store's back, 500 rows a statement, as QueueMessages
// would leave them.
func seedMessages(tb testing.TB, dsn string, orgID int64, n int) {
	tb.Helper()
	raw := rawDB(tb, dsn)
	tx, err := raw.BeginTx(ctx, nil)
	must(tb, err)
	defer tx.Rollback()
	statuses := []string{"delivered", "delivered", "delivered", "sent", "failed", "queued"}
	for start := 0; start < n; start += 500 {
		var q strings.Builder
		q.WriteString(`INSERT INTO messages (org_id, batch_id, sender, recipient, body, encoding, parts, price, status, created_at, status_at) VALUES `)
		var args []any
		for i := start; i < min(start+500, n); i++ {
			if i > start {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			at := t0.Add(-time.Duration(n-i) * time.Minute).UnixMilli()
			args = append(args, orgID, i/100+1, "Acme", fmt.Sprintf("+3725%07d", i), "Your code is 1234", "GSM-7", 1, 500, statuses[i%len(statuses)], at, at)
		}
		_, err := tx.ExecContext(ctx, q.String(), args...)
		must(tb, err)
	}
	for d := range 365 {
		_, err := tx.ExecContext(ctx, `INSERT INTO usage_daily (org_id, day, messages, parts, spent, refunded) VALUES (?, ?, ?, ?, ?, ?)`,
			orgID, t0.AddDate(0, 0, -d).Format(time.DateOnly), n/365, n/365, int64(n/365*500), 500)
		must(tb, err)
	}
	must(tb, tx.Commit())
	_, err = raw.ExecContext(ctx, `ANALYZE`)
	must(tb, err)
}

// BenchmarkOverview reads the dashboard of an organisation with 1,000 and
// 100,000 messages and a year of daily sums, beside another as large: the
// time stays the same whatever the size (kept counts and sums, five
// messages by index).
func BenchmarkOverview(b *testing.B) {
	for _, size := range []int{1_000, 100_000} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			db, dsn := newDBWithPath(b)
			_, org := newOwner(b, db, "Olivia", "Owner", "olivia@example.com")
			_, other := newOwner(b, db, "Oscar", "Other", "oscar@example.com")
			seedMessages(b, dsn, org.ID, size)
			seedMessages(b, dsn, other.ID, size)
			b.ResetTimer()
			for b.Loop() {
				o, err := db.Overview(ctx, org.ID, t0)
				if err != nil || len(o.Messages) != store.OverviewMessages || o.Spent == 0 {
					b.Fatalf("%+v, %v", o, err)
				}
			}
		})
	}
}

// BenchmarkCreateInvoice adds credits paid at once (test payments): the
// number, the invoice, the audit lines, the credit and its ledger line in
// one transaction.
func BenchmarkCreateInvoice(b *testing.B) {
	db, _ := newDBWithPath(b)
	owner, org := newOwner(b, db, "Olivia", "Owner", "olivia@example.com")
	for b.Loop() {
		if _, err := db.CreateInvoice(ctx, actorOf(owner), store.NewInvoice{OrgID: org.ID, Amount: 50 * switchboard.MoneyUnit, Currency: "EUR", PayNow: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// seedLedger writes n ledger lines of the organisation behind the store's
// back, 500 a statement.
func seedLedger(tb testing.TB, dsn string, orgID int64, n int) {
	tb.Helper()
	raw := rawDB(tb, dsn)
	tx, err := raw.BeginTx(ctx, nil)
	must(tb, err)
	defer tx.Rollback()
	for start := 0; start < n; start += 500 {
		var q strings.Builder
		q.WriteString(`INSERT INTO ledger (org_id, kind, amount, balance_after, description, created_at) VALUES `)
		var args []any
		for i := start; i < min(start+500, n); i++ {
			if i > start {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?)")
			args = append(args, orgID, "spend", -500, int64(n-i)*500, fmt.Sprintf("Send %d", i), t0.UnixMilli())
		}
		_, err := tx.ExecContext(ctx, q.String(), args...)
		must(tb, err)
	}
	must(tb, tx.Commit())
	_, err = raw.ExecContext(ctx, `ANALYZE`)
	must(tb, err)
}

// BenchmarkLedgerAndInvoicePages reads the first and a deep page of the
// Credits page's ledger, and the first page of invoices, of an
// organisation of 100,000 ledger lines seeded before another as large
// (whose lines are all newer).
func BenchmarkLedgerAndInvoicePages(b *testing.B) {
	db, dsn := newDBWithPath(b)
	owner, org := newOwner(b, db, "Olivia", "Owner", "olivia@example.com")
	_, other := newOwner(b, db, "Oscar", "Other", "oscar@example.com")
	const size = 100_000
	seedLedger(b, dsn, org.ID, size)
	for range 20 {
		_, err := db.CreateInvoice(ctx, actorOf(owner), store.NewInvoice{OrgID: org.ID, Amount: switchboard.MoneyUnit, Currency: "EUR"})
		must(b, err)
	}
	seedLedger(b, dsn, other.ID, size)
	page, _, err := db.ListLedger(ctx, org.ID, 0, size*9/10)
	must(b, err)
	deep := page[len(page)-1].ID
	for _, bc := range []struct {
		name   string
		before int64
	}{{"ledger-first", 0}, {"ledger-deep", deep}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				lines, _, err := db.ListLedger(ctx, org.ID, bc.before, 50)
				if err != nil || len(lines) != 50 {
					b.Fatalf("%d lines, %v", len(lines), err)
				}
			}
		})
	}
	b.Run("invoices-first", func(b *testing.B) {
		for b.Loop() {
			list, _, err := db.ListInvoices(ctx, org.ID, 0, 50)
			if err != nil || len(list) != 20 {
				b.Fatalf("%d invoices, %v", len(list), err)
			}
		}
	})
}
