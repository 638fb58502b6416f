-- SQLite's 0008 builds an FTS5 trigram index for member search; PostgreSQL
-- has no FTS5, and its member search comes with a later migration. Nothing
-- to do here: the number is kept so both engines count the same.
SELECT 1;
