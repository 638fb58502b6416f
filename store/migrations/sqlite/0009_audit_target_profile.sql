-- The profile an audit line is about, for removals (revoked, left): a person
-- who lost access is told by whom and when, matched by their profile and
-- never by an email address, which may change hands. Older lines are
-- matched once here by the address they name.
ALTER TABLE audit_log ADD COLUMN target_id INTEGER REFERENCES profiles (id) ON DELETE SET NULL;
UPDATE audit_log SET target_id = (SELECT p.id FROM profiles p WHERE p.email = audit_log.target)
    WHERE action IN ('member.revoked', 'member.left');
CREATE INDEX audit_log_by_target ON audit_log (target_id, created_at) WHERE target_id IS NOT NULL;
