package store_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard"
	"switchboard/store"
	"switchboard/store/storetest"
)

// checkCounts fails the test unless the member count kept in each
// organisation's row, and the one CountMembers answers, are the number of
// its memberships.
func checkCounts(tb testing.TB, db *store.DB, raw *storetest.Raw, step string, orgs ...*switchboard.Organisation) {
	tb.Helper()
	for _, org := range orgs {
		want := count(tb, raw, `SELECT COUNT(*) FROM members WHERE org_id = ?`, org.ID)
		kept := count(tb, raw, `SELECT member_count FROM organisations WHERE id = ?`, org.ID)
		c, err := db.CountMembers(ctx, org.ID)
		must(tb, err)
		if kept != want || c.Members != want {
			tb.Fatalf("%s: organisation %d keeps %d members and CountMembers says %d, but it has %d", step, org.ID, kept, c.Members, want)
		}
		if n := count(tb, raw, `SELECT COUNT(DISTINCT profile_id) FROM member_grams WHERE org_id = ?`, org.ID); n != want {
			tb.Fatalf("%s: organisation %d has %d members in the search index and %d members", step, org.ID, n, want)
		}
		if n := count(tb, raw, `SELECT COUNT(*) FROM member_gram_counts c WHERE org_id = ?
			AND n != (SELECT COUNT(*) FROM member_grams g WHERE g.org_id = c.org_id AND g.gram = c.gram)`, org.ID); n != 0 {
			tb.Fatalf("%s: organisation %d has %d gram counts that are wrong", step, org.ID, n)
		}
	}
}

// TestMemberCountKept follows the kept member count through every way a
// membership comes or goes, comparing it with COUNT(*) after each step.
func TestMemberCountKept(t *testing.T) {
	db, path := newDBWithPath(t)
	raw := rawDB(t, path)
	owner, org := newOwner(t, db, "Olivia", "Owner", "olivia@example.com")
	oscar, other := newOwner(t, db, "Oscar", "Other", "oscar@example.com")
	checkCounts(t, db, raw, "signed up", org, other)

	ada := addMember(t, db, org, owner, "Ada", "Admin", "ada@example.com", administrator)
	checkCounts(t, db, raw, "joined as a new profile", org, other)
	ben := addMember(t, db, org, owner, "Ben", "Sender", "ben@example.com", sender)
	cat := addMember(t, db, org, owner, "Cat", "Custom", "cat@example.com", sender)
	checkCounts(t, db, raw, "two more joined", org, other)

	// A profile that exists already joins a second organisation, and
	// creates a third of its own.
	addExisting(t, db, other, oscar, ada, sender)
	checkCounts(t, db, raw, "joined a second organisation", org, other)
	third := &switchboard.Organisation{Name: "Ada's own"}
	must(t, db.CreateOrganisation(ctx, ada, third))
	checkCounts(t, db, raw, "created an organisation", org, other, third)

	// A second accept of a used link joins nobody and counts nobody.
	_, hash := invite(t, db, org, owner, "dora@example.com", sender)
	dora := &switchboard.Profile{Email: "dora@example.com", FirstName: "Dora", LastName: "Twice"}
	_, err := db.AcceptInvitationAsNewProfile(ctx, hash, dora, "hash", "192.0.2.20")
	must(t, err)
	_, err = db.AcceptInvitation(ctx, hash, dora, "192.0.2.20")
	wantCode(t, err, switchboard.EGONE)
	checkCounts(t, db, raw, "a used link accepted again", org, other)

	must(t, db.ChangeRole(ctx, actorOf(owner), org.ID, findMember(t, db, org.ID, ben.ID), administrator))
	checkCounts(t, db, raw, "role changed", org, other)
	must(t, db.RemoveMember(ctx, actorOf(owner), org.ID, findMember(t, db, org.ID, ben.ID), "member.revoked"))
	checkCounts(t, db, raw, "revoked", org, other)
	// A second revocation of the same member changes nothing.
	err = db.RemoveMember(ctx, actorOf(owner), org.ID, findMember(t, db, org.ID, cat.ID), "member.revoked")
	must(t, err)
	err = db.RemoveMember(ctx, actorOf(owner), org.ID, &switchboard.Member{OrgID: org.ID, ProfileID: cat.ID, Role: sender}, "member.revoked")
	wantCode(t, err, switchboard.ECONFLICT)
	checkCounts(t, db, raw, "revoked twice", org, other)
	must(t, db.RemoveMember(ctx, actorOf(ada), other.ID, findMember(t, db, other.ID, ada.ID), "member.left"))
	checkCounts(t, db, raw, "left", org, other, third)
	must(t, db.TransferOwnership(ctx, actorOf(owner), org.ID, owner.ID, ada.ID))
	checkCounts(t, db, raw, "ownership transferred", org, other, third)
	must(t, db.DeleteOrganisation(ctx, third.ID))
	checkCounts(t, db, raw, "organisation deleted", org, other)
	if _, err := db.CountMembers(ctx, third.ID); switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
		t.Fatalf("counting a deleted organisation: %v", err)
	}
}

// TestMemberCountParallel accepts and revokes in parallel, and the kept
// count still equals COUNT(*).
func TestMemberCountParallel(t *testing.T) {
	db, path := newDBWithPath(t)
	raw := rawDB(t, path)
	owner, org := newOwner(t, db, "Olivia", "Owner", "olivia@example.com")
	const n = 24
	var leaving []*switchboard.Profile
	for i := range n {
		leaving = append(leaving, addMember(t, db, org, owner, "Leo", fmt.Sprintf("Leaving%d", i), fmt.Sprintf("leaving%d@example.com", i), sender))
	}
	hashes := make([][]byte, n)
	for i := range n {
		_, hashes[i] = invite(t, db, org, owner, fmt.Sprintf("joining%d@example.com", i), sender)
	}
	checkCounts(t, db, raw, "before", org)

	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			p := &switchboard.Profile{Email: fmt.Sprintf("joining%d@example.com", i), FirstName: "Jo", LastName: fmt.Sprintf("Joining%d", i)}
			// Each link accepted three times at once: one joins.
			var joined sync.WaitGroup
			// Each caller has its own copy of the profile: on PostgreSQL the
			// transactions run side by side, and the store writes into p.
			for range 3 {
				q := *p
				joined.Go(func() { db.AcceptInvitation(ctx, hashes[i], &q, "192.0.2.20") })
			}
			if _, err := db.AcceptInvitationAsNewProfile(ctx, hashes[i], p, "hash", "192.0.2.20"); err != nil && switchboard.ErrorCode(err) != switchboard.EGONE {
				t.Errorf("accept %d: %v", i, err)
			}
			joined.Wait()
		})
		wg.Go(func() {
			m := &switchboard.Member{OrgID: org.ID, ProfileID: leaving[i].ID, Email: leaving[i].Email, Role: sender}
			// Revoked twice at once: one removes.
			var removed sync.WaitGroup
			for range 2 {
				removed.Go(func() { db.RemoveMember(ctx, actorOf(owner), org.ID, m, "member.revoked") })
			}
			removed.Wait()
		})
	}
	wg.Wait()
	checkCounts(t, db, raw, "after parallel joins and revocations", org)
	if c, _ := db.CountMembers(ctx, org.ID); c.Members != n+1 {
		t.Fatalf("%d members, want %d", c.Members, n+1)
	}
}

// TestPendingCount counts pending invitations until they are accepted,
// cancelled or expire.
func TestPendingCount(t *testing.T) {
	db := newDB(t)
	owner, org := newOwner(t, db, "Olivia", "Owner", "olivia@example.com")
	pending := func() int {
		t.Helper()
		c, err := db.CountMembers(ctx, org.ID)
		must(t, err)
		return c.Pending
	}
	a, _ := invite(t, db, org, owner, "a@example.com", sender)
	_, hash := invite(t, db, org, owner, "b@example.com", sender)
	setNow(db, t0.Add(time.Hour))
	invite(t, db, org, owner, "c@example.com", sender)
	if got := pending(); got != 3 {
		t.Fatalf("%d pending, want 3", got)
	}
	must(t, db.CancelInvitation(ctx, actorOf(owner), org.ID, a.ID))
	_, err := db.AcceptInvitationAsNewProfile(ctx, hash, &switchboard.Profile{Email: "b@example.com", FirstName: "B", LastName: "B"}, "hash", "192.0.2.20")
	must(t, err)
	if got := pending(); got != 1 {
		t.Fatalf("%d pending after a cancel and an accept, want 1", got)
	}
	setNow(db, t0.Add(switchboard.InvitationLifetime+2*time.Hour))
	if got := pending(); got != 0 {
		t.Fatalf("%d pending after expiry, want 0", got)
	}
}

// TestCountsBackfilled opens a database written before the counts and the
// search index existed: the migrations fill both from the members there.
func TestCountsBackfilled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	raw := rawDB(t, path)
	_, err := raw.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`)
	must(t, err)
	files, err := filepath.Glob("migrations/sqlite/000[1-6]_*.sql")
	must(t, err)
	if len(files) != 6 {
		t.Fatalf("migrations 1 to 6: %v", files)
	}
	for i, f := range files {
		body, err := os.ReadFile(f)
		must(t, err)
		_, err = raw.ExecContext(ctx, string(body))
		must(t, err)
		_, err = raw.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, ?, 0)`, i+1, filepath.Base(f))
		must(t, err)
	}
	for org, n := range []int{3, 0, 5} {
		_, err := raw.ExecContext(ctx, `INSERT INTO organisations (id, name, created_at) VALUES (?, 'Old', 0)`, org+1)
		must(t, err)
		for i := range n {
			email := fmt.Sprintf("p%d-%d@example.com", org, i)
			var id int64
			must(t, raw.QueryRowContext(ctx, `INSERT INTO profiles (email, password_hash, first_name, last_name, created_at) VALUES (?, 'x', 'Old', 'Timer', 0) RETURNING id`, email).Scan(&id))
			role := "sender"
			if i == 0 {
				role = "owner"
			}
			_, err = raw.ExecContext(ctx, `INSERT INTO members (org_id, profile_id, role, joined_at, sort_name) VALUES (?, ?, ?, 0, ?)`, org+1, id, role, "old timer "+email)
			must(t, err)
		}
	}
	raw.Close()

	db, err := store.Open(ctx, path)
	must(t, err)
	defer db.Close()
	raw = rawDB(t, path)
	orgs := []*switchboard.Organisation{{ID: 1}, {ID: 2}, {ID: 3}}
	checkCounts(t, db, raw, "migrated", orgs...)
	list, _, err := db.ListMembers(ctx, 3, "p2-4@", store.MemberCursor{}, 10)
	must(t, err)
	if len(list) != 1 || !strings.HasPrefix(list[0].Email, "p2-4@") {
		t.Fatalf("search after migration: %v", list)
	}
}
