package store

import (
	"context"
	"fmt"

	"switchboard"
)

// audit records one line of the organisation's audit log inside tx, so the
// line exists exactly when the change does.
func (db *DB) audit(ctx context.Context, tx *Tx, orgID int64, actor switchboard.Actor, action, target, detail string) error {
	return db.auditAbout(ctx, tx, orgID, actor, action, 0, target, detail)
}

// auditAbout is audit for an action about a profile (targetID, 0 for none),
// recorded with the line so that the person can be found by it later.
func (db *DB) auditAbout(ctx context.Context, tx *Tx, orgID int64, actor switchboard.Actor, action string, targetID int64, target, detail string) error {
	var actorID, targetRef any
	if actor.ProfileID != 0 {
		actorID = actor.ProfileID
	}
	if targetID != 0 {
		targetRef = targetID
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (org_id, actor_id, actor_name, action, target_id, target, detail, ip, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, orgID, actorID, actor.Name, action, targetRef, target, detail, actor.IP, millis(db.Now()))
	if err != nil {
		return fmt.Errorf("store: audit %s in organisation %d: %w", action, orgID, err)
	}
	return nil
}

// ListAudit returns up to limit entries of the organisation's audit log,
// newest first, older than the entry before (0 for the newest), and the id
// to pass as before for the next page (0 when there is none).
func (db *DB) ListAudit(ctx context.Context, orgID, before int64, limit int) ([]switchboard.AuditEntry, int64, error) {
	if before <= 0 {
		before = 1<<63 - 1
	}
	limit = max(limit, 1) // a page holds at least one entry; the next id needs it
	rows, err := db.query(ctx, `SELECT id, COALESCE(actor_id, 0), actor_name, action, target, detail, ip, created_at
		FROM audit_log WHERE org_id = ? AND id < ? ORDER BY id DESC LIMIT ?`, orgID, before, limit+1)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list audit of organisation %d: %w", orgID, err)
	}
	defer rows.Close()
	var list []switchboard.AuditEntry
	for rows.Next() {
		e := switchboard.AuditEntry{OrgID: orgID}
		var created int64
		if err := rows.Scan(&e.ID, &e.ActorID, &e.ActorName, &e.Action, &e.Target, &e.Detail, &e.IP, &created); err != nil {
			return nil, 0, fmt.Errorf("store: list audit of organisation %d: %w", orgID, err)
		}
		e.CreatedAt = fromMillis(created)
		list = append(list, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	list, next := pageOf(list, limit, func(e switchboard.AuditEntry) int64 { return e.ID })
	return list, next, nil
}
