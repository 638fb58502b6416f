package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"switchboard"
)

// The contacts page: an organisation's phonebook in name order, searched
// by the start of a name or of a number, filtered by group, paged by
// cursor (PRODUCT.md § Contacts and the public pages).
//
// The order is sortKey: the name, then the number, in one string (the
// number is unique in the organisation, so the key is, and it is the
// cursor of the pages). Both indexes of migration 0015 are expressions the
// database keeps by itself, so that every writer of contacts (this file,
// imports, subscription links) is covered however it writes. One string
// rather than the pair (name, number): SQLite walks an index from a row
// value only for plain columns, and a page deep in contacts of one name
// (a list of numbers imported without names) would otherwise read every
// contact of that name before it.
//
// A filtered page is found in one of two ways, whichever is cheap for the
// filter at hand, so that neither a common nor a rare filter reads much
// more than a page:
//
//   - the gather reads the matches only, from the index ranges that hold
//     them (the name's start in contacts_by_name, read in list order; the
//     last name's in contacts_by_last_name; a number's in
//     contacts_by_phone; a group's rows in group_contacts), and keeps the
//     first of them in list order: cheap when matches are rare;
//   - the walk reads the list in its order from the cursor, contactWalk
//     entries of contacts_by_name at most, testing each: cheap when
//     matches are common ("ka" starts one name in ten, and a page is
//     found in 500 entries).
//
// A capped count of the ranges the gather would sort (contactGatherMax)
// says which to try: rare filters gather at once; common ones walk, and
// gather only if the walk found less than a page (matches common overall
// but rare after this cursor). A filter whose matches are about as dense
// as a page in contactWalk entries is the dearest, about contactWalk
// entries either way (BenchmarkListContacts).
//
// Names compare as both engines' lower() folds them: ASCII letters only
// ("mari" finds "Mari", "ülle" does not find "Ülle"; "Ülle" does).

// sortKey is the list's sort key, written exactly as in the indexes of
// migration 0015 so that both engines' planners use them: "mari tamm
// +37255566677".
const sortKey = `lower(first_name || ' ' || last_name || ' ' || phone)`

// contactWalk is how many entries of the list the walk reads before the
// gather takes over.
var contactWalk = 10000

// contactGatherMax is how many entries the gather may sort before the
// walk is tried first.
var contactGatherMax = 5000

// ContactPageMax is the largest page ListContacts returns.
const ContactPageMax = 100

// ContactFilter narrows the contacts page. Every field set must match; the
// zero filter lists everything.
type ContactFilter struct {
	// Name matches the contacts whose name ("Mari Tamm") or last name
	// starts with it, whatever the case of ASCII letters.
	Name string
	// Phones are starts of numbers in E.164 form ("+3725556"); a contact
	// matches when its number starts with any of them.
	Phones []string
	// GroupID matches the contacts in that group of the organisation.
	GroupID int64
}

func (f ContactFilter) empty() bool { return f.Name == "" && len(f.Phones) == 0 && f.GroupID == 0 }

// MaxContactCursor is the longest cursor ListContacts takes: the longest
// key a contact can have.
const MaxContactCursor = 4*(2*switchboard.MaxContactName+2) + 16

// ContactKey is the contact's place in the list's order (sortKey), which
// the page after it is asked by: its name and number, ASCII letters in
// lower case, as the database computes it.
func ContactKey(c *switchboard.Contact) string {
	return asciiLower(c.FirstName + " " + c.LastName + " " + c.Phone)
}

// asciiLower folds ASCII letters only, as lower() does on both engines.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// prefixEnd is the end of the range of strings starting with p: every such
// string is at least p and less than p followed by the last code point.
func prefixEnd(p string) string { return p + "\U0010FFFF" }

// contactCond is the filter's condition on a contact whose columns are
// named k (sortKey), l (lower(last_name)), phone and id, with its
// arguments; "" when the filter is empty.
func contactCond(f ContactFilter, k, l, phone, id string) (string, []any) {
	var conds []string
	var args []any
	if f.Name != "" {
		q := asciiLower(f.Name)
		conds = append(conds, `((`+k+` >= ? AND `+k+` < ?) OR (`+l+` >= ? AND `+l+` < ?))`)
		args = append(args, q, prefixEnd(q), q, prefixEnd(q))
	}
	if len(f.Phones) > 0 {
		var or []string
		for _, p := range f.Phones {
			or = append(or, `(`+phone+` >= ? AND `+phone+` < ?)`)
			args = append(args, p, prefixEnd(p))
		}
		conds = append(conds, `(`+strings.Join(or, ` OR `)+`)`)
	}
	if f.GroupID != 0 {
		conds = append(conds, `EXISTS (SELECT 1 FROM group_contacts gc WHERE gc.group_id = ? AND gc.contact_id = `+id+`)`)
		args = append(args, f.GroupID)
	}
	return strings.Join(conds, ` AND `), args
}

// ListContacts returns up to limit (at most ContactPageMax) contacts of
// the organisation under the filter, in name order, after the contact
// whose ContactKey is after ("" for the first page), each with its groups
// and whether it opted out; and the key to pass as after for the next
// page, "" on the last. A group of another organisation is ENOTFOUND.
func (db *DB) ListContacts(ctx context.Context, orgID int64, f ContactFilter, after string, limit int) ([]switchboard.Contact, string, error) {
	limit = min(max(limit, 1), ContactPageMax)
	if f.GroupID != 0 {
		if _, err := db.FindGroup(ctx, orgID, f.GroupID); err != nil {
			return nil, "", err
		}
	}
	keys, err := db.contactKeys(ctx, orgID, f, after, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("store: list contacts of organisation %d: %w", orgID, err)
	}
	next := ""
	if len(keys) > limit {
		keys = keys[:limit]
		next = keys[limit-1].key
	}
	list, err := db.contactsByID(ctx, orgID, keys)
	if err != nil {
		return nil, "", err
	}
	return list, next, nil
}

// contactKeys returns the keys of the first n contacts under f after the
// cursor, in list order.
func (db *DB) contactKeys(ctx context.Context, orgID int64, f ContactFilter, after string, n int) ([]listKey, error) {
	if f.empty() {
		return db.readKeys(ctx, `SELECT `+sortKey+`, id FROM contacts`+db.indexedBy("contacts_by_name")+`
			WHERE org_id = ? AND `+sortKey+` > ? ORDER BY `+sortKey+` LIMIT ?`, orgID, after, n)
	}
	many, err := db.manyMatches(ctx, orgID, f)
	if err != nil {
		return nil, err
	}
	if many {
		keys, err := db.walkContacts(ctx, orgID, f, after, n)
		if err != nil || len(keys) == n {
			return keys, err
		}
	}
	return db.gatherContacts(ctx, orgID, f, after, n)
}

// manyMatches reports whether the ranges the gather would sort hold
// contactGatherMax entries or more, counting no further: the walk is
// tried first then. (The range of names starting with the search is read
// in list order, a page at most, and needs no count.)
func (db *DB) manyMatches(ctx context.Context, orgID int64, f ContactFilter) (bool, error) {
	total := 0
	count := func(from, cond string, args ...any) error {
		var k int
		err := db.queryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM `+from+` WHERE `+cond+` LIMIT ?) r`, append(args, contactGatherMax)...).Scan(&k)
		total += k
		return err
	}
	switch {
	case f.Name != "":
		q := asciiLower(f.Name)
		if err := count(`contacts c`+db.indexedBy("contacts_by_last_name"), `c.org_id = ? AND lower(last_name) >= ? AND lower(last_name) < ?`, orgID, q, prefixEnd(q)); err != nil {
			return false, err
		}
	case len(f.Phones) > 0:
		for _, p := range f.Phones {
			if err := count(`contacts c`+db.indexedBy("contacts_by_phone"), `c.org_id = ? AND phone >= ? AND phone < ?`, orgID, p, prefixEnd(p)); err != nil {
				return false, err
			}
		}
	default:
		if err := count(`group_contacts g`, `g.group_id = ?`, f.GroupID); err != nil {
			return false, err
		}
	}
	return total >= contactGatherMax, nil
}

// walkContacts reads up to contactWalk entries of the list after the
// cursor and returns the first n matching f. Fewer than n means the
// gather must answer (or the list ended; the gather finds the same then).
// The entries come from contacts_by_name alone, which holds the last name
// and number for this: the walk reads no contact.
func (db *DB) walkContacts(ctx context.Context, orgID int64, f ContactFilter, after string, n int) ([]listKey, error) {
	cond, condArgs := contactCond(f, "w.k", "w.l", "w.phone", "w.id")
	args := append([]any{orgID, after, contactWalk}, condArgs...)
	// No ORDER BY outside: both engines read the subquery in its order
	// and stop at the nth match, where sorting would test all its
	// entries first (a group's, one lookup each: 41 ms a page).
	keys, err := db.readKeys(ctx, `SELECT w.k, w.id FROM (
		SELECT id, `+sortKey+` AS k, lower(last_name) AS l, phone FROM contacts`+db.indexedBy("contacts_by_name")+`
		WHERE org_id = ? AND `+sortKey+` > ? ORDER BY `+sortKey+` LIMIT ?) w
		WHERE `+cond+` LIMIT ?`, append(args, n)...)
	sortKeys(keys)
	return keys, err
}

// indexedBy names the index a query must walk, on SQLite: without
// statistics, it walks the index that gives its ORDER BY and filters, even
// when a range of another holds the few rows it wants. PostgreSQL plans by
// its statistics.
func (db *DB) indexedBy(index string) string {
	if db.pg {
		return ""
	}
	return ` INDEXED BY ` + index
}

// gatherContacts reads the matches of f after the cursor from the index
// ranges that hold them, and returns the first n in list order.
func (db *DB) gatherContacts(ctx context.Context, orgID int64, f ContactFilter, after string, n int) ([]listKey, error) {
	cond, condArgs := contactCond(f, sortKey, "lower(last_name)", "phone", "c.id")
	var keys []listKey
	// Only the range of names is read in list order; the others are
	// sorted, and their ORDER BY is written so that no index can give it
	// (sortKey || ''), lest PostgreSQL's generic plan walk the whole list
	// in order to spare a sort of a few rows.
	order := sortKey + ` || ''`
	read := func(from, rangeCond string, rangeArgs ...any) error {
		args := append([]any{orgID}, rangeArgs...)
		args = append(args, after)
		args = append(args, condArgs...)
		args = append(args, n)
		part, err := db.readKeys(ctx, `SELECT `+sortKey+`, c.id FROM `+from+`
			WHERE c.org_id = ? AND `+rangeCond+` AND `+sortKey+` > ? AND `+cond+`
			ORDER BY `+order+` LIMIT ?`, args...)
		keys = append(keys, part...)
		return err
	}
	switch {
	case f.Name != "":
		// Those whose name starts with it come in list order from one
		// range; those whose last name does are spread over the list.
		q := asciiLower(f.Name)
		order = sortKey
		if err := read(`contacts c`+db.indexedBy("contacts_by_name"), sortKey+` >= ? AND `+sortKey+` < ?`, q, prefixEnd(q)); err != nil {
			return nil, err
		}
		order = sortKey + ` || ''`
		if err := read(`contacts c`+db.indexedBy("contacts_by_last_name"), `lower(last_name) >= ? AND lower(last_name) < ?`, q, prefixEnd(q)); err != nil {
			return nil, err
		}
	case len(f.Phones) > 0:
		for _, p := range f.Phones {
			if err := read(`contacts c`+db.indexedBy("contacts_by_phone"), `phone >= ? AND phone < ?`, p, prefixEnd(p)); err != nil {
				return nil, err
			}
		}
	default:
		// The group's rows, each contact looked up by its id: written
		// as a subquery per row, so that neither engine can plan
		// anything else. Left to choose, SQLite walked the whole list
		// in order looking each contact up in the group, and
		// PostgreSQL's generic plan (which cannot know the group's size)
		// hashed the whole phonebook: 470 ms for a group of 100.
		part, err := db.readKeys(ctx, `SELECT m.k, m.id FROM (
			SELECT (SELECT `+sortKey+` FROM contacts c WHERE c.id = g.contact_id AND c.org_id = ?) AS k, g.contact_id AS id
			FROM group_contacts g WHERE g.group_id = ?) m
			WHERE m.k > ? ORDER BY m.k LIMIT ?`, orgID, f.GroupID, after, n)
		if err != nil {
			return nil, err
		}
		keys = append(keys, part...)
	}
	sortKeys(keys)
	keys = slices.CompactFunc(keys, func(a, b listKey) bool { return a.key == b.key })
	return keys[:min(n, len(keys))], nil
}

// listKey is a contact's place in the list, and its id.
type listKey struct {
	key string
	id  int64
}

func sortKeys(keys []listKey) {
	slices.SortFunc(keys, func(a, b listKey) int { return strings.Compare(a.key, b.key) })
}

// readKeys runs a query of sort keys and ids.
func (db *DB) readKeys(ctx context.Context, q string, args ...any) ([]listKey, error) {
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []listKey
	for rows.Next() {
		var k listKey
		if err := rows.Scan(&k.key, &k.id); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// contactColumns are a contact's columns as scanContact reads them, with
// whether its number opted out (the opt_outs row every send reads).
const contactColumns = `c.id, c.phone, c.first_name, c.last_name, c.email, c.company, c.created_at, c.updated_at,
	CASE WHEN EXISTS (SELECT 1 FROM opt_outs o WHERE o.org_id = c.org_id AND o.phone = c.phone) THEN 1 ELSE 0 END`

// scanContact reads one contact of contactColumns.
func scanContact(rows interface{ Scan(...any) error }, orgID int64, c *switchboard.Contact) error {
	var created, updated int64
	var out int
	if err := rows.Scan(&c.ID, &c.Phone, &c.FirstName, &c.LastName, &c.Email, &c.Company, &created, &updated, &out); err != nil {
		return err
	}
	c.OrgID, c.OptedOut, c.CreatedAt, c.UpdatedAt = orgID, out == 1, fromMillis(created), fromMillis(updated)
	return nil
}

// inList is "?, ?, …" of n placeholders.
func inList(n int) string { return strings.Repeat("?, ", n-1) + "?" }

// contactsByID reads the organisation's contacts of the keys, in their
// order, with their groups. Every query has ContactPageMax placeholders
// (padded with a repeat), so that one prepared statement serves every page.
func (db *DB) contactsByID(ctx context.Context, orgID int64, keys []listKey) ([]switchboard.Contact, error) {
	list := make([]switchboard.Contact, 0, len(keys))
	if len(keys) == 0 {
		return list, nil
	}
	args := []any{orgID}
	for i := range ContactPageMax {
		args = append(args, keys[min(i, len(keys)-1)].id)
	}
	rows, err := db.query(ctx, `SELECT `+contactColumns+` FROM contacts c WHERE c.org_id = ? AND c.id IN (`+inList(ContactPageMax)+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: read contacts of organisation %d: %w", orgID, err)
	}
	byID := make(map[int64]switchboard.Contact, len(keys))
	for rows.Next() {
		var c switchboard.Contact
		if err := scanContact(rows, orgID, &c); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: read contacts of organisation %d: %w", orgID, err)
		}
		byID[c.ID] = c
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read contacts of organisation %d: %w", orgID, err)
	}
	for _, k := range keys {
		// A contact deleted between the two reads is left out.
		if c, ok := byID[k.id]; ok {
			list = append(list, c)
		}
	}
	return list, db.fillGroups(ctx, orgID, list)
}

// fillGroups reads the groups of up to ContactPageMax contacts of the
// organisation, each contact's in name order: their rows of
// group_contacts_by_contact, then the organisation's group names (tens of
// them). Two plain queries rather than a join, whose generic plan
// PostgreSQL could not be trusted to start from the contacts (115 ms a
// page once it did not).
func (db *DB) fillGroups(ctx context.Context, orgID int64, list []switchboard.Contact) error {
	if len(list) == 0 {
		return nil
	}
	args := make([]any, 0, ContactPageMax)
	at := make(map[int64]int, len(list))
	for i := range ContactPageMax {
		c := list[min(i, len(list)-1)]
		args = append(args, c.ID)
		at[c.ID] = min(i, len(list)-1)
	}
	rows, err := db.query(ctx, `SELECT contact_id, group_id FROM group_contacts WHERE contact_id IN (`+inList(ContactPageMax)+`)`, args...)
	if err != nil {
		return fmt.Errorf("store: read the groups of contacts of organisation %d: %w", orgID, err)
	}
	type member struct{ contact, group int64 }
	var members []member
	for rows.Next() {
		var m member
		if err := rows.Scan(&m.contact, &m.group); err != nil {
			rows.Close()
			return fmt.Errorf("store: read the groups of contacts of organisation %d: %w", orgID, err)
		}
		members = append(members, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(members) == 0 {
		return err
	}
	names, err := db.groupNames(ctx, orgID)
	if err != nil {
		return err
	}
	for _, m := range members {
		// The contacts are the organisation's, and so are their groups.
		if name, ok := names[m.group]; ok {
			c := &list[at[m.contact]]
			c.Groups = append(c.Groups, switchboard.Group{ID: m.group, OrgID: orgID, Name: name})
		}
	}
	for i := range list {
		slices.SortFunc(list[i].Groups, func(a, b switchboard.Group) int {
			return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
		})
	}
	return nil
}

// groupNames returns the names of the organisation's groups by id.
func (db *DB) groupNames(ctx context.Context, orgID int64) (map[int64]string, error) {
	rows, err := db.query(ctx, `SELECT id, name FROM contact_groups WHERE org_id = ?`, orgID)
	if err != nil {
		return nil, fmt.Errorf("store: read the groups of organisation %d: %w", orgID, err)
	}
	defer rows.Close()
	names := map[int64]string{}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("store: read the groups of organisation %d: %w", orgID, err)
		}
		names[id] = name
	}
	return names, rows.Err()
}

// FindContact returns the organisation's contact id with its groups and
// whether it opted out; another organisation's contact is ENOTFOUND, as a
// missing one.
func (db *DB) FindContact(ctx context.Context, orgID, id int64) (*switchboard.Contact, error) {
	return db.findContact(ctx, orgID, `c.id = ?`, id)
}

// ContactByPhone returns the organisation's contact with the number
// (E.164), ENOTFOUND when it has none.
func (db *DB) ContactByPhone(ctx context.Context, orgID int64, phone string) (*switchboard.Contact, error) {
	return db.findContact(ctx, orgID, `c.phone = ?`, phone)
}

func (db *DB) findContact(ctx context.Context, orgID int64, cond string, arg any) (*switchboard.Contact, error) {
	var c switchboard.Contact
	err := scanContact(db.queryRow(ctx, `SELECT `+contactColumns+` FROM contacts c WHERE `+cond+` AND c.org_id = ?`, arg, orgID), orgID, &c)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("contact")
	} else if err != nil {
		return nil, fmt.Errorf("store: read a contact of organisation %d: %w", orgID, err)
	}
	list := []switchboard.Contact{c}
	if err := db.fillGroups(ctx, orgID, list); err != nil {
		return nil, err
	}
	return &list[0], nil
}

// phoneTaken is the error of a number the organisation has a contact with
// already: beside Phone number (the page links to that contact).
func phoneTaken(phone string) error {
	return &switchboard.Error{Code: switchboard.ECONFLICT, Message: "Please correct the fields marked below.",
		Fields: switchboard.FieldErrors{"phone": "There is already a contact with the number " + phone + "."}}
}

// contactLabel names a contact in the audit log: "Mari Tamm (+372…)", or
// the number alone.
func contactLabel(c *switchboard.Contact) string {
	if name := c.Name(); name != "" {
		return name + " (" + c.Phone + ")"
	}
	return c.Phone
}

// optedOut reports whether the organisation has an opt-out of phone.
func optedOut(ctx context.Context, tx *Tx, orgID int64, phone string) (bool, error) {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM opt_outs WHERE org_id = ? AND phone = ?`, orgID, phone).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("store: read the opt-out of %s in organisation %d: %w", phone, orgID, err)
	}
	return true, nil
}

// setGroups makes the groups of the contact exactly groupIDs, which
// checkGroups has found to be the organisation's.
func setGroups(ctx context.Context, tx *Tx, contactID int64, groupIDs []int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM group_contacts WHERE contact_id = ?`, contactID); err != nil {
		return fmt.Errorf("store: clear the groups of contact %d: %w", contactID, err)
	}
	for _, id := range groupIDs {
		if err := addToGroup(ctx, tx, id, contactID); err != nil {
			return err
		}
	}
	return nil
}

// applyOptOut makes the opt-out of the contact's number what the member
// chose, and audits a change. On a new contact an unticked box leaves an
// opt-out that is there (a STOP from before the contact was added stays
// until a member deliberately removes it on the contact's page); c.OptedOut
// ends as the record stands.
func (db *DB) applyOptOut(ctx context.Context, tx *Tx, actor switchboard.Actor, c *switchboard.Contact, isNew bool) error {
	was, err := optedOut(ctx, tx, c.OrgID, c.Phone)
	if err != nil {
		return err
	}
	if was == c.OptedOut || (isNew && was) {
		c.OptedOut = was
		return nil
	}
	if err := setOptOut(ctx, tx, c.OrgID, c.Phone, c.OptedOut, db.Now()); err != nil {
		return err
	}
	detail := "Opted in again: messages reach this number."
	if c.OptedOut {
		detail = "Opted out: no message is sent to this number."
	}
	return db.audit(ctx, tx, c.OrgID, actor, AuditContactOptOutChange, contactLabel(c), detail)
}

// CreateContact adds c (Validate first) to its organisation, in the
// groups, and records its opt-out when c.OptedOut, in one transaction. A
// number the organisation has already is ECONFLICT beside Phone number; a
// group of another organisation is ENOTFOUND; either way nothing is
// written.
func (db *DB) CreateContact(ctx context.Context, actor switchboard.Actor, c *switchboard.Contact, groupIDs []int64) error {
	now := db.Now()
	return db.tx(ctx, func(tx *Tx) error {
		if err := tx.lockOrganisation(ctx, c.OrgID); err != nil {
			return err
		}
		if err := checkGroups(ctx, tx, c.OrgID, groupIDs); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO contacts (org_id, phone, first_name, last_name, email, company, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			c.OrgID, c.Phone, c.FirstName, c.LastName, c.Email, c.Company, millis(now), millis(now)).Scan(&c.ID)
		if isUnique(err) {
			return phoneTaken(c.Phone)
		} else if err != nil {
			return fmt.Errorf("store: add a contact to organisation %d: %w", c.OrgID, err)
		}
		c.CreatedAt, c.UpdatedAt = fromMillis(millis(now)), fromMillis(millis(now))
		if err := setGroups(ctx, tx, c.ID, groupIDs); err != nil {
			return err
		}
		return db.applyOptOut(ctx, tx, actor, c, true)
	})
}

// UpdateContact saves the contact's fields (Validate first), replaces its
// groups with groupIDs and makes its number's opt-out c.OptedOut, in one
// transaction. Another organisation's contact or group is ENOTFOUND, a
// number another contact has is ECONFLICT; either way nothing is written.
// An opt-out belongs to a number: changing the number leaves the old
// number's as it was.
func (db *DB) UpdateContact(ctx context.Context, actor switchboard.Actor, c *switchboard.Contact, groupIDs []int64) error {
	now := db.Now()
	return db.tx(ctx, func(tx *Tx) error {
		if err := tx.lockOrganisation(ctx, c.OrgID); err != nil {
			return err
		}
		if err := checkGroups(ctx, tx, c.OrgID, groupIDs); err != nil {
			return err
		}
		var created int64
		err := tx.QueryRowContext(ctx, `UPDATE contacts SET phone = ?, first_name = ?, last_name = ?, email = ?, company = ?, updated_at = ?
			WHERE id = ? AND org_id = ? RETURNING created_at`,
			c.Phone, c.FirstName, c.LastName, c.Email, c.Company, millis(now), c.ID, c.OrgID).Scan(&created)
		switch {
		case isUnique(err):
			return phoneTaken(c.Phone)
		case errors.Is(err, sql.ErrNoRows):
			return notFound("contact")
		case err != nil:
			return fmt.Errorf("store: update contact %d: %w", c.ID, err)
		}
		c.CreatedAt, c.UpdatedAt = fromMillis(created), fromMillis(millis(now))
		if err := setGroups(ctx, tx, c.ID, groupIDs); err != nil {
			return err
		}
		return db.applyOptOut(ctx, tx, actor, c, false)
	})
}

// DeleteContact removes the organisation's contact id from the phonebook
// and its groups. Its number's opt-out stays: someone who said STOP is
// never sent to, in the phonebook or not.
func (db *DB) DeleteContact(ctx context.Context, actor switchboard.Actor, orgID, id int64) error {
	return db.tx(ctx, func(tx *Tx) error {
		c := switchboard.Contact{ID: id, OrgID: orgID}
		err := tx.QueryRowContext(ctx, `DELETE FROM contacts WHERE id = ? AND org_id = ? RETURNING phone, first_name, last_name`, id, orgID).
			Scan(&c.Phone, &c.FirstName, &c.LastName)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("contact")
		} else if err != nil {
			return fmt.Errorf("store: delete contact %d: %w", id, err)
		}
		return db.audit(ctx, tx, orgID, actor, AuditContactDeleted, contactLabel(&c), "")
	})
}

// RenameGroup gives the organisation's group id the name (Validate
// first). A name another group has, whatever its case, is ECONFLICT
// beside Name; another organisation's group is ENOTFOUND.
func (db *DB) RenameGroup(ctx context.Context, actor switchboard.Actor, orgID, id int64, name string) error {
	return db.tx(ctx, func(tx *Tx) error {
		var old string
		err := tx.QueryRowContext(ctx, `SELECT name FROM contact_groups WHERE id = ? AND org_id = ?`, id, orgID).Scan(&old)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("group")
		} else if err != nil {
			return fmt.Errorf("store: read group %d: %w", id, err)
		}
		if old == name {
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE contact_groups SET name = ? WHERE id = ? AND org_id = ?`, name, id, orgID)
		if isUnique(err) {
			return groupNameTaken(name)
		} else if err != nil {
			return fmt.Errorf("store: rename group %d: %w", id, err)
		}
		return db.audit(ctx, tx, orgID, actor, AuditGroupRenamed, name, "Was "+old+".")
	})
}

// DeleteGroup deletes the organisation's group id; its contacts stay in
// the phonebook. Another organisation's group is ENOTFOUND.
func (db *DB) DeleteGroup(ctx context.Context, actor switchboard.Actor, orgID, id int64) error {
	return db.tx(ctx, func(tx *Tx) error {
		var name string
		var n int
		err := tx.QueryRowContext(ctx, `SELECT name, (SELECT COUNT(*) FROM group_contacts WHERE group_id = g.id) FROM contact_groups g WHERE id = ? AND org_id = ?`,
			id, orgID).Scan(&name, &n)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("group")
		} else if err != nil {
			return fmt.Errorf("store: read group %d: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM contact_groups WHERE id = ? AND org_id = ?`, id, orgID); err != nil {
			return fmt.Errorf("store: delete group %d: %w", id, err)
		}
		return db.audit(ctx, tx, orgID, actor, AuditGroupDeleted, name, switchboard.Plural(n, "contact", "contacts")+" stayed in the phonebook.")
	})
}

// ContactsChunk is how many contacts StreamContacts reads per query: a
// chunk is read whole and its rows closed before it is handed on, so that
// a slow download holds no connection or snapshot for longer than a chunk
// takes to read, and memory holds a chunk, never the phonebook.
var ContactsChunk = 5000

// StreamContacts calls fn with every contact of the organisation, or of
// its group groupID (0: all), in the order they were added, each with its
// groups and whether it opted out, for the CSV export. fn must not keep
// the contact: its memory is used again. An error from fn stops the
// stream and is returned. A group of another organisation is ENOTFOUND.
func (db *DB) StreamContacts(ctx context.Context, orgID, groupID int64, fn func(*switchboard.Contact) error) error {
	groups, err := db.ListGroups(ctx, orgID)
	if err != nil {
		return err
	}
	names := make(map[int64]string, len(groups))
	for _, g := range groups {
		names[g.ID] = g.Name
	}
	if _, ok := names[groupID]; groupID != 0 && !ok {
		return notFound("group")
	}
	q := `SELECT ` + contactColumns + ` FROM contacts c WHERE c.org_id = ? AND c.id > ? ORDER BY c.id LIMIT ?`
	if groupID != 0 {
		q = `SELECT ` + contactColumns + ` FROM group_contacts g JOIN contacts c ON c.id = g.contact_id
			WHERE g.group_id = ? AND c.org_id = ? AND g.contact_id > ? ORDER BY g.contact_id LIMIT ?`
	}
	chunk := make([]switchboard.Contact, 0, ContactsChunk)
	var after int64
	for {
		args := []any{orgID, after, ContactsChunk}
		if groupID != 0 {
			args = append([]any{groupID}, args...)
		}
		chunk, err = db.readChunk(ctx, q, orgID, chunk[:0], args...)
		if err != nil {
			return err
		}
		if len(chunk) == 0 {
			return nil
		}
		if err := db.chunkGroups(ctx, orgID, chunk, names); err != nil {
			return err
		}
		for i := range chunk {
			if err := fn(&chunk[i]); err != nil {
				return err
			}
		}
		if len(chunk) < ContactsChunk {
			return nil
		}
		after = chunk[len(chunk)-1].ID
	}
}

// readChunk reads the contacts of a chunk query into chunk.
func (db *DB) readChunk(ctx context.Context, q string, orgID int64, chunk []switchboard.Contact, args ...any) ([]switchboard.Contact, error) {
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: export contacts of organisation %d: %w", orgID, err)
	}
	defer rows.Close()
	for rows.Next() {
		chunk = append(chunk, switchboard.Contact{})
		c := &chunk[len(chunk)-1]
		if err := scanContact(rows, orgID, c); err != nil {
			return nil, fmt.Errorf("store: export contacts of organisation %d: %w", orgID, err)
		}
	}
	return chunk, rows.Err()
}

// chunkGroups fills the groups of a chunk of contacts in id order from one
// range of group_contacts_by_contact, naming them from names.
func (db *DB) chunkGroups(ctx context.Context, orgID int64, chunk []switchboard.Contact, names map[int64]string) error {
	at := make(map[int64]int, len(chunk))
	for i := range chunk {
		chunk[i].Groups = chunk[i].Groups[:0]
		at[chunk[i].ID] = i
	}
	rows, err := db.query(ctx, `SELECT gc.contact_id, gc.group_id FROM group_contacts gc JOIN contact_groups g ON g.id = gc.group_id
		WHERE gc.contact_id >= ? AND gc.contact_id <= ? AND g.org_id = ? ORDER BY gc.contact_id, lower(g.name)`,
		chunk[0].ID, chunk[len(chunk)-1].ID, orgID)
	if err != nil {
		return fmt.Errorf("store: export contacts of organisation %d: %w", orgID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var contactID, groupID int64
		if err := rows.Scan(&contactID, &groupID); err != nil {
			return fmt.Errorf("store: export contacts of organisation %d: %w", orgID, err)
		}
		if i, ok := at[contactID]; ok {
			chunk[i].Groups = append(chunk[i].Groups, switchboard.Group{ID: groupID, OrgID: orgID, Name: names[groupID]})
		}
	}
	return rows.Err()
}

// ContactsExported records in the audit log that a member downloaded the
// phonebook, or the group's part of it (nil: all of it).
func (db *DB) ContactsExported(ctx context.Context, actor switchboard.Actor, orgID int64, group *switchboard.Group) error {
	target := "All contacts"
	if group != nil {
		target = "Group " + group.Name
	}
	return db.tx(ctx, func(tx *Tx) error {
		return db.audit(ctx, tx, orgID, actor, AuditContactsExported, target, "")
	})
}
