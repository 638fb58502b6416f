package store

import (
	"context"
	"fmt"
	"strconv"

	"switchboard"
)

// withoutTwoFactorQuery counts the members of an organisation whose
// profile has no confirmed TOTP secret: the people "Require two-factor
// authentication" will send to set it up.
const withoutTwoFactorQuery = `SELECT COUNT(*) FROM members m JOIN profiles p ON p.id = m.profile_id
	WHERE m.org_id = ? AND p.totp_since IS NULL`

// CountMembersWithoutTwoFactor returns how many members of the
// organisation have two-factor authentication off, for the warning shown
// before the owner requires it.
func (db *DB) CountMembersWithoutTwoFactor(ctx context.Context, orgID int64) (int, error) {
	var n int
	if err := db.queryRow(ctx, withoutTwoFactorQuery, orgID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count members without two-factor in organisation %d: %w", orgID, err)
	}
	return n, nil
}

// SetRequireTwoFactor switches "Require two-factor authentication" on the
// organisation. A change is audited, turning it on with how many members
// were without two-factor at that moment (the detail, a number the audit
// page words); saving the same value again
// changes and records nothing. Sessions are not renewed: nothing is
// granted, and the requirement is read with every request.
func (db *DB) SetRequireTwoFactor(ctx context.Context, actor switchboard.Actor, orgID int64, require bool) error {
	return db.tx(ctx, func(tx *Tx) error {
		if err := tx.lockOrganisation(ctx, orgID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE organisations SET require_two_factor = ? WHERE id = ? AND require_two_factor != ?`, require, orgID, require)
		if err != nil {
			return fmt.Errorf("store: set require two-factor of organisation %d: %w", orgID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		if !require {
			return db.audit(ctx, tx, orgID, actor, "organisation.two_factor_not_required", "", "")
		}
		rows, err := tx.QueryContext(ctx, withoutTwoFactorQuery, orgID)
		if err != nil {
			return fmt.Errorf("store: count members without two-factor in organisation %d: %w", orgID, err)
		}
		var without int
		for rows.Next() {
			if err := rows.Scan(&without); err != nil {
				rows.Close()
				return fmt.Errorf("store: count members without two-factor in organisation %d: %w", orgID, err)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: count members without two-factor in organisation %d: %w", orgID, err)
		}
		return db.audit(ctx, tx, orgID, actor, "organisation.two_factor_required", "", strconv.Itoa(without))
	})
}
