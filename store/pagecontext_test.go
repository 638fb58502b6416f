package store_test

import (
	"reflect"
	"testing"

	"switchboard"
)

// TestFindProfileWithMemberships: the one query a request reads its
// profile, authorization and switcher with says what FindProfile,
// FindMembership and ListMemberships say, and nothing of anyone else.
func TestFindProfileWithMemberships(t *testing.T) {
	db := newDB(t)
	ada, acme := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	grace, zeta := newOwner(t, db, "Grace", "Hopper", "grace@example.com")
	must(t, db.UpdateOrganisation(ctx, actorOf(grace), &switchboard.Organisation{ID: zeta.ID, Name: "alpha"}))
	must(t, db.SetOwnerOnlyMembers(ctx, actorOf(grace), zeta.ID, true))
	auditor := newRole(t, db, grace, zeta.ID, "Auditor", switchboard.PermMembers)
	addExisting(t, db, zeta, grace, ada, *auditor)
	bob, beta := newOwner(t, db, "Bob", "Builder", "bob@example.com")
	addExisting(t, db, beta, bob, ada, switchboard.BuiltinRole(switchboard.RoleSender))

	t.Run("the profile and every membership, as read apart", func(t *testing.T) {
		p, list, err := db.FindProfileWithMemberships(ctx, ada.ID)
		must(t, err)
		want, err := db.FindProfile(ctx, ada.ID)
		must(t, err)
		if !reflect.DeepEqual(p, want) {
			t.Errorf("profile = %+v, want %+v", p, want)
		}
		orgs, err := db.ListMemberships(ctx, ada.ID)
		must(t, err)
		if len(list) != len(orgs) || len(list) != 3 {
			t.Fatalf("%d memberships, ListMemberships %d, want 3", len(list), len(orgs))
		}
		for i, m := range list {
			if m.Org.ID != orgs[i].ID {
				t.Errorf("membership %d is organisation %d, ListMemberships has %d there", i, m.Org.ID, orgs[i].ID)
			}
			apart, err := db.FindMembership(ctx, m.Org.ID, ada.ID)
			must(t, err)
			if !reflect.DeepEqual(m.Org, apart.Org) || !reflect.DeepEqual(m.Member, apart.Member) {
				t.Errorf("membership of organisation %d = %+v %+v, FindMembership says %+v %+v", m.Org.ID, m.Org, m.Member, apart.Org, apart.Member)
			}
		}
		// "alpha" sorts between "Ada's company" and "Bob's company", in
		// any case, as the switcher lists them.
		if z := list[1]; z.Org.ID != zeta.ID || !z.Org.OwnerOnlyMembers || z.Member.Role.ID != auditor.ID || z.Can(switchboard.PermMembers) {
			t.Errorf("alpha = %+v %+v: want the custom role, owner-only members, so no Members section", z.Org, z.Member)
		}
		if list[0].Org.ID != acme.ID || !list[0].IsOwner() {
			t.Errorf("first = %+v, want Ada's company, owned", list[0].Org)
		}
		for _, m := range list {
			if wantRoles, wantPending := m.Org.ID == zeta.ID, false; m.HasCustomRoles != wantRoles || m.HasPending != wantPending {
				t.Errorf("organisation %d: custom roles %v, pending %v; want %v, %v", m.Org.ID, m.HasCustomRoles, m.HasPending, wantRoles, wantPending)
			}
		}
	})

	t.Run("what each organisation holds, as it is now", func(t *testing.T) {
		inv, _ := invite(t, db, beta, bob, "new@example.com", switchboard.BuiltinRole(switchboard.RoleSender))
		_, list, err := db.FindProfileWithMemberships(ctx, ada.ID)
		must(t, err)
		if b := list[2]; b.Org.ID != beta.ID || !b.HasPending || b.HasCustomRoles {
			t.Errorf("Bob's company: pending %v, custom roles %v; want an invitation pending and no role", b.HasPending, b.HasCustomRoles)
		}
		must(t, db.CancelInvitation(ctx, actorOf(bob), beta.ID, inv.ID))
		_, list, err = db.FindProfileWithMemberships(ctx, ada.ID)
		must(t, err)
		if list[2].HasPending {
			t.Error("a cancelled invitation still counts as pending")
		}
	})

	t.Run("a profile in no organisation", func(t *testing.T) {
		must(t, db.DeleteOrganisation(ctx, acme.ID))
		must(t, db.RemoveMember(ctx, actorOf(ada), zeta.ID, findMember(t, db, zeta.ID, ada.ID), "member.left"))
		must(t, db.RemoveMember(ctx, actorOf(ada), beta.ID, findMember(t, db, beta.ID, ada.ID), "member.left"))
		p, list, err := db.FindProfileWithMemberships(ctx, ada.ID)
		must(t, err)
		if p.ID != ada.ID || p.Email != "ada@example.com" || len(list) != 0 {
			t.Errorf("profile %+v with %d memberships, want Ada with none", p, len(list))
		}
	})

	t.Run("missing", func(t *testing.T) {
		_, _, err := db.FindProfileWithMemberships(ctx, 999999)
		wantCode(t, err, switchboard.ENOTFOUND)
	})
}
