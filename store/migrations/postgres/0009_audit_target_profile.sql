-- The profile an audit line is about, for removals (as SQLite's 0009).
ALTER TABLE audit_log ADD COLUMN target_id BIGINT REFERENCES profiles (id) ON DELETE SET NULL;
UPDATE audit_log SET target_id = (SELECT p.id FROM profiles p WHERE p.email = audit_log.target)
    WHERE action IN ('member.revoked', 'member.left');
CREATE INDEX audit_log_by_target ON audit_log (target_id, created_at) WHERE target_id IS NOT NULL;
