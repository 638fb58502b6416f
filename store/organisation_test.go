package store_test

import (
	"slices"
	"testing"
	"time"

	"switchboard"
	"switchboard/store"
)

func TestOrganisations(t *testing.T) {
	t.Run("create", func(t *testing.T) {
		db := newDB(t)
		p, first := newOwner(t, db, "Ann", "Lee", "ann@example.com")
		org := &switchboard.Organisation{Name: "Second", LegalName: "Second Ltd", VATNumber: "FR123", Address: "1 rue X", BillingMail: "billing@example.com"}
		must(t, db.CreateOrganisation(ctx, p, org))
		if org.ID == 0 || org.ID == first.ID || !org.CreatedAt.Equal(t0) {
			t.Fatalf("created %+v", org)
		}
		m, err := db.FindMembership(ctx, org.ID, p.ID)
		must(t, err)
		if m.Org.Name != "Second" || m.Org.LegalName != "Second Ltd" || m.Org.VATNumber != "FR123" ||
			m.Org.Address != "1 rue X" || m.Org.BillingMail != "billing@example.com" || m.Org.OwnerOnlyMembers {
			t.Errorf("organisation %+v", m.Org)
		}
		if !m.IsOwner() || m.Member.Email != p.Email || m.Member.FirstName != "Ann" {
			t.Errorf("membership %+v", m.Member)
		}
		owner, err := db.FindOwner(ctx, org.ID)
		must(t, err)
		if owner.ProfileID != p.ID {
			t.Errorf("owner %d, want %d", owner.ProfileID, p.ID)
		}
		_, err = db.FindOwner(ctx, org.ID+1000)
		wantCode(t, err, switchboard.ENOTFOUND)
	})

	t.Run("list memberships shows each organisation with my role", func(t *testing.T) {
		db := newDB(t)
		ann, annOrg := newOwner(t, db, "Ann", "Lee", "ann@example.com")
		bob, bobOrg := newOwner(t, db, "Bob", "Ray", "bob@example.com")
		cal, calOrg := newOwner(t, db, "Cal", "Day", "cal@example.com")
		newOwner(t, db, "Dee", "Day", "dee@example.com") // an organisation Ann is not in
		addExisting(t, db, bobOrg, bob, ann, administrator)
		billing := newRole(t, db, cal, calOrg.ID, "Billing", switchboard.PermInvoices)
		addExisting(t, db, calOrg, cal, ann, *billing)
		must(t, db.SetOwnerOnlyMembers(ctx, actorOf(bob), bobOrg.ID, true))

		list, err := db.ListMemberships(ctx, ann.ID)
		must(t, err)
		want := []struct {
			id        int64
			name      string
			role      switchboard.RoleKind
			ownerOnly bool
		}{
			{annOrg.ID, "Ann's company", switchboard.RoleOwner, false},
			{bobOrg.ID, "Bob's company", switchboard.RoleAdministrator, true},
			{calOrg.ID, "Cal's company", switchboard.RoleCustom, false},
		}
		if len(list) != len(want) {
			t.Fatalf("memberships %+v, want %d", list, len(want))
		}
		for i, w := range want {
			got := list[i]
			if got.ID != w.id || got.Name != w.name || got.Role.Kind != w.role || got.OwnerOnlyMembers != w.ownerOnly {
				t.Errorf("membership %d: %+v, want %+v", i, got, w)
			}
		}
		if r := list[2].Role; r.ID != billing.ID || r.Name != "Billing" || !r.Can(switchboard.PermInvoices) || r.Can(switchboard.PermMembers) {
			t.Errorf("custom role %+v", r)
		}
		if list[1].Can(switchboard.PermMembers) {
			t.Error("an administrator of an owner-only organisation may manage members")
		}
	})

	t.Run("membership of an organisation I am not in is not found", func(t *testing.T) {
		db := newDB(t)
		ann, annOrg := newOwner(t, db, "Ann", "Lee", "ann@example.com")
		_, bobOrg := newOwner(t, db, "Bob", "Ray", "bob@example.com")
		if _, err := db.FindMembership(ctx, annOrg.ID, ann.ID); err != nil {
			t.Fatal(err)
		}
		_, errOther := db.FindMembership(ctx, bobOrg.ID, ann.ID)
		_, errMissing := db.FindMembership(ctx, bobOrg.ID+1000, ann.ID)
		wantCode(t, errOther, switchboard.ENOTFOUND)
		wantCode(t, errMissing, switchboard.ENOTFOUND)
		if errOther.Error() != errMissing.Error() || switchboard.ErrorMessage(errOther) != switchboard.ErrorMessage(errMissing) {
			t.Errorf("another organisation %q and a missing one %q can be told apart", errOther, errMissing)
		}
	})

	t.Run("deleting keeps every profile and removes the rest", func(t *testing.T) {
		db, path := newDBWithPath(t)
		raw := rawDB(t, path)
		owner, org := newOwner(t, db, "Olivia", "Owner", "olivia@example.com")
		other, otherOrg := newOwner(t, db, "Oscar", "Other", "oscar@example.com")
		billing := newRole(t, db, owner, org.ID, "Billing", switchboard.PermInvoices)
		admin := addMember(t, db, org, owner, "Adam", "Admin", "adam@example.com", administrator)
		custom := addMember(t, db, org, owner, "Cleo", "Custom", "cleo@example.com", *billing)
		addExisting(t, db, org, owner, other, sender)
		pending, pendingHash := invite(t, db, org, owner, "pending@example.com", *billing)
		invite(t, db, org, owner, "pending2@example.com", administrator)
		cancelled, _ := invite(t, db, org, owner, "cancelled@example.com", sender)
		must(t, db.CancelInvitation(ctx, actorOf(owner), org.ID, cancelled.ID))
		profilesBefore := count(t, raw, `SELECT COUNT(*) FROM profiles`)

		must(t, db.DeleteOrganisation(ctx, org.ID))

		for _, p := range []*switchboard.Profile{owner, other, admin, custom} {
			got, err := db.FindProfile(ctx, p.ID)
			if err != nil {
				t.Errorf("profile %s: %v", p.Email, err)
				continue
			}
			if got.LastOrgID == org.ID {
				t.Errorf("profile %s still lands in the deleted organisation", p.Email)
			}
			if _, err := db.FindMembership(ctx, org.ID, p.ID); switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
				t.Errorf("membership of %s: %v", p.Email, err)
			}
		}
		if n := count(t, raw, `SELECT COUNT(*) FROM profiles`); n != profilesBefore {
			t.Errorf("%d profiles after deleting, want %d", n, profilesBefore)
		}
		if list, _ := db.ListMemberships(ctx, owner.ID); len(list) != 0 {
			t.Errorf("owner's memberships: %+v", list)
		}
		if list, _ := db.ListMemberships(ctx, other.ID); len(list) != 1 || list[0].ID != otherOrg.ID {
			t.Errorf("the other owner's memberships: %+v", list)
		}
		_, err := db.FindRole(ctx, org.ID, billing.ID)
		wantCode(t, err, switchboard.ENOTFOUND)
		_, err = db.FindInvitation(ctx, org.ID, pending.ID)
		wantCode(t, err, switchboard.ENOTFOUND)
		_, err = db.FindInvitationByToken(ctx, pendingHash)
		wantCode(t, err, switchboard.EGONE)
		for _, table := range []string{"members", "roles", "invitations", "audit_log"} {
			if n := count(t, raw, `SELECT COUNT(*) FROM `+table+` WHERE org_id = ?`, org.ID); n != 0 {
				t.Errorf("%d rows of the deleted organisation left in %s", n, table)
			}
		}
		// The other organisation is whole.
		if m, err := db.FindMembership(ctx, otherOrg.ID, other.ID); err != nil || !m.IsOwner() {
			t.Errorf("the other organisation: %+v, %v", m, err)
		}
		wantCode(t, db.DeleteOrganisation(ctx, org.ID), switchboard.ENOTFOUND)
	})

	t.Run("update writes an audit entry", func(t *testing.T) {
		db := newDB(t)
		p, org := newOwner(t, db, "Ann", "Lee", "ann@example.com")
		_, otherOrg := newOwner(t, db, "Bob", "Ray", "bob@example.com")
		changed := *org
		changed.Name, changed.LegalName, changed.VATNumber = "Renamed", "Renamed SAS", "FR999"
		must(t, db.UpdateOrganisation(ctx, actorOf(p), &changed))

		m, err := db.FindMembership(ctx, org.ID, p.ID)
		must(t, err)
		if m.Org.Name != "Renamed" || m.Org.LegalName != "Renamed SAS" || m.Org.VATNumber != "FR999" {
			t.Errorf("after update: %+v", m.Org)
		}
		entries, next, err := db.ListAudit(ctx, org.ID, 0, 10)
		must(t, err)
		if len(entries) != 1 || next != 0 {
			t.Fatalf("audit %+v, next %d", entries, next)
		}
		e := entries[0]
		if e.Action != "organisation.updated" || e.ActorID != p.ID || e.ActorName != "Ann Lee" || e.IP != "192.0.2.10" ||
			e.Target != "Renamed" || e.OrgID != org.ID || !e.CreatedAt.Equal(t0) {
			t.Errorf("audit entry %+v", e)
		}
		if actions := auditActions(t, db, otherOrg.ID); len(actions) != 0 {
			t.Errorf("the other organisation's audit log: %v", actions)
		}

		missing := changed
		missing.ID = otherOrg.ID + 1000
		wantCode(t, db.UpdateOrganisation(ctx, actorOf(p), &missing), switchboard.ENOTFOUND)
	})

	t.Run("audit log pages newest first", func(t *testing.T) {
		db := newDB(t)
		p, org := newOwner(t, db, "Ann", "Lee", "ann@example.com")
		for _, name := range []string{"One", "Two", "Three", "Four", "Five"} {
			o := *org
			o.Name = name
			must(t, db.UpdateOrganisation(ctx, actorOf(p), &o))
		}
		var targets []string
		var before int64
		var pages []int
		for {
			entries, next, err := db.ListAudit(ctx, org.ID, before, 2)
			must(t, err)
			pages = append(pages, len(entries))
			for _, e := range entries {
				targets = append(targets, e.Target)
			}
			if next == 0 {
				break
			}
			before = next
			if len(pages) > 5 {
				t.Fatal("audit paging does not end")
			}
		}
		if got, want := pages, []int{2, 2, 1}; !slices.Equal(got, want) {
			t.Errorf("pages %v, want %v", got, want)
		}
		if got := targets; len(got) != 5 || got[0] != "Five" || got[4] != "One" {
			t.Errorf("targets %v", got)
		}
		for _, limit := range []int{0, -1} {
			entries, next, err := db.ListAudit(ctx, org.ID, 0, limit)
			must(t, err)
			if len(entries) != 1 || entries[0].Target != "Five" || next != entries[0].ID {
				t.Errorf("limit %d: %+v, next %d", limit, entries, next)
			}
		}
	})

	t.Run("owner-only members setting", func(t *testing.T) {
		db := newDB(t)
		p, org := newOwner(t, db, "Ann", "Lee", "ann@example.com")
		must(t, db.SetOwnerOnlyMembers(ctx, actorOf(p), org.ID, true))
		must(t, db.SetOwnerOnlyMembers(ctx, actorOf(p), org.ID, true)) // no change, no entry
		m, err := db.FindMembership(ctx, org.ID, p.ID)
		must(t, err)
		if !m.Org.OwnerOnlyMembers {
			t.Error("setting not saved")
		}
		if actions := auditActions(t, db, org.ID); len(actions) != 1 || actions[0] != "setting.changed" {
			t.Errorf("audit %v", actions)
		}
	})

	t.Run("counts", func(t *testing.T) {
		db := newDB(t)
		p, org := newOwner(t, db, "Ann", "Lee", "ann@example.com")
		other, otherOrg := newOwner(t, db, "Oscar", "Other", "oscar@example.com")
		addMember(t, db, org, p, "Bob", "Ray", "bob@example.com", sender)
		invite(t, db, org, p, "pending@example.com", sender)
		invite(t, db, org, p, "expired@example.com", sender)
		addMember(t, db, otherOrg, other, "Sue", "Elsewhere", "sue@example.com", sender)
		invite(t, db, otherOrg, other, "elsewhere@example.com", sender)
		setNow(db, t0.Add(time.Hour))
		invite(t, db, org, p, "later@example.com", sender)
		setNow(db, t0.Add(switchboard.InvitationLifetime))
		c, err := db.CountMembers(ctx, org.ID)
		must(t, err)
		if c != (store.MemberCounts{Members: 2, Pending: 1}) {
			t.Errorf("counts %+v, want 2 members and 1 pending (two expired, the rest elsewhere)", c)
		}
	})

	t.Run("find member by email", func(t *testing.T) {
		db := newDB(t)
		p, org := newOwner(t, db, "Ann", "Lee", "ann@example.com")
		other, otherOrg := newOwner(t, db, "Oscar", "Other", "oscar@example.com")
		addMember(t, db, org, p, "Bob", "Ray", "bob@example.com", administrator)
		addMember(t, db, otherOrg, other, "Abe", "First", "abe@example.com", sender)
		m, err := db.FindMemberByEmail(ctx, org.ID, " BOB@example.com ")
		must(t, err)
		if m.Email != "bob@example.com" || m.Role.Kind != switchboard.RoleAdministrator {
			t.Errorf("member %+v", m)
		}
		for _, email := range []string{"abe@example.com", "oscar@example.com", "nobody@example.com"} {
			_, err := db.FindMemberByEmail(ctx, org.ID, email)
			wantCode(t, err, switchboard.ENOTFOUND)
		}
	})
}
