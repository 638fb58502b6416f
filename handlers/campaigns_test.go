package handlers_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"switchboard"
	"switchboard/handlers"
	"switchboard/scheduler"
	"switchboard/store/storetest"
)

// campaignGroup makes a group of the organisation with a contact per
// number, as the Groups and Contacts pages would, and returns its id.
func (a *app) campaignGroup(org int64, name string, numbers ...string) int64 {
	a.t.Helper()
	ctx := context.Background()
	g := &switchboard.Group{OrgID: org, Name: name}
	if err := a.db.CreateGroup(ctx, switchboard.Actor{Name: "Test"}, g); err != nil {
		a.t.Fatal(err)
	}
	for _, n := range numbers {
		if _, err := a.db.JoinGroup(ctx, &switchboard.Contact{OrgID: org, Phone: n}, g.ID); err != nil {
			a.t.Fatal(err)
		}
	}
	return g.ID
}

// setZone sets the person's Time zone through the account form.
func (p *person) setZone(t *testing.T, zone string) {
	t.Helper()
	res := p.post("/account", url.Values{"email": {p.email}, "first_name": {"First"}, "last_name": {"Last"}, "language": {"en"}, "time_zone": {zone}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("set time zone: %d\n%s", res.status, res.body)
	}
}

// campaignValues is the campaign form, scheduling for sendAt ("" for Send
// now) to the groups.
func campaignValues(name, sendAt string, groups ...int64) url.Values {
	v := url.Values{"name": {name}, "from": {"Switchboard"}, "message": {"Spring sale: 20% off today"}, "action": {"schedule"}, "when": {"now"}}
	if sendAt != "" {
		v.Set("when", "at")
		v.Set("send_at", sendAt)
	}
	for _, g := range groups {
		v.Add("groups", itoa(g))
	}
	return v
}

// campaignID reads the campaign id from the address a save led to.
func campaignID(t *testing.T, res *response) int64 {
	t.Helper()
	i := strings.LastIndex(res.location, "/campaigns/")
	if res.status != http.StatusSeeOther || i < 0 {
		t.Fatalf("not saved: %d %s\n%s", res.status, res.location, res.body)
	}
	id, err := parseInt(res.location[i+len("/campaigns/"):])
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestScheduleCampaign: the form has its labelled fields and the live
// preview; a campaign scheduled in the member's time zone is stored in
// UTC, shown back in the zone, listed, audited, and its form filled in
// again the same way.
func TestScheduleCampaign(t *testing.T) {
	a, owner, sender := sendWorld(t)
	a.fundOrg(owner.org, 10*switchboard.MoneyUnit, "EE")
	group := a.campaignGroup(owner.org, "Newsletter", "+37255500001", "+37255500002", "+37255500003", "+99912345678")
	vip := a.campaignGroup(owner.org, "VIP", "+37255500003", "+37255500004")
	if _, err := a.raw().ExecContext(context.Background(), `INSERT INTO opt_outs (org_id, phone, created_at) VALUES (?, '+37255500002', 0)`, owner.org); err != nil {
		t.Fatal(err)
	}
	sender.setZone(t, "Europe/Tallinn")

	res := sender.get(path(owner.org, "campaigns/new"))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "<h1>New campaign</h1>", `<label for="name">Name</label>`, `<label for="from">From</label>`, "<legend>Groups</legend>",
		`<label for="group-`+itoa(group)+`">Newsletter`, `<label for="message">Message</label>`, `<label for="send_at">Send at</label>`,
		`type="datetime-local"`, "Europe/Tallinn", `data-send-preview="`+path(owner.org, "campaigns/preview")+`"`, ">Preview</button>", ">Schedule</button>",
		`href="`+path(owner.org, "campaigns")+`" aria-current="page"`)

	// The preview: the groups' contacts once each, without the opted out
	// and the number without a price, and the text after auto-replace.
	form := campaignValues("Spring sale", "2031-06-01T10:00", group, vip)
	form.Set("action", "preview")
	res = sender.post(path(owner.org, "campaigns/new"), form)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "<dt>Recipients</dt><dd>3</dd>", "(1 opted out, 1 without a price)", "<dt>Total price</dt><dd>€0.15</dd>", `value="Spring sale"`)
	live := sender.post(path(owner.org, "campaigns/preview"), form)
	wantStatus(t, live, http.StatusOK)
	wantContains(t, live, `<section id="send-preview"`, "<dt>Recipients</dt><dd>3</dd>")
	wantNotContains(t, live, "<html")

	form.Set("action", "schedule")
	res = sender.post(path(owner.org, "campaigns/new"), form)
	id := campaignID(t, res)
	cp, err := a.db.FindCampaign(context.Background(), owner.org, id)
	if err != nil {
		t.Fatal(err)
	}
	// 10:00 in Tallinn on a summer day is 07:00 UTC.
	if want := time.Date(2031, 6, 1, 7, 0, 0, 0, time.UTC); !cp.SendAt.Equal(want) || cp.Status != switchboard.CampaignScheduled || len(cp.GroupIDs) != 2 {
		t.Fatalf("saved %+v, want Send at %s", cp, want)
	}
	res = sender.get(res.location)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "<h1>Spring sale</h1>", "is scheduled for 1 Jun 2031 10:00 (Europe/Tallinn)", "1 Jun 2031 10:00", ">Scheduled</span>",
		"Newsletter, VIP", ">Change campaign</a>", ">Cancel campaign</a>")
	res = sender.get(path(owner.org, "campaigns"))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, `<tr id="campaign-`+itoa(id)+`">`, ">Spring sale</a>", ">Scheduled</span>", `<td data-label="Send at" class="nowrap">1 Jun 2031 10:00</td>`)
	res = sender.get(path(owner.org, "campaigns/"+itoa(id)+"/edit"))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, `value="2031-06-01T10:00"`, `id="when_at" name="when" value="at" checked`, `value="`+itoa(group)+`" checked`, ">Save changes</button>")

	// A change: another name and only the VIP group.
	changed := campaignValues("Summer sale", "2031-07-01T09:30", vip)
	res = sender.post(path(owner.org, "campaigns/"+itoa(id)+"/edit"), changed)
	if campaignID(t, res) != id {
		t.Fatalf("the change led to %s", res.location)
	}
	cp, _ = a.db.FindCampaign(context.Background(), owner.org, id)
	if cp.Name != "Summer sale" || len(cp.GroupIDs) != 1 || cp.GroupIDs[0] != vip || !cp.SendAt.Equal(time.Date(2031, 7, 1, 6, 30, 0, 0, time.UTC)) {
		t.Fatalf("changed to %+v", cp)
	}
	if n := a.rows(`SELECT COUNT(*) FROM audit_log WHERE org_id = ? AND action IN ('campaign.created', 'campaign.changed')`, owner.org); n != 2 {
		t.Errorf("%d audit lines", n)
	}
	res = owner.get(path(owner.org, "audit"))
	wantContains(t, res, "Campaign scheduled", "Campaign changed", "Summer sale: Send at 1 Jul 2031 06:30 UTC")
}

// TestCampaignFormMistakes: what is wrong is said beside its field, with
// 422 and everything typed kept: a Send at in the past, no group, no
// name, no message, a sender not offered, a group id that is not one.
func TestCampaignFormMistakes(t *testing.T) {
	a, owner, sender := sendWorld(t)
	group := a.campaignGroup(owner.org, "Newsletter", "+37255500001")
	empty := a.campaignGroup(owner.org, "Empty")
	page := path(owner.org, "campaigns/new")
	past := time.Now().UTC().Add(-time.Hour).Format("2006-01-02T15:04")

	for _, tc := range []struct {
		name  string
		form  url.Values
		field string
		want  string
	}{
		{"past", campaignValues("Spring sale", past, group), "send_at", "Send at is in the past: choose a time after"},
		{"no time", campaignValues("Spring sale", "", group), "", ""},
		{"not a time", campaignValues("Spring sale", "tomorrow", group), "send_at", "Enter Send at as a date and time"},
		{"no group", campaignValues("Spring sale", ""), "groups", "Choose at least one group to send to."},
		{"no contacts now", campaignValues("Spring sale", "", empty), "groups", "The groups have no contacts to send to."},
		{"no name", campaignValues("", "", group), "name", "Enter the campaign&#39;s name"},
		{"bad group", url.Values{"name": {"Spring sale"}, "from": {"Switchboard"}, "message": {"Hi"}, "groups": {"abc"}, "action": {"schedule"}}, "groups", "Choose the groups from the list."},
		{"sender", url.Values{"name": {"Spring sale"}, "from": {"Bank"}, "message": {"Hi"}, "groups": {itoa(group)}, "action": {"schedule"}}, "from", "Choose a sender from the list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := tc.form
			if tc.name == "no time" {
				form.Set("when", "at")
				form.Set("send_at", "")
				tc.field, tc.want = "send_at", "Enter the date and time to send at"
			}
			res := sender.post(page, form)
			wantStatus(t, res, http.StatusUnprocessableEntity)
			wantContains(t, res, `id="`+tc.field+`-error"`, tc.want, "Please correct the fields marked below.")
			if n := form.Get("name"); n != "" {
				wantContains(t, res, `value="`+n+`"`)
			}
			if at := form.Get("send_at"); at != "" {
				wantContains(t, res, `value="`+at+`"`)
			}
			for _, g := range form["groups"] {
				if _, err := parseInt(g); err == nil {
					wantContains(t, res, `value="`+g+`" checked`)
				}
			}
		})
	}
	if n := a.rows(`SELECT COUNT(*) FROM campaigns`); n != 0 {
		t.Fatalf("%d campaigns saved from forms with mistakes", n)
	}
}

// TestCampaignTenantIsolation: another organisation's group in the form,
// or campaign in the address, is 404 and changes nothing.
func TestCampaignTenantIsolation(t *testing.T) {
	a, owner, _ := sendWorld(t)
	mallory := a.signup("mallory@example.com", "Mallory's")
	group := a.campaignGroup(owner.org, "Newsletter", "+37255500001")
	theirs := a.campaignGroup(mallory.org, "Theirs", "+37255500009")
	res := owner.post(path(owner.org, "campaigns/new"), campaignValues("Spring sale", time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04"), group))
	id := campaignID(t, res)

	// Another organisation's group, alone or beside one's own.
	for _, groups := range [][]int64{{theirs}, {theirs, group}} {
		res := owner.post(path(owner.org, "campaigns/new"), campaignValues("Sneaky", "", groups...))
		wantStatus(t, res, http.StatusNotFound)
		wantNotContains(t, res, "Theirs")
		res = owner.post(path(owner.org, "campaigns/preview"), campaignValues("Sneaky", "", groups...))
		wantStatus(t, res, http.StatusNotFound)
		res = owner.post(path(owner.org, "campaigns/"+itoa(id)+"/edit"), campaignValues("Sneaky", "", groups...))
		wantStatus(t, res, http.StatusNotFound)
	}
	if n := a.rows(`SELECT COUNT(*) FROM campaigns`); n != 1 {
		t.Fatalf("%d campaigns", n)
	}
	// Another organisation's campaign, through its own organisation's
	// address: every route is 404.
	for _, p := range []string{"", "/edit", "/cancel"} {
		wantStatus(t, mallory.get(path(mallory.org, "campaigns/"+itoa(id)+p)), http.StatusNotFound)
	}
	wantStatus(t, mallory.post(path(mallory.org, "campaigns/"+itoa(id)+"/edit"), campaignValues("Mine", "", theirs)), http.StatusNotFound)
	wantStatus(t, mallory.post(path(mallory.org, "campaigns/"+itoa(id)+"/cancel"), nil), http.StatusNotFound)
	wantStatus(t, owner.get(path(owner.org, "campaigns/abc")), http.StatusNotFound)
	cp, err := a.db.FindCampaign(context.Background(), owner.org, id)
	if err != nil || cp.Name != "Spring sale" || cp.Status != switchboard.CampaignScheduled || cp.GroupIDs[0] != group {
		t.Fatalf("the campaign changed: %+v %v", cp, err)
	}
}

// TestCampaignsNeedTheirSection: a Sender may schedule (Campaigns: yes
// for Sender); a custom role without Campaigns is refused every campaign
// page with 403.
func TestCampaignsNeedTheirSection(t *testing.T) {
	a, owner, sender := sendWorld(t)
	group := a.campaignGroup(owner.org, "Newsletter", "+37255500001")
	res := sender.post(path(owner.org, "campaigns/new"), campaignValues("By the sender", time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04"), group))
	id := campaignID(t, res)

	role := switchboard.Role{Name: "Messages only", Permissions: []switchboard.Permission{switchboard.PermMessages, switchboard.PermHistory}}
	if err := a.db.CreateRole(context.Background(), switchboard.Actor{ProfileID: owner.profile}, owner.org, &role); err != nil {
		t.Fatal(err)
	}
	clerk := a.join(a.invite(owner, owner.org, "clerk@example.com", "custom:"+itoa(role.ID)), "clerk@example.com")
	for _, p := range []string{"campaigns", "campaigns/new", "campaigns/" + itoa(id), "campaigns/" + itoa(id) + "/edit", "campaigns/" + itoa(id) + "/cancel"} {
		res := clerk.get(path(owner.org, p))
		wantStatus(t, res, http.StatusForbidden)
		wantContains(t, res, "You don&#39;t have access")
	}
	for _, p := range []string{"campaigns/new", "campaigns/preview", "campaigns/" + itoa(id) + "/edit", "campaigns/" + itoa(id) + "/cancel"} {
		wantStatus(t, clerk.post(path(owner.org, p), campaignValues("By the clerk", "", group)), http.StatusForbidden)
	}
	res = clerk.get(path(owner.org, "messages/new"))
	wantNotContains(t, res, ">Campaigns</a>")
	if cp, _ := a.db.FindCampaign(context.Background(), owner.org, id); cp.Status != switchboard.CampaignScheduled || cp.Name != "By the sender" {
		t.Fatalf("the campaign changed: %+v", cp)
	}
}

// campaignApp is the real server with a real scheduler, woken by the
// pages, and the delivery worker it wakes; the scheduler runs until the
// test ends.
func campaignApp(t *testing.T) (*app, *scheduler.Worker) {
	t.Helper()
	db, dsn := storetest.Open(t)
	w := scheduler.NewWorker(db, nil, "EUR", nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	a := newAppOn(t, db, dsn, handlers.Config{BaseURL: mustURL(testBaseURL), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Campaigns: w})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	t.Cleanup(func() { stop(); <-done })
	return a, w
}

// TestSendNowStartsAtOnce: Send now schedules the campaign for now and
// wakes the scheduler, which starts it: its page then shows it Sending
// with its recipients, parts, cost and counts, and History its messages.
func TestSendNowStartsAtOnce(t *testing.T) {
	a, _ := campaignApp(t)
	owner := a.signup("owner@example.com", "Acme")
	a.fundOrg(owner.org, switchboard.MoneyUnit, "EE")
	group := a.campaignGroup(owner.org, "Newsletter", "+37255500001", "+37255500002")
	res := owner.post(path(owner.org, "campaigns/new"), campaignValues("Right now", "", group))
	id := campaignID(t, res)
	deadline := time.Now().Add(20 * time.Second)
	for {
		cp, err := a.db.FindCampaign(context.Background(), owner.org, id)
		if err != nil {
			t.Fatal(err)
		}
		if cp.Status == switchboard.CampaignSending {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the campaign is still %s", cp.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	res = owner.get(path(owner.org, "campaigns/"+itoa(id)))
	wantContains(t, res, ">Sending</span>", "<dt>Recipients</dt><dd>2", "<dt>Cost</dt><dd>€0.10</dd>", `<td data-label="Queued" class="num">2</td>`,
		"See the messages in History</a>")
	wantNotContains(t, res, ">Change campaign</a>")
	res = owner.get(path(owner.org, "campaigns"))
	wantContains(t, res, ">Sending</span>", `<td data-label="Recipients" class="num">2</td>`, `<td data-label="Cost" class="num nowrap">€0.10</td>`)
	res = owner.get(path(owner.org, "history"))
	wantContains(t, res, "+37255500001", "+37255500002", "Spring sale: 20% off today")
}

// TestChangeAfterStartRefused: once the scheduler took a campaign, its
// change and its cancellation answer 422 with the reason and change
// nothing; before, a cancellation means nothing is ever sent.
func TestChangeAfterStartRefused(t *testing.T) {
	a, owner, _ := sendWorld(t)
	a.fundOrg(owner.org, switchboard.MoneyUnit, "EE")
	group := a.campaignGroup(owner.org, "Newsletter", "+37255500001")
	soon := time.Now().UTC().Add(2 * time.Minute).Format("2006-01-02T15:04")
	started := campaignID(t, owner.post(path(owner.org, "campaigns/new"), campaignValues("Started", soon, group)))
	cancelled := campaignID(t, owner.post(path(owner.org, "campaigns/new"), campaignValues("Cancelled", soon, group)))

	res := owner.get(path(owner.org, "campaigns/"+itoa(cancelled)+"/cancel"))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "Cancel the campaign Cancelled?", ">Cancel campaign</button>")
	res = owner.post(path(owner.org, "campaigns/"+itoa(cancelled)+"/cancel"), nil)
	wantStatus(t, res, http.StatusSeeOther)
	res = owner.post(path(owner.org, "campaigns/"+itoa(cancelled)+"/edit"), campaignValues("Changed", "", group))
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "This campaign was cancelled; it can no longer be changed.")

	w := scheduler.NewWorker(a.db, nil, "EUR", nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.Now = func() time.Time { return time.Now().Add(5 * time.Minute) }
	if n, err := w.Flush(context.Background()); err != nil || n != 1 {
		t.Fatalf("started %d (%v)", n, err)
	}
	res = owner.post(path(owner.org, "campaigns/"+itoa(started)+"/edit"), campaignValues("Changed", "", group))
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "This campaign has started; it can no longer be changed.")
	wantStatus(t, owner.get(path(owner.org, "campaigns/"+itoa(started)+"/edit")), http.StatusUnprocessableEntity)
	res = owner.post(path(owner.org, "campaigns/"+itoa(started)+"/cancel"), nil)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "This campaign has started; it can no longer be changed.")
	res = owner.get(path(owner.org, "campaigns/"+itoa(started)+"/cancel"))
	wantContains(t, res, "This campaign has started; it can no longer be changed.")
	wantNotContains(t, res, ">Cancel campaign</button>")

	cp, _ := a.db.FindCampaign(context.Background(), owner.org, started)
	if cp.Name != "Started" || cp.Status != switchboard.CampaignSending || cp.Recipients != 1 {
		t.Fatalf("started campaign: %+v", cp)
	}
	if n := a.rows(`SELECT COUNT(*) FROM messages WHERE body = ?`, "Spring sale: 20% off today"); n != 1 {
		t.Fatalf("%d messages: the cancelled campaign sent too?", n)
	}
	res = owner.get(path(owner.org, "campaigns"))
	wantContains(t, res, ">Cancelled</span>", ">Sending</span>")
}

// TestChangeMeanwhileStarted: a campaign the scheduler claims between the
// form's page and its POST is refused with 422 beside the form as typed,
// and stays as it was.
func TestChangeMeanwhileStarted(t *testing.T) {
	a, owner, _ := sendWorld(t)
	group := a.campaignGroup(owner.org, "Newsletter", "+37255500001")
	id := campaignID(t, owner.post(path(owner.org, "campaigns/new"), campaignValues("Spring sale", "", group)))
	wantStatus(t, owner.get(path(owner.org, "campaigns/"+itoa(id)+"/edit")), http.StatusOK)
	// The scheduler claims it (its start is under way).
	claims, err := a.db.ClaimCampaigns(context.Background(), time.Now(), 1)
	if err != nil || len(claims) != 1 {
		t.Fatalf("claim: %v %v", claims, err)
	}
	res := owner.post(path(owner.org, "campaigns/"+itoa(id)+"/edit"), campaignValues("Changed", time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04"), group))
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "This campaign has started; it can no longer be changed.", `value="Changed"`)
	res = owner.post(path(owner.org, "campaigns/"+itoa(id)+"/cancel"), nil)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	cp, _ := a.db.FindCampaign(context.Background(), owner.org, id)
	if cp.Name != "Spring sale" || cp.Status != switchboard.CampaignScheduled {
		t.Fatalf("changed: %+v", cp)
	}
	if n := a.rows(`SELECT COUNT(*) FROM audit_log WHERE action IN ('campaign.changed', 'campaign.cancelled')`); n != 0 {
		t.Fatalf("%d audit lines for changes that did not happen", n)
	}
}
