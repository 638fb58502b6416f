package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"switchboard"
)

// The audit actions of issue 11, one place for all of them so that the
// audit log's words (views/views.go) cover each.
const (
	AuditAPIKeyCreated    = "api_key.created"
	AuditAPIKeyRevoked    = "api_key.revoked"
	AuditAPIConfigChanged = "api.config_changed"
)

// APIKeyUseInterval is how often a key's last use is written: at most once
// a minute per key, so that a busy key does not write on every request.
const APIKeyUseInterval = time.Minute

// CreateAPIKey stores k (its Name, OrgID) with hash, the SHA-256 of the
// key shown once to actor, and prefix, its first characters; it sets k's
// ID, Prefix, creator and CreatedAt, and audits it.
func (db *DB) CreateAPIKey(ctx context.Context, actor switchboard.Actor, k *switchboard.APIKey, hash switchboard.APIKeyHash, prefix string) error {
	now := db.Now()
	var createdBy any
	if actor.ProfileID != 0 {
		createdBy = actor.ProfileID
	}
	err := db.tx(ctx, func(tx *Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO api_keys (org_id, name, prefix, hash, created_by, created_by_name, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			k.OrgID, k.Name, prefix, hash[:], createdBy, actor.Name, millis(now)).Scan(&k.ID)
		if err != nil {
			return fmt.Errorf("store: create API key in organisation %d: %w", k.OrgID, err)
		}
		return db.audit(ctx, tx, k.OrgID, actor, AuditAPIKeyCreated, k.Name, prefix+"…")
	})
	if err != nil {
		return err
	}
	k.Prefix, k.CreatedBy, k.CreatedByName, k.CreatedAt = prefix, actor.ProfileID, actor.Name, fromMillis(millis(now))
	return nil
}

const apiKeyColumns = `id, org_id, name, prefix, COALESCE(created_by, 0), created_by_name, created_at, last_used_at, revoked_at`

func scanAPIKey(r interface{ Scan(...any) error }, k *switchboard.APIKey, extra ...any) error {
	var created int64
	var used, revoked sql.NullInt64
	dest := append([]any{&k.ID, &k.OrgID, &k.Name, &k.Prefix, &k.CreatedBy, &k.CreatedByName, &created, &used, &revoked}, extra...)
	if err := r.Scan(dest...); err != nil {
		return err
	}
	k.CreatedAt, k.LastUsedAt, k.RevokedAt = fromMillis(created), fromNullMillis(used), fromNullMillis(revoked)
	return nil
}

// ListAPIKeys returns the organisation's keys, newest first, revoked ones
// included (the page shows them as revoked).
func (db *DB) ListAPIKeys(ctx context.Context, orgID int64) ([]switchboard.APIKey, error) {
	rows, err := db.query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE org_id = ? ORDER BY id DESC`, orgID)
	if err != nil {
		return nil, fmt.Errorf("store: list API keys of organisation %d: %w", orgID, err)
	}
	defer rows.Close()
	var list []switchboard.APIKey
	for rows.Next() {
		var k switchboard.APIKey
		if err := scanAPIKey(rows, &k); err != nil {
			return nil, fmt.Errorf("store: list API keys of organisation %d: %w", orgID, err)
		}
		list = append(list, k)
	}
	return list, rows.Err()
}

// FindAPIKey returns key id of the organisation; another organisation's
// key is ENOTFOUND, as a missing one.
func (db *DB) FindAPIKey(ctx context.Context, orgID, id int64) (*switchboard.APIKey, error) {
	var k switchboard.APIKey
	err := scanAPIKey(db.queryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE id = ? AND org_id = ?`, id, orgID), &k)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("API key")
	} else if err != nil {
		return nil, fmt.Errorf("store: find API key %d: %w", id, err)
	}
	return &k, nil
}

// RevokeAPIKey revokes key id of the organisation at once: the very next
// request with it is refused (AuthenticateAPIKey reads the database on
// every request). Revoking a revoked key changes nothing and is not an
// error; another organisation's key is ENOTFOUND.
func (db *DB) RevokeAPIKey(ctx context.Context, actor switchboard.Actor, orgID, id int64) (*switchboard.APIKey, error) {
	var k *switchboard.APIKey
	err := db.tx(ctx, func(tx *Tx) error {
		var name, prefix string
		err := tx.QueryRowContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE id = ? AND org_id = ? AND revoked_at IS NULL RETURNING name, prefix`,
			millis(db.Now()), id, orgID).Scan(&name, &prefix)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		} else if err != nil {
			return fmt.Errorf("store: revoke API key %d: %w", id, err)
		}
		return db.audit(ctx, tx, orgID, actor, AuditAPIKeyRevoked, name, prefix+"…")
	})
	if err != nil {
		return nil, err
	}
	if k, err = db.FindAPIKey(ctx, orgID, id); err != nil {
		return nil, err
	}
	return k, nil
}

// APICaller is who makes an API request: the key, and its organisation as
// it is now.
type APICaller struct {
	Key switchboard.APIKey
	Org switchboard.Organisation
}

// Actor is the caller as the audit log and the ledger name it.
func (c *APICaller) Actor(ip string) switchboard.Actor {
	return switchboard.Actor{Name: c.Key.Label(), IP: ip, APIKeyID: c.Key.ID}
}

// AuthenticateAPIKey returns the caller whose key has hash, read from the
// database now (a key revoked a moment ago is refused on the very next
// request, in every process), or EUNAUTHORIZED for a key that is unknown
// or revoked. It writes the key's last use at most once per
// APIKeyUseInterval, with a conditional UPDATE that two processes cannot
// both pass.
func (db *DB) AuthenticateAPIKey(ctx context.Context, hash switchboard.APIKeyHash) (*APICaller, error) {
	var c APICaller
	var used sql.NullInt64
	var orgCreated int64
	err := db.queryRow(ctx, `SELECT k.id, k.org_id, k.name, k.prefix, k.last_used_at, o.name, o.country, o.created_at
		FROM api_keys k JOIN organisations o ON o.id = k.org_id
		WHERE k.hash = ? AND k.revoked_at IS NULL`, hash[:]).Scan(&c.Key.ID, &c.Key.OrgID, &c.Key.Name, &c.Key.Prefix, &used, &c.Org.Name, &c.Org.Country, &orgCreated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errBadAPIKey
	} else if err != nil {
		return nil, fmt.Errorf("store: authenticate API key: %w", err)
	}
	c.Org.ID, c.Org.CreatedAt = c.Key.OrgID, fromMillis(orgCreated)
	c.Key.LastUsedAt = fromNullMillis(used)
	now := db.Now()
	if !used.Valid || now.Sub(fromMillis(used.Int64)) >= APIKeyUseInterval {
		if err := db.tx(ctx, func(tx *Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)`,
				millis(now), c.Key.ID, millis(now.Add(-APIKeyUseInterval)))
			return err
		}); err != nil {
			return nil, fmt.Errorf("store: note the use of API key %d: %w", c.Key.ID, err)
		}
		t := fromMillis(millis(now))
		c.Key.LastUsedAt = &t
	}
	return &c, nil
}

var errBadAPIKey = switchboard.Errorf(switchboard.EUNAUTHORIZED,
	"The API key is missing, unknown or revoked. Send a key of your organisation as Authorization: Bearer sb_live_…")
