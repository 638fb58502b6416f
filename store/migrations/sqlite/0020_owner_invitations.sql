-- A subaccount's invitation (issue 12) offers the built-in Owner role: the
-- one who accepts owns the subaccount. The role's CHECK allowed every role
-- but Owner; SQLite cannot change a CHECK, so the table is rebuilt with the
-- same columns, rows and indexes (nothing references invitations).
CREATE TABLE invitations_new (
    id             INTEGER PRIMARY KEY,
    org_id         INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    email          TEXT    NOT NULL COLLATE NOCASE,
    role           TEXT    NOT NULL CHECK (role IN ('owner', 'administrator', 'sender', 'custom')),
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
INSERT INTO invitations_new (id, org_id, email, role, custom_role_id, invited_by, inviter_name, token_hash, outbox_id, created_at, expires_at, accepted_at, accepted_by, cancelled_at)
    SELECT id, org_id, email, role, custom_role_id, invited_by, inviter_name, token_hash, outbox_id, created_at, expires_at, accepted_at, accepted_by, cancelled_at
    FROM invitations;
DROP TABLE invitations;
ALTER TABLE invitations_new RENAME TO invitations;
CREATE UNIQUE INDEX invitations_one_pending ON invitations (org_id, email)
    WHERE accepted_at IS NULL AND cancelled_at IS NULL;
CREATE INDEX invitations_pending ON invitations (org_id, created_at, id)
    WHERE accepted_at IS NULL AND cancelled_at IS NULL;
CREATE INDEX invitations_pending_by_expiry ON invitations (org_id, expires_at)
    WHERE accepted_at IS NULL AND cancelled_at IS NULL;
CREATE INDEX invitations_pending_by_role ON invitations (custom_role_id)
    WHERE accepted_at IS NULL AND cancelled_at IS NULL;
