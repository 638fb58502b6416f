package importer

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"switchboard"
	"switchboard/sms"
)

// Store is where the Worker finds imports and writes what they hold;
// *store.DB is one. Each method runs in its own transaction.
type Store interface {
	// ClaimImport returns an import waiting for a worker, leased to this
	// worker (imp.Claim) so that no other worker, of this process or
	// another, runs it meanwhile; nil when there is none.
	ClaimImport(ctx context.Context, now time.Time) (*switchboard.ContactImport, error)
	// ImportFile reads the file of a claimed import, a piece at a time;
	// it reads nothing once the import ended.
	ImportFile(ctx context.Context, imp *switchboard.ContactImport) io.Reader
	// WriteImportBatch writes a batch and the import's progress in one
	// transaction and renews the lease; it fails, writing nothing, when
	// the lease was lost to another worker.
	WriteImportBatch(ctx context.Context, b *switchboard.ImportBatch) error
	// FinishImport marks the import done, drops its file and audits it.
	FinishImport(ctx context.Context, imp *switchboard.ContactImport) error
	// FailImport marks the import failed with a reason for people.
	FailImport(ctx context.Context, imp *switchboard.ContactImport, reason string) error
	// ReleaseImport gives back the claim of an import stopped half-way.
	ReleaseImport(ctx context.Context, imp *switchboard.ContactImport) error
}

// releaseTimeout bounds giving back a claim while the process stops.
const releaseTimeout = 5 * time.Second

// DefaultBatchSize is how many rows of the file one transaction writes
// when Worker.BatchSize is zero: large enough that 100,000 rows take 50
// commits, small enough that a batch holds its locks for milliseconds and
// a restart repeats little.
const DefaultBatchSize = 2000

// idleCheck is the longest the Worker sleeps without looking for imports,
// in case one was queued by another process or left by a dead one.
const idleCheck = 30 * time.Second

// Worker runs the imports of a Store, one at a time. Its exported fields
// may be changed before Run or RunOnce is first called.
type Worker struct {
	// Now returns the current time; tests move it forward.
	Now func() time.Time
	// BatchSize is how many rows a transaction writes; zero means
	// DefaultBatchSize.
	BatchSize int
	// IdleCheck is how long Run sleeps when there is nothing to do; zero
	// means 30 seconds.
	IdleCheck time.Duration

	store  Store
	logger *slog.Logger
	wake   chan struct{}
}

// NewWorker returns a Worker that runs the imports of s and logs to logger
// (slog.Default() when nil).
func NewWorker(s Store, logger *slog.Logger) *Worker {
	if logger == nil {
		logger = slog.Default()
	}
	return &Worker{Now: time.Now, store: s, logger: logger, wake: make(chan struct{}, 1)}
}

// Notify wakes Run up to start an import just queued. It never blocks,
// and does nothing on a nil Worker.
func (w *Worker) Notify() {
	if w == nil {
		return
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run runs imports until ctx is done: every import waiting, one after the
// other, then it sleeps until Notify is called or IdleCheck passed. When
// ctx ends, the import under way stops after its current batch is written
// or abandoned, and its claim is given back: the next start resumes it.
func (w *Worker) Run(ctx context.Context) {
	idle := w.IdleCheck
	if idle <= 0 {
		idle = idleCheck
	}
	for ctx.Err() == nil {
		ran, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.logger.Error("importer: contact import", slog.Any("error", err))
		}
		if ran && err == nil {
			continue
		}
		timer := time.NewTimer(idle)
		select {
		case <-ctx.Done():
		case <-w.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// RunOnce claims one import and runs it to its end, and reports whether
// there was one. An error of the store leaves the import claimed: another
// worker (or this one) resumes it from its last batch once the lease ran
// out.
func (w *Worker) RunOnce(ctx context.Context) (bool, error) {
	imp, err := w.store.ClaimImport(ctx, w.Now())
	if err != nil || imp == nil {
		return false, err
	}
	if err := w.run(ctx, imp); err != nil {
		if ctx.Err() != nil {
			// Stopping: what was written stays, and the next start (of this
			// process or another) resumes from there at once.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
			defer cancel()
			return true, errors.Join(ctx.Err(), w.store.ReleaseImport(rctx, imp))
		}
		return true, fmt.Errorf("import %d: %w", imp.ID, err)
	}
	return true, nil
}

// run reads the file of imp from its start, and writes the rows after
// imp.Processed (those before were written by an earlier claim: they are
// read again only to know which numbers the file had already).
func (w *Worker) run(ctx context.Context, imp *switchboard.ContactImport) error {
	size := w.BatchSize
	if size <= 0 {
		size = DefaultBatchSize
	}
	phone := -1
	for i, c := range imp.Mapping {
		if c == switchboard.ColumnPhone {
			phone = i
		}
	}
	if phone < 0 {
		return w.store.FailImport(ctx, imp, "No column was chosen as Phone.")
	}
	r := NewReader(w.store.ImportFile(ctx, imp))
	header, err := r.Read()
	var pe *csv.ParseError
	if err != nil && !errors.Is(err, io.EOF) && !errors.As(err, &pe) {
		return err // the store's: the claim runs out, and the import is tried again
	} else if err != nil {
		return w.store.FailImport(ctx, imp, "The file of this import has no header row, or is gone. Upload it again.")
	}
	columns := len(header)
	// seen is the line of each number the file had, to skip it again.
	seen := make(map[string]int, min(imp.Rows, 1<<20))
	batch := &switchboard.ImportBatch{Import: imp}
	record := 0
	for {
		fields, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if line, ok := r.Unclosed(err); ok {
			if err := w.flush(ctx, batch, record); err != nil {
				return err
			}
			return w.store.FailImport(ctx, imp, UnclosedReason(line))
		}
		record++
		line, _ := r.FieldPos(0)
		var c switchboard.Contact
		reason := ""
		switch {
		case errors.As(err, &pe):
			line, reason = pe.StartLine, quoteReason(pe)
		case err != nil:
			// Not a problem of a line: the store failed to read the file.
			// The claim runs out and the import is tried again from its
			// last batch.
			return err
		case len(fields) != columns:
			reason = fmt.Sprintf("This line has %s; the header row has %d.", switchboard.Plural(len(fields), "column", "columns"), columns)
		default:
			c, reason = contactOf(fields, imp)
			if reason == "" {
				if first, ok := seen[c.Phone]; ok {
					reason = fmt.Sprintf("The same number as line %d.", first)
				} else {
					seen[c.Phone] = line
				}
			}
		}
		if record <= imp.Processed {
			continue // written by an earlier claim
		}
		if reason != "" {
			batch.Problems = append(batch.Problems, switchboard.ImportProblem{Line: line, Reason: reason})
		} else {
			batch.Contacts = append(batch.Contacts, c)
		}
		if record-imp.Processed >= size {
			if err := w.flush(ctx, batch, record); err != nil {
				return err
			}
		}
	}
	if err := w.flush(ctx, batch, record); err != nil {
		return err
	}
	return w.store.FinishImport(ctx, imp)
}

// flush writes the batch, if it holds anything, with the progress up to
// record, and empties it.
func (w *Worker) flush(ctx context.Context, b *switchboard.ImportBatch, record int) error {
	if record <= b.Import.Processed {
		return nil
	}
	b.Processed = record
	if err := w.store.WriteImportBatch(ctx, b); err != nil {
		return err
	}
	b.Contacts, b.Problems = b.Contacts[:0], b.Problems[:0]
	return nil
}

// quoteReason says what is wrong with the quotes of a line that could not
// be read.
func quoteReason(pe *csv.ParseError) string {
	if errors.Is(pe.Err, csv.ErrBareQuote) {
		return "A quote (\") stands inside a field that does not begin with one. Put the whole field in quotes and double the quote inside it (\"\")."
	}
	return "A quoted field has a quote (\") inside it that is not doubled, or text after its closing quote."
}

// contactOf reads the contact of a line by the import's columns, its
// number in E.164 (a number without a country code takes the import's
// country), and returns the reason to skip the line, if any.
func contactOf(fields []string, imp *switchboard.ContactImport) (switchboard.Contact, string) {
	c := switchboard.Contact{OrgID: imp.OrgID}
	var raw string
	for i, col := range imp.Mapping {
		if i >= len(fields) {
			break
		}
		v := strings.TrimSpace(fields[i])
		switch col {
		case switchboard.ColumnPhone:
			raw = v
		case switchboard.ColumnFirstName:
			c.FirstName = v
		case switchboard.ColumnLastName:
			c.LastName = v
		case switchboard.ColumnEmail:
			c.Email = v
		case switchboard.ColumnCompany:
			c.Company = v
		}
	}
	if raw == "" {
		return c, "This line has no phone number."
	}
	phone, err := sms.ParseNumber(raw, imp.Country)
	if err != nil {
		return c, err.Error()
	}
	c.Phone = phone
	fe := switchboard.Fields(c.Validate())
	switch {
	case fe == nil:
		return c, ""
	case fe["email"] != "" && len(c.Email) <= switchboard.MaxContactEmail:
		return c, quote(c.Email) + " is not an email address."
	}
	for _, f := range []string{"phone", "first_name", "last_name", "email", "company"} {
		if msg := fe[f]; msg != "" {
			return c, msg
		}
	}
	return c, "This line could not be imported."
}

// quote keeps a value from the file short enough to name in a reason.
func quote(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		return string([]rune(s)[:39]) + "…"
	}
	return s
}
