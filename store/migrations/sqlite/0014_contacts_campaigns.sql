-- Contacts, groups and imports; campaigns; subscription links; products
-- (issue 10). Whether a contact opted out is not a column: opt_outs (0012)
-- is the one record every send reads, kept by STOP/START and by members.

CREATE TABLE contacts (
    id         INTEGER PRIMARY KEY,
    org_id     INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    phone      TEXT    NOT NULL, -- E.164
    first_name TEXT    NOT NULL DEFAULT '',
    last_name  TEXT    NOT NULL DEFAULT '',
    email      TEXT    NOT NULL DEFAULT '',
    company    TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX contacts_by_phone ON contacts (org_id, phone);
CREATE INDEX contacts_by_org ON contacts (org_id, id);

-- Phonebook groups. "groups" is a keyword of both engines' window frames,
-- so the table is contact_groups.
CREATE TABLE contact_groups (
    id         INTEGER PRIMARY KEY,
    org_id     INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX contact_groups_by_name ON contact_groups (org_id, lower(name));

-- Who is in which group. Both sides belong to the same organisation: the
-- store checks it when it writes a row.
CREATE TABLE group_contacts (
    group_id   INTEGER NOT NULL REFERENCES contact_groups (id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, contact_id)
);
CREATE INDEX group_contacts_by_contact ON group_contacts (contact_id, group_id);

-- An uploaded file and what importing it did. The file (0016's chunks)
-- stays in the database until the import finishes, so that any process may
-- run it and a restart resumes it (claimed like the outbox).
CREATE TABLE contact_imports (
    id            INTEGER PRIMARY KEY,
    org_id        INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    filename      TEXT    NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'mapping' CHECK (status IN ('mapping', 'queued', 'running', 'done', 'failed')),
    mapping       TEXT    NOT NULL DEFAULT '', -- the columns, comma-separated (switchboard.Column)
    group_id      INTEGER REFERENCES contact_groups (id) ON DELETE SET NULL,
    country       TEXT    NOT NULL DEFAULT '',
    rows_total    INTEGER NOT NULL DEFAULT 0,
    processed     INTEGER NOT NULL DEFAULT 0,
    added         INTEGER NOT NULL DEFAULT 0,
    updated       INTEGER NOT NULL DEFAULT 0,
    skipped       INTEGER NOT NULL DEFAULT 0,
    error         TEXT    NOT NULL DEFAULT '',
    claimed_until INTEGER,
    created_by    INTEGER REFERENCES profiles (id) ON DELETE SET NULL,
    created_at    INTEGER NOT NULL,
    finished_at   INTEGER
);
CREATE INDEX contact_imports_by_org ON contact_imports (org_id, id);
CREATE INDEX contact_imports_waiting ON contact_imports (id) WHERE status IN ('queued', 'running');

-- The lines an import skipped, and why.
CREATE TABLE contact_import_problems (
    import_id INTEGER NOT NULL REFERENCES contact_imports (id) ON DELETE CASCADE,
    line      INTEGER NOT NULL,
    reason    TEXT    NOT NULL,
    PRIMARY KEY (import_id, line)
);

CREATE TABLE campaigns (
    id            INTEGER PRIMARY KEY,
    org_id        INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    sender        TEXT    NOT NULL,
    body          TEXT    NOT NULL,
    send_at       INTEGER NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'sending', 'sent', 'cancelled', 'failed')),
    reason        TEXT    NOT NULL DEFAULT '',
    recipients    INTEGER NOT NULL DEFAULT 0,
    parts         INTEGER NOT NULL DEFAULT 0,
    cost          INTEGER NOT NULL DEFAULT 0,
    batch_id      INTEGER, -- the spend's ledger line, once started
    claimed_until INTEGER, -- a scheduler is starting it
    created_by    INTEGER REFERENCES profiles (id) ON DELETE SET NULL,
    created_at    INTEGER NOT NULL,
    started_at    INTEGER
);
CREATE INDEX campaigns_by_org ON campaigns (org_id, id);
CREATE INDEX campaigns_due ON campaigns (send_at) WHERE status = 'scheduled';

CREATE TABLE campaign_groups (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    group_id    INTEGER NOT NULL REFERENCES contact_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (campaign_id, group_id)
);
CREATE INDEX campaign_groups_by_group ON campaign_groups (group_id);

CREATE TABLE subscription_links (
    id           INTEGER PRIMARY KEY,
    org_id       INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    token        TEXT    NOT NULL UNIQUE,
    name         TEXT    NOT NULL,
    group_id     INTEGER NOT NULL REFERENCES contact_groups (id) ON DELETE CASCADE,
    consent_text TEXT    NOT NULL,
    active       INTEGER NOT NULL DEFAULT 1,
    joins        INTEGER NOT NULL DEFAULT 0,
    created_by   INTEGER REFERENCES profiles (id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX subscription_links_by_org ON subscription_links (org_id, id);

CREATE TABLE product_requests (
    id           INTEGER PRIMARY KEY,
    org_id       INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    product      TEXT    NOT NULL CHECK (product IN ('sms', 'virtual_number', 'voice', 'whatsapp_business')),
    note         TEXT    NOT NULL DEFAULT '',
    status       TEXT    NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'active', 'declined')),
    reason       TEXT    NOT NULL DEFAULT '',
    requested_by INTEGER REFERENCES profiles (id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL,
    decided_at   INTEGER
);
CREATE INDEX product_requests_by_org ON product_requests (org_id, id);
CREATE INDEX product_requests_open ON product_requests (id) WHERE status = 'requested';
