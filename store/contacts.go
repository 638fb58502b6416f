package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"switchboard"
)

// The audit actions of issue 10, one place for all of them so that the
// audit log's words (views/views.go) cover each.
const (
	AuditContactsImported    = "contacts.imported"
	AuditContactsExported    = "contacts.exported"
	AuditCampaignCreated     = "campaign.created"
	AuditCampaignChanged     = "campaign.changed"
	AuditCampaignCancelled   = "campaign.cancelled"
	AuditCampaignStarted     = "campaign.started"
	AuditCampaignFailed      = "campaign.failed"
	AuditLinkCreated         = "subscription_link.created"
	AuditLinkSwitchedOff     = "subscription_link.switched_off"
	AuditLinkSwitchedOn      = "subscription_link.switched_on"
	AuditProductRequested    = "product.requested"
	AuditProductDecided      = "product.decided"
	AuditGroupCreated        = "group.created"
	AuditGroupRenamed        = "group.renamed"
	AuditGroupDeleted        = "group.deleted"
	AuditContactDeleted      = "contact.deleted"
	AuditContactOptOutChange = "contact.opt_out_changed"
)

// CreateGroup adds a phonebook group. A name the organisation already has
// (whatever its case) is an error beside the Name field.
func (db *DB) CreateGroup(ctx context.Context, actor switchboard.Actor, g *switchboard.Group) error {
	now := db.Now()
	err := db.tx(ctx, func(tx *Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO contact_groups (org_id, name, created_at) VALUES (?, ?, ?) RETURNING id`,
			g.OrgID, g.Name, millis(now)).Scan(&g.ID)
		if isUnique(err) {
			return groupNameTaken(g.Name)
		} else if err != nil {
			return fmt.Errorf("store: create group in organisation %d: %w", g.OrgID, err)
		}
		return db.audit(ctx, tx, g.OrgID, actor, AuditGroupCreated, g.Name, "")
	})
	if err != nil {
		return err
	}
	g.CreatedAt = fromMillis(millis(now))
	return nil
}

// groupNameTaken is the error of a group name the organisation has.
func groupNameTaken(name string) error {
	return &switchboard.Error{Code: switchboard.ECONFLICT, Message: "Please correct the fields marked below.",
		Fields: switchboard.FieldErrors{"name": "There is already a group named " + name + "."}}
}

// FindGroup returns the organisation's group id, with its count of
// contacts; another organisation's group is ENOTFOUND, as a missing one.
func (db *DB) FindGroup(ctx context.Context, orgID, id int64) (*switchboard.Group, error) {
	g := switchboard.Group{ID: id, OrgID: orgID}
	var created int64
	err := db.queryRow(ctx, `SELECT name, created_at, (SELECT COUNT(*) FROM group_contacts WHERE group_id = g.id)
		FROM contact_groups g WHERE id = ? AND org_id = ?`, id, orgID).Scan(&g.Name, &created, &g.Contacts)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("group")
	} else if err != nil {
		return nil, fmt.Errorf("store: read group %d: %w", id, err)
	}
	g.CreatedAt = fromMillis(created)
	return &g, nil
}

// ListGroups returns the organisation's groups by name, each with its
// count of contacts. Organisations have tens of groups, not thousands.
func (db *DB) ListGroups(ctx context.Context, orgID int64) ([]switchboard.Group, error) {
	rows, err := db.query(ctx, `SELECT id, name, created_at, (SELECT COUNT(*) FROM group_contacts WHERE group_id = g.id)
		FROM contact_groups g WHERE org_id = ? ORDER BY lower(name), id`, orgID)
	if err != nil {
		return nil, fmt.Errorf("store: list groups of organisation %d: %w", orgID, err)
	}
	defer rows.Close()
	var list []switchboard.Group
	for rows.Next() {
		g := switchboard.Group{OrgID: orgID}
		var created int64
		if err := rows.Scan(&g.ID, &g.Name, &created, &g.Contacts); err != nil {
			return nil, fmt.Errorf("store: list groups of organisation %d: %w", orgID, err)
		}
		g.CreatedAt = fromMillis(created)
		list = append(list, g)
	}
	return list, rows.Err()
}

// checkGroups returns ENOTFOUND unless every id is a group of the
// organisation: a form may carry any number, and another organisation's
// group must never be written to or read from.
func checkGroups(ctx context.Context, tx *Tx, orgID int64, ids []int64) error {
	for _, id := range ids {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM contact_groups WHERE id = ? AND org_id = ?`, id, orgID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("group")
		} else if err != nil {
			return fmt.Errorf("store: read group %d: %w", id, err)
		}
	}
	return nil
}

// upsertContact adds c to its organisation's phonebook, or, when the
// number is there already, updates that contact's fields that c has
// (an empty field keeps what was there: a join through a subscription link
// with only a first name does not erase the last name an import gave).
// It sets c.ID and reports whether the contact is new.
func upsertContact(ctx context.Context, tx *Tx, c *switchboard.Contact, now time.Time) (added bool, err error) {
	err = tx.QueryRowContext(ctx, `SELECT id FROM contacts WHERE org_id = ? AND phone = ?`, c.OrgID, c.Phone).Scan(&c.ID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		err = tx.QueryRowContext(ctx, `INSERT INTO contacts (org_id, phone, first_name, last_name, email, company, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (org_id, phone) DO UPDATE SET updated_at = excluded.updated_at
			RETURNING id`,
			c.OrgID, c.Phone, c.FirstName, c.LastName, c.Email, c.Company, millis(now), millis(now)).Scan(&c.ID)
		if err != nil {
			return false, fmt.Errorf("store: add contact to organisation %d: %w", c.OrgID, err)
		}
		return true, nil
	case err != nil:
		return false, fmt.Errorf("store: find contact in organisation %d: %w", c.OrgID, err)
	}
	_, err = tx.ExecContext(ctx, `UPDATE contacts SET
		first_name = CASE WHEN ? <> '' THEN ? ELSE first_name END,
		last_name = CASE WHEN ? <> '' THEN ? ELSE last_name END,
		email = CASE WHEN ? <> '' THEN ? ELSE email END,
		company = CASE WHEN ? <> '' THEN ? ELSE company END,
		updated_at = ?
		WHERE id = ?`,
		c.FirstName, c.FirstName, c.LastName, c.LastName, c.Email, c.Email, c.Company, c.Company, millis(now), c.ID)
	if err != nil {
		return false, fmt.Errorf("store: update contact %d: %w", c.ID, err)
	}
	return false, nil
}

// addToGroup puts the contacts in the group; those in it already stay.
// The group must be the organisation's (checkGroups) and the contacts
// too: the caller read or wrote them with the organisation's id.
func addToGroup(ctx context.Context, tx *Tx, groupID int64, contactIDs ...int64) error {
	for _, id := range contactIDs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO group_contacts (group_id, contact_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, groupID, id); err != nil {
			return fmt.Errorf("store: add contact %d to group %d: %w", id, groupID, err)
		}
	}
	return nil
}

// setOptOut records whether phone opted out of the organisation's
// messages: the row in opt_outs that every send reads.
func setOptOut(ctx context.Context, tx *Tx, orgID int64, phone string, out bool, now time.Time) error {
	var err error
	if out {
		_, err = tx.ExecContext(ctx, `INSERT INTO opt_outs (org_id, phone, created_at) VALUES (?, ?, ?) ON CONFLICT (org_id, phone) DO NOTHING`,
			orgID, phone, millis(now))
	} else {
		_, err = tx.ExecContext(ctx, `DELETE FROM opt_outs WHERE org_id = ? AND phone = ?`, orgID, phone)
	}
	if err != nil {
		return fmt.Errorf("store: record the opt-out of %s in organisation %d: %w", phone, orgID, err)
	}
	return nil
}

// groupPhones returns the numbers of the contacts in any of the groups
// (the organisation's: checkGroups first), each once, in id order, leaving
// out those who opted out: whom a send or campaign to the groups goes to.
func groupPhones(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, orgID int64, groupIDs []int64) ([]string, error) {
	if len(groupIDs) == 0 {
		return nil, nil
	}
	args := []any{orgID}
	for _, id := range groupIDs {
		args = append(args, id)
	}
	args = append(args, orgID)
	phones, err := column[string](q.QueryContext(ctx, `SELECT c.phone FROM contacts c
		WHERE c.org_id = ? AND EXISTS (SELECT 1 FROM group_contacts gc WHERE gc.contact_id = c.id AND gc.group_id IN (?`+strings.Repeat(", ?", len(groupIDs)-1)+`))
		AND NOT EXISTS (SELECT 1 FROM opt_outs o WHERE o.org_id = ? AND o.phone = c.phone)
		ORDER BY c.id`, args...))
	if err != nil {
		return nil, fmt.Errorf("store: read the numbers of groups of organisation %d: %w", orgID, err)
	}
	return phones, nil
}

// GroupPhones returns whom a send to the organisation's groups goes to:
// the numbers of their contacts, each once, without those who opted out.
// A group of another organisation is ENOTFOUND.
func (db *DB) GroupPhones(ctx context.Context, orgID int64, groupIDs []int64) ([]string, error) {
	for _, id := range groupIDs {
		var one int
		err := db.queryRow(ctx, `SELECT 1 FROM contact_groups WHERE id = ? AND org_id = ?`, id, orgID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, notFound("group")
		} else if err != nil {
			return nil, fmt.Errorf("store: read group %d: %w", id, err)
		}
	}
	return groupPhones(ctx, readPool{db}, orgID, groupIDs)
}

// readPool lets a helper written for a transaction read through the read
// pool's prepared statements instead.
type readPool struct{ db *DB }

func (r readPool) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return r.db.query(ctx, q, args...)
}

// JoinGroup adds or updates the contact (by its number) and puts it in the
// group: a subscription link's join, and the contacts page's add with a
// group. It reports whether the contact is new.
func (db *DB) JoinGroup(ctx context.Context, c *switchboard.Contact, groupID int64) (added bool, err error) {
	now := db.Now()
	err = db.tx(ctx, func(tx *Tx) error {
		if err := checkGroups(ctx, tx, c.OrgID, []int64{groupID}); err != nil {
			return err
		}
		if added, err = upsertContact(ctx, tx, c, now); err != nil {
			return err
		}
		return addToGroup(ctx, tx, groupID, c.ID)
	})
	return added, err
}
