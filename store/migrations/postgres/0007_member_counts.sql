-- Member counts kept in the organisation's row, and the pending-invitation
-- indexes (as SQLite's 0007).
ALTER TABLE organisations ADD COLUMN member_count BIGINT NOT NULL DEFAULT 0;
UPDATE organisations SET member_count = (SELECT COUNT(*) FROM members WHERE members.org_id = organisations.id);
CREATE INDEX invitations_pending_by_expiry ON invitations (org_id, expires_at)
    WHERE accepted_at IS NULL AND cancelled_at IS NULL;
CREATE INDEX invitations_pending_by_role ON invitations (custom_role_id)
    WHERE accepted_at IS NULL AND cancelled_at IS NULL;
