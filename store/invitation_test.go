package store_test

import (
	"slices"
	"testing"
	"time"

	"switchboard"
	"switchboard/store"
)

func TestCreateInvitation(t *testing.T) {
	setup := func(t *testing.T) (*store.DB, *switchboard.Profile, *switchboard.Organisation) {
		db := newDB(t)
		owner, org := newOwner(t, db, "Olivia", "Owner", "olivia@example.com")
		return db, owner, org
	}

	t.Run("writes the invitation and its email", func(t *testing.T) {
		db, owner, org := setup(t)
		inv, hash := invite(t, db, org, owner, "  New@Example.com ", administrator)
		if inv.ID == 0 || inv.Email != "new@example.com" {
			t.Fatalf("created %+v", inv)
		}
		got, err := db.FindInvitation(ctx, org.ID, inv.ID)
		must(t, err)
		if got.Email != "new@example.com" || got.Role.Kind != switchboard.RoleAdministrator || got.InvitedBy != owner.ID ||
			got.InviterName != "Olivia Owner" || got.OrgName != org.Name || got.OrgID != org.ID ||
			!got.CreatedAt.Equal(t0) || !got.ExpiresAt.Equal(t0.Add(switchboard.InvitationLifetime)) ||
			got.EmailSentAt != nil || !got.Usable(t0) {
			t.Errorf("found %+v", got)
		}
		byToken, err := db.FindInvitationByToken(ctx, hash)
		must(t, err)
		if byToken.ID != inv.ID {
			t.Errorf("by token: %d, want %d", byToken.ID, inv.ID)
		}
		emails, err := db.DueEmails(ctx, t0, 10)
		must(t, err)
		if len(emails) != 1 || emails[0].To != "  New@Example.com " || emails[0].Subject != "Join "+org.Name {
			t.Fatalf("outbox %+v", emails)
		}
		// The invitation knows when its email went out.
		must(t, db.MarkEmailSent(ctx, emails[0].ID, t0.Add(time.Minute)))
		got, err = db.FindInvitation(ctx, org.ID, inv.ID)
		must(t, err)
		if got.EmailSentAt == nil || !got.EmailSentAt.Equal(t0.Add(time.Minute)) {
			t.Errorf("email sent at %v", got.EmailSentAt)
		}
		list, total, err := db.ListPendingInvitations(ctx, org.ID, 10)
		must(t, err)
		if total != 1 || len(list) != 1 || list[0].ID != inv.ID {
			t.Errorf("pending %+v (%d)", list, total)
		}
		if !hasAction(t, db, org.ID, "invitation.sent") {
			t.Error("no audit entry")
		}
		// A list cut at its limit still says how many there are: the
		// count is read only when the list is full.
		for _, email := range []string{"two@example.com", "three@example.com"} {
			if _, err := tryInvite(db, org, owner, email, administrator, newTokenHash(t)); err != nil {
				t.Fatal(err)
			}
		}
		for limit, want := range map[int][2]int{1: {1, 3}, 2: {2, 3}, 3: {3, 3}, 4: {3, 3}} {
			list, total, err := db.ListPendingInvitations(ctx, org.ID, limit)
			must(t, err)
			if len(list) != want[0] || total != want[1] {
				t.Errorf("limit %d: %d listed of %d, want %d of %d", limit, len(list), total, want[0], want[1])
			}
		}
	})

	t.Run("a current member's email is a conflict", func(t *testing.T) {
		db, owner, org := setup(t)
		addMember(t, db, org, owner, "Mia", "Member", "mia@example.com", sender)
		queued := len(dueTo(t, db, t0))
		for _, email := range []string{"mia@example.com", "MIA@Example.com ", "olivia@example.com"} {
			_, err := tryInvite(db, org, owner, email, administrator, newTokenHash(t))
			wantCode(t, err, switchboard.ECONFLICT)
			if switchboard.Fields(err)["email"] == "" {
				t.Errorf("%q: no field error on email", email)
			}
		}
		if n := len(dueTo(t, db, t0)); n != queued {
			t.Errorf("refused invitations queued %d emails", n-queued)
		}
		if _, total, _ := db.ListPendingInvitations(ctx, org.ID, 10); total != 0 {
			t.Errorf("%d pending invitations", total)
		}
	})

	t.Run("a second pending invitation is a conflict", func(t *testing.T) {
		db, owner, org := setup(t)
		first, _ := invite(t, db, org, owner, "new@example.com", sender)
		_, err := tryInvite(db, org, owner, "NEW@example.com", administrator, newTokenHash(t))
		wantCode(t, err, switchboard.ECONFLICT)
		if switchboard.Fields(err)["email"] == "" {
			t.Error("no field error on email")
		}
		list, total, err := db.ListPendingInvitations(ctx, org.ID, 10)
		must(t, err)
		if total != 1 || list[0].ID != first.ID || list[0].Role.Kind != switchboard.RoleSender {
			t.Errorf("pending %+v", list)
		}
		if to := dueTo(t, db, t0); len(to) != 1 {
			t.Errorf("outbox %v: the refused invitation's email stayed", to)
		}
	})

	t.Run("a member or invitation elsewhere is no conflict", func(t *testing.T) {
		db, owner, org := setup(t)
		otherOwner, otherOrg := newOwner(t, db, "Oscar", "Other", "oscar@example.com")
		invite(t, db, otherOrg, otherOwner, "new@example.com", sender)
		invite(t, db, org, owner, "new@example.com", sender)
		invite(t, db, org, owner, "oscar@example.com", sender)
	})

	t.Run("an expired pending invitation is replaced", func(t *testing.T) {
		db, owner, org := setup(t)
		old, oldHash := invite(t, db, org, owner, "new@example.com", sender)
		later := t0.Add(switchboard.InvitationLifetime)
		setNow(db, later)
		fresh, freshHash := invite(t, db, org, owner, "new@example.com", administrator)
		if fresh.ID == old.ID {
			t.Fatal("the expired invitation was reused")
		}
		got, err := db.FindInvitation(ctx, org.ID, old.ID)
		must(t, err)
		if got.CancelledAt == nil {
			t.Error("the expired invitation was not cancelled")
		}
		p, _ := newOwner(t, db, "New", "Person", "new@example.com")
		_, err = db.AcceptInvitation(ctx, oldHash, p, "")
		wantCode(t, err, switchboard.EGONE)
		inv, err := db.AcceptInvitation(ctx, freshHash, p, "")
		must(t, err)
		if inv.ID != fresh.ID {
			t.Errorf("accepted %d, want %d", inv.ID, fresh.ID)
		}
		if m := findMember(t, db, org.ID, p.ID); m.Role.Kind != switchboard.RoleAdministrator {
			t.Errorf("role %s", m.Role.Kind)
		}
	})

	t.Run("another organisation's custom role is not found", func(t *testing.T) {
		db, owner, org := setup(t)
		otherOwner, otherOrg := newOwner(t, db, "Oscar", "Other", "oscar@example.com")
		theirs := newRole(t, db, otherOwner, otherOrg.ID, "Billing", switchboard.PermInvoices)
		_, err := tryInvite(db, org, owner, "new@example.com", *theirs, newTokenHash(t))
		wantCode(t, err, switchboard.ENOTFOUND)
		if to := dueTo(t, db, t0); len(to) != 0 {
			t.Errorf("outbox %v", to)
		}
	})
}

func TestResendInvitation(t *testing.T) {
	t.Run("a new token, a new email, the old link dead", func(t *testing.T) {
		db := newDB(t)
		owner, org := newOwner(t, db, "Olivia", "Owner", "olivia@example.com")
		inv, oldHash := invite(t, db, org, owner, "new@example.com", sender)
		later := t0.Add(48 * time.Hour)
		setNow(db, later)
		newHash := newTokenHash(t)
		must(t, db.ResendInvitation(ctx, actorOf(owner), org.ID, inv.ID, newHash, mailTo("new@example.com", "Reminder")))

		_, err := db.FindInvitationByToken(ctx, oldHash)
		wantCode(t, err, switchboard.EGONE)
		got, err := db.FindInvitationByToken(ctx, newHash)
		must(t, err)
		if got.ID != inv.ID || !got.ExpiresAt.Equal(later.Add(switchboard.InvitationLifetime)) || got.EmailSentAt != nil {
			t.Errorf("after resending %+v", got)
		}
		emails, err := db.DueEmails(ctx, later, 10)
		must(t, err)
		if len(emails) != 2 || emails[1].Subject != "Reminder" {
			t.Errorf("outbox %+v", emails)
		}
		if !hasAction(t, db, org.ID, "invitation.resent") {
			t.Error("no audit entry")
		}
		p, _ := newOwner(t, db, "New", "Person", "new@example.com")
		_, err = db.AcceptInvitation(ctx, oldHash, p, "")
		wantCode(t, err, switchboard.EGONE)
		_, err = db.AcceptInvitation(ctx, newHash, p, "")
		must(t, err)
	})

	t.Run("an expired invitation can be resent", func(t *testing.T) {
		db := newDB(t)
		owner, org := newOwner(t, db, "Olivia", "Owner", "olivia@example.com")
		inv, _ := invite(t, db, org, owner, "new@example.com", sender)
		setNow(db, t0.Add(30*24*time.Hour))
		newHash := newTokenHash(t)
		must(t, db.ResendInvitation(ctx, actorOf(owner), org.ID, inv.ID, newHash, mailTo("new@example.com", "Reminder")))
		p, _ := newOwner(t, db, "New", "Person", "new@example.com")
		_, err := db.AcceptInvitation(ctx, newHash, p, "")
		must(t, err)
	})

	t.Run("a cancelled or accepted invitation is not found", func(t *testing.T) {
		db := newDB(t)
		owner, org := newOwner(t, db, "Olivia", "Owner", "olivia@example.com")
		cancelled, _ := invite(t, db, org, owner, "gone@example.com", sender)
		must(t, db.CancelInvitation(ctx, actorOf(owner), org.ID, cancelled.ID))
		accepted, hash := invite(t, db, org, owner, "new@example.com", sender)
		p, _ := newOwner(t, db, "New", "Person", "new@example.com")
		_, err := db.AcceptInvitation(ctx, hash, p, "")
		must(t, err)
		queued := len(dueTo(t, db, t0))
		for _, id := range []int64{cancelled.ID, accepted.ID} {
			wantCode(t, db.ResendInvitation(ctx, actorOf(owner), org.ID, id, newTokenHash(t), mailTo("x@example.com", "Again")), switchboard.ENOTFOUND)
		}
		if n := len(dueTo(t, db, t0)); n != queued {
			t.Errorf("refused resends queued %d emails", n-queued)
		}
	})
}

func TestCancelInvitation(t *testing.T) {
	db := newDB(t)
	owner, org := newOwner(t, db, "Olivia", "Owner", "olivia@example.com")
	inv, hash := invite(t, db, org, owner, "new@example.com", sender)
	must(t, db.CancelInvitation(ctx, actorOf(owner), org.ID, inv.ID))

	got, err := db.FindInvitationByToken(ctx, hash)
	must(t, err)
	if got.CancelledAt == nil || got.Usable(t0) || expired(got, t0) {
		t.Errorf("after cancelling %+v", got)
	}
	p, _ := newOwner(t, db, "New", "Person", "new@example.com")
	_, err = db.AcceptInvitation(ctx, hash, p, "")
	wantCode(t, err, switchboard.EGONE)
	newcomer := &switchboard.Profile{Email: "new@example.com", FirstName: "New", LastName: "Comer"}
	_, err = db.AcceptInvitationAsNewProfile(ctx, hash, newcomer, "hash", "")
	if err == nil {
		t.Error("a cancelled invitation made a new profile")
	}
	_, err = db.FindMember(ctx, org.ID, p.ID)
	wantCode(t, err, switchboard.ENOTFOUND)
	wantCode(t, db.CancelInvitation(ctx, actorOf(owner), org.ID, inv.ID), switchboard.ENOTFOUND)
	if _, total, _ := db.ListPendingInvitations(ctx, org.ID, 10); total != 0 {
		t.Errorf("%d pending", total)
	}
	if !hasAction(t, db, org.ID, "invitation.cancelled") {
		t.Error("no audit entry")
	}
}

func TestAcceptInvitation(t *testing.T) {
	setup := func(t *testing.T) (*store.DB, *switchboard.Profile, *switchboard.Organisation) {
		db := newDB(t)
		owner, org := newOwner(t, db, "Olivia", "Owner", "olivia@example.com")
		return db, owner, org
	}

	t.Run("ok", func(t *testing.T) {
		db, owner, org := setup(t)
		p, ownOrg := newOwner(t, db, "New", "Person", "new@example.com")
		inv, hash := invite(t, db, org, owner, "NEW@example.com", administrator)
		setNow(db, t0.Add(time.Hour))
		got, err := db.AcceptInvitation(ctx, hash, p, "192.0.2.99")
		must(t, err)
		if got.ID != inv.ID || got.AcceptedAt == nil || !got.AcceptedAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("accepted %+v", got)
		}
		m := findMember(t, db, org.ID, p.ID)
		if m.Role.Kind != switchboard.RoleAdministrator || !m.JoinedAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("member %+v", m)
		}
		list, err := db.ListMemberships(ctx, p.ID)
		must(t, err)
		if len(list) != 2 || !slices.ContainsFunc(list, func(s switchboard.OrgSummary) bool { return s.ID == ownOrg.ID }) {
			t.Errorf("memberships %+v", list)
		}
		if prof, _ := db.FindProfile(ctx, p.ID); prof.LastOrgID != org.ID {
			t.Errorf("last organisation %d, want %d", prof.LastOrgID, org.ID)
		}
		entries, _, err := db.ListAudit(ctx, org.ID, 0, 1)
		must(t, err)
		if e := entries[0]; e.Action != "invitation.accepted" || e.ActorID != p.ID || e.IP != "192.0.2.99" {
			t.Errorf("audit %+v", e)
		}
		if _, total, _ := db.ListPendingInvitations(ctx, org.ID, 10); total != 0 {
			t.Errorf("%d pending", total)
		}
	})

	t.Run("another email is forbidden and leaves the invitation usable", func(t *testing.T) {
		db, owner, org := setup(t)
		_, hash := invite(t, db, org, owner, "invited@example.com", administrator)
		intruder, _ := newOwner(t, db, "Ivan", "Intruder", "intruder@example.com")
		_, err := db.AcceptInvitation(ctx, hash, intruder, "")
		wantCode(t, err, switchboard.EFORBIDDEN)
		_, err = db.FindMember(ctx, org.ID, intruder.ID)
		wantCode(t, err, switchboard.ENOTFOUND)
		got, err := db.FindInvitationByToken(ctx, hash)
		must(t, err)
		if !got.Usable(t0) {
			t.Fatalf("the invitation was used up: %+v", got)
		}
		invited, _ := newOwner(t, db, "Ines", "Invited", "invited@example.com")
		_, err = db.AcceptInvitation(ctx, hash, invited, "")
		must(t, err)
	})

	t.Run("expired is gone", func(t *testing.T) {
		db, owner, org := setup(t)
		_, hash := invite(t, db, org, owner, "new@example.com", sender)
		p, _ := newOwner(t, db, "New", "Person", "new@example.com")
		setNow(db, t0.Add(switchboard.InvitationLifetime))
		_, err := db.AcceptInvitation(ctx, hash, p, "")
		wantCode(t, err, switchboard.EGONE)
		got, err := db.FindInvitationByToken(ctx, hash)
		must(t, err)
		if !expired(got, t0.Add(switchboard.InvitationLifetime)) {
			t.Errorf("not expired: %+v", got)
		}
		_, err = db.FindMember(ctx, org.ID, p.ID)
		wantCode(t, err, switchboard.ENOTFOUND)
	})

	t.Run("used twice is gone", func(t *testing.T) {
		db, owner, org := setup(t)
		_, hash := invite(t, db, org, owner, "new@example.com", sender)
		p, _ := newOwner(t, db, "New", "Person", "new@example.com")
		_, err := db.AcceptInvitation(ctx, hash, p, "")
		must(t, err)
		_, err = db.AcceptInvitation(ctx, hash, p, "")
		wantCode(t, err, switchboard.EGONE)
		_, err = db.AcceptInvitationAsNewProfile(ctx, hash, &switchboard.Profile{Email: "new@example.com", FirstName: "A", LastName: "B"}, "h", "")
		if err == nil {
			t.Error("a used invitation made a new profile")
		}
	})

	t.Run("an unknown token is gone", func(t *testing.T) {
		db, _, _ := setup(t)
		p, _ := newOwner(t, db, "New", "Person", "new@example.com")
		_, err := db.AcceptInvitation(ctx, newTokenHash(t), p, "")
		wantCode(t, err, switchboard.EGONE)
		_, err = db.FindInvitationByToken(ctx, newTokenHash(t))
		wantCode(t, err, switchboard.EGONE)
	})

	t.Run("as a new profile, with no organisation of its own", func(t *testing.T) {
		db, owner, org := setup(t)
		billing := newRole(t, db, owner, org.ID, "Billing", switchboard.PermInvoices)
		_, hash := invite(t, db, org, owner, "new@example.com", *billing)
		p := &switchboard.Profile{Email: "New@Example.com", FirstName: "New", LastName: "Person"}
		inv, err := db.AcceptInvitationAsNewProfile(ctx, hash, p, "new hash", "")
		must(t, err)
		if p.ID == 0 || inv.AcceptedAt == nil {
			t.Fatalf("profile %+v, invitation %+v", p, inv)
		}
		found, pw, err := db.FindProfileByEmail(ctx, "new@example.com")
		must(t, err)
		if found.ID != p.ID || pw != "new hash" || found.LastOrgID != org.ID {
			t.Errorf("profile %+v, hash %q", found, pw)
		}
		list, err := db.ListMemberships(ctx, p.ID)
		must(t, err)
		if len(list) != 1 || list[0].ID != org.ID || list[0].Role.Kind != switchboard.RoleCustom || list[0].Role.ID != billing.ID {
			t.Errorf("memberships %+v, want only %d as Billing", list, org.ID)
		}
		if list, _ := db.ListMemberships(ctx, owner.ID); len(list) != 1 {
			t.Errorf("the owner's memberships %+v", list)
		}
	})

	t.Run("as a new profile with another email", func(t *testing.T) {
		db, owner, org := setup(t)
		_, hash := invite(t, db, org, owner, "invited@example.com", sender)
		p := &switchboard.Profile{Email: "other@example.com", FirstName: "Other", LastName: "Person"}
		_, err := db.AcceptInvitationAsNewProfile(ctx, hash, p, "hash", "")
		wantCode(t, err, switchboard.EFORBIDDEN)
		_, _, err = db.FindProfileByEmail(ctx, "other@example.com")
		wantCode(t, err, switchboard.ENOTFOUND)
		if got, err := db.FindInvitationByToken(ctx, hash); err != nil || !got.Usable(t0) {
			t.Errorf("the invitation after a mismatch: %+v, %v", got, err)
		}
	})

	t.Run("as a new profile with a registered email", func(t *testing.T) {
		db, owner, org := setup(t)
		_, hash := invite(t, db, org, owner, "reg@example.com", sender)
		newOwner(t, db, "Reg", "Istered", "reg@example.com")
		p := &switchboard.Profile{Email: "reg@example.com", FirstName: "Second", LastName: "Try"}
		_, err := db.AcceptInvitationAsNewProfile(ctx, hash, p, "hash", "")
		wantCode(t, err, switchboard.ECONFLICT)
		if got, err := db.FindInvitationByToken(ctx, hash); err != nil || !got.Usable(t0) {
			t.Errorf("the invitation after a conflict: %+v, %v", got, err)
		}
	})
}

func TestInvitationTenantIsolation(t *testing.T) {
	db := newDB(t)
	ownerA, orgA := newOwner(t, db, "Ann", "Alpha", "ann@alpha.example")
	ownerB, orgB := newOwner(t, db, "Ben", "Beta", "ben@beta.example")
	invA, hashA := invite(t, db, orgA, ownerA, "new@example.com", sender)
	queued := len(dueTo(t, db, t0))

	_, errOther := db.FindInvitation(ctx, orgB.ID, invA.ID)
	_, errMissing := db.FindInvitation(ctx, orgB.ID, invA.ID+1000)
	wantCode(t, errOther, switchboard.ENOTFOUND)
	wantCode(t, errMissing, switchboard.ENOTFOUND)
	if errOther.Error() != errMissing.Error() {
		t.Errorf("another organisation's invitation %q and a missing one %q can be told apart", errOther, errMissing)
	}
	wantCode(t, db.ResendInvitation(ctx, actorOf(ownerB), orgB.ID, invA.ID, newTokenHash(t), mailTo("new@example.com", "Hijack")), switchboard.ENOTFOUND)
	wantCode(t, db.CancelInvitation(ctx, actorOf(ownerB), orgB.ID, invA.ID), switchboard.ENOTFOUND)

	got, err := db.FindInvitationByToken(ctx, hashA)
	must(t, err)
	if got.ID != invA.ID || !got.Usable(t0) || got.OrgID != orgA.ID {
		t.Errorf("A's invitation after B's attempts: %+v", got)
	}
	if n := len(dueTo(t, db, t0)); n != queued {
		t.Errorf("B's refused resend queued %d emails", n-queued)
	}
	if _, total, _ := db.ListPendingInvitations(ctx, orgB.ID, 10); total != 0 {
		t.Errorf("B lists %d pending invitations", total)
	}
	// The token joins A, and only A.
	p, _ := newOwner(t, db, "New", "Person", "new@example.com")
	inv, err := db.AcceptInvitation(ctx, hashA, p, "")
	must(t, err)
	if inv.OrgID != orgA.ID {
		t.Errorf("joined %d", inv.OrgID)
	}
	_, err = db.FindMember(ctx, orgB.ID, p.ID)
	wantCode(t, err, switchboard.ENOTFOUND)
	if actions := auditActions(t, db, orgB.ID); len(actions) != 0 {
		t.Errorf("B's audit %v", actions)
	}
}

// expired reports whether the invitation's time ran out at now, as opposed
// to its being used or cancelled.
func expired(inv *switchboard.Invitation, now time.Time) bool {
	return inv.AcceptedAt == nil && inv.CancelledAt == nil && !now.Before(inv.ExpiresAt)
}
