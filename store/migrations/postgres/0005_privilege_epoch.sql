-- A profile's privilege epoch (as SQLite's 0005).
ALTER TABLE profiles ADD COLUMN privilege_epoch BIGINT NOT NULL DEFAULT 1;
