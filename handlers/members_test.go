package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"switchboard"
)

// confirmForm matches a confirmation page's form: it posts to action and
// its button is red.
func wantConfirmation(t *testing.T, res *response, title, consequence, action, button, cancel string) {
	t.Helper()
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res,
		"<h1>"+title+"</h1>",
		consequence,
		`<form method="post" action="`+action+`"`,
		`<button type="submit" class="danger">`+button+`</button>`,
		`href="`+cancel+`" data-confirm-cancel>Cancel</a>`,
		"data-confirm-body",
	)
	if csrfField(res.body) == "" {
		t.Fatal("the confirmation's form has no CSRF field")
	}
}

// TestConfirmations: every destructive action has a confirmation page at
// the address of its POST that spells out what will happen, and the POST
// still does it. The lists link to the confirmations, marked for app.js.
func TestConfirmations(t *testing.T) {
	tm := newTeam(t)
	a, owner, org := tm.a, tm.owner, tm.org
	sender := path(org, "members/"+itoa(tm.sender.profile))

	t.Run("revoke access", func(t *testing.T) {
		page := owner.get(sender)
		wantStatus(t, page, http.StatusOK)
		wantContains(t, page, `<a class="button danger" href="`+sender+`/revoke" data-confirm>Revoke access</a>`)
		wantNotContains(t, page, `action="`+sender+`/revoke"`) // a link, not a form

		res := owner.get(sender + "/revoke")
		wantConfirmation(t, res, "Revoke access of Invited sender?",
			"Invited sender (sender@example.com) will lose access to Acme at once and be logged out of it. You can invite them again later.",
			sender+"/revoke", "Revoke access", sender)
		if membership(t, a.db, org, tm.sender.profile) == nil {
			t.Fatal("opening the confirmation revoked the member")
		}
		// The form posts as it is on the page: its own CSRF field.
		res = owner.postRaw(sender+"/revoke", url.Values{"_csrf": {csrfField(res.body)}})
		wantStatus(t, res, http.StatusSeeOther)
		if membership(t, a.db, org, tm.sender.profile) != nil {
			t.Fatal("the sender is still a member")
		}
	})

	t.Run("cancel invitation", func(t *testing.T) {
		a.invite(owner, org, "pending@example.com", "sender")
		inv := pendingID(t, a, org, "pending@example.com")
		cancel := path(org, "invitations/"+itoa(inv)+"/cancel")
		wantContains(t, owner.get(path(org, "members")), `<a class="button danger small" href="`+cancel+`" data-confirm>Cancel invitation<span class="sr-only"> to pending@example.com</span></a>`)
		res := owner.get(cancel)
		wantConfirmation(t, res, "Cancel the invitation to pending@example.com?",
			"The invitation to pending@example.com as Sender will stop working at once",
			cancel, "Cancel invitation", path(org, "members"))
		wantContains(t, res, `<a href="`+path(org, "members")+`" aria-current="page">Members</a>`)
		wantStatus(t, owner.post(cancel, nil), http.StatusSeeOther)
		wantStatus(t, owner.get(cancel), http.StatusNotFound) // no longer pending
	})

	t.Run("delete role", func(t *testing.T) {
		wantStatus(t, owner.post(path(org, "roles"), url.Values{"name": {"Viewer"}, "permissions": {"history"}}), http.StatusSeeOther)
		roles, err := a.db.ListRoles(context.Background(), org)
		if err != nil || len(roles) != 1 {
			t.Fatal(roles, err)
		}
		del := path(org, "roles/"+itoa(roles[0].ID)+"/delete")
		wantContains(t, owner.get(path(org, "roles")), `href="`+del+`" data-confirm>Delete role`)
		wantConfirmation(t, owner.get(del), "Delete the role Viewer?", "The role Viewer will be deleted at once.", del, "Delete role", path(org, "roles"))
		wantStatus(t, owner.post(del, nil), http.StatusSeeOther)
		if roles, _ := a.db.ListRoles(context.Background(), org); len(roles) != 0 {
			t.Fatal("the role was not deleted")
		}
	})

	t.Run("leave", func(t *testing.T) {
		own := tm.admin.get(path(org, "members/"+itoa(tm.admin.profile)))
		wantContains(t, own, `<a class="button danger" href="`+path(org, "leave")+`" data-confirm>Leave organisation</a>`)
		wantConfirmation(t, tm.admin.get(path(org, "leave")), "Leave Acme?",
			"You will lose access to Acme at once. To come back, an administrator must invite you again.",
			path(org, "leave"), "Leave organisation", path(org, ""))
		wantStatus(t, tm.admin.post(path(org, "leave"), nil), http.StatusSeeOther)
		if membership(t, a.db, org, tm.admin.profile) != nil {
			t.Fatal("the administrator is still a member")
		}
	})
}

// TestInviteErrorAtMembersAddress: the invitation form posts to the
// members address; a mistake answers 422 there, with Members current in the
// navigation, the typed address kept and a message about the colleague's
// address. The old address still works the same.
func TestInviteErrorAtMembersAddress(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	members := path(owner.org, "members")
	wantContains(t, owner.get(members), `<form method="post" action="`+members+`" novalidate>`)
	current := `<a href="` + members + `" aria-current="page">Members</a>`

	for _, to := range []string{members, path(owner.org, "invitations")} {
		res := owner.post(to, url.Values{"email": {""}, "role": {"sender"}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantContains(t, res, "Enter your colleague&#39;s email address.", current)
		wantNotContains(t, res, "Enter your email address.")

		res = owner.post(to, url.Values{"email": {"ada at example"}, "role": {"administrator"}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantContains(t, res, `value="ada at example"`, "Enter an email address like name@example.com.", `<option value="administrator" selected>`, current)
	}
	wantStatus(t, owner.post(members, url.Values{"email": {"ada@example.com"}, "role": {"sender"}}), http.StatusSeeOther)
	if pendingID(t, a, owner.org, "ada@example.com") == 0 {
		t.Fatal("no invitation")
	}
}

// TestMemberPage: the role form lives on the member's page; its errors
// render there with the choice kept.
func TestMemberPage(t *testing.T) {
	tm := newTeam(t)
	page := path(tm.org, "members/"+itoa(tm.sender.profile))
	res := tm.owner.get(page)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "<h1>Invited sender</h1>", "sender@example.com", `<option value="sender" selected>`, "Change role",
		`<a href="`+path(tm.org, "members")+`" aria-current="page">Members</a>`)

	res = tm.owner.post(page+"/role", url.Values{"role": {"nonsense"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "<h1>Invited sender</h1>", "Choose a role from the list.", `aria-invalid="true"`)

	// Someone changed the role meanwhile: 409, the page shows the role as
	// it is, and the choice made stays selected.
	res = tm.owner.post(page+"/role", url.Values{"role": {"administrator"}, "current_role": {"custom:99"}})
	wantStatus(t, res, http.StatusConflict)
	wantContains(t, res, "This member&#39;s role changed while you were looking: it is now Sender.", `<option value="administrator" selected>`, `name="current_role" value="sender"`)

	wantStatus(t, tm.owner.post(page+"/role", url.Values{"role": {"administrator"}, "current_role": {"sender"}}), http.StatusSeeOther)
	if tm.role(t, tm.sender).Kind != switchboard.RoleAdministrator {
		t.Fatal("the role did not change")
	}
	// Another organisation's member is not found.
	rival := tm.a.signup("rival@example.com", "Rival")
	wantStatus(t, tm.owner.get(path(tm.org, "members/"+itoa(rival.profile))), http.StatusNotFound)
}

// TestAuditWords: role events show the sections by their names and the
// role in Details, not in To whom; lines stored before read right too.
func TestAuditWords(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	wantStatus(t, owner.post(path(owner.org, "roles"), url.Values{"name": {"Team lead"}, "permissions": {"organisation", "members", "invoices"}}), http.StatusSeeOther)
	// A line as an older version stored it, written behind the store's back.
	if _, err := a.raw().Exec(`INSERT INTO audit_log (org_id, actor_name, action, target, detail, created_at) VALUES (?, 'Old', 'role.updated', 'Old role', 'messages api', 0)`, owner.org); err != nil {
		t.Fatal(err)
	}
	res := owner.get(path(owner.org, "audit"))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res,
		`<td data-label="What">Role created</td><td data-label="To whom"></td><td data-label="Details">Team lead: Organisation details, Members, Invoices</td>`,
		`<td data-label="What">Role changed</td><td data-label="To whom"></td><td data-label="Details">Old role: Messages, API</td>`)
	wantNotContains(t, res, "organisation members invoices", "messages api")
}

// TestCountsReadRight: one member is "1 member", never "1 members".
func TestCountsReadRight(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	a.invite(owner, owner.org, "one@example.com", "sender")
	res := owner.get(path(owner.org, ""))
	wantContains(t, res, `<span class="stat-value">1</span><span class="stat-label">member</span>`,
		`<span class="stat-value">1</span><span class="stat-label">pending invitation</span>`)
	a.invite(owner, owner.org, "two@example.com", "sender")
	wantContains(t, owner.get(path(owner.org, "")), `<span class="stat-value">2</span><span class="stat-label">pending invitations</span>`)
}

// TestRemovalNotice: a person whose access was revoked is told by whom and
// when, on their organisation list and at the old dashboard link, for 30
// days; leaving by oneself, being invited back, or never having been a
// member says nothing.
func TestRemovalNotice(t *testing.T) {
	tm := newTeam(t)
	a := tm.a
	notice := "Your access to Acme was removed by First owner on " + time.Now().UTC().Format("2 Jan 2006") + "."
	wantStatus(t, tm.owner.post(path(tm.org, "members/"+itoa(tm.sender.profile)+"/revoke"), nil), http.StatusSeeOther)

	res := tm.sender.get("/orgs")
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, notice)
	wantNotContains(t, res, "not a member of any organisation yet")
	res = tm.sender.get(path(tm.org, ""))
	wantStatus(t, res, http.StatusNotFound)
	wantContains(t, res, notice)
	// Other addresses of the organisation stay a plain 404.
	res = tm.sender.get(path(tm.org, "settings"))
	wantStatus(t, res, http.StatusNotFound)
	wantNotContains(t, res, "Acme")

	// Leaving by oneself: nothing to explain.
	wantStatus(t, tm.admin.post(path(tm.org, "leave"), nil), http.StatusSeeOther)
	wantNotContains(t, tm.admin.get("/orgs"), "was removed")
	// Someone who never belonged learns nothing.
	stranger := a.signup("stranger@example.com", "Elsewhere")
	res = stranger.get(path(tm.org, ""))
	wantStatus(t, res, http.StatusNotFound)
	wantNotContains(t, res, "Acme", "First owner")

	// After 30 days the notice is gone.
	a.db.Now = func() time.Time { return time.Now().Add(31 * 24 * time.Hour) }
	wantNotContains(t, tm.sender.get("/orgs"), "was removed")
	a.db.Now = time.Now

	// Invited back: nothing to explain either.
	link := a.invite(tm.owner, tm.org, "sender@example.com", "sender")
	wantStatus(t, tm.sender.post(link, nil), http.StatusSeeOther)
	wantNotContains(t, tm.sender.get("/orgs"), "was removed")
}

// TestConfirmationsOfAnotherOrganisation: a confirmation page names what it
// is about, so one for another organisation's member, invitation or role,
// reached through one's own organisation's address, is a plain 404 that
// names nothing of it; and its POST changes nothing.
func TestConfirmationsOfAnotherOrganisation(t *testing.T) {
	tm := newTeam(t)
	a, owner, org := tm.a, tm.owner, tm.org

	rival := a.signup("rival@example.com", "Rival")
	spy := a.join(a.invite(rival, rival.org, "rival-member@example.com", "sender"), "rival-member@example.com")
	a.invite(rival, rival.org, "rival-invitee@example.com", "sender")
	wantStatus(t, rival.post(path(rival.org, "roles"), url.Values{"name": {"Rival secret role"}, "permissions": {"history"}}), http.StatusSeeOther)
	invs, _, err := a.db.ListPendingInvitations(context.Background(), rival.org, 10)
	if err != nil || len(invs) != 1 {
		t.Fatalf("rival's invitations %v %v", invs, err)
	}
	roles, err := a.db.CustomRoles(context.Background(), rival.org)
	if err != nil || len(roles) != 1 {
		t.Fatalf("rival's roles %v %v", roles, err)
	}

	for _, p := range []string{
		path(org, "members/"+itoa(spy.profile)+"/revoke"),
		path(org, "invitations/"+itoa(invs[0].ID)+"/cancel"),
		path(org, "roles/"+itoa(roles[0].ID)+"/delete"),
	} {
		res := owner.get(p)
		wantStatus(t, res, http.StatusNotFound)
		wantNotContains(t, res, "rival-member@example.com", "rival-invitee@example.com", "Rival secret role")
		wantStatus(t, owner.post(p, nil), http.StatusNotFound)
	}
	if membership(t, a.db, rival.org, spy.profile) == nil {
		t.Error("the rival's member was revoked through another organisation")
	}
	if invs, _, _ := a.db.ListPendingInvitations(context.Background(), rival.org, 10); len(invs) != 1 {
		t.Error("the rival's invitation was cancelled through another organisation")
	}
	if roles, _ := a.db.CustomRoles(context.Background(), rival.org); len(roles) != 1 {
		t.Error("the rival's role was deleted through another organisation")
	}
}
