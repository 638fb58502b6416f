package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/store"
)

// emailsTo counts the emails queued to address (exactly as written).
func (a *app) emailsTo(address string) int {
	a.t.Helper()
	emails, err := a.db.DueEmails(context.Background(), time.Now().Add(time.Hour), 100000)
	if err != nil {
		a.t.Fatal(err)
	}
	n := 0
	for _, e := range emails {
		if e.To == address {
			n++
		}
	}
	return n
}

var resendPath = regexp.MustCompile(`action="(/orgs/\d+/invitations/\d+/resend)"`)

// The review's attack (issue 6, point 2): 150 resends of one invitation in
// under a second queued 151 emails to one address. Now a few go out and the
// rest are refused beside the invitation, with 429.
func TestResendFloodQueuesFewEmails(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	a.invite(owner, owner.org, "bob@example.com", "sender")
	m := resendPath.FindStringSubmatch(owner.get(path(owner.org, "members")).body)
	if m == nil {
		t.Fatal("no resend button")
	}
	var mu sync.Mutex
	statuses := map[int]int{}
	var refused *response
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range 10 {
		wg.Go(func() {
			for range jobs {
				res := owner.post(m[1], nil)
				mu.Lock()
				statuses[res.status]++
				if res.status == http.StatusTooManyRequests {
					refused = res
				}
				mu.Unlock()
			}
		})
	}
	for i := range 150 {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if statuses[http.StatusSeeOther]+statuses[http.StatusTooManyRequests] != 150 {
		t.Fatalf("answers %v, want only 303 and 429", statuses)
	}
	if n := a.emailsTo("bob@example.com"); n < 2 || n > 4 {
		t.Fatalf("150 resends queued %d emails, want the invitation and at most 3 resends", n-1)
	}
	wantContains(t, refused, `<p class="error" role="alert">This invitation was resent several times in the last hour.`)
	// The last link sent still works.
	wantStatus(t, a.client().get(a.outboxLink("bob@example.com", "/invitations/")), http.StatusOK)
}

// One profile made 40 organisations in 0.4 s, each with its own invitation
// allowance: now ten go through, the rest are refused with 429 beside the
// form, the typed name kept.
func TestOrganisationCreationBurst(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	created := 0
	for i := range 40 {
		name := "Shell company " + itoa(int64(i))
		res := owner.post("/orgs/new", url.Values{"name": {name}})
		switch res.status {
		case http.StatusSeeOther:
			created++
		case http.StatusTooManyRequests:
			wantContains(t, res, `<div class="alert" role="alert">You have created many organisations today.`, `value="`+name+`"`)
		default:
			wantStatus(t, res, http.StatusSeeOther)
		}
	}
	if created != 10 {
		t.Fatalf("%d organisations created in a burst of 40, want 10", created)
	}
	orgs, err := a.db.ListMemberships(context.Background(), owner.profile)
	if err != nil || len(orgs) != 11 {
		t.Fatalf("%d organisations, %v; want the first and 10 more", len(orgs), err)
	}
	// Invitations are counted per profile too, whatever the organisation:
	// 10 organisations do not make 10 allowances.
	sent := 0
	for i := range 200 {
		org := orgs[i%len(orgs)].ID
		res := owner.post(path(org, "invitations"), url.Values{"email": {"someone" + itoa(int64(i)) + "@example.com"}, "role": {"sender"}})
		if res.status == http.StatusTooManyRequests {
			wantContains(t, res, "Too many invitations")
			break
		}
		wantStatus(t, res, http.StatusSeeOther)
		sent++
	}
	if sent >= 200 || sent < 100 {
		t.Fatalf("%d invitations across 11 organisations before a refusal, want at least 100 and a refusal", sent)
	}
}

// Emails per address per day are capped across organisations: many
// attackers, each with an organisation of their own, cannot bomb one inbox,
// not even through +aliases; and a password reset past the cap answers
// exactly as usual, with no email.
func TestRecipientDailyCapAcrossOrganisations(t *testing.T) {
	a := newApp(t)
	a.signup("victim@example.com", "Victim's")
	invited := 0
	for i := range store.MaxEmailsPerRecipient + 3 {
		attacker := a.signup("attacker"+itoa(int64(i))+"@example.com", "Attack "+itoa(int64(i)))
		address := "victim@example.com"
		if i%2 == 1 {
			address = "victim+" + itoa(int64(i)) + "@example.com"
		}
		res := attacker.post(path(attacker.org, "invitations"), url.Values{"email": {address}, "role": {"sender"}})
		if i < store.MaxEmailsPerRecipient {
			wantStatus(t, res, http.StatusSeeOther)
			invited++
			continue
		}
		wantStatus(t, res, http.StatusTooManyRequests)
		wantContains(t, res, "No invitation was sent. This address has already received many emails from Switchboard today", `value="`+address+`"`)
	}
	emails, err := a.db.DueEmails(context.Background(), time.Now().Add(time.Hour), 1000)
	if err != nil {
		t.Fatal(err)
	}
	toVictim := 0
	for _, e := range emails {
		if strings.HasPrefix(e.To, "victim") {
			toVictim++
		}
	}
	if toVictim != store.MaxEmailsPerRecipient {
		t.Fatalf("%d emails to the victim's inbox, want %d", toVictim, store.MaxEmailsPerRecipient)
	}

	known := a.client().post("/password/forgot", url.Values{"email": {"victim@example.com"}})
	unknown := a.client().post("/password/forgot", url.Values{"email": {"nobody0@example.com"}})
	wantStatus(t, known, http.StatusOK)
	if strings.ReplaceAll(csrfValue.ReplaceAllString(known.body, ""), "victim@", "") != strings.ReplaceAll(csrfValue.ReplaceAllString(unknown.body, ""), "nobody0@", "") {
		t.Fatal("a reset past the cap answers differently from one for an unknown address")
	}
	if n := a.emailsTo("victim@example.com"); n != (store.MaxEmailsPerRecipient+1)/2 {
		t.Fatalf("%d emails to victim@example.com, want no reset email past the cap", n)
	}
}

// Limits stop scripts, never real teams: an owner invites 50 colleagues
// in a row; one of them needs two resends, then a password reset, and gets
// them all.
func TestRealTeamIsNeverLimited(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	for i := range 50 {
		wantStatus(t, owner.post(path(owner.org, "invitations"), url.Values{"email": {"colleague" + itoa(int64(i)) + "@example.com"}, "role": {"sender"}}), http.StatusSeeOther)
	}
	var resend string
	for _, m := range resendPath.FindAllStringSubmatch(owner.get(path(owner.org, "members")).body, -1) {
		resend = m[1] // the oldest invitation comes last: colleague0
	}
	for range 2 {
		wantStatus(t, owner.post(resend, nil), http.StatusSeeOther)
	}
	if n := a.emailsTo("colleague0@example.com"); n != 3 {
		t.Fatalf("%d emails to colleague0, want the invitation and two resends", n)
	}
	a.join(a.outboxLink("colleague0@example.com", "/invitations/"), "colleague0@example.com")
	wantStatus(t, a.client().post("/password/forgot", url.Values{"email": {"colleague0@example.com"}}), http.StatusOK)
	a.outboxLink("colleague0@example.com", "/password/reset/")
	if n := a.emailsTo("colleague0@example.com"); n != 4 {
		t.Fatalf("%d emails to colleague0, want 4", n)
	}
}
