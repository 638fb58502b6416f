-- Campaigns (issue 10, point 3): the counts of each campaign's messages by
-- status, kept in the campaign's row so that the list of campaigns reads
-- them without counting messages (100 campaigns of 100,000 messages each
-- would be ten million rows to count for one page). The start writes
-- queued = recipients; from then on the trigger below moves the counts in
-- the same transaction as every status change of a message of the batch,
-- whoever makes it (the delivery worker, a delivery report, a refund), and
-- moves the campaign from sending to sent when its last queued message
-- leaves the queue. A message's status changes only by UPDATE: messages
-- are inserted queued, with the campaign's counts, and never deleted but
-- with their organisation (and its campaigns).
ALTER TABLE campaigns ADD COLUMN queued INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN sent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN delivered INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN failed INTEGER NOT NULL DEFAULT 0;
-- Numbers of the groups left out at the start because no price covers
-- them (PRODUCT.md § Money: sending there is not offered).
ALTER TABLE campaigns ADD COLUMN unpriced INTEGER NOT NULL DEFAULT 0;

-- The campaign of a batch, for the trigger: one probe per status change.
CREATE UNIQUE INDEX campaigns_by_batch ON campaigns (batch_id) WHERE batch_id IS NOT NULL;

CREATE TRIGGER campaign_counts AFTER UPDATE OF status ON messages
WHEN OLD.status <> NEW.status
BEGIN
    UPDATE campaigns SET
        queued = queued - (OLD.status = 'queued') + (NEW.status = 'queued'),
        sent = sent - (OLD.status = 'sent') + (NEW.status = 'sent'),
        delivered = delivered - (OLD.status = 'delivered') + (NEW.status = 'delivered'),
        failed = failed - (OLD.status = 'failed') + (NEW.status = 'failed'),
        status = CASE WHEN status = 'sending' AND queued - (OLD.status = 'queued') + (NEW.status = 'queued') = 0 THEN 'sent' ELSE status END
    WHERE batch_id = NEW.batch_id;
END;
