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
