-- API keys and the JSON API (issue 11, PRODUCT.md § API).

-- An organisation's API keys. Only the key's SHA-256 is kept (a key is 256
-- random bits: a fast hash is enough), with its first characters for the
-- list. Keys belong to the organisation: created_by is cleared when the
-- profile goes, created_by_name still says who made it. A revoked key is
-- kept (revoked_at), so that messages sent with it still name it.
CREATE TABLE api_keys (
    id              INTEGER PRIMARY KEY,
    org_id          INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    name            TEXT    NOT NULL,
    prefix          TEXT    NOT NULL,
    hash            BLOB    NOT NULL UNIQUE,
    created_by      INTEGER REFERENCES profiles (id) ON DELETE SET NULL,
    created_by_name TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER,
    revoked_at      INTEGER
);
CREATE INDEX api_keys_by_org ON api_keys (org_id, id);

-- An organisation's API configuration: where delivery reports go, the
-- secret that signs them, and the auto-replace mode of API sends ('' for
-- the Auto-replace page's). No row: no reports, the page's mode.
CREATE TABLE api_config (
    org_id        INTEGER PRIMARY KEY REFERENCES organisations (id) ON DELETE CASCADE,
    report_url    TEXT    NOT NULL DEFAULT '',
    report_secret TEXT    NOT NULL DEFAULT '',
    auto_replace  TEXT    NOT NULL DEFAULT '' CHECK (auto_replace IN ('', 'off', 'on', 'full')),
    updated_at    INTEGER NOT NULL
);

-- Idempotency-Key: the answer to the first POST with a key, kept 24 hours
-- and written in the transaction of what it answers (a send rolled back
-- leaves no row). request_hash is the SHA-256 of the method, path and
-- body: the same key with another request is refused.
CREATE TABLE api_idempotency (
    org_id       INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    idem_key     TEXT    NOT NULL,
    request_hash BLOB    NOT NULL,
    status       INTEGER NOT NULL,
    body         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (org_id, idem_key)
);
CREATE INDEX api_idempotency_by_time ON api_idempotency (created_at);

-- Which key sent a message (NULL: a page or a campaign), and when an API
-- send asked for it to leave (send_at; its queue row is due then).
ALTER TABLE messages ADD COLUMN api_key_id INTEGER;
ALTER TABLE messages ADD COLUMN send_at INTEGER;

-- Delivery reports waiting to be POSTed to the organisation's report URL.
-- The trigger below writes one, in the transaction of the change, for
-- every status change of a message of an organisation with a report URL,
-- whoever makes it (the delivery worker, the gateway's report, a refund).
CREATE TABLE api_reports (
    id              INTEGER PRIMARY KEY,
    org_id          INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    message_id      INTEGER NOT NULL,
    status          TEXT    NOT NULL,
    error           TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_until   INTEGER,
    last_error      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX api_reports_due ON api_reports (next_attempt_at);
CREATE INDEX api_reports_by_org ON api_reports (org_id, id);
-- A message's earlier reports, so that they go out in order (store/reports.go).
CREATE INDEX api_reports_by_message ON api_reports (message_id, id);

CREATE TRIGGER api_reports AFTER UPDATE OF status ON messages
WHEN OLD.status <> NEW.status
BEGIN
    INSERT INTO api_reports (org_id, message_id, status, error, created_at, next_attempt_at)
    SELECT NEW.org_id, NEW.id, NEW.status, NEW.error, NEW.status_at, NEW.status_at
    FROM api_config WHERE org_id = NEW.org_id AND report_url <> '';
END;
