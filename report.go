package switchboard

import "time"

// Report is a delivery report waiting to be POSTed to its organisation's
// report URL (PRODUCT.md § API): one status change of one message, written
// by the database in the transaction of the change. The store leases it to
// one worker at a time (see store.ClaimReports).
type Report struct {
	// ID is the report's own id, sent as its event_id: the same on every
	// attempt, so that a receiver can drop a report it has already taken.
	ID        int64
	OrgID     int64
	MessageID int64
	// Status is the status the message reached (sent, delivered, failed),
	// Error the reason of a failure, At when the status changed.
	Status MessageStatus
	Error  string
	At     time.Time
	// Attempts counts the earlier attempts that failed; LastError is what
	// the last one said.
	Attempts  int
	LastError string
	// URL and Secret are the organisation's report URL and signing secret
	// as they are now, not as they were when the status changed.
	URL    string
	Secret string
	// From and To are the message's sender and recipient (E.164).
	From string
	To   string
}

// ReportResult is what became of one attempt to POST a report.
type ReportResult int

const (
	// ReportAccepted: the receiver answered 2xx; the report is done.
	ReportAccepted ReportResult = iota + 1
	// ReportRetry: the attempt failed; the report is tried again at Retry.
	ReportRetry
	// ReportDropped: the attempt failed and the report is too old to try
	// again; it is dropped.
	ReportDropped
	// ReportUntried: the worker stopped before the receiver answered; the
	// claim is given back without counting an attempt.
	ReportUntried
)

// ReportOutcome is what became of one claimed report, recorded by the
// store (see store.RecordReports).
type ReportOutcome struct {
	ReportID int64
	Result   ReportResult
	// Error says what went wrong with a failed attempt (ReportRetry,
	// ReportDropped), for the operator.
	Error string
	// Retry is when to try again (ReportRetry).
	Retry time.Time
}
