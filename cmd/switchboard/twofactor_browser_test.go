package main

import (
	"strings"
	"testing"
	"time"

	"switchboard/twofactor"
)

// TestBrowserTwoFactor is issue 13's two-factor authentication as a person
// lives it: turn it on by reading the secret from the page (as one types it
// into an app) and confirming with a code computed from it, log out, log in
// with the password and then a fresh code, and land in the panel.
func TestBrowserTwoFactor(t *testing.T) {
	sb := startPanel(t)
	b := newBrowser(t, sb.BaseURL)
	ada := b.person("Ada")
	org := signUp(ada, "ada@example.com", "correct horse battery", "Ada", "Lovelace", "Analytical Engines")

	ada.wantStatus("the account page", ada.visit("/account"), 200)
	ada.waitText("Security activity")
	ada.wantStatus("Set up two-factor authentication", ada.clickLink("Set up two-factor authentication"), 200)
	ada.wantPath("/account/two-factor")
	ada.wantHeading("Two-factor authentication")
	ada.wantStatus("Set up two-factor authentication", ada.click("Set up two-factor authentication"), 200)
	ada.waitText("Set up your app")
	// The QR code is drawn on the server, in the page.
	if n := ada.eval(`String(document.querySelector("svg.qr path").getAttribute("d").length)`); len(n) < 3 {
		ada.fatalf("the QR code is almost empty (%s characters of path)", n)
	}
	secret := strings.ReplaceAll(ada.eval(`document.getElementById("two-factor-secret").textContent`), " ", "")
	if len(secret) != 32 {
		ada.fatalf("the secret on the page is %q", secret)
	}
	now := time.Now()
	first, err := twofactor.Code(secret, now)
	if err != nil {
		t.Fatal(err)
	}
	ada.fill("Code", first)
	ada.wantStatus("Turn on two-factor authentication", ada.click("Turn on two-factor authentication"), 200)
	ada.waitText("Your recovery codes")
	ada.waitText("They are shown only now.")
	if codes := ada.texts("ul.recovery-codes code"); len(codes) != 10 {
		ada.fatalf("%d recovery codes shown, want 10", len(codes))
	}

	ada.wantStatus("Log out", ada.profileMenu().click("Log out"), 200)
	ada.wantPath("/login")
	ada.fill("Email", "ada@example.com")
	ada.fill("Password", "correct horse battery")
	ada.wantStatus("Log in", ada.click("Log in"), 200)
	ada.wantPath("/login/two-factor")
	ada.wantHeading("Two-factor authentication")
	// The password alone opened nothing.
	ada.wantStatus("the panel before the Code", ada.visit("/orgs/"+org), 200)
	if got := ada.location().Path; got != "/login" {
		ada.fatalf("the password alone opened %s", got)
	}
	ada.wantStatus("back to the Code", ada.visit("/login/two-factor"), 200)
	ada.wantHeading("Two-factor authentication")

	// The code that turned two-factor on was used: wait for the app's
	// next one, as a person would.
	used := twofactor.Step(now)
	for twofactor.Step(time.Now()) <= used {
		time.Sleep(250 * time.Millisecond)
	}
	fresh, err := twofactor.Code(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ada.fill("Code", fresh)
	ada.wantStatus("Log in with the Code", ada.click("Log in"), 200)
	ada.wantPath("/orgs/" + org)
	ada.wantHeading("Analytical Engines")

	ada.wantStatus("the account page", ada.visit("/account"), 200)
	ada.waitText("Two-factor authentication turned on")
}
