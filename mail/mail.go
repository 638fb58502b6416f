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
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"unicode"

	"switchboard"
)

// Sender delivers one email now. Implementations must be safe for use by
// several goroutines at once.
type Sender interface {
	Send(ctx context.Context, e *switchboard.Email) error
}

// LogSender prints every email instead of sending it. It is used when no
// SMTP server is configured, so that someone running Switchboard on their
// own machine can still follow invitation and reset links: this is the one
// place where a token reaches the output, by design.
type LogSender struct {
	// Logger receives one line per email, without its body; nil means
	// slog.Default().
	Logger *slog.Logger
	// Out receives each email as a plain text block that a person can read
	// and copy the link from; nil means standard error.
	Out io.Writer
}

// Send logs that the email was not sent, then prints it to Out as a block:
// a line naming it, the To and Subject headers, the text body with its
// link on a line of its own, and an end line.
func (s LogSender) Send(ctx context.Context, e *switchboard.Email) error {
	logger := s.Logger
	if logger == nil {
		logger = slog.Default()
	}
	out := s.Out
	if out == nil {
		out = os.Stderr
	}
	logger.LogAttrs(ctx, slog.LevelInfo, "email not sent: no SMTP server is configured; printed below",
		slog.Int64("id", e.ID),
		slog.String("to", e.To),
		slog.String("subject", e.Subject),
	)
	// Control characters (a terminal's escape sequences among them) are
	// dropped from the body; the lines stay.
	body := strings.Map(func(r rune) rune {
		if r != '\n' && unicode.IsControl(r) {
			return -1
		}
		return r
	}, e.Text)
	var b strings.Builder
	fmt.Fprintf(&b, "----- email %d -----\nTo: %s\nSubject: %s\n\n", e.ID, oneLine(e.To), oneLine(e.Subject))
	b.WriteString(strings.TrimRight(body, "\n"))
	fmt.Fprintf(&b, "\n----- end of email %d -----\n", e.ID)
	// One write, so that emails sent at the same time do not interleave.
	if _, err := io.WriteString(out, b.String()); err != nil {
		return fmt.Errorf("mail: print email %d: %w", e.ID, err)
	}
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
