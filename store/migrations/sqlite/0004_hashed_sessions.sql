-- Sessions are now keyed by the SHA-256 of their token (store/session.go),
-- so the rows keyed by the token itself can never be found again, and they
-- are the usable cookies a copy of the database must not hold: everyone
-- logs in again once.
DELETE FROM sessions;
