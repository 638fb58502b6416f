// Package gateway sends Switchboard's messages out: the Gateway interface,
// the two gateways the operator chooses between with --gateway (Log, the
// default, and Webhook), the HMAC signature both directions of the webhook
// carry, and the delivery Worker that sends what the store queued and
// retries what met an outage.
//
// The store queues a message inside the transaction that debits it; the
// Worker sends it after that transaction has committed and records the
// outcome in a transaction of its own, so no call to a gateway ever holds a
// database transaction open.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"switchboard"
)

// Message is what a gateway is given to send: one SMS to one recipient.
type Message struct {
	// ID is the panel's message id. It is the same on every attempt, so a
	// gateway can drop a message it has already taken.
	ID       int64
	From     string
	To       string // E.164
	Text     string // as it leaves, after auto-replace
	Encoding switchboard.Encoding
	Parts    int
}

// Gateway sends messages. Send answers one of three ways:
//
//   - the status the message reached, with a nil error: StatusSent when the
//     gateway accepted it (a delivery report may follow), StatusDelivered
//     when accepting it was delivering it (the Log gateway);
//   - a *RefusedError: the gateway refused the message for good, and the
//     same answer would come every time; the message fails and is
//     refunded;
//   - any other error: an outage (no answer, a timeout, a server error);
//     the message is tried again later.
//
// Implementations must be safe for use by several goroutines at once, and
// return soon after ctx ends.
type Gateway interface {
	Send(ctx context.Context, m *Message) (switchboard.MessageStatus, error)
}

// RefusedError is a gateway's refusal for good, with its reason.
type RefusedError struct {
	// Reason is the gateway's own words, for the message's history.
	Reason string
}

func (e *RefusedError) Error() string { return "gateway: message refused: " + e.Reason }

// Refused reports whether err is a refusal for good, and its reason.
func Refused(err error) (string, bool) {
	var r *RefusedError
	if errors.As(err, &r) {
		return r.Reason, true
	}
	return "", false
}

// Log is the default gateway: it writes each message to the log and counts
// it as delivered at once, so that a panel tried out on one machine shows
// the whole way of a message without an SMS provider.
type Log struct {
	// Logger receives one line per message; nil means slog.Default().
	Logger *slog.Logger
}

// Send logs m and answers StatusDelivered.
func (g Log) Send(ctx context.Context, m *Message) (switchboard.MessageStatus, error) {
	logger := g.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger.LogAttrs(ctx, slog.LevelInfo, "message delivered to the log: no gateway is configured",
		slog.Int64("id", m.ID),
		slog.String("from", m.From),
		slog.String("to", m.To),
		slog.String("encoding", string(m.Encoding)),
		slog.Int("parts", m.Parts),
		slog.String("text", m.Text),
	)
	return switchboard.StatusDelivered, nil
}

// String names the gateway for the start-up line.
func (g Log) String() string { return "log" }

// outage wraps the cause of a failed attempt that is worth retrying.
func outage(format string, args ...any) error {
	return fmt.Errorf("gateway: "+format, args...)
}
