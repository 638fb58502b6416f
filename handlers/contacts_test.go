package handlers_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"switchboard"
)

// addContact adds a contact through the form and returns its id.
func addContact(t *testing.T, p *person, org int64, form url.Values) int64 {
	t.Helper()
	res := p.post(path(org, "contacts/new"), form)
	wantStatus(t, res, http.StatusSeeOther)
	return int64(p.app.rows(`SELECT MAX(id) FROM contacts WHERE org_id = ?`, org))
}

// addGroup creates a group through the form and returns its id.
func addGroup(t *testing.T, p *person, org int64, name string) int64 {
	t.Helper()
	wantStatus(t, p.post(path(org, "groups"), url.Values{"name": {name}}), http.StatusSeeOther)
	groups, err := p.app.db.ListGroups(context.Background(), org)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		if g.Name == name {
			return g.ID
		}
	}
	t.Fatalf("no group %s", name)
	return 0
}

var contactRowID = regexp.MustCompile(`<tr id="contact-(\d+)">`)

// contactRows returns the ids of the contacts a page lists, in order.
func contactRows(body string) []string {
	var ids []string
	for _, m := range contactRowID.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// TestContactsAsSender: a Sender (Contacts is every built-in role's)
// adds, finds, edits and deletes a contact.
func TestContactsAsSender(t *testing.T) {
	a, owner, sender := sendWorld(t)
	a.fundOrg(owner.org, 0, "EE")
	news := addGroup(t, sender, owner.org, "News")
	vip := addGroup(t, sender, owner.org, "VIP")

	res := sender.get(path(owner.org, "contacts/new"))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, `<label for="phone">Phone number</label>`, `<label for="first_name">First name</label>`, `<label for="last_name">Last name</label>`,
		`<label for="email">Email</label>`, `<label for="company">Company</label>`, `<legend>Groups</legend>`, `<label for="opted_out">Opted out</label>`,
		`<label for="group-`+itoa(news)+`">News`, ">Add contact</button>", `aria-current="page">Contacts`)

	// A number as people type it, with the organisation's country.
	id := addContact(t, sender, owner.org, url.Values{"phone": {"5556 6677"}, "first_name": {"Mari"}, "last_name": {"Tamm"}, "email": {"mari@example.com"},
		"company": {"Acme"}, "groups": {itoa(news), itoa(vip)}})
	ct, err := a.db.FindContact(context.Background(), owner.org, id)
	if err != nil || ct.Phone != "+37255566677" || len(ct.Groups) != 2 {
		t.Fatalf("saved %+v, %v", ct, err)
	}
	res = sender.get(path(owner.org, "contacts"))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "The contact Mari Tamm (+37255566677) was added.", `<tr id="contact-`+itoa(id)+`">`, "+37255566677", "Mari Tamm", "mari@example.com", "Acme", "News, VIP",
		`href="`+path(owner.org, "messages/new")+`?to=%2B37255566677"`, "Send SMS<span class=\"sr-only\"> to +37255566677</span>",
		`<th scope="col">Phone number</th>`, `<label for="q">Search</label>`, ">Search</button>")

	// Edit: the form shows it; saving replaces the groups.
	res = sender.get(path(owner.org, "contacts/"+itoa(id)))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, `value="+37255566677"`, `value="Mari"`, `value="`+itoa(news)+`" checked`, `value="`+itoa(vip)+`" checked`, ">Save contact</button>",
		`href="`+path(owner.org, "messages/new")+`?to=%2B37255566677"`)
	res = sender.post(path(owner.org, "contacts/"+itoa(id)), url.Values{"phone": {"+37255566677"}, "first_name": {"Mari"}, "last_name": {"Kask"}, "groups": {itoa(vip)}})
	wantStatus(t, res, http.StatusSeeOther)
	ct, _ = a.db.FindContact(context.Background(), owner.org, id)
	if ct.LastName != "Kask" || ct.Email != "" || len(ct.Groups) != 1 || ct.Groups[0].ID != vip {
		t.Fatalf("after edit %+v", ct)
	}

	// Delete: a confirmation page, then the POST.
	res = sender.get(path(owner.org, "contacts/"+itoa(id)+"/delete"))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "Delete the contact Mari Kask (+37255566677)?", ">Delete contact</button>")
	wantStatus(t, sender.post(path(owner.org, "contacts/"+itoa(id)+"/delete"), nil), http.StatusSeeOther)
	wantStatus(t, sender.get(path(owner.org, "contacts/"+itoa(id))), http.StatusNotFound)
	if n := a.rows(`SELECT COUNT(*) FROM audit_log WHERE org_id = ? AND action = 'contact.deleted' AND actor_id = ?`, owner.org, sender.profile); n != 1 {
		t.Errorf("%d audit lines of the deletion", n)
	}
}

// TestContactValidation: bad input answers 422 beside its field, with the
// typed values kept; a number the organisation has links to its contact.
func TestContactValidation(t *testing.T) {
	a, owner, _ := sendWorld(t)
	a.fundOrg(owner.org, 0, "EE")
	first := addContact(t, owner, owner.org, url.Values{"phone": {"+37255500001"}, "first_name": {"Jaan"}})
	long := strings.Repeat("x", 101)
	for _, tc := range []struct {
		name  string
		form  url.Values
		field string
		want  string
	}{
		{"bad number", url.Values{"phone": {"12ab"}, "first_name": {"Mari"}}, "phone", "12ab is not a phone number."},
		{"no number", url.Values{"first_name": {"Mari"}}, "phone", "Enter the phone number"},
		{"bad email", url.Values{"phone": {"+37255500002"}, "email": {"not an email"}, "first_name": {"Mari"}}, "email", ""},
		{"long first name", url.Values{"phone": {"+37255500002"}, "first_name": {long}}, "first_name", "First name can be at most 100 characters."},
		{"long last name", url.Values{"phone": {"+37255500002"}, "last_name": {long}}, "last_name", "Last name can be at most 100 characters."},
		{"long company", url.Values{"phone": {"+37255500002"}, "company": {long}}, "company", "Company can be at most 100 characters."},
		{"duplicate", url.Values{"phone": {"+372 5550 0001"}, "first_name": {"Mari"}}, "phone", "There is already a contact with the number +37255500001."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := owner.post(path(owner.org, "contacts/new"), tc.form)
			wantStatus(t, res, http.StatusUnprocessableEntity)
			wantContains(t, res, `<p class="error" id="`+tc.field+`-error">`+tc.want, `aria-invalid="true"`)
			for k, v := range tc.form {
				if k != "phone" || tc.field == "phone" {
					wantContains(t, res, `value="`+templEscape(v[0])+`"`)
				}
			}
			if tc.name == "duplicate" {
				wantContains(t, res, `href="`+path(owner.org, "contacts/"+itoa(first))+`">Open the contact with this number</a>`)
			}
		})
	}
	if n := a.rows(`SELECT COUNT(*) FROM contacts WHERE org_id = ?`, owner.org); n != 1 {
		t.Errorf("%d contacts after refused forms, want 1", n)
	}
	// Editing to another contact's number is refused too.
	second := addContact(t, owner, owner.org, url.Values{"phone": {"+37255500003"}})
	res := owner.post(path(owner.org, "contacts/"+itoa(second)), url.Values{"phone": {"+37255500001"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "There is already a contact with the number +37255500001.", `href="`+path(owner.org, "contacts/"+itoa(first))+`"`)
}

// templEscape is s as templ writes it in an attribute.
func templEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", `"`, "&#34;", "'", "&#39;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// TestContactOptOutAndSend: the Opted out box writes the opt-out every
// send reads (audited); a send to the group then leaves that number out,
// and deleting the contact does not bring it back.
func TestContactOptOutAndSend(t *testing.T) {
	a, owner, sender := sendWorld(t)
	a.fundOrg(owner.org, 10_000, "EE")
	group := addGroup(t, owner, owner.org, "News")
	out := addContact(t, sender, owner.org, url.Values{"phone": {"+37255500001"}, "groups": {itoa(group)}, "opted_out": {"on"}})
	addContact(t, sender, owner.org, url.Values{"phone": {"+37255500002"}, "groups": {itoa(group)}})
	addContact(t, sender, owner.org, url.Values{"phone": {"+37255500003"}, "groups": {itoa(group)}})
	if n := a.rows(`SELECT COUNT(*) FROM opt_outs WHERE org_id = ? AND phone = '+37255500001'`, owner.org); n != 1 {
		t.Fatal("the Opted out box wrote no opt-out")
	}
	res := sender.get(path(owner.org, "contacts"))
	wantContains(t, res, `<span class="badge state-opted-out">Opted out</span>`)
	if n := a.rows(`SELECT COUNT(*) FROM audit_log WHERE org_id = ? AND action = 'contact.opt_out_changed'`, owner.org); n != 1 {
		t.Errorf("%d audit lines of the opt-out", n)
	}

	// The group's Send SMS link ticks it; the preview counts its numbers
	// without the one that opted out, and one typed in too is sent once.
	res = sender.get(path(owner.org, "messages/new?group="+itoa(group)))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, `<legend>Groups</legend>`, `name="groups" value="`+itoa(group)+`" checked`)
	form := url.Values{"from": {"Switchboard"}, "to": {"+37255500002\n+37255500009"}, "groups": {itoa(group)}, "message": {"Hello"}, "action": {"preview"}}
	res = sender.post(path(owner.org, "messages/new"), form)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "<dt>Recipients</dt><dd>3</dd>", "(1 duplicate)")
	form.Set("action", "send")
	wantStatus(t, sender.post(path(owner.org, "messages/new"), form), http.StatusSeeOther)
	for phone, want := range map[string]int{"+37255500001": 0, "+37255500002": 1, "+37255500003": 1, "+37255500009": 1} {
		if n := a.rows(`SELECT COUNT(*) FROM messages m JOIN message_queue q ON q.message_id = m.id WHERE m.org_id = ? AND m.recipient = ?`, owner.org, phone); n != want {
			t.Errorf("%s: %d messages queued, want %d", phone, n, want)
		}
	}

	// Deleted, the contact who opted out stays opted out.
	wantStatus(t, sender.post(path(owner.org, "contacts/"+itoa(out)+"/delete"), nil), http.StatusSeeOther)
	form.Set("to", "+37255500001")
	form.Del("groups")
	form.Set("action", "preview")
	res = sender.post(path(owner.org, "messages/new"), form)
	wantContains(t, res, "<dt>Recipients</dt><dd>0</dd>", "1 opted out")

	// Unticking the box on the contact's page removes the opt-out.
	again := addContact(t, sender, owner.org, url.Values{"phone": {"+37255500001"}})
	wantContains(t, sender.get(path(owner.org, "contacts/"+itoa(again))), `name="opted_out" value="on" aria-describedby="opted_out-hint" checked`)
	wantStatus(t, sender.post(path(owner.org, "contacts/"+itoa(again)), url.Values{"phone": {"+37255500001"}}), http.StatusSeeOther)
	if n := a.rows(`SELECT COUNT(*) FROM opt_outs WHERE org_id = ?`, owner.org); n != 0 {
		t.Errorf("unticking Opted out left %d opt-outs", n)
	}

	// A group where everyone opted out: nothing to send, said beside Groups.
	empty := addGroup(t, owner, owner.org, "Empty")
	res = sender.post(path(owner.org, "messages/new"), url.Values{"from": {"Switchboard"}, "groups": {itoa(empty)}, "message": {"Hello"}, "action": {"send"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="groups-error">There is no one to send to`)
}

// TestContactSearch finds a contact by the start of a name and by its
// number in any usual form, and pages through the rest without gaps.
func TestContactSearch(t *testing.T) {
	a, owner, _ := sendWorld(t)
	a.fundOrg(owner.org, 0, "EE")
	group := addGroup(t, owner, owner.org, "Tartu")
	mari := addContact(t, owner, owner.org, url.Values{"phone": {"+37255566677"}, "first_name": {"Mari"}, "last_name": {"Tamm"}, "groups": {itoa(group)}})
	ctx := context.Background()
	for i := range 120 {
		ct := &switchboard.Contact{OrgID: owner.org, Phone: fmt.Sprintf("+3725100%04d", i), FirstName: fmt.Sprintf("Person %03d", i)}
		if err := a.db.CreateContact(ctx, switchboard.Actor{}, ct, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{"mari", "TAMM", "Mari T", "+372 5556 6677", "55566677", "5556 66", "0037255566677", "37255566677", "+3725556"} {
		res := owner.get(path(owner.org, "contacts?q="+url.QueryEscape(q)))
		wantStatus(t, res, http.StatusOK)
		if ids := contactRows(res.body); len(ids) != 1 || ids[0] != itoa(mari) {
			t.Errorf("search %q lists %v, want Mari Tamm alone", q, ids)
		}
	}
	res := owner.get(path(owner.org, "contacts?q=nobody"))
	wantContains(t, res, "No contact matches this search.")
	res = owner.get(path(owner.org, "contacts?q="+strings.Repeat("a", 101)))
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="q-error">Search for at most 100 characters`)

	// The group's count links to its contacts.
	res = owner.get(path(owner.org, "groups"))
	wantContains(t, res, `href="`+path(owner.org, "contacts")+`?group=`+itoa(group)+`">1 contact`)
	res = owner.get(path(owner.org, "contacts?group="+itoa(group)))
	if ids := contactRows(res.body); len(ids) != 1 || ids[0] != itoa(mari) {
		t.Errorf("the group lists %v", ids)
	}

	// Paging: 121 contacts in pages of 50, each once, in name order.
	seen := map[string]bool{}
	next := path(owner.org, "contacts?q=")
	pages := 0
	for next != "" {
		res := owner.get(next)
		wantStatus(t, res, http.StatusOK)
		for _, id := range contactRows(res.body) {
			if seen[id] {
				t.Fatalf("contact %s on two pages", id)
			}
			seen[id] = true
		}
		pages++
		next = ""
		if m := regexp.MustCompile(`<a href="([^"]+)" rel="next">Next page</a>`).FindStringSubmatch(res.body); m != nil {
			next = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if len(seen) != 121 || pages != 3 {
		t.Errorf("%d contacts on %d pages, want 121 on 3", len(seen), pages)
	}
}

func TestGroupsPage(t *testing.T) {
	a, owner, sender := sendWorld(t)
	a.fundOrg(owner.org, 0, "EE")
	wantStatus(t, sender.post(path(owner.org, "groups"), url.Values{"name": {"News"}}), http.StatusSeeOther)
	wantContains(t, sender.get(path(owner.org, "groups")), "The group News was created.")
	news := int64(a.rows(`SELECT id FROM contact_groups WHERE org_id = ? AND name = 'News'`, owner.org))
	addContact(t, sender, owner.org, url.Values{"phone": {"+37255500001"}, "groups": {itoa(news)}})
	addContact(t, sender, owner.org, url.Values{"phone": {"+37255500002"}, "groups": {itoa(news)}})

	res := sender.get(path(owner.org, "groups"))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, `aria-current="page">Groups`, "2 contacts", `<label for="name">Name</label>`, ">Create group</button>",
		`<label for="group-`+itoa(news)+`-name">Name</label>`, `href="`+path(owner.org, "messages/new")+`?group=`+itoa(news)+`"`)

	// Duplicate names, whatever their case, beside Name with the value kept.
	res = sender.post(path(owner.org, "groups"), url.Values{"name": {"NEWS"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="name-error">There is already a group named NEWS.`, `value="NEWS"`)
	res = sender.post(path(owner.org, "groups"), url.Values{"name": {" "}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="name-error">Enter the group&#39;s name`)

	vip := addGroup(t, sender, owner.org, "VIP")
	res = sender.post(path(owner.org, "groups/"+itoa(vip)), url.Values{"name": {"news"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="group-`+itoa(vip)+`-name-error">There is already a group named news.`)
	wantStatus(t, sender.post(path(owner.org, "groups/"+itoa(news)), url.Values{"name": {"Newsletter"}}), http.StatusSeeOther)
	wantContains(t, sender.get(path(owner.org, "groups")), "The group News is now named Newsletter.", `value="Newsletter"`)

	// Deleting a group keeps its contacts.
	res = sender.get(path(owner.org, "groups/"+itoa(news)+"/delete"))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "Delete the group Newsletter?", "2 contacts stay", ">Delete group</button>")
	wantStatus(t, sender.post(path(owner.org, "groups/"+itoa(news)+"/delete"), nil), http.StatusSeeOther)
	if n := a.rows(`SELECT COUNT(*) FROM contacts WHERE org_id = ?`, owner.org); n != 2 {
		t.Errorf("%d contacts after deleting their group, want 2", n)
	}
	for _, action := range []string{"group.created", "group.renamed", "group.deleted"} {
		if n := a.rows(`SELECT COUNT(*) FROM audit_log WHERE org_id = ? AND action = ?`, owner.org, action); n == 0 {
			t.Errorf("no audit line %s", action)
		}
	}
}

// TestContactsExport downloads the phonebook and a group as CSV: every
// contact, its groups and opt-out, cells that a spreadsheet would run
// guarded, and an audit line naming the group.
func TestContactsExport(t *testing.T) {
	a, owner, sender := sendWorld(t)
	a.fundOrg(owner.org, 0, "EE")
	news := addGroup(t, owner, owner.org, "News")
	vip := addGroup(t, owner, owner.org, "VIP")
	addContact(t, sender, owner.org, url.Values{"phone": {"+37255500001"}, "first_name": {"=HYPERLINK(\"http://evil\")"}, "last_name": {"+1"}, "company": {"@corp"},
		"groups": {itoa(news), itoa(vip)}, "opted_out": {"on"}})
	addContact(t, sender, owner.org, url.Values{"phone": {"+37255500002"}, "first_name": {"Mari"}, "last_name": {"Tamm, Jr."}, "email": {"mari@example.com"}})
	other := a.signup("other@example.com", "Other")
	theirs := addGroup(t, other, other.org, "Theirs")
	addContact(t, other, other.org, url.Values{"phone": {"+37255500003"}, "groups": {itoa(theirs)}})

	read := func(res *response) [][]string {
		t.Helper()
		wantStatus(t, res, http.StatusOK)
		if ct := res.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
			t.Fatalf("Content-Type %q", ct)
		}
		rows, err := csv.NewReader(strings.NewReader(res.body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	rows := read(sender.get(path(owner.org, "contacts.csv")))
	want := [][]string{
		{"Phone", "First name", "Last name", "Email", "Company", "Groups", "Opted out"},
		{"+37255500001", `'=HYPERLINK("http://evil")`, "+1", "", "'@corp", "News; VIP", "Yes"},
		{"+37255500002", "Mari", "Tamm, Jr.", "mari@example.com", "", "", "No"},
	}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("export\n%q\nwant\n%q", rows, want)
	}
	rows = read(sender.get(path(owner.org, "contacts.csv?group="+itoa(news))))
	if len(rows) != 2 || rows[1][0] != "+37255500001" {
		t.Errorf("the group's export %q", rows)
	}
	if n := a.rows(`SELECT COUNT(*) FROM audit_log WHERE org_id = ? AND action = 'contacts.exported' AND target = 'Group News' AND actor_id = ?`, owner.org, sender.profile); n != 1 {
		t.Errorf("%d audit lines naming the group", n)
	}
	// Another organisation's group: 404, nothing exported.
	res := sender.get(path(owner.org, "contacts.csv?group="+itoa(theirs)))
	wantStatus(t, res, http.StatusNotFound)
	wantNotContains(t, res, "+37255500003", "Theirs")
	wantStatus(t, sender.get(path(owner.org, "contacts.csv?group=x")), http.StatusNotFound)
	// The link on the page carries the group filtered by.
	wantContains(t, sender.get(path(owner.org, "contacts?group="+itoa(news))), `href="`+path(owner.org, "contacts.csv")+`?group=`+itoa(news)+`" download>Export CSV`)
}

// TestContactsTenantIsolation tries another organisation's contact and
// group ids in the URL and in the forms: 404, and nothing changes.
func TestContactsTenantIsolation(t *testing.T) {
	a, owner, sender := sendWorld(t)
	a.fundOrg(owner.org, 10_000, "EE")
	mine := addGroup(t, owner, owner.org, "Mine")
	contact := addContact(t, owner, owner.org, url.Values{"phone": {"+37255500001"}, "first_name": {"Mari"}, "groups": {itoa(mine)}})
	other := a.signup("other@example.com", "Other")
	theirGroup := addGroup(t, other, other.org, "Theirs")
	theirContact := addContact(t, other, other.org, url.Values{"phone": {"+37255500002"}, "first_name": {"Secret"}, "groups": {itoa(theirGroup)}})

	snapshot := func() string {
		var parts []string
		for _, q := range []string{`SELECT COUNT(*) FROM contacts`, `SELECT COUNT(*) FROM group_contacts`, `SELECT COUNT(*) FROM contact_groups`,
			`SELECT COUNT(*) FROM opt_outs`, `SELECT COUNT(*) FROM messages`, `SELECT COUNT(*) FROM contacts WHERE first_name = 'Secret'`,
			`SELECT COUNT(*) FROM contact_groups WHERE name = 'Theirs'`} {
			parts = append(parts, itoa(int64(a.rows(q))))
		}
		return strings.Join(parts, ",")
	}
	before := snapshot()
	for _, who := range []*person{sender, owner} {
		for _, tc := range []struct {
			method, path string
			form         url.Values
		}{
			{"GET", path(owner.org, "contacts/"+itoa(theirContact)), nil},
			{"POST", path(owner.org, "contacts/"+itoa(theirContact)), url.Values{"phone": {"+37255500002"}, "first_name": {"Mine now"}}},
			{"GET", path(owner.org, "contacts/"+itoa(theirContact)+"/delete"), nil},
			{"POST", path(owner.org, "contacts/"+itoa(theirContact)+"/delete"), nil},
			{"GET", path(owner.org, "contacts?group="+itoa(theirGroup)), nil},
			{"GET", path(owner.org, "groups/"+itoa(theirGroup)+"/delete"), nil},
			{"POST", path(owner.org, "groups/"+itoa(theirGroup)), url.Values{"name": {"Stolen"}}},
			{"POST", path(owner.org, "groups/"+itoa(theirGroup)+"/delete"), nil},
			{"POST", path(owner.org, "contacts/new"), url.Values{"phone": {"+37255500009"}, "groups": {itoa(mine), itoa(theirGroup)}}},
			{"POST", path(owner.org, "contacts/"+itoa(contact)), url.Values{"phone": {"+37255500001"}, "groups": {itoa(theirGroup)}, "opted_out": {"on"}}},
			{"POST", path(owner.org, "contacts/new"), url.Values{"phone": {"+37255500009"}, "groups": {"not-an-id"}}},
			{"GET", path(owner.org, "messages/new?group="+itoa(theirGroup)), nil},
			{"POST", path(owner.org, "messages/new"), url.Values{"from": {"Switchboard"}, "groups": {itoa(theirGroup)}, "message": {"Hi"}, "action": {"send"}}},
			{"POST", path(owner.org, "messages/preview"), url.Values{"from": {"Switchboard"}, "groups": {itoa(mine), itoa(theirGroup)}, "message": {"Hi"}}},
			// The other organisation's URL with this organisation's ids.
			{"GET", path(other.org, "contacts/"+itoa(contact)), nil},
		} {
			var res *response
			if tc.method == "GET" {
				res = who.get(tc.path)
			} else {
				res = who.post(tc.path, tc.form)
			}
			if res.status != http.StatusNotFound {
				t.Errorf("%s %s %v as %s: %d, want 404", tc.method, tc.path, tc.form, who.email, res.status)
			}
			wantNotContains(t, res, "Secret", "Theirs")
		}
	}
	if after := snapshot(); after != before {
		t.Errorf("refused requests changed the data: %s → %s", before, after)
	}
	ct, _ := a.db.FindContact(context.Background(), owner.org, contact)
	if ct.OptedOut || len(ct.Groups) != 1 || ct.Groups[0].ID != mine {
		t.Errorf("the contact changed: %+v", ct)
	}
}

// TestContactsNeedTheSection: a custom role without Contacts gets the 403
// page on every contacts and groups page.
func TestContactsNeedTheSection(t *testing.T) {
	a, owner, _ := sendWorld(t)
	ctx := context.Background()
	role := switchboard.Role{Name: "Texter", Permissions: []switchboard.Permission{switchboard.PermMessages}}
	if err := a.db.CreateRole(ctx, switchboard.Actor{ProfileID: owner.profile}, owner.org, &role); err != nil {
		t.Fatal(err)
	}
	texter := a.join(a.invite(owner, owner.org, "texter@example.com", "custom:"+itoa(role.ID)), "texter@example.com")
	group := addGroup(t, owner, owner.org, "News")
	contact := addContact(t, owner, owner.org, url.Values{"phone": {"+37255500001"}})
	for _, p := range []string{"contacts", "contacts.csv", "contacts/new", "contacts/" + itoa(contact), "contacts/" + itoa(contact) + "/delete", "groups", "groups/" + itoa(group) + "/delete"} {
		res := texter.get(path(owner.org, p))
		wantStatus(t, res, http.StatusForbidden)
		wantContains(t, res, "You don&#39;t have access")
	}
	for _, p := range []string{"contacts/new", "contacts/" + itoa(contact), "contacts/" + itoa(contact) + "/delete", "groups", "groups/" + itoa(group), "groups/" + itoa(group) + "/delete"} {
		wantStatus(t, texter.post(path(owner.org, p), url.Values{"phone": {"+37255500002"}, "name": {"X"}}), http.StatusForbidden)
	}
	if n := a.rows(`SELECT COUNT(*) FROM contacts`) + a.rows(`SELECT COUNT(*) FROM contact_groups`); n != 2 {
		t.Errorf("refused requests left %d contacts and groups, want 2", n)
	}
	// Sending is theirs: the Groups of Send SMS list the groups.
	wantContains(t, texter.get(path(owner.org, "messages/new")), `<legend>Groups</legend>`, ">News")
}
