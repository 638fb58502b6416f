package mail_test

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/mail"
)

// TestLogSender prints an email as a person reads it: a block with the
// headers, the body with the link alone on its line (to copy it), and an
// end line; the log line itself carries no body, so no token.
func TestLogSender(t *testing.T) {
	var logs, out bytes.Buffer
	sender := mail.LogSender{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Out: &out}
	link := "https://switchboard.example.com/reset/t0ken"
	e, err := mail.PasswordReset(mail.PasswordResetMessage{To: "jane@example.com", Name: "Jane", Link: link, Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	e.ID = 7
	if err := sender.Send(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"level":"INFO"`, `"to":"jane@example.com"`, `"subject":"Reset your Switchboard password"`, `"id":7`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, logs.String())
		}
	}
	if strings.Contains(logs.String(), "t0ken") {
		t.Errorf("the log line holds the token:\n%s", logs.String())
	}

	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) < 5 || lines[0] != "----- email 7 -----" || lines[1] != "To: jane@example.com" ||
		lines[2] != "Subject: Reset your Switchboard password" || lines[3] != "" || lines[len(lines)-1] != "----- end of email 7 -----" {
		t.Errorf("the printed email is not a block with headers and an end line:\n%s", out.String())
	}
	if !slices.Contains(lines, link) {
		t.Errorf("the link %s is not on a line of its own:\n%s", link, out.String())
	}
	if !slices.Contains(lines, "Hello Jane,") {
		t.Errorf("the body is not printed as text:\n%s", out.String())
	}
}
