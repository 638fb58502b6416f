package store_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"switchboard"
	"switchboard/store"
)

// newLink makes a group and a link to it in the organisation.
func newLink(tb testing.TB, db *store.DB, owner *switchboard.Profile, orgID int64, token string) (*switchboard.SubscriptionLink, *switchboard.Group) {
	tb.Helper()
	g := &switchboard.Group{OrgID: orgID, Name: "Newsletter " + token}
	must(tb, db.CreateGroup(ctx, actorOf(owner), g))
	l := &switchboard.SubscriptionLink{OrgID: orgID, Name: "Website footer", GroupID: g.ID, ConsentText: "I agree to receive offers by SMS.", Token: token}
	must(tb, l.Validate())
	must(tb, db.CreateSubscriptionLink(ctx, actorOf(owner), l))
	return l, g
}

func TestCreateSubscriptionLink(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	l, g := newLink(t, db, owner, org.ID, "tok-a")
	if l.ID == 0 || !l.Active || l.Joins != 0 || l.GroupName != g.Name || l.OrgName != org.Name || l.CreatedBy != owner.ID || !l.CreatedAt.Equal(t0) {
		t.Errorf("created = %+v", l)
	}
	found, err := db.FindSubscriptionLink(ctx, org.ID, l.ID)
	must(t, err)
	if *found != *l {
		t.Errorf("found %+v, created %+v", found, l)
	}
	byToken, err := db.FindLinkByToken(ctx, "tok-a")
	must(t, err)
	if byToken.ID != l.ID {
		t.Errorf("by token: %+v", byToken)
	}
	if !hasAction(t, db, org.ID, store.AuditLinkCreated) {
		t.Error("no audit line for the new link")
	}

	// Another organisation's group: ENOTFOUND, and nothing written.
	other, otherOrg := newOwner(t, db, "Bob", "Other", "bob@example.com")
	theirs := &switchboard.Group{OrgID: otherOrg.ID, Name: "Theirs"}
	must(t, db.CreateGroup(ctx, actorOf(other), theirs))
	bad := &switchboard.SubscriptionLink{OrgID: org.ID, Name: "Sneaky", GroupID: theirs.ID, ConsentText: "Yes", Token: "tok-b"}
	wantCode(t, db.CreateSubscriptionLink(ctx, actorOf(owner), bad), switchboard.ENOTFOUND)
	if n := count(t, rawDB(t, dsn), `SELECT COUNT(*) FROM subscription_links`); n != 1 {
		t.Errorf("%d links after the refused one", n)
	}

	// Tenant isolation of every finder.
	_, err = db.FindSubscriptionLink(ctx, otherOrg.ID, l.ID)
	wantCode(t, err, switchboard.ENOTFOUND)
	_, err = db.SetSubscriptionLinkActive(ctx, actorOf(other), otherOrg.ID, l.ID, false)
	wantCode(t, err, switchboard.ENOTFOUND)
	list, err := db.ListSubscriptionLinks(ctx, otherOrg.ID)
	must(t, err)
	if len(list) != 0 {
		t.Errorf("the other organisation lists %+v", list)
	}
	_, err = db.FindLinkByToken(ctx, "no such token")
	wantCode(t, err, switchboard.ENOTFOUND)
	if found, _ := db.FindSubscriptionLink(ctx, org.ID, l.ID); !found.Active {
		t.Error("another organisation switched the link off")
	}
}

func TestSubscriptionLinkSwitch(t *testing.T) {
	db := newDB(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	l, _ := newLink(t, db, owner, org.ID, "tok")
	off, err := db.SetSubscriptionLinkActive(ctx, actorOf(owner), org.ID, l.ID, false)
	must(t, err)
	if off.Active {
		t.Error("still on")
	}
	// Off again: no second audit line.
	_, err = db.SetSubscriptionLinkActive(ctx, actorOf(owner), org.ID, l.ID, false)
	must(t, err)
	on, err := db.SetSubscriptionLinkActive(ctx, actorOf(owner), org.ID, l.ID, true)
	must(t, err)
	if !on.Active {
		t.Error("still off")
	}
	got := strings.Join(auditActions(t, db, org.ID), " ")
	want := store.AuditLinkSwitchedOn + " " + store.AuditLinkSwitchedOff + " " + store.AuditLinkCreated
	if !strings.HasPrefix(got, want) {
		t.Errorf("audit %q, want it to start with %q", got, want)
	}
}

func TestJoinThroughLink(t *testing.T) {
	db, dsn := newDBWithPath(t)
	raw := rawDB(t, dsn)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	l, g := newLink(t, db, owner, org.ID, "tok")
	inGroup := func(phone string) int {
		return count(t, raw, `SELECT COUNT(*) FROM group_contacts gc JOIN contacts c ON c.id = gc.contact_id WHERE gc.group_id = ? AND c.phone = ?`, g.ID, phone)
	}

	// A new number: a new contact in the group, one join.
	c := &switchboard.Contact{Phone: "+37255500001", FirstName: "Mari"}
	got, added, err := db.JoinThroughLink(ctx, "tok", c)
	must(t, err)
	if !added || c.OrgID != org.ID || got.Joins != 1 || inGroup("+37255500001") != 1 {
		t.Errorf("join: added %v, contact %+v, link %+v", added, c, got)
	}
	// A number already in the phonebook (imported with a last name), not
	// in the group: updated, the last name kept, put in the group, counted.
	other := &switchboard.Group{OrgID: org.ID, Name: "Customers"}
	must(t, db.CreateGroup(ctx, actorOf(owner), other))
	_, err = db.JoinGroup(ctx, &switchboard.Contact{OrgID: org.ID, Phone: "+37255500002", FirstName: "Jaan", LastName: "Tamm"}, other.ID)
	must(t, err)
	got, added, err = db.JoinThroughLink(ctx, "tok", &switchboard.Contact{Phone: "+37255500002", FirstName: "Jaanus"})
	must(t, err)
	if added || got.Joins != 2 || inGroup("+37255500002") != 1 {
		t.Errorf("join of a known number: added %v, link %+v", added, got)
	}
	var first, last string
	must(t, raw.QueryRowContext(ctx, `SELECT first_name, last_name FROM contacts WHERE org_id = ? AND phone = ?`, org.ID, "+37255500002").Scan(&first, &last))
	if first != "Jaanus" || last != "Tamm" {
		t.Errorf("the known contact is %q %q", first, last)
	}
	// The same number again: fine, not counted twice, one row.
	got, _, err = db.JoinThroughLink(ctx, "tok", &switchboard.Contact{Phone: "+37255500001", FirstName: "Mari"})
	must(t, err)
	if got.Joins != 2 || inGroup("+37255500001") != 1 {
		t.Errorf("joining again: link %+v, %d rows", got, inGroup("+37255500001"))
	}
	if found, _ := db.FindSubscriptionLink(ctx, org.ID, l.ID); found.Joins != 2 {
		t.Errorf("stored joins %d", found.Joins)
	}

	// A STOP stands: joining does not remove the opt-out.
	_, err = raw.ExecContext(ctx, `INSERT INTO opt_outs (org_id, phone, created_at) VALUES (?, ?, ?)`, org.ID, "+37255500001", t0.UnixMilli())
	must(t, err)
	_, _, err = db.JoinThroughLink(ctx, "tok", &switchboard.Contact{Phone: "+37255500001"})
	must(t, err)
	out, err := db.OptedOut(ctx, org.ID, []string{"+37255500001"})
	must(t, err)
	if !out["+37255500001"] {
		t.Error("joining through a link removed the opt-out")
	}

	// Switched off: EGONE, nothing written.
	_, err = db.SetSubscriptionLinkActive(ctx, actorOf(owner), org.ID, l.ID, false)
	must(t, err)
	contacts := count(t, raw, `SELECT COUNT(*) FROM contacts`)
	_, _, err = db.JoinThroughLink(ctx, "tok", &switchboard.Contact{Phone: "+37255500009", FirstName: "Late"})
	wantCode(t, err, switchboard.EGONE)
	if n := count(t, raw, `SELECT COUNT(*) FROM contacts`); n != contacts {
		t.Errorf("a join through a switched-off link wrote a contact: %d, was %d", n, contacts)
	}
	// Unknown token: ENOTFOUND.
	_, _, err = db.JoinThroughLink(ctx, "nope", &switchboard.Contact{Phone: "+37255500009"})
	wantCode(t, err, switchboard.ENOTFOUND)
}

// TestJoinThroughLinkRacesSwitchOff: joins running while the link is
// switched off either count and write their contact, or write nothing;
// never a contact without its join counted.
func TestJoinThroughLinkRacesSwitchOff(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	l, g := newLink(t, db, owner, org.ID, "tok")
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			phone := "+3725550" + string(rune('1'+i/10)) + string(rune('0'+i%10)) + "00"
			_, _, err := db.JoinThroughLink(ctx, "tok", &switchboard.Contact{Phone: phone})
			if err != nil && switchboard.ErrorCode(err) != switchboard.EGONE {
				t.Errorf("join %s: %v", phone, err)
			}
		})
		if i == 10 {
			wg.Go(func() {
				_, err := db.SetSubscriptionLinkActive(ctx, actorOf(owner), org.ID, l.ID, false)
				must(t, err)
			})
		}
	}
	wg.Wait()
	found, err := db.FindSubscriptionLink(ctx, org.ID, l.ID)
	must(t, err)
	raw := rawDB(t, dsn)
	if n := count(t, raw, `SELECT COUNT(*) FROM group_contacts WHERE group_id = ?`, g.ID); n != found.Joins || count(t, raw, `SELECT COUNT(*) FROM contacts`) != n {
		t.Errorf("%d in the group, %d joins counted", n, found.Joins)
	}
}

// BenchmarkJoinThroughLink is the store's part of a join: the link read
// and checked, the contact added (a new number each time) or updated (the
// same number again), put in the group, the join counted, in one
// transaction.
func BenchmarkJoinThroughLink(b *testing.B) {
	db, _ := newDBWithPath(b)
	owner, org := newOwner(b, db, "Ada", "Lovelace", "ada@example.com")
	newLink(b, db, owner, org.ID, "tok")
	b.Run("new number", func(b *testing.B) {
		n := 0
		b.ReportAllocs()
		for b.Loop() {
			n++
			if _, _, err := db.JoinThroughLink(ctx, "tok", &switchboard.Contact{Phone: fmt.Sprintf("+3725%07d", n), FirstName: "Mari"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("same number", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := db.JoinThroughLink(ctx, "tok", &switchboard.Contact{Phone: "+37255500001", FirstName: "Mari"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
