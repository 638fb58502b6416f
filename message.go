package switchboard

import (
	"strings"
	"time"
	"unicode"
)

// MessageStatus is where a message is on its way (PRODUCT.md § Messages and
// the gateway).
type MessageStatus string

// The statuses of a message.
const (
	StatusQueued    MessageStatus = "queued"    // debited, waiting for the delivery worker
	StatusSent      MessageStatus = "sent"      // the gateway accepted it
	StatusDelivered MessageStatus = "delivered" // the gateway reported it delivered
	StatusFailed    MessageStatus = "failed"    // refused for good or reported failed; see Error
)

// MessageStatuses lists the statuses in the order a message passes them.
var MessageStatuses = []MessageStatus{StatusQueued, StatusSent, StatusDelivered, StatusFailed}

// Label is the status as people read it: "Delivered".
func (s MessageStatus) Label() string {
	switch s {
	case StatusQueued:
		return "Queued"
	case StatusSent:
		return "Sent"
	case StatusDelivered:
		return "Delivered"
	case StatusFailed:
		return "Failed"
	}
	return string(s)
}

// Encoding is how a message's text travels: GSM-7 or UCS-2 (GSM 03.38).
type Encoding string

// The two encodings.
const (
	GSM7 Encoding = "GSM-7"
	UCS2 Encoding = "UCS-2"
)

// Message is one SMS to one recipient. Price is what it cost (parts × the
// destination's price per part), debited when it was queued.
type Message struct {
	ID        int64
	OrgID     int64
	BatchID   int64 // the send (or campaign start, or API call) it was part of
	From      string
	To        string // E.164
	Text      string // as it leaves, after auto-replace
	Encoding  Encoding
	Parts     int
	Price     Money
	Status    MessageStatus
	Error     string // why it failed
	Refunded  bool   // its price went back to the balance (at most once)
	CreatedBy int64  // the profile that sent it; 0 for the API
	APIKeyID  int64  // the API key that sent it; 0 for the pages and campaigns
	CreatedAt time.Time
	// SendAt is when an API send asked it to leave (send_at); nil: at once.
	SendAt *time.Time
	// SentAt is when the gateway accepted it, StatusAt when its status
	// last changed.
	SentAt   *time.Time
	StatusAt time.Time
}

// LedgerKind is what moved a balance.
type LedgerKind string

// The movements of a balance.
const (
	LedgerCredit LedgerKind = "credit" // an invoice was paid
	LedgerSpend  LedgerKind = "spend"  // messages were queued
	LedgerRefund LedgerKind = "refund" // a message was refused for good
)

// LedgerEntry is one movement of an organisation's balance. Amount is
// positive for credits and refunds and negative for spends; Balance is
// the balance after it.
type LedgerEntry struct {
	ID          int64
	OrgID       int64
	Kind        LedgerKind
	Amount      Money
	Balance     Money
	Description string // "Invoice INV-2026-000001", "3 messages", "Refund of message 42"
	InvoiceID   int64  // for credits
	BatchID     int64  // for spends
	MessageID   int64  // for refunds
	CreatedAt   time.Time
}

// SenderNameStatus is where an application for a sender name stands.
type SenderNameStatus string

// The statuses of a sender name.
const (
	SenderPending  SenderNameStatus = "pending"
	SenderApproved SenderNameStatus = "approved"
	SenderRejected SenderNameStatus = "rejected"
)

// SenderName is a name (or number) an organisation applied to send from;
// only approved ones appear in From.
type SenderName struct {
	ID          int64
	OrgID       int64
	Name        string
	UseCase     string
	Status      SenderNameStatus
	Reason      string // why it was rejected
	RequestedBy int64
	CreatedAt   time.Time
	DecidedAt   *time.Time

	OrgName string // joined, for the operator's list
}

// Validate checks the application: a Sender name of 3–11 letters, digits
// and spaces with at least one letter, or a number of up to 15 digits; a
// Use case.
func (s *SenderName) Validate() error {
	f := FieldErrors{}
	s.Name = strings.TrimSpace(s.Name)
	s.UseCase = strings.TrimSpace(s.UseCase)
	if msg := SenderNameProblem(s.Name); msg != "" {
		f.Add("name", msg)
	}
	if s.UseCase == "" {
		f.Add("use_case", "Say what you will send from this name, such as order confirmations or appointment reminders.")
	} else if len([]rune(s.UseCase)) > 500 {
		f.Add("use_case", "Describe the use case in 500 characters or fewer.")
	}
	return f.Err()
}

// SenderNameProblem returns what is wrong with a sender name, or "".
func SenderNameProblem(name string) string {
	if name == "" {
		return "Enter the sender name, such as your brand."
	}
	digits, letters := 0, 0
	for _, r := range name {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r < unicode.MaxASCII && unicode.IsLetter(r):
			letters++
		case r == ' ':
		case r == '+' && digits == 0 && letters == 0:
		default:
			return "A sender name holds only letters A–Z, digits and spaces."
		}
	}
	if letters == 0 {
		n := strings.TrimPrefix(name, "+")
		if strings.Trim(n, "0123456789") != "" || len(n) > 15 {
			return "A sender number has at most 15 digits, without spaces."
		}
		return ""
	}
	if strings.Contains(name, "+") {
		return "A sender name holds only letters A–Z, digits and spaces."
	}
	if n := len(name); n < 3 || n > 11 {
		return "A sender name is 3 to 11 characters long (letters, digits and spaces)."
	}
	return ""
}

// AutoReplaceMode is an organisation's auto-replace setting (Messente's
// feature, PRODUCT.md § Messages and the gateway).
type AutoReplaceMode string

// The three modes.
const (
	AutoReplaceOff  AutoReplaceMode = "off"  // the text leaves as typed
	AutoReplaceOn   AutoReplaceMode = "on"   // the Find → Replace table is applied
	AutoReplaceFull AutoReplaceMode = "full" // the table, then every character outside GSM-7 becomes its closest GSM-7 character
)

// Replacement is one row of the auto-replace table.
type Replacement struct {
	Find    string
	Replace string
}

// AutoReplace is an organisation's auto-replace setting and table.
type AutoReplace struct {
	Mode  AutoReplaceMode
	Rules []Replacement
}

// Invoice is a bill for credits, numbered without gaps across the instance
// (INV-2026-000001). Buyer and seller are copied when it is issued: an
// invoice never changes when company details change later.
type Invoice struct {
	ID       int64
	Number   string
	OrgID    int64 // 0 once the organisation was deleted; the invoice stays
	Amount   Money
	Currency Currency
	Paid     bool
	PaidAt   *time.Time
	// CreatedBy is the profile that added the credits.
	CreatedBy int64
	CreatedAt time.Time

	Buyer  Party
	Seller Party
}

// Party is the seller or the buyer on an invoice.
type Party struct {
	Name      string // legal name, or the organisation's name when it has none
	Address   string
	Country   string
	VATNumber string
	Email     string
}
