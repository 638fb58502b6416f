-- Sessions are keyed by the SHA-256 of their token (as SQLite's 0004).
DELETE FROM sessions;
