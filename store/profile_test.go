package store_test

import (
	"testing"
	"time"

	"switchboard"
	"switchboard/store"
)

func TestProfiles(t *testing.T) {
	t.Run("email is unique regardless of case and spaces", func(t *testing.T) {
		db, path := newDBWithPath(t)
		p, _ := newOwner(t, db, "Ann", "Lee", "  Ann@Example.com ")
		if p.Email != "ann@example.com" {
			t.Fatalf("stored email %q, want ann@example.com", p.Email)
		}
		for _, email := range []string{"ann@example.com", "ANN@EXAMPLE.COM", "  ann@Example.Com\t"} {
			q := &switchboard.Profile{Email: email, FirstName: "Other", LastName: "Ann"}
			err := db.CreateProfileWithOrganisation(ctx, q, "hash", &switchboard.Organisation{Name: "Duplicate"})
			wantCode(t, err, switchboard.ECONFLICT)
			if switchboard.Fields(err)["email"] == "" {
				t.Errorf("%q: no field error on email: %#v", email, err)
			}
		}
		raw := rawDB(t, path)
		if n := count(t, raw, `SELECT COUNT(*) FROM profiles`); n != 1 {
			t.Errorf("%d profiles, want 1", n)
		}
		if n := count(t, raw, `SELECT COUNT(*) FROM organisations WHERE name = 'Duplicate'`); n != 0 {
			t.Errorf("a refused sign-up left %d organisations behind", n)
		}
	})

	t.Run("find by email in any case", func(t *testing.T) {
		db := newDB(t)
		p, _ := newOwner(t, db, "Bea", "Ng", "bea@example.com")
		newOwner(t, db, "Cal", "Ng", "cal@example.com")
		for _, email := range []string{"bea@example.com", "BEA@EXAMPLE.COM", " Bea@Example.com "} {
			got, hash, err := db.FindProfileByEmail(ctx, email)
			must(t, err)
			if got.ID != p.ID || got.Email != "bea@example.com" || hash != "hash of bea@example.com" {
				t.Errorf("%q: found %+v with hash %q", email, got, hash)
			}
		}
		_, _, err := db.FindProfileByEmail(ctx, "nobody@example.com")
		wantCode(t, err, switchboard.ENOTFOUND)
	})

	t.Run("find by id", func(t *testing.T) {
		db := newDB(t)
		p, org := newOwner(t, db, "Bea", "Ng", "bea@example.com")
		got, err := db.FindProfile(ctx, p.ID)
		must(t, err)
		if got.Email != p.Email || got.FirstName != "Bea" || got.AuthEpoch != 1 || got.LastOrgID != org.ID ||
			got.Language != "en" || got.TimeZone != "UTC" || !got.CreatedAt.Equal(t0) {
			t.Errorf("found %+v", got)
		}
		_, err = db.FindProfile(ctx, p.ID+1000)
		wantCode(t, err, switchboard.ENOTFOUND)
	})

	t.Run("update", func(t *testing.T) {
		db := newDB(t)
		p, org := newOwner(t, db, "Ann", "Lee", "ann@example.com")
		p.FirstName, p.LastName, p.Language, p.TimeZone = "Anna", "Lindqvist", "fr", "Europe/Paris"
		must(t, db.UpdateProfile(ctx, p))
		got, err := db.FindProfile(ctx, p.ID)
		must(t, err)
		if got.FirstName != "Anna" || got.LastName != "Lindqvist" || got.Language != "fr" || got.TimeZone != "Europe/Paris" || got.Email != "ann@example.com" {
			t.Errorf("after update: %+v", got)
		}
		// The members page sorts and searches by the new name.
		list, _, err := db.ListMembers(ctx, org.ID, "lindqvist", store.MemberCursor{}, 10)
		must(t, err)
		if len(list) != 1 || list[0].ProfileID != p.ID || list[0].FirstName != "Anna" {
			t.Errorf("search for the new name: %+v", list)
		}

		ghost := *p
		ghost.ID = p.ID + 1000
		wantCode(t, db.UpdateProfile(ctx, &ghost), switchboard.ENOTFOUND)
	})

	t.Run("set password moves the epoch and kills resets", func(t *testing.T) {
		db := newDB(t)
		p, _ := newOwner(t, db, "Ann", "Lee", "ann@example.com")
		q, _ := newOwner(t, db, "Bob", "Lee", "bob@example.com")
		reset := newTokenHash(t)
		must(t, db.CreatePasswordReset(ctx, p.ID, reset, mailTo(p.Email, "Reset")))
		other := newTokenHash(t)
		must(t, db.CreatePasswordReset(ctx, q.ID, other, mailTo(q.Email, "Reset")))

		epoch, err := db.SetPassword(ctx, p.ID, "new hash")
		must(t, err)
		if epoch != p.AuthEpoch+1 {
			t.Errorf("new epoch %d, want %d", epoch, p.AuthEpoch+1)
		}
		got, err := db.FindProfile(ctx, p.ID)
		must(t, err)
		if got.AuthEpoch != epoch {
			t.Errorf("stored epoch %d, want %d", got.AuthEpoch, epoch)
		}
		hash, err := db.PasswordHash(ctx, p.ID)
		must(t, err)
		if hash != "new hash" {
			t.Errorf("password hash %q", hash)
		}
		_, err = db.FindPasswordReset(ctx, reset)
		wantCode(t, err, switchboard.EGONE)
		_, err = db.ResetPassword(ctx, reset, "attacker's hash")
		wantCode(t, err, switchboard.EGONE)

		// Another profile's reset is not touched.
		if id, err := db.FindPasswordReset(ctx, other); err != nil || id != q.ID {
			t.Errorf("other profile's reset: %d, %v", id, err)
		}
		_, err = db.SetPassword(ctx, p.ID+1000, "x")
		wantCode(t, err, switchboard.ENOTFOUND)
	})

	t.Run("new auth epoch", func(t *testing.T) {
		db := newDB(t)
		p, _ := newOwner(t, db, "Ann", "Lee", "ann@example.com")
		for want := int64(2); want <= 3; want++ {
			epoch, err := db.NewAuthEpoch(ctx, p.ID)
			must(t, err)
			if epoch != want {
				t.Fatalf("epoch %d, want %d", epoch, want)
			}
		}
		got, err := db.FindProfile(ctx, p.ID)
		must(t, err)
		if got.AuthEpoch != 3 {
			t.Errorf("stored epoch %d, want 3", got.AuthEpoch)
		}
		if hash, _ := db.PasswordHash(ctx, p.ID); hash != "hash of ann@example.com" {
			t.Errorf("the password changed: %q", hash)
		}
		_, err = db.NewAuthEpoch(ctx, p.ID+1000)
		wantCode(t, err, switchboard.ENOTFOUND)
	})

	t.Run("last organisation", func(t *testing.T) {
		db := newDB(t)
		p, first := newOwner(t, db, "Ann", "Lee", "ann@example.com")
		second := &switchboard.Organisation{Name: "Second"}
		must(t, db.CreateOrganisation(ctx, p, second))
		if got, _ := db.FindProfile(ctx, p.ID); got.LastOrgID != second.ID {
			t.Errorf("last organisation %d after creating %d", got.LastOrgID, second.ID)
		}
		must(t, db.SetLastOrganisation(ctx, p.ID, first.ID))
		if got, _ := db.FindProfile(ctx, p.ID); got.LastOrgID != first.ID {
			t.Errorf("last organisation %d, want %d", got.LastOrgID, first.ID)
		}
	})
}

func TestPasswordResets(t *testing.T) {
	setup := func(t *testing.T) (*store.DB, *switchboard.Profile) {
		db := newDB(t)
		p, _ := newOwner(t, db, "Ann", "Lee", "ann@example.com")
		return db, p
	}
	newReset := func(t *testing.T, db *store.DB, p *switchboard.Profile) []byte {
		t.Helper()
		hash := newTokenHash(t)
		must(t, db.CreatePasswordReset(ctx, p.ID, hash, mailTo(p.Email, "Reset your password")))
		return hash
	}

	t.Run("found while valid", func(t *testing.T) {
		db, p := setup(t)
		hash := newReset(t, db, p)
		setNow(db, t0.Add(store.PasswordResetLifetime-1))
		id, err := db.FindPasswordReset(ctx, hash)
		must(t, err)
		if id != p.ID {
			t.Errorf("profile %d, want %d", id, p.ID)
		}
		_, err = db.FindPasswordReset(ctx, newTokenHash(t))
		wantCode(t, err, switchboard.EGONE)
	})

	t.Run("expired is gone", func(t *testing.T) {
		db, p := setup(t)
		hash := newReset(t, db, p)
		for _, after := range []int64{0, 1, 3600} {
			setNow(db, t0.Add(store.PasswordResetLifetime).Add(time.Duration(after)*time.Second))
			_, err := db.FindPasswordReset(ctx, hash)
			wantCode(t, err, switchboard.EGONE)
			_, err = db.ResetPassword(ctx, hash, "new hash")
			wantCode(t, err, switchboard.EGONE)
		}
		if hash, _ := db.PasswordHash(ctx, p.ID); hash != "hash of ann@example.com" {
			t.Errorf("an expired reset changed the password to %q", hash)
		}
		if got, _ := db.FindProfile(ctx, p.ID); got.AuthEpoch != 1 {
			t.Errorf("an expired reset moved the epoch to %d", got.AuthEpoch)
		}
	})

	t.Run("works once", func(t *testing.T) {
		db, p := setup(t)
		hash := newReset(t, db, p)
		got, err := db.ResetPassword(ctx, hash, "new hash")
		must(t, err)
		if got.ID != p.ID || got.AuthEpoch != 2 {
			t.Errorf("reset returned %+v", got)
		}
		if h, _ := db.PasswordHash(ctx, p.ID); h != "new hash" {
			t.Errorf("password hash %q", h)
		}
		_, err = db.ResetPassword(ctx, hash, "second hash")
		wantCode(t, err, switchboard.EGONE)
		if h, _ := db.PasswordHash(ctx, p.ID); h != "new hash" {
			t.Errorf("a used token changed the password to %q", h)
		}
	})

	t.Run("a reset kills the other tokens", func(t *testing.T) {
		db, p := setup(t)
		q, _ := newOwner(t, db, "Bob", "Lee", "bob@example.com")
		first, second, third := newReset(t, db, p), newReset(t, db, p), newReset(t, db, p)
		others := newReset(t, db, q)
		_, err := db.ResetPassword(ctx, second, "new hash")
		must(t, err)
		for _, hash := range [][]byte{first, third} {
			_, err := db.FindPasswordReset(ctx, hash)
			wantCode(t, err, switchboard.EGONE)
			_, err = db.ResetPassword(ctx, hash, "attacker's hash")
			wantCode(t, err, switchboard.EGONE)
		}
		if id, err := db.FindPasswordReset(ctx, others); err != nil || id != q.ID {
			t.Errorf("another profile's token: %d, %v", id, err)
		}
	})

	t.Run("the email lands in the outbox", func(t *testing.T) {
		db, p := setup(t)
		newReset(t, db, p)
		emails, err := db.DueEmails(ctx, t0, 10)
		must(t, err)
		if len(emails) != 1 || emails[0].To != p.Email || emails[0].Subject != "Reset your password" || emails[0].ID == 0 {
			t.Fatalf("outbox: %+v", emails)
		}
	})

	t.Run("a reset for a profile that does not exist queues nothing", func(t *testing.T) {
		db, p := setup(t)
		err := db.CreatePasswordReset(ctx, p.ID+1000, newTokenHash(t), mailTo("x@example.com", "Reset"))
		if err == nil {
			t.Fatal("a reset for a missing profile was stored")
		}
		if to := dueTo(t, db, t0); len(to) != 0 {
			t.Errorf("outbox: %v", to)
		}
	})
}
