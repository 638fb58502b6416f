package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"switchboard"
)

// ReportSecretPrefix begins every delivery-report signing secret, so that
// one pasted somewhere is recognisable (and never mistaken for an API key).
const ReportSecretPrefix = "sbr_"

// newReportSecret returns a fresh signing secret: 256 random bits.
func newReportSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return ReportSecretPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// APIConfig returns the organisation's API configuration; an organisation
// that never saved one has the defaults (no reports, the Auto-replace
// page's mode).
func (db *DB) APIConfig(ctx context.Context, orgID int64) (switchboard.APIConfig, error) {
	return scanAPIConfig(db.queryRow(ctx, apiConfigQuery, orgID), orgID)
}

const apiConfigQuery = `SELECT report_url, report_secret, auto_replace, updated_at FROM api_config WHERE org_id = ?`

// scanAPIConfig reads the row of apiConfigQuery (the defaults when there
// is none).
func scanAPIConfig(r interface{ Scan(...any) error }, orgID int64) (switchboard.APIConfig, error) {
	cfg := switchboard.APIConfig{OrgID: orgID}
	var mode string
	var updated int64
	err := r.Scan(&cfg.ReportURL, &cfg.ReportSecret, &mode, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return cfg, nil
	} else if err != nil {
		return cfg, fmt.Errorf("store: read API configuration of organisation %d: %w", orgID, err)
	}
	cfg.AutoReplace, cfg.UpdatedAt = switchboard.AutoReplaceMode(mode), fromMillis(updated)
	return cfg, nil
}

// apiAutoReplaceWords are the API's auto-replace modes as the audit log
// names them.
var apiAutoReplaceWords = map[switchboard.AutoReplaceMode]string{
	"": "as on the Auto-replace page", switchboard.AutoReplaceOff: "Off", switchboard.AutoReplaceOn: "On", switchboard.AutoReplaceFull: "Full",
}

// auditedURL is a report URL as the audit log shows it: without its query,
// which may hold a receiver's own token, since the audit log is read by
// members who may not see the API page.
func auditedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.RawQuery == "" {
		return raw
	}
	u.RawQuery = ""
	return u.String() + "?…"
}

// SaveAPIConfig saves cfg (validated by the caller) as the organisation's
// API configuration. The first time a report URL is set, a signing secret
// is made (cfg.ReportSecret tells it); it is kept after that, also when
// the URL changes or is cleared, until RotateReportSecret. Clearing the
// URL deletes the reports still waiting for it, in the same transaction:
// nobody receives them any more. The change is audited with what changed;
// a save that changes nothing leaves no audit line.
func (db *DB) SaveAPIConfig(ctx context.Context, actor switchboard.Actor, cfg *switchboard.APIConfig) error {
	if _, ok := apiAutoReplaceWords[cfg.AutoReplace]; !ok {
		return fmt.Errorf("store: API auto-replace mode %q", cfg.AutoReplace)
	}
	now := db.Now()
	return db.tx(ctx, func(tx *Tx) error {
		if err := tx.lockOrganisation(ctx, cfg.OrgID); err != nil {
			return err
		}
		old, err := scanAPIConfig(tx.QueryRowContext(ctx, apiConfigQuery, cfg.OrgID), cfg.OrgID)
		if err != nil {
			return err
		}
		cfg.ReportSecret, cfg.UpdatedAt = old.ReportSecret, old.UpdatedAt
		var changes []string
		switch {
		case cfg.ReportURL == old.ReportURL:
		case cfg.ReportURL == "":
			changes = append(changes, "delivery-report URL removed")
		case old.ReportURL == "":
			changes = append(changes, "delivery-report URL set to "+auditedURL(cfg.ReportURL))
		default:
			changes = append(changes, "delivery-report URL changed to "+auditedURL(cfg.ReportURL))
		}
		if cfg.AutoReplace != old.AutoReplace {
			changes = append(changes, "auto-replace for API messages "+apiAutoReplaceWords[cfg.AutoReplace])
		}
		if len(changes) == 0 {
			return nil
		}
		if cfg.ReportURL != "" && cfg.ReportSecret == "" {
			cfg.ReportSecret = newReportSecret()
			changes = append(changes, "signing secret made")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO api_config (org_id, report_url, report_secret, auto_replace, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (org_id) DO UPDATE SET report_url = excluded.report_url, report_secret = excluded.report_secret,
			auto_replace = excluded.auto_replace, updated_at = excluded.updated_at`,
			cfg.OrgID, cfg.ReportURL, cfg.ReportSecret, string(cfg.AutoReplace), millis(now)); err != nil {
			return fmt.Errorf("store: save API configuration of organisation %d: %w", cfg.OrgID, err)
		}
		if cfg.ReportURL == "" && old.ReportURL != "" {
			if _, err := tx.ExecContext(ctx, `DELETE FROM api_reports WHERE org_id = ?`, cfg.OrgID); err != nil {
				return fmt.Errorf("store: drop the waiting delivery reports of organisation %d: %w", cfg.OrgID, err)
			}
		}
		cfg.UpdatedAt = fromMillis(millis(now))
		return db.audit(ctx, tx, cfg.OrgID, actor, AuditAPIConfigChanged, "API configuration", capitalize(strings.Join(changes, "; ")))
	})
}

// capitalize makes s begin with a capital letter (s begins with ASCII).
func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// errNoReportURL refuses a new secret for an organisation without a
// report URL: there is nothing to sign.
var errNoReportURL = switchboard.Errorf(switchboard.EINVALID,
	"There is no delivery-report URL yet. Save one first: its signing secret is made with it.")

// RotateReportSecret replaces the organisation's signing secret with a new
// one and returns it: reports are signed with it from the next one on.
// Without a report URL it is EINVALID. The change is audited (without the
// secret).
func (db *DB) RotateReportSecret(ctx context.Context, actor switchboard.Actor, orgID int64) (string, error) {
	secret := newReportSecret()
	err := db.tx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_config SET report_secret = ?, updated_at = ? WHERE org_id = ? AND report_url <> ''`,
			secret, millis(db.Now()), orgID)
		if err != nil {
			return fmt.Errorf("store: replace the signing secret of organisation %d: %w", orgID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errNoReportURL
		}
		return db.audit(ctx, tx, orgID, actor, AuditAPIConfigChanged, "API configuration", "New signing secret generated")
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}
