package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"switchboard"
)

const invitationColumns = `i.id, i.org_id, i.email, i.role, COALESCE(r.id, 0), COALESCE(r.name, ''), COALESCE(r.permissions, ''),
	COALESCE(i.invited_by, 0), i.inviter_name, i.created_at, i.expires_at, i.accepted_at, i.cancelled_at, o.sent_at,
	COALESCE(o.attempts, 0), o.failed_at IS NOT NULL, COALESCE(o.refusal, ''), org.name, COALESCE(ipo.name, '')`

const invitationFrom = ` FROM invitations i
	JOIN organisations org ON org.id = i.org_id
	LEFT JOIN roles r ON r.id = i.custom_role_id AND r.org_id = i.org_id
	LEFT JOIN outbox o ON o.id = i.outbox_id
	LEFT JOIN subaccounts isa ON isa.org_id = i.org_id LEFT JOIN organisations ipo ON ipo.id = isa.parent_id `

func scanInvitation(row interface{ Scan(...any) error }) (*switchboard.Invitation, error) {
	var inv switchboard.Invitation
	var kind, roleName, perms string
	var roleID, created, expires int64
	var accepted, cancelled, sent sql.NullInt64
	if err := row.Scan(&inv.ID, &inv.OrgID, &inv.Email, &kind, &roleID, &roleName, &perms, &inv.InvitedBy, &inv.InviterName,
		&created, &expires, &accepted, &cancelled, &sent, &inv.EmailAttempts, &inv.EmailGivenUp, &inv.EmailRefusal, &inv.OrgName, &inv.ParentName); err != nil {
		return nil, err
	}
	inv.Role = makeRole(kind, roleID, roleName, perms)
	inv.CreatedAt, inv.ExpiresAt = fromMillis(created), fromMillis(expires)
	inv.AcceptedAt, inv.CancelledAt, inv.EmailSentAt = fromNullMillis(accepted), fromNullMillis(cancelled), fromNullMillis(sent)
	return &inv, nil
}

var errAlreadyMember = &switchboard.Error{Code: switchboard.ECONFLICT, Message: "This person is already a member.",
	Fields: switchboard.FieldErrors{"email": "This person is already a member of this organisation."}}

var errAlreadyInvited = &switchboard.Error{Code: switchboard.ECONFLICT, Message: "This address already has a pending invitation.",
	Fields: switchboard.FieldErrors{"email": "This address already has a pending invitation. Resend it from the list below if it got lost."}}

// CreateInvitation stores an invitation to join inv.OrgID with inv.Role and
// queues its email, in one transaction. An address that is already a member,
// or already has a pending invitation, is ECONFLICT; an expired pending
// invitation to the same address is cancelled to make room.
func (db *DB) CreateInvitation(ctx context.Context, actor switchboard.Actor, inv *switchboard.Invitation, tokenHash []byte, email *switchboard.Email) error {
	inv.Email = switchboard.NormalizeEmail(inv.Email)
	return db.tx(ctx, func(tx *Tx) error {
		if err := tx.lockOrganisation(ctx, inv.OrgID); err != nil {
			return err
		}
		now := db.Now()
		if err := checkCustomRole(ctx, tx, inv.OrgID, inv.Role); err != nil {
			return err
		}
		if err := checkActor(ctx, tx, inv.OrgID, actor, func(m *switchboard.Membership) bool { return m.MayGrant(inv.Role) }); err != nil {
			return err
		}
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM members m JOIN profiles p ON p.id = m.profile_id WHERE m.org_id = ? AND p.email = ?`, inv.OrgID, inv.Email).Scan(&one)
		if err == nil {
			return errAlreadyMember
		} else if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: create invitation: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE invitations SET cancelled_at = ?
			WHERE org_id = ? AND email = ? AND accepted_at IS NULL AND cancelled_at IS NULL AND expires_at <= ?`,
			millis(now), inv.OrgID, inv.Email, millis(now)); err != nil {
			return fmt.Errorf("store: create invitation: %w", err)
		}
		if err := db.insertInvitation(ctx, tx, inv, tokenHash, email); err != nil {
			return err
		}
		return db.audit(ctx, tx, inv.OrgID, actor, "invitation.sent", inv.Email, inv.Role.Name)
	})
}

// insertInvitation queues the invitation's email and stores inv with its
// token's hash and expiry, inside tx: the one insert of every invitation,
// to a team (CreateInvitation) or to own a subaccount (CreateSubaccount).
func (db *DB) insertInvitation(ctx context.Context, tx *Tx, inv *switchboard.Invitation, tokenHash []byte, email *switchboard.Email) error {
	outboxID, err := db.enqueue(ctx, tx, email)
	if err != nil {
		return err
	}
	kind, custom := roleColumns(inv.Role)
	inv.CreatedAt = db.Now().UTC()
	if inv.ExpiresAt.IsZero() {
		inv.ExpiresAt = inv.CreatedAt.Add(switchboard.InvitationLifetime)
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO invitations (org_id, email, role, custom_role_id, invited_by, inviter_name, token_hash, outbox_id, created_at, expires_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		inv.OrgID, inv.Email, kind, custom, inv.InvitedBy, inv.InviterName, tokenHash, outboxID, millis(inv.CreatedAt), millis(inv.ExpiresAt)).Scan(&inv.ID)
	if isUnique(err) {
		return errAlreadyInvited
	} else if err != nil {
		return fmt.Errorf("store: create invitation: %w", err)
	}
	return nil
}

// ListPendingInvitations returns up to limit invitations of the
// organisation that were neither accepted nor cancelled (expired ones
// included, to be resent), newest first, and how many there are in all.
func (db *DB) ListPendingInvitations(ctx context.Context, orgID int64, limit int) ([]switchboard.Invitation, int, error) {
	rows, err := db.query(ctx, `SELECT `+invitationColumns+invitationFrom+`
		WHERE i.org_id = ? AND i.accepted_at IS NULL AND i.cancelled_at IS NULL
		ORDER BY i.created_at DESC, i.id DESC LIMIT ?`, orgID, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list invitations of organisation %d: %w", orgID, err)
	}
	defer rows.Close()
	var list []switchboard.Invitation
	for rows.Next() {
		inv, err := scanInvitation(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("store: list invitations of organisation %d: %w", orgID, err)
		}
		list = append(list, *inv)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: list invitations of organisation %d: %w", orgID, err)
	}
	// Counted only when the list is full: a shorter list is all of them,
	// and the members page, which reads this on every view, is spared a
	// second query.
	total := len(list)
	if total == limit {
		if err := db.queryRow(ctx, `SELECT COUNT(*) FROM invitations WHERE org_id = ? AND accepted_at IS NULL AND cancelled_at IS NULL`, orgID).Scan(&total); err != nil {
			return nil, 0, fmt.Errorf("store: count invitations of organisation %d: %w", orgID, err)
		}
	}
	return list, total, nil
}

// FindInvitation returns the invitation id of the organisation.
func (db *DB) FindInvitation(ctx context.Context, orgID, id int64) (*switchboard.Invitation, error) {
	inv, err := scanInvitation(db.queryRow(ctx, `SELECT `+invitationColumns+invitationFrom+`WHERE i.id = ? AND i.org_id = ?`, id, orgID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("invitation")
	} else if err != nil {
		return nil, fmt.Errorf("store: find invitation %d: %w", id, err)
	}
	return inv, nil
}

var errInvitationGone = switchboard.Errorf(switchboard.EGONE, "This invitation link no longer works: it was used, cancelled, replaced by a newer one, or it expired. Ask the person who invited you to send a new one.")

// FindInvitationByToken returns the invitation a link's token belongs to. A
// token that is unknown (never issued, replaced by a resend, or its
// organisation deleted) is EGONE; the caller checks Usable for the rest.
func (db *DB) FindInvitationByToken(ctx context.Context, tokenHash []byte) (*switchboard.Invitation, error) {
	inv, err := scanInvitation(db.queryRow(ctx, `SELECT `+invitationColumns+invitationFrom+`WHERE i.token_hash = ?`, tokenHash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errInvitationGone
	} else if err != nil {
		return nil, fmt.Errorf("store: find invitation by token: %w", err)
	}
	return inv, nil
}

// ResendInvitation gives a pending invitation a new token and expiry and
// queues a new email; the old link stops working at once.
func (db *DB) ResendInvitation(ctx context.Context, actor switchboard.Actor, orgID, id int64, tokenHash []byte, email *switchboard.Email) error {
	return db.tx(ctx, func(tx *Tx) error {
		if err := tx.lockOrganisation(ctx, orgID); err != nil {
			return err
		}
		address, err := pendingForActor(ctx, tx, actor, orgID, id)
		if err != nil {
			return err
		}
		if err := db.renewInvitation(ctx, tx, orgID, id, tokenHash, email); err != nil {
			return err
		}
		return db.audit(ctx, tx, orgID, actor, "invitation.resent", address, "")
	})
}

// renewInvitation gives the pending invitation id of the organisation a new
// token and expiry and queues its new email, inside tx: the old link stops
// working at once. ResendInvitation and ResendSubaccountInvitation share it.
func (db *DB) renewInvitation(ctx context.Context, tx *Tx, orgID, id int64, tokenHash []byte, email *switchboard.Email) error {
	outboxID, err := db.enqueue(ctx, tx, email)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE invitations SET token_hash = ?, outbox_id = ?, expires_at = ? WHERE id = ? AND org_id = ?`,
		tokenHash, outboxID, millis(db.Now().Add(switchboard.InvitationLifetime)), id, orgID); err != nil {
		return fmt.Errorf("store: resend invitation %d: %w", id, err)
	}
	return nil
}

// pendingForActor returns the address of the pending invitation id of the
// organisation, once it has checked, inside tx, that the actor's role may
// still grant the invitation's role (and so resend or cancel it).
func pendingForActor(ctx context.Context, tx *Tx, actor switchboard.Actor, orgID, id int64) (string, error) {
	var address, kind, roleName, perms string
	var roleID int64
	err := tx.QueryRowContext(ctx, `SELECT i.email, i.role, COALESCE(r.id, 0), COALESCE(r.name, ''), COALESCE(r.permissions, '')
		FROM invitations i LEFT JOIN roles r ON r.id = i.custom_role_id AND r.org_id = i.org_id
		WHERE i.id = ? AND i.org_id = ? AND i.accepted_at IS NULL AND i.cancelled_at IS NULL`, id, orgID).Scan(&address, &kind, &roleID, &roleName, &perms)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound("invitation")
	} else if err != nil {
		return "", fmt.Errorf("store: find pending invitation %d: %w", id, err)
	}
	role := makeRole(kind, roleID, roleName, perms)
	return address, checkActor(ctx, tx, orgID, actor, func(m *switchboard.Membership) bool { return m.MayGrant(role) })
}

// CancelInvitation cancels a pending invitation; its link stops working.
func (db *DB) CancelInvitation(ctx context.Context, actor switchboard.Actor, orgID, id int64) error {
	return db.tx(ctx, func(tx *Tx) error {
		if err := tx.lockOrganisation(ctx, orgID); err != nil {
			return err
		}
		address, err := pendingForActor(ctx, tx, actor, orgID, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE invitations SET cancelled_at = ? WHERE id = ? AND org_id = ?`, millis(db.Now()), id, orgID); err != nil {
			return fmt.Errorf("store: cancel invitation %d: %w", id, err)
		}
		return db.audit(ctx, tx, orgID, actor, "invitation.cancelled", address, "")
	})
}

// AcceptInvitation makes profile p a member through the invitation whose
// token hashes to tokenHash. Only the invited address may accept; a mismatch
// neither joins nor uses up the invitation. Of many parallel accepts, exactly
// one succeeds: the invitation is marked used by a conditional UPDATE that
// must change one row.
func (db *DB) AcceptInvitation(ctx context.Context, tokenHash []byte, p *switchboard.Profile, ip string) (*switchboard.Invitation, error) {
	var inv *switchboard.Invitation
	err := db.tx(ctx, func(tx *Tx) (err error) {
		inv, err = db.acceptInTx(ctx, tx, tokenHash, p, ip)
		return err
	})
	return inv, err
}

// AcceptInvitationAsNewProfile creates profile p (whose email must be the
// invited one) and makes it a member, in one transaction. No organisation of
// its own is created.
func (db *DB) AcceptInvitationAsNewProfile(ctx context.Context, tokenHash []byte, p *switchboard.Profile, passwordHash, ip string) (*switchboard.Invitation, error) {
	var inv *switchboard.Invitation
	err := db.tx(ctx, func(tx *Tx) (err error) {
		if err := db.insertProfile(ctx, tx, p, passwordHash); err != nil {
			return err
		}
		inv, err = db.acceptInTx(ctx, tx, tokenHash, p, ip)
		return err
	})
	return inv, err
}

func (db *DB) acceptInTx(ctx context.Context, tx *Tx, tokenHash []byte, p *switchboard.Profile, ip string) (*switchboard.Invitation, error) {
	now := db.Now()
	inv, err := scanInvitation(tx.QueryRowContext(ctx, `SELECT `+invitationColumns+invitationFrom+`WHERE i.token_hash = ?`, tokenHash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errInvitationGone
	} else if err != nil {
		return nil, fmt.Errorf("store: accept invitation: %w", err)
	}
	if !inv.Usable(now) {
		return nil, errInvitationGone
	}
	if err := tx.lockOrganisation(ctx, inv.OrgID); err != nil {
		return nil, err
	}
	if switchboard.NormalizeEmail(p.Email) != switchboard.NormalizeEmail(inv.Email) {
		return nil, switchboard.Errorf(switchboard.EFORBIDDEN, "This invitation was sent to another email address.")
	}
	res, err := tx.ExecContext(ctx, `UPDATE invitations SET accepted_at = ?, accepted_by = ?
		WHERE id = ? AND accepted_at IS NULL AND cancelled_at IS NULL AND expires_at > ?`, millis(now), p.ID, inv.ID, millis(now))
	if err != nil {
		return nil, fmt.Errorf("store: accept invitation %d: %w", inv.ID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, errInvitationGone
	}
	if inv.ParentName != "" {
		// A subaccount's invitation: its one member becomes its owner,
		// and it comes to life in the same transaction. One closed
		// meanwhile (its invitation cancelled with it) takes nobody.
		res, err := tx.ExecContext(ctx, `UPDATE subaccounts SET status = 'active' WHERE org_id = ? AND status = 'pending'`, inv.OrgID)
		if err != nil {
			return nil, fmt.Errorf("store: accept invitation %d: %w", inv.ID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil, errInvitationGone
		}
	}
	kind, custom := roleColumns(inv.Role)
	name := sortName(p.FirstName, p.LastName, p.Email)
	// Someone who became a member meanwhile keeps the role they have.
	res, err = tx.ExecContext(ctx, `INSERT INTO members (org_id, profile_id, role, custom_role_id, joined_at, sort_name) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (org_id, profile_id) DO NOTHING`,
		inv.OrgID, p.ID, kind, custom, millis(now), name)
	if err != nil {
		return nil, fmt.Errorf("store: accept invitation %d: %w", inv.ID, err)
	}
	// Only a membership really inserted counts.
	if n, err := res.RowsAffected(); err != nil {
		return nil, fmt.Errorf("store: accept invitation %d: %w", inv.ID, err)
	} else if err := adjustMemberCount(ctx, tx, inv.OrgID, n); err != nil {
		return nil, err
	} else if n == 1 {
		if err := indexMember(ctx, tx, inv.OrgID, p.ID, name); err != nil {
			return nil, err
		}
	}
	if err := tx.QueryRowContext(ctx, `UPDATE profiles SET last_org_id = ?, privilege_epoch = privilege_epoch + 1 WHERE id = ? RETURNING privilege_epoch`,
		inv.OrgID, p.ID).Scan(&p.PrivilegeEpoch); err != nil {
		return nil, fmt.Errorf("store: accept invitation %d: %w", inv.ID, err)
	}
	p.LastOrgID = inv.OrgID
	t := now.UTC()
	inv.AcceptedAt = &t
	actor := switchboard.Actor{ProfileID: p.ID, Name: p.Name(), IP: ip}
	if inv.ParentName != "" {
		return inv, db.audit(ctx, tx, inv.OrgID, actor, AuditSubaccountJoined, p.Email, inv.Role.Name)
	}
	return inv, db.audit(ctx, tx, inv.OrgID, actor, "invitation.accepted", p.Email, inv.Role.Name)
}
