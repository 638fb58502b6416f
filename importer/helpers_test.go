package importer_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"switchboard"
	"switchboard/importer"
	"switchboard/store"
	"switchboard/store/storetest"
)

// TestMain runs every test of the package on SQLite, then on PostgreSQL
// when SWITCHBOARD_POSTGRES_URL names a server.
func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

var ctx = context.Background()

// panel is a database with one organisation and its owner.
type panel struct {
	db    *store.DB
	dsn   string
	raw   *storetest.Raw
	owner int64
	org   int64
}

func newPanel(tb testing.TB) *panel {
	tb.Helper()
	db, dsn := storetest.Open(tb)
	p := &switchboard.Profile{Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace"}
	org := &switchboard.Organisation{Name: "Acme", Country: "EE"}
	if err := db.CreateProfileWithOrganisation(ctx, p, "hash", org); err != nil {
		tb.Fatal(err)
	}
	return &panel{db: db, dsn: dsn, raw: storetest.OpenRaw(tb, dsn), owner: p.ID, org: org.ID}
}

// queue uploads content as the upload page does (checked first) and
// queues it with mapping (guessed from the header when nil).
func (p *panel) queue(tb testing.TB, content string, mapping []switchboard.Column, group int64) *switchboard.ContactImport {
	tb.Helper()
	f, err := importer.Check(strings.NewReader(content))
	if err != nil {
		tb.Fatalf("check: %v", err)
	}
	return p.queueUnchecked(tb, content, f.Rows, mapping, group)
}

// queueUnchecked keeps and queues content as it is, as if the checks of
// the upload had passed (a file changed behind the panel's back).
func (p *panel) queueUnchecked(tb testing.TB, content string, rows int, mapping []switchboard.Column, group int64) *switchboard.ContactImport {
	tb.Helper()
	imp := &switchboard.ContactImport{OrgID: p.org, Filename: "contacts.csv", Country: "EE", Rows: rows, CreatedBy: p.owner}
	if err := p.db.CreateImport(ctx, imp, strings.NewReader(content)); err != nil {
		tb.Fatal(err)
	}
	if mapping == nil {
		header, _ := importer.Preview([]byte(content), 0)
		mapping = importer.GuessColumns(header)
	}
	imp.Mapping, imp.GroupID = mapping, group
	if err := p.db.QueueImport(ctx, imp); err != nil {
		tb.Fatal(err)
	}
	return imp
}

// run runs every queued import with a new worker.
func (p *panel) run(tb testing.TB) {
	tb.Helper()
	w := importer.NewWorker(p.db, nil)
	for {
		ran, err := w.RunOnce(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		if !ran {
			return
		}
	}
}

func (p *panel) find(tb testing.TB, id int64) *switchboard.ContactImport {
	tb.Helper()
	imp, err := p.db.FindImport(ctx, p.org, id)
	if err != nil {
		tb.Fatal(err)
	}
	return imp
}

func (p *panel) problems(tb testing.TB, id int64) map[int]string {
	tb.Helper()
	list, err := p.db.ImportProblems(ctx, p.org, id, 0)
	if err != nil {
		tb.Fatal(err)
	}
	m := map[int]string{}
	for _, pr := range list {
		m[pr.Line] = pr.Reason
	}
	return m
}

func (p *panel) count(tb testing.TB, q string, args ...any) int {
	tb.Helper()
	var n int
	if err := p.raw.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
	return n
}

// seed adds contacts with these numbers, named Old Name, in one
// transaction behind the store's back.
func (p *panel) seed(tb testing.TB, phones []string) {
	tb.Helper()
	tx, err := p.raw.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, p.raw.Bind(`INSERT INTO contacts (org_id, phone, first_name, last_name, email, company, created_at, updated_at)
		VALUES (?, ?, 'Old', 'Name', 'old@example.com', 'Old Co', 0, 0)`))
	if err != nil {
		tb.Fatal(err)
	}
	for _, phone := range phones {
		if _, err := stmt.ExecContext(ctx, p.org, phone); err != nil {
			tb.Fatal(err)
		}
	}
	stmt.Close()
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}

func (p *panel) group(tb testing.TB, name string) int64 {
	tb.Helper()
	g := &switchboard.Group{OrgID: p.org, Name: name}
	if err := p.db.CreateGroup(ctx, switchboard.Actor{ProfileID: p.owner}, g); err != nil {
		tb.Fatal(err)
	}
	return g.ID
}

func wantCounts(tb testing.TB, imp *switchboard.ContactImport, status switchboard.ImportStatus, added, updated, skipped int) {
	tb.Helper()
	if imp.Status != status || imp.Added != added || imp.Updated != updated || imp.Skipped != skipped {
		tb.Fatalf("import %d: %s, %d added, %d updated, %d skipped (%q); want %s, %d, %d, %d",
			imp.ID, imp.Status, imp.Added, imp.Updated, imp.Skipped, imp.Error, status, added, updated, skipped)
	}
}

// generated is a CSV file of n contact rows with, at fixed intervals, bad
// numbers, bad emails, rows of the wrong length, numbers repeated from an
// earlier line, numbers the organisation has already (existing), and
// fields quoted with commas and newlines inside (which make lines and rows
// differ), and what importing it must do.
type generated struct {
	csv                     string
	existing                []string // numbers to add before the import
	added, updated, skipped int
	problems                map[int]string // by line
}

// number is the i-th number of a generated file: Estonian mobile numbers,
// half written nationally (the import's country, EE, completes them).
func number(i int) (raw, e164 string) {
	d := fmt.Sprintf("5%07d", i)
	if i%2 == 0 {
		return "+372 " + d, "+372" + d
	}
	return d, "+372" + d
}

func generate(n int) *generated {
	g := &generated{problems: map[int]string{}}
	var b strings.Builder
	b.Grow(n * 60)
	b.WriteString("Phone,First name,Last name,Email,Company\n")
	line := 2
	seen := map[string]int{}
	for i := 0; i < n; i++ {
		raw, e164 := number(i)
		company := "Acme"
		email := fmt.Sprintf("p%d@example.com", i)
		reason := ""
		switch {
		case i%97 == 5:
			raw = fmt.Sprintf("12ab%d", i)
			reason = raw + " is not a phone number."
		case i%89 == 7:
			email = fmt.Sprintf("p%d@", i)
			reason = email + " is not an email address."
		case i%83 == 11 && i > 20:
			raw, e164 = number(i - 20)
		}
		if i%1000 == 3 {
			company = "\"Acme, Ltd\nTallinn\"" // a comma and a newline inside
		}
		row := fmt.Sprintf("%s,First %d,Last %d,%s,%s\n", raw, i, i, email, company)
		if i%211 == 13 {
			row = fmt.Sprintf("%s,First %d\n", raw, i) // too short
			reason = "This line has 2 columns; the header row has 5."
		}
		if reason == "" {
			if first, ok := seen[e164]; ok {
				reason = fmt.Sprintf("The same number as line %d.", first)
			} else {
				seen[e164] = line
			}
		}
		if reason != "" {
			g.problems[line] = reason
			g.skipped++
		}
		b.WriteString(row)
		line += strings.Count(row, "\n")
	}
	// Every fifth number the file adds, the organisation had already.
	for k, e164 := range slices.Sorted(maps.Keys(seen)) {
		if k%5 == 0 {
			g.existing = append(g.existing, e164)
		}
	}
	g.updated = len(g.existing)
	g.added = len(seen) - g.updated
	g.csv = b.String()
	return g
}
