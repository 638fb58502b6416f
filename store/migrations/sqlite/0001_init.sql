-- Profiles, organisations, members, roles, invitations, password resets,
-- the outbox, the audit log and sessions.

CREATE TABLE profiles (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL COLLATE NOCASE UNIQUE,
    password_hash TEXT    NOT NULL,
    first_name    TEXT    NOT NULL,
    last_name     TEXT    NOT NULL,
    language      TEXT    NOT NULL DEFAULT 'en',
    time_zone     TEXT    NOT NULL DEFAULT 'UTC',
    auth_epoch    INTEGER NOT NULL DEFAULT 1,
    last_org_id   INTEGER,
    created_at    INTEGER NOT NULL
);

CREATE TABLE organisations (
    id                 INTEGER PRIMARY KEY,
    name               TEXT    NOT NULL,
    legal_name         TEXT    NOT NULL DEFAULT '',
    vat_number         TEXT    NOT NULL DEFAULT '',
    address            TEXT    NOT NULL DEFAULT '',
    billing_email      TEXT    NOT NULL DEFAULT '',
    owner_only_members INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL
);

CREATE TABLE roles (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    permissions TEXT    NOT NULL, -- space-separated permission names
    created_at  INTEGER NOT NULL,
    UNIQUE (org_id, name COLLATE NOCASE)
);

CREATE TABLE members (
    org_id         INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    profile_id     INTEGER NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    role           TEXT    NOT NULL CHECK (role IN ('owner', 'administrator', 'sender', 'custom')),
    custom_role_id INTEGER REFERENCES roles (id) ON DELETE RESTRICT,
    joined_at      INTEGER NOT NULL,
    sort_name      TEXT    NOT NULL, -- lower(first last email): the keyset of the members page
    PRIMARY KEY (org_id, profile_id),
    CHECK ((role = 'custom') = (custom_role_id IS NOT NULL))
) WITHOUT ROWID;

-- Exactly one owner: at most one by this index, at least one by the store.
CREATE UNIQUE INDEX members_one_owner ON members (org_id) WHERE role = 'owner';
CREATE INDEX members_by_profile ON members (profile_id);
CREATE INDEX members_by_name ON members (org_id, sort_name, profile_id);
CREATE INDEX members_by_custom_role ON members (custom_role_id) WHERE custom_role_id IS NOT NULL;

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    recipient       TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    body_text       TEXT    NOT NULL,
    body_html       TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT    NOT NULL DEFAULT '',
    sent_at         INTEGER,
    created_at      INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL;

CREATE TABLE invitations (
    id             INTEGER PRIMARY KEY,
    org_id         INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    email          TEXT    NOT NULL COLLATE NOCASE,
    role           TEXT    NOT NULL CHECK (role IN ('administrator', 'sender', 'custom')),
    custom_role_id INTEGER REFERENCES roles (id) ON DELETE CASCADE,
    invited_by     INTEGER REFERENCES profiles (id) ON DELETE SET NULL,
    inviter_name   TEXT    NOT NULL,
    token_hash     BLOB    NOT NULL UNIQUE,
    outbox_id      INTEGER REFERENCES outbox (id) ON DELETE SET NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    accepted_at    INTEGER,
    accepted_by    INTEGER REFERENCES profiles (id) ON DELETE SET NULL,
    cancelled_at   INTEGER,
    CHECK ((role = 'custom') = (custom_role_id IS NOT NULL))
);
-- One pending invitation per address and organisation.
CREATE UNIQUE INDEX invitations_one_pending ON invitations (org_id, email)
    WHERE accepted_at IS NULL AND cancelled_at IS NULL;
CREATE INDEX invitations_pending ON invitations (org_id, created_at, id)
    WHERE accepted_at IS NULL AND cancelled_at IS NULL;

CREATE TABLE password_resets (
    token_hash BLOB    PRIMARY KEY,
    profile_id INTEGER NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX password_resets_by_profile ON password_resets (profile_id);

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    org_id     INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    actor_id   INTEGER REFERENCES profiles (id) ON DELETE SET NULL,
    actor_name TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    target     TEXT    NOT NULL DEFAULT '',
    detail     TEXT    NOT NULL DEFAULT '',
    ip         TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX audit_log_by_org ON audit_log (org_id, id);

CREATE TABLE sessions (
    token  TEXT PRIMARY KEY,
    data   BLOB NOT NULL,
    expiry REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_expiry ON sessions (expiry);
