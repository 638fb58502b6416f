package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"switchboard"
)

const memberColumns = `m.profile_id, m.role, COALESCE(r.id, 0), COALESCE(r.name, ''), COALESCE(r.permissions, ''), m.joined_at, p.email, p.first_name, p.last_name, m.sort_name, p.totp_since IS NOT NULL`

const memberFrom = ` FROM members m
	JOIN profiles p ON p.id = m.profile_id
	LEFT JOIN roles r ON r.id = m.custom_role_id AND r.org_id = m.org_id `

func scanMember(row interface{ Scan(...any) error }, orgID int64) (*switchboard.Member, string, error) {
	m := switchboard.Member{OrgID: orgID}
	var kind, roleName, perms, sort string
	var roleID, joined int64
	if err := row.Scan(&m.ProfileID, &kind, &roleID, &roleName, &perms, &joined, &m.Email, &m.FirstName, &m.LastName, &sort, &m.TwoFactor); err != nil {
		return nil, "", err
	}
	m.Role = makeRole(kind, roleID, roleName, perms)
	m.JoinedAt = fromMillis(joined)
	return &m, sort, nil
}

// MemberCursor is where a page of members starts: after this sort key and
// profile id.
type MemberCursor struct {
	SortName  string
	ProfileID int64
}

// ListMembers returns up to limit members of the organisation in name order,
// after the cursor, whose name or email contains query (in any case, every
// character literal); and the cursor of the next page, or nil when this is
// the last. Without a query it pages by keyset over members_by_name: one
// query, however deep the page. With one it searches (membersearch.go),
// at a cost bounded whatever the organisation's size.
func (db *DB) ListMembers(ctx context.Context, orgID int64, query string, after MemberCursor, limit int) ([]switchboard.Member, *MemberCursor, error) {
	limit = max(limit, 1) // a page holds at least one member; the cursor needs it
	if query = strings.ToLower(strings.TrimSpace(query)); query != "" {
		return db.searchMembers(ctx, orgID, query, after, limit)
	}
	rows, err := db.query(ctx, `SELECT `+memberColumns+memberFrom+`WHERE m.org_id = ? AND (m.sort_name, m.profile_id) > (?, ?)
		ORDER BY m.sort_name, m.profile_id LIMIT ?`, orgID, after.SortName, after.ProfileID, limit+1)
	if err != nil {
		return nil, nil, fmt.Errorf("store: list members of organisation %d: %w", orgID, err)
	}
	return scanMemberPage(rows, orgID, limit)
}

// scanMemberPage reads up to limit+1 members in name order and closes
// rows: the first limit are the page, one more says there is a next page.
func scanMemberPage(rows *sql.Rows, orgID int64, limit int) ([]switchboard.Member, *MemberCursor, error) {
	defer rows.Close()
	list := make([]switchboard.Member, 0, limit)
	var next *MemberCursor
	var lastSort string
	for rows.Next() {
		m, sort, err := scanMember(rows, orgID)
		if err != nil {
			return nil, nil, fmt.Errorf("store: list members of organisation %d: %w", orgID, err)
		}
		if len(list) == limit {
			next = &MemberCursor{SortName: lastSort, ProfileID: list[limit-1].ProfileID}
			break
		}
		list = append(list, *m)
		lastSort = sort
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("store: list members of organisation %d: %w", orgID, err)
	}
	return list, next, nil
}

// FindMember returns the member profileID of the organisation; a profile
// that is not a member (of this organisation) is ENOTFOUND.
func (db *DB) FindMember(ctx context.Context, orgID, profileID int64) (*switchboard.Member, error) {
	m, _, err := scanMember(db.queryRow(ctx, `SELECT `+memberColumns+memberFrom+`WHERE m.org_id = ? AND m.profile_id = ?`, orgID, profileID), orgID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("member")
	} else if err != nil {
		return nil, fmt.Errorf("store: find member %d of organisation %d: %w", profileID, orgID, err)
	}
	return m, nil
}

// MemberCounts are the numbers on an organisation's dashboard.
type MemberCounts struct {
	Members int
	Pending int
}

// CountMembers counts the organisation's members and pending invitations,
// at a cost that does not grow with the organisation: the member count is
// kept in the organisation's row by every transaction that adds or removes
// a member (adjustMemberCount); pending invitations are counted from the
// partial index invitations_pending_by_expiry alone, because they stop
// being pending when they expire, which no transaction sees, so a kept
// count would be wrong after an expiry; the rate limits on invitations
// bound how many can be valid at once, and the expired ones lie before the
// range the count reads.
func (db *DB) CountMembers(ctx context.Context, orgID int64) (MemberCounts, error) {
	var c MemberCounts
	err := db.queryRow(ctx, `SELECT member_count,
		(SELECT COUNT(*) FROM invitations WHERE org_id = ? AND expires_at > ? AND accepted_at IS NULL AND cancelled_at IS NULL)
		FROM organisations WHERE id = ?`,
		orgID, millis(db.Now()), orgID).Scan(&c.Members, &c.Pending)
	if errors.Is(err, sql.ErrNoRows) {
		return c, notFound("organisation")
	} else if err != nil {
		return c, fmt.Errorf("store: count members of organisation %d: %w", orgID, err)
	}
	return c, nil
}

// adjustMemberCount moves the organisation's kept member count by delta,
// inside the transaction that inserted or deleted the memberships. Writes
// are serialised (one writer, immediate transactions), and the UPDATE adds
// to the stored value rather than writing one read before, so parallel
// joins and revocations each count once.
func adjustMemberCount(ctx context.Context, tx *Tx, orgID int64, delta int64) error {
	if _, err := tx.ExecContext(ctx, `UPDATE organisations SET member_count = member_count + ? WHERE id = ?`, delta, orgID); err != nil {
		return fmt.Errorf("store: count members of organisation %d: %w", orgID, err)
	}
	return nil
}

// FindMemberByEmail returns the member of the organisation with the email
// (in any case); a profile that is not a member of this organisation is
// ENOTFOUND.
func (db *DB) FindMemberByEmail(ctx context.Context, orgID int64, email string) (*switchboard.Member, error) {
	m, _, err := scanMember(db.queryRow(ctx, `SELECT `+memberColumns+memberFrom+`WHERE m.org_id = ? AND p.email = ?`, orgID, switchboard.NormalizeEmail(email)), orgID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("member")
	} else if err != nil {
		return nil, fmt.Errorf("store: find member by email in organisation %d: %w", orgID, err)
	}
	return m, nil
}

// roleColumns returns the values of the role and custom_role_id columns.
func roleColumns(r switchboard.Role) (string, any) {
	if r.Kind == switchboard.RoleCustom {
		return string(r.Kind), r.ID
	}
	return string(r.Kind), nil
}

// checkCustomRole makes sure a custom role belongs to the organisation.
func checkCustomRole(ctx context.Context, tx *Tx, orgID int64, r switchboard.Role) error {
	if r.Kind != switchboard.RoleCustom {
		return nil
	}
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM roles WHERE id = ? AND org_id = ?`, r.ID, orgID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("role")
	}
	return err
}

var errMemberChanged = switchboard.Errorf(switchboard.ECONFLICT, "This member's role changed while you were looking. Reload the page and try again.")

// ChangeRole gives the member target the role r. It acts only if the
// member still has the role the caller checked (target.Role), never on the
// owner, and never hands out ownership: that is TransferOwnership.
func (db *DB) ChangeRole(ctx context.Context, actor switchboard.Actor, orgID int64, target *switchboard.Member, r switchboard.Role) error {
	if r.Kind == switchboard.RoleOwner {
		return switchboard.Errorf(switchboard.EFORBIDDEN, "Ownership moves only by transfer.")
	}
	return db.tx(ctx, func(tx *Tx) error {
		if err := tx.lockOrganisation(ctx, orgID); err != nil {
			return err
		}
		if err := checkCustomRole(ctx, tx, orgID, r); err != nil {
			return err
		}
		if err := checkActor(ctx, tx, orgID, actor, func(m *switchboard.Membership) bool {
			return m.MayManage(target) && m.MayGrant(r)
		}); err != nil {
			return err
		}
		kind, custom := roleColumns(r)
		oldKind, oldCustom := roleColumns(target.Role)
		res, err := tx.ExecContext(ctx, `UPDATE members SET role = ?, custom_role_id = ?
			WHERE org_id = ? AND profile_id = ? AND role != 'owner' AND role = ? AND custom_role_id IS NOT DISTINCT FROM ?`,
			kind, custom, orgID, target.ProfileID, oldKind, oldCustom)
		if err != nil {
			return fmt.Errorf("store: change role of member %d in organisation %d: %w", target.ProfileID, orgID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errMemberChanged
		}
		if err := bumpProfilePrivileges(ctx, tx, target.ProfileID); err != nil {
			return err
		}
		return db.audit(ctx, tx, orgID, actor, "member.role_changed", target.Email, target.Role.Name+" → "+r.Name)
	})
}

// RemoveMember takes the member's access away (action "member.revoked") or
// records that they left ("member.left"). The owner is never removed, and a
// revocation needs an actor whose role, read now, may manage the target.
func (db *DB) RemoveMember(ctx context.Context, actor switchboard.Actor, orgID int64, target *switchboard.Member, action string) error {
	return db.tx(ctx, func(tx *Tx) error {
		if err := tx.lockOrganisation(ctx, orgID); err != nil {
			return err
		}
		if actor.ProfileID != target.ProfileID {
			if err := checkActor(ctx, tx, orgID, actor, func(m *switchboard.Membership) bool { return m.MayManage(target) }); err != nil {
				return err
			}
		}
		oldKind, oldCustom := roleColumns(target.Role)
		var name string
		err := tx.QueryRowContext(ctx, `DELETE FROM members
			WHERE org_id = ? AND profile_id = ? AND role != 'owner' AND role = ? AND custom_role_id IS NOT DISTINCT FROM ?
			RETURNING sort_name`,
			orgID, target.ProfileID, oldKind, oldCustom).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			return errMemberChanged
		} else if err != nil {
			return fmt.Errorf("store: remove member %d from organisation %d: %w", target.ProfileID, orgID, err)
		}
		if err := adjustMemberCount(ctx, tx, orgID, -1); err != nil {
			return err
		}
		if err := unindexMember(ctx, tx, orgID, target.ProfileID, name); err != nil {
			return err
		}
		if err := bumpProfilePrivileges(ctx, tx, target.ProfileID); err != nil {
			return err
		}
		return db.auditAbout(ctx, tx, orgID, actor, action, target.ProfileID, target.Email, target.Role.Name)
	})
}

// TransferOwnership makes the member toID the owner and the current owner
// fromID an Administrator, in one transaction: the organisation has one
// owner before and after, never none and never two.
func (db *DB) TransferOwnership(ctx context.Context, actor switchboard.Actor, orgID, fromID, toID int64) error {
	if fromID == toID {
		return switchboard.Errorf(switchboard.EINVALID, "You already own this organisation.")
	}
	return db.tx(ctx, func(tx *Tx) error {
		if err := tx.lockOrganisation(ctx, orgID); err != nil {
			return err
		}
		var email string
		if err := tx.QueryRowContext(ctx, `SELECT p.email FROM members m JOIN profiles p ON p.id = m.profile_id WHERE m.org_id = ? AND m.profile_id = ?`, orgID, toID).Scan(&email); errors.Is(err, sql.ErrNoRows) {
			return notFound("member")
		} else if err != nil {
			return fmt.Errorf("store: transfer ownership of organisation %d: %w", orgID, err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE members SET role = 'administrator', custom_role_id = NULL WHERE org_id = ? AND profile_id = ? AND role = 'owner'`, orgID, fromID)
		if err != nil {
			return fmt.Errorf("store: transfer ownership of organisation %d: %w", orgID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return switchboard.Errorf(switchboard.ECONFLICT, "You are no longer the owner of this organisation.")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE members SET role = 'owner', custom_role_id = NULL WHERE org_id = ? AND profile_id = ?`, orgID, toID); err != nil {
			return fmt.Errorf("store: transfer ownership of organisation %d: %w", orgID, err)
		}
		if err := bumpPrivileges(ctx, tx, `?, ?`, fromID, toID); err != nil {
			return err
		}
		return db.audit(ctx, tx, orgID, actor, "ownership.transferred", email, "")
	})
}
