-- PostgreSQL's form of store/migrations/sqlite/0017_campaign_counts.sql.
-- Campaigns (issue 10, point 3): the counts of each campaign's messages by
-- status, kept in the campaign's row so that the list of campaigns reads
-- them without counting messages. The start writes queued = recipients;
-- from then on the trigger below moves the counts in the same transaction
-- as every status change of a message of the batch, whoever makes it, and
-- moves the campaign from sending to sent when its last queued message
-- leaves the queue.
ALTER TABLE campaigns ADD COLUMN queued BIGINT NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN sent BIGINT NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN delivered BIGINT NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN failed BIGINT NOT NULL DEFAULT 0;
-- Numbers of the groups left out at the start because no price covers
-- them (PRODUCT.md § Money: sending there is not offered).
ALTER TABLE campaigns ADD COLUMN unpriced BIGINT NOT NULL DEFAULT 0;

-- The campaign of a batch, for the trigger.
CREATE UNIQUE INDEX campaigns_by_batch ON campaigns (batch_id) WHERE batch_id IS NOT NULL;

-- One call per statement rather than per row: the delivery worker records
-- hundreds of outcomes in one UPDATE, and the campaigns they belong to are
-- each updated once, in the order of their batch, with the sums of the
-- changes (the transition tables hold the rows before and after).
-- The campaigns are locked in the order of their batch first: two delivery
-- workers recording outcomes of the same campaigns at once then wait for
-- each other instead of deadlocking.
CREATE FUNCTION campaign_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM campaigns c
        WHERE c.batch_id IN (SELECT n.batch_id FROM campaign_counts_new n)
        ORDER BY c.batch_id FOR NO KEY UPDATE;
    UPDATE campaigns c SET
        queued = c.queued + d.queued,
        sent = c.sent + d.sent,
        delivered = c.delivered + d.delivered,
        failed = c.failed + d.failed,
        status = CASE WHEN c.status = 'sending' AND c.queued + d.queued = 0 THEN 'sent' ELSE c.status END
    FROM (
        SELECT n.batch_id,
            SUM((n.status = 'queued')::int - (o.status = 'queued')::int) AS queued,
            SUM((n.status = 'sent')::int - (o.status = 'sent')::int) AS sent,
            SUM((n.status = 'delivered')::int - (o.status = 'delivered')::int) AS delivered,
            SUM((n.status = 'failed')::int - (o.status = 'failed')::int) AS failed
        FROM campaign_counts_new n JOIN campaign_counts_old o ON o.id = n.id
        WHERE n.status <> o.status
        GROUP BY n.batch_id
    ) d
    WHERE c.batch_id = d.batch_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER campaign_counts AFTER UPDATE ON messages
REFERENCING OLD TABLE AS campaign_counts_old NEW TABLE AS campaign_counts_new
FOR EACH STATEMENT EXECUTE FUNCTION campaign_counts();
