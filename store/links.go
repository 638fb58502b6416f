package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"switchboard"
)

// linkColumns are the columns scanLink reads, in its order; the query
// joins the link's group as g and its organisation as o.
const linkColumns = `l.id, l.org_id, l.name, l.group_id, g.name, l.consent_text, l.token, l.active, l.joins,
	COALESCE(l.created_by, 0), l.created_at, o.name, o.country`

// linkFrom is the FROM of every read of links: the group and the
// organisation come with each.
const linkFrom = ` FROM subscription_links l JOIN contact_groups g ON g.id = l.group_id JOIN organisations o ON o.id = l.org_id`

func scanLink(r interface{ Scan(...any) error }, l *switchboard.SubscriptionLink) error {
	var created int64
	if err := r.Scan(&l.ID, &l.OrgID, &l.Name, &l.GroupID, &l.GroupName, &l.ConsentText, &l.Token, &l.Active, &l.Joins,
		&l.CreatedBy, &created, &l.OrgName, &l.Country); err != nil {
		return err
	}
	l.CreatedAt = fromMillis(created)
	return nil
}

// CreateSubscriptionLink adds the organisation's link l (validated by the
// caller, its Token made by the caller: random and URL-safe) and its audit
// line. A group that is not the organisation's is ENOTFOUND, and nothing
// is written.
func (db *DB) CreateSubscriptionLink(ctx context.Context, actor switchboard.Actor, l *switchboard.SubscriptionLink) error {
	now := db.Now()
	err := db.tx(ctx, func(tx *Tx) error {
		if err := checkGroups(ctx, tx, l.OrgID, []int64{l.GroupID}); err != nil {
			return err
		}
		var createdBy any
		if actor.ProfileID != 0 {
			createdBy = actor.ProfileID
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO subscription_links (org_id, token, name, group_id, consent_text, active, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			l.OrgID, l.Token, l.Name, l.GroupID, l.ConsentText, true, createdBy, millis(now)).Scan(&l.ID)
		if err != nil {
			return fmt.Errorf("store: create subscription link in organisation %d: %w", l.OrgID, err)
		}
		if err := scanLink(tx.QueryRowContext(ctx, `SELECT `+linkColumns+linkFrom+` WHERE l.id = ?`, l.ID), l); err != nil {
			return fmt.Errorf("store: read subscription link %d: %w", l.ID, err)
		}
		return db.audit(ctx, tx, l.OrgID, actor, AuditLinkCreated, l.Name, "group "+l.GroupName)
	})
	return err
}

// ListSubscriptionLinks returns the organisation's links, newest first,
// each with its group's name and its count of joins. Organisations have a
// handful of links, not thousands.
func (db *DB) ListSubscriptionLinks(ctx context.Context, orgID int64) ([]switchboard.SubscriptionLink, error) {
	rows, err := db.query(ctx, `SELECT `+linkColumns+linkFrom+` WHERE l.org_id = ? ORDER BY l.id DESC`, orgID)
	if err != nil {
		return nil, fmt.Errorf("store: list subscription links of organisation %d: %w", orgID, err)
	}
	defer rows.Close()
	var list []switchboard.SubscriptionLink
	for rows.Next() {
		var l switchboard.SubscriptionLink
		if err := scanLink(rows, &l); err != nil {
			return nil, fmt.Errorf("store: list subscription links of organisation %d: %w", orgID, err)
		}
		list = append(list, l)
	}
	return list, rows.Err()
}

// FindSubscriptionLink returns the organisation's link id; another
// organisation's link is ENOTFOUND, exactly as a missing one.
func (db *DB) FindSubscriptionLink(ctx context.Context, orgID, id int64) (*switchboard.SubscriptionLink, error) {
	l := &switchboard.SubscriptionLink{}
	err := scanLink(db.queryRow(ctx, `SELECT `+linkColumns+linkFrom+` WHERE l.id = ? AND l.org_id = ?`, id, orgID), l)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("subscription link")
	} else if err != nil {
		return nil, fmt.Errorf("store: find subscription link %d: %w", id, err)
	}
	return l, nil
}

// FindLinkByToken returns the link of a public page's address, switched
// on or off (the page says which), with its organisation's name and
// country. An unknown token is ENOTFOUND.
func (db *DB) FindLinkByToken(ctx context.Context, token string) (*switchboard.SubscriptionLink, error) {
	l := &switchboard.SubscriptionLink{}
	err := scanLink(db.queryRow(ctx, `SELECT `+linkColumns+linkFrom+` WHERE l.token = ?`, token), l)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, switchboard.Errorf(switchboard.ENOTFOUND, "There is no subscription page at this address. Check the link you were given.")
	} else if err != nil {
		return nil, fmt.Errorf("store: find subscription link by token: %w", err)
	}
	return l, nil
}

// SetSubscriptionLinkActive switches the organisation's link id on or
// off, and writes the audit line when that changed something (switching
// off a link that is off already is no event). Another organisation's link
// is ENOTFOUND. It returns the link as it is now.
func (db *DB) SetSubscriptionLinkActive(ctx context.Context, actor switchboard.Actor, orgID, id int64, active bool) (*switchboard.SubscriptionLink, error) {
	l := &switchboard.SubscriptionLink{}
	err := db.tx(ctx, func(tx *Tx) error {
		// The condition on active makes the change and its audit line
		// happen once, however many switch at the same time.
		res, err := tx.ExecContext(ctx, `UPDATE subscription_links SET active = ? WHERE id = ? AND org_id = ? AND active <> ?`, active, id, orgID, active)
		if err != nil {
			return fmt.Errorf("store: switch subscription link %d: %w", id, err)
		}
		changed, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("store: switch subscription link %d: %w", id, err)
		}
		err = scanLink(tx.QueryRowContext(ctx, `SELECT `+linkColumns+linkFrom+` WHERE l.id = ? AND l.org_id = ?`, id, orgID), l)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("subscription link")
		} else if err != nil {
			return fmt.Errorf("store: read subscription link %d: %w", id, err)
		}
		if changed == 0 {
			return nil
		}
		action := AuditLinkSwitchedOff
		if active {
			action = AuditLinkSwitchedOn
		}
		return db.audit(ctx, tx, orgID, actor, action, l.Name, "")
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// errLinkOff is the answer of a switched-off link's page.
var errLinkOff = switchboard.Errorf(switchboard.EGONE, "This subscription page has been switched off, so you cannot join through it any more. Nothing was saved.")

// JoinThroughLink is a join on a public page: in one transaction it checks
// that the link of token is switched on, adds or updates the contact c
// (by its number, in the link's organisation; c.OrgID is set here) and
// puts it in the link's group, and counts the join. An unknown token is
// ENOTFOUND and a switched-off link EGONE, and nothing is written.
//
// Joins counts the people the link brought into its group: a number that
// is in the group already (it joined before, or was imported) may join
// again (its name is updated), but is not counted twice, so that sending
// the form twice does not inflate the figure. Joining does not undo an
// opt-out: a STOP came from the phone itself, while anyone may type any
// number into a public page; START from the phone opts back in.
//
// It returns the link and whether the contact is new to the phonebook.
func (db *DB) JoinThroughLink(ctx context.Context, token string, c *switchboard.Contact) (*switchboard.SubscriptionLink, bool, error) {
	now := db.Now()
	l := &switchboard.SubscriptionLink{}
	var added bool
	err := db.tx(ctx, func(tx *Tx) error {
		err := scanLink(tx.QueryRowContext(ctx, `SELECT `+linkColumns+linkFrom+` WHERE l.token = ?`, token), l)
		if errors.Is(err, sql.ErrNoRows) {
			return switchboard.Errorf(switchboard.ENOTFOUND, "There is no subscription page at this address. Check the link you were given.")
		} else if err != nil {
			return fmt.Errorf("store: join through subscription link: %w", err)
		}
		if !l.Active {
			return errLinkOff
		}
		c.OrgID = l.OrgID
		if added, err = upsertContact(ctx, tx, c, now); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO group_contacts (group_id, contact_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, l.GroupID, c.ID)
		if err != nil {
			return fmt.Errorf("store: add contact %d to group %d: %w", c.ID, l.GroupID, err)
		}
		joined, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("store: add contact %d to group %d: %w", c.ID, l.GroupID, err)
		}
		// The condition on active is the check that counts: on
		// PostgreSQL a switch-off committed since the read above waits
		// for this update or is waited for, and then this finds it off
		// and the whole join is undone.
		res, err = tx.ExecContext(ctx, `UPDATE subscription_links SET joins = joins + ? WHERE id = ? AND active = ?`, joined, l.ID, true)
		if err != nil {
			return fmt.Errorf("store: count a join of subscription link %d: %w", l.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store: count a join of subscription link %d: %w", l.ID, err)
		} else if n == 0 {
			return errLinkOff
		}
		l.Joins += int(joined)
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return l, added, nil
}
