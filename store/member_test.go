package store_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"switchboard"
	"switchboard/store"
)

// listAll pages through the organisation's members with limit, returning
// the size of every page and all members in the order they came.
func listAll(tb testing.TB, db *store.DB, orgID int64, query string, limit int) (sizes []int, all []switchboard.Member) {
	tb.Helper()
	var after store.MemberCursor
	for {
		list, next, err := db.ListMembers(ctx, orgID, query, after, limit)
		must(tb, err)
		sizes = append(sizes, len(list))
		all = append(all, list...)
		if next == nil {
			return sizes, all
		}
		if len(sizes) > 1000 {
			tb.Fatal("paging does not end")
		}
		after = *next
	}
}

func sortKey(m switchboard.Member) string {
	return strings.ToLower(m.FirstName + " " + m.LastName + " " + m.Email)
}

func emailsOf(members []switchboard.Member) []string {
	var emails []string
	for _, m := range members {
		emails = append(emails, m.Email)
	}
	return emails
}

func TestListMembers(t *testing.T) {
	t.Run("keyset paging", func(t *testing.T) {
		db := newDB(t)
		owner, org := newOwner(t, db, "Olivia", "Owner", "olivia@example.com")
		oscar, otherOrg := newOwner(t, db, "Oscar", "Other", "oscar@example.com")
		addMember(t, db, otherOrg, oscar, "Aaron", "Outsider", "aaron@example.com", sender) // never on org's pages
		want := map[int64]bool{owner.ID: true}
		firsts := []string{"Zoé", "adam", "Émile", "Bob", "bob", "Chloé", "Dan", "dan", "Eve", "Ünal", "Ann-Marie"}
		lasts := []string{"Smith", "smith", "O'Neil", "Ng", "de Vries", "Zhang"}
		// Names repeat and the emails are shuffled, so that name order,
		// email order and insertion order all differ.
		for i := range 119 {
			email := fmt.Sprintf("m%03d@example.com", (i*37)%119)
			p := addMember(t, db, org, owner, firsts[i%len(firsts)], lasts[(i*5)%len(lasts)], email, sender)
			want[p.ID] = true
		}

		for _, c := range []struct {
			limit int
			sizes []int
		}{
			{50, []int{50, 50, 20}},
			{60, []int{60, 60}},
			{119, []int{119, 1}},
			{120, []int{120}},
			{500, []int{120}},
			{1, nil},
		} {
			t.Run(fmt.Sprintf("limit %d", c.limit), func(t *testing.T) {
				sizes, all := listAll(t, db, org.ID, "", c.limit)
				if c.sizes != nil && !slices.Equal(sizes, c.sizes) {
					t.Fatalf("page sizes %v, want %v", sizes, c.sizes)
				}
				seen := map[int64]bool{}
				for i, m := range all {
					if seen[m.ProfileID] {
						t.Fatalf("member %d (%s) appears twice", m.ProfileID, m.Email)
					}
					seen[m.ProfileID] = true
					if !want[m.ProfileID] {
						t.Fatalf("member %d (%s) is not a member of this organisation", m.ProfileID, m.Email)
					}
					if m.OrgID != org.ID {
						t.Fatalf("member %s has organisation %d", m.Email, m.OrgID)
					}
					if i > 0 {
						prev := all[i-1]
						if pk, k := sortKey(prev), sortKey(m); pk > k || pk == k && prev.ProfileID >= m.ProfileID {
							t.Fatalf("out of order at %d: %q (%d) before %q (%d)", i, pk, prev.ProfileID, k, m.ProfileID)
						}
					}
				}
				if len(seen) != len(want) {
					t.Fatalf("%d members listed, want %d: a gap", len(seen), len(want))
				}
			})
		}
	})

	t.Run("a limit below one pages one by one", func(t *testing.T) {
		db := newDB(t)
		owner, org := newOwner(t, db, "Olivia", "Owner", "olivia@example.com")
		addMember(t, db, org, owner, "Bob", "Ray", "bob@example.com", sender)
		addMember(t, db, org, owner, "Cat", "Ray", "cat@example.com", sender)
		for _, limit := range []int{0, -1} {
			sizes, all := listAll(t, db, org.ID, "", limit)
			if !slices.Equal(sizes, []int{1, 1, 1}) || !slices.Equal(emailsOf(all), []string{"bob@example.com", "cat@example.com", "olivia@example.com"}) {
				t.Errorf("limit %d: pages %v of %v", limit, sizes, emailsOf(all))
			}
		}
	})

	t.Run("search", func(t *testing.T) {
		db := newDB(t)
		owner, org := newOwner(t, db, "Olivia", "Owner", "olivia@corp.example")
		otherOwner, otherOrg := newOwner(t, db, "Alice", "Elsewhere", "alice.elsewhere@example.com")
		for _, m := range []struct{ first, last, email string }{
			{"Alice", "Martin", "alice@example.com"},
			{"Malika", "Ali", "m.ali@corp.example"},
			{"Bob", "Stone", "bob@example.com"},
			{"Hundred", "Pct%", "pct@example.com"},
			{"Ursula", "Under", "under_score@example.com"},
			{"Xavier", "Cross", "underxscore@example.com"},
			{"Back", "Slash", `back\slash@example.com`},
		} {
			addMember(t, db, org, owner, m.first, m.last, m.email, sender)
		}
		addMember(t, db, otherOrg, otherOwner, "Alicia", "Keys", "alicia@example.com", sender)

		for _, c := range []struct {
			query string
			want  []string
		}{
			{"ali", []string{"alice@example.com", "m.ali@corp.example"}},
			{"ALICE", []string{"alice@example.com"}},
			{"  alice  ", []string{"alice@example.com"}},
			{"alice martin", []string{"alice@example.com"}},
			{"corp.example", []string{"m.ali@corp.example", "olivia@corp.example"}},
			{"stone", []string{"bob@example.com"}},
			{"%", []string{"pct@example.com"}},
			{"pct%", []string{"pct@example.com"}},
			{"_", []string{"under_score@example.com"}},
			{"under_score", []string{"under_score@example.com"}},
			{`\`, []string{`back\slash@example.com`}},
			{`\s`, []string{`back\slash@example.com`}},
			{"zzz", nil},
			{"", []string{"alice@example.com", `back\slash@example.com`, "bob@example.com", "pct@example.com", "m.ali@corp.example", "olivia@corp.example", "under_score@example.com", "underxscore@example.com"}},
		} {
			t.Run(fmt.Sprintf("%q", c.query), func(t *testing.T) {
				_, all := listAll(t, db, org.ID, c.query, 3)
				if got := emailsOf(all); !slices.Equal(got, c.want) {
					t.Errorf("found %q, want %q", got, c.want)
				}
			})
		}
	})
}

func TestMemberTenantIsolation(t *testing.T) {
	db := newDB(t)
	ownerA, orgA := newOwner(t, db, "Ann", "Alpha", "ann@alpha.example")
	ownerB, orgB := newOwner(t, db, "Ben", "Beta", "ben@beta.example")
	memberA := addMember(t, db, orgA, ownerA, "Mia", "Alpha", "mia@alpha.example", sender)
	addMember(t, db, orgB, ownerB, "Max", "Beta", "max@beta.example", sender)
	auditBefore := len(auditActions(t, db, orgA.ID))

	t.Run("find", func(t *testing.T) {
		findMember(t, db, orgA.ID, memberA.ID)
		_, errOther := db.FindMember(ctx, orgB.ID, memberA.ID)
		_, errOwner := db.FindMember(ctx, orgB.ID, ownerA.ID)
		_, errMissing := db.FindMember(ctx, orgB.ID, memberA.ID+1000)
		for _, err := range []error{errOther, errOwner, errMissing} {
			wantCode(t, err, switchboard.ENOTFOUND)
		}
		if errOther.Error() != errMissing.Error() {
			t.Errorf("another organisation's member %q and a missing one %q can be told apart", errOther, errMissing)
		}
		_, all := listAll(t, db, orgB.ID, "", 50)
		if slices.Contains(emailsOf(all), memberA.Email) {
			t.Error("organisation B lists a member of A")
		}
	})

	t.Run("change role", func(t *testing.T) {
		target := findMember(t, db, orgA.ID, memberA.ID)
		if err := db.ChangeRole(ctx, actorOf(ownerB), orgB.ID, target, administrator); err == nil {
			t.Fatal("B changed the role of A's member")
		}
		if got := findMember(t, db, orgA.ID, memberA.ID); got.Role.Kind != switchboard.RoleSender {
			t.Errorf("A's member is now %s", got.Role.Kind)
		}
	})

	t.Run("remove", func(t *testing.T) {
		target := findMember(t, db, orgA.ID, memberA.ID)
		if err := db.RemoveMember(ctx, actorOf(ownerB), orgB.ID, target, "member.revoked"); err == nil {
			t.Fatal("B removed A's member")
		}
		findMember(t, db, orgA.ID, memberA.ID)
	})

	t.Run("transfer ownership", func(t *testing.T) {
		wantCode(t, db.TransferOwnership(ctx, actorOf(ownerB), orgB.ID, ownerB.ID, memberA.ID), switchboard.ENOTFOUND)
		if o, _ := db.FindOwner(ctx, orgB.ID); o.ProfileID != ownerB.ID {
			t.Errorf("B's owner is %d", o.ProfileID)
		}
		// Using A's id with B's owner changes nothing in A.
		if err := db.TransferOwnership(ctx, actorOf(ownerB), orgA.ID, ownerB.ID, memberA.ID); err == nil {
			t.Fatal("B's owner gave away A")
		}
		if o, _ := db.FindOwner(ctx, orgA.ID); o.ProfileID != ownerA.ID {
			t.Errorf("A's owner is %d", o.ProfileID)
		}
	})

	if n := len(auditActions(t, db, orgA.ID)); n != auditBefore {
		t.Errorf("refused actions wrote %d audit entries in A", n-auditBefore)
	}
}

func TestChangeRole(t *testing.T) {
	setup := func(t *testing.T) (*store.DB, *switchboard.Profile, *switchboard.Organisation, *switchboard.Profile) {
		db := newDB(t)
		owner, org := newOwner(t, db, "Olivia", "Owner", "olivia@example.com")
		m := addMember(t, db, org, owner, "Sam", "Sender", "sam@example.com", sender)
		return db, owner, org, m
	}

	t.Run("ok", func(t *testing.T) {
		db, owner, org, m := setup(t)
		must(t, db.ChangeRole(ctx, actorOf(owner), org.ID, findMember(t, db, org.ID, m.ID), administrator))
		if got := findMember(t, db, org.ID, m.ID); got.Role.Kind != switchboard.RoleAdministrator {
			t.Errorf("role %s", got.Role.Kind)
		}
		entries, _, err := db.ListAudit(ctx, org.ID, 0, 1)
		must(t, err)
		if e := entries[0]; e.Action != "member.role_changed" || e.Target != m.Email || e.Detail != "Sender → Administrator" {
			t.Errorf("audit %+v", e)
		}
	})

	t.Run("to a custom role and back", func(t *testing.T) {
		db, owner, org, m := setup(t)
		billing := newRole(t, db, owner, org.ID, "Billing", switchboard.PermInvoices, switchboard.PermCredits)
		must(t, db.ChangeRole(ctx, actorOf(owner), org.ID, findMember(t, db, org.ID, m.ID), *billing))
		got := findMember(t, db, org.ID, m.ID)
		if got.Role.Kind != switchboard.RoleCustom || got.Role.ID != billing.ID || got.Role.Name != "Billing" ||
			!slices.Equal(got.Role.Permissions, []switchboard.Permission{switchboard.PermInvoices, switchboard.PermCredits}) {
			t.Fatalf("role %+v", got.Role)
		}
		must(t, db.ChangeRole(ctx, actorOf(owner), org.ID, got, sender))
		if got := findMember(t, db, org.ID, m.ID); got.Role.Kind != switchboard.RoleSender || got.Role.ID != 0 {
			t.Errorf("role %+v", got.Role)
		}
	})

	t.Run("never the owner", func(t *testing.T) {
		db, owner, org, m := setup(t)
		ownerMember := findMember(t, db, org.ID, owner.ID)
		if err := db.ChangeRole(ctx, actorOf(owner), org.ID, ownerMember, administrator); err == nil {
			t.Error("the owner's role changed")
		}
		forged := *ownerMember
		forged.Role = administrator
		if err := db.ChangeRole(ctx, actorOf(owner), org.ID, &forged, sender); err == nil {
			t.Error("the owner's role changed through a forged expected role")
		}
		if err := db.RemoveMember(ctx, actorOf(owner), org.ID, ownerMember, "member.left"); err == nil {
			t.Error("the owner was removed")
		}
		if err := db.RemoveMember(ctx, actorOf(owner), org.ID, &forged, "member.revoked"); err == nil {
			t.Error("the owner was removed through a forged expected role")
		}
		wantCode(t, db.ChangeRole(ctx, actorOf(owner), org.ID, findMember(t, db, org.ID, m.ID), switchboard.BuiltinRole(switchboard.RoleOwner)), switchboard.EFORBIDDEN)
		if got := findMember(t, db, org.ID, owner.ID); got.Role.Kind != switchboard.RoleOwner {
			t.Errorf("the owner is now %s", got.Role.Kind)
		}
		if got := findMember(t, db, org.ID, m.ID); got.Role.Kind != switchboard.RoleSender {
			t.Errorf("the sender is now %s", got.Role.Kind)
		}
	})

	t.Run("a stale expected role is a conflict", func(t *testing.T) {
		db, owner, org, m := setup(t)
		billing := newRole(t, db, owner, org.ID, "Billing", switchboard.PermInvoices)
		snapshot := findMember(t, db, org.ID, m.ID) // a sender, as two admins see it
		must(t, db.ChangeRole(ctx, actorOf(owner), org.ID, snapshot, administrator))
		wantCode(t, db.ChangeRole(ctx, actorOf(owner), org.ID, snapshot, *billing), switchboard.ECONFLICT)
		wantCode(t, db.RemoveMember(ctx, actorOf(owner), org.ID, snapshot, "member.revoked"), switchboard.ECONFLICT)
		if got := findMember(t, db, org.ID, m.ID); got.Role.Kind != switchboard.RoleAdministrator {
			t.Errorf("role %s, want administrator", got.Role.Kind)
		}
		// A custom role with another id is stale too.
		must(t, db.ChangeRole(ctx, actorOf(owner), org.ID, findMember(t, db, org.ID, m.ID), *billing))
		other := newRole(t, db, owner, org.ID, "Other", switchboard.PermHistory)
		stale := findMember(t, db, org.ID, m.ID)
		stale.Role = *other
		wantCode(t, db.ChangeRole(ctx, actorOf(owner), org.ID, stale, sender), switchboard.ECONFLICT)
		if got := findMember(t, db, org.ID, m.ID); got.Role.ID != billing.ID {
			t.Errorf("role %+v, want Billing", got.Role)
		}
	})

	t.Run("another organisation's custom role is not found", func(t *testing.T) {
		db, _, org, m := setup(t)
		otherOwner, otherOrg := newOwner(t, db, "Oscar", "Other", "oscar@example.com")
		theirs := newRole(t, db, otherOwner, otherOrg.ID, "Everything", switchboard.PermOrganisation, switchboard.PermMembers)
		wantCode(t, db.ChangeRole(ctx, actorOf(otherOwner), org.ID, findMember(t, db, org.ID, m.ID), *theirs), switchboard.ENOTFOUND)
		forged := switchboard.Role{Kind: switchboard.RoleCustom, ID: theirs.ID, Name: "Harmless"}
		wantCode(t, db.ChangeRole(ctx, actorOf(otherOwner), org.ID, findMember(t, db, org.ID, m.ID), forged), switchboard.ENOTFOUND)
		if got := findMember(t, db, org.ID, m.ID); got.Role.Kind != switchboard.RoleSender {
			t.Errorf("role %+v", got.Role)
		}
	})

	t.Run("remove", func(t *testing.T) {
		db, owner, org, m := setup(t)
		must(t, db.RemoveMember(ctx, actorOf(owner), org.ID, findMember(t, db, org.ID, m.ID), "member.revoked"))
		_, err := db.FindMember(ctx, org.ID, m.ID)
		wantCode(t, err, switchboard.ENOTFOUND)
		if _, err := db.FindProfile(ctx, m.ID); err != nil {
			t.Errorf("the removed member's profile: %v", err)
		}
		if !hasAction(t, db, org.ID, "member.revoked") {
			t.Error("no audit entry")
		}
	})
}

func TestTransferOwnership(t *testing.T) {
	setup := func(t *testing.T) (*store.DB, string, *switchboard.Profile, *switchboard.Organisation, *switchboard.Profile) {
		db, path := newDBWithPath(t)
		owner, org := newOwner(t, db, "Olivia", "Owner", "olivia@example.com")
		billing := newRole(t, db, owner, org.ID, "Billing", switchboard.PermInvoices)
		heir := addMember(t, db, org, owner, "Hal", "Heir", "hal@example.com", *billing)
		addMember(t, db, org, owner, "Sam", "Sender", "sam@example.com", sender)
		return db, path, owner, org, heir
	}
	owners := func(t *testing.T, db *store.DB, orgID int64) []int64 {
		t.Helper()
		_, all := listAll(t, db, orgID, "", 100)
		var ids []int64
		for _, m := range all {
			if m.Role.Kind == switchboard.RoleOwner {
				ids = append(ids, m.ProfileID)
			}
		}
		return ids
	}

	t.Run("one owner, the old one administrator", func(t *testing.T) {
		db, _, owner, org, heir := setup(t)
		must(t, db.TransferOwnership(ctx, actorOf(owner), org.ID, owner.ID, heir.ID))
		if got := owners(t, db, org.ID); !slices.Equal(got, []int64{heir.ID}) {
			t.Fatalf("owners %v, want [%d]", got, heir.ID)
		}
		if got := findMember(t, db, org.ID, owner.ID); got.Role.Kind != switchboard.RoleAdministrator {
			t.Errorf("the old owner is %s", got.Role.Kind)
		}
		if got := findMember(t, db, org.ID, heir.ID); got.Role.Kind != switchboard.RoleOwner || got.Role.ID != 0 {
			t.Errorf("the new owner's role %+v", got.Role)
		}
		if o, _ := db.FindOwner(ctx, org.ID); o.ProfileID != heir.ID {
			t.Errorf("FindOwner %d", o.ProfileID)
		}
		if !hasAction(t, db, org.ID, "ownership.transferred") {
			t.Error("no audit entry")
		}
		// The old owner can no longer give it away.
		wantCode(t, db.TransferOwnership(ctx, actorOf(owner), org.ID, owner.ID, heir.ID), switchboard.ECONFLICT)
	})

	t.Run("to a non-member is not found", func(t *testing.T) {
		db, _, owner, org, _ := setup(t)
		stranger, _ := newOwner(t, db, "Stan", "Stranger", "stan@example.com")
		for _, to := range []int64{stranger.ID, stranger.ID + 1000} {
			wantCode(t, db.TransferOwnership(ctx, actorOf(owner), org.ID, owner.ID, to), switchboard.ENOTFOUND)
		}
		if got := owners(t, db, org.ID); !slices.Equal(got, []int64{owner.ID}) {
			t.Errorf("owners %v", got)
		}
	})

	t.Run("only the owner transfers", func(t *testing.T) {
		db, _, owner, org, heir := setup(t)
		sam, _, _ := db.FindProfileByEmail(ctx, "sam@example.com")
		wantCode(t, db.TransferOwnership(ctx, actorOf(sam), org.ID, sam.ID, heir.ID), switchboard.ECONFLICT)
		wantCode(t, db.TransferOwnership(ctx, actorOf(owner), org.ID, owner.ID, owner.ID), switchboard.EINVALID)
		if got := owners(t, db, org.ID); !slices.Equal(got, []int64{owner.ID}) {
			t.Errorf("owners %v", got)
		}
	})

	t.Run("the index forbids two owners", func(t *testing.T) {
		db, path, owner, org, heir := setup(t)
		raw := rawDB(t, path)
		_, err := raw.ExecContext(ctx, `UPDATE members SET role = 'owner', custom_role_id = NULL WHERE org_id = ? AND profile_id = ?`, org.ID, heir.ID)
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), "unique") {
			t.Fatalf("a second owner by UPDATE: %v", err)
		}
		other, _ := newOwner(t, db, "Oscar", "Other", "oscar@example.com")
		_, err = raw.ExecContext(ctx, `INSERT INTO members (org_id, profile_id, role, joined_at, sort_name) VALUES (?, ?, 'owner', 0, 'x')`, org.ID, other.ID)
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), "unique") {
			t.Fatalf("a second owner by INSERT: %v", err)
		}
		if got := owners(t, db, org.ID); !slices.Equal(got, []int64{owner.ID}) {
			t.Errorf("owners %v", got)
		}
	})
}
