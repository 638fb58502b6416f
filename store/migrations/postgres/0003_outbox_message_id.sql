-- Every email keeps one Message-ID across its attempts (as SQLite's 0003).
ALTER TABLE outbox ADD COLUMN message_id TEXT NOT NULL DEFAULT '';
UPDATE outbox SET message_id = md5(random()::text || id::text) WHERE message_id = '';
-- The receiving server's answer when it refused an email for good.
ALTER TABLE outbox ADD COLUMN refusal TEXT NOT NULL DEFAULT '';
