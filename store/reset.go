package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"switchboard"
)

// PasswordResetLifetime is how long a password reset link works.
const PasswordResetLifetime = time.Hour

// CreatePasswordReset stores the hash of a reset token for the profile and
// queues its email, in one transaction.
func (db *DB) CreatePasswordReset(ctx context.Context, profileID int64, tokenHash []byte, email *switchboard.Email) error {
	return db.tx(ctx, func(tx *Tx) error {
		now := db.Now()
		_, err := tx.ExecContext(ctx, `INSERT INTO password_resets (token_hash, profile_id, expires_at, created_at) VALUES (?, ?, ?, ?)`,
			tokenHash, profileID, millis(now.Add(PasswordResetLifetime)), millis(now))
		if err != nil {
			return fmt.Errorf("store: create password reset for profile %d: %w", profileID, err)
		}
		_, err = db.enqueue(ctx, tx, email)
		return err
	})
}

// FindPasswordReset returns the profile a usable reset token belongs to; a
// used, expired or unknown token is EGONE.
func (db *DB) FindPasswordReset(ctx context.Context, tokenHash []byte) (int64, error) {
	var profileID int64
	err := db.queryRow(ctx, `SELECT profile_id FROM password_resets WHERE token_hash = ? AND expires_at > ?`,
		tokenHash, millis(db.Now())).Scan(&profileID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errResetGone
	} else if err != nil {
		return 0, fmt.Errorf("store: find password reset: %w", err)
	}
	return profileID, nil
}

var errResetGone = switchboard.Errorf(switchboard.EGONE, "This password reset link has expired or was already used. Ask for a new one.")

// ResetPassword uses a reset token once: it sets the new password, ends
// every session of the profile and kills every other reset token, all in
// one transaction. It returns the profile.
func (db *DB) ResetPassword(ctx context.Context, tokenHash []byte, passwordHash string) (*switchboard.Profile, error) {
	var profileID int64
	err := db.tx(ctx, func(tx *Tx) error {
		err := tx.QueryRowContext(ctx, `DELETE FROM password_resets WHERE token_hash = ? AND expires_at > ? RETURNING profile_id`,
			tokenHash, millis(db.Now())).Scan(&profileID)
		if errors.Is(err, sql.ErrNoRows) {
			return errResetGone
		} else if err != nil {
			return fmt.Errorf("store: use password reset: %w", err)
		}
		_, err = setPassword(ctx, tx, profileID, passwordHash)
		return err
	})
	if err != nil {
		return nil, err
	}
	return db.FindProfile(ctx, profileID)
}
