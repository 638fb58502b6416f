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
