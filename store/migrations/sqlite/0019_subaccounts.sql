-- Subaccounts (issue 12): a child organisation dedicated to one email
-- address, funded by its parent (PRODUCT.md § Subaccounts).
--
-- The subaccount is an organisation of its own (its messages, contacts,
-- ledger and audit log live under its id as any organisation's do); this
-- row says whose child it is and how it is paid for. Every spend of it
-- raises spent by one conditional UPDATE, with the parent's balance
-- debited in the same transaction (store/money.go debit).
CREATE TABLE subaccounts (
    org_id     INTEGER PRIMARY KEY REFERENCES organisations (id) ON DELETE CASCADE,
    parent_id  INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    email      TEXT    NOT NULL,
    funding    TEXT    NOT NULL CHECK (funding IN ('shared', 'budget')),
    budget     INTEGER NOT NULL DEFAULT 0 CHECK (budget >= 0),
    spent      INTEGER NOT NULL DEFAULT 0 CHECK (spent >= 0),
    status     TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'active', 'suspended', 'closed')),
    created_by INTEGER REFERENCES profiles (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    closed_at  INTEGER
);
CREATE INDEX subaccounts_by_parent ON subaccounts (parent_id, org_id);

-- A subaccount's messages by status, per UTC day of their sending (the
-- day of usage_daily's row for the same messages): the parent's statistics
-- read these and usage_daily, never messages. Queued is usage_daily's
-- messages less the three counted here. Kept by the trigger below, in the
-- transaction of every status change.
CREATE TABLE message_days (
    org_id    INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    day       TEXT    NOT NULL, -- YYYY-MM-DD, UTC
    sent      INTEGER NOT NULL DEFAULT 0,
    delivered INTEGER NOT NULL DEFAULT 0,
    failed    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, day)
);

CREATE TRIGGER message_days AFTER UPDATE OF status ON messages
WHEN OLD.status <> NEW.status AND EXISTS (SELECT 1 FROM subaccounts WHERE org_id = NEW.org_id)
BEGIN
    INSERT INTO message_days (org_id, day, sent, delivered, failed)
    VALUES (NEW.org_id, strftime('%Y-%m-%d', NEW.created_at / 1000, 'unixepoch'),
        (NEW.status = 'sent') - (OLD.status = 'sent'),
        (NEW.status = 'delivered') - (OLD.status = 'delivered'),
        (NEW.status = 'failed') - (OLD.status = 'failed'))
    ON CONFLICT (org_id, day) DO UPDATE SET sent = message_days.sent + excluded.sent,
        delivered = message_days.delivered + excluded.delivered, failed = message_days.failed + excluded.failed;
END;
