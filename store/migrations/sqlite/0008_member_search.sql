-- Member search (store/membersearch.go): a search that matches few members
-- reads them from this full-text index of trigrams instead of scanning every
-- member of the organisation. SQLite only: PostgreSQL will use pg_trgm.
--
-- One row per membership. Its rowid is org_id << 32 | profile_id, so that
-- a search reads only its own organisation's range of the index (FTS5 seeks
-- to a rowid range), whatever other organisations hold.
-- The text is members.sort_name (already in lower case, so the tokenizer
-- folds nothing and matches exactly what instr() matches) followed by two
-- U+001F unit separators, which names and emails never contain: every one
-- or two characters of the name then begin a trigram, so that searches of
-- one or two characters can find their trigrams by prefix.
CREATE VIRTUAL TABLE member_search USING fts5 (text, tokenize = 'trigram case_sensitive 1');
CREATE VIRTUAL TABLE member_search_terms USING fts5vocab (member_search, 'row');

INSERT INTO member_search (rowid, text)
    SELECT (org_id << 32) | profile_id, sort_name || char(31, 31) FROM members;
-- A bulk load leaves the index in many small segments, each of which a
-- search must read; merge them into one. Later writes, one member at a
-- time, keep the segments few by FTS5's automatic merging.
INSERT INTO member_search (member_search) VALUES ('optimize');

-- Triggers keep the index in the transaction of every change to members,
-- whoever makes it (the store, a cascade, a migration).
CREATE TRIGGER members_search_insert AFTER INSERT ON members BEGIN
    INSERT INTO member_search (rowid, text) VALUES ((NEW.org_id << 32) | NEW.profile_id, NEW.sort_name || char(31, 31));
END;
CREATE TRIGGER members_search_delete AFTER DELETE ON members BEGIN
    DELETE FROM member_search WHERE rowid = (OLD.org_id << 32) | OLD.profile_id;
END;
CREATE TRIGGER members_search_update AFTER UPDATE OF sort_name ON members BEGIN
    UPDATE member_search SET text = NEW.sort_name || char(31, 31) WHERE rowid = (OLD.org_id << 32) | OLD.profile_id;
END;
