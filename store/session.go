package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// SessionStore keeps scs sessions in the database. It implements
// scs.Store and scs.CtxStore. Rows are keyed by the SHA-256 of the token,
// never the token itself, so a copy of the database (a backup, a stolen
// file) holds no cookie that would log anyone in.
type SessionStore struct{ db *DB }

// sessionKey is the key a session token is stored under.
func sessionKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Sessions returns the session store of db.
func (db *DB) Sessions() *SessionStore { return &SessionStore{db: db} }

// julian converts t to a Julian day number, as scs's SQLite stores do.
func julian(t time.Time) float64 {
	return float64(t.UnixNano())/float64(24*time.Hour) + 2440587.5
}

// FindCtx returns the data of an unexpired session.
func (s *SessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	var b []byte
	err := s.db.queryRow(ctx, `SELECT data FROM sessions WHERE token = ? AND expiry > ?`, sessionKey(token), julian(s.db.Now())).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, fmt.Errorf("store: find session: %w", err)
	}
	return b, true, nil
}

// CommitCtx saves a session.
func (s *SessionStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	return s.db.tx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (token, data, expiry) VALUES (?, ?, ?)
			ON CONFLICT (token) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`, sessionKey(token), b, julian(expiry))
		if err != nil {
			return fmt.Errorf("store: commit session: %w", err)
		}
		return nil
	})
}

// DeleteCtx deletes a session; logging out makes its cookie worthless.
func (s *SessionStore) DeleteCtx(ctx context.Context, token string) error {
	return s.db.tx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token = ?`, sessionKey(token)); err != nil {
			return fmt.Errorf("store: delete session: %w", err)
		}
		return nil
	})
}

// Find implements scs.Store.
func (s *SessionStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

// Commit implements scs.Store.
func (s *SessionStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

// Delete implements scs.Store.
func (s *SessionStore) Delete(token string) error {
	return s.DeleteCtx(context.Background(), token)
}

// DeleteExpired removes expired sessions; the server calls it now and then.
func (s *SessionStore) DeleteExpired(ctx context.Context) error {
	return s.db.tx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expiry < ?`, julian(s.db.Now()))
		return err
	})
}
