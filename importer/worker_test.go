package importer_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard"
	"switchboard/importer"
	"switchboard/store"
)

// TestImportLinesAndFields: semicolons, a BOM, quoted semicolons and
// newlines inside fields (lines and rows differ: the reasons name lines),
// empty cells keeping a contact's fields, a default country, ignored
// columns.
func TestImportLinesAndFields(t *testing.T) {
	p := newPanel(t)
	p.seed(t, []string{"+37255500009"})
	file := "\xEF\xBB\xBFMobile;Eesnimi;Perenimi;Notes;Email\n" + // line 1
		"5550 0001;Mari;\"Tamm; Jr\";\"two\nlines\";mari@example.com\n" + // lines 2-3
		"+372 5550 0009;;New;x;\n" + // line 4: had already; empty cells keep
		"\"12\nab\";Bad;Number;;\n" + // lines 5-6: a bad number over two lines
		"55500001;Again;;;\n" + // line 7: the same number as line 2
		"5550 0002;Ma\"ri;;;\n" + // line 8: a stray quote
		"5550 0003;Short\n" + // line 9: too few columns
		"\n" + // line 10: blank, no row
		"5550 0004;Jaan;;;jaan@\n" // line 11: a bad email
	imp := p.queue(t, file, nil, 0)
	if imp.Rows != 7 {
		t.Fatalf("%d rows", imp.Rows)
	}
	if imp.Mapping[3] != switchboard.ColumnIgnore || imp.Mapping[0] != switchboard.ColumnPhone {
		t.Fatalf("mapping %q", imp.Mapping)
	}
	p.run(t)
	wantCounts(t, p.find(t, imp.ID), switchboard.ImportDone, 1, 1, 5)
	want := map[int]string{
		5:  "12\nab is not a phone number.",
		7:  "The same number as line 2.",
		8:  "A quote (\") stands inside a field",
		9:  "This line has 2 columns; the header row has 5.",
		11: "jaan@ is not an email address.",
	}
	got := p.problems(t, imp.ID)
	if len(got) != len(want) {
		t.Errorf("problems %v", got)
	}
	for line, w := range want {
		if !strings.HasPrefix(got[line], w) {
			t.Errorf("line %d: %q, want %q", line, got[line], w)
		}
	}
	var first, last, email string
	must(t, p.raw.QueryRowContext(ctx, `SELECT first_name, last_name, email FROM contacts WHERE org_id = ? AND phone = '+37255500001'`, p.org).Scan(&first, &last, &email))
	if first != "Mari" || last != "Tamm; Jr" || email != "mari@example.com" {
		t.Fatalf("%q %q %q", first, last, email)
	}
	must(t, p.raw.QueryRowContext(ctx, `SELECT first_name, last_name, email FROM contacts WHERE org_id = ? AND phone = '+37255500009'`, p.org).Scan(&first, &last, &email))
	if first != "Old" || last != "New" || email != "old@example.com" {
		t.Fatalf("empty cells did not keep the old fields: %q %q %q", first, last, email)
	}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// dying is the store of a process that dies after writing some batches:
// its next write never happens, and its claim is left to run out.
type dying struct {
	*store.DB
	batches int
}

var errDied = errors.New("the process died")

func (d *dying) WriteImportBatch(ctx context.Context, b *switchboard.ImportBatch) error {
	if d.batches == 0 {
		return errDied
	}
	d.batches--
	return d.DB.WriteImportBatch(ctx, b)
}

// TestImportResumesAfterADeadProcess: a worker dies after two batches; its
// claim holds the import until the lease runs out (no other worker takes
// it meanwhile), then another worker resumes after the last batch written
// and counts each row once; the dead worker's late writes are refused.
func TestImportResumesAfterADeadProcess(t *testing.T) {
	p := newPanel(t)
	g := generate(5_000)
	p.seed(t, g.existing)
	group := p.group(t, "Imported")
	imp := p.queue(t, g.csv, nil, group)

	dead := importer.NewWorker(&dying{DB: p.db, batches: 2}, nil)
	dead.BatchSize = 1000
	if _, err := dead.RunOnce(ctx); !errors.Is(err, errDied) {
		t.Fatalf("the dying worker: %v", err)
	}
	mid := p.find(t, imp.ID)
	if mid.Status != switchboard.ImportRunning || mid.Processed != 2000 {
		t.Fatalf("after two batches: %s, %d processed", mid.Status, mid.Processed)
	}
	other := importer.NewWorker(p.db, nil)
	if ran, err := other.RunOnce(ctx); ran || err != nil {
		t.Fatalf("another worker took a claimed import: %v %v", ran, err)
	}
	other.Now = func() time.Time { return time.Now().Add(store.ImportLease + time.Second) }
	other.BatchSize = 700
	if ran, err := other.RunOnce(ctx); !ran || err != nil {
		t.Fatalf("the claim that ran out was not taken over: %v %v", ran, err)
	}
	got := p.find(t, imp.ID)
	wantCounts(t, got, switchboard.ImportDone, g.added, g.updated, g.skipped)
	if n := len(p.problems(t, imp.ID)); n != g.skipped {
		t.Fatalf("%d problems, want %d", n, g.skipped)
	}
	if c := p.count(t, `SELECT COUNT(*) FROM group_contacts WHERE group_id = ?`, group); c != g.added+g.updated {
		t.Fatalf("%d in the group, want %d", c, g.added+g.updated)
	}
	// The dead worker's claim is gone: what it would still write is not.
	if err := p.db.WriteImportBatch(ctx, &switchboard.ImportBatch{Import: mid, Processed: 3000}); !errors.Is(err, store.ErrImportClaimLost) {
		t.Fatalf("a write under a lost claim: %v", err)
	}
	if err := p.db.FinishImport(ctx, mid); !errors.Is(err, store.ErrImportClaimLost) {
		t.Fatalf("a finish under a lost claim: %v", err)
	}
}

// TestImportClaimedOnce: many workers (of as many processes on
// PostgreSQL) claim at once; each import goes to one of them.
func TestImportClaimedOnce(t *testing.T) {
	p := newPanel(t)
	for range 3 {
		p.queue(t, "Phone\n+37255500001\n", nil, 0)
	}
	var mu sync.Mutex
	claimed := map[int64]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			imp, err := p.db.ClaimImport(ctx, time.Now())
			if err != nil {
				t.Error(err)
				return
			}
			if imp != nil {
				mu.Lock()
				claimed[imp.ID]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(claimed) != 3 {
		t.Fatalf("claimed %v, want each of 3 imports", claimed)
	}
	for id, n := range claimed {
		if n != 1 {
			t.Fatalf("import %d claimed %d times", id, n)
		}
	}
}

// TestImportFailsOnAnUnreadableFile: a quote never closed (a file that
// got past the upload's checks) fails the import with its reason after
// the rows before it are written; the file is dropped.
func TestImportFailsOnAnUnreadableFile(t *testing.T) {
	p := newPanel(t)
	imp := p.queueUnchecked(t, "Phone,Name\n+37255500001,Mari\n+37255500002,\"Jaan\n+37255500003,Juku\n", 2, nil, 0)
	p.run(t)
	got := p.find(t, imp.ID)
	if got.Status != switchboard.ImportFailed || !strings.Contains(got.Error, "Line 3 opens a quoted field") || got.Added != 1 {
		t.Fatalf("%s %q, %d added", got.Status, got.Error, got.Added)
	}
	if c := p.count(t, `SELECT COUNT(*) FROM contact_import_chunks WHERE import_id = ?`, imp.ID); c != 0 {
		t.Fatal("the file was kept")
	}
}

// TestQueueImportChecksTheGroup: another organisation's group is not
// found, as a missing one, and a started import cannot be queued again.
func TestQueueImportChecksTheGroup(t *testing.T) {
	p := newPanel(t)
	other := &switchboard.Profile{Email: "eve@example.com", FirstName: "Eve", LastName: "Other"}
	otherOrg := &switchboard.Organisation{Name: "Other"}
	must(t, p.db.CreateProfileWithOrganisation(ctx, other, "hash", otherOrg))
	theirs := &switchboard.Group{OrgID: otherOrg.ID, Name: "Theirs"}
	must(t, p.db.CreateGroup(ctx, switchboard.Actor{ProfileID: other.ID}, theirs))

	imp := &switchboard.ContactImport{OrgID: p.org, Filename: "a.csv", Rows: 1}
	must(t, p.db.CreateImport(ctx, imp, strings.NewReader("Phone\n+37255500001\n")))
	imp.Mapping, imp.GroupID = []switchboard.Column{switchboard.ColumnPhone}, theirs.ID
	if err := p.db.QueueImport(ctx, imp); switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
		t.Fatalf("another organisation's group: %v", err)
	}
	if _, err := p.db.FindImport(ctx, otherOrg.ID, imp.ID); switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
		t.Fatalf("another organisation's import: %v", err)
	}
	if _, err := p.db.ImportHead(ctx, otherOrg.ID, imp.ID, 100); switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
		t.Fatalf("another organisation's file: %v", err)
	}
	imp.GroupID = 0
	must(t, p.db.QueueImport(ctx, imp))
	if err := p.db.QueueImport(ctx, imp); switchboard.ErrorCode(err) != switchboard.ECONFLICT {
		t.Fatalf("queued twice: %v", err)
	}
	stolen := *imp
	stolen.OrgID = otherOrg.ID
	if err := p.db.QueueImport(ctx, &stolen); switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
		t.Fatalf("queued from another organisation: %v", err)
	}
}

// stopping is the store of a process told to stop after its first batch.
type stopping struct {
	*store.DB
	stop context.CancelFunc
}

func (s *stopping) WriteImportBatch(ctx context.Context, b *switchboard.ImportBatch) error {
	defer s.stop()
	return s.DB.WriteImportBatch(ctx, b)
}

// TestImportStopsAndResumesAtOnce: a worker stopped half-way (SIGTERM)
// gives its claim back, so the next start resumes the import at once,
// without waiting for the lease, and counts each row once.
func TestImportStopsAndResumesAtOnce(t *testing.T) {
	p := newPanel(t)
	g := generate(3_000)
	imp := p.queue(t, g.csv, nil, 0)
	stopCtx, stop := context.WithCancel(ctx)
	w := importer.NewWorker(&stopping{DB: p.db, stop: stop}, nil)
	w.BatchSize = 1000
	if _, err := w.RunOnce(stopCtx); !errors.Is(err, context.Canceled) {
		t.Fatalf("the stopped worker: %v", err)
	}
	if mid := p.find(t, imp.ID); mid.Processed != 1000 || !mid.Claim.IsZero() {
		t.Fatalf("stopped at %d rows, claim %v", mid.Processed, mid.Claim)
	}
	p.run(t) // at once: no lease to wait for
	wantCounts(t, p.find(t, imp.ID), switchboard.ImportDone, g.added+g.updated, 0, g.skipped)
}

// TestImportCountsUnderAStoppedClock: added and updated are told apart by
// the database, not by the clock: a second import of the same numbers in
// the same millisecond updates them.
func TestImportCountsUnderAStoppedClock(t *testing.T) {
	p := newPanel(t)
	at := time.Now()
	p.db.Now = func() time.Time { return at }
	first := p.queue(t, "Phone,Name\n+37255500001,Mari\n+37255500002,Jaan\n", nil, 0)
	p.run(t)
	wantCounts(t, p.find(t, first.ID), switchboard.ImportDone, 2, 0, 0)
	second := p.queue(t, "Phone,Name\n+37255500002,Jaan\n+37255500003,Juku\n", nil, 0)
	p.run(t)
	wantCounts(t, p.find(t, second.ID), switchboard.ImportDone, 1, 1, 0)
}
