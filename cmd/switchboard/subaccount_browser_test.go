package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"switchboard/mail/mailtest"
	"switchboard/store/storetest"
)

// TestBrowserSubaccountBudget walks issue 12 in a browser: the parent
// creates a subaccount with a Budget on the Subaccounts page, the invitee
// opens the link of the email, signs up and lands in the subaccount, sends
// on Send SMS until the send is refused with the budget's sentence, and the
// parent sees the subaccount's spending on the Subaccounts page.
func TestBrowserSubaccountBudget(t *testing.T) {
	sb := startPanel(t)
	b := newBrowser(t, sb.BaseURL)
	ada := b.person("Ada")
	org := signUp(ada, "ada@example.com", "correct horse battery", "Ada", "Lovelace", "Analytical Engines")
	raw := storetest.OpenRaw(t, sb.Config.DB)
	// €10.00 on the parent: the budget, not the balance, is what stops
	// the subaccount.
	if _, err := raw.Exec(`UPDATE organisations SET balance = 100000, country = 'EE' WHERE id = ?`, org); err != nil {
		t.Fatal(err)
	}

	ada.wantStatus("Subaccounts", ada.within(orgNav).clickLink("Subaccounts"), 200)
	ada.wantPath("/orgs/" + org + "/subaccounts")
	ada.wantHeading("Subaccounts")
	ada.fill("Email", "mari@example.com")
	ada.fill("Name", "Acme Estonia")
	// Two controls are named Budget: the Funding choice and its amount.
	ada.run("choose the Funding Budget", chromedp.Click(`//input[@id='funding_budget']`, chromedp.RetryInterval(20*time.Millisecond)))
	ada.run("type the Budget", chromedp.SendKeys(`//input[@id='budget']`, "0.10", chromedp.RetryInterval(20*time.Millisecond)))
	ada.wantStatus("Create subaccount", ada.click("Create subaccount"), 200)
	ada.wantPath("/orgs/" + org + "/subaccounts")
	ada.waitText("Invitation sent to mari@example.com")
	row := ada.within("//table[contains(@class,'subaccounts')]//tr[td[contains(., 'mari@example.com')]]")
	row.waitText("Pending")

	msg := sb.SMTP.WaitForMessage(t, "mari@example.com", stepTimeout)
	if !strings.Contains(msg.Text, "invites you to own “Acme Estonia”, a subaccount of “Analytical Engines”") {
		t.Errorf("the invitation email does not say what is offered:\n%s", msg.Text)
	}
	link := mailtest.FirstLink(msg.Text, sb.BaseURL+"/invitations/")
	if link == "" {
		t.Fatalf("no invitation link in\n%s", msg.Text)
	}

	// Mari opens the link in her own browser and signs up.
	mari := b.person("Mari")
	mari.wantStatus("the invitation link", mari.visit(link), 200)
	mari.wantHeading("Own Acme Estonia")
	mari.waitText("Ada Lovelace invites you to own Acme Estonia, a subaccount of Analytical Engines.")
	if got := mari.value("Email"); got != "mari@example.com" {
		mari.fatalf("the Email field holds %q", got)
	}
	mari.fill("First name", "Mari")
	mari.fill("Last name", "Tamm")
	mari.fill("Password", "mari's own password")
	mari.wantStatus("Create profile and accept invitation", mari.click("Create profile and accept invitation"), 200)
	sub := mari.orgID()
	if sub == org {
		mari.fatalf("landed in the parent")
	}
	mari.wantHeading("Acme Estonia")
	mari.waitText("Welcome to Acme Estonia, a subaccount of Analytical Engines.")
	mari.within(orgNav).waitText("Subaccount of Analytical Engines")

	// She sends one message at a time (€0.05 each) until the budget of
	// €0.10 refuses.
	refused := false
	for i := 0; i < 4 && !refused; i++ {
		mari.wantStatus("Send SMS", mari.visit("/orgs/"+sub+"/messages/new"), 200)
		typeIn(mari, "To", "+37255500001")
		typeIn(mari, "Message", "Tere")
		switch status := mari.click("Send"); status {
		case 200:
			mari.waitText("1 message queued.")
		case 422:
			mari.waitText("The budget left of €0.00 does not cover this send of €0.05.")
			refused = true
			if i != 2 {
				mari.fatalf("refused at send %d, want the third", i+1)
			}
		default:
			mari.fatalf("Send answered %d", status)
		}
	}
	if !refused {
		mari.fatalf("four sends of €0.05 went through a budget of €0.10")
	}

	// The parent sees its spending.
	ada.wantStatus("Subaccounts", ada.visit("/orgs/"+org+"/subaccounts"), 200)
	row.waitText("Active")
	row.waitText("Mari Tamm")
	row.waitText("€0.10")
	row.waitText("€0.00 left")
	// And this month's chart of its cost per day, drawn on the server: an
	// SVG image with its title and a bar of Acme Estonia's €0.10, and the
	// statistics table with the same cost.
	chart := ada.eval(`(function(){
		const svg = document.querySelector("#statistics svg[role=img]");
		if (!svg) return "";
		const bars = Array.from(svg.querySelectorAll("rect > title")).map(e => e.textContent);
		return svg.querySelector("title").textContent + "\n" + bars.join("\n");
	})()`)
	if !strings.HasPrefix(chart, "Cost per day per subaccount") {
		ada.fatalf("no chart of the cost per day on the Subaccounts page: %q", chart)
	}
	if !strings.Contains(chart, "\nAcme Estonia, ") || !strings.Contains(chart, ": €0.10") {
		ada.fatalf("the chart has no bar of Acme Estonia's €0.10: %q", chart)
	}
	ada.within("//table[@id='subaccount-stats-table']//tr[th[contains(., 'Acme Estonia')] or td[contains(., 'Acme Estonia')]]").waitText("€0.10")
	var balance int64
	if err := raw.QueryRow(`SELECT balance FROM organisations WHERE id = ?`, org).Scan(&balance); err != nil {
		t.Fatal(err)
	}
	if balance != 100000-1000 {
		t.Errorf("the parent's balance is %d, want %d (two sends of €0.05 debited)", balance, 100000-1000)
	}
}
