package switchboard

import "time"

// Delivery is a queued message that a delivery worker claimed: the message,
// and how its earlier attempts went. The store leases it to one worker at a
// time (see store.ClaimMessages).
type Delivery struct {
	Message
	// Attempts counts the earlier attempts that met an outage; LastError
	// is what the last one said.
	Attempts  int
	LastError string
}

// DeliveryOutcome is what became of one claimed delivery, recorded by the
// store with its consequences (status, refund, queue) in one transaction.
type DeliveryOutcome struct {
	MessageID int64
	// Status is where the message went: StatusSent (the gateway accepted
	// it), StatusDelivered (accepting it was delivering it, as the log
	// gateway does), StatusFailed (refused for good, or given up: the
	// message is refunded), or StatusQueued (not delivered: tried again at
	// Retry).
	Status MessageStatus
	// Reason says why it failed (StatusFailed, shown with the message) or
	// what the outage was (StatusQueued, kept for the operator).
	Reason string
	// Retry is when to try again after an outage.
	Retry time.Time
	// Untried gives the claim back without counting an attempt: the worker
	// stopped before the gateway answered.
	Untried bool
}
