package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"switchboard"
)

// Two-factor authentication: a profile's sealed TOTP secret, its recovery
// codes, the login step between the password and the Code, and the
// profile's security events. The store never sees a plain secret or a plain
// recovery code: handlers seal the one and hash the other.

// LoginChallengeLifetime is how long the Code step of a login waits after
// the right password.
const LoginChallengeLifetime = 5 * time.Minute

// MaxChallengeAttempts is how many wrong codes one login step takes before
// it dies and the password must be typed again.
const MaxChallengeAttempts = 5

// TwoFactorSecret is what the store holds of a profile's TOTP secret.
type TwoFactorSecret struct {
	// Sealed is the sealed secret, "" for none.
	Sealed string
	// On says whether a first code confirmed it (two-factor is on).
	On bool
}

// FindTwoFactorSecret returns the profile's sealed secret, confirmed or
// waiting for its first code.
func (db *DB) FindTwoFactorSecret(ctx context.Context, profileID int64) (TwoFactorSecret, error) {
	var s TwoFactorSecret
	err := db.queryRow(ctx, `SELECT totp_secret, totp_since IS NOT NULL FROM profiles WHERE id = ?`, profileID).Scan(&s.Sealed, &s.On)
	if errors.Is(err, sql.ErrNoRows) {
		return s, notFound("profile")
	} else if err != nil {
		return s, fmt.Errorf("store: find two-factor secret of profile %d: %w", profileID, err)
	}
	return s, nil
}

var errTwoFactorOn = switchboard.Errorf(switchboard.ECONFLICT, "Two-factor authentication is already on.")
var errTwoFactorOff = switchboard.Errorf(switchboard.ECONFLICT, "Two-factor authentication is not on.")

// SetPendingTwoFactor stores a new sealed secret waiting for its first code,
// replacing one that waited before. It refuses (ECONFLICT) when two-factor
// is already on: the secret in use is never replaced this way.
func (db *DB) SetPendingTwoFactor(ctx context.Context, profileID int64, sealed string) error {
	return db.tx(ctx, func(tx *Tx) error {
		// A new secret starts from step 0: its codes were never seen.
		res, err := tx.ExecContext(ctx, `UPDATE profiles SET totp_secret = ?, totp_last_step = 0 WHERE id = ? AND totp_since IS NULL`, sealed, profileID)
		if err != nil {
			return fmt.Errorf("store: set pending two-factor secret of profile %d: %w", profileID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errTwoFactorOn
		}
		return nil
	})
}

// EnableTwoFactor turns two-factor on with the pending secret sealed, which
// a first code of time step step confirmed, and stores the hashes of the
// recovery codes, all in one transaction. The profile moves to a new auth
// epoch (its other sessions end) and the new epoch is returned. ECONFLICT
// when the pending secret changed meanwhile (another tab started again) or
// two-factor is already on.
func (db *DB) EnableTwoFactor(ctx context.Context, profileID int64, sealed string, step int64, recoveryHashes [][]byte, actor switchboard.Actor) (epoch int64, err error) {
	err = db.tx(ctx, func(tx *Tx) error {
		now := millis(db.Now())
		err := tx.QueryRowContext(ctx, `UPDATE profiles SET totp_since = ?, totp_last_step = ?, auth_epoch = auth_epoch + 1
			WHERE id = ? AND totp_since IS NULL AND totp_secret = ? AND totp_secret != '' AND totp_last_step < ? RETURNING auth_epoch`,
			now, step, profileID, sealed, step).Scan(&epoch)
		if errors.Is(err, sql.ErrNoRows) {
			return errTwoFactorOn
		} else if err != nil {
			return fmt.Errorf("store: enable two-factor of profile %d: %w", profileID, err)
		}
		if err := replaceRecoveryCodes(ctx, tx, profileID, recoveryHashes, now); err != nil {
			return err
		}
		return db.profileEvent(ctx, tx, profileID, actor, switchboard.EventTwoFactorEnabled, "")
	})
	return epoch, err
}

// DisableTwoFactor turns two-factor off: the secret and the recovery codes
// are deleted, and the profile moves to a new auth epoch (returned). The
// caller checked the password and a code first.
func (db *DB) DisableTwoFactor(ctx context.Context, profileID int64, actor switchboard.Actor) (epoch int64, err error) {
	err = db.tx(ctx, func(tx *Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE profiles SET totp_secret = '', totp_since = NULL, auth_epoch = auth_epoch + 1
			WHERE id = ? AND totp_since IS NOT NULL RETURNING auth_epoch`, profileID).Scan(&epoch)
		if errors.Is(err, sql.ErrNoRows) {
			return errTwoFactorOff
		} else if err != nil {
			return fmt.Errorf("store: disable two-factor of profile %d: %w", profileID, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE profile_id = ?`, profileID); err != nil {
			return fmt.Errorf("store: delete recovery codes of profile %d: %w", profileID, err)
		}
		return db.profileEvent(ctx, tx, profileID, actor, switchboard.EventTwoFactorDisabled, "")
	})
	return epoch, err
}

// AcceptTwoFactorStep records that a code of time step step was accepted,
// and answers false when a code of that step or a later one was accepted
// before (a replay, perhaps from another process): one conditional UPDATE,
// so two requests with the same code cannot both pass.
func (db *DB) AcceptTwoFactorStep(ctx context.Context, profileID, step int64) (bool, error) {
	var ok bool
	err := db.tx(ctx, func(tx *Tx) error {
		var err error
		ok, err = acceptStep(ctx, tx, profileID, step)
		return err
	})
	return ok, err
}

func acceptStep(ctx context.Context, tx *Tx, profileID, step int64) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE profiles SET totp_last_step = ? WHERE id = ? AND totp_since IS NOT NULL AND totp_last_step < ?`, step, profileID, step)
	if err != nil {
		return false, fmt.Errorf("store: accept two-factor code of profile %d: %w", profileID, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// UseRecoveryCode uses the recovery code whose hash is given, once, and
// records it; false when no unused code of the profile has that hash.
func (db *DB) UseRecoveryCode(ctx context.Context, profileID int64, hash []byte, actor switchboard.Actor) (bool, error) {
	var ok bool
	err := db.tx(ctx, func(tx *Tx) error {
		var err error
		ok, err = db.useRecoveryCode(ctx, tx, profileID, hash, actor)
		return err
	})
	return ok, err
}

func (db *DB) useRecoveryCode(ctx context.Context, tx *Tx, profileID int64, hash []byte, actor switchboard.Actor) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE recovery_codes SET used_at = ? WHERE profile_id = ? AND code_hash = ? AND used_at IS NULL`,
		millis(db.Now()), profileID, hash)
	if err != nil {
		return false, fmt.Errorf("store: use recovery code of profile %d: %w", profileID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	var left int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE profile_id = ? AND used_at IS NULL`, profileID).Scan(&left); err != nil {
		return false, fmt.Errorf("store: count recovery codes of profile %d: %w", profileID, err)
	}
	return true, db.profileEvent(ctx, tx, profileID, actor, switchboard.EventRecoveryCodeUsed, fmt.Sprintf("%d left", left))
}

// RegenerateRecoveryCodes replaces every recovery code of the profile (used
// or not) with the new hashes; ECONFLICT when two-factor is off.
func (db *DB) RegenerateRecoveryCodes(ctx context.Context, profileID int64, hashes [][]byte, actor switchboard.Actor) error {
	return db.tx(ctx, func(tx *Tx) error {
		var on bool
		if err := tx.QueryRowContext(ctx, `SELECT totp_since IS NOT NULL FROM profiles WHERE id = ?`, profileID).Scan(&on); err != nil {
			return fmt.Errorf("store: regenerate recovery codes of profile %d: %w", profileID, err)
		}
		if !on {
			return errTwoFactorOff
		}
		if err := replaceRecoveryCodes(ctx, tx, profileID, hashes, millis(db.Now())); err != nil {
			return err
		}
		return db.profileEvent(ctx, tx, profileID, actor, switchboard.EventRecoveryRegenerated, "")
	})
}

func replaceRecoveryCodes(ctx context.Context, tx *Tx, profileID int64, hashes [][]byte, now int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE profile_id = ?`, profileID); err != nil {
		return fmt.Errorf("store: delete recovery codes of profile %d: %w", profileID, err)
	}
	for _, h := range hashes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (profile_id, code_hash, created_at) VALUES (?, ?, ?)`, profileID, h, now); err != nil {
			return fmt.Errorf("store: store recovery code of profile %d: %w", profileID, err)
		}
	}
	return nil
}

// RecoveryCodesLeft counts the profile's unused recovery codes.
func (db *DB) RecoveryCodesLeft(ctx context.Context, profileID int64) (int, error) {
	var n int
	if err := db.queryRow(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE profile_id = ? AND used_at IS NULL`, profileID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count recovery codes of profile %d: %w", profileID, err)
	}
	return n, nil
}

// LoginChallenge is a login waiting for its Code: the password was right,
// no session exists yet.
type LoginChallenge struct {
	ProfileID int64
	// Next is where the person was going (a same-site path, or "").
	Next     string
	Attempts int
}

var errChallengeGone = switchboard.Errorf(switchboard.EGONE, "This login has expired. Please log in again.")

// CreateLoginChallenge stores the hash of a new login step's token for the
// profile, for LoginChallengeLifetime, and sweeps expired ones.
func (db *DB) CreateLoginChallenge(ctx context.Context, tokenHash []byte, profileID int64, next, ip string) error {
	return db.tx(ctx, func(tx *Tx) error {
		now := db.Now()
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_challenges WHERE expires_at <= ?`, millis(now)); err != nil {
			return fmt.Errorf("store: sweep login challenges: %w", err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO login_challenges (token_hash, profile_id, next, ip, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
			tokenHash, profileID, next, ip, millis(now), millis(now.Add(LoginChallengeLifetime)))
		if err != nil {
			return fmt.Errorf("store: create login challenge for profile %d: %w", profileID, err)
		}
		return nil
	})
}

// FindLoginChallenge returns a live login step; EGONE when it expired, was
// used, died of wrong codes, or never existed.
func (db *DB) FindLoginChallenge(ctx context.Context, tokenHash []byte) (*LoginChallenge, error) {
	var ch LoginChallenge
	err := db.queryRow(ctx, `SELECT profile_id, next, attempts FROM login_challenges WHERE token_hash = ? AND expires_at > ?`,
		tokenHash, millis(db.Now())).Scan(&ch.ProfileID, &ch.Next, &ch.Attempts)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errChallengeGone
	} else if err != nil {
		return nil, fmt.Errorf("store: find login challenge: %w", err)
	}
	return &ch, nil
}

// FailLoginChallenge counts a wrong code against the login step and returns
// how many are left; at zero the step is deleted.
func (db *DB) FailLoginChallenge(ctx context.Context, tokenHash []byte) (left int, err error) {
	err = db.tx(ctx, func(tx *Tx) error {
		var attempts int
		err := tx.QueryRowContext(ctx, `UPDATE login_challenges SET attempts = attempts + 1 WHERE token_hash = ? RETURNING attempts`, tokenHash).Scan(&attempts)
		if errors.Is(err, sql.ErrNoRows) {
			return errChallengeGone
		} else if err != nil {
			return fmt.Errorf("store: count a wrong code: %w", err)
		}
		left = max(MaxChallengeAttempts-attempts, 0)
		if left == 0 {
			if _, err := tx.ExecContext(ctx, `DELETE FROM login_challenges WHERE token_hash = ?`, tokenHash); err != nil {
				return fmt.Errorf("store: end login challenge: %w", err)
			}
		}
		return nil
	})
	return left, err
}

// ErrCodeUsed is the answer to a right code of a time step already used.
var ErrCodeUsed = switchboard.Errorf(switchboard.ECONFLICT, "This code was already used. Wait for the next one in your app.")

// CompleteLoginChallenge ends the login step with a right code of time step
// step, in one transaction: the step is deleted and the code's step
// recorded, or nothing happens — EGONE when the step is gone, ErrCodeUsed
// when a code of that step was accepted before (a replay, from any
// process). The caller makes the session only after this.
func (db *DB) CompleteLoginChallenge(ctx context.Context, tokenHash []byte, step int64) (*LoginChallenge, error) {
	return db.completeChallenge(ctx, tokenHash, func(tx *Tx, ch *LoginChallenge) error {
		ok, err := acceptStep(ctx, tx, ch.ProfileID, step)
		if err == nil && !ok {
			err = ErrCodeUsed
		}
		return err
	})
}

// ErrRecoveryCodeWrong is the answer to a recovery code that is not one of
// the profile's unused ones.
var ErrRecoveryCodeWrong = switchboard.Errorf(switchboard.EINVALID, "This recovery code is not correct or was already used.")

// CompleteLoginWithRecoveryCode ends the login step with a recovery code
// (its hash), using it up, in one transaction; ErrRecoveryCodeWrong when it
// is not one of the profile's unused codes.
func (db *DB) CompleteLoginWithRecoveryCode(ctx context.Context, tokenHash, codeHash []byte, actor switchboard.Actor) (*LoginChallenge, error) {
	return db.completeChallenge(ctx, tokenHash, func(tx *Tx, ch *LoginChallenge) error {
		ok, err := db.useRecoveryCode(ctx, tx, ch.ProfileID, codeHash, actor)
		if err == nil && !ok {
			err = ErrRecoveryCodeWrong
		}
		return err
	})
}

func (db *DB) completeChallenge(ctx context.Context, tokenHash []byte, check func(*Tx, *LoginChallenge) error) (*LoginChallenge, error) {
	var ch LoginChallenge
	err := db.tx(ctx, func(tx *Tx) error {
		err := tx.QueryRowContext(ctx, `DELETE FROM login_challenges WHERE token_hash = ? AND expires_at > ? RETURNING profile_id, next, attempts`,
			tokenHash, millis(db.Now())).Scan(&ch.ProfileID, &ch.Next, &ch.Attempts)
		if errors.Is(err, sql.ErrNoRows) {
			return errChallengeGone
		} else if err != nil {
			return fmt.Errorf("store: complete login challenge: %w", err)
		}
		return check(tx, &ch)
	})
	if err != nil {
		return nil, err
	}
	return &ch, nil
}

// profileEvent records one of the profile's security events inside tx.
func (db *DB) profileEvent(ctx context.Context, tx *Tx, profileID int64, actor switchboard.Actor, action, detail string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO profile_events (profile_id, action, actor_name, detail, ip, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		profileID, action, actor.Name, detail, actor.IP, millis(db.Now()))
	if err != nil {
		return fmt.Errorf("store: record %s of profile %d: %w", action, profileID, err)
	}
	return nil
}

// ListProfileEvents returns the profile's latest limit security events,
// newest first.
func (db *DB) ListProfileEvents(ctx context.Context, profileID int64, limit int) ([]switchboard.ProfileEvent, error) {
	rows, err := db.query(ctx, `SELECT id, action, actor_name, detail, ip, created_at FROM profile_events WHERE profile_id = ? ORDER BY id DESC LIMIT ?`, profileID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list events of profile %d: %w", profileID, err)
	}
	defer rows.Close()
	var list []switchboard.ProfileEvent
	for rows.Next() {
		var e switchboard.ProfileEvent
		var created int64
		if err := rows.Scan(&e.ID, &e.Action, &e.ActorName, &e.Detail, &e.IP, &created); err != nil {
			return nil, fmt.Errorf("store: list events of profile %d: %w", profileID, err)
		}
		e.CreatedAt = fromMillis(created)
		list = append(list, e)
	}
	return list, rows.Err()
}
