package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserSendAndHistory is issue 9's story as a person lives it: add
// credits (test payments), apply for a sender name and have the operator
// approve it from the command line, send to three numbers from it, see
// them Delivered in History (the log gateway) and download the CSV.
func TestBrowserSendAndHistory(t *testing.T) {
	sb := startPanel(t, "--payments", "test")
	b := newBrowser(t, sb.BaseURL)
	ada := b.person("Ada (owner)")
	org := signUp(ada, "ada@example.com", "ada's long password", "Ada", "Lovelace", "Analytical Engines")
	dashboard := "/orgs/" + org

	// Credits, paid at once.
	ada.wantStatus("Credits", ada.within(orgNav).clickLink("Credits"), 200)
	ada.fill("Amount", "10")
	ada.wantStatus("Add credits", ada.click("Add credits"), 200)
	ada.waitText("€10.00 was added to your balance.")

	// A sender name, pending until the operator approves it.
	ada.wantStatus("Sender names", ada.within(orgNav).clickLink("Sender names"), 200)
	ada.wantPath(dashboard + "/sender-names")
	ada.fill("Sender name", "Engines")
	typeIn(ada, "Use case", "Order confirmations")
	ada.wantStatus("Apply for sender name", ada.click("Apply for sender name"), 200)
	ada.waitText("Pending")

	operator := func(args ...string) string {
		t.Helper()
		m := NewMain()
		var out bytes.Buffer
		m.Stdout = &out
		if err := m.ParseFlags(append([]string{"--db", sb.Config.DB, "sender-names"}, args...), func(string) string { return "" }); err != nil {
			t.Fatalf("sender-names %v: %v", args, err)
		}
		if err := m.RunCommand(t.Context()); err != nil {
			t.Fatalf("sender-names %v: %v", args, err)
		}
		return out.String()
	}
	list := operator("list")
	id := regexp.MustCompile(`(?m)^(\d+)\t.*\tEngines\t`).FindStringSubmatch(list)
	if id == nil {
		t.Fatalf("sender-names list printed %q, without the name Engines", list)
	}
	operator("approve", id[1])
	ada.visit(dashboard + "/sender-names")
	ada.waitText("Approved")

	// Send to three numbers from the approved name.
	ada.wantStatus("Send SMS", ada.within(orgNav).clickLink("Send SMS"), 200)
	ada.wantPath(dashboard + "/messages/new")
	ada.choose("From", "Engines")
	typeIn(ada, "To", "+37255500001, +37255500002, +37255500003")
	typeIn(ada, "Message", "Your engine is ready.")
	ada.wantStatus("Preview", ada.click("Preview"), 200)
	ada.within("//section[@id='send-preview']").waitText("3")
	ada.wantStatus("Send", ada.click("Send"), 200)
	ada.wantPath(dashboard + "/history")
	ada.waitText("3 messages queued.")

	// The log gateway delivers them; History shows it.
	deadline := time.Now().Add(stepTimeout)
	for {
		rows := ada.texts("table.history tbody tr")
		delivered := 0
		for _, r := range rows {
			if strings.Contains(r, "Delivered") && strings.Contains(r, "Your engine is ready.") && strings.Contains(r, "Engines") {
				delivered++
			}
		}
		if delivered == 3 && len(rows) == 3 {
			break
		}
		if time.Now().After(deadline) {
			ada.fatalf("history shows %q; want three Delivered messages from Engines", rows)
		}
		time.Sleep(200 * time.Millisecond)
		ada.visit(dashboard + "/history")
	}

	// Export CSV: the link's file, fetched as the browser downloads it
	// (with the person's cookie).
	ctx, cancel := context.WithTimeout(ada.ctx, stepTimeout)
	defer cancel()
	body, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async function(){ const a = [...document.querySelectorAll("a")].find(x => x.textContent.trim() === "Export CSV"); const r = await fetch(a.href); return r.status + "\n" + r.headers.get("Content-Disposition") + "\n" + await r.text(); })()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("fetch the Export CSV link: %v", err)
	}
	status, rest, _ := strings.Cut(body, "\n")
	disposition, file, _ := strings.Cut(rest, "\n")
	if status != "200" || !strings.HasPrefix(disposition, "attachment") {
		t.Fatalf("Export CSV answered %s with Content-Disposition %q", status, disposition)
	}
	records, err := csv.NewReader(strings.NewReader(file)).ReadAll()
	if err != nil {
		t.Fatalf("the CSV does not read as CSV: %v\n%s", err, file)
	}
	if len(records) != 4 {
		t.Fatalf("the CSV has %d lines, want a header and 3 messages:\n%s", len(records), file)
	}
	for _, r := range records[1:] {
		line := strings.Join(r, "|")
		if !strings.Contains(line, "Engines") || !strings.Contains(line, "Delivered") || !strings.Contains(line, "+3725550000") {
			t.Errorf("CSV line %q: want the sender, the recipient and Delivered", line)
		}
	}
}
