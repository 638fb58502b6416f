-- Two-factor authentication, the operator's command line and metrics
-- (issue 13).
--
-- A profile's TOTP secret is sealed (AES-GCM under --secret-key) before it
-- is stored: totp_secret holds the sealed secret, '' for none. A secret
-- being set up and not yet confirmed by a first code has totp_since NULL;
-- two-factor is on from totp_since. totp_last_step is the time step of the
-- last code accepted: a code of that step or an earlier one is refused, by
-- a conditional UPDATE, so a code is accepted once across processes.
ALTER TABLE profiles ADD COLUMN totp_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE profiles ADD COLUMN totp_since INTEGER;
ALTER TABLE profiles ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;

-- Ten recovery codes per profile, shown once, stored as hashes, each used
-- once (used_at); regenerating deletes the old ones.
CREATE TABLE recovery_codes (
    id         INTEGER PRIMARY KEY,
    profile_id INTEGER NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    code_hash  BLOB    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX recovery_codes_by_profile ON recovery_codes (profile_id);

-- The step between a right password and the Code: no session exists yet.
-- The browser holds the token; only its hash is stored. It expires, counts
-- wrong codes, and is deleted when used.
CREATE TABLE login_challenges (
    token_hash BLOB    PRIMARY KEY,
    profile_id INTEGER NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    next       TEXT    NOT NULL DEFAULT '',
    ip         TEXT    NOT NULL DEFAULT '',
    attempts   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX login_challenges_by_expiry ON login_challenges (expires_at);

-- "Require two-factor authentication" (owner only).
ALTER TABLE organisations ADD COLUMN require_two_factor INTEGER NOT NULL DEFAULT 0;

-- A profile's own security events (two-factor on and off, recovery codes
-- used or regenerated, the operator's commands about it): they belong to
-- no organisation, and the account page lists them.
CREATE TABLE profile_events (
    id         INTEGER PRIMARY KEY,
    profile_id INTEGER NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    action     TEXT    NOT NULL,
    actor_name TEXT    NOT NULL DEFAULT '',
    detail     TEXT    NOT NULL DEFAULT '',
    ip         TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX profile_events_by_profile ON profile_events (profile_id, id);
