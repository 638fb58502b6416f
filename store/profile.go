package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"switchboard"
)

const profileColumns = `id, email, first_name, last_name, language, time_zone, auth_epoch, privilege_epoch, COALESCE(last_org_id, 0), created_at, totp_since IS NOT NULL`

func scanProfile(row interface{ Scan(...any) error }) (*switchboard.Profile, error) {
	var p switchboard.Profile
	var created int64
	if err := row.Scan(&p.ID, &p.Email, &p.FirstName, &p.LastName, &p.Language, &p.TimeZone, &p.AuthEpoch, &p.PrivilegeEpoch, &p.LastOrgID, &created, &p.TwoFactor); err != nil {
		return nil, err
	}
	p.CreatedAt = fromMillis(created)
	return &p, nil
}

// insertProfile adds p with its password hash inside tx.
func (db *DB) insertProfile(ctx context.Context, tx *Tx, p *switchboard.Profile, passwordHash string) error {
	p.Email = switchboard.NormalizeEmail(p.Email)
	if p.Language == "" {
		p.Language = "en"
	}
	if p.TimeZone == "" {
		p.TimeZone = "UTC"
	}
	p.CreatedAt = db.Now().UTC()
	p.AuthEpoch, p.PrivilegeEpoch = 1, 1
	err := tx.QueryRowContext(ctx, `INSERT INTO profiles (email, password_hash, first_name, last_name, language, time_zone, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		p.Email, passwordHash, p.FirstName, p.LastName, p.Language, p.TimeZone, millis(p.CreatedAt)).Scan(&p.ID)
	if isUnique(err) {
		return &switchboard.Error{Code: switchboard.ECONFLICT, Message: "An account with this email already exists.",
			Fields: switchboard.FieldErrors{"email": "An account with this email already exists. Log in, or reset your password if you forgot it."}}
	} else if err != nil {
		return fmt.Errorf("store: insert profile: %w", err)
	}
	return nil
}

// CreateProfileWithOrganisation signs a person up: it creates the profile
// and its first organisation, owned by it, in one transaction.
func (db *DB) CreateProfileWithOrganisation(ctx context.Context, p *switchboard.Profile, passwordHash string, org *switchboard.Organisation) error {
	return db.tx(ctx, func(tx *Tx) error {
		if err := db.insertProfile(ctx, tx, p, passwordHash); err != nil {
			return err
		}
		if err := db.insertOrganisation(ctx, tx, p, org); err != nil {
			return err
		}
		p.LastOrgID = org.ID
		_, err := tx.ExecContext(ctx, `UPDATE profiles SET last_org_id = ? WHERE id = ?`, org.ID, p.ID)
		return err
	})
}

// FindProfile returns the profile with id.
func (db *DB) FindProfile(ctx context.Context, id int64) (*switchboard.Profile, error) {
	p, err := scanProfile(db.queryRow(ctx, `SELECT `+profileColumns+` FROM profiles WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("profile")
	} else if err != nil {
		return nil, fmt.Errorf("store: find profile %d: %w", id, err)
	}
	return p, nil
}

// FindProfileByEmail returns the profile with email (in any case) and its
// password hash.
func (db *DB) FindProfileByEmail(ctx context.Context, email string) (*switchboard.Profile, string, error) {
	var hash string
	row := db.queryRow(ctx, `SELECT `+profileColumns+`, password_hash FROM profiles WHERE email = ?`, switchboard.NormalizeEmail(email))
	var p switchboard.Profile
	var created int64
	err := row.Scan(&p.ID, &p.Email, &p.FirstName, &p.LastName, &p.Language, &p.TimeZone, &p.AuthEpoch, &p.PrivilegeEpoch, &p.LastOrgID, &created, &p.TwoFactor, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", notFound("profile")
	} else if err != nil {
		return nil, "", fmt.Errorf("store: find profile by email: %w", err)
	}
	p.CreatedAt = fromMillis(created)
	return &p, hash, nil
}

// PasswordHash returns the stored hash of the profile's password.
func (db *DB) PasswordHash(ctx context.Context, profileID int64) (string, error) {
	var hash string
	err := db.queryRow(ctx, `SELECT password_hash FROM profiles WHERE id = ?`, profileID).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound("profile")
	} else if err != nil {
		return "", fmt.Errorf("store: password of profile %d: %w", profileID, err)
	}
	return hash, nil
}

// UpdateProfile saves the profile's names, language and time zone.
func (db *DB) UpdateProfile(ctx context.Context, p *switchboard.Profile) error {
	return db.tx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE profiles SET first_name = ?, last_name = ?, language = ?, time_zone = ? WHERE id = ?`,
			p.FirstName, p.LastName, p.Language, p.TimeZone, p.ID)
		if err != nil {
			return fmt.Errorf("store: update profile %d: %w", p.ID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return notFound("profile")
		}
		// Keep the members page's sort key, and the search index of each
		// organisation the profile belongs to, in step with the name.
		name := sortName(p.FirstName, p.LastName, p.Email)
		rows, err := tx.QueryContext(ctx, `SELECT org_id, sort_name FROM members WHERE profile_id = ? AND sort_name != ? ORDER BY org_id`, p.ID, name)
		if err != nil {
			return fmt.Errorf("store: update profile %d: %w", p.ID, err)
		}
		type membership struct {
			orgID int64
			name  string
		}
		var changed []membership
		for rows.Next() {
			var m membership
			if err := rows.Scan(&m.orgID, &m.name); err != nil {
				rows.Close()
				return fmt.Errorf("store: update profile %d: %w", p.ID, err)
			}
			changed = append(changed, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: update profile %d: %w", p.ID, err)
		}
		// Each organisation's index changes under its lock, taken in id
		// order: on PostgreSQL two renames in one organisation would
		// otherwise lock its gram counts in crossing orders.
		for _, m := range changed {
			if err := tx.lockOrganisation(ctx, m.orgID); err != nil {
				return err
			}
			if err := unindexMember(ctx, tx, m.orgID, p.ID, m.name); err != nil {
				return err
			}
			if err := indexMember(ctx, tx, m.orgID, p.ID, name); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE members SET sort_name = ? WHERE profile_id = ? AND sort_name != ?`, name, p.ID, name)
		return err
	})
}

// SetPassword stores a new password hash and moves the profile to a new
// auth epoch, which ends every session made before; it also kills every
// outstanding password reset. It returns the new epoch.
func (db *DB) SetPassword(ctx context.Context, profileID int64, passwordHash string) (epoch int64, err error) {
	err = db.tx(ctx, func(tx *Tx) error {
		epoch, err = setPassword(ctx, tx, profileID, passwordHash)
		return err
	})
	return epoch, err
}

func setPassword(ctx context.Context, tx *Tx, profileID int64, passwordHash string) (int64, error) {
	var epoch int64
	err := tx.QueryRowContext(ctx, `UPDATE profiles SET password_hash = ?, auth_epoch = auth_epoch + 1 WHERE id = ? RETURNING auth_epoch`,
		passwordHash, profileID).Scan(&epoch)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, notFound("profile")
	} else if err != nil {
		return 0, fmt.Errorf("store: set password of profile %d: %w", profileID, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM password_resets WHERE profile_id = ?`, profileID); err != nil {
		return 0, fmt.Errorf("store: clear password resets of profile %d: %w", profileID, err)
	}
	return epoch, nil
}

// NewAuthEpoch moves the profile to a new auth epoch, ending every session
// made before ("log out of all other sessions"). It returns the new epoch.
func (db *DB) NewAuthEpoch(ctx context.Context, profileID int64) (epoch int64, err error) {
	err = db.tx(ctx, func(tx *Tx) error {
		return tx.QueryRowContext(ctx, `UPDATE profiles SET auth_epoch = auth_epoch + 1 WHERE id = ? RETURNING auth_epoch`, profileID).Scan(&epoch)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return 0, notFound("profile")
	} else if err != nil {
		return 0, fmt.Errorf("store: new auth epoch for profile %d: %w", profileID, err)
	}
	return epoch, nil
}

// SetLastOrganisation remembers the organisation the profile used last, where
// it lands after logging in.
func (db *DB) SetLastOrganisation(ctx context.Context, profileID, orgID int64) error {
	return db.tx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE profiles SET last_org_id = ? WHERE id = ? AND last_org_id IS DISTINCT FROM ?`, orgID, profileID, orgID)
		if err != nil {
			return fmt.Errorf("store: set last organisation of profile %d: %w", profileID, err)
		}
		return nil
	})
}
