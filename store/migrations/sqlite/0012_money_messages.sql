-- Money and messages (issue 9): balances and their ledger, invoices, sender
-- names, auto-replace, messages with their delivery queue, opt-outs and the
-- daily sums the dashboard and statistics read.
--
-- Money is INTEGER 1/10,000 of the currency unit (switchboard.Money).

-- Company details gain the country (the default of numbers typed without a
-- country code); the balance lives in the organisation's row, moved only by
-- a conditional UPDATE (store/money.go) and never below zero.
ALTER TABLE organisations ADD COLUMN country TEXT NOT NULL DEFAULT '';
ALTER TABLE organisations ADD COLUMN balance INTEGER NOT NULL DEFAULT 0 CHECK (balance >= 0);
ALTER TABLE organisations ADD COLUMN auto_replace TEXT NOT NULL DEFAULT 'off' CHECK (auto_replace IN ('off', 'on', 'full'));

-- Every movement of a balance, written in the transaction that moved it.
CREATE TABLE ledger (
    id            INTEGER PRIMARY KEY,
    org_id        INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL CHECK (kind IN ('credit', 'spend', 'refund')),
    amount        INTEGER NOT NULL, -- positive for credit and refund, negative for spend
    balance_after INTEGER NOT NULL,
    description   TEXT    NOT NULL DEFAULT '',
    invoice_id    INTEGER,
    message_id    INTEGER,
    actor_id      INTEGER REFERENCES profiles (id) ON DELETE SET NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX ledger_by_org ON ledger (org_id, id);

-- Invoices outlive their organisation (org_id becomes NULL): their numbers
-- have no gaps, and buyer and seller are copied when issued.
CREATE TABLE invoices (
    id             INTEGER PRIMARY KEY,
    number         TEXT    NOT NULL UNIQUE,
    org_id         INTEGER REFERENCES organisations (id) ON DELETE SET NULL,
    amount         INTEGER NOT NULL CHECK (amount > 0),
    currency       TEXT    NOT NULL,
    buyer_name     TEXT    NOT NULL DEFAULT '',
    buyer_address  TEXT    NOT NULL DEFAULT '',
    buyer_country  TEXT    NOT NULL DEFAULT '',
    buyer_vat      TEXT    NOT NULL DEFAULT '',
    buyer_email    TEXT    NOT NULL DEFAULT '',
    seller_name    TEXT    NOT NULL DEFAULT '',
    seller_address TEXT    NOT NULL DEFAULT '',
    seller_country TEXT    NOT NULL DEFAULT '',
    seller_vat     TEXT    NOT NULL DEFAULT '',
    seller_email   TEXT    NOT NULL DEFAULT '',
    created_by     INTEGER REFERENCES profiles (id) ON DELETE SET NULL,
    created_at     INTEGER NOT NULL,
    paid_at        INTEGER
);
CREATE INDEX invoices_by_org ON invoices (org_id, id);
CREATE INDEX invoices_unpaid ON invoices (id) WHERE paid_at IS NULL;

-- The last invoice number of each year, taken and raised in the
-- transaction that inserts the invoice: no gaps, no repeats.
CREATE TABLE invoice_counters (
    year INTEGER PRIMARY KEY,
    last INTEGER NOT NULL
);

CREATE TABLE sender_names (
    id           INTEGER PRIMARY KEY,
    org_id       INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    use_case     TEXT    NOT NULL,
    status       TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    reason       TEXT    NOT NULL DEFAULT '',
    requested_by INTEGER REFERENCES profiles (id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL,
    decided_at   INTEGER
);
CREATE UNIQUE INDEX sender_names_by_org ON sender_names (org_id, name);
CREATE INDEX sender_names_pending ON sender_names (id) WHERE status = 'pending';

CREATE TABLE auto_replacements (
    id      INTEGER PRIMARY KEY,
    org_id  INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    find    TEXT    NOT NULL,
    replacement TEXT NOT NULL
);
CREATE UNIQUE INDEX auto_replacements_by_org ON auto_replacements (org_id, find);

-- One row per message per recipient. batch_id is the ledger entry of the
-- spend that paid for it.
CREATE TABLE messages (
    id         INTEGER PRIMARY KEY,
    org_id     INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    batch_id   INTEGER NOT NULL,
    sender     TEXT    NOT NULL,
    recipient  TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    encoding   TEXT    NOT NULL,
    parts      INTEGER NOT NULL,
    price      INTEGER NOT NULL,
    status     TEXT    NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'delivered', 'failed')),
    error      TEXT    NOT NULL DEFAULT '',
    refunded   INTEGER NOT NULL DEFAULT 0,
    created_by INTEGER REFERENCES profiles (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    sent_at    INTEGER,
    status_at  INTEGER NOT NULL
);
CREATE INDEX messages_by_org ON messages (org_id, id);
CREATE INDEX messages_by_status ON messages (org_id, status, id);
CREATE INDEX messages_by_recipient ON messages (org_id, recipient, id);
CREATE INDEX messages_by_sender ON messages (org_id, sender, id);
CREATE INDEX messages_by_time ON messages (org_id, created_at, id);
CREATE INDEX messages_by_batch ON messages (batch_id);

-- The delivery worker's queue, written with the debit; a row leaves when
-- its message was accepted or refused for good. Claimed like the outbox.
CREATE TABLE message_queue (
    message_id      INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_until   INTEGER,
    last_error      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX message_queue_due ON message_queue (next_attempt_at);

-- Numbers that answered STOP: never sent to by that organisation.
CREATE TABLE opt_outs (
    org_id     INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    phone      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, phone)
);

-- Sums per organisation and UTC day, kept in the transaction of each spend
-- and refund: the dashboard and statistics read them, never messages.
CREATE TABLE usage_daily (
    org_id   INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    day      TEXT    NOT NULL, -- YYYY-MM-DD, UTC
    messages INTEGER NOT NULL DEFAULT 0,
    parts    INTEGER NOT NULL DEFAULT 0,
    spent    INTEGER NOT NULL DEFAULT 0,
    refunded INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, day)
);
