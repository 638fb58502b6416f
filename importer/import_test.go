package importer_test

import (
	"fmt"
	"strings"
	"testing"

	"switchboard"
	"switchboard/sms"
)

// TestGeneratedNumbersAreValid: the generator's numbers are numbers, so
// that its expectations hold.
func TestGeneratedNumbersAreValid(t *testing.T) {
	for _, i := range []int{0, 1, 2, 99_999} {
		raw, want := number(i)
		got, err := sms.ParseNumber(raw, "EE")
		if err != nil || got != want {
			t.Fatalf("number(%d) = %q: %q, %v; want %q", i, raw, got, err, want)
		}
	}
}

// TestImport100k imports a generated file of 100,000 rows with bad
// numbers, bad emails, short rows, numbers repeated inside the file,
// numbers the organisation had, and quoted commas and newlines, and
// checks the exact counts, every skipped line with its line number and
// reason, the contacts' fields and the group.
func TestImport100k(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	p := newPanel(t)
	g := generate(n)
	p.seed(t, g.existing)
	group := p.group(t, "Imported")
	imp := p.queue(t, g.csv, nil, group)
	if imp.Rows != n {
		t.Fatalf("the upload counted %d rows, want %d", imp.Rows, n)
	}
	p.run(t)
	got := p.find(t, imp.ID)
	wantCounts(t, got, switchboard.ImportDone, g.added, g.updated, g.skipped)
	if got.Processed != n || got.Finished == nil {
		t.Fatalf("processed %d of %d, finished %v", got.Processed, n, got.Finished)
	}
	problems := p.problems(t, imp.ID)
	if len(problems) != len(g.problems) {
		t.Errorf("%d lines skipped, want %d", len(problems), len(g.problems))
	}
	for line, want := range g.problems {
		if problems[line] != want {
			t.Errorf("line %d: %q, want %q", line, problems[line], want)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	if c := p.count(t, `SELECT COUNT(*) FROM contacts WHERE org_id = ?`, p.org); c != g.added+g.updated {
		t.Fatalf("%d contacts, want %d", c, g.added+g.updated)
	}
	if c := p.count(t, `SELECT COUNT(*) FROM group_contacts WHERE group_id = ?`, group); c != g.added+g.updated {
		t.Fatalf("%d contacts in the group, want %d", c, g.added+g.updated)
	}
	// A number the organisation had: the file's fields replace the old.
	var first, email, company string
	if err := p.raw.QueryRowContext(ctx, `SELECT first_name, email, company FROM contacts WHERE org_id = ? AND phone = ?`, p.org, g.existing[1]).Scan(&first, &email, &company); err != nil {
		t.Fatal(err)
	}
	if first == "Old" || email == "old@example.com" || strings.HasPrefix(company, "Old") {
		t.Fatalf("an existing contact kept its old fields: %q %q %q", first, email, company)
	}
	// The quoted comma and newline are one field.
	if err := p.raw.QueryRowContext(ctx, `SELECT company FROM contacts WHERE org_id = ? AND phone = ?`, p.org, "+37250000003").Scan(&company); err != nil {
		t.Fatal(err)
	}
	if company != "Acme, Ltd\nTallinn" {
		t.Fatalf("company %q", company)
	}
	// The file is not kept; the audit line says what happened.
	if c := p.count(t, `SELECT COUNT(*) FROM contact_import_chunks WHERE import_id = ?`, imp.ID); c != 0 {
		t.Fatal("the file was kept after the import")
	}
	var detail string
	if err := p.raw.QueryRowContext(ctx, `SELECT detail FROM audit_log WHERE org_id = ? AND action = 'contacts.imported'`, p.org).Scan(&detail); err != nil {
		t.Fatal(err)
	}
	if want := store_summary(g.added, g.updated, g.skipped); detail != want {
		t.Fatalf("audit %q, want %q", detail, want)
	}
}

func store_summary(a, u, s int) string {
	return fmt.Sprintf("%d added, %d updated, %d skipped", a, u, s)
}
