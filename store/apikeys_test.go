package store_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"switchboard"
	"switchboard/store"
)

// createKey makes a key named name in the organisation as actor and
// returns it with the plain key, as the page shows it once.
func createKey(tb testing.TB, db *store.DB, actor switchboard.Actor, orgID int64, name string) (*switchboard.APIKey, string) {
	tb.Helper()
	plain, hash := switchboard.NewAPIKey()
	k := &switchboard.APIKey{OrgID: orgID, Name: name}
	must(tb, k.Validate())
	must(tb, db.CreateAPIKey(ctx, actor, k, hash, plain[:switchboard.APIKeyShown]))
	return k, plain
}

func TestAPIKeyCreateListFindRevoke(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	k, plain := createKey(t, db, actorOf(owner), org.ID, "Website")
	if k.ID == 0 || k.Prefix != plain[:switchboard.APIKeyShown] || !strings.HasPrefix(k.Prefix, "sb_live_") ||
		k.CreatedBy != owner.ID || k.CreatedByName != "Ada Lovelace" || !k.CreatedAt.Equal(t0) || k.LastUsedAt != nil || k.Revoked() {
		t.Fatalf("created = %+v", k)
	}
	setNow(db, t0.Add(time.Hour))
	k2, _ := createKey(t, db, actorOf(owner), org.ID, "Billing system")

	list, err := db.ListAPIKeys(ctx, org.ID)
	must(t, err)
	if len(list) != 2 || list[0].ID != k2.ID || list[1].ID != k.ID || list[1].Name != "Website" || list[1].Prefix != k.Prefix {
		t.Fatalf("list = %+v", list)
	}
	found, err := db.FindAPIKey(ctx, org.ID, k.ID)
	must(t, err)
	if found.Name != "Website" || found.CreatedByName != "Ada Lovelace" || found.CreatedBy != owner.ID {
		t.Errorf("found = %+v", found)
	}
	caller, err := db.AuthenticateAPIKey(ctx, switchboard.HashAPIKey(plain))
	must(t, err)
	if caller.Key.ID != k.ID || caller.Org.ID != org.ID || caller.Org.Name != org.Name {
		t.Errorf("caller = %+v", caller)
	}

	// Only the hash is stored: no column of the row holds the key or
	// any long piece of it.
	raw := rawDB(t, dsn)
	rows, err := raw.QueryContext(ctx, `SELECT * FROM api_keys WHERE id = ?`, k.ID)
	must(t, err)
	cols, _ := rows.Columns()
	values := make([]any, len(cols))
	for i := range values {
		values[i] = new(any)
	}
	if !rows.Next() {
		t.Fatal("no row")
	}
	must(t, rows.Scan(values...))
	rows.Close()
	secret := plain[switchboard.APIKeyShown:]
	hash := switchboard.HashAPIKey(plain)
	sawHash := false
	for i, v := range values {
		var b []byte
		switch x := (*v.(*any)).(type) {
		case string:
			b = []byte(x)
		case []byte:
			b = x
		}
		if bytes.Contains(b, []byte(secret[:8])) || bytes.Contains(b, []byte(plain)) {
			t.Errorf("column %s holds the key: %q", cols[i], b)
		}
		if bytes.Equal(b, hash[:]) {
			sawHash = true
		}
	}
	if !sawHash {
		t.Errorf("no column holds the key's SHA-256")
	}

	// Revoked: refused at once, shown as revoked, audited once.
	setNow(db, t0.Add(2*time.Hour))
	revoked, err := db.RevokeAPIKey(ctx, actorOf(owner), org.ID, k.ID)
	must(t, err)
	if revoked.RevokedAt == nil || !revoked.RevokedAt.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("revoked = %+v", revoked)
	}
	_, err = db.AuthenticateAPIKey(ctx, switchboard.HashAPIKey(plain))
	wantCode(t, err, switchboard.EUNAUTHORIZED)
	again, err := db.RevokeAPIKey(ctx, actorOf(owner), org.ID, k.ID)
	must(t, err)
	if !again.RevokedAt.Equal(*revoked.RevokedAt) {
		t.Errorf("revoking twice moved the date: %v", again.RevokedAt)
	}
	// An unknown key, and one that is not a key at all.
	_, err = db.AuthenticateAPIKey(ctx, switchboard.HashAPIKey("sb_live_nothing"))
	wantCode(t, err, switchboard.EUNAUTHORIZED)

	got := strings.Join(auditActions(t, db, org.ID), " ")
	if !strings.HasPrefix(got, store.AuditAPIKeyRevoked+" "+store.AuditAPIKeyCreated+" "+store.AuditAPIKeyCreated) || strings.Count(got, store.AuditAPIKeyRevoked) != 1 {
		t.Errorf("audit = %q", got)
	}
	entries, _, err := db.ListAudit(ctx, org.ID, 0, 1)
	must(t, err)
	if e := entries[0]; e.ActorName != "Ada Lovelace" || e.Target != "Website" || e.Detail != k.Prefix+"…" || e.IP != "192.0.2.10" {
		t.Errorf("revocation's audit line = %+v", e)
	}
}

// TestAPIKeyOtherOrganisation: a key of another organisation is not
// found, cannot be revoked, and is not listed.
func TestAPIKeyOtherOrganisation(t *testing.T) {
	db := newDB(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	other, otherOrg := newOwner(t, db, "Bob", "Other", "bob@example.com")
	k, plain := createKey(t, db, actorOf(owner), org.ID, "Website")

	_, err := db.FindAPIKey(ctx, otherOrg.ID, k.ID)
	wantCode(t, err, switchboard.ENOTFOUND)
	_, err = db.RevokeAPIKey(ctx, actorOf(other), otherOrg.ID, k.ID)
	wantCode(t, err, switchboard.ENOTFOUND)
	_, err = db.FindAPIKey(ctx, org.ID, k.ID+1000)
	wantCode(t, err, switchboard.ENOTFOUND)
	list, err := db.ListAPIKeys(ctx, otherOrg.ID)
	must(t, err)
	if len(list) != 0 {
		t.Errorf("the other organisation lists %+v", list)
	}
	// The failed revocation changed nothing and audited nothing.
	caller, err := db.AuthenticateAPIKey(ctx, switchboard.HashAPIKey(plain))
	must(t, err)
	if caller.Org.ID != org.ID {
		t.Errorf("the key reaches organisation %d", caller.Org.ID)
	}
	if hasAction(t, db, otherOrg.ID, store.AuditAPIKeyRevoked) || hasAction(t, db, org.ID, store.AuditAPIKeyRevoked) {
		t.Error("a refused revocation was audited")
	}
}

// TestAPIKeyLastUsed: the last use is written on the first use, not again
// within a minute, and again after it.
func TestAPIKeyLastUsed(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	k, plain := createKey(t, db, actorOf(owner), org.ID, "Website")
	hash := switchboard.HashAPIKey(plain)
	raw := rawDB(t, dsn)
	stored := func() int64 {
		t.Helper()
		var ms *int64
		must(t, raw.QueryRowContext(ctx, `SELECT last_used_at FROM api_keys WHERE id = ?`, k.ID).Scan(&ms))
		if ms == nil {
			return 0
		}
		return *ms
	}
	if stored() != 0 {
		t.Fatal("a new key has a last use")
	}
	use := func(at time.Time) *store.APICaller {
		t.Helper()
		setNow(db, at)
		c, err := db.AuthenticateAPIKey(ctx, hash)
		must(t, err)
		return c
	}
	first := t0.Add(time.Hour)
	if c := use(first); c.Key.LastUsedAt == nil || !c.Key.LastUsedAt.Equal(first) {
		t.Errorf("first use: caller's last use %v", c.Key.LastUsedAt)
	}
	if stored() != first.UnixMilli() {
		t.Errorf("first use not written: %d", stored())
	}
	writes := db.Statements()
	for _, d := range []time.Duration{time.Second, 30 * time.Second, time.Minute - time.Millisecond} {
		use(first.Add(d))
		if stored() != first.UnixMilli() {
			t.Errorf("use %v later wrote %d", d, stored())
		}
	}
	// Three reads, one statement each, and no write.
	if n := db.Statements() - writes; n != 3 {
		t.Errorf("three uses within the minute ran %d statements, want 3 reads", n)
	}
	later := first.Add(time.Minute)
	use(later)
	if stored() != later.UnixMilli() {
		t.Errorf("use a minute later not written: %d", stored())
	}
	found, err := db.FindAPIKey(ctx, org.ID, k.ID)
	must(t, err)
	if found.LastUsedAt == nil || !found.LastUsedAt.Equal(later) {
		t.Errorf("listed last use %v", found.LastUsedAt)
	}
}

// TestAPIKeySurvivesItsCreator: keys belong to the organisation; the
// creator leaving, and their profile being deleted, leaves the key working
// with the creator's name.
func TestAPIKeySurvivesItsCreator(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	admin := addMember(t, db, org, owner, "Grace", "Hopper", "grace@example.com", administrator)
	k, plain := createKey(t, db, actorOf(admin), org.ID, "Warehouse")
	must(t, db.RemoveMember(ctx, actorOf(admin), org.ID, findMember(t, db, org.ID, admin.ID), "member.left"))
	found, err := db.FindAPIKey(ctx, org.ID, k.ID)
	must(t, err)
	if found.CreatedBy != admin.ID || found.CreatedByName != "Grace Hopper" || found.Revoked() {
		t.Errorf("after the creator left: %+v", found)
	}
	_, err = db.AuthenticateAPIKey(ctx, switchboard.HashAPIKey(plain))
	must(t, err)

	// The profile deleted (there is no store method yet: the row goes,
	// and the foreign key does the rest).
	raw := rawDB(t, dsn)
	if _, err := raw.ExecContext(ctx, `DELETE FROM profiles WHERE id = ?`, admin.ID); err != nil {
		t.Fatalf("delete the profile: %v", err)
	}
	found, err = db.FindAPIKey(ctx, org.ID, k.ID)
	must(t, err)
	if found.CreatedBy != 0 || found.CreatedByName != "Grace Hopper" {
		t.Errorf("after the creator's profile went: %+v", found)
	}
	if _, err := db.AuthenticateAPIKey(ctx, switchboard.HashAPIKey(plain)); err != nil {
		t.Errorf("the key died with its creator: %v", err)
	}
	entries, _, err := db.ListAudit(ctx, org.ID, 0, 100)
	must(t, err)
	var made bool
	for _, e := range entries {
		made = made || e.Action == store.AuditAPIKeyCreated && e.ActorName == "Grace Hopper" && e.Target == "Warehouse"
	}
	if !made {
		t.Errorf("the audit log does not say who made the key: %+v", entries)
	}
}

// BenchmarkAuthenticateAPIKey is the key check of every API request: the
// SHA-256 of the key and the lookup (the last use was written a moment
// ago, so no write). The target is 20 µs.
func BenchmarkAuthenticateAPIKey(b *testing.B) {
	db, _ := newDBWithPath(b)
	owner, org := newOwner(b, db, "Ada", "Lovelace", "ada@example.com")
	// Other organisations' keys, so that the lookup is in a real index.
	for i := range 1000 {
		_, hash := switchboard.NewAPIKey()
		k := &switchboard.APIKey{OrgID: org.ID, Name: "Key " + strconv.Itoa(i)}
		must(b, db.CreateAPIKey(ctx, actorOf(owner), k, hash, "sb_live_xxxx"))
	}
	_, plain := createKey(b, db, actorOf(owner), org.ID, "Website")
	_, err := db.AuthenticateAPIKey(ctx, switchboard.HashAPIKey(plain))
	must(b, err)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := db.AuthenticateAPIKey(ctx, switchboard.HashAPIKey(plain)); err != nil {
			b.Fatal(err)
		}
	}
}
