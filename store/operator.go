package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"switchboard"
)

// CommandLineActor is who the audit log and a profile's security events
// name for the operator's commands about people and owners (switchboard
// admin …): no profile did it, the person running the binary did.
var CommandLineActor = switchboard.Actor{Name: "Operator (command line)"}

// detailByTheOperatorLink is the detail of the security events of the
// operator's printed links (profile_events).
const detailByTheOperatorLink = "a one-use link to set the password was printed by the operator"

// insertOperatorReset stores a reset token for the profile and kills every
// older one: the link the operator prints is the only one that works, so a
// link an attacker may have asked for by email dies with it.
func (db *DB) insertOperatorReset(ctx context.Context, tx *Tx, profileID int64, tokenHash []byte) (time.Time, error) {
	now := db.Now()
	if _, err := tx.ExecContext(ctx, `DELETE FROM password_resets WHERE profile_id = ?`, profileID); err != nil {
		return time.Time{}, fmt.Errorf("store: clear password resets of profile %d: %w", profileID, err)
	}
	expires := now.Add(PasswordResetLifetime)
	if _, err := tx.ExecContext(ctx, `INSERT INTO password_resets (token_hash, profile_id, expires_at, created_at) VALUES (?, ?, ?, ?)`,
		tokenHash, profileID, millis(expires), millis(now)); err != nil {
		return time.Time{}, fmt.Errorf("store: create password reset for profile %d: %w", profileID, err)
	}
	return expires, nil
}

// CreateProfileByOperator creates a profile without an organisation, with
// the unusable password hash given (no password logs in to it), and a
// password reset token for the link that sets its password, in one
// transaction. It returns when the link stops working. An address already
// registered is ECONFLICT.
func (db *DB) CreateProfileByOperator(ctx context.Context, p *switchboard.Profile, unusableHash string, tokenHash []byte) (expires time.Time, err error) {
	err = db.tx(ctx, func(tx *Tx) error {
		if err := db.insertProfile(ctx, tx, p, unusableHash); err != nil {
			return err
		}
		if expires, err = db.insertOperatorReset(ctx, tx, p.ID, tokenHash); err != nil {
			return err
		}
		return db.profileEvent(ctx, tx, p.ID, CommandLineActor, switchboard.EventProfileCreated, detailByTheOperatorLink)
	})
	return expires, err
}

// ResetPasswordByOperator gives the profile of email a new reset token and
// kills its older ones, in one transaction; the password stays as it is
// until the link is used (the reset page then ends every session, as any
// reset does). It returns the profile and when the link stops working; an
// unknown email is ENOTFOUND.
func (db *DB) ResetPasswordByOperator(ctx context.Context, email string, tokenHash []byte) (p *switchboard.Profile, expires time.Time, err error) {
	err = db.tx(ctx, func(tx *Tx) error {
		if p, err = profileByEmailInTx(ctx, tx, email); err != nil {
			return err
		}
		if expires, err = db.insertOperatorReset(ctx, tx, p.ID, tokenHash); err != nil {
			return err
		}
		return db.profileEvent(ctx, tx, p.ID, CommandLineActor, switchboard.EventPasswordResetLink, detailByTheOperatorLink)
	})
	return p, expires, err
}

// profileByEmailInTx reads the profile of email inside tx; none is
// ENOTFOUND with a sentence naming the address.
func profileByEmailInTx(ctx context.Context, tx *Tx, email string) (*switchboard.Profile, error) {
	email = switchboard.NormalizeEmail(email)
	p, err := scanProfile(tx.QueryRowContext(ctx, `SELECT `+profileColumns+` FROM profiles WHERE email = ?`, email))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, switchboard.Errorf(switchboard.ENOTFOUND, "No profile has the email %s.", email)
	} else if err != nil {
		return nil, fmt.Errorf("store: find profile by email: %w", err)
	}
	return p, nil
}

// OwnerChange is what SetOwnerByOperator did: the organisation, its new
// owner and the owner before, now an Administrator.
type OwnerChange struct {
	OrgID    int64
	OrgName  string
	NewOwner string // email
	OldOwner string // email; "" if the organisation had none
}

// SetOwnerByOperator makes the member with email the owner of the
// organisation and its owner an Administrator, in one transaction: the
// operator's recovery when the owner is gone. Both members' privileges
// move on, so their sessions renew, and the organisation's audit log says
// the operator did it. Each refusal is its own sentence: the organisation
// missing, a subaccount (dedicated to the one person who accepted it, it
// has no other member to make owner; its parent closes it instead), the
// email unknown, not a member, already the owner.
func (db *DB) SetOwnerByOperator(ctx context.Context, orgID int64, email string) (*OwnerChange, error) {
	change := &OwnerChange{OrgID: orgID}
	err := db.tx(ctx, func(tx *Tx) error {
		if err := tx.lockOrganisation(ctx, orgID); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `SELECT name FROM organisations WHERE id = ?`, orgID).Scan(&change.OrgName)
		if errors.Is(err, sql.ErrNoRows) {
			return switchboard.Errorf(switchboard.ENOTFOUND, "There is no organisation with the id %d.", orgID)
		} else if err != nil {
			return fmt.Errorf("store: set owner of organisation %d: %w", orgID, err)
		}
		var parentID int64
		err = tx.QueryRowContext(ctx, `SELECT parent_id FROM subaccounts WHERE org_id = ?`, orgID).Scan(&parentID)
		if err == nil {
			return switchboard.Errorf(switchboard.EINVALID, "Organisation %d (%s) is a subaccount of organisation %d: it belongs to the one person who accepted it and has no other member to make the owner; its parent can close it from its Subaccounts page.", orgID, change.OrgName, parentID)
		} else if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: set owner of organisation %d: %w", orgID, err)
		}
		p, err := profileByEmailInTx(ctx, tx, email)
		if err != nil {
			return err
		}
		change.NewOwner = p.Email
		var role string
		err = tx.QueryRowContext(ctx, `SELECT role FROM members WHERE org_id = ? AND profile_id = ?`, orgID, p.ID).Scan(&role)
		if errors.Is(err, sql.ErrNoRows) {
			return switchboard.Errorf(switchboard.ENOTFOUND, "%s is not a member of organisation %d (%s); invite them first.", p.Email, orgID, change.OrgName)
		} else if err != nil {
			return fmt.Errorf("store: set owner of organisation %d: %w", orgID, err)
		}
		if role == "owner" {
			return switchboard.Errorf(switchboard.ECONFLICT, "%s is already the owner of organisation %d (%s); nothing was changed.", p.Email, orgID, change.OrgName)
		}
		// The old owner, if any: an organisation always has one, but the
		// operator's recovery must not depend on it.
		var oldID int64
		err = tx.QueryRowContext(ctx, `SELECT m.profile_id, p.email FROM members m JOIN profiles p ON p.id = m.profile_id WHERE m.org_id = ? AND m.role = 'owner'`, orgID).Scan(&oldID, &change.OldOwner)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: set owner of organisation %d: %w", orgID, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE members SET role = 'administrator', custom_role_id = NULL WHERE org_id = ? AND role = 'owner'`, orgID); err != nil {
			return fmt.Errorf("store: set owner of organisation %d: %w", orgID, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE members SET role = 'owner', custom_role_id = NULL WHERE org_id = ? AND profile_id = ?`, orgID, p.ID); err != nil {
			return fmt.Errorf("store: set owner of organisation %d: %w", orgID, err)
		}
		if oldID != 0 {
			err = bumpPrivileges(ctx, tx, `?, ?`, oldID, p.ID)
		} else {
			err = bumpProfilePrivileges(ctx, tx, p.ID)
		}
		if err != nil {
			return err
		}
		detail := "set by the operator"
		if change.OldOwner != "" {
			detail = "set by the operator; " + change.OldOwner + " is now an Administrator"
		}
		return db.auditAbout(ctx, tx, orgID, CommandLineActor, "ownership.transferred", p.ID, p.Email, detail)
	})
	if err != nil {
		return nil, err
	}
	return change, nil
}

// DisableTwoFactorByOperator turns two-factor authentication off for the
// profile of email, who lost both their phone and their recovery codes: it
// clears the secret, deletes the recovery codes and any login waiting for
// a code, ends every session of the profile (a new auth epoch) and records
// the event, in one transaction. An unknown email is ENOTFOUND; a profile
// without two-factor (on or being set up) is ECONFLICT, and nothing
// changes.
func (db *DB) DisableTwoFactorByOperator(ctx context.Context, email string) (*switchboard.Profile, error) {
	var p *switchboard.Profile
	err := db.tx(ctx, func(tx *Tx) error {
		var err error
		if p, err = profileByEmailInTx(ctx, tx, email); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE profiles SET totp_secret = '', totp_since = NULL, auth_epoch = auth_epoch + 1
			WHERE id = ? AND (totp_secret <> '' OR totp_since IS NOT NULL)`, p.ID)
		if err != nil {
			return fmt.Errorf("store: disable two-factor of profile %d: %w", p.ID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return switchboard.Errorf(switchboard.ECONFLICT, "%s does not have two-factor authentication on; nothing was changed.", p.Email)
		}
		for _, q := range []string{`DELETE FROM recovery_codes WHERE profile_id = ?`, `DELETE FROM login_challenges WHERE profile_id = ?`} {
			if _, err := tx.ExecContext(ctx, q, p.ID); err != nil {
				return fmt.Errorf("store: disable two-factor of profile %d: %w", p.ID, err)
			}
		}
		p.TwoFactor = false
		p.AuthEpoch++
		return db.profileEvent(ctx, tx, p.ID, CommandLineActor, switchboard.EventTwoFactorDisabled, "turned off by the operator; recovery codes deleted and sessions ended")
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}
