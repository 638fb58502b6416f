package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"switchboard"
)

// AutoReplace returns the organisation's auto-replace mode and its Find →
// Replace table in the order it was saved, read in one statement: every
// send reads it.
func (db *DB) AutoReplace(ctx context.Context, orgID int64) (switchboard.AutoReplace, error) {
	rows, err := db.query(ctx, `SELECT o.auto_replace, r.find, r.replacement FROM organisations o
		LEFT JOIN auto_replacements r ON r.org_id = o.id WHERE o.id = ? ORDER BY r.id`, orgID)
	if err != nil {
		return switchboard.AutoReplace{}, fmt.Errorf("store: read auto-replace of organisation %d: %w", orgID, err)
	}
	defer rows.Close()
	ar := switchboard.AutoReplace{}
	found := false
	for rows.Next() {
		var mode string
		var find, replacement sql.NullString
		if err := rows.Scan(&mode, &find, &replacement); err != nil {
			return ar, fmt.Errorf("store: read auto-replace of organisation %d: %w", orgID, err)
		}
		found = true
		ar.Mode = switchboard.AutoReplaceMode(mode)
		if find.Valid {
			ar.Rules = append(ar.Rules, switchboard.Replacement{Find: find.String, Replace: replacement.String})
		}
	}
	if err := rows.Err(); err != nil {
		return ar, fmt.Errorf("store: read auto-replace of organisation %d: %w", orgID, err)
	}
	if !found {
		return ar, notFound("organisation")
	}
	return ar, nil
}

// autoReplaceModes are the modes as the audit log names them.
var autoReplaceModes = map[switchboard.AutoReplaceMode]string{
	switchboard.AutoReplaceOff: "Off", switchboard.AutoReplaceOn: "On", switchboard.AutoReplaceFull: "Full",
}

// SaveAutoReplace replaces the organisation's auto-replace mode and table
// with ar in one transaction, and records the change in the audit log
// with the mode ("Full, 3 replacements"). Two saves at once are one after
// the other (the organisation's lock on PostgreSQL): the table is always
// one of them whole, never a mix. A Find listed twice is ECONFLICT; the
// form says which before it gets here.
func (db *DB) SaveAutoReplace(ctx context.Context, actor switchboard.Actor, orgID int64, ar switchboard.AutoReplace) error {
	label, ok := autoReplaceModes[ar.Mode]
	if !ok {
		return fmt.Errorf("store: auto-replace mode %q", ar.Mode)
	}
	return db.tx(ctx, func(tx *Tx) error {
		if err := tx.lockOrganisation(ctx, orgID); err != nil {
			return err
		}
		// A save that changes nothing leaves no audit line.
		if same, err := sameAutoReplace(ctx, tx, orgID, ar); err != nil || same {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE organisations SET auto_replace = ? WHERE id = ?`, string(ar.Mode), orgID)
		if err != nil {
			return fmt.Errorf("store: save auto-replace of organisation %d: %w", orgID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return notFound("organisation")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM auto_replacements WHERE org_id = ?`, orgID); err != nil {
			return fmt.Errorf("store: save auto-replace of organisation %d: %w", orgID, err)
		}
		if len(ar.Rules) > 0 {
			var q strings.Builder
			q.WriteString(`INSERT INTO auto_replacements (org_id, find, replacement) VALUES `)
			args := make([]any, 0, 3*len(ar.Rules))
			for i, r := range ar.Rules {
				if i > 0 {
					q.WriteString(", ")
				}
				q.WriteString("(?, ?, ?)")
				args = append(args, orgID, r.Find, r.Replace)
			}
			if _, err := tx.ExecContext(ctx, q.String(), args...); isUnique(err) {
				return switchboard.Errorf(switchboard.ECONFLICT, "Each Find may be listed once.")
			} else if err != nil {
				return fmt.Errorf("store: save auto-replace of organisation %d: %w", orgID, err)
			}
		}
		return db.audit(ctx, tx, orgID, actor, "auto_replace.changed", "", label+", "+switchboard.Plural(len(ar.Rules), "replacement", "replacements"))
	})
}

// sameAutoReplace reports whether the organisation's setting is ar
// already, read in the saving transaction.
func sameAutoReplace(ctx context.Context, tx *Tx, orgID int64, ar switchboard.AutoReplace) (bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT o.auto_replace, r.find, r.replacement FROM organisations o
		LEFT JOIN auto_replacements r ON r.org_id = o.id WHERE o.id = ? ORDER BY r.id`, orgID)
	if err != nil {
		return false, fmt.Errorf("store: read auto-replace of organisation %d: %w", orgID, err)
	}
	defer rows.Close()
	var now []switchboard.Replacement
	mode := ""
	for rows.Next() {
		var find, replacement sql.NullString
		if err := rows.Scan(&mode, &find, &replacement); err != nil {
			return false, fmt.Errorf("store: read auto-replace of organisation %d: %w", orgID, err)
		}
		if find.Valid {
			now = append(now, switchboard.Replacement{Find: find.String, Replace: replacement.String})
		}
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("store: read auto-replace of organisation %d: %w", orgID, err)
	}
	return mode == string(ar.Mode) && slices.Equal(now, ar.Rules), nil
}
