package store

import "context"

// FundingOfForTest asks fundingOf of the organisation n times in one write
// transaction: what the question costs a debit, without the rest of a
// send around it.
func (db *DB) FundingOfForTest(ctx context.Context, orgID int64, n int) error {
	return db.tx(ctx, func(tx *Tx) error {
		for range n {
			if _, err := fundingOf(ctx, tx, orgID); err != nil {
				return err
			}
		}
		return nil
	})
}

// DebitUpdateForTest runs debit's balance UPDATE of one unit n times in
// one write transaction, with the subaccount question inside it (probe)
// or, as before issue 12, without: what the question adds to the
// statement.
func (db *DB) DebitUpdateForTest(ctx context.Context, orgID int64, n int, probe bool) error {
	q := `UPDATE organisations SET balance = balance - 1 WHERE id = ? AND balance >= 1 RETURNING balance`
	args := []any{orgID}
	if probe {
		q = `UPDATE organisations SET balance = balance - 1 WHERE id = ? AND balance >= 1
			AND NOT EXISTS (SELECT 1 FROM subaccounts WHERE org_id = ?) RETURNING balance`
		args = append(args, orgID)
	}
	return db.tx(ctx, func(tx *Tx) error {
		for range n {
			var after int64
			if err := tx.QueryRowContext(ctx, q, args...).Scan(&after); err != nil {
				return err
			}
		}
		return nil
	})
}
