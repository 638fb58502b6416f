-- A profile's privilege epoch moves whenever what it may do changes (a role
-- changed, access revoked, joined or left, ownership moved, a custom role's
-- sections edited): every session of the profile gets a new token on its
-- next request, as it would at login.
ALTER TABLE profiles ADD COLUMN privilege_epoch INTEGER NOT NULL DEFAULT 1;
