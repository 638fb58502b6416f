-- A subaccount's invitation (issue 12) offers the built-in Owner role: the
-- one who accepts owns the subaccount (as SQLite's 0020, which rebuilds the
-- table to change the same CHECK).
ALTER TABLE invitations DROP CONSTRAINT invitations_role_check;
ALTER TABLE invitations ADD CONSTRAINT invitations_role_check CHECK (role IN ('owner', 'administrator', 'sender', 'custom'));
