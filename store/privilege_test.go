package store_test

import (
	"sync"
	"testing"

	"switchboard"
	"switchboard/store"
)

// privilegeEpoch reads a profile's privilege epoch.
func privilegeEpoch(tb testing.TB, db *store.DB, id int64) int64 {
	tb.Helper()
	p, err := db.FindProfile(ctx, id)
	must(tb, err)
	return p.PrivilegeEpoch
}

// An actor's own role is read again inside the transaction that acts: a
// member demoted after their page was loaded can no longer change roles,
// revoke, invite, resend or cancel, whatever the handler read before.
func TestActorRoleRecheckedInsideTransaction(t *testing.T) {
	setup := func(t *testing.T) (*store.DB, *switchboard.Profile, *switchboard.Organisation, *switchboard.Profile, *switchboard.Profile) {
		db := newDB(t)
		owner, org := newOwner(t, db, "Olivia", "Owner", "olivia@example.com")
		a := addMember(t, db, org, owner, "Ada", "Admin", "ada@example.com", administrator)
		b := addMember(t, db, org, owner, "Ben", "Admin", "ben@example.com", administrator)
		return db, owner, org, a, b
	}
	t.Run("two administrators demoting each other, one after the other", func(t *testing.T) {
		db, _, org, a, b := setup(t)
		// Both handlers read the other as an Administrator.
		aSeen, bSeen := findMember(t, db, org.ID, a.ID), findMember(t, db, org.ID, b.ID)
		must(t, db.ChangeRole(ctx, actorOf(a), org.ID, bSeen, sender))
		err := db.ChangeRole(ctx, actorOf(b), org.ID, aSeen, sender)
		wantCode(t, err, switchboard.EFORBIDDEN)
		if got := findMember(t, db, org.ID, a.ID); got.Role.Kind != switchboard.RoleAdministrator {
			t.Fatalf("the demoted Administrator still demoted the other: %s", got.Role.Kind)
		}
	})
	t.Run("in parallel, exactly one wins", func(t *testing.T) {
		for range 20 {
			db, _, org, a, b := setup(t)
			aSeen, bSeen := findMember(t, db, org.ID, a.ID), findMember(t, db, org.ID, b.ID)
			errs := make([]error, 2)
			var wg sync.WaitGroup
			wg.Go(func() { errs[0] = db.ChangeRole(ctx, actorOf(a), org.ID, bSeen, sender) })
			wg.Go(func() { errs[1] = db.ChangeRole(ctx, actorOf(b), org.ID, aSeen, sender) })
			wg.Wait()
			if (errs[0] == nil) == (errs[1] == nil) {
				t.Fatalf("want exactly one success, got %v", errs)
			}
		}
	})
	t.Run("a demoted member can no longer revoke, invite, resend or cancel", func(t *testing.T) {
		db, owner, org, a, b := setup(t)
		inv, _ := invite(t, db, org, a, "pending@example.com", sender)
		bSeen := findMember(t, db, org.ID, b.ID)
		must(t, db.ChangeRole(ctx, actorOf(owner), org.ID, findMember(t, db, org.ID, a.ID), sender))
		wantCode(t, db.RemoveMember(ctx, actorOf(a), org.ID, bSeen, "member.revoked"), switchboard.EFORBIDDEN)
		_, err := tryInvite(db, org, a, "new@example.com", sender, newTokenHash(t))
		wantCode(t, err, switchboard.EFORBIDDEN)
		wantCode(t, db.ResendInvitation(ctx, actorOf(a), org.ID, inv.ID, newTokenHash(t), mailTo(inv.Email, "Again")), switchboard.EFORBIDDEN)
		wantCode(t, db.CancelInvitation(ctx, actorOf(a), org.ID, inv.ID), switchboard.EFORBIDDEN)
		if findMember(t, db, org.ID, b.ID) == nil {
			t.Fatal("revoked")
		}
		// Leaving needs no role at all.
		must(t, db.RemoveMember(ctx, actorOf(a), org.ID, findMember(t, db, org.ID, a.ID), "member.left"))
	})
	t.Run("a profile that left cannot act", func(t *testing.T) {
		db, _, org, a, b := setup(t)
		bSeen := findMember(t, db, org.ID, b.ID)
		must(t, db.RemoveMember(ctx, actorOf(a), org.ID, findMember(t, db, org.ID, a.ID), "member.left"))
		wantCode(t, db.ChangeRole(ctx, actorOf(a), org.ID, bSeen, sender), switchboard.EFORBIDDEN)
	})
}

// The privilege epoch moves for exactly the profiles whose privileges
// changed.
func TestPrivilegeEpoch(t *testing.T) {
	db := newDB(t)
	owner, org := newOwner(t, db, "Olivia", "Owner", "olivia@example.com")
	a := addMember(t, db, org, owner, "Ada", "Admin", "ada@example.com", administrator)
	s := addMember(t, db, org, owner, "Sam", "Sender", "sam@example.com", sender)
	_, elsewhere := newOwner(t, db, "Eli", "Else", "eli@example.com")
	epochs := func() map[int64]int64 {
		return map[int64]int64{owner.ID: privilegeEpoch(t, db, owner.ID), a.ID: privilegeEpoch(t, db, a.ID), s.ID: privilegeEpoch(t, db, s.ID)}
	}
	wantMoved := func(t *testing.T, before map[int64]int64, moved ...int64) {
		t.Helper()
		after := epochs()
		for id, e := range before {
			want := e
			for _, m := range moved {
				if m == id {
					want = e + 1
				}
			}
			if after[id] != want {
				t.Errorf("profile %d: epoch %d → %d, want %d", id, e, after[id], want)
			}
		}
	}
	if privilegeEpoch(t, db, s.ID) != 2 {
		t.Fatalf("joining did not move the epoch: %d", privilegeEpoch(t, db, s.ID))
	}
	t.Run("role change", func(t *testing.T) {
		before := epochs()
		must(t, db.ChangeRole(ctx, actorOf(owner), org.ID, findMember(t, db, org.ID, s.ID), administrator))
		wantMoved(t, before, s.ID)
	})
	t.Run("custom role edited", func(t *testing.T) {
		r := newRole(t, db, owner, org.ID, "Auditor", switchboard.PermMembers)
		must(t, db.ChangeRole(ctx, actorOf(owner), org.ID, findMember(t, db, org.ID, s.ID), *r))
		before := epochs()
		r.Permissions = []switchboard.Permission{switchboard.PermOrganisation}
		must(t, db.UpdateRole(ctx, actorOf(owner), org.ID, r))
		wantMoved(t, before, s.ID)
	})
	t.Run("owner-only members", func(t *testing.T) {
		before := epochs()
		must(t, db.SetOwnerOnlyMembers(ctx, actorOf(owner), org.ID, true))
		wantMoved(t, before, owner.ID, a.ID, s.ID)
	})
	t.Run("transfer", func(t *testing.T) {
		before := epochs()
		must(t, db.TransferOwnership(ctx, actorOf(owner), org.ID, owner.ID, a.ID))
		wantMoved(t, before, owner.ID, a.ID)
	})
	t.Run("revoke", func(t *testing.T) {
		before := epochs()
		must(t, db.RemoveMember(ctx, actorOf(a), org.ID, findMember(t, db, org.ID, s.ID), "member.revoked"))
		wantMoved(t, before, s.ID)
	})
	t.Run("another organisation's changes", func(t *testing.T) {
		before := epochs()
		must(t, db.DeleteOrganisation(ctx, elsewhere.ID))
		wantMoved(t, before)
	})
}
