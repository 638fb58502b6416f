package main

import (
	"strings"
	"testing"
	"time"
)

// TestBrowserCredits is adding credits as a person does it, with test
// payments: an amount below the minimum is refused beside the field with
// what was typed kept, a good one is paid at once and shows in the
// balance, the ledger, the invoice (with its PDF) and the dashboard.
func TestBrowserCredits(t *testing.T) {
	sb := startPanel(t, "--payments", "test", "--seller-name", "Switchboard OÜ", "--seller-country", "EE")
	b := newBrowser(t, sb.BaseURL)
	owner := b.person("Olivia (owner)")
	org := signUp(owner, "olivia@example.com", "owner's long password", "Olivia", "Owens", "Northwind Messaging")
	dashboard := "/orgs/" + org

	owner.wantStatus("Credits", owner.within(orgNav).clickLink("Credits"), 200)
	owner.wantPath(dashboard + "/credits")
	owner.wantHeading("Credits")
	owner.fill("Amount", "3")
	owner.wantStatus("Add credits (too little)", owner.click("Add credits"), 422)
	owner.waitText("The smallest amount you can add is €5.00.")
	if got := owner.value("Amount"); got != "3" {
		owner.fatalf("Amount holds %q after the refusal, want what was typed", got)
	}

	owner.fill("Amount", "50")
	owner.wantStatus("Add credits", owner.click("Add credits"), 200)
	owner.wantPath(dashboard + "/credits")
	number := "INV-" + time.Now().UTC().Format("2006") + "-000001"
	owner.waitText("Invoice " + number + " for €50.00 was paid, and €50.00 was added to your balance.")
	if rows := owner.texts("table.ledger tbody tr"); len(rows) != 1 || !strings.Contains(rows[0], "Invoice "+number) || !strings.Contains(rows[0], "+€50.00") {
		owner.fatalf("the ledger shows %q", rows)
	}

	owner.wantStatus("Invoices", owner.within(orgNav).clickLink("Invoices"), 200)
	owner.wantStatus(number, owner.clickLink(number), 200)
	owner.wantPath(dashboard + "/invoices/" + number)
	owner.wantHeading("Invoice " + number)
	owner.waitText("Switchboard OÜ")
	owner.waitText("Paid on ")
	if href := owner.eval(`document.querySelector("a[download]").getAttribute("href")`); href != dashboard+"/invoices/"+number+"/pdf" {
		owner.fatalf("the Download PDF link goes to %q", href)
	}

	owner.wantStatus("Dashboard", owner.within(orgNav).clickLink("Dashboard"), 200)
	if got := owner.eval(`document.getElementById("balance").textContent`); got != "€50.00" {
		owner.fatalf("the dashboard's balance is %q", got)
	}
}
