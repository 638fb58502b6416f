package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"switchboard/store/storetest"
)

// typeIn is fill for a textarea, empty or not: chromedp.Clear and SetValue
// fail on a textarea without text. The keys are typed, so the page sees
// the input events a person's typing makes.
func typeIn(p *person, label, value string) {
	p.t.Helper()
	p.eval(`(function(){ const n = document.evaluate(%q, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue; if (n) { n.value = ""; } return ""; })()`, p.field(label))
	p.run(fmt.Sprintf("type into %q", label),
		chromedp.SendKeys(chromedp.Search(p.field(label)), value, chromedp.NodeVisible, chromedp.RetryInterval(20*time.Millisecond)),
	)
	if got := p.value(label); got != value {
		p.fatalf("field %q holds %q after typing %q", label, got, value)
	}
}

// TestBrowserSendLivePreview: with JavaScript on, the Send SMS page counts
// as the person types, before any button is pressed; the Preview button
// shows the same without it.
func TestBrowserSendLivePreview(t *testing.T) {
	sb := startPanel(t)
	b := newBrowser(t, sb.BaseURL)
	ada := b.person("Ada")
	org := signUp(ada, "ada@example.com", "correct horse battery", "Ada", "Lovelace", "Analytical Engines")
	raw := storetest.OpenRaw(t, sb.Config.DB)
	if _, err := raw.Exec(`UPDATE organisations SET balance = 10000, country = 'EE' WHERE id = ?`, org); err != nil {
		t.Fatal(err)
	}

	ada.wantStatus("Send SMS", ada.within(orgNav).clickLink("Send SMS"), 200)
	ada.wantPath("/orgs/" + org + "/messages/new")
	ada.wantHeading("Send SMS")
	if got := ada.selected("From"); got != "Switchboard" {
		ada.fatalf("From offers %q, want the default sender", got)
	}
	preview := ada.within("//section[@id='send-preview']")
	typeIn(ada, "To", "55500001, 55500002; 12ab, 55500001")
	typeIn(ada, "Message", "Hello from the engine")
	preview.waitText("Recipients\n2")
	preview.waitText("2 (1 invalid, 1 duplicate)")
	preview.waitText("€0.10")
	preview.waitText("Line 1: 12ab is not a phone number.")
	preview.waitText("Hello from the engine")

	// An extension character counts twice: 81 € are two parts.
	typeIn(ada, "Message", "€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€")
	preview.waitText("Characters\n162")
	preview.waitText("€0.20")
	typeIn(ada, "Message", "Tere, Zoë 😀")
	preview.waitText("UCS-2")

	// Preview, the button, answers the page with the same panel.
	ada.wantStatus("Preview", ada.click("Preview"), 200)
	ada.wantPath("/orgs/" + org + "/messages/new")
	preview.waitText("UCS-2")
	if got := ada.value("To"); got != "55500001, 55500002; 12ab, 55500001" {
		ada.fatalf("To holds %q after Preview", got)
	}
}
