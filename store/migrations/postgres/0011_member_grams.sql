-- Member search walks a posting list in name order and stops at a page
-- (as SQLite's 0011, which replaces SQLite's FTS5 index of 0008; PostgreSQL
-- never had one). Names and grams compare byte by byte (COLLATE "C"), as
-- SQLite's do, so that both engines list members in one order.
CREATE TABLE member_grams (
    org_id     BIGINT  NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    gram       TEXT    NOT NULL COLLATE "C",
    sort_name  TEXT    NOT NULL COLLATE "C",
    profile_id BIGINT  NOT NULL,
    PRIMARY KEY (org_id, gram, sort_name, profile_id)
);

CREATE TABLE member_gram_counts (
    org_id BIGINT  NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    gram   TEXT    NOT NULL COLLATE "C",
    n      BIGINT  NOT NULL,
    PRIMARY KEY (org_id, gram)
);

INSERT INTO member_grams (org_id, gram, sort_name, profile_id)
    WITH RECURSIVE pos (org_id, profile_id, sort_name, i) AS (
        SELECT org_id, profile_id, sort_name, 1 FROM members WHERE sort_name != ''
        UNION ALL
        SELECT org_id, profile_id, sort_name, i + 1 FROM pos WHERE i < length(sort_name))
    SELECT DISTINCT org_id, substr(sort_name, i, w), sort_name, profile_id
    FROM pos, (SELECT 1 AS w UNION ALL SELECT 2) widths
    WHERE i + w - 1 <= length(sort_name);
INSERT INTO member_gram_counts (org_id, gram, n)
    SELECT org_id, gram, COUNT(*) FROM member_grams GROUP BY org_id, gram;
