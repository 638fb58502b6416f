package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"switchboard"
)

// A subaccount's life (issue 12, PRODUCT.md § Subaccounts): the parent
// creates it by inviting one address (pending), the person who accepts owns
// it (active, store/invitation.go acceptInTx), the parent changes its
// funding, suspends and resumes it, and closes it for good.
//
// LOCK ORDER: a subaccount's spend locks its subaccounts row, then its
// parent's organisations row (store/subaccountmoney.go). Every change here
// is one conditional UPDATE of the subaccounts row, WHERE org_id = ? AND
// parent_id = ?, and never locks the parent's organisations row before it:
// the other order deadlocks on PostgreSQL. Closing, which also changes the
// subaccount's own organisations row, locks that row first, as a
// campaign's start of the subaccount does before its debit.

const subaccountColumns = `s.org_id, s.parent_id, o.name, s.email, s.funding, s.budget, s.spent, s.status, COALESCE(s.created_by, 0), s.created_at, s.closed_at,
	COALESCE(m.profile_id, 0), COALESCE(p.first_name || ' ' || p.last_name, '')`

// subaccountFrom joins each subaccount's organisation and, once the
// invitation was accepted, its owner (a closed subaccount has none left).
const subaccountFrom = ` FROM subaccounts s
	JOIN organisations o ON o.id = s.org_id
	LEFT JOIN members m ON m.org_id = s.org_id AND m.role = 'owner'
	LEFT JOIN profiles p ON p.id = m.profile_id `

func scanSubaccount(row interface{ Scan(...any) error }) (*switchboard.Subaccount, error) {
	var s switchboard.Subaccount
	var funding, status string
	var budget, spent, created int64
	var closed sql.NullInt64
	if err := row.Scan(&s.OrgID, &s.ParentID, &s.Name, &s.Email, &funding, &budget, &spent, &status, &s.CreatedBy, &created, &closed,
		&s.OwnerID, &s.OwnerName); err != nil {
		return nil, err
	}
	s.Funding, s.Status = switchboard.Funding(funding), switchboard.SubaccountStatus(status)
	s.Budget, s.Spent = switchboard.Money(budget), switchboard.Money(spent)
	s.CreatedAt, s.ClosedAt = fromMillis(created), fromNullMillis(closed)
	return &s, nil
}

// FundingDetail is how the audit log and the pages write a funding:
// "Budget €100.00" or "Share the balance".
func FundingDetail(cur switchboard.Currency, f switchboard.Funding, budget switchboard.Money) string {
	if f == switchboard.FundingBudget {
		return "Budget " + cur.Format(budget)
	}
	return f.Label()
}

// mayManageSubaccounts checks, inside tx, that the actor may still manage
// the parent's subaccounts (the Subaccounts permission, read now).
func mayManageSubaccounts(ctx context.Context, tx *Tx, parentID int64, actor switchboard.Actor) error {
	return checkActor(ctx, tx, parentID, actor, func(m *switchboard.Membership) bool { return m.Can(switchboard.PermSubaccounts) })
}

// CreateSubaccount creates sub as a subaccount of sub.ParentID and invites
// sub.Email to own it, in one transaction: its organisation (with the
// parent's country, so that numbers typed there parse the same; no member
// until the invitation is accepted), its row (pending), the invitation with
// the built-in Owner role and its email in the outbox, and the parent's
// audit line. A parent that is itself a subaccount is EFORBIDDEN; an
// address that already has a pending or open subaccount of this parent is
// ECONFLICT on the "email" field. Sets sub.OrgID.
func (db *DB) CreateSubaccount(ctx context.Context, actor switchboard.Actor, cur switchboard.Currency, sub *switchboard.Subaccount, tokenHash []byte, email *switchboard.Email) error {
	sub.Email = switchboard.NormalizeEmail(sub.Email)
	return db.tx(ctx, func(tx *Tx) error {
		var country, grandparent string
		var isSub bool
		err := tx.QueryRowContext(ctx, `SELECT o.country, sa.org_id IS NOT NULL, COALESCE(po.name, '') FROM organisations o`+subaccountJoin+`WHERE o.id = ?`,
			sub.ParentID).Scan(&country, &isSub, &grandparent)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("organisation")
		} else if err != nil {
			return fmt.Errorf("store: create subaccount of organisation %d: %w", sub.ParentID, err)
		}
		if isSub {
			return switchboard.Errorf(switchboard.EFORBIDDEN, "%s", switchboard.SubaccountRefusal(switchboard.PermSubaccounts, grandparent))
		}
		if err := mayManageSubaccounts(ctx, tx, sub.ParentID, actor); err != nil {
			return err
		}
		// Two creations for one address are read-then-insert: the
		// address's lock queues them on PostgreSQL (SQLite's writer
		// already does), without locking the parent's row.
		if err := tx.lock(ctx, fmt.Sprintf("subaccount:%d:%s", sub.ParentID, sub.Email)); err != nil {
			return err
		}
		var existing string
		err = tx.QueryRowContext(ctx, `SELECT o.name FROM subaccounts s JOIN organisations o ON o.id = s.org_id
			WHERE s.parent_id = ? AND s.email = ? AND s.status <> 'closed'`, sub.ParentID, sub.Email).Scan(&existing)
		if err == nil {
			return &switchboard.Error{Code: switchboard.ECONFLICT, Message: "This address already has a subaccount.",
				Fields: switchboard.FieldErrors{"email": "This address already has the subaccount " + existing + ". Close it first, or choose another address."}}
		} else if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: create subaccount of organisation %d: %w", sub.ParentID, err)
		}
		now := db.Now().UTC()
		if err := tx.QueryRowContext(ctx, `INSERT INTO organisations (name, country, created_at, member_count) VALUES (?, ?, ?, 0) RETURNING id`,
			sub.Name, country, millis(now)).Scan(&sub.OrgID); err != nil {
			return fmt.Errorf("store: create subaccount of organisation %d: %w", sub.ParentID, err)
		}
		sub.Status, sub.CreatedBy, sub.CreatedAt, sub.Spent = switchboard.SubaccountPending, actor.ProfileID, fromMillis(millis(now)), 0
		var createdBy any
		if actor.ProfileID != 0 {
			createdBy = actor.ProfileID
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO subaccounts (org_id, parent_id, email, funding, budget, status, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)`,
			sub.OrgID, sub.ParentID, sub.Email, string(sub.Funding), int64(sub.Budget), createdBy, millis(now)); err != nil {
			return fmt.Errorf("store: create subaccount of organisation %d: %w", sub.ParentID, err)
		}
		inv := &switchboard.Invitation{OrgID: sub.OrgID, Email: sub.Email, Role: switchboard.BuiltinRole(switchboard.RoleOwner),
			InvitedBy: actor.ProfileID, InviterName: actor.Name}
		if err := db.insertInvitation(ctx, tx, inv, tokenHash, email); err != nil {
			return err
		}
		return db.audit(ctx, tx, sub.ParentID, actor, AuditSubaccountCreated, sub.Name, FundingDetail(cur, sub.Funding, sub.Budget))
	})
}

// ListSubaccounts returns the parent's subaccounts, closed ones last, each
// with its owner once the invitation was accepted.
func (db *DB) ListSubaccounts(ctx context.Context, parentID int64) ([]switchboard.Subaccount, error) {
	rows, err := db.query(ctx, `SELECT `+subaccountColumns+subaccountFrom+`
		WHERE s.parent_id = ?
		ORDER BY CASE WHEN s.status = 'closed' THEN 1 ELSE 0 END, o.name COLLATE NOCASE, s.org_id`, parentID)
	if err != nil {
		return nil, fmt.Errorf("store: list subaccounts of organisation %d: %w", parentID, err)
	}
	defer rows.Close()
	var list []switchboard.Subaccount
	for rows.Next() {
		s, err := scanSubaccount(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list subaccounts of organisation %d: %w", parentID, err)
		}
		list = append(list, *s)
	}
	return list, rows.Err()
}

// FindSubaccount returns the parent's subaccount subID. Any other id, a
// subaccount of another parent included, is ENOTFOUND.
func (db *DB) FindSubaccount(ctx context.Context, parentID, subID int64) (*switchboard.Subaccount, error) {
	s, err := scanSubaccount(db.queryRow(ctx, `SELECT `+subaccountColumns+subaccountFrom+`WHERE s.org_id = ? AND s.parent_id = ?`, subID, parentID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("subaccount")
	} else if err != nil {
		return nil, fmt.Errorf("store: find subaccount %d: %w", subID, err)
	}
	return s, nil
}

// FindSubaccountInvitation returns the pending invitation of the parent's
// subaccount subID, ENOTFOUND when it has none (accepted, cancelled).
func (db *DB) FindSubaccountInvitation(ctx context.Context, parentID, subID int64) (*switchboard.Invitation, error) {
	inv, err := scanInvitation(db.queryRow(ctx, `SELECT `+invitationColumns+invitationFrom+`
		WHERE i.org_id = ? AND isa.parent_id = ? AND i.accepted_at IS NULL AND i.cancelled_at IS NULL`, subID, parentID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("invitation")
	} else if err != nil {
		return nil, fmt.Errorf("store: find invitation of subaccount %d: %w", subID, err)
	}
	return inv, nil
}

// subaccountState reads the parent's subaccount subID inside tx, for the
// sentence of a refused change: ENOTFOUND for any other id.
func subaccountState(ctx context.Context, tx *Tx, parentID, subID int64) (name string, status switchboard.SubaccountStatus, err error) {
	err = tx.QueryRowContext(ctx, `SELECT o.name, s.status FROM subaccounts s JOIN organisations o ON o.id = s.org_id
		WHERE s.org_id = ? AND s.parent_id = ?`, subID, parentID).Scan(&name, (*string)(&status))
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", notFound("subaccount")
	} else if err != nil {
		return "", "", fmt.Errorf("store: read subaccount %d: %w", subID, err)
	}
	return name, status, nil
}

// errSubaccountClosed is the conflict of a change to a closed subaccount.
func errSubaccountClosed(name string) error {
	return switchboard.Errorf(switchboard.ECONFLICT, "%s is closed: closing is final, and nothing about it can change any more.", name)
}

// SetSubaccountFunding changes the funding (and budget) of the parent's
// subaccount subID, which is not closed. A budget below what it has spent
// already stops its sends until it is raised. The audit line says old →
// new.
func (db *DB) SetSubaccountFunding(ctx context.Context, actor switchboard.Actor, cur switchboard.Currency, parentID, subID int64, funding switchboard.Funding, budget switchboard.Money) error {
	if funding != switchboard.FundingBudget {
		budget = 0
	}
	return db.tx(ctx, func(tx *Tx) error {
		if err := mayManageSubaccounts(ctx, tx, parentID, actor); err != nil {
			return err
		}
		// Read the old funding for the audit line, then change it only if
		// it is still that one: one conditional UPDATE, no lock taken
		// before it.
		var name, oldFunding string
		var oldBudget int64
		var status switchboard.SubaccountStatus
		err := tx.QueryRowContext(ctx, `SELECT o.name, s.funding, s.budget, s.status FROM subaccounts s JOIN organisations o ON o.id = s.org_id
			WHERE s.org_id = ? AND s.parent_id = ?`, subID, parentID).Scan(&name, &oldFunding, &oldBudget, (*string)(&status))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("subaccount")
		} else if err != nil {
			return fmt.Errorf("store: read subaccount %d: %w", subID, err)
		}
		if status == switchboard.SubaccountClosed {
			return errSubaccountClosed(name)
		}
		res, err := tx.ExecContext(ctx, `UPDATE subaccounts SET funding = ?, budget = ?
			WHERE org_id = ? AND parent_id = ? AND status <> 'closed' AND funding = ? AND budget = ?`,
			string(funding), int64(budget), subID, parentID, oldFunding, oldBudget)
		if err != nil {
			return fmt.Errorf("store: change funding of subaccount %d: %w", subID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return switchboard.Errorf(switchboard.ECONFLICT, "The funding of %s changed meanwhile. Reload the page to see it, then try again.", name)
		}
		old := FundingDetail(cur, switchboard.Funding(oldFunding), switchboard.Money(oldBudget))
		return db.audit(ctx, tx, parentID, actor, AuditSubaccountFunded, name, old+" → "+FundingDetail(cur, funding, budget))
	})
}

// SuspendSubaccount pauses every send of the parent's active subaccount
// subID (it can still log in and look); ResumeSubaccount undoes it. Any
// other status is ECONFLICT with a sentence saying why.
func (db *DB) SuspendSubaccount(ctx context.Context, actor switchboard.Actor, parentID, subID int64) error {
	return db.moveSubaccount(ctx, actor, parentID, subID, switchboard.SubaccountActive, switchboard.SubaccountSuspended, AuditSubaccountSuspended)
}

// ResumeSubaccount lets the parent's suspended subaccount subID send again.
func (db *DB) ResumeSubaccount(ctx context.Context, actor switchboard.Actor, parentID, subID int64) error {
	return db.moveSubaccount(ctx, actor, parentID, subID, switchboard.SubaccountSuspended, switchboard.SubaccountActive, AuditSubaccountResumed)
}

// moveSubaccount moves the subaccount from one status to another by one
// conditional UPDATE, with the parent's audit line.
func (db *DB) moveSubaccount(ctx context.Context, actor switchboard.Actor, parentID, subID int64, from, to switchboard.SubaccountStatus, action string) error {
	return db.tx(ctx, func(tx *Tx) error {
		if err := mayManageSubaccounts(ctx, tx, parentID, actor); err != nil {
			return err
		}
		var name string
		err := tx.QueryRowContext(ctx, `UPDATE subaccounts SET status = ? WHERE org_id = ? AND parent_id = ? AND status = ?
			RETURNING (SELECT name FROM organisations WHERE id = subaccounts.org_id)`, string(to), subID, parentID, string(from)).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			name, status, err := subaccountState(ctx, tx, parentID, subID)
			if err != nil {
				return err
			}
			return statusConflict(name, status, to)
		} else if err != nil {
			return fmt.Errorf("store: change status of subaccount %d: %w", subID, err)
		}
		return db.audit(ctx, tx, parentID, actor, action, name, "")
	})
}

// statusConflict says why a subaccount in status cannot move to want.
func statusConflict(name string, status, want switchboard.SubaccountStatus) error {
	switch {
	case status == switchboard.SubaccountClosed:
		return errSubaccountClosed(name)
	case status == switchboard.SubaccountPending:
		return switchboard.Errorf(switchboard.ECONFLICT, "%s is pending: nobody has accepted its invitation yet, so there is nothing to suspend or resume. Cancel the invitation to close it.", name)
	case status == want && want == switchboard.SubaccountSuspended:
		return switchboard.Errorf(switchboard.ECONFLICT, "%s is already suspended.", name)
	case status == want:
		return switchboard.Errorf(switchboard.ECONFLICT, "%s is not suspended: it can already send.", name)
	}
	return switchboard.Errorf(switchboard.ECONFLICT, "%s is %s.", name, status.Label())
}

// CloseSubaccount closes the parent's subaccount subID for good: its owner
// loses it on their next request (membership removed, privileges renewed;
// they keep their profile and their other organisations), its pending
// invitation is cancelled and its API keys revoked. Its messages, ledger
// and daily figures stay, for the parent's statistics. Closing a closed
// subaccount is ECONFLICT.
func (db *DB) CloseSubaccount(ctx context.Context, actor switchboard.Actor, parentID, subID int64) error {
	return db.closeSubaccount(ctx, actor, parentID, subID, false)
}

// CancelSubaccountInvitation cancels the invitation of the parent's pending
// subaccount subID, which closes it (a subaccount exists for the one address
// it was made for). Only a pending subaccount's invitation can be
// cancelled: ECONFLICT otherwise.
func (db *DB) CancelSubaccountInvitation(ctx context.Context, actor switchboard.Actor, parentID, subID int64) error {
	return db.closeSubaccount(ctx, actor, parentID, subID, true)
}

func (db *DB) closeSubaccount(ctx context.Context, actor switchboard.Actor, parentID, subID int64, onlyPending bool) error {
	return db.tx(ctx, func(tx *Tx) error {
		if err := mayManageSubaccounts(ctx, tx, parentID, actor); err != nil {
			return err
		}
		// Closing changes the subaccount's own organisations row too
		// (member_count): it is locked first, as a spend of the subaccount
		// does (a campaign's start locks it, then the subaccounts row, then
		// the parent's), once the id is known to be the parent's.
		if _, _, err := subaccountState(ctx, tx, parentID, subID); err != nil {
			return err
		}
		if err := tx.lockOrganisation(ctx, subID); err != nil {
			return err
		}
		now := millis(db.Now())
		cond := `status <> 'closed'`
		if onlyPending {
			cond = `status = 'pending'`
		}
		var name string
		err := tx.QueryRowContext(ctx, `UPDATE subaccounts SET status = 'closed', closed_at = ? WHERE org_id = ? AND parent_id = ? AND `+cond+`
			RETURNING (SELECT name FROM organisations WHERE id = subaccounts.org_id)`, now, subID, parentID).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			name, status, err := subaccountState(ctx, tx, parentID, subID)
			if err != nil {
				return err
			}
			if status == switchboard.SubaccountClosed {
				return errSubaccountClosed(name)
			}
			return switchboard.Errorf(switchboard.ECONFLICT, "The invitation to own %s was already accepted: close the subaccount instead.", name)
		} else if err != nil {
			return fmt.Errorf("store: close subaccount %d: %w", subID, err)
		}
		// Its owner's sessions are renewed and lose it on their next
		// request (authorization is read from the database each time).
		if err := bumpOrgPrivileges(ctx, tx, subID); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `DELETE FROM members WHERE org_id = ? RETURNING profile_id, sort_name`, subID)
		if err != nil {
			return fmt.Errorf("store: close subaccount %d: %w", subID, err)
		}
		type gone struct {
			id   int64
			name string
		}
		var members []gone
		for rows.Next() {
			var g gone
			if err := rows.Scan(&g.id, &g.name); err != nil {
				rows.Close()
				return fmt.Errorf("store: close subaccount %d: %w", subID, err)
			}
			members = append(members, g)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: close subaccount %d: %w", subID, err)
		}
		for _, g := range members {
			if err := unindexMember(ctx, tx, subID, g.id, g.name); err != nil {
				return err
			}
		}
		if err := adjustMemberCount(ctx, tx, subID, -int64(len(members))); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE profiles SET last_org_id = NULL WHERE last_org_id = ?`, subID); err != nil {
			return fmt.Errorf("store: close subaccount %d: %w", subID, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE invitations SET cancelled_at = ? WHERE org_id = ? AND accepted_at IS NULL AND cancelled_at IS NULL`, now, subID); err != nil {
			return fmt.Errorf("store: close subaccount %d: %w", subID, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE org_id = ? AND revoked_at IS NULL`, now, subID); err != nil {
			return fmt.Errorf("store: close subaccount %d: %w", subID, err)
		}
		detail := ""
		if onlyPending {
			detail = "Invitation cancelled"
		}
		return db.audit(ctx, tx, parentID, actor, AuditSubaccountClosed, name, detail)
	})
}

// ResendSubaccountInvitation sends the invitation of the parent's pending
// subaccount subID again with a new token: the old link stops working at
// once.
func (db *DB) ResendSubaccountInvitation(ctx context.Context, actor switchboard.Actor, parentID, subID int64, tokenHash []byte, email *switchboard.Email) error {
	return db.tx(ctx, func(tx *Tx) error {
		if err := mayManageSubaccounts(ctx, tx, parentID, actor); err != nil {
			return err
		}
		var id int64
		var address string
		err := tx.QueryRowContext(ctx, `SELECT i.id, i.email FROM invitations i JOIN subaccounts s ON s.org_id = i.org_id
			WHERE i.org_id = ? AND s.parent_id = ? AND s.status = 'pending' AND i.accepted_at IS NULL AND i.cancelled_at IS NULL`,
			subID, parentID).Scan(&id, &address)
		if errors.Is(err, sql.ErrNoRows) {
			name, _, err := subaccountState(ctx, tx, parentID, subID)
			if err != nil {
				return err
			}
			return switchboard.Errorf(switchboard.ECONFLICT, "%s has no pending invitation to resend.", name)
		} else if err != nil {
			return fmt.Errorf("store: resend invitation of subaccount %d: %w", subID, err)
		}
		if err := db.renewInvitation(ctx, tx, subID, id, tokenHash, email); err != nil {
			return err
		}
		return db.audit(ctx, tx, parentID, actor, "invitation.resent", address, "")
	})
}
