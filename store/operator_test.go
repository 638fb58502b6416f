package store_test

import (
	"fmt"
	"sync"
	"testing"

	"switchboard"
	"switchboard/store"
)

// TestSetOwnerByOperatorConcurrent: operators naming different members
// owner at the same time leave one owner, never two or none, and one
// audit line per change made.
func TestSetOwnerByOperatorConcurrent(t *testing.T) {
	db, dsn := newDBWithPath(t)
	olivia, org := newOwner(t, db, "Olivia", "Owner", "olivia@example.com")
	emails := []string{"ada@example.com", "grace@example.com", "linus@example.com"}
	for _, e := range emails {
		addMember(t, db, org, olivia, "M", "Ember", e, switchboard.BuiltinRole(switchboard.RoleSender))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	changed := 0
	for i := range 12 {
		wg.Go(func() {
			_, err := db.SetOwnerByOperator(ctx, org.ID, emails[i%len(emails)])
			if code := switchboard.ErrorCode(err); code != "" && code != switchboard.ECONFLICT {
				t.Errorf("set-owner: %v", err)
			} else if err == nil {
				mu.Lock()
				changed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	raw := rawDB(t, dsn)
	if n := count(t, raw, `SELECT COUNT(*) FROM members WHERE org_id = ? AND role = 'owner'`, org.ID); n != 1 {
		t.Fatalf("%d owners", n)
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM members WHERE org_id = ? AND role = 'administrator'`, org.ID); n != 3 {
		t.Fatalf("%d administrators, want 3 (everyone but the owner, who was an owner at some time)", n)
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM audit_log WHERE org_id = ? AND action = 'ownership.transferred' AND actor_name = ? AND actor_id IS NULL`, org.ID, store.CommandLineActor.Name); changed == 0 || n != changed {
		t.Fatalf("%d audit lines for %d changes", n, changed)
	}
	if findMember(t, db, org.ID, olivia.ID).Role.Kind != switchboard.RoleAdministrator {
		t.Fatal("the first owner is not an Administrator")
	}
}

// TestSetOwnerByOperatorRenewsSessions: both members' privileges move on,
// so their sessions get new tokens; other members' do not.
func TestSetOwnerByOperatorRenewsSessions(t *testing.T) {
	db := newDB(t)
	olivia, org := newOwner(t, db, "Olivia", "Owner", "olivia@example.com")
	ada := addMember(t, db, org, olivia, "Ada", "L", "ada@example.com", switchboard.BuiltinRole(switchboard.RoleSender))
	grace := addMember(t, db, org, olivia, "Grace", "H", "grace@example.com", switchboard.BuiltinRole(switchboard.RoleSender))
	epoch := func(id int64) int64 {
		p, err := db.FindProfile(ctx, id)
		must(t, err)
		return p.PrivilegeEpoch
	}
	o, a, g := epoch(olivia.ID), epoch(ada.ID), epoch(grace.ID)
	change, err := db.SetOwnerByOperator(ctx, org.ID, "ADA@example.com")
	must(t, err)
	if change.NewOwner != "ada@example.com" || change.OldOwner != "olivia@example.com" || change.OrgName != org.Name {
		t.Fatalf("change %+v", change)
	}
	if epoch(olivia.ID) != o+1 || epoch(ada.ID) != a+1 || epoch(grace.ID) != g {
		t.Fatal("privilege epochs: the two members' must move on, and only theirs")
	}
}

// TestCreateProfileByOperator: one profile however many operators create
// the same address at once, with no organisation, a reset token that
// works, and one event.
func TestCreateProfileByOperator(t *testing.T) {
	db, dsn := newDBWithPath(t)
	hashes := make([][]byte, 5)
	errs := make([]error, 5)
	var wg sync.WaitGroup
	for i := range hashes {
		hashes[i] = newTokenHash(t)
		wg.Go(func() {
			_, errs[i] = db.CreateProfileByOperator(ctx, &switchboard.Profile{Email: "Ada@Example.com"}, "unusable", hashes[i])
		})
	}
	wg.Wait()
	made := -1
	for i, err := range errs {
		if err == nil {
			made = i
		} else {
			wantCode(t, err, switchboard.ECONFLICT)
		}
	}
	if made < 0 {
		t.Fatal("no operator created the profile")
	}
	raw := rawDB(t, dsn)
	if n := count(t, raw, `SELECT COUNT(*) FROM profiles WHERE email = 'ada@example.com'`); n != 1 {
		t.Fatalf("%d profiles", n)
	}
	id, err := db.FindPasswordReset(ctx, hashes[made])
	must(t, err)
	if list, err := db.ListMemberships(ctx, id); err != nil || len(list) != 0 {
		t.Fatalf("memberships %v, %v", list, err)
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM profile_events WHERE profile_id = ? AND action = ? AND actor_name = ?`, id, switchboard.EventProfileCreated, store.CommandLineActor.Name); n != 1 {
		t.Fatalf("%d events", n)
	}
	p, err := db.ResetPassword(ctx, hashes[made], "a real hash")
	must(t, err)
	if hash, _ := db.PasswordHash(ctx, p.ID); hash != "a real hash" {
		t.Fatalf("password hash %q after the link", hash)
	}
}

// TestResetPasswordByOperator: the operator's link kills the older ones,
// including one asked for by email, expires as a reset does, and an
// unknown address changes nothing.
func TestResetPasswordByOperator(t *testing.T) {
	db, dsn := newDBWithPath(t)
	ada, _ := newOwner(t, db, "Ada", "L", "ada@example.com")
	grace, _ := newOwner(t, db, "Grace", "H", "grace@example.com")
	byEmail, gracesOwn := newTokenHash(t), newTokenHash(t)
	must(t, db.CreatePasswordReset(ctx, ada.ID, byEmail, mailTo("ada@example.com", "Reset")))
	must(t, db.CreatePasswordReset(ctx, grace.ID, gracesOwn, mailTo("grace@example.com", "Reset")))
	first, second := newTokenHash(t), newTokenHash(t)
	p, expires, err := db.ResetPasswordByOperator(ctx, "ada@example.com", first)
	must(t, err)
	if p.ID != ada.ID || !expires.Equal(t0.Add(store.PasswordResetLifetime)) {
		t.Fatalf("profile %d, expires %v", p.ID, expires)
	}
	_, _, err = db.ResetPasswordByOperator(ctx, "ada@example.com", second)
	must(t, err)
	for _, gone := range [][]byte{byEmail, first} {
		_, err := db.FindPasswordReset(ctx, gone)
		wantCode(t, err, switchboard.EGONE)
	}
	if _, err := db.FindPasswordReset(ctx, gracesOwn); err != nil {
		t.Fatalf("another profile's reset died: %v", err)
	}
	setNow(db, t0.Add(store.PasswordResetLifetime))
	_, err = db.FindPasswordReset(ctx, second)
	wantCode(t, err, switchboard.EGONE)
	setNow(db, t0)
	if _, err := db.ResetPassword(ctx, second, "new hash"); err != nil {
		t.Fatal(err)
	}
	_, _, err = db.ResetPasswordByOperator(ctx, "nobody@example.com", newTokenHash(t))
	wantCode(t, err, switchboard.ENOTFOUND)
	if n := count(t, rawDB(t, dsn), `SELECT COUNT(*) FROM profile_events WHERE action = ?`, switchboard.EventPasswordResetLink); n != 2 {
		t.Fatalf("%d events, want 2", n)
	}
}

// TestDisableTwoFactorByOperator: secret, recovery codes and waiting
// logins go, the auth epoch moves on (sessions end), one event; a profile
// without two-factor is refused with nothing changed.
func TestDisableTwoFactorByOperator(t *testing.T) {
	db, dsn := newDBWithPath(t)
	ada, _ := newOwner(t, db, "Ada", "L", "ada@example.com")
	grace, _ := newOwner(t, db, "Grace", "H", "grace@example.com")
	raw := rawDB(t, dsn)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := raw.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`UPDATE profiles SET totp_secret = 'sealed', totp_since = 1 WHERE id = ?`, ada.ID)
	for i, who := range []int64{ada.ID, ada.ID, grace.ID} {
		exec(`INSERT INTO recovery_codes (profile_id, code_hash, created_at) VALUES (?, ?, 1)`, who, newTokenHash(t))
		exec(`INSERT INTO login_challenges (token_hash, profile_id, created_at, expires_at) VALUES (?, ?, 1, ?)`, newTokenHash(t), who, int64(i)+1)
	}
	before, err := db.FindProfile(ctx, ada.ID)
	must(t, err)
	if !before.TwoFactor {
		t.Fatal("two-factor is not on before")
	}
	p, err := db.DisableTwoFactorByOperator(ctx, "ada@example.com")
	must(t, err)
	after, err := db.FindProfile(ctx, ada.ID)
	must(t, err)
	if after.TwoFactor || p.TwoFactor || after.AuthEpoch != before.AuthEpoch+1 || p.AuthEpoch != after.AuthEpoch {
		t.Fatalf("after %+v, returned %+v", after, p)
	}
	for q, want := range map[string]int{
		`SELECT COUNT(*) FROM profiles WHERE id = ? AND totp_secret = '' AND totp_since IS NULL`:                                                 1,
		`SELECT COUNT(*) FROM recovery_codes WHERE profile_id = ?`:                                                                               0,
		`SELECT COUNT(*) FROM login_challenges WHERE profile_id = ?`:                                                                             0,
		`SELECT COUNT(*) FROM profile_events WHERE profile_id = ? AND action = 'two_factor.disabled' AND actor_name = 'Operator (command line)'`: 1,
	} {
		if n := count(t, raw, q, ada.ID); n != want {
			t.Errorf("%s: %d, want %d", q, n, want)
		}
	}
	if count(t, raw, `SELECT COUNT(*) FROM recovery_codes WHERE profile_id = ?`, grace.ID) != 1 || count(t, raw, `SELECT COUNT(*) FROM login_challenges WHERE profile_id = ?`, grace.ID) != 1 {
		t.Fatal("another profile's codes or logins were deleted")
	}
	_, err = db.DisableTwoFactorByOperator(ctx, "ada@example.com")
	wantCode(t, err, switchboard.ECONFLICT)
	if again, _ := db.FindProfile(ctx, ada.ID); again.AuthEpoch != after.AuthEpoch {
		t.Fatal("a refused command ended sessions")
	}
	_, err = db.DisableTwoFactorByOperator(ctx, "nobody@example.com")
	wantCode(t, err, switchboard.ENOTFOUND)
}

// BenchmarkOperatorCommands measures the operator's commands' store work
// in an organisation of a few members: set-owner back and forth, a reset
// link, a profile created.
func BenchmarkOperatorCommands(b *testing.B) {
	db, _ := newDBWithPath(b)
	olivia, org := newOwner(b, db, "Olivia", "Owner", "olivia@example.com")
	addMember(b, db, org, olivia, "Ada", "L", "ada@example.com", switchboard.BuiltinRole(switchboard.RoleAdministrator))
	b.Run("set-owner", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			email := "ada@example.com"
			if i%2 == 1 {
				email = "olivia@example.com"
			}
			i++
			if _, err := db.SetOwnerByOperator(ctx, org.ID, email); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reset-password", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := db.ResetPasswordByOperator(ctx, "ada@example.com", newTokenHash(b)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("create-profile", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			p := &switchboard.Profile{Email: fmt.Sprintf("person%d@example.com", i)}
			if _, err := db.CreateProfileByOperator(ctx, p, "unusable", newTokenHash(b)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
