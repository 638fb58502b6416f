package store_test

import (
	"slices"
	"testing"

	"switchboard"
	"switchboard/store"
)

func TestRequireTwoFactor(t *testing.T) {
	db := newDB(t)
	owner, org := newOwner(t, db, "Olivia", "Owner", "olivia@example.com")
	admin := addMember(t, db, org, owner, "Adam", "Admin", "adam@example.com", administrator)
	addMember(t, db, org, owner, "Sam", "Sender", "sam@example.com", sender)
	// Another organisation, whose members must not count here.
	rivalOwner, rival := newOwner(t, db, "Rita", "Rival", "rita@example.com")
	addMember(t, db, rival, rivalOwner, "Ron", "Rival", "ron@example.com", sender)
	twoFactorOn := func(p *switchboard.Profile) {
		t.Helper()
		must(t, db.ExecForTest(ctx, `UPDATE profiles SET totp_secret = 'sealed', totp_since = 1 WHERE id = ?`, p.ID))
	}

	t.Run("count of members without two-factor", func(t *testing.T) {
		wantWithout := func(orgID int64, want int) {
			t.Helper()
			n, err := db.CountMembersWithoutTwoFactor(ctx, orgID)
			must(t, err)
			if n != want {
				t.Errorf("organisation %d: %d members without two-factor, want %d", orgID, n, want)
			}
		}
		wantWithout(org.ID, 3)
		wantWithout(rival.ID, 2)
		twoFactorOn(owner)
		twoFactorOn(admin)
		wantWithout(org.ID, 1)
		wantWithout(rival.ID, 2)
		// A secret set up but not confirmed by a first code is not on.
		must(t, db.ExecForTest(ctx, `UPDATE profiles SET totp_secret = 'pending' WHERE id = ?`, rivalOwner.ID))
		wantWithout(rival.ID, 2)
	})

	t.Run("members list and membership read it", func(t *testing.T) {
		list, _, err := db.ListMembers(ctx, org.ID, "", store.MemberCursor{}, 50)
		must(t, err)
		on := map[string]bool{}
		for _, m := range list {
			on[m.Email] = m.TwoFactor
		}
		if !on["olivia@example.com"] || !on["adam@example.com"] || on["sam@example.com"] || len(on) != 3 {
			t.Errorf("two-factor by member: %v", on)
		}
		found, _, err := db.ListMembers(ctx, org.ID, "adam", store.MemberCursor{}, 50)
		must(t, err)
		if len(found) != 1 || !found[0].TwoFactor {
			t.Errorf("search: %+v", found)
		}
		if !findMember(t, db, org.ID, admin.ID).TwoFactor {
			t.Error("FindMember does not read two-factor")
		}
	})

	t.Run("set, audited once per change", func(t *testing.T) {
		must(t, db.SetRequireTwoFactor(ctx, actorOf(owner), org.ID, true))
		must(t, db.SetRequireTwoFactor(ctx, actorOf(owner), org.ID, true)) // no change, no entry
		m, err := db.FindMembership(ctx, org.ID, owner.ID)
		must(t, err)
		if !m.Org.RequireTwoFactor {
			t.Fatal("not required")
		}
		if r, err := db.FindMembership(ctx, rival.ID, rivalOwner.ID); err != nil || r.Org.RequireTwoFactor {
			t.Fatalf("the other organisation changed too: %+v, %v", r, err)
		}
		entries, _, err := db.ListAudit(ctx, org.ID, 0, 100)
		must(t, err)
		if e := entries[0]; e.Action != "organisation.two_factor_required" || e.Detail != "1" || e.ActorName != "Olivia Owner" {
			t.Errorf("newest audit line %+v", e)
		}
		if n := len(slices.DeleteFunc(auditActions(t, db, org.ID), func(a string) bool { return a != "organisation.two_factor_required" })); n != 1 {
			t.Errorf("%d audit lines, want 1", n)
		}
		must(t, db.SetRequireTwoFactor(ctx, actorOf(owner), org.ID, false))
		m, err = db.FindMembership(ctx, org.ID, owner.ID)
		must(t, err)
		if m.Org.RequireTwoFactor {
			t.Fatal("still required")
		}
		if !hasAction(t, db, org.ID, "organisation.two_factor_not_required") || hasAction(t, db, rival.ID, "organisation.two_factor_not_required") {
			t.Error("turning it off is not audited in its own organisation only")
		}
	})
}
