package store_test

import (
	"slices"
	"testing"

	"switchboard"
)

func TestRoles(t *testing.T) {
	t.Run("create, update, delete", func(t *testing.T) {
		db := newDB(t)
		owner, org := newOwner(t, db, "Olivia", "Owner", "olivia@example.com")
		r := newRole(t, db, owner, org.ID, "  Billing ", switchboard.PermInvoices, switchboard.PermCredits)
		if r.ID == 0 || r.Kind != switchboard.RoleCustom {
			t.Fatalf("created %+v", r)
		}
		got, err := db.FindRole(ctx, org.ID, r.ID)
		must(t, err)
		if got.Name != "Billing" || got.Kind != switchboard.RoleCustom ||
			!slices.Equal(got.Permissions, []switchboard.Permission{switchboard.PermInvoices, switchboard.PermCredits}) {
			t.Errorf("found %+v", got)
		}

		r.Name, r.Permissions = "Finance", []switchboard.Permission{switchboard.PermHistory}
		must(t, db.UpdateRole(ctx, actorOf(owner), org.ID, r))
		got, err = db.FindRole(ctx, org.ID, r.ID)
		must(t, err)
		if got.Name != "Finance" || !slices.Equal(got.Permissions, []switchboard.Permission{switchboard.PermHistory}) {
			t.Errorf("after update %+v", got)
		}
		list, err := db.ListRoles(ctx, org.ID)
		must(t, err)
		if len(list) != 1 || list[0].ID != r.ID || list[0].Name != "Finance" || list[0].Members != 0 || list[0].Invitations != 0 {
			t.Errorf("list %+v", list)
		}

		must(t, db.DeleteRole(ctx, actorOf(owner), org.ID, r.ID))
		_, err = db.FindRole(ctx, org.ID, r.ID)
		wantCode(t, err, switchboard.ENOTFOUND)
		wantCode(t, db.DeleteRole(ctx, actorOf(owner), org.ID, r.ID), switchboard.ENOTFOUND)
		if got, want := auditActions(t, db, org.ID), []string{"role.deleted", "role.updated", "role.created"}; !slices.Equal(got, want) {
			t.Errorf("audit %v, want %v", got, want)
		}
	})

	t.Run("a duplicate name is a conflict, in any case", func(t *testing.T) {
		db := newDB(t)
		owner, org := newOwner(t, db, "Olivia", "Owner", "olivia@example.com")
		otherOwner, otherOrg := newOwner(t, db, "Oscar", "Other", "oscar@example.com")
		newRole(t, db, owner, org.ID, "Billing", switchboard.PermInvoices)
		for _, name := range []string{"Billing", "BILLING", " billing "} {
			err := db.CreateRole(ctx, actorOf(owner), org.ID, &switchboard.Role{Name: name, Permissions: []switchboard.Permission{switchboard.PermHistory}})
			wantCode(t, err, switchboard.ECONFLICT)
			if switchboard.Fields(err)["name"] == "" {
				t.Errorf("%q: no field error on name", name)
			}
		}
		second := newRole(t, db, owner, org.ID, "Support", switchboard.PermHistory)
		renamed := *second
		renamed.Name = "bIlLiNg"
		wantCode(t, db.UpdateRole(ctx, actorOf(owner), org.ID, &renamed), switchboard.ECONFLICT)
		if got, _ := db.FindRole(ctx, org.ID, second.ID); got.Name != "Support" {
			t.Errorf("renamed to %q", got.Name)
		}
		// Another organisation has names of its own.
		newRole(t, db, otherOwner, otherOrg.ID, "Billing", switchboard.PermInvoices)
		if list, _ := db.ListRoles(ctx, org.ID); len(list) != 2 {
			t.Errorf("roles %+v", list)
		}
	})

	t.Run("a role held by a member cannot be deleted", func(t *testing.T) {
		db := newDB(t)
		owner, org := newOwner(t, db, "Olivia", "Owner", "olivia@example.com")
		r := newRole(t, db, owner, org.ID, "Billing", switchboard.PermInvoices)
		m := addMember(t, db, org, owner, "Bill", "Payer", "bill@example.com", *r)
		wantCode(t, db.DeleteRole(ctx, actorOf(owner), org.ID, r.ID), switchboard.ECONFLICT)
		if _, err := db.FindRole(ctx, org.ID, r.ID); err != nil {
			t.Fatalf("the role is gone: %v", err)
		}
		if list, _ := db.ListRoles(ctx, org.ID); len(list) != 1 || list[0].Members != 1 || list[0].Invitations != 0 {
			t.Errorf("usage %+v", list)
		}
		if got := findMember(t, db, org.ID, m.ID); got.Role.ID != r.ID {
			t.Errorf("member's role %+v", got.Role)
		}
		must(t, db.ChangeRole(ctx, actorOf(owner), org.ID, findMember(t, db, org.ID, m.ID), sender))
		must(t, db.DeleteRole(ctx, actorOf(owner), org.ID, r.ID))
	})

	t.Run("a role held by a pending invitation cannot be deleted", func(t *testing.T) {
		db := newDB(t)
		owner, org := newOwner(t, db, "Olivia", "Owner", "olivia@example.com")
		r := newRole(t, db, owner, org.ID, "Billing", switchboard.PermInvoices)
		inv, hash := invite(t, db, org, owner, "bill@example.com", *r)
		wantCode(t, db.DeleteRole(ctx, actorOf(owner), org.ID, r.ID), switchboard.ECONFLICT)
		if list, _ := db.ListRoles(ctx, org.ID); len(list) != 1 || list[0].Members != 0 || list[0].Invitations != 1 {
			t.Errorf("usage %+v", list)
		}
		if got, err := db.FindInvitationByToken(ctx, hash); err != nil || !got.Usable(t0) || got.Role.ID != r.ID {
			t.Errorf("the invitation after a refused delete: %+v, %v", got, err)
		}
		must(t, db.CancelInvitation(ctx, actorOf(owner), org.ID, inv.ID))
		must(t, db.DeleteRole(ctx, actorOf(owner), org.ID, r.ID))
		_, err := db.FindRole(ctx, org.ID, r.ID)
		wantCode(t, err, switchboard.ENOTFOUND)
	})

	t.Run("another organisation's role is not found", func(t *testing.T) {
		db := newDB(t)
		owner, org := newOwner(t, db, "Olivia", "Owner", "olivia@example.com")
		otherOwner, otherOrg := newOwner(t, db, "Oscar", "Other", "oscar@example.com")
		r := newRole(t, db, owner, org.ID, "Billing", switchboard.PermInvoices)

		_, errOther := db.FindRole(ctx, otherOrg.ID, r.ID)
		_, errMissing := db.FindRole(ctx, otherOrg.ID, r.ID+1000)
		wantCode(t, errOther, switchboard.ENOTFOUND)
		wantCode(t, errMissing, switchboard.ENOTFOUND)
		if errOther.Error() != errMissing.Error() {
			t.Errorf("another organisation's role %q and a missing one %q can be told apart", errOther, errMissing)
		}
		hijack := switchboard.Role{Kind: switchboard.RoleCustom, ID: r.ID, Name: "Hijacked", Permissions: []switchboard.Permission{switchboard.PermMembers}}
		wantCode(t, db.UpdateRole(ctx, actorOf(otherOwner), otherOrg.ID, &hijack), switchboard.ENOTFOUND)
		wantCode(t, db.DeleteRole(ctx, actorOf(otherOwner), otherOrg.ID, r.ID), switchboard.ENOTFOUND)
		got, err := db.FindRole(ctx, org.ID, r.ID)
		must(t, err)
		if got.Name != "Billing" || !slices.Equal(got.Permissions, []switchboard.Permission{switchboard.PermInvoices}) {
			t.Errorf("the role after another organisation's attempts: %+v", got)
		}
		if list, _ := db.ListRoles(ctx, otherOrg.ID); len(list) != 0 {
			t.Errorf("the other organisation lists %+v", list)
		}
		if actions := auditActions(t, db, otherOrg.ID); len(actions) != 0 {
			t.Errorf("the other organisation's audit: %v", actions)
		}
	})
}

// TestCustomRoles: the role picker's list is the organisation's own custom
// roles by name, with their permissions, and nothing of another
// organisation's.
func TestCustomRoles(t *testing.T) {
	db := newDB(t)
	owner, org := newOwner(t, db, "Olivia", "Owner", "olivia@example.com")
	otherOwner, otherOrg := newOwner(t, db, "Oscar", "Other", "oscar@example.com")
	zeta := newRole(t, db, owner, org.ID, "zeta", switchboard.PermHistory)
	alpha := newRole(t, db, owner, org.ID, "Alpha", switchboard.PermInvoices, switchboard.PermCredits)
	newRole(t, db, otherOwner, otherOrg.ID, "Beta", switchboard.PermMembers)

	list, err := db.CustomRoles(ctx, org.ID)
	must(t, err)
	if len(list) != 2 || list[0].ID != alpha.ID || list[1].ID != zeta.ID {
		t.Fatalf("custom roles %+v, want Alpha then zeta", list)
	}
	if list[0].Kind != switchboard.RoleCustom || list[0].Name != "Alpha" ||
		!slices.Equal(list[0].Permissions, []switchboard.Permission{switchboard.PermInvoices, switchboard.PermCredits}) {
		t.Errorf("Alpha read back as %+v", list[0])
	}
	if other, _ := db.CustomRoles(ctx, otherOrg.ID); len(other) != 1 || other[0].Name != "Beta" {
		t.Errorf("the other organisation's roles: %+v", other)
	}
}
