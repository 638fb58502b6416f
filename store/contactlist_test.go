package store_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"switchboard"
	"switchboard/store"
)

// newGroup makes a group of the organisation and returns its id.
func newGroup(tb testing.TB, db *store.DB, orgID int64, name string) int64 {
	tb.Helper()
	g := &switchboard.Group{OrgID: orgID, Name: name}
	must(tb, db.CreateGroup(ctx, switchboard.Actor{}, g))
	return g.ID
}

// newContact adds a contact through the store.
func newContact(tb testing.TB, db *store.DB, orgID int64, phone, first, last string, groups ...int64) *switchboard.Contact {
	tb.Helper()
	c := &switchboard.Contact{OrgID: orgID, Phone: phone, FirstName: first, LastName: last}
	must(tb, c.Validate())
	must(tb, db.CreateContact(ctx, switchboard.Actor{}, c, groups))
	return c
}

func groupIDs(c *switchboard.Contact) []int64 {
	var ids []int64
	for _, g := range c.Groups {
		ids = append(ids, g.ID)
	}
	slices.Sort(ids)
	return ids
}

func TestContactCRUD(t *testing.T) {
	db, dsn := newDBWithPath(t)
	raw := rawDB(t, dsn)
	p, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	_, other := newOwner(t, db, "Eve", "Other", "eve@example.com")
	news, vip := newGroup(t, db, org.ID, "News"), newGroup(t, db, org.ID, "VIP")
	foreign := newGroup(t, db, other.ID, "Theirs")

	c := &switchboard.Contact{OrgID: org.ID, Phone: "+37255566677", FirstName: "Mari", LastName: "Tamm", Email: "mari@example.com", Company: "Acme"}
	must(t, db.CreateContact(ctx, actorOf(p), c, []int64{news, vip}))
	got, err := db.FindContact(ctx, org.ID, c.ID)
	must(t, err)
	if got.Phone != c.Phone || got.Name() != "Mari Tamm" || got.Email != "mari@example.com" || got.Company != "Acme" || got.OptedOut ||
		!slices.Equal(groupIDs(got), []int64{news, vip}) {
		t.Fatalf("found %+v", got)
	}

	t.Run("duplicate number", func(t *testing.T) {
		dup := &switchboard.Contact{OrgID: org.ID, Phone: "+37255566677", FirstName: "Other"}
		err := db.CreateContact(ctx, actorOf(p), dup, nil)
		wantCode(t, err, switchboard.ECONFLICT)
		if !strings.Contains(switchboard.Fields(err)["phone"], "There is already a contact with the number +37255566677") {
			t.Errorf("fields %v", switchboard.Fields(err))
		}
		// Another organisation may have the same number.
		must(t, db.CreateContact(ctx, actorOf(p), &switchboard.Contact{OrgID: other.ID, Phone: "+37255566677"}, nil))
	})
	t.Run("other organisation", func(t *testing.T) {
		_, err := db.FindContact(ctx, other.ID, c.ID)
		wantCode(t, err, switchboard.ENOTFOUND)
		wantCode(t, db.UpdateContact(ctx, actorOf(p), &switchboard.Contact{ID: c.ID, OrgID: other.ID, Phone: "+37255500000"}, nil), switchboard.ENOTFOUND)
		wantCode(t, db.DeleteContact(ctx, actorOf(p), other.ID, c.ID), switchboard.ENOTFOUND)
		// Another organisation's group in the form: nothing written.
		before := count(t, raw, `SELECT COUNT(*) FROM contacts`)
		wantCode(t, db.CreateContact(ctx, actorOf(p), &switchboard.Contact{OrgID: org.ID, Phone: "+37255500001"}, []int64{news, foreign}), switchboard.ENOTFOUND)
		if n := count(t, raw, `SELECT COUNT(*) FROM contacts`); n != before {
			t.Errorf("a refused add left %d contacts, want %d", n, before)
		}
		upd := *got
		upd.FirstName = "Changed"
		wantCode(t, db.UpdateContact(ctx, actorOf(p), &upd, []int64{foreign}), switchboard.ENOTFOUND)
		again, err := db.FindContact(ctx, org.ID, c.ID)
		must(t, err)
		if again.FirstName != "Mari" || !slices.Equal(groupIDs(again), []int64{news, vip}) {
			t.Errorf("a refused update changed the contact: %+v", again)
		}
		if n := count(t, raw, `SELECT COUNT(*) FROM group_contacts WHERE group_id = ?`, foreign); n != 0 {
			t.Errorf("%d contacts in another organisation's group", n)
		}
	})
	t.Run("update replaces the groups", func(t *testing.T) {
		upd := &switchboard.Contact{ID: c.ID, OrgID: org.ID, Phone: "+37255566678", FirstName: "Mari", LastName: "Kask"}
		must(t, db.UpdateContact(ctx, actorOf(p), upd, []int64{vip}))
		got, err := db.FindContact(ctx, org.ID, c.ID)
		must(t, err)
		if got.Phone != "+37255566678" || got.LastName != "Kask" || got.Email != "" || !slices.Equal(groupIDs(got), []int64{vip}) {
			t.Errorf("after update %+v", got)
		}
		newContact(t, db, org.ID, "+37255500002", "Jaan", "")
		wantCode(t, db.UpdateContact(ctx, actorOf(p), &switchboard.Contact{ID: c.ID, OrgID: org.ID, Phone: "+37255500002"}, nil), switchboard.ECONFLICT)
	})
	t.Run("delete", func(t *testing.T) {
		must(t, db.DeleteContact(ctx, actorOf(p), org.ID, c.ID))
		_, err := db.FindContact(ctx, org.ID, c.ID)
		wantCode(t, err, switchboard.ENOTFOUND)
		if n := count(t, raw, `SELECT COUNT(*) FROM group_contacts WHERE contact_id = ?`, c.ID); n != 0 {
			t.Errorf("a deleted contact is still in %d groups", n)
		}
		if n := count(t, raw, `SELECT COUNT(*) FROM audit_log WHERE org_id = ? AND action = 'contact.deleted' AND target = 'Mari Kask (+37255566678)'`, org.ID); n != 1 {
			t.Errorf("%d audit lines of the deletion", n)
		}
	})
}

// TestContactOptOut: the Opted out box writes the opt_outs row every send
// reads, is audited, and outlives the contact.
func TestContactOptOut(t *testing.T) {
	db, dsn := newDBWithPath(t)
	raw := rawDB(t, dsn)
	p, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	group := newGroup(t, db, org.ID, "News")
	c := &switchboard.Contact{OrgID: org.ID, Phone: "+37255500001", FirstName: "Mari", OptedOut: true}
	must(t, db.CreateContact(ctx, actorOf(p), c, []int64{group}))
	newContact(t, db, org.ID, "+37255500002", "Jaan", "", group)
	optOuts := func() int {
		return count(t, raw, `SELECT COUNT(*) FROM opt_outs WHERE org_id = ? AND phone = '+37255500001'`, org.ID)
	}
	if optOuts() != 1 {
		t.Fatal("ticking Opted out wrote no opt-out")
	}
	out, err := db.OptedOut(ctx, org.ID, []string{"+37255500001", "+37255500002"})
	must(t, err)
	phones, err := db.GroupPhones(ctx, org.ID, []int64{group})
	must(t, err)
	if !out["+37255500001"] || out["+37255500002"] || !slices.Equal(phones, []string{"+37255500002"}) {
		t.Fatalf("opted out %v, group sends to %v", out, phones)
	}
	c.OptedOut = false
	must(t, db.UpdateContact(ctx, actorOf(p), c, []int64{group}))
	if optOuts() != 0 {
		t.Fatal("unticking Opted out left the opt-out")
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM audit_log WHERE org_id = ? AND action = 'contact.opt_out_changed'`, org.ID); n != 2 {
		t.Errorf("%d audit lines of opt-out changes, want 2", n)
	}
	// Saving without a change writes no audit line.
	must(t, db.UpdateContact(ctx, actorOf(p), c, nil))
	if n := count(t, raw, `SELECT COUNT(*) FROM audit_log WHERE org_id = ? AND action = 'contact.opt_out_changed'`, org.ID); n != 2 {
		t.Errorf("%d audit lines of opt-out changes after a save that changed none, want 2", n)
	}
	// STOP, then the contact is deleted and added again unticked: the
	// opt-out stays.
	c.OptedOut = true
	must(t, db.UpdateContact(ctx, actorOf(p), c, nil))
	must(t, db.DeleteContact(ctx, actorOf(p), org.ID, c.ID))
	if optOuts() != 1 {
		t.Fatal("deleting the contact removed its opt-out")
	}
	again := &switchboard.Contact{OrgID: org.ID, Phone: "+37255500001"}
	must(t, db.CreateContact(ctx, actorOf(p), again, nil))
	if optOuts() != 1 || !again.OptedOut {
		t.Fatalf("adding the number again unticked cleared its opt-out (opted out %v)", again.OptedOut)
	}
}

func TestGroupRenameDelete(t *testing.T) {
	db, dsn := newDBWithPath(t)
	raw := rawDB(t, dsn)
	p, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	_, other := newOwner(t, db, "Eve", "Other", "eve@example.com")
	news, vip := newGroup(t, db, org.ID, "News"), newGroup(t, db, org.ID, "VIP")
	c := newContact(t, db, org.ID, "+37255500001", "Mari", "Tamm", news, vip)

	err := db.RenameGroup(ctx, actorOf(p), org.ID, news, "vip")
	wantCode(t, err, switchboard.ECONFLICT)
	if !strings.Contains(switchboard.Fields(err)["name"], "There is already a group named vip") {
		t.Errorf("fields %v", switchboard.Fields(err))
	}
	wantCode(t, db.RenameGroup(ctx, actorOf(p), other.ID, news, "Mine"), switchboard.ENOTFOUND)
	must(t, db.RenameGroup(ctx, actorOf(p), org.ID, news, "Newsletter"))
	g, err := db.FindGroup(ctx, org.ID, news)
	must(t, err)
	if g.Name != "Newsletter" || g.Contacts != 1 {
		t.Errorf("renamed group %+v", g)
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM audit_log WHERE action = 'group.renamed' AND target = 'Newsletter' AND detail = 'Was News.'`); n != 1 {
		t.Errorf("%d audit lines of the rename", n)
	}

	wantCode(t, db.DeleteGroup(ctx, actorOf(p), other.ID, news), switchboard.ENOTFOUND)
	must(t, db.DeleteGroup(ctx, actorOf(p), org.ID, news))
	_, err = db.FindGroup(ctx, org.ID, news)
	wantCode(t, err, switchboard.ENOTFOUND)
	got, err := db.FindContact(ctx, org.ID, c.ID)
	must(t, err)
	if !slices.Equal(groupIDs(got), []int64{vip}) {
		t.Errorf("after deleting its group the contact is in %v", groupIDs(got))
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM audit_log WHERE action = 'group.deleted' AND target = 'Newsletter'`); n != 1 {
		t.Errorf("%d audit lines of the deletion", n)
	}
}

// TestListContacts pages a phonebook under every kind of filter, both
// ways a page is found (the walk and the gather, forced by small limits),
// and checks each list against the whole phonebook filtered here: the same
// contacts, in name order, no duplicates, no gaps.
func TestListContacts(t *testing.T) {
	db := newDB(t)
	p, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	_, other := newOwner(t, db, "Eve", "Other", "eve@example.com")
	odd, rare := newGroup(t, db, org.ID, "Odd"), newGroup(t, db, org.ID, "Rare")
	foreign := newGroup(t, db, other.ID, "Theirs")
	firsts := []string{"Mari", "mart", "Jaan", "Kati", "", "Ülle", "Anna Maria"}
	lasts := []string{"Tamm", "Kask", "tammik", "", "Mets", "Saar"}
	r := rand.New(rand.NewPCG(1, 2))
	var all []switchboard.Contact
	for i := range 240 {
		c := switchboard.Contact{OrgID: org.ID, Phone: fmt.Sprintf("+3725%07d", r.IntN(10_000_000)), FirstName: firsts[r.IntN(len(firsts))], LastName: lasts[r.IntN(len(lasts))]}
		if slices.ContainsFunc(all, func(o switchboard.Contact) bool { return o.Phone == c.Phone }) {
			continue
		}
		var groups []int64
		if i%2 == 1 {
			groups = append(groups, odd)
		}
		if i%37 == 0 {
			groups = append(groups, rare)
		}
		must(t, db.CreateContact(ctx, actorOf(p), &c, groups))
		c.Groups = nil
		for _, g := range groups {
			c.Groups = append(c.Groups, switchboard.Group{ID: g})
		}
		all = append(all, c)
	}
	// Another organisation's contacts, with names and numbers like these.
	for i := range 30 {
		newContact(t, db, other.ID, fmt.Sprintf("+3725%07d", i), "Mari", "Tamm", foreign)
	}
	sort.Slice(all, func(i, j int) bool { return store.ContactKey(&all[i]) < store.ContactKey(&all[j]) })

	inGroup := func(c switchboard.Contact, g int64) bool {
		return slices.ContainsFunc(c.Groups, func(x switchboard.Group) bool { return x.ID == g })
	}
	lower := strings.ToLower
	cases := []struct {
		name  string
		f     store.ContactFilter
		match func(c switchboard.Contact) bool
	}{
		{"all", store.ContactFilter{}, func(switchboard.Contact) bool { return true }},
		{"first name", store.ContactFilter{Name: "MAR"}, func(c switchboard.Contact) bool {
			return strings.HasPrefix(lower(c.FirstName), "mar") || strings.HasPrefix(lower(c.LastName), "mar")
		}},
		{"last name", store.ContactFilter{Name: "tamm"}, func(c switchboard.Contact) bool {
			return strings.HasPrefix(lower(c.FirstName), "tamm") || strings.HasPrefix(lower(c.LastName), "tamm")
		}},
		{"full name", store.ContactFilter{Name: "Mari Tamm"}, func(c switchboard.Contact) bool {
			return strings.HasPrefix(lower(c.FirstName+" "+c.LastName), "mari tamm")
		}},
		{"nobody", store.ContactFilter{Name: "zz"}, func(switchboard.Contact) bool { return false }},
		{"number", store.ContactFilter{Phones: []string{"+37251", "+372599"}}, func(c switchboard.Contact) bool {
			return strings.HasPrefix(c.Phone, "+37251") || strings.HasPrefix(c.Phone, "+372599")
		}},
		{"group", store.ContactFilter{GroupID: odd}, func(c switchboard.Contact) bool { return inGroup(c, odd) }},
		{"rare group", store.ContactFilter{GroupID: rare}, func(c switchboard.Contact) bool { return inGroup(c, rare) }},
		{"group and name", store.ContactFilter{GroupID: odd, Name: "kat"}, func(c switchboard.Contact) bool {
			return inGroup(c, odd) && (strings.HasPrefix(lower(c.FirstName), "kat") || strings.HasPrefix(lower(c.LastName), "kat"))
		}},
	}
	for _, way := range []struct {
		name         string
		walk, gather int
	}{{"walk", 1000, 0}, {"gather", 1000, 1 << 30}, {"short walk", 7, 0}} {
		for _, tc := range cases {
			t.Run(way.name+"/"+tc.name, func(t *testing.T) {
				defer store.SetContactSearch(way.walk, way.gather)()
				var want []string
				for _, c := range all {
					if tc.match(c) {
						want = append(want, c.Phone)
					}
				}
				var got []string
				after := ""
				for pages := 0; ; pages++ {
					list, next, err := db.ListContacts(ctx, org.ID, tc.f, after, 9)
					must(t, err)
					if next != "" && len(list) != 9 {
						t.Fatalf("a page of %d before the last", len(list))
					}
					for _, c := range list {
						if c.OrgID != org.ID {
							t.Fatalf("another organisation's contact %+v", c)
						}
						got = append(got, c.Phone)
					}
					if next == "" {
						break
					}
					if pages > 100 {
						t.Fatal("endless pages")
					}
					after = next
				}
				if !slices.Equal(got, want) {
					t.Errorf("got %d contacts %v\nwant %d %v", len(got), got, len(want), want)
				}
			})
		}
	}
	t.Run("another organisation's group", func(t *testing.T) {
		_, _, err := db.ListContacts(ctx, org.ID, store.ContactFilter{GroupID: foreign}, "", 10)
		wantCode(t, err, switchboard.ENOTFOUND)
	})
	t.Run("groups and opt-outs on the page", func(t *testing.T) {
		list, _, err := db.ListContacts(ctx, org.ID, store.ContactFilter{GroupID: rare}, "", 100)
		must(t, err)
		for _, c := range list {
			if !slices.ContainsFunc(c.Groups, func(g switchboard.Group) bool { return g.ID == rare && g.Name == "Rare" }) {
				t.Errorf("%s shown without its group: %+v", c.Phone, c.Groups)
			}
		}
	})
}

func TestStreamContacts(t *testing.T) {
	db, dsn := newDBWithPath(t)
	raw := rawDB(t, dsn)
	p, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	_, other := newOwner(t, db, "Eve", "Other", "eve@example.com")
	news, vip := newGroup(t, db, org.ID, "News"), newGroup(t, db, org.ID, "VIP")
	foreign := newGroup(t, db, other.ID, "Theirs")
	defer func(n int) { store.ContactsChunk = n }(store.ContactsChunk)
	store.ContactsChunk = 4
	var inNews []string
	for i := range 11 {
		groups := []int64{vip}
		if i%3 == 0 {
			groups = append(groups, news)
			inNews = append(inNews, fmt.Sprintf("+3725550%04d", i))
		}
		c := &switchboard.Contact{OrgID: org.ID, Phone: fmt.Sprintf("+3725550%04d", i), FirstName: "N" + fmt.Sprint(i), OptedOut: i == 4}
		must(t, db.CreateContact(ctx, actorOf(p), c, groups))
		newContact(t, db, other.ID, fmt.Sprintf("+3725550%04d", i), "Theirs", "", foreign)
	}
	var all []string
	must(t, db.StreamContacts(ctx, org.ID, 0, func(c *switchboard.Contact) error {
		all = append(all, c.Phone)
		names := groupNames(c)
		wantGroups := "VIP"
		if slices.Contains(inNews, c.Phone) {
			wantGroups = "News,VIP"
		}
		if names != wantGroups || c.OptedOut != (c.Phone == "+37255500004") {
			t.Errorf("%s: groups %q opted out %v", c.Phone, names, c.OptedOut)
		}
		return nil
	}))
	if len(all) != 11 || all[0] != "+37255500000" || all[10] != "+37255500010" {
		t.Errorf("streamed %v", all)
	}
	var group []string
	must(t, db.StreamContacts(ctx, org.ID, news, func(c *switchboard.Contact) error { group = append(group, c.Phone); return nil }))
	if !slices.Equal(group, inNews) {
		t.Errorf("group streamed %v, want %v", group, inNews)
	}
	wantCode(t, db.StreamContacts(ctx, org.ID, foreign, func(*switchboard.Contact) error { return nil }), switchboard.ENOTFOUND)

	g, err := db.FindGroup(ctx, org.ID, news)
	must(t, err)
	must(t, db.ContactsExported(ctx, actorOf(p), org.ID, g))
	must(t, db.ContactsExported(ctx, actorOf(p), org.ID, nil))
	if n := count(t, raw, `SELECT COUNT(*) FROM audit_log WHERE org_id = ? AND action = 'contacts.exported' AND target IN ('Group News', 'All contacts')`, org.ID); n != 2 {
		t.Errorf("%d audit lines of exports, want 2", n)
	}
}

func groupNames(c *switchboard.Contact) string {
	var names []string
	for _, g := range c.Groups {
		names = append(names, g.Name)
	}
	return strings.Join(names, ",")
}
