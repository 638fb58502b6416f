package store_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"switchboard"
	"switchboard/store"
)

// auditLines returns the organisation's audit lines of action, newest
// first, as "Target: Detail".
func auditLines(tb testing.TB, db *store.DB, orgID int64, action string) []string {
	tb.Helper()
	entries, _, err := db.ListAudit(ctx, orgID, 0, 1000)
	must(tb, err)
	var lines []string
	for _, e := range entries {
		if e.Action == action {
			lines = append(lines, e.Target+": "+e.Detail)
		}
	}
	return lines
}

func wantSecret(tb testing.TB, secret string) {
	tb.Helper()
	rest, ok := strings.CutPrefix(secret, store.ReportSecretPrefix)
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if !ok || err != nil || len(b) != 32 {
		tb.Fatalf("secret %q is not sbr_ and 32 bytes of URL-safe base64", secret)
	}
}

func TestAPIConfig(t *testing.T) {
	db := newDB(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	actor := actorOf(owner)

	// No row: the defaults.
	cfg, err := db.APIConfig(ctx, org.ID)
	must(t, err)
	if cfg != (switchboard.APIConfig{OrgID: org.ID}) {
		t.Fatalf("defaults = %+v", cfg)
	}

	// Saving the defaults changes nothing and audits nothing.
	must(t, db.SaveAPIConfig(ctx, actor, &switchboard.APIConfig{OrgID: org.ID}))
	if lines := auditLines(t, db, org.ID, store.AuditAPIConfigChanged); len(lines) != 0 {
		t.Errorf("saving the defaults audited %q", lines)
	}

	// The first URL makes the secret.
	setNow(db, t0.Add(time.Hour))
	first := &switchboard.APIConfig{OrgID: org.ID, ReportURL: "https://example.com/sms/reports?token=private"}
	must(t, db.SaveAPIConfig(ctx, actor, first))
	wantSecret(t, first.ReportSecret)
	cfg, err = db.APIConfig(ctx, org.ID)
	must(t, err)
	if cfg.ReportURL != first.ReportURL || cfg.ReportSecret != first.ReportSecret || cfg.AutoReplace != "" || !cfg.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("saved = %+v", cfg)
	}
	lines := auditLines(t, db, org.ID, store.AuditAPIConfigChanged)
	if len(lines) != 1 || lines[0] != "API configuration: Delivery-report URL set to https://example.com/sms/reports?…; signing secret made" {
		t.Errorf("audit = %q", lines)
	}

	// The same again: nothing changes, no audit line, the same secret.
	same := &switchboard.APIConfig{OrgID: org.ID, ReportURL: first.ReportURL}
	must(t, db.SaveAPIConfig(ctx, actor, same))
	if same.ReportSecret != first.ReportSecret || len(auditLines(t, db, org.ID, store.AuditAPIConfigChanged)) != 1 {
		t.Errorf("an unchanged save: secret %q, audit %q", same.ReportSecret, auditLines(t, db, org.ID, store.AuditAPIConfigChanged))
	}

	// Another URL and a mode: the secret stays.
	changed := &switchboard.APIConfig{OrgID: org.ID, ReportURL: "https://hooks.example.com/r", AutoReplace: switchboard.AutoReplaceFull}
	must(t, db.SaveAPIConfig(ctx, actor, changed))
	if changed.ReportSecret != first.ReportSecret {
		t.Errorf("changing the URL changed the secret")
	}
	lines = auditLines(t, db, org.ID, store.AuditAPIConfigChanged)
	if len(lines) != 2 || lines[0] != "API configuration: Delivery-report URL changed to https://hooks.example.com/r; auto-replace for API messages Full" {
		t.Errorf("audit = %q", lines)
	}

	// A new secret: different, stored, audited without the secret.
	secret, err := db.RotateReportSecret(ctx, actor, org.ID)
	must(t, err)
	wantSecret(t, secret)
	cfg, err = db.APIConfig(ctx, org.ID)
	must(t, err)
	if secret == first.ReportSecret || cfg.ReportSecret != secret || cfg.AutoReplace != switchboard.AutoReplaceFull {
		t.Errorf("rotated: %q, stored %+v", secret, cfg)
	}
	lines = auditLines(t, db, org.ID, store.AuditAPIConfigChanged)
	if len(lines) != 3 || lines[0] != "API configuration: New signing secret generated" || strings.Contains(strings.Join(lines, " "), secret) {
		t.Errorf("audit = %q", lines)
	}

	// The mode alone.
	must(t, db.SaveAPIConfig(ctx, actor, &switchboard.APIConfig{OrgID: org.ID, ReportURL: "https://hooks.example.com/r", AutoReplace: ""}))
	if lines = auditLines(t, db, org.ID, store.AuditAPIConfigChanged); lines[0] != "API configuration: Auto-replace for API messages as on the Auto-replace page" {
		t.Errorf("audit = %q", lines)
	}

	// Cleared: no reports; the secret is kept for when a URL comes back,
	// and a new one cannot be made without a URL.
	must(t, db.SaveAPIConfig(ctx, actor, &switchboard.APIConfig{OrgID: org.ID}))
	cfg, err = db.APIConfig(ctx, org.ID)
	must(t, err)
	if cfg.ReportURL != "" || cfg.ReportSecret != secret {
		t.Errorf("cleared = %+v", cfg)
	}
	if lines = auditLines(t, db, org.ID, store.AuditAPIConfigChanged); lines[0] != "API configuration: Delivery-report URL removed" {
		t.Errorf("audit = %q", lines)
	}
	_, err = db.RotateReportSecret(ctx, actor, org.ID)
	wantCode(t, err, switchboard.EINVALID)

	// Another organisation's configuration is its own.
	_, otherOrg := newOwner(t, db, "Bob", "Other", "bob@example.com")
	cfg, err = db.APIConfig(ctx, otherOrg.ID)
	must(t, err)
	if cfg.ReportURL != "" || cfg.ReportSecret != "" {
		t.Errorf("the other organisation's = %+v", cfg)
	}
	_, err = db.RotateReportSecret(ctx, actor, otherOrg.ID)
	wantCode(t, err, switchboard.EINVALID)
}

// TestAPIConfigClearedDropsReports: the reports still waiting for an
// organisation's URL are deleted when it is cleared, in the same
// transaction; other organisations' stay, and so do its own while the URL
// is only changed.
func TestAPIConfigClearedDropsReports(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	other, otherOrg := newOwner(t, db, "Bob", "Other", "bob@example.com")
	for _, o := range []struct {
		actor switchboard.Actor
		id    int64
	}{{actorOf(owner), org.ID}, {actorOf(other), otherOrg.ID}} {
		must(t, db.SaveAPIConfig(ctx, o.actor, &switchboard.APIConfig{OrgID: o.id, ReportURL: "https://example.com/reports"}))
	}
	raw := rawDB(t, dsn)
	for _, id := range []int64{org.ID, org.ID, otherOrg.ID} {
		if _, err := raw.ExecContext(ctx, `INSERT INTO api_reports (org_id, message_id, status, created_at, next_attempt_at) VALUES (?, 1, 'delivered', 1, 1)`, id); err != nil {
			t.Fatal(err)
		}
	}
	waiting := func(orgID int64) int {
		return count(t, raw, `SELECT COUNT(*) FROM api_reports WHERE org_id = ?`, orgID)
	}
	must(t, db.SaveAPIConfig(ctx, actorOf(owner), &switchboard.APIConfig{OrgID: org.ID, ReportURL: "https://example.com/new"}))
	if waiting(org.ID) != 2 {
		t.Errorf("changing the URL dropped reports: %d left", waiting(org.ID))
	}
	must(t, db.SaveAPIConfig(ctx, actorOf(owner), &switchboard.APIConfig{OrgID: org.ID}))
	if waiting(org.ID) != 0 || waiting(otherOrg.ID) != 1 {
		t.Errorf("after clearing: %d of the organisation's, %d of the other's", waiting(org.ID), waiting(otherOrg.ID))
	}
}
