package mail_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"switchboard/mail"
)

func TestLogSender(t *testing.T) {
	var buf bytes.Buffer
	sender := mail.LogSender{Logger: slog.New(slog.NewTextHandler(&buf, nil))}
	link := "https://switchboard.example.com/reset/t0ken"
	e, err := mail.PasswordReset(mail.PasswordResetMessage{To: "jane@example.com", Name: "Jane", Link: link, Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := sender.Send(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"level=INFO", "to=jane@example.com", `subject="Reset your Switchboard password"`, link} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}
