package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"switchboard"
)

// Contact imports (PRODUCT.md § Contacts and the public pages): an upload
// is kept in contact_imports, its file in contact_import_chunks
// (CreateImport), while the person
// maps its columns; queued (QueueImport), it is claimed by a worker of any
// process (ClaimImport) with a lease, as the outbox and the message queue
// are; the worker writes it in batches (WriteImportBatch), each one
// transaction holding the contacts, the lines skipped and the progress,
// and renewing the lease; the last (FinishImport) drops the file and
// writes the audit line. A worker that dies leaves its lease to run out:
// the next claim resumes after the last batch written.

// ImportLease is how long a claimed import belongs to its worker without
// a write: each batch renews it, and a batch takes milliseconds, so a
// minute passes only when the process died (or hangs); then another worker
// takes the import over.
const ImportLease = time.Minute

// ErrImportClaimLost is the error of a worker's write after its lease ran
// out and another worker claimed the import: it writes nothing, and stops.
var ErrImportClaimLost = errors.New("store: the import's claim was lost to another worker")

// importChunk is how many rows one multi-row statement writes: 8
// parameters a contact, far below both engines' limits on parameters.
const importChunk = 500

// importColumns are the columns every read of an import returns, in
// scanImport's order.
const importColumns = `id, org_id, filename, status, mapping, group_id, country, rows_total, processed, added, updated, skipped, error, created_by, created_at, finished_at, claimed_until`

func scanImport(row scanner, extra ...any) (*switchboard.ContactImport, error) {
	var imp switchboard.ContactImport
	var status, mapping string
	var group, by, finished, claimed sql.NullInt64
	var created int64
	dest := append([]any{&imp.ID, &imp.OrgID, &imp.Filename, &status, &mapping, &group, &imp.Country, &imp.Rows, &imp.Processed,
		&imp.Added, &imp.Updated, &imp.Skipped, &imp.Error, &by, &created, &finished, &claimed}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	imp.Status = switchboard.ImportStatus(status)
	imp.Mapping = decodeMapping(mapping)
	imp.GroupID, imp.CreatedBy = group.Int64, by.Int64
	imp.CreatedAt = fromMillis(created)
	imp.Finished = fromNullMillis(finished)
	if claimed.Valid {
		imp.Claim = fromMillis(claimed.Int64)
	}
	return &imp, nil
}

// encodeMapping writes the columns as the mapping column holds them:
// comma-separated, "" for a column left out.
func encodeMapping(m []switchboard.Column) string {
	parts := make([]string, len(m))
	for i, c := range m {
		parts[i] = string(c)
	}
	return strings.Join(parts, ",")
}

func decodeMapping(s string) []switchboard.Column {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	m := make([]switchboard.Column, len(parts))
	for i, p := range parts {
		m[i] = switchboard.Column(p)
	}
	return m
}

// ImportChunk is the size of the pieces an import's file is kept in.
const ImportChunk = 1 << 20

// CreateImport keeps an uploaded file (checked by the caller:
// importer.Check), read from file a piece at a time, for its mapping step,
// status mapping, and sets imp.ID. Nothing is imported yet, so nothing is
// audited yet.
func (db *DB) CreateImport(ctx context.Context, imp *switchboard.ContactImport, file io.Reader) error {
	now := db.Now()
	imp.Status, imp.CreatedAt = switchboard.ImportMapping, fromMillis(millis(now))
	var by any
	if imp.CreatedBy != 0 {
		by = imp.CreatedBy
	}
	buf := make([]byte, ImportChunk)
	return db.tx(ctx, func(tx *Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO contact_imports (org_id, filename, status, country, rows_total, created_by, created_at)
			VALUES (?, ?, 'mapping', ?, ?, ?, ?) RETURNING id`,
			imp.OrgID, imp.Filename, imp.Country, imp.Rows, by, millis(now)).Scan(&imp.ID)
		if err != nil {
			return fmt.Errorf("store: keep the import of organisation %d: %w", imp.OrgID, err)
		}
		for seq := 0; ; seq++ {
			n, rerr := io.ReadFull(file, buf)
			if n > 0 {
				if _, err := tx.ExecContext(ctx, `INSERT INTO contact_import_chunks (import_id, seq, data) VALUES (?, ?, ?)`, imp.ID, seq, buf[:n]); err != nil {
					return fmt.Errorf("store: keep the file of import %d: %w", imp.ID, err)
				}
			}
			if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
				return nil
			} else if rerr != nil {
				return fmt.Errorf("store: read the file of import %d: %w", imp.ID, rerr)
			}
		}
	})
}

// ImportFile reads the file of an import a piece at a time, each piece in
// a query of its own: an import of a 50 MB file holds 1 MB of it at once.
// Once the import ended its file is gone, and it reads nothing.
func (db *DB) ImportFile(ctx context.Context, imp *switchboard.ContactImport) io.Reader {
	return &importFile{ctx: ctx, db: db, id: imp.ID}
}

type importFile struct {
	ctx  context.Context
	db   *DB
	id   int64
	seq  int
	data []byte
	eof  bool
}

func (f *importFile) Read(p []byte) (int, error) {
	for len(f.data) == 0 {
		if f.eof {
			return 0, io.EOF
		}
		var data []byte
		err := f.db.queryRow(f.ctx, `SELECT data FROM contact_import_chunks WHERE import_id = ? AND seq = ?`, f.id, f.seq).Scan(&data)
		if errors.Is(err, sql.ErrNoRows) {
			f.eof = true
			continue
		} else if err != nil {
			return 0, fmt.Errorf("store: read the file of import %d: %w", f.id, err)
		}
		f.data, f.seq = data, f.seq+1
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

// FindImport returns the organisation's import id, without its file;
// another organisation's import is ENOTFOUND, as a missing one.
func (db *DB) FindImport(ctx context.Context, orgID, id int64) (*switchboard.ContactImport, error) {
	imp, err := scanImport(db.queryRow(ctx, `SELECT `+importColumns+` FROM contact_imports WHERE id = ? AND org_id = ?`, id, orgID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("import")
	} else if err != nil {
		return nil, fmt.Errorf("store: read import %d: %w", id, err)
	}
	return imp, nil
}

// ImportHead returns the first n bytes (at most ImportChunk) of the
// organisation's import's file, for the mapping step's preview, without
// reading the whole file out of the database; nil once the import ended
// (the file is gone).
func (db *DB) ImportHead(ctx context.Context, orgID, id int64, n int) ([]byte, error) {
	var head []byte
	err := db.queryRow(ctx, `SELECT substr(c.data, 1, ?) FROM contact_imports i
		LEFT JOIN contact_import_chunks c ON c.import_id = i.id AND c.seq = 0
		WHERE i.id = ? AND i.org_id = ?`, n, id, orgID).Scan(&head)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("import")
	} else if err != nil {
		return nil, fmt.Errorf("store: read the file of import %d: %w", id, err)
	}
	return head, nil
}

// ListImports returns the organisation's latest imports, newest first.
func (db *DB) ListImports(ctx context.Context, orgID int64, limit int) ([]switchboard.ContactImport, error) {
	rows, err := db.query(ctx, `SELECT `+importColumns+` FROM contact_imports WHERE org_id = ? ORDER BY id DESC LIMIT ?`, orgID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list the imports of organisation %d: %w", orgID, err)
	}
	defer rows.Close()
	var list []switchboard.ContactImport
	for rows.Next() {
		imp, err := scanImport(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list the imports of organisation %d: %w", orgID, err)
		}
		list = append(list, *imp)
	}
	return list, rows.Err()
}

// QueueImport starts an import whose columns were chosen (imp.Mapping,
// GroupID, Country): it waits for a worker (status queued). The group
// must be the organisation's (ENOTFOUND otherwise, as a missing one); an
// import started already is ECONFLICT.
func (db *DB) QueueImport(ctx context.Context, imp *switchboard.ContactImport) error {
	return db.tx(ctx, func(tx *Tx) error {
		if err := tx.lockOrganisation(ctx, imp.OrgID); err != nil {
			return err
		}
		var group any
		if imp.GroupID != 0 {
			if err := checkGroups(ctx, tx, imp.OrgID, []int64{imp.GroupID}); err != nil {
				return err
			}
			group = imp.GroupID
		}
		res, err := tx.ExecContext(ctx, `UPDATE contact_imports SET status = 'queued', mapping = ?, group_id = ?, country = ?
			WHERE id = ? AND org_id = ? AND status = 'mapping'`, encodeMapping(imp.Mapping), group, imp.Country, imp.ID, imp.OrgID)
		if err != nil {
			return fmt.Errorf("store: queue import %d: %w", imp.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			imp.Status = switchboard.ImportQueued
			return nil
		}
		var status string
		err = tx.QueryRowContext(ctx, `SELECT status FROM contact_imports WHERE id = ? AND org_id = ?`, imp.ID, imp.OrgID).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("import")
		} else if err != nil {
			return fmt.Errorf("store: read import %d: %w", imp.ID, err)
		}
		return switchboard.Errorf(switchboard.ECONFLICT, "This import has started already; its columns can no longer be changed.")
	})
}

// ClaimImport returns the oldest import waiting for a worker (queued, or
// running under a lease that ran out: its process died), and leases it to the caller until now+ImportLease; nil when there is
// none. However many workers of however many processes claim at once, an
// import is claimed by one of them: on PostgreSQL FOR UPDATE SKIP LOCKED
// lets them pass over each other's rows, and the lease condition,
// repeated in the UPDATE, is checked again on a row another worker
// claimed meanwhile; SQLite's single writer runs the claims one at a
// time. imp.Processed says where the last batch written ended.
func (db *DB) ClaimImport(ctx context.Context, now time.Time) (*switchboard.ContactImport, error) {
	skipLocked := ""
	if db.pg {
		skipLocked = " FOR UPDATE SKIP LOCKED"
	}
	var imp *switchboard.ContactImport
	err := db.tx(ctx, func(tx *Tx) error {
		imp = nil
		// Two statements rather than UPDATE … WHERE id IN (SELECT … LIMIT 1
		// FOR UPDATE SKIP LOCKED): PostgreSQL ran that subquery so that one
		// claim took every waiting import.
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM contact_imports
			WHERE status IN ('queued', 'running') AND (claimed_until IS NULL OR claimed_until <= ?)
			ORDER BY id LIMIT 1`+skipLocked, millis(now)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		} else if err != nil {
			return err
		}
		imp, err = scanImport(tx.QueryRowContext(ctx, `UPDATE contact_imports SET status = 'running', claimed_until = ?
			WHERE id = ? AND status IN ('queued', 'running') AND (claimed_until IS NULL OR claimed_until <= ?)
			RETURNING `+importColumns,
			millis(now.Add(ImportLease)), id, millis(now)))
		if errors.Is(err, sql.ErrNoRows) {
			imp = nil // claimed by another worker between the two
			return nil
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim an import: %w", err)
	}
	return imp, nil
}

// WriteImportBatch writes a batch of an import in one transaction: its
// contacts (a number new to the organisation is added; one it had is
// updated, its fields replaced by those the file has, empty cells keeping
// what was there), each put into the import's group, the lines skipped
// with their reasons, and the import's progress and counts; and it renews
// the lease. A worker whose lease ran out and was taken over gets
// ErrImportClaimLost and writes nothing. The batch's numbers must differ
// from each other (the worker skips a number the file had before).
func (db *DB) WriteImportBatch(ctx context.Context, b *switchboard.ImportBatch) error {
	imp := b.Import
	now := db.Now()
	lease := now.Add(ImportLease)
	var added, updated int
	err := db.tx(ctx, func(tx *Tx) error {
		added, updated = 0, 0
		if err := tx.lockOrganisation(ctx, imp.OrgID); err != nil {
			return err
		}
		ids, added, err := upsertContacts(ctx, tx, imp.OrgID, b.Contacts, now)
		if err != nil {
			return err
		}
		updated = len(b.Contacts) - added
		var group sql.NullInt64
		err = tx.QueryRowContext(ctx, `UPDATE contact_imports SET processed = ?, added = added + ?, updated = updated + ?, skipped = skipped + ?, claimed_until = ?
			WHERE id = ? AND org_id = ? AND status = 'running' AND claimed_until = ? RETURNING group_id`,
			b.Processed, added, updated, len(b.Problems), millis(lease), imp.ID, imp.OrgID, millis(imp.Claim)).Scan(&group)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrImportClaimLost // and the contacts above are rolled back
		} else if err != nil {
			return fmt.Errorf("store: record the progress of import %d: %w", imp.ID, err)
		}
		// The group may have been deleted since the import was queued
		// (group_id is then NULL): the contacts stay, in no group.
		if group.Valid {
			if err := addManyToGroup(ctx, tx, group.Int64, ids); err != nil {
				return err
			}
		}
		return addImportProblems(ctx, tx, imp.ID, b.Problems)
	})
	if err != nil {
		return err
	}
	imp.Claim = fromMillis(millis(lease))
	imp.Processed = b.Processed
	imp.Added += added
	imp.Updated += updated
	imp.Skipped += len(b.Problems)
	return nil
}

// upsertContacts is upsertContact for many contacts, a few hundred to a
// statement: the same rule (an empty field keeps what was there), without
// a round trip per contact. It returns the contacts' ids and how many of
// them are new: PostgreSQL says which rows it inserted (xmax = 0: no
// transaction replaced them), and SQLite, which cannot, is asked first
// how many of the numbers it has (its single writer lets nothing change
// between the two). Asking PostgreSQL the same cost it a slow plan of a
// 500-value IN list per chunk, 0.5 s a batch; the times (created_at =
// updated_at) would tell wrong under a clock that stands still.
func upsertContacts(ctx context.Context, tx *Tx, orgID int64, contacts []switchboard.Contact, now time.Time) (ids []int64, added int, err error) {
	ids = make([]int64, 0, len(contacts))
	at := millis(now)
	for start := 0; start < len(contacts); start += importChunk {
		chunk := contacts[start:min(start+importChunk, len(contacts))]
		args := make([]any, 0, 8*len(chunk))
		for i := range chunk {
			c := &chunk[i]
			args = append(args, orgID, c.Phone, c.FirstName, c.LastName, c.Email, c.Company, at, at)
		}
		returning := ""
		if tx.db.pg {
			returning = ", xmax = 0"
		} else {
			existing, err := countPhones(ctx, tx, orgID, chunk)
			if err != nil {
				return nil, 0, err
			}
			added += len(chunk) - existing
		}
		rows, err := tx.QueryContext(ctx, `INSERT INTO contacts (org_id, phone, first_name, last_name, email, company, created_at, updated_at)
			VALUES `+repeatMarks(len(chunk), 8)+`
			ON CONFLICT (org_id, phone) DO UPDATE SET
				first_name = CASE WHEN excluded.first_name <> '' THEN excluded.first_name ELSE contacts.first_name END,
				last_name = CASE WHEN excluded.last_name <> '' THEN excluded.last_name ELSE contacts.last_name END,
				email = CASE WHEN excluded.email <> '' THEN excluded.email ELSE contacts.email END,
				company = CASE WHEN excluded.company <> '' THEN excluded.company ELSE contacts.company END,
				updated_at = excluded.updated_at
			RETURNING id`+returning, args...)
		if err != nil {
			return nil, 0, fmt.Errorf("store: write the contacts of an import in organisation %d: %w", orgID, err)
		}
		for rows.Next() {
			var id int64
			var inserted bool
			dest := []any{&id, &inserted}
			if !tx.db.pg {
				dest = dest[:1]
			}
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return nil, 0, err
			}
			ids = append(ids, id)
			if inserted {
				added++
			}
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, 0, fmt.Errorf("store: write the contacts of an import in organisation %d: %w", orgID, err)
		}
	}
	return ids, added, nil
}

// countPhones counts the contacts' numbers the organisation has already.
func countPhones(ctx context.Context, tx *Tx, orgID int64, contacts []switchboard.Contact) (int, error) {
	args := make([]any, 0, len(contacts)+1)
	args = append(args, orgID)
	for i := range contacts {
		args = append(args, contacts[i].Phone)
	}
	var n int
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM contacts WHERE org_id = ? AND phone IN (`+queueMarks(len(contacts))+`)`, args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: look up the numbers of an import in organisation %d: %w", orgID, err)
	}
	return n, nil
}

// addManyToGroup is addToGroup for many contacts, a few hundred to a
// statement.
func addManyToGroup(ctx context.Context, tx *Tx, groupID int64, ids []int64) error {
	for start := 0; start < len(ids); start += importChunk {
		chunk := ids[start:min(start+importChunk, len(ids))]
		args := make([]any, 0, 2*len(chunk))
		for _, id := range chunk {
			args = append(args, groupID, id)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO group_contacts (group_id, contact_id) VALUES `+repeatMarks(len(chunk), 2)+` ON CONFLICT DO NOTHING`, args...); err != nil {
			return fmt.Errorf("store: add imported contacts to group %d: %w", groupID, err)
		}
	}
	return nil
}

func addImportProblems(ctx context.Context, tx *Tx, importID int64, problems []switchboard.ImportProblem) error {
	for start := 0; start < len(problems); start += importChunk {
		chunk := problems[start:min(start+importChunk, len(problems))]
		args := make([]any, 0, 3*len(chunk))
		for _, p := range chunk {
			args = append(args, importID, p.Line, p.Reason)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO contact_import_problems (import_id, line, reason) VALUES `+repeatMarks(len(chunk), 3)+` ON CONFLICT DO NOTHING`, args...); err != nil {
			return fmt.Errorf("store: record the skipped lines of import %d: %w", importID, err)
		}
	}
	return nil
}

// repeatMarks returns n rows of width placeholders: (?, ?), (?, ?)…
func repeatMarks(n, width int) string {
	row := "(?" + strings.Repeat(", ?", width-1) + ")"
	var b strings.Builder
	b.Grow(n * (len(row) + 2))
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}

// FinishImport ends an import its worker read to the end: status done,
// the file dropped (it is not kept once imported), the lease given back,
// and the audit line "3 added, 1 updated, 2 skipped" in the name of the
// member who started it. ErrImportClaimLost as WriteImportBatch.
func (db *DB) FinishImport(ctx context.Context, imp *switchboard.ContactImport) error {
	now := db.Now()
	return db.tx(ctx, func(tx *Tx) error {
		var by sql.NullInt64
		err := tx.QueryRowContext(ctx, `UPDATE contact_imports SET status = 'done', finished_at = ?, claimed_until = NULL
			WHERE id = ? AND org_id = ? AND status = 'running' AND claimed_until = ?
			RETURNING added, updated, skipped, created_by`,
			millis(now), imp.ID, imp.OrgID, millis(imp.Claim)).Scan(&imp.Added, &imp.Updated, &imp.Skipped, &by)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrImportClaimLost
		} else if err != nil {
			return fmt.Errorf("store: finish import %d: %w", imp.ID, err)
		}
		imp.Status, imp.Finished = switchboard.ImportDone, fromNullMillis(sql.NullInt64{Int64: millis(now), Valid: true})
		if err := dropImportFile(ctx, tx, imp.ID); err != nil {
			return err
		}
		actor := switchboard.Actor{}
		if by.Valid {
			var first, last string
			err := tx.QueryRowContext(ctx, `SELECT first_name, last_name FROM profiles WHERE id = ?`, by.Int64).Scan(&first, &last)
			if err == nil {
				actor = switchboard.Actor{ProfileID: by.Int64, Name: strings.TrimSpace(first + " " + last)}
			} else if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("store: read who started import %d: %w", imp.ID, err)
			}
		}
		return db.audit(ctx, tx, imp.OrgID, actor, AuditContactsImported, imp.Filename, ImportSummary(imp))
	})
}

// dropImportFile deletes the file of an import that ended: it is not
// kept once imported.
func dropImportFile(ctx context.Context, tx *Tx, id int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM contact_import_chunks WHERE import_id = ?`, id); err != nil {
		return fmt.Errorf("store: drop the file of import %d: %w", id, err)
	}
	return nil
}

// ImportSummary is what an import did, in the audit log's words: "3
// added, 1 updated, 2 skipped".
func ImportSummary(imp *switchboard.ContactImport) string {
	return fmt.Sprintf("%d added, %d updated, %d skipped", imp.Added, imp.Updated, imp.Skipped)
}

// FailImport ends an import whose file could not be read to the end:
// status failed with reason (a sentence for people), the file dropped.
// What earlier batches wrote stays. ErrImportClaimLost as
// WriteImportBatch.
func (db *DB) FailImport(ctx context.Context, imp *switchboard.ContactImport, reason string) error {
	now := db.Now()
	return db.tx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE contact_imports SET status = 'failed', error = ?, finished_at = ?, claimed_until = NULL
			WHERE id = ? AND org_id = ? AND status = 'running' AND claimed_until = ?`,
			reason, millis(now), imp.ID, imp.OrgID, millis(imp.Claim))
		if err != nil {
			return fmt.Errorf("store: fail import %d: %w", imp.ID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrImportClaimLost
		}
		imp.Status, imp.Error = switchboard.ImportFailed, reason
		return dropImportFile(ctx, tx, imp.ID)
	})
}

// ReleaseImport gives back the claim of an import its worker stopped
// running (the process is shutting down), so that the next start resumes
// it at once rather than after the lease. A claim lost already is left
// alone.
func (db *DB) ReleaseImport(ctx context.Context, imp *switchboard.ContactImport) error {
	return db.tx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE contact_imports SET claimed_until = NULL WHERE id = ? AND status = 'running' AND claimed_until = ?`,
			imp.ID, millis(imp.Claim)); err != nil {
			return fmt.Errorf("store: release import %d: %w", imp.ID, err)
		}
		return nil
	})
}

// ImportProblems returns the first limit lines the organisation's import
// skipped, by line.
func (db *DB) ImportProblems(ctx context.Context, orgID, id int64, limit int) ([]switchboard.ImportProblem, error) {
	var list []switchboard.ImportProblem
	err := db.EachImportProblem(ctx, orgID, id, limit, func(p switchboard.ImportProblem) error {
		list = append(list, p)
		return nil
	})
	return list, err
}

// EachImportProblem calls fn with each line the organisation's import
// skipped, by line, up to limit (0: all), reading them as it goes: the
// download of 100,000 skipped lines is never held in memory. Another
// organisation's import has none.
func (db *DB) EachImportProblem(ctx context.Context, orgID, id int64, limit int, fn func(switchboard.ImportProblem) error) error {
	if limit <= 0 {
		limit = 1 << 30
	}
	rows, err := db.query(ctx, `SELECT p.line, p.reason FROM contact_import_problems p
		JOIN contact_imports i ON i.id = p.import_id
		WHERE p.import_id = ? AND i.org_id = ? ORDER BY p.line LIMIT ?`, id, orgID, limit)
	if err != nil {
		return fmt.Errorf("store: read the skipped lines of import %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var p switchboard.ImportProblem
		if err := rows.Scan(&p.Line, &p.Reason); err != nil {
			return fmt.Errorf("store: read the skipped lines of import %d: %w", id, err)
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	return rows.Err()
}
