package main

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"switchboard"
	"switchboard/store/storetest"
)

// TestBrowserScheduleCampaign: with JavaScript on, the campaign form
// counts the ticked groups' contacts as the person types (the preview of
// Send SMS); Schedule with Send now starts it through the scheduler, and
// History shows its messages delivered.
func TestBrowserScheduleCampaign(t *testing.T) {
	sb := startPanel(t)
	b := newBrowser(t, sb.BaseURL)
	ada := b.person("Ada")
	org := signUp(ada, "ada@example.com", "correct horse battery", "Ada", "Lovelace", "Analytical Engines")
	orgID, _ := strconv.ParseInt(org, 10, 64)
	raw := storetest.OpenRaw(t, sb.Config.DB)
	if _, err := raw.Exec(`UPDATE organisations SET balance = 10000, country = 'EE' WHERE id = ?`, orgID); err != nil {
		t.Fatal(err)
	}
	// The group the contacts page (or an import) would have made.
	ctx := context.Background()
	g := &switchboard.Group{OrgID: orgID, Name: "Newsletter"}
	if err := sb.DB.CreateGroup(ctx, switchboard.Actor{Name: "Test"}, g); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"+37255500001", "+37255500002", "+37255500003"} {
		if _, err := sb.DB.JoinGroup(ctx, &switchboard.Contact{OrgID: orgID, Phone: n}, g.ID); err != nil {
			t.Fatal(err)
		}
	}

	ada.wantStatus("Campaigns", ada.within(orgNav).clickLink("Campaigns"), 200)
	ada.wantHeading("Campaigns")
	ada.wantStatus("New campaign", ada.clickLink("New campaign"), 200)
	ada.wantPath("/orgs/" + org + "/campaigns/new")
	ada.fill("Name", "Spring sale")
	ada.run("tick the group", chromedp.Click(chromedp.Search(ada.field("Newsletter (3 contacts)")), chromedp.RetryInterval(20*time.Millisecond)))
	preview := ada.within("//section[@id='send-preview']")
	typeIn(ada, "Message", "Spring sale: 20% off today")
	preview.waitText("Recipients\n3")
	preview.waitText("€0.15")
	preview.waitText("Spring sale: 20% off today")

	ada.wantStatus("Schedule", ada.click("Schedule"), 200)
	ada.wantHeading("Spring sale")
	ada.waitText("The campaign Spring sale is scheduled and starts now.")
	deadline := time.Now().Add(20 * time.Second)
	for {
		ada.wantStatus("the campaign", ada.visit(ada.path()), 200)
		if ada.eval(`(function(){ const b = document.querySelector(".badge.state-sent"); return b ? b.innerText : ""; })()`) == "Sent" {
			break
		}
		if time.Now().After(deadline) {
			ada.fatalf("the campaign was not sent:\n%s", ada.text())
		}
		time.Sleep(100 * time.Millisecond)
	}
	ada.waitText("Delivered")
	ada.wantStatus("History", ada.clickLink("See the messages in History"), 200)
	for _, n := range []string{"+37255500001", "+37255500002", "+37255500003"} {
		ada.waitText(n)
	}
	ada.waitText("Delivered")
}
