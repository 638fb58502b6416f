package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"switchboard"
)

// TestBrowserImport: a person uploads a CSV file, sees its first rows with
// the columns guessed, picks the group and the default country, and
// imports; the panel's own worker (started by Main, woken by the queue)
// runs it while the page follows its progress by itself and, once it is
// done, shows the summary with the skipped lines, without a click.
func TestBrowserImport(t *testing.T) {
	sb := startPanel(t)
	b := newBrowser(t, sb.BaseURL)
	ada := b.person("Ada")
	org := signUp(ada, "ada@example.com", "correct horse battery", "Ada", "Lovelace", "Analytical Engines")
	orgID, _ := strconv.ParseInt(org, 10, 64)
	profile, _, err := sb.DB.FindProfileByEmail(t.Context(), "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	group := &switchboard.Group{OrgID: orgID, Name: "Newsletter"}
	if err := sb.DB.CreateGroup(t.Context(), switchboard.Actor{ProfileID: profile.ID}, group); err != nil {
		t.Fatal(err)
	}

	// Enough rows that the import is still running when its page opens.
	const rows = 30_000
	var file strings.Builder
	file.WriteString("Mobile;Eesnimi;Perenimi\n")
	for i := range rows {
		fmt.Fprintf(&file, "5%07d;Mari %d;Tamm\n", i, i)
	}
	file.WriteString("12ab;Bad;Number\n")
	csvPath := filepath.Join(t.TempDir(), "contacts.csv")
	if err := os.WriteFile(csvPath, []byte(file.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	ada.wantStatus("the import page", ada.visit("/orgs/"+org+"/contacts/import"), 200)
	ada.wantHeading("Import contacts")
	ada.run("choose the file", chromedp.SetUploadFiles(chromedp.Search(ada.field("File")), []string{csvPath}, chromedp.RetryInterval(20*time.Millisecond)))
	ada.wantStatus("upload", ada.click("Upload"), 200)
	ada.waitText("contacts.csv has 30,001 rows")
	for label, want := range map[string]string{"Column 1 (Mobile)": "Phone", "Column 2 (Eesnimi)": "First name", "Column 3 (Perenimi)": "Last name"} {
		if got := ada.selected(label); got != want {
			ada.fatalf("%s guessed as %q, want %q", label, got, want)
		}
	}
	ada.waitText("Mari 0")
	ada.choose("Group", "Newsletter")
	ada.choose("Default country", "Estonia")
	ada.wantStatus("import", ada.click("Import contacts"), 200)
	ada.wantHeading("Import of contacts.csv")
	// The page updates itself, then shows the summary.
	ada.waitText("Download skipped lines")
	ada.waitText("12ab is not a phone number.")
	summary := ada.within("//section[@id='import-progress']").text()
	for _, want := range []string{"Done", "30,001 of 30,001", "Added\n30,000", "Skipped\n1"} {
		if !strings.Contains(summary, want) {
			ada.fatalf("the summary lacks %q:\n%s", want, summary)
		}
	}
	phones, err := sb.DB.GroupPhones(t.Context(), orgID, []int64{group.ID})
	if err != nil || len(phones) != rows {
		t.Fatalf("%d numbers in the group, %v", len(phones), err)
	}
}
