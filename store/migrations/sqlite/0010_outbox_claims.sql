-- The mail workers of several processes share one outbox (on PostgreSQL):
-- a worker claims the emails it sends until claimed_until, so no email is
-- sent by two at once, and one whose process died mid-send is claimed
-- again once the lease has run out (store/outbox.go, ClaimEmails).
ALTER TABLE outbox ADD COLUMN claimed_until INTEGER;
