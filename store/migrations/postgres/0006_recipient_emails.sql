-- Emails per recipient mailbox per day (as SQLite's 0006).
CREATE TABLE recipient_emails (
    mailbox    TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);
CREATE INDEX recipient_emails_by_mailbox ON recipient_emails (mailbox, created_at);
CREATE INDEX recipient_emails_by_age ON recipient_emails (created_at);
