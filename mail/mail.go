// Package mail sends Switchboard's emails: it renders their bodies, delivers
// them over SMTP (or to the log when no SMTP server is configured), and runs
// the outbox worker that sends what the store queued and retries what failed.
//
// The store writes an email to the outbox inside the transaction that makes
// it necessary (an invitation, a password reset); the Worker sends it after
// that transaction has committed, so no SMTP conversation ever holds a
// database transaction open.
package mail

import (
	"context"
	"log/slog"
	"strings"
	"unicode"

	"switchboard"
)

// Sender delivers one email now. Implementations must be safe for use by
// several goroutines at once.
type Sender interface {
	Send(ctx context.Context, e *switchboard.Email) error
}

// LogSender writes every email to the log instead of sending it. It is used
// when no SMTP server is configured, so that someone running Switchboard on
// their own machine can still follow invitation and reset links.
type LogSender struct {
	// Logger receives the emails; nil means slog.Default().
	Logger *slog.Logger
}

// Send logs the whole email at Info: recipient, subject and text body, in
// which the links are readable.
func (s LogSender) Send(ctx context.Context, e *switchboard.Email) error {
	logger := s.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger.LogAttrs(ctx, slog.LevelInfo, "email not sent: no SMTP server is configured",
		slog.Int64("id", e.ID),
		slog.String("to", e.To),
		slog.String("subject", e.Subject),
		slog.String("text", e.Text),
	)
	return nil
}

// oneLine makes s safe for a header or a single line of text: control
// characters (CR and LF among them), line and paragraph separators and
// bidirectional overrides become spaces, runs of spaces become one, and the
// ends are trimmed.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unsafeInLine(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// unsafeInLine reports whether r may break a line or change how the text
// around it is displayed.
func unsafeInLine(r rune) bool {
	switch {
	case unicode.IsControl(r), r == '\u2028', r == '\u2029':
		return true
	case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}
