package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"switchboard/mail/mailtest"
)

// orgNav is the organisation's navigation beside the page.
const orgNav = "//nav[@aria-label='Organisation']"

// signUp creates a profile and its first organisation from /signup, and
// returns the organisation's id, read from the dashboard it lands on.
func signUp(p *person, email, password, first, last, orgName string) string {
	p.t.Helper()
	p.wantStatus("the sign-up page", p.visit("/signup"), 200)
	p.wantHeading("Create your account")
	p.fill("Email", email)
	p.fill("Password", password)
	p.fill("First name", first)
	p.fill("Last name", last)
	p.fill("Organisation name", orgName)
	p.wantStatus("Create account", p.click("Create account"), 200)
	id := p.orgID()
	p.wantPath("/orgs/" + id)
	p.wantHeading(orgName)
	p.waitText("Welcome to Switchboard. " + orgName + " is ready")
	return id
}

// createOrg creates an organisation from the switcher's "New organisation"
// and returns its id.
func createOrg(p *person, name string) string {
	p.t.Helper()
	p.wantStatus("New organisation", p.switcher().clickLink("New organisation"), 200)
	p.wantPath("/orgs/new")
	p.wantHeading("New organisation")
	p.fill("Organisation name", name)
	p.wantStatus("Create organisation", p.click("Create organisation"), 200)
	id := p.orgID()
	p.wantPath("/orgs/" + id)
	p.wantHeading(name)
	p.waitText(name + " was created. You are its owner.")
	return id
}

// switchTo picks an organisation in the header's switcher.
func switchTo(p *person, name string) {
	p.t.Helper()
	p.wantStatus("switch to "+name, p.switcher().clickLink(name), 200)
}

// TestBrowserFoundation is the issue "Foundation" as a person lives it:
// sign up, several organisations, the switcher, details, deletion, log out
// and back in where they left off.
func TestBrowserFoundation(t *testing.T) {
	sb := startPanel(t)
	b := newBrowser(t, sb.BaseURL)
	ada := b.person("Ada")

	acme := signUp(ada, "ada@example.com", "correct horse battery", "Ada", "Lovelace", "Analytical Engines")
	if got := ada.within(orgNav).text(); !strings.Contains(got, "Members") || !strings.Contains(got, "Organisation details") {
		ada.fatalf("the owner's navigation shows %q, want Members and Organisation details in it", got)
	}

	beta := createOrg(ada, "Difference Co")
	if beta == acme {
		ada.fatalf("the new organisation has the id of the first one, %s", acme)
	}

	// The switcher moves between them, from the dashboard…
	switchTo(ada, "Analytical Engines")
	ada.wantPath("/orgs/" + acme)
	ada.wantHeading("Analytical Engines")
	switchTo(ada, "Difference Co")
	ada.wantPath("/orgs/" + beta)
	ada.wantHeading("Difference Co")

	// …and keeps the person on the section they are in.
	ada.wantStatus("Organisation details", ada.within(orgNav).clickLink("Organisation details"), 200)
	ada.wantPath("/orgs/" + beta + "/settings")
	ada.wantHeading("Organisation details")
	switchTo(ada, "Analytical Engines")
	ada.wantPath("/orgs/" + acme + "/settings")
	if got := ada.value("Organisation name"); got != "Analytical Engines" {
		ada.fatalf("the settings after switching show the name %q, want Analytical Engines", got)
	}
	switchTo(ada, "Difference Co")
	ada.wantPath("/orgs/" + beta + "/settings")
	if got := ada.value("Organisation name"); got != "Difference Co" {
		ada.fatalf("the settings after switching show the name %q, want Difference Co", got)
	}

	// Rename it.
	ada.fill("Organisation name", "Difference Engines Ltd")
	ada.wantStatus("Save details", ada.click("Save details"), 200)
	ada.wantPath("/orgs/" + beta + "/settings")
	ada.waitText("The organisation's details were saved.")
	if got := ada.value("Organisation name"); got != "Difference Engines Ltd" {
		ada.fatalf("after saving, the name field holds %q", got)
	}
	if got := ada.within("//header").text(); !strings.Contains(got, "Difference Engines Ltd") {
		ada.fatalf("the header shows %q, want the new name", got)
	}
	if got := ada.within(orgNav).text(); !strings.Contains(got, "Difference Engines Ltd") {
		ada.fatalf("the navigation shows %q, want the new name", got)
	}

	// Deleting asks for the name; a wrong one keeps everything.
	ada.fill("Type the organisation's name to confirm", "Difference Co")
	ada.wantStatus("Delete organisation with a wrong name", ada.click("Delete organisation"), 422)
	ada.waitText("Type the organisation's name exactly as shown to confirm.")
	if got := ada.value("Type the organisation's name to confirm"); got != "Difference Co" {
		ada.fatalf("after the mistake the field holds %q, want what was typed", got)
	}
	ada.fill("Type the organisation's name to confirm", "Difference Engines Ltd")
	ada.wantStatus("Delete organisation", ada.click("Delete organisation"), 200)
	ada.wantPath("/orgs")
	ada.wantHeading("Your organisations")
	ada.waitText("Difference Engines Ltd was deleted.")
	if got := ada.texts("main table tbody tr td:first-child"); !slices.Equal(got, []string{"Analytical Engines"}) {
		ada.fatalf("the organisations listed are %q, want only Analytical Engines", got)
	}
	ada.wantStatus("the deleted organisation", ada.visit("/orgs/"+beta), 404)
	ada.waitText("Not found")

	// Two more, so that "the one used last" is neither the first, the
	// newest nor the first by name.
	morse := createOrg(ada, "Morse Signals")
	babbage := createOrg(ada, "Babbage & Co")
	switchTo(ada, "Morse Signals")
	ada.wantPath("/orgs/" + morse)
	if got := ada.within("//header").text(); !strings.Contains(got, "Morse Signals") {
		ada.fatalf("the switcher shows %q, want Morse Signals", got)
	}
	if babbage == morse || babbage == acme {
		ada.fatalf("organisation ids repeat: %s %s %s", acme, morse, babbage)
	}

	// Log out from the profile menu.
	ada.wantStatus("Log out", ada.profileMenu().click("Log out"), 200)
	ada.wantPath("/login")
	ada.wantHeading("Log in")
	ada.notSee("Morse Signals")

	// Log in and land where Ada left off.
	ada.wantStatus("the log-in page", ada.visit("/login"), 200)
	ada.fill("Email", "ada@example.com")
	ada.fill("Password", "correct horse battery")
	ada.wantStatus("Log in", ada.click("Log in"), 200)
	ada.wantPath("/orgs/" + morse)
	ada.wantHeading("Morse Signals")
}

// TestBrowserTeam is the issue "Team" from start to end: an owner invites a
// colleague as Administrator, the colleague signs up from the email's link,
// the owner makes them a Sender and then revokes their access, and each
// change shows on the colleague's very next click.
func TestBrowserTeam(t *testing.T) {
	sb := startPanel(t)
	b := newBrowser(t, sb.BaseURL)
	owner := b.person("Olivia (owner)")
	ivan := b.person("Ivan (invited)")

	const (
		orgName     = "Northwind Messaging"
		ivanEmail   = "ivan@example.com"
		ivanName    = "Ivan Petrov"
		ivanRoleSel = "Role of " + ivanName
	)
	org := signUp(owner, "olivia@example.com", "owner's long password", "Olivia", "Owens", orgName)
	dashboard := "/orgs/" + org
	members := dashboard + "/members"
	ivanRow := owner.within("//table//tr[td[normalize-space()='" + ivanEmail + "']]")

	// When the story breaks, show what the members page looked like.
	shots := t.ArtifactDir()
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		if owner.visitQuietly(members) {
			file := filepath.Join(shots, "members.png")
			if err := owner.screenshot(file); err != nil {
				t.Logf("screenshot of the members page: %v", err)
			} else {
				t.Logf("screenshot of the members page: %s (kept with go test -artifacts)", file)
			}
		}
		file := filepath.Join(shots, "invitee.png")
		if err := ivan.screenshot(file); err == nil {
			t.Logf("screenshot of the invitee's tab: %s (kept with go test -artifacts)", file)
		}
	})

	// Invite Ivan as Administrator.
	owner.wantStatus("Members", owner.within(orgNav).clickLink("Members"), 200)
	owner.wantPath(members)
	owner.wantHeading("Members")
	owner.fill("Email", ivanEmail)
	owner.choose("Role", "Administrator")
	owner.wantStatus("Send invitation", owner.click("Send invitation"), 200)
	owner.wantPath(members)
	owner.waitText("An invitation to join as Administrator is on its way to " + ivanEmail + ".")
	pending := owner.texts("table.invitations tbody tr")
	if len(pending) != 1 || !strings.Contains(pending[0], ivanEmail) || !strings.Contains(pending[0], "Administrator") {
		owner.fatalf("the pending invitations are %q, want one for %s as Administrator", pending, ivanEmail)
	}

	msg := sb.SMTP.WaitForMessage(t, ivanEmail, stepTimeout)
	for _, want := range []string{orgName, "Administrator", "Olivia"} {
		if !strings.Contains(msg.Text, want) {
			t.Errorf("the invitation email does not name %q:\n%s", want, msg.Text)
		}
	}
	link := mailtest.FirstLink(msg.Text, sb.BaseURL+"/invitations/")
	if link == "" {
		t.Fatalf("the invitation email has no link starting with %s/invitations/:\n%s", sb.BaseURL, msg.Text)
	}

	// Ivan opens the link in his own browser and creates his profile.
	ivan.wantStatus("the invitation link", ivan.visit(link), 200)
	ivan.wantHeading("Join " + orgName)
	if got := ivan.value("Email"); got != ivanEmail {
		ivan.fatalf("the invitation's Email field holds %q, want %s", got, ivanEmail)
	}
	ivan.fill("First name", "Ivan")
	ivan.fill("Last name", "Petrov")
	ivan.fill("Password", "ivan's own password")
	ivan.wantStatus("Create profile and accept invitation", ivan.click("Create profile and accept invitation"), 200)
	ivan.wantPath(dashboard)
	ivan.wantHeading(orgName)
	ivan.waitText("Welcome to " + orgName + ". You joined as Administrator.")
	if nav := ivan.navLinks(); !slices.Contains(nav, "Members") || !slices.Contains(nav, "Organisation details") {
		ivan.fatalf("an Administrator's navigation is %q, want Members and Organisation details in it", nav)
	}

	// The owner sees Ivan as a member, and the invitation no longer pending.
	owner.wantStatus("the members page", owner.visit(members), 200)
	owner.waitText("No invitation is waiting for an answer.")
	if got := ivanRow.text(); !strings.Contains(got, ivanName) {
		owner.fatalf("Ivan's row shows %q, want his name", got)
	}
	if got := ivanRow.text(); !strings.Contains(got, "Administrator") {
		owner.fatalf("Ivan's row shows %q, want Administrator", got)
	}

	// The owner opens Ivan's page from his name and makes him a Sender.
	owner.wantStatus("Ivan's page", ivanRow.clickLink(ivanName), 200)
	ivanPage := owner.path()
	owner.wantHeading(ivanName)
	if got := owner.selected(ivanRoleSel); got != "Administrator" {
		owner.fatalf("Ivan's role shows %q, want Administrator", got)
	}
	owner.choose(ivanRoleSel, "Sender")
	owner.wantStatus("Change role", owner.click("Change role"), 200)
	owner.wantPath(members)
	owner.waitText(ivanName + " is now Sender.")
	if got := ivanRow.text(); !strings.Contains(got, "Sender") {
		owner.fatalf("after the change Ivan's row shows %q, want Sender", got)
	}

	// Ivan's next click shows a Sender's navigation, and Members is closed.
	ivan.wantStatus("Dashboard", ivan.within(orgNav).clickLink("Dashboard"), 200)
	ivan.wantPath(dashboard)
	nav := ivan.navLinks()
	if !slices.Contains(nav, "Dashboard") || slices.Contains(nav, "Members") || slices.Contains(nav, "Organisation details") {
		ivan.fatalf("a Sender's navigation is %q, want Dashboard without Members or Organisation details", nav)
	}
	ivan.wantStatus("the members page as a Sender", ivan.visit(members), 403)
	ivan.waitText("You don't have access")
	ivan.waitText("olivia@example.com") // who to ask
	ivan.wantStatus("the dashboard as a Sender", ivan.visit(dashboard), 200)

	// The owner revokes Ivan's access, confirming in a dialog: the link
	// opens it over Ivan's page, with the focus on Cancel.
	owner.wantStatus("Ivan's page", owner.visit(ivanPage), 200)
	dialog := owner.within("//dialog[@open]")
	openDialog := func() {
		owner.run("click the link Revoke access", chromedp.Click(chromedp.Search(owner.link("Revoke access")), chromedp.RetryInterval(20*time.Millisecond)))
		owner.run("wait for the dialog", chromedp.WaitVisible(chromedp.Search("//dialog[@open]"), chromedp.RetryInterval(20*time.Millisecond)))
	}
	openDialog()
	owner.wantPath(ivanPage)
	dialog.waitText(ivanName + " (" + ivanEmail + ") will lose access to " + orgName + " at once")
	if got := owner.eval(`document.activeElement ? document.activeElement.textContent.trim() : ""`); got != "Cancel" {
		owner.fatalf("the focus is on %q, want Cancel", got)
	}
	// Escape closes it, and nothing happened.
	owner.run("press Escape", chromedp.KeyEvent(kb.Escape), chromedp.WaitNotPresent(chromedp.Search("//dialog"), chromedp.RetryInterval(20*time.Millisecond)))
	owner.wantPath(ivanPage)
	openDialog()
	owner.wantStatus("Revoke access", dialog.click("Revoke access"), 200)
	owner.wantPath(members)
	owner.waitText(ivanName + " no longer has access to " + orgName + ".")
	for _, row := range owner.texts("table.members tbody tr") {
		if strings.Contains(row, ivanEmail) {
			owner.fatalf("Ivan is still listed after the revocation: %q", row)
		}
	}

	// In his still-open tab, Ivan's next click finds nothing there but
	// the word of who removed him and when…
	removed := "Your access to " + orgName + " was removed by Olivia Owens on "
	ivan.wantStatus("Dashboard after the revocation", ivan.within(orgNav).clickLink("Dashboard"), 404)
	ivan.wantPath(dashboard)
	ivan.waitText("Not found")
	ivan.waitText(removed)

	// …while he stays logged in, told the same, and with no way in.
	ivan.wantStatus("the organisations page", ivan.visit("/orgs"), 200)
	ivan.wantPath("/orgs")
	ivan.wantHeading("Your organisations")
	ivan.waitText(removed)
	if links := ivan.texts("main a"); slices.ContainsFunc(links, func(l string) bool { return strings.Contains(l, orgName) }) {
		ivan.fatalf("the organisations page still links to %s: %q", orgName, links)
	}
	if got := ivan.within("//header").text(); !strings.Contains(got, "Ivan") {
		ivan.fatalf("the header shows %q, want Ivan's profile menu", got)
	}
}
