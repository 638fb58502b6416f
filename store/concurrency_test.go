package store_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"switchboard"
)

func TestConcurrentAccept(t *testing.T) {
	db, path := newDBWithPath(t)
	owner, org := newOwner(t, db, "Olivia", "Owner", "olivia@example.com")
	invitee, _ := newOwner(t, db, "Ines", "Invited", "invited@example.com")
	inv, hash := invite(t, db, org, owner, invitee.Email, sender)

	const n = 50
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			p := *invitee // each request has its own copy, as in the handlers
			<-start
			_, errs[i] = db.AcceptInvitation(ctx, hash, &p, "192.0.2.1")
		})
	}
	close(start)
	wg.Wait()

	var ok, gone int
	for _, err := range errs {
		switch switchboard.ErrorCode(err) {
		case "":
			ok++
		case switchboard.EGONE:
			gone++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 || gone != n-1 {
		t.Fatalf("%d accepted and %d gone, want 1 and %d", ok, gone, n-1)
	}
	raw := rawDB(t, path)
	if c := count(t, raw, `SELECT COUNT(*) FROM members WHERE org_id = ? AND profile_id = ?`, org.ID, invitee.ID); c != 1 {
		t.Errorf("%d membership rows, want 1", c)
	}
	if c := count(t, raw, `SELECT COUNT(*) FROM invitations WHERE id = ? AND accepted_at IS NOT NULL AND accepted_by = ?`, inv.ID, invitee.ID); c != 1 {
		t.Errorf("invitation accepted %d times", c)
	}
	if c := count(t, raw, `SELECT COUNT(*) FROM audit_log WHERE org_id = ? AND action = 'invitation.accepted'`, org.ID); c != 1 {
		t.Errorf("%d audit entries for the acceptance, want 1", c)
	}
}

func TestConcurrentInvite(t *testing.T) {
	db, path := newDBWithPath(t)
	owner, org := newOwner(t, db, "Olivia", "Owner", "olivia@example.com")

	const n = 20
	hashes := make([][]byte, n)
	for i := range hashes {
		hashes[i] = newTokenHash(t)
	}
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = tryInvite(db, org, owner, "same@example.com", sender, hashes[i])
		})
	}
	close(start)
	wg.Wait()

	var ok, conflict int
	for _, err := range errs {
		switch switchboard.ErrorCode(err) {
		case "":
			ok++
		case switchboard.ECONFLICT:
			conflict++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 || conflict != n-1 {
		t.Fatalf("%d invited and %d conflicts, want 1 and %d", ok, conflict, n-1)
	}
	raw := rawDB(t, path)
	if c := count(t, raw, `SELECT COUNT(*) FROM invitations WHERE org_id = ?`, org.ID); c != 1 {
		t.Errorf("%d invitations, want 1", c)
	}
	if c := count(t, raw, `SELECT COUNT(*) FROM outbox`); c != 1 {
		t.Errorf("%d emails queued, want 1", c)
	}
}

// TestConcurrentWritesAndReads runs many writers and readers at once, as a
// busy server does: nothing may fail, and "database is locked" least of all.
func TestConcurrentWritesAndReads(t *testing.T) {
	db := newDB(t)
	const writers, writes, readers = 16, 50, 4
	profiles := make([]*switchboard.Profile, writers)
	orgs := make([]*switchboard.Organisation, writers)
	for i := range profiles {
		profiles[i], orgs[i] = newOwner(t, db, fmt.Sprintf("Writer%d", i), "Test", fmt.Sprintf("writer%d@example.com", i))
	}

	hashes := make([][]byte, writers*writes)
	for i := range hashes {
		hashes[i] = newTokenHash(t)
	}

	var mu sync.Mutex
	var errs []error
	record := func(err error) {
		if err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
	}

	done := make(chan struct{})
	var reads atomic.Int64
	var readersWG sync.WaitGroup
	for r := range readers {
		readersWG.Go(func() {
			for i := r; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				p := profiles[i%writers]
				_, err := db.ListMemberships(ctx, p.ID)
				record(err)
				_, err = db.FindMembership(ctx, orgs[i%writers].ID, p.ID)
				record(err)
				_, _, err = db.Sessions().FindCtx(ctx, fmt.Sprintf("s-%d-%d", i%writers, i%writes))
				record(err)
				_, _, err = db.ListPendingInvitations(ctx, orgs[i%writers].ID, 20)
				record(err)
				reads.Add(4)
			}
		})
	}

	var writersWG sync.WaitGroup
	for w := range writers {
		writersWG.Go(func() {
			p := *profiles[w]
			for j := range writes {
				var err error
				switch j % 4 {
				case 0:
					err = db.CreateOrganisation(ctx, &p, &switchboard.Organisation{Name: fmt.Sprintf("Org %d-%d", w, j)})
				case 1:
					p.FirstName = fmt.Sprintf("Writer%d-%d", w, j)
					err = db.UpdateProfile(ctx, &p)
				case 2:
					err = db.Sessions().CommitCtx(ctx, fmt.Sprintf("s-%d-%d", w, j), []byte("session data"), t0.Add(time.Hour))
				case 3:
					// Reads, then writes, in one transaction.
					_, err = tryInvite(db, orgs[w], &p, fmt.Sprintf("guest%d-%d@example.com", w, j), sender, hashes[w*writes+j])
				}
				record(err)
			}
		})
	}
	writersWG.Wait()
	close(done)
	readersWG.Wait()

	for _, err := range errs {
		msg := err.Error()
		if strings.Contains(msg, "database is locked") || strings.Contains(msg, "SQLITE_BUSY") {
			t.Errorf("busy: %v", err)
		} else {
			t.Errorf("error: %v", err)
		}
	}
	if reads.Load() == 0 {
		t.Error("the readers never ran")
	}
	wantOrgs, lastRename, wantInvitations := 1, 0, 0 // the first organisation, and what the writes did
	for j := range writes {
		switch j % 4 {
		case 0:
			wantOrgs++
		case 1:
			lastRename = j
		case 3:
			wantInvitations++
		}
	}
	for i, p := range profiles {
		list, err := db.ListMemberships(ctx, p.ID)
		must(t, err)
		if len(list) != wantOrgs {
			t.Errorf("writer %d owns %d organisations, want %d", i, len(list), wantOrgs)
		}
		if _, total, err := db.ListPendingInvitations(ctx, orgs[i].ID, 1); err != nil || total != wantInvitations {
			t.Errorf("writer %d's organisation has %d pending invitations, want %d (%v)", i, total, wantInvitations, err)
		}
		got, err := db.FindProfile(ctx, p.ID)
		must(t, err)
		if want := fmt.Sprintf("Writer%d-%d", i, lastRename); got.FirstName != want {
			t.Errorf("writer %d is called %q, want %q", i, got.FirstName, want)
		}
	}
}

// TestConcurrentTransfers hands one organisation to ten members at once:
// exactly one transfer wins and the organisation has exactly one owner.
func TestConcurrentTransfers(t *testing.T) {
	db, path := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ann", "Lee", "ann@example.com")
	var members []*switchboard.Profile
	for i := range 10 {
		members = append(members, addMember(t, db, org, owner, "M", fmt.Sprint(i), fmt.Sprintf("m%d@example.com", i), administrator))
	}
	var wg sync.WaitGroup
	var won atomic.Int32
	for _, m := range members {
		wg.Go(func() {
			err := db.TransferOwnership(ctx, actorOf(owner), org.ID, owner.ID, m.ID)
			if err == nil {
				won.Add(1)
			} else if switchboard.ErrorCode(err) != switchboard.ECONFLICT {
				t.Errorf("transfer to %s: %v", m.Email, err)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d transfers won, want exactly 1", won.Load())
	}
	raw := rawDB(t, path)
	if n := count(t, raw, `SELECT COUNT(*) FROM members WHERE org_id = ? AND role = 'owner'`, org.ID); n != 1 {
		t.Fatalf("%d owners, want 1", n)
	}
	if findMember(t, db, org.ID, owner.ID).Role.Kind != switchboard.RoleAdministrator {
		t.Fatal("the old owner is not an administrator")
	}
}
