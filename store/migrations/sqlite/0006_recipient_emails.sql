-- Emails per recipient mailbox per day, across the whole instance: one row
-- per queued email, written and counted in the transaction that queues it,
-- so the limit holds however many requests or processes queue at once.
-- mailbox is the address in lower case without its +tag (see mailboxKey),
-- so that aliases of one inbox share one allowance. Rows older than a day
-- are deleted as new ones come.
CREATE TABLE recipient_emails (
    mailbox    TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX recipient_emails_by_mailbox ON recipient_emails (mailbox, created_at);
CREATE INDEX recipient_emails_by_age ON recipient_emails (created_at);
