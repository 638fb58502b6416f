-- PostgreSQL's form of store/migrations/sqlite/0015_contact_search.sql:
-- the contacts page's order and search (store/contactlist.go).
--
-- Names and numbers compare byte by byte (COLLATE "C"), as SQLite's do:
-- both engines list contacts in one order, a search by the start of a
-- name or number is a plain range of an index (a locale's collation
-- ignores the + of a number and the space between two names), and lower()
-- folds ASCII letters only, as SQLite's does.
ALTER TABLE contacts
    ALTER COLUMN phone TYPE TEXT COLLATE "C",
    ALTER COLUMN first_name TYPE TEXT COLLATE "C",
    ALTER COLUMN last_name TYPE TEXT COLLATE "C";

-- contacts_by_name includes the columns of its expressions, so that a
-- walk of the list reads the index alone (an index-only scan), as SQLite's
-- does with its indexed expressions.
CREATE INDEX contacts_by_name ON contacts (org_id, (lower(first_name || ' ' || last_name || ' ' || phone)), (lower(last_name))) INCLUDE (id, first_name, last_name, phone);
CREATE INDEX contacts_by_last_name ON contacts (org_id, (lower(last_name)), (lower(first_name || ' ' || last_name || ' ' || phone)));

-- PostgreSQL only, as messages.org_id in 0013: the store runs generic
-- plans, which take 1/n_distinct of group_contacts for any one group. On
-- a young instance with three groups a group looked like a third of the
-- table, and counting or reading a group of 100 scanned all of it (75 ms
-- a page). Groups are many by design; saying so makes a group's queries
-- read its own range of the primary key.
ALTER TABLE group_contacts ALTER COLUMN group_id SET (n_distinct = 10000);
ANALYZE group_contacts;
