package handlers_test

import (
	"net/http"
	"net/url"
	"sync"
	"testing"

	"switchboard"
)

// setRole makes the owner give p the role (a role key), and fails the test
// unless it worked.
func (tm *team) setRole(t *testing.T, p *person, role string) {
	t.Helper()
	wantStatus(t, tm.owner.post(path(tm.org, "members/"+itoa(p.profile)+"/role"), url.Values{"role": {role}}), http.StatusSeeOther)
}

// Two Administrators demoting each other at the same moment: each request
// passed its check against the roles it read at its start, so both used to
// win and the organisation was left with two Senders (4 trials in 15 in the
// review). The store now checks the actor's own role again inside the
// transaction: at most one of them wins.
func TestAdministratorsDemotingEachOtherAtOnce(t *testing.T) {
	tm := newTeam(t)
	other := tm.a.join(tm.a.invite(tm.owner, tm.org, "admin2@example.com", "administrator"), "admin2@example.com")
	for trial := range 15 {
		tm.setRole(t, tm.admin, "administrator")
		tm.setRole(t, other, "administrator")
		// Each one has the Members page open, with a fresh form.
		wantStatus(t, tm.admin.get(path(tm.org, "members")), http.StatusOK)
		wantStatus(t, other.get(path(tm.org, "members")), http.StatusOK)

		var wg sync.WaitGroup
		statuses := make([]int, 2)
		for i, pair := range [][2]*person{{tm.admin, other}, {other, tm.admin}} {
			wg.Go(func() {
				res := pair[0].post(path(tm.org, "members/"+itoa(pair[1].profile)+"/role"), url.Values{"role": {"sender"}})
				statuses[i] = res.status
			})
		}
		wg.Wait()
		a, b := tm.role(t, tm.admin).Kind, tm.role(t, other).Kind
		if a == switchboard.RoleSender && b == switchboard.RoleSender {
			t.Fatalf("trial %d: both Administrators ended as Sender (answers %v)", trial, statuses)
		}
		won := 0
		for _, s := range statuses {
			switch s {
			case http.StatusSeeOther:
				won++
			case http.StatusForbidden, http.StatusConflict:
			default:
				t.Fatalf("trial %d: answers %v", trial, statuses)
			}
		}
		if won != 1 || (a == switchboard.RoleSender) == (b == switchboard.RoleSender) {
			t.Fatalf("trial %d: %d demotions won (answers %v), roles %s and %s; want exactly one", trial, won, statuses, a, b)
		}
	}
}

// A demoted Administrator's form, opened before the demotion, no longer
// acts: not a role change, not a revocation, not an invitation.
func TestDemotedAdministratorsOpenFormsDoNotAct(t *testing.T) {
	tm := newTeam(t)
	wantStatus(t, tm.admin.get(path(tm.org, "members")), http.StatusOK)
	tm.setRole(t, tm.admin, "sender")
	wantStatus(t, tm.admin.post(path(tm.org, "members/"+itoa(tm.sender.profile)+"/role"), url.Values{"role": {"administrator"}}), http.StatusForbidden)
	wantStatus(t, tm.admin.post(path(tm.org, "members/"+itoa(tm.sender.profile)+"/revoke"), nil), http.StatusForbidden)
	wantStatus(t, tm.admin.post(path(tm.org, "invitations"), url.Values{"email": {"friend@example.com"}, "role": {"administrator"}}), http.StatusForbidden)
	if tm.role(t, tm.sender).Kind != switchboard.RoleSender {
		t.Fatal("the demoted Administrator still changed a role")
	}
}

// Every session of a profile whose privileges change gets a new token on its
// next request, as at login: a token captured before a promotion (or a
// demotion) is worthless after it, and the person stays logged in.
func TestPrivilegeChangeRenewsEverySessionOfTheProfile(t *testing.T) {
	tm := newTeam(t)
	second := tm.a.login(tm.sender.email, testPassword) // the same person on a second device
	for _, change := range []struct{ name, role string }{{"promotion", "administrator"}, {"demotion", "sender"}} {
		t.Run(change.name, func(t *testing.T) {
			before := map[*client]string{tm.sender.client: tm.sender.sessionCookie().Value, second: second.sessionCookie().Value}
			tm.setRole(t, tm.sender, change.role)
			for c, old := range before {
				wantStatus(t, c.get(path(tm.org, "")), http.StatusOK)
				if now := c.sessionCookie().Value; now == old {
					t.Fatalf("the session token was not renewed after the %s", change.name)
				}
				// The captured token is worthless now.
				thief := tm.a.client()
				req, _ := http.NewRequest(http.MethodGet, tm.a.ts.URL+"/account", nil)
				req.AddCookie(&http.Cookie{Name: "switchboard_session", Value: old})
				res := thief.do(req)
				if res.status != http.StatusSeeOther || res.location == "" || res.location[:6] != "/login" {
					t.Fatalf("the token from before the %s still works: %d %s", change.name, res.status, res.location)
				}
				// The owner of the session is still logged in, and the next
				// request needs no further renewal.
				renewed := c.sessionCookie().Value
				wantStatus(t, c.get("/account"), http.StatusOK)
				if c.sessionCookie().Value != renewed {
					t.Fatal("the session was renewed again without a new change")
				}
			}
		})
	}
	// The owner's own session is untouched by changes to someone else.
	ownerToken := tm.owner.sessionCookie().Value
	wantStatus(t, tm.owner.get(path(tm.org, "")), http.StatusOK)
	if tm.owner.sessionCookie().Value != ownerToken {
		t.Error("the owner's session was renewed by a change to another member")
	}
}

// Editing a custom role's sections renews the sessions of those who hold it,
// and only theirs.
func TestCustomRoleEditRenewsItsHoldersSessions(t *testing.T) {
	tm := newTeam(t)
	wantStatus(t, tm.owner.post(path(tm.org, "roles"), url.Values{"name": {"Auditor"}, "permissions": {"members"}}), http.StatusSeeOther)
	roles, err := tm.a.db.ListRoles(t.Context(), tm.org)
	if err != nil || len(roles) != 1 {
		t.Fatalf("roles: %v, %v", roles, err)
	}
	id := roles[0].ID
	tm.setRole(t, tm.sender, "custom:"+itoa(id))
	wantStatus(t, tm.sender.get(path(tm.org, "")), http.StatusOK)
	wantStatus(t, tm.admin.get(path(tm.org, "")), http.StatusOK)
	holder, bystander := tm.sender.sessionCookie().Value, tm.admin.sessionCookie().Value

	wantStatus(t, tm.owner.post(path(tm.org, "roles/"+itoa(id)), url.Values{"name": {"Auditor"}, "permissions": {"organisation"}}), http.StatusSeeOther)
	wantStatus(t, tm.sender.get(path(tm.org, "")), http.StatusOK)
	wantStatus(t, tm.admin.get(path(tm.org, "")), http.StatusOK)
	if tm.sender.sessionCookie().Value == holder {
		t.Error("the holder of the edited role kept its session token")
	}
	if tm.admin.sessionCookie().Value != bystander {
		t.Error("a member without the edited role had its session renewed")
	}
}
