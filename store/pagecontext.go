package store

import (
	"context"
	"database/sql"
	"fmt"

	"switchboard"
)

// profileWithMembershipsQuery reads a profile and its place in every
// organisation it belongs to: one row per membership, or one row with the
// organisation's columns NULL for a profile that belongs to none. The
// profile's columns are repeated on each row; a profile belongs to a
// handful of organisations, and one query costs less than three.
// The two EXISTS are one step of an index each (roles by organisation,
// invitations_pending). LOWER(name) orders as SQLite's NOCASE does (ASCII letters folded) and is
// SQL PostgreSQL accepts too.
const profileWithMembershipsQuery = `SELECT p.id, p.email, p.first_name, p.last_name, p.language, p.time_zone, p.auth_epoch, p.privilege_epoch, COALESCE(p.last_org_id, 0), p.created_at, p.totp_since IS NOT NULL,
	o.id, COALESCE(o.name, ''), COALESCE(o.legal_name, ''), COALESCE(o.vat_number, ''), COALESCE(o.address, ''), COALESCE(o.billing_email, ''), COALESCE(o.country, ''), o.owner_only_members, COALESCE(o.created_at, 0), o.require_two_factor,
	COALESCE(m.role, ''), COALESCE(r.id, 0), COALESCE(r.name, ''), COALESCE(r.permissions, ''), COALESCE(m.joined_at, 0),
	COALESCE(sa.parent_id, 0), COALESCE(po.name, ''), COALESCE(sa.status, ''),
	EXISTS (SELECT 1 FROM roles x WHERE x.org_id = o.id),
	EXISTS (SELECT 1 FROM invitations x WHERE x.org_id = o.id AND x.accepted_at IS NULL AND x.cancelled_at IS NULL)
	FROM profiles p
	LEFT JOIN members m ON m.profile_id = p.id
	LEFT JOIN organisations o ON o.id = m.org_id` + subaccountJoin + `
	LEFT JOIN roles r ON r.id = m.custom_role_id AND r.org_id = m.org_id
	WHERE p.id = ?
	ORDER BY o.name COLLATE NOCASE, o.id`

// OrgMembership is a profile's place in one organisation, and whether the
// organisation holds what the members page lists besides its members.
type OrgMembership struct {
	switchboard.Membership
	// HasCustomRoles says whether the organisation defines a role of its
	// own, and HasPending whether an invitation of it waits for an answer
	// (or expired unanswered), as read with the membership: pages read
	// those lists only when they hold something.
	HasCustomRoles, HasPending bool
}

// FindProfileWithMemberships returns the profile and its place in every
// organisation it belongs to, ordered by organisation name as
// ListMemberships orders them, read in one query. A request reads it once:
// the profile to check its session, the membership of the organisation in
// the URL to authorize the request (read now, never kept from an earlier
// request), and the whole list for the organisation switcher; three
// queries before. A missing profile is ENOTFOUND, as in FindProfile.
func (db *DB) FindProfileWithMemberships(ctx context.Context, profileID int64) (*switchboard.Profile, []OrgMembership, error) {
	rows, err := db.query(ctx, profileWithMembershipsQuery, profileID)
	if err != nil {
		return nil, nil, fmt.Errorf("store: find profile %d with its organisations: %w", profileID, err)
	}
	defer rows.Close()
	var p *switchboard.Profile
	var list []OrgMembership
	for rows.Next() {
		var (
			q                      switchboard.Profile
			orgID                  sql.NullInt64
			ownerOnly              sql.NullBool
			requireTwoFactor       sql.NullBool
			o                      switchboard.Organisation
			kind, roleName, perms  string
			roleID, profileCreated int64
			orgCreated, joined     int64
			roles, pending         bool
		)
		err := rows.Scan(&q.ID, &q.Email, &q.FirstName, &q.LastName, &q.Language, &q.TimeZone, &q.AuthEpoch, &q.PrivilegeEpoch, &q.LastOrgID, &profileCreated, &q.TwoFactor,
			&orgID, &o.Name, &o.LegalName, &o.VATNumber, &o.Address, &o.BillingMail, &o.Country, &ownerOnly, &orgCreated, &requireTwoFactor,
			&kind, &roleID, &roleName, &perms, &joined, &o.ParentID, &o.ParentName, (*string)(&o.SubaccountStatus), &roles, &pending)
		if err != nil {
			return nil, nil, fmt.Errorf("store: find profile %d with its organisations: %w", profileID, err)
		}
		if p == nil {
			q.CreatedAt = fromMillis(profileCreated)
			p = &q
		}
		if !orgID.Valid {
			continue
		}
		o.ID, o.OwnerOnlyMembers, o.CreatedAt = orgID.Int64, ownerOnly.Bool, fromMillis(orgCreated)
		o.RequireTwoFactor = requireTwoFactor.Bool
		list = append(list, OrgMembership{Membership: switchboard.Membership{Org: &o, Member: &switchboard.Member{
			OrgID: o.ID, ProfileID: p.ID, Role: makeRole(kind, roleID, roleName, perms), JoinedAt: fromMillis(joined),
			Email: p.Email, FirstName: p.FirstName, LastName: p.LastName,
		}}, HasCustomRoles: roles, HasPending: pending})
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("store: find profile %d with its organisations: %w", profileID, err)
	}
	if p == nil {
		return nil, nil, notFound("profile")
	}
	return p, list, nil
}
