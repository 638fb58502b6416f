-- An email that could not be sent for days is given up: it stops being
-- retried and the Members page says so (Resend queues a new one).
ALTER TABLE outbox ADD COLUMN failed_at INTEGER;
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
