package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"switchboard"
)

func permissionsColumn(ps []switchboard.Permission) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	return strings.Join(s, " ")
}

// RoleUsage is a custom role with how many members and pending invitations
// hold it.
type RoleUsage struct {
	switchboard.Role
	Members     int
	Invitations int
}

// ListRoles returns the organisation's custom roles by name, with their use.
func (db *DB) ListRoles(ctx context.Context, orgID int64) ([]RoleUsage, error) {
	rows, err := db.query(ctx, `SELECT r.id, r.name, r.permissions,
		(SELECT COUNT(*) FROM members m WHERE m.custom_role_id = r.id),
		(SELECT COUNT(*) FROM invitations i WHERE i.custom_role_id = r.id AND i.accepted_at IS NULL AND i.cancelled_at IS NULL)
		FROM roles r WHERE r.org_id = ? ORDER BY r.name COLLATE NOCASE, r.id`, orgID)
	if err != nil {
		return nil, fmt.Errorf("store: list roles of organisation %d: %w", orgID, err)
	}
	defer rows.Close()
	var list []RoleUsage
	for rows.Next() {
		var u RoleUsage
		var id int64
		var name, perms string
		if err := rows.Scan(&id, &name, &perms, &u.Members, &u.Invitations); err != nil {
			return nil, fmt.Errorf("store: list roles of organisation %d: %w", orgID, err)
		}
		u.Role = makeRole(string(switchboard.RoleCustom), id, name, perms)
		list = append(list, u)
	}
	return list, rows.Err()
}

// Held says whether members or pending invitations still hold the role,
// which then cannot be deleted.
func (u RoleUsage) Held() bool { return u.Members > 0 || u.Invitations > 0 }

// FindRoleUsage returns the custom role id of the organisation with how
// many hold it; another organisation's role is ENOTFOUND.
func (db *DB) FindRoleUsage(ctx context.Context, orgID, id int64) (*RoleUsage, error) {
	return scanRoleUsage(db.queryRow(ctx, roleUsageQuery, id, orgID), orgID, id)
}

// roleUsageQuery reads one role of an organisation (id, org_id) and how
// many members and pending invitations hold it.
const roleUsageQuery = `SELECT name, permissions,
	(SELECT COUNT(*) FROM members WHERE custom_role_id = roles.id),
	(SELECT COUNT(*) FROM invitations WHERE custom_role_id = roles.id AND accepted_at IS NULL AND cancelled_at IS NULL)
	FROM roles WHERE id = ? AND org_id = ?`

func scanRoleUsage(row interface{ Scan(...any) error }, orgID, id int64) (*RoleUsage, error) {
	var u RoleUsage
	var name, perms string
	err := row.Scan(&name, &perms, &u.Members, &u.Invitations)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("role")
	} else if err != nil {
		return nil, fmt.Errorf("store: role %d of organisation %d: %w", id, orgID, err)
	}
	u.Role = makeRole(string(switchboard.RoleCustom), id, name, perms)
	return &u, nil
}

// CustomRoles returns the organisation's custom roles by name, without
// their use: what a role picker needs. Counting each role's holders, as
// ListRoles does for the Roles page, grows with the organisation, and the
// members pages show a picker on every view.
func (db *DB) CustomRoles(ctx context.Context, orgID int64) ([]switchboard.Role, error) {
	rows, err := db.query(ctx, `SELECT id, name, permissions FROM roles WHERE org_id = ? ORDER BY name COLLATE NOCASE, id`, orgID)
	if err != nil {
		return nil, fmt.Errorf("store: list roles of organisation %d: %w", orgID, err)
	}
	defer rows.Close()
	var list []switchboard.Role
	for rows.Next() {
		var id int64
		var name, perms string
		if err := rows.Scan(&id, &name, &perms); err != nil {
			return nil, fmt.Errorf("store: list roles of organisation %d: %w", orgID, err)
		}
		list = append(list, makeRole(string(switchboard.RoleCustom), id, name, perms))
	}
	return list, rows.Err()
}

// FindRole returns the custom role id of the organisation; another
// organisation's role is ENOTFOUND.
func (db *DB) FindRole(ctx context.Context, orgID, id int64) (*switchboard.Role, error) {
	var name, perms string
	err := db.queryRow(ctx, `SELECT name, permissions FROM roles WHERE id = ? AND org_id = ?`, id, orgID).Scan(&name, &perms)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("role")
	} else if err != nil {
		return nil, fmt.Errorf("store: find role %d of organisation %d: %w", id, orgID, err)
	}
	r := makeRole(string(switchboard.RoleCustom), id, name, perms)
	return &r, nil
}

var errRoleName = &switchboard.Error{Code: switchboard.ECONFLICT, Message: "A role with this name already exists.",
	Fields: switchboard.FieldErrors{"name": "A role with this name already exists. Choose another."}}

// CreateRole adds a custom role to the organisation.
func (db *DB) CreateRole(ctx context.Context, actor switchboard.Actor, orgID int64, r *switchboard.Role) error {
	r.Kind = switchboard.RoleCustom
	r.Name = strings.TrimSpace(r.Name)
	return db.tx(ctx, func(tx *Tx) error {
		if err := tx.lockOrganisation(ctx, orgID); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO roles (org_id, name, permissions, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
			orgID, strings.TrimSpace(r.Name), permissionsColumn(r.Permissions), millis(db.Now())).Scan(&r.ID)
		if isUnique(err) {
			return errRoleName
		} else if err != nil {
			return fmt.Errorf("store: create role in organisation %d: %w", orgID, err)
		}
		return db.audit(ctx, tx, orgID, actor, "role.created", r.Name, permissionsColumn(r.Permissions))
	})
}

// UpdateRole renames the custom role and sets its sections; its members get
// the new sections on their next request.
func (db *DB) UpdateRole(ctx context.Context, actor switchboard.Actor, orgID int64, r *switchboard.Role) error {
	r.Name = strings.TrimSpace(r.Name)
	return db.tx(ctx, func(tx *Tx) error {
		if err := tx.lockOrganisation(ctx, orgID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE roles SET name = ?, permissions = ? WHERE id = ? AND org_id = ?`,
			strings.TrimSpace(r.Name), permissionsColumn(r.Permissions), r.ID, orgID)
		if isUnique(err) {
			return errRoleName
		} else if err != nil {
			return fmt.Errorf("store: update role %d in organisation %d: %w", r.ID, orgID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return notFound("role")
		}
		if err := bumpPrivileges(ctx, tx, `SELECT profile_id FROM members WHERE org_id = ? AND custom_role_id = ?`, orgID, r.ID); err != nil {
			return err
		}
		return db.audit(ctx, tx, orgID, actor, "role.updated", r.Name, permissionsColumn(r.Permissions))
	})
}

// DeleteRole deletes a custom role that no member and no pending invitation
// holds.
func (db *DB) DeleteRole(ctx context.Context, actor switchboard.Actor, orgID, id int64) error {
	return db.tx(ctx, func(tx *Tx) error {
		if err := tx.lockOrganisation(ctx, orgID); err != nil {
			return err
		}
		u, err := scanRoleUsage(tx.QueryRowContext(ctx, roleUsageQuery, id, orgID), orgID, id)
		if err != nil {
			return err
		}
		name := u.Name
		if u.Held() {
			return switchboard.Errorf(switchboard.ECONFLICT, "The role %s is still held by %s and %s. Give them another role first.", name,
				switchboard.Plural(u.Members, "member", "members"), switchboard.Plural(u.Invitations, "pending invitation", "pending invitations"))
		}
		// Invitations that were accepted or cancelled keep no role to point at.
		if _, err := tx.ExecContext(ctx, `DELETE FROM invitations WHERE custom_role_id = ? AND org_id = ?`, id, orgID); err != nil {
			return fmt.Errorf("store: delete role %d in organisation %d: %w", id, orgID, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM roles WHERE id = ? AND org_id = ?`, id, orgID); err != nil {
			return fmt.Errorf("store: delete role %d in organisation %d: %w", id, orgID, err)
		}
		return db.audit(ctx, tx, orgID, actor, "role.deleted", name, "")
	})
}
