package handlers_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard"
	"switchboard/mail/mailtest"
)

// team is an organisation with an owner, an administrator and a sender.
type team struct {
	a                    *app
	owner, admin, sender *person
	org                  int64
}

func newTeam(t *testing.T) *team {
	a := newApp(t)
	tm := &team{a: a}
	tm.owner = a.signup("owner@example.com", "Acme")
	tm.org = tm.owner.org
	tm.admin = a.join(a.invite(tm.owner, tm.org, "admin@example.com", "administrator"), "admin@example.com")
	tm.sender = a.join(a.invite(tm.owner, tm.org, "sender@example.com", "sender"), "sender@example.com")
	return tm
}

func (tm *team) role(t *testing.T, p *person) switchboard.Role {
	t.Helper()
	m := membership(t, tm.a.db, tm.org, p.profile)
	if m == nil {
		t.Fatalf("%s is not a member", p.email)
	}
	return m.Member.Role
}

func TestInvitationFlow(t *testing.T) {
	a := newApp(t)
	worker, smtp := a.mailer(t)
	owner := a.signup("owner@example.com", "Acme <Corp>")

	res := owner.post(path(owner.org, "invitations"), url.Values{"email": {" New.Person@Example.com "}, "role": {"sender"}})
	wantStatus(t, res, http.StatusSeeOther)
	page := owner.get(path(owner.org, "members"))
	wantContains(t, page, "new.person@example.com", "Not sent yet", "Resend", "Cancel invitation")

	if n, err := worker.Flush(context.Background()); err != nil || n != 1 {
		t.Fatalf("flush: %d, %v", n, err)
	}
	msg := smtp.WaitForMessage(t, "new.person@example.com", 5*time.Second)
	for _, want := range []string{"First owner", "Acme <Corp>", "Sender"} {
		if !strings.Contains(msg.Text, want) {
			t.Errorf("text body lacks %q:\n%s", want, msg.Text)
		}
	}
	if !strings.Contains(msg.HTML, "Acme &lt;Corp&gt;") {
		t.Errorf("HTML body does not escape the organisation's name:\n%s", msg.HTML)
	}
	link := strings.TrimPrefix(mailtest.FirstLink(msg.Text, testBaseURL+"/invitations/"), testBaseURL)
	if link == "" {
		t.Fatalf("no link in\n%s", msg.Text)
	}
	page = owner.get(path(owner.org, "members"))
	wantNotContains(t, page, "Not sent yet")

	// Opening the link changes nothing.
	visitor := a.client()
	res = visitor.get(link)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "Join Acme &lt;Corp&gt;", "as Sender", `value="new.person@example.com"`, "readonly", "Log in to accept")
	if res.header.Get("Referrer-Policy") != "no-referrer" {
		t.Error("the invitation page leaks its token in the Referer")
	}
	if membership(t, a.db, owner.org, 0) != nil {
		t.Fatal("setup")
	}

	// Bad input keeps what was typed; the email cannot be changed.
	res = visitor.post(link+"/signup", url.Values{"email": {"attacker@example.com"}, "first_name": {"New"}, "last_name": {""}, "password": {"short"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="last_name-error"`, `id="password-error"`, `value="New"`)

	joined := a.join(link, "new.person@example.com")
	if joined.org != owner.org {
		t.Fatalf("joined organisation %d, want %d", joined.org, owner.org)
	}
	orgs, _ := a.db.ListMemberships(context.Background(), joined.profile)
	if len(orgs) != 1 || orgs[0].Role.Kind != switchboard.RoleSender {
		t.Fatalf("after joining: %+v; want only Acme, as Sender (no organisation of their own)", orgs)
	}
	if _, _, err := a.db.FindProfileByEmail(context.Background(), "attacker@example.com"); err == nil {
		t.Fatal("the posted email made a profile")
	}
	// Used: the link now answers 410.
	wantStatus(t, a.client().get(link), http.StatusGone)

	audit := owner.get(path(owner.org, "audit"))
	wantContains(t, audit, "Invitation sent", "Invitation accepted", "new.person@example.com")
}

func TestInvitationKeptWhileMailServerIsDown(t *testing.T) {
	a := newApp(t)
	worker, smtp := a.mailer(t)
	worker.Backoff = func(int) time.Duration { return time.Second }
	owner := a.signup("owner@example.com", "Acme")
	smtp.Stop()
	wantStatus(t, owner.post(path(owner.org, "invitations"), url.Values{"email": {"late@example.com"}, "role": {"sender"}}), http.StatusSeeOther)
	if n, err := worker.Flush(context.Background()); n != 0 || err == nil {
		t.Fatalf("flush with the server down: %d, %v", n, err)
	}
	wantContains(t, owner.get(path(owner.org, "members")), "late@example.com", "Not sent yet", "1 failed try so far")

	smtp.Start()
	worker.Now = func() time.Time { return time.Now().Add(2 * time.Second) }
	if n, err := worker.Flush(context.Background()); n != 1 || err != nil {
		t.Fatalf("flush after the server came back: %d, %v", n, err)
	}
	msg := smtp.WaitForMessage(t, "late@example.com", 5*time.Second)
	link := strings.TrimPrefix(mailtest.FirstLink(msg.Text, testBaseURL+"/invitations/"), testBaseURL)
	a.join(link, "late@example.com")
	if n, _ := worker.Flush(context.Background()); n != 0 || len(smtp.Messages()) != 1 {
		t.Fatal("the email was sent twice")
	}
}

func TestAcceptingAsLoggedInProfile(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	existing := a.signup("existing@example.com", "Existing's own")
	other := a.signup("other@example.com", "Other's own")
	link := a.invite(owner, owner.org, "existing@example.com", "administrator")

	t.Run("another email is told so and the invitation stays usable", func(t *testing.T) {
		res := other.get(link)
		wantStatus(t, res, http.StatusOK)
		wantContains(t, res, "This invitation is for existing@example.com", "logged in as other@example.com", "Log out")
		wantNotContains(t, res, "Accept invitation")
		res = other.post(link, nil)
		wantStatus(t, res, http.StatusForbidden)
		if membership(t, a.db, owner.org, other.profile) != nil {
			t.Fatal("a profile with another email joined")
		}
		// Logging out from that page comes back to the invitation.
		res = other.post("/logout", url.Values{"next": {link}})
		if res.location != link {
			t.Fatalf("logout went to %q", res.location)
		}
	})

	t.Run("the invited profile accepts with one button", func(t *testing.T) {
		res := existing.get(link)
		wantContains(t, res, "Accept invitation", "as Administrator")
		before := existing.sessionCookie().Value
		res = existing.post(link, nil)
		wantStatus(t, res, http.StatusSeeOther)
		if res.location != path(owner.org, "") {
			t.Fatalf("went to %q", res.location)
		}
		if existing.sessionCookie().Value == before {
			t.Error("joining did not renew the session token")
		}
		if m := membership(t, a.db, owner.org, existing.profile); m == nil || m.Member.Role.Kind != switchboard.RoleAdministrator {
			t.Fatalf("membership = %+v", m)
		}
		wantStatus(t, existing.post(link, nil), http.StatusGone)
	})

	t.Run("logged out: log in and come back", func(t *testing.T) {
		link := a.invite(owner, owner.org, "other@example.com", "sender")
		c := a.client()
		res := c.post(link, nil)
		wantStatus(t, res, http.StatusSeeOther)
		if !strings.HasPrefix(res.location, "/login?next=") {
			t.Fatalf("went to %q", res.location)
		}
		res = c.post("/login", url.Values{"email": {"other@example.com"}, "password": {testPassword}, "next": {link}})
		if res.location != link {
			t.Fatalf("after login went to %q, want back to the invitation", res.location)
		}
		wantStatus(t, c.post(link, nil), http.StatusSeeOther)
	})

	t.Run("signing up from an invitation with a registered email", func(t *testing.T) {
		link := a.invite(owner, owner.org, "third@example.com", "sender")
		a.signup("third@example.com", "Third's own")
		res := a.client().post(link+"/signup", url.Values{"first_name": {"T"}, "last_name": {"H"}, "password": {testPassword}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantContains(t, res, "already exists")
	})
}

func TestDeadInvitations(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")

	t.Run("cancelled", func(t *testing.T) {
		link := a.invite(owner, owner.org, "c@example.com", "sender")
		inv := pendingID(t, a, owner.org, "c@example.com")
		wantStatus(t, owner.post(path(owner.org, "invitations/"+itoa(inv)+"/cancel"), nil), http.StatusSeeOther)
		res := a.client().get(link)
		wantStatus(t, res, http.StatusGone)
		wantContains(t, res, "no longer works")
		res = a.client().post(link+"/signup", url.Values{"first_name": {"C"}, "last_name": {"C"}, "password": {testPassword}})
		wantStatus(t, res, http.StatusGone)
		if _, _, err := a.db.FindProfileByEmail(context.Background(), "c@example.com"); err == nil {
			t.Fatal("a cancelled invitation made a profile")
		}
	})

	t.Run("resent: the old link dies, the new one works", func(t *testing.T) {
		old := a.invite(owner, owner.org, "r@example.com", "sender")
		inv := pendingID(t, a, owner.org, "r@example.com")
		wantStatus(t, owner.post(path(owner.org, "invitations/"+itoa(inv)+"/resend"), nil), http.StatusSeeOther)
		fresh := a.outboxLink("r@example.com", "/invitations/")
		if fresh == old {
			t.Fatal("resending kept the token")
		}
		wantStatus(t, a.client().get(old), http.StatusGone)
		a.join(fresh, "r@example.com")
	})

	t.Run("expired", func(t *testing.T) {
		link := a.invite(owner, owner.org, "e@example.com", "sender")
		a.db.Now = func() time.Time { return time.Now().Add(switchboard.InvitationLifetime + time.Minute) }
		defer func() { a.db.Now = time.Now }()
		wantStatus(t, a.client().get(link), http.StatusGone)
		// A week later any session (and its CSRF token) has expired too:
		// a browser's same-origin form gets through without one.
		c := a.client()
		c.header.Set("Sec-Fetch-Site", "same-origin")
		wantStatus(t, c.post(link+"/signup", url.Values{"first_name": {"E"}, "last_name": {"E"}, "password": {testPassword}}), http.StatusGone)
	})

	t.Run("from a deleted organisation", func(t *testing.T) {
		res := owner.post("/orgs/new", url.Values{"name": {"Doomed"}})
		doomed := orgID(t, res.location)
		link := a.invite(owner, doomed, "d@example.com", "sender")
		wantStatus(t, owner.post(path(doomed, "delete"), url.Values{"confirm_name": {"Doomed"}}), http.StatusSeeOther)
		wantStatus(t, a.client().get(link), http.StatusGone)
	})

	t.Run("a made-up token", func(t *testing.T) {
		wantStatus(t, a.client().get("/invitations/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), http.StatusGone)
	})
}

func pendingID(t *testing.T, a *app, org int64, email string) int64 {
	t.Helper()
	list, _, err := a.db.ListPendingInvitations(context.Background(), org, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, inv := range list {
		if inv.Email == email {
			return inv.ID
		}
	}
	t.Fatalf("no pending invitation for %s", email)
	return 0
}

func orgID(t *testing.T, location string) int64 {
	t.Helper()
	m := orgURL.FindStringSubmatch(location)
	if m == nil {
		t.Fatalf("not an organisation: %q", location)
	}
	id, _ := parseInt(m[1])
	return id
}

func TestInvitingTwice(t *testing.T) {
	tm := newTeam(t)
	res := tm.owner.post(path(tm.org, "invitations"), url.Values{"email": {"SENDER@example.com"}, "role": {"sender"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "already a member", `value="SENDER@example.com"`)
	tm.a.invite(tm.owner, tm.org, "twice@example.com", "sender")
	res = tm.owner.post(path(tm.org, "invitations"), url.Values{"email": {"twice@example.com"}, "role": {"sender"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "already has a pending invitation")
	res = tm.owner.post(path(tm.org, "invitations"), url.Values{"email": {"not an email"}, "role": {"sender"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="invite_email-error"`, `value="not an email"`)
}

func TestParallelAcceptsMakeOneMembership(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	a.signup("invitee@example.com", "Own")
	link := a.invite(owner, owner.org, "invitee@example.com", "sender")
	// Ten tabs in ten sessions of the invited profile click at once.
	tabs := make([]*client, 10)
	for i := range tabs {
		tabs[i] = a.login("invitee@example.com", testPassword)
		tabs[i].csrf()
	}
	var wg sync.WaitGroup
	answers := make(chan *response, len(tabs))
	for _, c := range tabs {
		wg.Go(func() { answers <- c.post(link, nil) })
	}
	wg.Wait()
	close(answers)
	joined := 0
	for res := range answers {
		switch {
		case res.status == http.StatusSeeOther && res.location == path(owner.org, ""):
			joined++
		case res.status == http.StatusGone:
		default:
			t.Errorf("status %d to %q", res.status, res.location)
		}
	}
	if joined != 1 {
		t.Fatalf("%d accepts succeeded, want exactly 1", joined)
	}
	counts, _ := a.db.CountMembers(context.Background(), owner.org)
	if counts.Members != 2 {
		t.Fatalf("%d members, want 2", counts.Members)
	}
}

func TestParallelInvitationsMakeOne(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	token := owner.csrf()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			c := *owner.client
			c.post(path(owner.org, "invitations"), url.Values{"_csrf": {token}, "email": {"same@example.com"}, "role": {"sender"}})
		})
	}
	wg.Wait()
	_, total, err := a.db.ListPendingInvitations(context.Background(), owner.org, 100)
	if err != nil || total != 1 {
		t.Fatalf("%d pending invitations, %v; want 1", total, err)
	}
}

// Attacks that must fail, each on its own.

func TestAdministratorCannotGrantOwner(t *testing.T) {
	tm := newTeam(t)
	res := tm.admin.post(path(tm.org, "invitations"), url.Values{"email": {"x@example.com"}, "role": {"owner"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="invite_role-error"`, `aria-describedby="invite_role-error"`, `value="x@example.com"`)
	res = tm.admin.post(path(tm.org, "members/"+itoa(tm.sender.profile)+"/role"), url.Values{"role": {"owner"}})
	wantStatus(t, res, http.StatusForbidden)
	if tm.role(t, tm.sender).Kind != switchboard.RoleSender {
		t.Fatal("the sender's role changed")
	}
}

func TestAdministratorCannotEditOwnerOrThemself(t *testing.T) {
	tm := newTeam(t)
	wantStatus(t, tm.admin.post(path(tm.org, "members/"+itoa(tm.owner.profile)+"/role"), url.Values{"role": {"sender"}}), http.StatusForbidden)
	wantStatus(t, tm.admin.post(path(tm.org, "members/"+itoa(tm.owner.profile)+"/revoke"), nil), http.StatusForbidden)
	wantStatus(t, tm.admin.post(path(tm.org, "members/"+itoa(tm.admin.profile)+"/role"), url.Values{"role": {"sender"}}), http.StatusForbidden)
	wantStatus(t, tm.owner.post(path(tm.org, "members/"+itoa(tm.owner.profile)+"/role"), url.Values{"role": {"sender"}}), http.StatusForbidden)
	wantStatus(t, tm.owner.post(path(tm.org, "leave"), nil), http.StatusForbidden)
	if tm.role(t, tm.owner).Kind != switchboard.RoleOwner || tm.role(t, tm.admin).Kind != switchboard.RoleAdministrator {
		t.Fatal("a refused change went through")
	}
	// The owner's and the admin's own pages carry no controls; the
	// sender's page has both.
	for _, p := range []*person{tm.owner, tm.admin} {
		page := tm.admin.get(path(tm.org, "members/"+itoa(p.profile)))
		wantStatus(t, page, http.StatusOK)
		wantNotContains(t, page, "Change role", `/revoke"`)
	}
	page := tm.admin.get(path(tm.org, "members/"+itoa(tm.sender.profile)))
	wantContains(t, page, "Change role", `href="`+path(tm.org, "members/"+itoa(tm.sender.profile)+"/revoke")+`"`)
	// Nor can the admin reach the confirmations of what is refused.
	wantStatus(t, tm.admin.get(path(tm.org, "members/"+itoa(tm.owner.profile)+"/revoke")), http.StatusForbidden)
	wantStatus(t, tm.owner.get(path(tm.org, "leave")), http.StatusForbidden)
}

func TestSenderReachingMembersByURL(t *testing.T) {
	tm := newTeam(t)
	res := tm.sender.get(path(tm.org, "members"))
	wantStatus(t, res, http.StatusForbidden)
	wantContains(t, res, "You don&#39;t have access to this section", "The Administrator role allows Members", "First owner (owner@example.com)")
	wantStatus(t, tm.sender.post(path(tm.org, "invitations"), url.Values{"email": {"x@example.com"}, "role": {"sender"}}), http.StatusForbidden)
	wantNotContains(t, res, `aria-current="page"`) // the 403 page is no section of the navigation
	nav := tm.sender.get(path(tm.org, ""))
	wantNotContains(t, nav, `href="`+path(tm.org, "members")+`"`, `href="`+path(tm.org, "settings")+`"`)

	// A sender can leave from the dashboard, without the Members page.
	wantContains(t, nav, "Leave organisation", `href="`+path(tm.org, "leave")+`"`)
	confirm := tm.sender.get(path(tm.org, "leave"))
	wantStatus(t, confirm, http.StatusOK)
	wantContains(t, confirm, "<h1>Leave Acme?</h1>", "You will lose access to Acme at once.", `action="`+path(tm.org, "leave")+`"`, `class="danger">Leave organisation</button>`)
	wantStatus(t, tm.sender.post(path(tm.org, "leave"), nil), http.StatusSeeOther)
	if membership(t, tm.a.db, tm.org, tm.sender.profile) != nil {
		t.Fatal("the sender is still a member after leaving")
	}
	wantStatus(t, tm.sender.get(path(tm.org, "")), http.StatusNotFound)
}

func TestRevokedMemberOldSession(t *testing.T) {
	tm := newTeam(t)
	second := tm.a.login("admin@example.com", testPassword)
	other := tm.admin.post("/orgs/new", url.Values{"name": {"Admin's own"}})
	wantStatus(t, other, http.StatusSeeOther)
	wantStatus(t, tm.admin.get(path(tm.org, "members")), http.StatusOK)

	wantStatus(t, tm.owner.post(path(tm.org, "members/"+itoa(tm.admin.profile)+"/revoke"), nil), http.StatusSeeOther)
	for _, c := range []*client{tm.admin.client, second} {
		wantStatus(t, c.get(path(tm.org, "")), http.StatusNotFound)
		wantStatus(t, c.get(path(tm.org, "members")), http.StatusNotFound)
		wantStatus(t, c.post(path(tm.org, "invitations"), url.Values{"email": {"x@example.com"}, "role": {"sender"}}), http.StatusNotFound)
		// Their other organisations are untouched.
		wantStatus(t, c.get(other.location), http.StatusOK)
	}
	wantContains(t, tm.owner.get(path(tm.org, "audit")), "Access revoked", "admin@example.com")
}

func TestDemotionAppliesOnNextRequest(t *testing.T) {
	tm := newTeam(t)
	wantStatus(t, tm.admin.get(path(tm.org, "settings")), http.StatusOK)
	wantStatus(t, tm.owner.post(path(tm.org, "members/"+itoa(tm.admin.profile)+"/role"), url.Values{"role": {"sender"}}), http.StatusSeeOther)
	wantStatus(t, tm.admin.get(path(tm.org, "settings")), http.StatusForbidden)
	wantStatus(t, tm.admin.get(path(tm.org, "members")), http.StatusForbidden)
}

func TestEscalationThroughCustomRole(t *testing.T) {
	tm := newTeam(t)
	res := tm.owner.post(path(tm.org, "roles"), url.Values{"name": {"Recruiter"}, "permissions": {"members", "messages"}})
	wantStatus(t, res, http.StatusSeeOther)
	roles, _ := tm.a.db.ListRoles(context.Background(), tm.org)
	recruiter := "custom:" + itoa(roles[0].ID)
	wantStatus(t, tm.owner.post(path(tm.org, "members/"+itoa(tm.sender.profile)+"/role"), url.Values{"role": {recruiter}}), http.StatusSeeOther)

	// Members, but nothing they lack: no Administrator, no Sender (which has
	// sections Recruiter lacks), no custom role with ownership.
	res = tm.sender.post(path(tm.org, "invitations"), url.Values{"email": {"friend@example.com"}, "role": {"administrator"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "nobody grants more than they hold")
	wantStatus(t, tm.sender.post(path(tm.org, "invitations"), url.Values{"email": {"friend@example.com"}, "role": {"sender"}}), http.StatusUnprocessableEntity)
	wantStatus(t, tm.sender.post(path(tm.org, "invitations"), url.Values{"email": {"friend@example.com"}, "role": {recruiter}}), http.StatusSeeOther)
	wantStatus(t, tm.sender.post(path(tm.org, "members/"+itoa(tm.sender.profile)+"/role"), url.Values{"role": {"administrator"}}), http.StatusForbidden)
	wantStatus(t, tm.sender.post(path(tm.org, "members/"+itoa(tm.admin.profile)+"/revoke"), nil), http.StatusForbidden)
	wantStatus(t, tm.sender.post(path(tm.org, "roles/"+itoa(roles[0].ID)), url.Values{"name": {"Recruiter"}, "permissions": {"members", "messages", "organisation"}}), http.StatusForbidden)
	wantStatus(t, tm.sender.get(path(tm.org, "settings")), http.StatusForbidden)
	// The navigation shows the role's sections and nothing else.
	nav := tm.sender.get(path(tm.org, ""))
	wantContains(t, nav, `href="`+path(tm.org, "members")+`"`, `href="`+path(tm.org, "audit")+`"`)
	wantNotContains(t, nav, `href="`+path(tm.org, "settings")+`"`, `href="`+path(tm.org, "roles")+`"`)
	// Nor act on an invitation to a role they lack.
	tm.a.invite(tm.owner, tm.org, "future-admin@example.com", "administrator")
	adminInv := pendingID(t, tm.a, tm.org, "future-admin@example.com")
	wantStatus(t, tm.sender.post(path(tm.org, "invitations/"+itoa(adminInv)+"/cancel"), nil), http.StatusForbidden)
	wantStatus(t, tm.sender.post(path(tm.org, "invitations/"+itoa(adminInv)+"/resend"), nil), http.StatusForbidden)
	if pendingID(t, tm.a, tm.org, "future-admin@example.com") != adminInv {
		t.Fatal("the invitation changed")
	}

	// A role cannot hold ownership, even through a tampered form.
	res = tm.owner.post(path(tm.org, "roles"), url.Values{"name": {"Sneaky"}, "permissions": {"members", "ownership"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "Choose sections from the list.", `value="Sneaky"`)
	if tm.role(t, tm.sender).Name != "Recruiter" {
		t.Fatal("setup")
	}
}

func TestOtherOrganisationsIDs(t *testing.T) {
	tm := newTeam(t)
	rival := tm.a.signup("rival@example.com", "Rival")
	rivalMember := tm.a.join(tm.a.invite(rival, rival.org, "rm@example.com", "sender"), "rm@example.com")
	tm.a.invite(rival, rival.org, "pending@example.com", "sender")
	rivalInv := pendingID(t, tm.a, rival.org, "pending@example.com")
	rival.post(path(rival.org, "roles"), url.Values{"name": {"Rival role"}, "permissions": {"messages"}})
	rivalRoles, _ := tm.a.db.ListRoles(context.Background(), rival.org)

	// Swapping ids in the URL or the form reaches nothing of another
	// organisation.
	wantStatus(t, tm.owner.post(path(tm.org, "members/"+itoa(rivalMember.profile)+"/role"), url.Values{"role": {"administrator"}}), http.StatusNotFound)
	wantStatus(t, tm.owner.post(path(tm.org, "members/"+itoa(rivalMember.profile)+"/revoke"), nil), http.StatusNotFound)
	wantStatus(t, tm.owner.post(path(tm.org, "invitations/"+itoa(rivalInv)+"/cancel"), nil), http.StatusNotFound)
	wantStatus(t, tm.owner.post(path(tm.org, "invitations/"+itoa(rivalInv)+"/resend"), nil), http.StatusNotFound)
	wantStatus(t, tm.owner.post(path(tm.org, "roles/"+itoa(rivalRoles[0].ID)+"/delete"), nil), http.StatusNotFound)
	wantStatus(t, tm.owner.post(path(tm.org, "transfer"), url.Values{"new_owner": {rivalMember.email}, "confirm_password": {testPassword}}), http.StatusUnprocessableEntity)
	res := tm.owner.post(path(tm.org, "members/"+itoa(tm.sender.profile)+"/role"), url.Values{"role": {"custom:" + itoa(rivalRoles[0].ID)}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "Choose a role from the list.")
	res = tm.owner.post(path(tm.org, "invitations"), url.Values{"email": {"x@example.com"}, "role": {"custom:" + itoa(rivalRoles[0].ID)}})
	wantStatus(t, res, http.StatusUnprocessableEntity)

	if m := membership(t, tm.a.db, rival.org, rivalMember.profile); m == nil || m.Member.Role.Kind != switchboard.RoleSender {
		t.Fatalf("the rival's member changed: %+v", m)
	}
	if pendingID(t, tm.a, rival.org, "pending@example.com") != rivalInv {
		t.Fatal("the rival's invitation changed")
	}
	// A token of organisation A does not open organisation B.
	link := tm.a.invite(rival, rival.org, "owner@example.com", "sender")
	wantStatus(t, tm.owner.post(link, nil), http.StatusSeeOther)
	if m := membership(t, tm.a.db, tm.org, tm.owner.profile); m == nil || !m.IsOwner() {
		t.Fatal("accepting another organisation's invitation changed my role here")
	}
	if m := membership(t, tm.a.db, rival.org, tm.owner.profile); m == nil || m.Member.Role.Kind != switchboard.RoleSender {
		t.Fatal("the invitation did not join its own organisation")
	}
}

func TestOwnerOnlyMembersSetting(t *testing.T) {
	tm := newTeam(t)
	wantStatus(t, tm.admin.post(path(tm.org, "settings/members-policy"), url.Values{"owner_only_members": {"on"}}), http.StatusForbidden)
	wantStatus(t, tm.owner.post(path(tm.org, "settings/members-policy"), url.Values{"owner_only_members": {"on"}}), http.StatusSeeOther)
	res := tm.admin.get(path(tm.org, "members"))
	wantStatus(t, res, http.StatusForbidden)
	wantContains(t, res, "The Owner role allows Members")
	wantStatus(t, tm.admin.post(path(tm.org, "members/"+itoa(tm.sender.profile)+"/revoke"), nil), http.StatusForbidden)
	wantStatus(t, tm.owner.get(path(tm.org, "members")), http.StatusOK)
	wantStatus(t, tm.owner.post(path(tm.org, "settings/members-policy"), nil), http.StatusSeeOther)
	wantStatus(t, tm.admin.get(path(tm.org, "members")), http.StatusOK)
	wantContains(t, tm.owner.get(path(tm.org, "audit")), "only the owner manages members", "administrators may manage members")
}

func TestTransferOwnership(t *testing.T) {
	tm := newTeam(t)
	res := tm.owner.post(path(tm.org, "transfer"), url.Values{"new_owner": {tm.sender.email}, "confirm_password": {"wrong"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "This is not your password.")
	res = tm.owner.post(path(tm.org, "transfer"), url.Values{"new_owner": {"stranger@example.com"}, "confirm_password": {testPassword}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="new_owner-error"`, "Nobody with this email is a member", `value="stranger@example.com"`)
	res = tm.owner.post(path(tm.org, "transfer"), url.Values{"new_owner": {tm.owner.email}, "confirm_password": {testPassword}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "You already own this organisation.")
	wantStatus(t, tm.admin.post(path(tm.org, "transfer"), url.Values{"new_owner": {tm.admin.email}, "confirm_password": {testPassword}}), http.StatusForbidden)

	before := tm.owner.sessionCookie().Value
	wantStatus(t, tm.owner.post(path(tm.org, "transfer"), url.Values{"new_owner": {"SENDER@example.com"}, "confirm_password": {testPassword}}), http.StatusSeeOther)
	if tm.owner.sessionCookie().Value == before {
		t.Error("giving up ownership did not renew the session token")
	}
	if tm.role(t, tm.sender).Kind != switchboard.RoleOwner || tm.role(t, tm.owner).Kind != switchboard.RoleAdministrator {
		t.Fatal("ownership did not move")
	}
	// The old owner is an administrator now: no more deleting.
	wantStatus(t, tm.owner.post(path(tm.org, "delete"), url.Values{"confirm_name": {"Acme"}}), http.StatusForbidden)
	before = tm.owner.sessionCookie().Value
	wantStatus(t, tm.owner.post(path(tm.org, "leave"), nil), http.StatusSeeOther)
	if tm.owner.sessionCookie().Value == before {
		t.Error("leaving did not renew the session token")
	}
	if membership(t, tm.a.db, tm.org, tm.owner.profile) != nil {
		t.Fatal("leaving did not remove the membership")
	}
	wantContains(t, tm.sender.get(path(tm.org, "audit")), "Ownership transferred", "Left the organisation")
}

func TestRoles(t *testing.T) {
	tm := newTeam(t)
	wantStatus(t, tm.admin.get(path(tm.org, "roles")), http.StatusForbidden)
	res := tm.owner.post(path(tm.org, "roles"), url.Values{"name": {"Administrator"}, "permissions": {"messages"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "belongs to a built-in role")
	res = tm.owner.post(path(tm.org, "roles"), url.Values{"name": {"Viewer"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "Tick at least one section.")
	wantStatus(t, tm.owner.post(path(tm.org, "roles"), url.Values{"name": {"Viewer"}, "permissions": {"history", "history"}}), http.StatusSeeOther)
	roles, _ := tm.a.db.ListRoles(context.Background(), tm.org)
	viewer := roles[0].ID
	wantStatus(t, tm.owner.post(path(tm.org, "members/"+itoa(tm.sender.profile)+"/role"), url.Values{"role": {"custom:" + itoa(viewer)}}), http.StatusSeeOther)

	res = tm.owner.post(path(tm.org, "roles/"+itoa(viewer)+"/delete"), nil)
	wantStatus(t, res, http.StatusConflict)
	wantContains(t, res, "still held by 1 member and 0 pending invitations.")
	// Its confirmation says so up front, and offers no button.
	res = tm.owner.get(path(tm.org, "roles/"+itoa(viewer)+"/delete"))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "is held by 1 member and 0 pending invitations")
	wantNotContains(t, res, "<form method=\"post\" action=\""+path(tm.org, "roles/"+itoa(viewer)+"/delete"))

	wantStatus(t, tm.owner.post(path(tm.org, "roles/"+itoa(viewer)), url.Values{"name": {"Auditor"}, "permissions": {"history", "invoices"}}), http.StatusSeeOther)
	if r := tm.role(t, tm.sender); r.Name != "Auditor" || !r.Can(switchboard.PermInvoices) {
		t.Fatalf("renamed role = %+v", r)
	}
	wantStatus(t, tm.owner.post(path(tm.org, "members/"+itoa(tm.sender.profile)+"/role"), url.Values{"role": {"sender"}}), http.StatusSeeOther)
	wantStatus(t, tm.owner.post(path(tm.org, "roles/"+itoa(viewer)+"/delete"), nil), http.StatusSeeOther)
	if roles, _ := tm.a.db.ListRoles(context.Background(), tm.org); len(roles) != 0 {
		t.Fatal("the role was not deleted")
	}
}

func TestMembersPagingAndSearch(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	ctx := context.Background()
	// 120 members, through the store (the sign-up form would hash 120
	// passwords).
	for i := range 120 {
		p := &switchboard.Profile{Email: "m" + itoa(int64(1000+i)) + "@example.com", FirstName: "Member", LastName: itoa(int64(1000 + i))}
		if err := a.db.CreateProfileWithOrganisation(ctx, p, "x", &switchboard.Organisation{Name: "own"}); err != nil {
			t.Fatal(err)
		}
		hash := randomHash()
		inv := &switchboard.Invitation{OrgID: owner.org, Email: p.Email, Role: switchboard.BuiltinRole(switchboard.RoleSender), InvitedBy: owner.profile, InviterName: "o"}
		if err := a.db.CreateInvitation(ctx, switchboard.Actor{ProfileID: owner.profile}, inv, hash, &switchboard.Email{To: p.Email}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.db.AcceptInvitation(ctx, hash, p, ""); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	next := path(owner.org, "members")
	pages := 0
	for next != "" {
		res := owner.get(next)
		wantStatus(t, res, http.StatusOK)
		pages++
		for _, m := range memberEmail.FindAllStringSubmatch(res.body, -1) {
			if seen[m[1]] {
				t.Fatalf("%s on two pages", m[1])
			}
			seen[m[1]] = true
		}
		next = ""
		if m := nextLink.FindStringSubmatch(res.body); m != nil {
			next = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if pages != 3 || len(seen) != 121 {
		t.Fatalf("%d pages, %d members; want 3 pages and all 121", pages, len(seen))
	}
	res := owner.get(path(owner.org, "members") + "?q=" + url.QueryEscape("m1042@"))
	if got := memberEmail.FindAllStringSubmatch(res.body, -1); len(got) != 1 || got[0][1] != "m1042@example.com" {
		t.Fatalf("search found %v", got)
	}
	res = owner.get(path(owner.org, "members") + "?q=%25&after=garbage")
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "No member matches")
}

var (
	memberEmail = regexp.MustCompile(`<td data-label="Email">([^<]+)</td>`)
	nextLink    = regexp.MustCompile(`<a href="([^"]+)" rel="next">`)
)

func TestInvitationRateLimit(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	// An owner inviting fifty colleagues in a row is never refused.
	for i := range 50 {
		wantStatus(t, owner.post(path(owner.org, "invitations"), url.Values{"email": {"colleague" + itoa(int64(i)) + "@example.com"}, "role": {"sender"}}), http.StatusSeeOther)
	}
	// A script is.
	limited := false
	for i := range 80 {
		res := owner.post(path(owner.org, "invitations"), url.Values{"email": {"spam" + itoa(int64(i)) + "@example.com"}, "role": {"sender"}})
		if res.status == http.StatusTooManyRequests {
			wantContains(t, res, "Too many invitations", `value="spam`)
			limited = true
			break
		}
		wantStatus(t, res, http.StatusSeeOther)
	}
	if !limited {
		t.Fatal("130 invitations in a row were all sent")
	}
}

func TestClientAddressAndProxies(t *testing.T) {
	rename := func(a *app, p *person) string {
		req, _ := http.NewRequest(http.MethodPost, a.ts.URL+path(p.org, "settings"), strings.NewReader(url.Values{"_csrf": {p.csrf()}, "name": {"Renamed"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", "203.0.113.9")
		wantStatus(t, p.do(req), http.StatusSeeOther)
		entries, _, err := a.db.ListAudit(context.Background(), p.org, 0, 1)
		if err != nil || len(entries) != 1 {
			t.Fatalf("audit: %v, %v", entries, err)
		}
		return entries[0].IP
	}

	// By default X-Forwarded-For is anyone's to write, so it is ignored.
	a := newApp(t)
	if ip := rename(a, a.signup("owner@example.com", "Acme")); ip != "127.0.0.1" {
		t.Fatalf("without trusted proxies the client address is %q, want the connection's", ip)
	}
	_, loopback, _ := net.ParseCIDR("127.0.0.1/32")
	b := newAppWith(t, testBaseURL, []*net.IPNet{loopback})
	if ip := rename(b, b.signup("owner@example.com", "Acme")); ip != "203.0.113.9" {
		t.Fatalf("behind a trusted proxy the client address is %q, want the forwarded one", ip)
	}
}
