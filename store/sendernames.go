package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"switchboard"
)

// The audit actions of sender names, translated for people in views.
const (
	AuditSenderNameApplied  = "sender_name.applied"
	AuditSenderNameApproved = "sender_name.approved"
	AuditSenderNameRejected = "sender_name.rejected"
)

// senderNameColumns are the columns scanSenderName reads, in its order.
const senderNameColumns = `s.id, s.org_id, s.name, s.use_case, s.status, s.reason, COALESCE(s.requested_by, 0), s.created_at, s.decided_at`

func scanSenderName(r interface{ Scan(...any) error }, s *switchboard.SenderName, extra ...any) error {
	var status string
	var created int64
	var decided sql.NullInt64
	dest := append([]any{&s.ID, &s.OrgID, &s.Name, &s.UseCase, &status, &s.Reason, &s.RequestedBy, &created, &decided}, extra...)
	if err := r.Scan(dest...); err != nil {
		return err
	}
	s.Status, s.CreatedAt, s.DecidedAt = switchboard.SenderNameStatus(status), fromMillis(created), fromNullMillis(decided)
	return nil
}

// ApplySenderName records the organisation's application for s.Name
// (validated by the caller with s.Validate) as pending, and its audit line.
// A name the organisation already holds or waits for, whatever its case,
// is an EINVALID error on the field "name"; one that was rejected may be
// applied for again.
func (db *DB) ApplySenderName(ctx context.Context, actor switchboard.Actor, s *switchboard.SenderName) error {
	now := db.Now()
	err := db.tx(ctx, func(tx *Tx) error {
		// On PostgreSQL two applications for one name would both find none
		// and the second would meet the unique index; the lock makes the
		// second find the first and answer in words.
		if err := tx.lockOrganisation(ctx, s.OrgID); err != nil {
			return err
		}
		var held string
		err := tx.QueryRowContext(ctx, `SELECT status FROM sender_names WHERE org_id = ? AND lower(name) = lower(?) AND status IN ('pending', 'approved')`,
			s.OrgID, s.Name).Scan(&held)
		if err == nil {
			return senderNameHeld(s.Name, switchboard.SenderNameStatus(held))
		} else if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: apply for sender name in organisation %d: %w", s.OrgID, err)
		}
		var requestedBy any
		if actor.ProfileID != 0 {
			requestedBy = actor.ProfileID
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO sender_names (org_id, name, use_case, status, requested_by, created_at) VALUES (?, ?, ?, 'pending', ?, ?) RETURNING id`,
			s.OrgID, s.Name, s.UseCase, requestedBy, millis(now)).Scan(&s.ID)
		if isUnique(err) {
			return senderNameHeld(s.Name, switchboard.SenderPending)
		} else if err != nil {
			return fmt.Errorf("store: apply for sender name in organisation %d: %w", s.OrgID, err)
		}
		return db.audit(ctx, tx, s.OrgID, actor, AuditSenderNameApplied, s.Name, s.UseCase)
	})
	if err != nil {
		return err
	}
	s.Status, s.Reason, s.RequestedBy, s.CreatedAt, s.DecidedAt = switchboard.SenderPending, "", actor.ProfileID, fromMillis(millis(now)), nil
	return nil
}

// senderNameHeld is the error of an application for a name the
// organisation holds or waits for, shown beside the Sender name field.
func senderNameHeld(name string, status switchboard.SenderNameStatus) error {
	f := switchboard.FieldErrors{}
	if status == switchboard.SenderApproved {
		f.Add("name", "You already have the sender name "+name+": it is approved, and you can send from it.")
	} else {
		f.Add("name", "You already applied for the sender name "+name+": it is waiting for a decision.")
	}
	return f.Err()
}

// ListSenderNames returns every sender name the organisation applied for,
// newest first.
func (db *DB) ListSenderNames(ctx context.Context, orgID int64) ([]switchboard.SenderName, error) {
	rows, err := db.query(ctx, `SELECT `+senderNameColumns+` FROM sender_names s WHERE s.org_id = ? ORDER BY s.id DESC`, orgID)
	if err != nil {
		return nil, fmt.Errorf("store: list sender names of organisation %d: %w", orgID, err)
	}
	defer rows.Close()
	var list []switchboard.SenderName
	for rows.Next() {
		var s switchboard.SenderName
		if err := scanSenderName(rows, &s); err != nil {
			return nil, fmt.Errorf("store: list sender names of organisation %d: %w", orgID, err)
		}
		list = append(list, s)
	}
	return list, rows.Err()
}

// FindSenderName returns one sender name of the organisation; another
// organisation's is ENOTFOUND, exactly as a missing one.
func (db *DB) FindSenderName(ctx context.Context, orgID, id int64) (*switchboard.SenderName, error) {
	s := &switchboard.SenderName{}
	err := scanSenderName(db.queryRow(ctx, `SELECT `+senderNameColumns+` FROM sender_names s WHERE s.id = ? AND s.org_id = ?`, id, orgID), s)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("sender name")
	} else if err != nil {
		return nil, fmt.Errorf("store: find sender name %d: %w", id, err)
	}
	return s, nil
}

// ApprovedSenderNames returns the names the organisation may send from,
// besides the instance's default sender, in alphabetical order.
func (db *DB) ApprovedSenderNames(ctx context.Context, orgID int64) ([]string, error) {
	rows, err := db.query(ctx, `SELECT name FROM sender_names WHERE org_id = ? AND status = 'approved' ORDER BY name COLLATE NOCASE, name`, orgID)
	if err != nil {
		return nil, fmt.Errorf("store: list approved sender names of organisation %d: %w", orgID, err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("store: list approved sender names of organisation %d: %w", orgID, err)
		}
		names = append(names, name)
	}
	return names, rows.Err()
}

// ListPendingSenderNames returns the applications waiting for the
// operator, of every organisation, oldest first, each with its
// organisation's name (OrgName).
func (db *DB) ListPendingSenderNames(ctx context.Context) ([]switchboard.SenderName, error) {
	rows, err := db.query(ctx, `SELECT `+senderNameColumns+`, o.name FROM sender_names s JOIN organisations o ON o.id = s.org_id
		WHERE s.status = 'pending' ORDER BY s.id`)
	if err != nil {
		return nil, fmt.Errorf("store: list pending sender names: %w", err)
	}
	defer rows.Close()
	var list []switchboard.SenderName
	for rows.Next() {
		var s switchboard.SenderName
		if err := scanSenderName(rows, &s, &s.OrgName); err != nil {
			return nil, fmt.Errorf("store: list pending sender names: %w", err)
		}
		list = append(list, s)
	}
	return list, rows.Err()
}

// OperatorActor is who the audit log names for the operator's decisions,
// taken from the command line rather than by a profile.
var OperatorActor = switchboard.Actor{Name: "Operator"}

// DecideSenderName approves or rejects (with reason, which may be empty)
// the pending sender name id, of whichever organisation, and writes the
// decision to that organisation's audit log as the operator. An unknown id
// is ENOTFOUND; a name already decided is ECONFLICT, and keeps its
// decision. It returns the name as decided, with its organisation's name.
func (db *DB) DecideSenderName(ctx context.Context, id int64, approve bool, reason string) (*switchboard.SenderName, error) {
	status, action := switchboard.SenderApproved, AuditSenderNameApproved
	reason = strings.Join(strings.Fields(reason), " ")
	if !approve {
		status, action = switchboard.SenderRejected, AuditSenderNameRejected
	} else {
		reason = ""
	}
	s := &switchboard.SenderName{}
	err := db.tx(ctx, func(tx *Tx) error {
		// The condition on the status is the decision's guard: of two
		// operators deciding at once, one changes the row, the other finds
		// it decided.
		var orgID int64
		err := tx.QueryRowContext(ctx, `UPDATE sender_names SET status = ?, reason = ?, decided_at = ? WHERE id = ? AND status = 'pending' RETURNING org_id`,
			string(status), reason, millis(db.Now()), id).Scan(&orgID)
		if errors.Is(err, sql.ErrNoRows) {
			var was string
			var decided sql.NullInt64
			err := tx.QueryRowContext(ctx, `SELECT name, status, decided_at FROM sender_names WHERE id = ?`, id).Scan(&s.Name, &was, &decided)
			if errors.Is(err, sql.ErrNoRows) {
				return switchboard.Errorf(switchboard.ENOTFOUND, "There is no sender name with the id %d.", id)
			} else if err != nil {
				return fmt.Errorf("store: decide sender name %d: %w", id, err)
			}
			when := ""
			if decided.Valid {
				when = " on " + fromMillis(decided.Int64).Format("2 Jan 2006")
			}
			return switchboard.Errorf(switchboard.ECONFLICT, "The sender name %d (%s) is no longer pending: it was %s%s.", id, s.Name, was, when)
		} else if err != nil {
			return fmt.Errorf("store: decide sender name %d: %w", id, err)
		}
		err = scanSenderName(tx.QueryRowContext(ctx, `SELECT `+senderNameColumns+`, o.name FROM sender_names s JOIN organisations o ON o.id = s.org_id WHERE s.id = ?`, id), s, &s.OrgName)
		if err != nil {
			return fmt.Errorf("store: decide sender name %d: %w", id, err)
		}
		return db.audit(ctx, tx, orgID, OperatorActor, action, s.Name, reason)
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}
