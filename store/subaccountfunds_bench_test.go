package store_test

import (
	"testing"

	"switchboard"
)

// BenchmarkSpendable reads what an organisation can spend, as the API's
// GET /balance does, beside the plain Balance it replaced there, and a
// subaccount's funds as its Credits page and dashboard read them: an
// ordinary organisation and a budgeted subaccount, among 1,000 other
// subaccounts of ten parents.
func BenchmarkSpendable(b *testing.B) {
	db, dsn := newDBWithPath(b)
	owner, parent := newOwner(b, db, "Olivia", "Owner", "olivia@example.com")
	fund(b, dsn, parent.ID, 1_000_000)
	raw := rawDB(b, dsn)
	tx, err := raw.BeginTx(ctx, nil)
	must(b, err)
	for i := range 1_000 {
		var id int64
		must(b, tx.QueryRowContext(ctx, `INSERT INTO organisations (name, created_at) VALUES ('Filler', 0) RETURNING id`).Scan(&id))
		if i%100 == 0 {
			continue // a parent of the next 99
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO subaccounts (org_id, parent_id, email, funding, budget, status, created_at)
			VALUES (?, (SELECT MAX(id) FROM organisations WHERE id < ? AND id NOT IN (SELECT org_id FROM subaccounts)), 'filler@example.com', 'budget', 10000, 'active', 0)`, id, id)
		must(b, err)
	}
	must(b, tx.Commit())
	sub := newSubaccountRaw(b, db, owner, parent.ID, switchboard.FundingBudget, 500_000)
	_, err = raw.ExecContext(ctx, `ANALYZE`)
	must(b, err)

	b.Run("balance", func(b *testing.B) {
		for b.Loop() {
			if m, err := db.Balance(ctx, parent.ID); err != nil || m != 1_000_000 {
				b.Fatal(m, err)
			}
		}
	})
	b.Run("spendable ordinary", func(b *testing.B) {
		for b.Loop() {
			if m, err := db.Spendable(ctx, parent.ID); err != nil || m != 1_000_000 {
				b.Fatal(m, err)
			}
		}
	})
	b.Run("spendable subaccount", func(b *testing.B) {
		for b.Loop() {
			if m, err := db.Spendable(ctx, sub.ID); err != nil || m != 500_000 {
				b.Fatal(m, err)
			}
		}
	})
	b.Run("subaccount funds", func(b *testing.B) {
		for b.Loop() {
			if f, err := db.SubaccountFunds(ctx, sub.ID); err != nil || f.Available() != 500_000 {
				b.Fatal(f, err)
			}
		}
	})
}
