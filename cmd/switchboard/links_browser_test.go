package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"switchboard/store/storetest"
)

// TestBrowserSubscriptionLink: an owner creates a subscription link to a
// group and copies its address from the list; someone without an account
// opens it in their own browser, joins, and is thanked; the owner's list
// counts the join; once switched off (through the confirmation), the page
// says so.
func TestBrowserSubscriptionLink(t *testing.T) {
	sb := startPanel(t)
	b := newBrowser(t, sb.BaseURL)
	ada := b.person("Ada")
	org := signUp(ada, "ada@example.com", "correct horse battery", "Ada", "Lovelace", "Analytical Engines")
	raw := storetest.OpenRaw(t, sb.Config.DB)
	if _, err := raw.Exec(`UPDATE organisations SET country = 'EE' WHERE id = ?`, org); err != nil {
		t.Fatal(err)
	}
	// The Groups page is another section's; the group is made behind it.
	if _, err := raw.Exec(`INSERT INTO contact_groups (org_id, name, created_at) VALUES (?, 'Newsletter', ?)`, org, time.Now().UnixMilli()); err != nil {
		t.Fatal(err)
	}

	ada.wantStatus("Subscription links", ada.within(orgNav).clickLink("Subscription links"), 200)
	ada.wantHeading("Subscription links")
	ada.fill("Name", "Website footer")
	ada.choose("Group", "Newsletter")
	typeIn(ada, "Consent text", "I agree to receive offers by SMS.")
	ada.wantStatus("Create link", ada.click("Create link"), 200)
	ada.waitText("The subscription link Website footer was created.")
	address := ada.value("Address of Website footer")
	if !strings.HasPrefix(address, sb.BaseURL+"/s/") {
		ada.fatalf("the link's address is %q", address)
	}

	mari := b.person("Mari")
	mari.wantStatus("the public page", mari.visit(address), 200)
	mari.wantHeading("Join Newsletter")
	mari.waitText("Analytical Engines")
	mari.fill("Phone number", "5550 0001")
	mari.fill("First name", "Mari")
	mari.run("tick the consent", chromedp.Click(chromedp.Search(mari.field("I agree to receive offers by SMS.")), chromedp.RetryInterval(20*time.Millisecond)))
	mari.wantStatus("Join", mari.click("Join"), 200)
	mari.wantHeading("Thank you for joining")
	mari.waitText("You joined Newsletter of Analytical Engines.")
	var n int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM contacts c JOIN group_contacts gc ON gc.contact_id = c.id WHERE c.phone = '+37255500001' AND c.first_name = 'Mari'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("Mari is in %d groups (%v)", n, err)
	}

	ada.wantStatus("the list", ada.visit("/orgs/"+org+"/subscription-links"), 200)
	row := ada.within("//tr[td[normalize-space()='Website footer']]")
	row.waitText("1")
	row.waitText("Active")
	// With JavaScript the confirmation is a dialog on the same page.
	row.run("Switch off", chromedp.Click(chromedp.Search(row.link("Switch off Website footer")), chromedp.RetryInterval(20*time.Millisecond)))
	dialog := ada.within("//dialog")
	dialog.waitText("Switch off the subscription link Website footer?")
	dialog.wantStatus("Switch off", dialog.click("Switch off"), 200)
	ada.waitText("The subscription link Website footer is switched off")
	mari.wantStatus("the switched-off page", mari.visit(address), 410)
	mari.wantHeading("This page was switched off")
}
