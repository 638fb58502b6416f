package switchboard

// QueueLengths is the work waiting in the database, read at each scrape of
// /metrics: what an operator's monitoring alerts on when a worker stalls.
type QueueLengths struct {
	// Outbox is the emails waiting to be sent (not sent, not given up).
	Outbox int64
	// Messages is the messages waiting for the delivery worker.
	Messages int64
	// Campaigns is the campaigns scheduled and not started yet.
	Campaigns int64
}
