-- Subaccounts (issue 12): a child organisation dedicated to one email
-- address, funded by its parent (PRODUCT.md § Subaccounts).
--
-- The subaccount is an organisation of its own (its messages, contacts,
-- ledger and audit log live under its id as any organisation's do); this
-- row says whose child it is and how it is paid for. Every spend of it
-- raises spent by one conditional UPDATE, with the parent's balance
-- debited in the same transaction (store/money.go debit).
CREATE TABLE subaccounts (
    org_id     BIGINT  PRIMARY KEY REFERENCES organisations (id) ON DELETE CASCADE,
    parent_id  BIGINT  NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    email      TEXT    NOT NULL,
    funding    TEXT    NOT NULL CHECK (funding IN ('shared', 'budget')),
    budget     BIGINT  NOT NULL DEFAULT 0 CHECK (budget >= 0),
    spent      BIGINT  NOT NULL DEFAULT 0 CHECK (spent >= 0),
    status     TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'active', 'suspended', 'closed')),
    created_by BIGINT  REFERENCES profiles (id) ON DELETE SET NULL,
    created_at BIGINT  NOT NULL,
    closed_at  BIGINT
);
CREATE INDEX subaccounts_by_parent ON subaccounts (parent_id, org_id);

-- A subaccount's messages by status, per UTC day of their sending (the
-- day of usage_daily's row for the same messages): the parent's statistics
-- read these and usage_daily, never messages. Queued is usage_daily's
-- messages less the three counted here. Kept by the trigger below, in the
-- transaction of every status change.
CREATE TABLE message_days (
    org_id    BIGINT  NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    day       TEXT    NOT NULL, -- YYYY-MM-DD, UTC
    sent      BIGINT  NOT NULL DEFAULT 0,
    delivered BIGINT  NOT NULL DEFAULT 0,
    failed    BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, day)
);

-- One statement-level trigger, like api_reports: the delivery worker
-- changes many messages in one UPDATE, and their days are summed once.
-- Rows are written in key order, so two workers never wait on each other
-- in opposite orders.
CREATE FUNCTION message_days() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO message_days (org_id, day, sent, delivered, failed)
    SELECT n.org_id, to_char(timestamp 'epoch' + n.created_at * interval '1 millisecond', 'YYYY-MM-DD'),
        SUM((n.status = 'sent')::int - (o.status = 'sent')::int),
        SUM((n.status = 'delivered')::int - (o.status = 'delivered')::int),
        SUM((n.status = 'failed')::int - (o.status = 'failed')::int)
    FROM message_days_new n JOIN message_days_old o ON o.id = n.id
    WHERE n.status <> o.status AND n.org_id IN (SELECT org_id FROM subaccounts)
    GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (org_id, day) DO UPDATE SET sent = message_days.sent + excluded.sent,
        delivered = message_days.delivered + excluded.delivered, failed = message_days.failed + excluded.failed;
    RETURN NULL;
END
$$;

CREATE TRIGGER message_days AFTER UPDATE ON messages
REFERENCING OLD TABLE AS message_days_old NEW TABLE AS message_days_new
FOR EACH STATEMENT EXECUTE FUNCTION message_days();
