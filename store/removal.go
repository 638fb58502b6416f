package store

import (
	"context"
	"fmt"
	"time"

	"switchboard"
)

// RecentRemovals returns the revocations of the profile's access since
// since, newest first, one per organisation, leaving out organisations the
// profile belongs to again (invited back) and removals it made itself.
// Only the organisation's name, who removed and when are read: nothing else
// of an organisation one no longer belongs to.
func (db *DB) RecentRemovals(ctx context.Context, profileID int64, since time.Time) ([]switchboard.Removal, error) {
	return db.removals(ctx, profileID, 0, since)
}

// RecentRemoval returns the newest revocation of the profile's access to
// the organisation since since, or ENOTFOUND.
func (db *DB) RecentRemoval(ctx context.Context, orgID, profileID int64, since time.Time) (*switchboard.Removal, error) {
	list, err := db.removals(ctx, profileID, orgID, since)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, notFound("removal")
	}
	return &list[0], nil
}

func (db *DB) removals(ctx context.Context, profileID, orgID int64, since time.Time) ([]switchboard.Removal, error) {
	// The newest removal of each organisation: a window over the few lines
	// about this profile (SQLite would take a bare column beside MAX, which
	// PostgreSQL refuses).
	rows, err := db.query(ctx, `SELECT org_id, name, actor_name, created_at FROM (
			SELECT a.org_id, o.name, a.actor_name, a.created_at,
				ROW_NUMBER() OVER (PARTITION BY a.org_id ORDER BY a.created_at DESC, a.id DESC) AS n
			FROM audit_log a JOIN organisations o ON o.id = a.org_id
			WHERE a.target_id = ? AND a.action = 'member.revoked' AND a.created_at >= ? AND (? = 0 OR a.org_id = ?)
				AND a.actor_id IS DISTINCT FROM ?
				AND NOT EXISTS (SELECT 1 FROM members m WHERE m.org_id = a.org_id AND m.profile_id = a.target_id)
		) newest WHERE n = 1 ORDER BY created_at DESC LIMIT 20`,
		profileID, millis(since), orgID, orgID, profileID)
	if err != nil {
		return nil, fmt.Errorf("store: removals of profile %d: %w", profileID, err)
	}
	defer rows.Close()
	var list []switchboard.Removal
	for rows.Next() {
		var r switchboard.Removal
		var at int64
		if err := rows.Scan(&r.OrgID, &r.OrgName, &r.ActorName, &at); err != nil {
			return nil, fmt.Errorf("store: removals of profile %d: %w", profileID, err)
		}
		r.At = fromMillis(at)
		list = append(list, r)
	}
	return list, rows.Err()
}
