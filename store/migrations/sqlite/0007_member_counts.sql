-- The dashboard shows how many members an organisation has on every view:
-- counting them there grew with the organisation (222 req/s at 100,000
-- members). The count is kept in the organisation's row instead, changed in
-- the same transaction as every membership inserted or deleted (see
-- store/member.go, adjustMemberCount), and backfilled here.
ALTER TABLE organisations ADD COLUMN member_count INTEGER NOT NULL DEFAULT 0;
UPDATE organisations SET member_count = (SELECT COUNT(*) FROM members WHERE members.org_id = organisations.id);

-- Pending invitations stop counting when they expire, which no transaction
-- sees, so their number is not kept: it is counted from this index alone,
-- over the invitations still valid, whose number the invitation rate limits
-- bound (and expired ones lie before the range the count reads).
CREATE INDEX invitations_pending_by_expiry ON invitations (org_id, expires_at)
    WHERE accepted_at IS NULL AND cancelled_at IS NULL;

-- The roles page counts the pending invitations of each custom role: this
-- index reads them alone instead of every invitation the organisation ever
-- sent.
CREATE INDEX invitations_pending_by_role ON invitations (custom_role_id)
    WHERE accepted_at IS NULL AND cancelled_at IS NULL;
