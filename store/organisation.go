package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"switchboard"
)

// sortName is the key the members page sorts and pages by.
func sortName(first, last, email string) string {
	return strings.ToLower(strings.TrimSpace(first+" "+last) + " " + email)
}

// insertOrganisation creates org inside tx with owner as its owner.
func (db *DB) insertOrganisation(ctx context.Context, tx *Tx, owner *switchboard.Profile, org *switchboard.Organisation) error {
	org.CreatedAt = db.Now().UTC()
	// Its owner is its first member: member_count starts at 1.
	err := tx.QueryRowContext(ctx, `INSERT INTO organisations (name, legal_name, vat_number, address, billing_email, country, created_at, member_count)
		VALUES (?, ?, ?, ?, ?, ?, ?, 1) RETURNING id`,
		org.Name, org.LegalName, org.VATNumber, org.Address, org.BillingMail, org.Country, millis(org.CreatedAt)).Scan(&org.ID)
	if err != nil {
		return fmt.Errorf("store: insert organisation: %w", err)
	}
	name := sortName(owner.FirstName, owner.LastName, owner.Email)
	_, err = tx.ExecContext(ctx, `INSERT INTO members (org_id, profile_id, role, joined_at, sort_name) VALUES (?, ?, 'owner', ?, ?)`,
		org.ID, owner.ID, millis(org.CreatedAt), name)
	if err != nil {
		return fmt.Errorf("store: insert owner of organisation %d: %w", org.ID, err)
	}
	return indexMember(ctx, tx, org.ID, owner.ID, name)
}

// CreateOrganisation creates org, owned by the profile, and makes it the
// profile's last used organisation.
func (db *DB) CreateOrganisation(ctx context.Context, owner *switchboard.Profile, org *switchboard.Organisation) error {
	return db.tx(ctx, func(tx *Tx) error {
		if err := db.insertOrganisation(ctx, tx, owner, org); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE profiles SET last_org_id = ? WHERE id = ?`, org.ID, owner.ID)
		return err
	})
}

// ListMemberships returns the organisations the profile belongs to, with
// its role in each, by name.
func (db *DB) ListMemberships(ctx context.Context, profileID int64) ([]switchboard.OrgSummary, error) {
	rows, err := db.query(ctx, `SELECT o.id, o.name, o.owner_only_members, m.role, COALESCE(r.id, 0), COALESCE(r.name, ''), COALESCE(r.permissions, ''),
			COALESCE(sa.parent_id, 0), COALESCE(po.name, '')
		FROM members m
		JOIN organisations o ON o.id = m.org_id`+subaccountJoin+`
		LEFT JOIN roles r ON r.id = m.custom_role_id AND r.org_id = m.org_id
		WHERE m.profile_id = ?
		ORDER BY o.name COLLATE NOCASE, o.id`, profileID)
	if err != nil {
		return nil, fmt.Errorf("store: list organisations of profile %d: %w", profileID, err)
	}
	defer rows.Close()
	var list []switchboard.OrgSummary
	for rows.Next() {
		var s switchboard.OrgSummary
		var kind, roleName, perms string
		var roleID int64
		if err := rows.Scan(&s.ID, &s.Name, &s.OwnerOnlyMembers, &kind, &roleID, &roleName, &perms, &s.ParentID, &s.ParentName); err != nil {
			return nil, fmt.Errorf("store: list organisations of profile %d: %w", profileID, err)
		}
		s.Role = makeRole(kind, roleID, roleName, perms)
		list = append(list, s)
	}
	return list, rows.Err()
}

// makeRole builds a role from its columns.
func makeRole(kind string, customID int64, name, permissions string) switchboard.Role {
	if switchboard.RoleKind(kind) != switchboard.RoleCustom {
		return switchboard.BuiltinRole(switchboard.RoleKind(kind))
	}
	r := switchboard.Role{Kind: switchboard.RoleCustom, ID: customID, Name: name}
	for _, p := range strings.Fields(permissions) {
		r.Permissions = append(r.Permissions, switchboard.Permission(p))
	}
	return r
}

// organisationColumns are an organisation's columns, with its parent's id
// and name and its status when it is a subaccount (the query joins
// subaccountJoin).
const organisationColumns = `o.id, o.name, o.legal_name, o.vat_number, o.address, o.billing_email, o.country, o.owner_only_members, o.created_at,
	o.require_two_factor, COALESCE(sa.parent_id, 0), COALESCE(po.name, ''), COALESCE(sa.status, '')`

// subaccountJoin joins, to the organisation o, its subaccount row sa and
// its parent po when it is a subaccount (one step of a primary key each).
const subaccountJoin = ` LEFT JOIN subaccounts sa ON sa.org_id = o.id LEFT JOIN organisations po ON po.id = sa.parent_id `

func scanOrganisation(dest []any, o *switchboard.Organisation, created *int64) []any {
	return append(dest, &o.ID, &o.Name, &o.LegalName, &o.VATNumber, &o.Address, &o.BillingMail, &o.Country, &o.OwnerOnlyMembers, created,
		&o.RequireTwoFactor, &o.ParentID, &o.ParentName, (*string)(&o.SubaccountStatus))
}

// FindMembership returns the organisation orgID and the profile's place in
// it. An organisation the profile is not a member of is ENOTFOUND, exactly as
// one that does not exist.
func (db *DB) FindMembership(ctx context.Context, orgID, profileID int64) (*switchboard.Membership, error) {
	return scanMembership(db.queryRow(ctx, membershipQuery, orgID, profileID), orgID, profileID)
}

// membershipInTx is FindMembership inside a write transaction: what a
// member may do, read again at the moment of acting, so that a role changed
// by a concurrent request is the one that counts.
func membershipInTx(ctx context.Context, tx *Tx, orgID, profileID int64) (*switchboard.Membership, error) {
	return scanMembership(tx.QueryRowContext(ctx, membershipQuery, orgID, profileID), orgID, profileID)
}

const membershipQuery = `SELECT ` + organisationColumns + `, m.role, COALESCE(r.id, 0), COALESCE(r.name, ''), COALESCE(r.permissions, ''), m.joined_at, p.email, p.first_name, p.last_name
	FROM members m
	JOIN organisations o ON o.id = m.org_id` + subaccountJoin + `
	JOIN profiles p ON p.id = m.profile_id
	LEFT JOIN roles r ON r.id = m.custom_role_id AND r.org_id = m.org_id
	WHERE m.org_id = ? AND m.profile_id = ?`

func scanMembership(row interface{ Scan(...any) error }, orgID, profileID int64) (*switchboard.Membership, error) {
	var o switchboard.Organisation
	m := switchboard.Member{OrgID: orgID, ProfileID: profileID}
	var created, joined, roleID int64
	var kind, roleName, perms string
	dest := scanOrganisation(nil, &o, &created)
	dest = append(dest, &kind, &roleID, &roleName, &perms, &joined, &m.Email, &m.FirstName, &m.LastName)
	err := row.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("organisation")
	} else if err != nil {
		return nil, fmt.Errorf("store: find membership of profile %d in organisation %d: %w", profileID, orgID, err)
	}
	o.CreatedAt = fromMillis(created)
	m.JoinedAt = fromMillis(joined)
	m.Role = makeRole(kind, roleID, roleName, perms)
	return &switchboard.Membership{Org: &o, Member: &m}, nil
}

// FindOwner returns the owner of the organisation.
func (db *DB) FindOwner(ctx context.Context, orgID int64) (*switchboard.Member, error) {
	m := switchboard.Member{OrgID: orgID, Role: switchboard.BuiltinRole(switchboard.RoleOwner)}
	var joined int64
	err := db.queryRow(ctx, `SELECT m.profile_id, m.joined_at, p.email, p.first_name, p.last_name
		FROM members m JOIN profiles p ON p.id = m.profile_id
		WHERE m.org_id = ? AND m.role = 'owner'`, orgID).Scan(&m.ProfileID, &joined, &m.Email, &m.FirstName, &m.LastName)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("organisation")
	} else if err != nil {
		return nil, fmt.Errorf("store: find owner of organisation %d: %w", orgID, err)
	}
	m.JoinedAt = fromMillis(joined)
	return &m, nil
}

// UpdateOrganisation saves the organisation's name and company details and
// records the change in the audit log.
func (db *DB) UpdateOrganisation(ctx context.Context, actor switchboard.Actor, o *switchboard.Organisation) error {
	return db.tx(ctx, func(tx *Tx) error {
		if err := tx.lockOrganisation(ctx, o.ID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE organisations SET name = ?, legal_name = ?, vat_number = ?, address = ?, billing_email = ?, country = ? WHERE id = ?`,
			o.Name, o.LegalName, o.VATNumber, o.Address, o.BillingMail, o.Country, o.ID)
		if err != nil {
			return fmt.Errorf("store: update organisation %d: %w", o.ID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return notFound("organisation")
		}
		return db.audit(ctx, tx, o.ID, actor, "organisation.updated", o.Name, "")
	})
}

// SetOwnerOnlyMembers switches the Members section between owner-only and
// owner-and-administrators.
func (db *DB) SetOwnerOnlyMembers(ctx context.Context, actor switchboard.Actor, orgID int64, ownerOnly bool) error {
	return db.tx(ctx, func(tx *Tx) error {
		if err := tx.lockOrganisation(ctx, orgID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE organisations SET owner_only_members = ? WHERE id = ? AND owner_only_members != ?`, ownerOnly, orgID, ownerOnly)
		if err != nil {
			return fmt.Errorf("store: set owner-only members of organisation %d: %w", orgID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		if err := bumpOrgPrivileges(ctx, tx, orgID); err != nil {
			return err
		}
		detail := "administrators may manage members"
		if ownerOnly {
			detail = "only the owner manages members"
		}
		return db.audit(ctx, tx, orgID, actor, "setting.changed", "", detail)
	})
}

// DeleteOrganisation deletes the organisation with its memberships,
// invitations, roles and audit log, and its subaccounts with theirs: they
// have no money of their own and are its business. Profiles stay.
func (db *DB) DeleteOrganisation(ctx context.Context, orgID int64) error {
	return db.tx(ctx, func(tx *Tx) error {
		subs, err := subaccountIDs(ctx, tx, orgID)
		if err != nil {
			return err
		}
		for _, id := range append(subs, orgID) {
			if err := bumpOrgPrivileges(ctx, tx, id); err != nil {
				return err
			}
		}
		for _, id := range subs {
			if _, err := tx.ExecContext(ctx, `DELETE FROM organisations WHERE id = ?`, id); err != nil {
				return fmt.Errorf("store: delete subaccount %d of organisation %d: %w", id, orgID, err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE profiles SET last_org_id = NULL WHERE last_org_id = ?`, id); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM organisations WHERE id = ?`, orgID)
		if err != nil {
			return fmt.Errorf("store: delete organisation %d: %w", orgID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return notFound("organisation")
		}
		// Members were removed by cascade; custom roles after them.
		_, err = tx.ExecContext(ctx, `UPDATE profiles SET last_org_id = NULL WHERE last_org_id = ?`, orgID)
		return err
	})
}
