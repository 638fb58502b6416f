package store_test

import (
	"crypto/sha256"
	"sync"
	"testing"

	"switchboard"
	"switchboard/store"
)

func recoveryHashes(codes ...string) [][]byte {
	var list [][]byte
	for _, c := range codes {
		h := sha256.Sum256([]byte(c))
		list = append(list, h[:])
	}
	return list
}

// enableTwoFactor turns two-factor on for p with the sealed secret "sealed",
// confirmed at step 100, and the recovery codes "r0" and "r1".
func enableTwoFactor(tb testing.TB, db *store.DB, p *switchboard.Profile) int64 {
	tb.Helper()
	must(tb, db.SetPendingTwoFactor(ctx, p.ID, "sealed"))
	epoch, err := db.EnableTwoFactor(ctx, p.ID, "sealed", 100, recoveryHashes("r0", "r1"), actorOf(p))
	must(tb, err)
	return epoch
}

func TestTwoFactorEnableDisable(t *testing.T) {
	db, dsn := newDBWithPath(t)
	raw := rawDB(t, dsn)
	p, _ := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")

	must(t, db.SetPendingTwoFactor(ctx, p.ID, "first"))
	must(t, db.SetPendingTwoFactor(ctx, p.ID, "second")) // starting again replaces it
	if s, _ := db.FindTwoFactorSecret(ctx, p.ID); s.Sealed != "second" || s.On {
		t.Fatalf("pending secret = %+v", s)
	}
	if got, _ := db.FindProfile(ctx, p.ID); got.TwoFactor {
		t.Fatal("two-factor on before a first code")
	}
	// A confirmation of a secret replaced meanwhile (another tab) is refused.
	_, err := db.EnableTwoFactor(ctx, p.ID, "first", 100, recoveryHashes("a"), actorOf(p))
	wantCode(t, err, switchboard.ECONFLICT)

	epoch, err := db.EnableTwoFactor(ctx, p.ID, "second", 100, recoveryHashes("r0", "r1"), actorOf(p))
	must(t, err)
	got, _ := db.FindProfile(ctx, p.ID)
	if !got.TwoFactor || epoch != p.AuthEpoch+1 || got.AuthEpoch != epoch {
		t.Fatalf("after enabling: TwoFactor=%v epoch=%d (was %d)", got.TwoFactor, got.AuthEpoch, p.AuthEpoch)
	}
	if n, _ := db.RecoveryCodesLeft(ctx, p.ID); n != 2 {
		t.Errorf("recovery codes left = %d", n)
	}
	// The secret in use is never replaced by a new set-up.
	wantCode(t, db.SetPendingTwoFactor(ctx, p.ID, "third"), switchboard.ECONFLICT)
	_, err = db.EnableTwoFactor(ctx, p.ID, "second", 101, nil, actorOf(p))
	wantCode(t, err, switchboard.ECONFLICT)

	must(t, db.RegenerateRecoveryCodes(ctx, p.ID, recoveryHashes("n0", "n1", "n2"), actorOf(p)))
	if ok, _ := db.UseRecoveryCode(ctx, p.ID, recoveryHashes("r0")[0], actorOf(p)); ok {
		t.Error("an old recovery code worked after regenerating")
	}
	if n, _ := db.RecoveryCodesLeft(ctx, p.ID); n != 3 {
		t.Errorf("recovery codes left after regenerating = %d", n)
	}

	epoch2, err := db.DisableTwoFactor(ctx, p.ID, actorOf(p))
	must(t, err)
	got, _ = db.FindProfile(ctx, p.ID)
	if got.TwoFactor || epoch2 != epoch+1 {
		t.Errorf("after disabling: TwoFactor=%v epoch=%d", got.TwoFactor, epoch2)
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM recovery_codes WHERE profile_id = ?`, p.ID); n != 0 {
		t.Errorf("%d recovery codes left after disabling", n)
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM profiles WHERE id = ? AND totp_secret = ''`, p.ID); n != 1 {
		t.Error("the secret was kept after disabling")
	}
	_, err = db.DisableTwoFactor(ctx, p.ID, actorOf(p))
	wantCode(t, err, switchboard.ECONFLICT)
	wantCode(t, db.RegenerateRecoveryCodes(ctx, p.ID, nil, actorOf(p)), switchboard.ECONFLICT)

	events, err := db.ListProfileEvents(ctx, p.ID, 10)
	must(t, err)
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action)
	}
	want := []string{switchboard.EventTwoFactorDisabled, switchboard.EventRecoveryRegenerated, switchboard.EventTwoFactorEnabled}
	if len(actions) != len(want) {
		t.Fatalf("events = %v, want %v", actions, want)
	}
	for i := range want {
		if actions[i] != want[i] {
			t.Fatalf("events = %v, want %v", actions, want)
		}
	}
	if events[0].ActorName != actorOf(p).Name {
		t.Errorf("event actor = %q", events[0].ActorName)
	}
	// Another profile's events are not listed.
	q, _ := newOwner(t, db, "Grace", "Hopper", "grace@example.com")
	if list, _ := db.ListProfileEvents(ctx, q.ID, 10); len(list) != 0 {
		t.Errorf("another profile sees %d events", len(list))
	}
}

func TestTwoFactorStepAcceptedOnce(t *testing.T) {
	db := newDB(t)
	p, _ := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	if ok, _ := db.AcceptTwoFactorStep(ctx, p.ID, 500); ok {
		t.Fatal("a step was accepted with two-factor off")
	}
	enableTwoFactor(t, db, p) // step 100 used by the first code
	for _, tc := range []struct {
		step int64
		ok   bool
	}{{100, false}, {99, false}, {101, true}, {101, false}, {103, true}, {102, false}} {
		ok, err := db.AcceptTwoFactorStep(ctx, p.ID, tc.step)
		must(t, err)
		if ok != tc.ok {
			t.Errorf("step %d: accepted = %v, want %v", tc.step, ok, tc.ok)
		}
	}

	// Many requests with the same code at once: exactly one passes.
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := db.AcceptTwoFactorStep(ctx, p.ID, 200)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				accepted++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if accepted != 1 {
		t.Errorf("the same step was accepted %d times", accepted)
	}
}

func TestRecoveryCodeUsedOnce(t *testing.T) {
	db := newDB(t)
	p, _ := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	q, _ := newOwner(t, db, "Grace", "Hopper", "grace@example.com")
	enableTwoFactor(t, db, p)
	if ok, _ := db.UseRecoveryCode(ctx, q.ID, recoveryHashes("r0")[0], actorOf(q)); ok {
		t.Error("another profile used p's recovery code")
	}
	if ok, _ := db.UseRecoveryCode(ctx, p.ID, recoveryHashes("r0")[0], actorOf(p)); !ok {
		t.Fatal("a recovery code did not work")
	}
	if ok, _ := db.UseRecoveryCode(ctx, p.ID, recoveryHashes("r0")[0], actorOf(p)); ok {
		t.Error("a recovery code worked twice")
	}
	if n, _ := db.RecoveryCodesLeft(ctx, p.ID); n != 1 {
		t.Errorf("left = %d", n)
	}
	events, _ := db.ListProfileEvents(ctx, p.ID, 1)
	if len(events) != 1 || events[0].Action != switchboard.EventRecoveryCodeUsed || events[0].Detail != "1 left" {
		t.Errorf("event = %+v", events)
	}
}

func TestLoginChallenge(t *testing.T) {
	db, dsn := newDBWithPath(t)
	raw := rawDB(t, dsn)
	p, _ := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	enableTwoFactor(t, db, p)

	t.Run("complete with a code once", func(t *testing.T) {
		h := newTokenHash(t)
		must(t, db.CreateLoginChallenge(ctx, h, p.ID, "/orgs/1/members", "192.0.2.1"))
		ch, err := db.FindLoginChallenge(ctx, h)
		if err != nil || ch.ProfileID != p.ID || ch.Next != "/orgs/1/members" {
			t.Fatalf("challenge = %+v, %v", ch, err)
		}
		// A used step: nothing happens, the challenge stays.
		_, err = db.CompleteLoginChallenge(ctx, h, 100)
		if err != store.ErrCodeUsed {
			t.Fatalf("replayed step: err = %v", err)
		}
		if _, err := db.FindLoginChallenge(ctx, h); err != nil {
			t.Fatal("a refused code ended the challenge")
		}
		ch, err = db.CompleteLoginChallenge(ctx, h, 300)
		if err != nil || ch.ProfileID != p.ID {
			t.Fatalf("complete = %+v, %v", ch, err)
		}
		_, err = db.CompleteLoginChallenge(ctx, h, 301)
		wantCode(t, err, switchboard.EGONE)
		if n := count(t, raw, `SELECT COUNT(*) FROM login_challenges`); n != 0 {
			t.Errorf("%d challenges left", n)
		}
	})
	t.Run("recovery code", func(t *testing.T) {
		h := newTokenHash(t)
		must(t, db.CreateLoginChallenge(ctx, h, p.ID, "", ""))
		if _, err := db.CompleteLoginWithRecoveryCode(ctx, h, recoveryHashes("nope")[0], actorOf(p)); err != store.ErrRecoveryCodeWrong {
			t.Fatalf("wrong recovery code: %v", err)
		}
		if _, err := db.CompleteLoginWithRecoveryCode(ctx, h, recoveryHashes("r1")[0], actorOf(p)); err != nil {
			t.Fatal(err)
		}
		h2 := newTokenHash(t)
		must(t, db.CreateLoginChallenge(ctx, h2, p.ID, "", ""))
		if _, err := db.CompleteLoginWithRecoveryCode(ctx, h2, recoveryHashes("r1")[0], actorOf(p)); err != store.ErrRecoveryCodeWrong {
			t.Fatalf("a recovery code worked twice: %v", err)
		}
	})
	t.Run("wrong codes kill it", func(t *testing.T) {
		h := newTokenHash(t)
		must(t, db.CreateLoginChallenge(ctx, h, p.ID, "", ""))
		for i := store.MaxChallengeAttempts - 1; i >= 0; i-- {
			left, err := db.FailLoginChallenge(ctx, h)
			if err != nil || left != i {
				t.Fatalf("left = %d, %v; want %d", left, err, i)
			}
		}
		_, err := db.FindLoginChallenge(ctx, h)
		wantCode(t, err, switchboard.EGONE)
		_, err = db.CompleteLoginChallenge(ctx, h, 400)
		wantCode(t, err, switchboard.EGONE)
	})
	t.Run("expires", func(t *testing.T) {
		h := newTokenHash(t)
		must(t, db.CreateLoginChallenge(ctx, h, p.ID, "", ""))
		setNow(db, t0.Add(store.LoginChallengeLifetime))
		defer setNow(db, t0)
		_, err := db.FindLoginChallenge(ctx, h)
		wantCode(t, err, switchboard.EGONE)
		_, err = db.CompleteLoginChallenge(ctx, h, 500)
		wantCode(t, err, switchboard.EGONE)
	})
}
