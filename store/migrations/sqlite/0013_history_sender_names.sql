-- History and sender names (issue 9, points 7 and 10).

-- An organisation may apply again for a name that was rejected: only the
-- names it holds or waits for (pending, approved) are unique, whatever
-- their case; rejected applications stay as the record of the decision.
DROP INDEX sender_names_by_org;
CREATE UNIQUE INDEX sender_names_held ON sender_names (org_id, lower(name)) WHERE status IN ('pending', 'approved');
CREATE INDEX sender_names_by_org ON sender_names (org_id, id);

-- The history filtered by sender and status together walks one index in
-- id order (store/history.go picks the index of each filter): with
-- messages_by_sender alone, a rare status of a common sender scanned most
-- of the sender's messages to fill a page.
CREATE INDEX messages_by_sender_status ON messages (org_id, sender, status, id);
