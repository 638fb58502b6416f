-- An email that could not be sent for days is given up (as SQLite's 0002).
ALTER TABLE outbox ADD COLUMN failed_at BIGINT;
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
