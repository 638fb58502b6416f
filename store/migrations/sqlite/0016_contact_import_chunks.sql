-- The file of a contact import, in pieces of up to 1 MB (store.ImportChunk)
-- rather than a column of contact_imports:
-- an upload is written and an import read a piece at a time, never a
-- 50 MB value at once, and the import's progress, written with every
-- batch, is a small row (SQLite rewrites a whole row, its file included,
-- on every UPDATE). The pieces go when the import ends.
CREATE TABLE contact_import_chunks (
    import_id INTEGER NOT NULL REFERENCES contact_imports (id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL,
    data      BLOB    NOT NULL,
    PRIMARY KEY (import_id, seq)
);
