-- Every email keeps one Message-ID across its attempts, so that a receiver
-- can drop the repeat sent after a crash between sending and marking sent.
-- Emails queued before this migration get theirs here.
ALTER TABLE outbox ADD COLUMN message_id TEXT NOT NULL DEFAULT '';
UPDATE outbox SET message_id = lower(hex(randomblob(16))) WHERE message_id = '';
-- The receiving server's answer when it refused an email for good (a 5xx),
-- shown on the Members page; empty for emails given up after days of
-- temporary failures, whose errors may name our own SMTP server.
ALTER TABLE outbox ADD COLUMN refusal TEXT NOT NULL DEFAULT '';
