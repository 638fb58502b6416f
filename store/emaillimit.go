package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"switchboard"
)

// Emails per recipient: a whole instance sends at most
// MaxEmailsPerRecipient emails to one mailbox in any EmailLimitWindow. The
// review queued 151 emails to one address in under a second (150 resends
// of one invitation) and could multiply that by organisations; whatever the
// in-memory limits in front, this one lives in the database, so it also
// holds across processes and restarts. Twelve is far above what a person
// needs in a day (a few invitations, a couple of resends, a password
// reset or two) and far below a bombing.
const (
	MaxEmailsPerRecipient = 12
	EmailLimitWindow      = 24 * time.Hour
)

// ErrTooManyEmails is what queueing an email answers when its recipient has
// had MaxEmailsPerRecipient emails in the last EmailLimitWindow.
var ErrTooManyEmails = &switchboard.Error{Code: switchboard.ETOOMANY,
	Message: "This address has already received many emails from Switchboard today, so no more can be sent to it for now. Please try again tomorrow."}

// countRecipientEmail records, inside tx, one more email to address, or
// answers ErrTooManyEmails when the address has had its allowance. It runs
// in the transaction that queues the email, so the count and the email
// commit or roll back together, and the single writer (an immediate
// transaction) makes concurrent counts wait for each other; on PostgreSQL
// the mailbox's lock does (Tx.lock).
func (db *DB) countRecipientEmail(ctx context.Context, tx *Tx, address string) error {
	now := db.Now()
	since := millis(now.Add(-EmailLimitWindow))
	mailbox := mailboxKey(address)
	if err := tx.lock(ctx, "recipient_emails "+mailbox); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM recipient_emails WHERE created_at <= ?`, since); err != nil {
		return fmt.Errorf("store: count emails to a recipient: %w", err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM recipient_emails WHERE mailbox = ? AND created_at > ?`, mailbox, since).Scan(&n); err != nil {
		return fmt.Errorf("store: count emails to a recipient: %w", err)
	}
	limit := db.EmailsPerRecipient
	if limit == 0 {
		limit = MaxEmailsPerRecipient
	}
	if n >= limit {
		return ErrTooManyEmails
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO recipient_emails (mailbox, created_at) VALUES (?, ?)`, mailbox, millis(now)); err != nil {
		return fmt.Errorf("store: count emails to a recipient: %w", err)
	}
	return nil
}

// mailboxKey returns the inbox an address delivers to, as far as can be told
// without asking its server: lower case, and without the +tag that most
// providers ignore, so that jane+1@, jane+2@… share Jane's allowance.
func mailboxKey(address string) string {
	address = switchboard.NormalizeEmail(address)
	at := strings.LastIndexByte(address, '@')
	if at < 0 {
		return address
	}
	local, domain := address[:at], address[at:]
	if plus := strings.IndexByte(local, '+'); plus > 0 {
		local = local[:plus]
	}
	return local + domain
}
