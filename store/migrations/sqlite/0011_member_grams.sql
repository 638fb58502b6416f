-- Member search (store/membersearch.go) walks a posting list in name order
-- and stops at a page, instead of gathering every match of the FTS5 index
-- of 0008 and sorting it (130 req/s at 100,000 members for a query whose
-- 10,000 matches all sort last). Plain tables and b-trees, so that
-- PostgreSQL has the same ones; the store keeps them in the transaction of
-- every change to a membership or a sort_name (no triggers).
DROP TRIGGER members_search_insert;
DROP TRIGGER members_search_delete;
DROP TRIGGER members_search_update;
DROP TABLE member_search_terms;
DROP TABLE member_search;

-- One row per membership and distinct gram (one or two characters) of its
-- sort_name, carrying the sort key: a search walks the rows of one gram
-- in the members page's order and stops at a page.
CREATE TABLE member_grams (
    org_id     INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    gram       TEXT    NOT NULL,
    sort_name  TEXT    NOT NULL,
    profile_id INTEGER NOT NULL,
    PRIMARY KEY (org_id, gram, sort_name, profile_id)
) WITHOUT ROWID;

-- How many members of the organisation hold each gram: a search walks its
-- query's rarest gram, and a gram nobody holds answers at once.
CREATE TABLE member_gram_counts (
    org_id INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    gram   TEXT    NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (org_id, gram)
) WITHOUT ROWID;

-- Backfill: every position of every sort_name, its one- and two-character
-- substrings (substr counts characters, as the store's runes do).
INSERT INTO member_grams (org_id, gram, sort_name, profile_id)
    WITH RECURSIVE pos (org_id, profile_id, sort_name, i) AS (
        SELECT org_id, profile_id, sort_name, 1 FROM members WHERE sort_name != ''
        UNION ALL
        SELECT org_id, profile_id, sort_name, i + 1 FROM pos WHERE i < length(sort_name))
    SELECT DISTINCT org_id, substr(sort_name, i, w), sort_name, profile_id
    FROM pos, (SELECT 1 AS w UNION ALL SELECT 2) widths
    WHERE i + w - 1 <= length(sort_name)
    ORDER BY 1, 2, 3, 4;
INSERT INTO member_gram_counts (org_id, gram, n)
    SELECT org_id, gram, COUNT(*) FROM member_grams GROUP BY org_id, gram;
