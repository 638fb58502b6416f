package mail_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"switchboard"
	"switchboard/mail"
	"switchboard/mail/mailtest"
)

const from = "switchboard@example.com"

func newSender(t *testing.T, rawURL string) *mail.SMTPSender {
	t.Helper()
	s, err := mail.NewSMTPSender(rawURL, from)
	if err != nil {
		t.Fatalf("NewSMTPSender(%q): %v", rawURL, err)
	}
	s.Timeout = 5 * time.Second
	return s
}

func invitation(t *testing.T, orgName string) *switchboard.Email {
	t.Helper()
	e, err := mail.Invitation(mail.InvitationMessage{
		To:           "bob@example.com",
		InviterName:  "Jane Doe",
		InviterEmail: "jane@example.com",
		OrgName:      orgName,
		RoleName:     "Administrator",
		Link:         "https://switchboard.example.com/invitations/tok3n?x=1&y=2",
		ExpiresAt:    time.Date(2026, 3, 9, 14, 5, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatalf("Invitation: %v", err)
	}
	return e
}

func TestSMTPSenderDelivers(t *testing.T) {
	srv := mailtest.NewServer(t)
	sender := newSender(t, srv.URL())
	e := invitation(t, "Acme Café")

	if err := sender.Send(context.Background(), e); err != nil {
		t.Fatalf("Send: %v", err)
	}
	m := srv.WaitForMessage(t, "bob@example.com", 5*time.Second)

	if m.From != from {
		t.Errorf("envelope sender = %q, want %q", m.From, from)
	}
	if len(m.To) != 1 || m.To[0] != "bob@example.com" {
		t.Errorf("envelope recipients = %q, want only bob@example.com", m.To)
	}
	if want := "Join “Acme Café” on Switchboard"; m.Subject != want {
		t.Errorf("subject = %q, want %q", m.Subject, want)
	}
	if got := m.Header.Get("From"); !strings.Contains(got, "<"+from+">") {
		t.Errorf("From header = %q, want the sender address", got)
	}
	if got := m.Header.Get("To"); !strings.Contains(got, "bob@example.com") {
		t.Errorf("To header = %q", got)
	}
	if ct := m.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative") {
		t.Errorf("Content-Type = %q, want multipart/alternative", ct)
	}
	if m.Text != e.Text {
		t.Errorf("text body changed on the way:\n got %q\nwant %q", m.Text, e.Text)
	}
	if m.HTML != e.HTML {
		t.Errorf("HTML body changed on the way:\n got %q\nwant %q", m.HTML, e.HTML)
	}
	link := "https://switchboard.example.com/invitations/tok3n?x=1&y=2"
	if got := mailtest.FirstLink(m.Text, "https://switchboard.example.com/"); got != link {
		t.Errorf("link in text = %q, want %q", got, link)
	}
	if got := mailtest.FirstLink(m.HTML, "https://switchboard.example.com/"); got != link {
		t.Errorf("link in HTML = %q, want %q", got, link)
	}
	if m.Header.Get("Date") == "" || m.Header.Get("Message-Id") == "" {
		t.Errorf("Date or Message-ID missing: %v", m.Header)
	}
}

// A CR/LF in an organisation name, or in a subject that reached Send some
// other way, must not start a header of its own.
func TestSMTPSenderHeaderInjection(t *testing.T) {
	srv := mailtest.NewServer(t)
	sender := newSender(t, srv.URL())
	ctx := context.Background()

	viaInvitation := invitation(t, "Acme\r\nBcc: x@y.example")
	if strings.ContainsAny(viaInvitation.Subject, "\r\n") {
		t.Fatalf("Invitation let CR/LF into the subject: %q", viaInvitation.Subject)
	}
	direct := &switchboard.Email{To: "bob@example.com", Subject: "Hello\r\nBcc: x@y.example\r\nX-Evil: 1", Text: "Hi", HTML: "<p>Hi</p>"}

	for _, e := range []*switchboard.Email{viaInvitation, direct} {
		if err := sender.Send(ctx, e); err != nil {
			t.Fatalf("Send: %v", err)
		}
		m := srv.WaitForMessage(t, "bob@example.com", 5*time.Second)
		if len(m.To) != 1 {
			t.Errorf("envelope recipients = %q, want only bob@example.com", m.To)
		}
		for _, name := range []string{"Bcc", "X-Evil"} {
			if v, ok := m.Header[name]; ok {
				t.Errorf("a %s header was injected: %q", name, v)
			}
		}
		if strings.Contains(string(m.Raw), "\nBcc:") {
			t.Errorf("raw message has a Bcc line:\n%s", m.Raw)
		}
		if !strings.Contains(m.Subject, "Bcc: x") || strings.ContainsAny(m.Subject, "\r\n") {
			t.Errorf("subject = %q, want the text kept on one line", m.Subject)
		}
	}

	// A recipient that is not a plain address is refused outright.
	for _, to := range []string{"bob@example.com\r\nBcc: x@y.example", "Bob <bob@example.com>", "bob@example.com, eve@example.com", ""} {
		err := sender.Send(ctx, &switchboard.Email{To: to, Subject: "Hi", Text: "Hi"})
		if err == nil {
			t.Errorf("Send to %q: no error", to)
		}
	}
	if n := len(srv.Messages()); n != 2 {
		t.Errorf("%d messages arrived, want 2", n)
	}
}

func TestSMTPSenderAuth(t *testing.T) {
	srv := mailtest.NewServer(t)
	srv.RequireAuth("mailer@example.com", "p@ss/w:rd#1?")
	ctx := context.Background()
	e := &switchboard.Email{To: "bob@example.com", Subject: "Hi", Text: "Hello"}
	host := strings.TrimPrefix(srv.URL(), "smtp://")

	// The user name and password are percent-encoded in the URL.
	good := newSender(t, "smtp://mailer%40example.com:p%40ss%2Fw%3Ard%231%3F@"+host)
	if err := good.Send(ctx, e); err != nil {
		t.Fatalf("Send with the right password: %v", err)
	}
	if m := srv.WaitForMessage(t, "bob@example.com", 5*time.Second); m.AuthUser != "mailer@example.com" {
		t.Errorf("authenticated as %q", m.AuthUser)
	}

	bad := newSender(t, "smtp://mailer%40example.com:wrong@"+host)
	if err := bad.Send(ctx, e); err == nil {
		t.Error("Send with a wrong password: no error")
	}
	anonymous := newSender(t, srv.URL())
	if err := anonymous.Send(ctx, e); err == nil {
		t.Error("Send without a user to a server that requires one: no error")
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("%d messages arrived, want 1", n)
	}
}

// What the URL asks for is what happens: a server without TLS gets nothing
// when TLS is required.
func TestSMTPSenderTLSPolicy(t *testing.T) {
	srv := mailtest.NewServer(t)
	host := strings.TrimPrefix(srv.URL(), "smtp://")
	e := &switchboard.Email{To: "bob@example.com", Subject: "Hi", Text: "Hello"}

	for _, rawURL := range []string{"smtp://" + host + "?starttls=required", "smtps://" + host} {
		err := newSender(t, rawURL).Send(context.Background(), e)
		if err == nil {
			t.Errorf("%s: sent to a server without TLS", rawURL)
		}
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages arrived, want none", n)
	}
	if err := newSender(t, "smtp://"+host+"?starttls=opportunistic").Send(context.Background(), e); err != nil {
		t.Errorf("opportunistic STARTTLS to a plain server: %v", err)
	}
}

func TestSMTPSenderServerDown(t *testing.T) {
	srv := mailtest.NewServer(t)
	sender := newSender(t, srv.URL())
	srv.Stop()
	e := &switchboard.Email{ID: 7, To: "bob@example.com", Subject: "Hi", Text: "Hello"}
	if err := sender.Send(context.Background(), e); err == nil {
		t.Fatal("Send to a stopped server: no error")
	}
	srv.Start()
	if err := sender.Send(context.Background(), e); err != nil {
		t.Fatalf("Send after Start: %v", err)
	}
	srv.WaitForMessage(t, "bob@example.com", 5*time.Second)
}

func TestSMTPSenderConcurrent(t *testing.T) {
	srv := mailtest.NewServer(t)
	sender := newSender(t, srv.URL())
	errs := make(chan error)
	const n = 8
	for i := range n {
		go func() {
			errs <- sender.Send(context.Background(), &switchboard.Email{To: "bob@example.com", Subject: "Hi", Text: strings.Repeat("x", i)})
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := len(srv.Messages()); got != n {
		t.Errorf("%d messages arrived, want %d", got, n)
	}
}

func TestParseSMTPURL(t *testing.T) {
	good := []struct {
		url  string
		want mail.SMTPConfig
	}{
		{"smtp://mail.example.com", mail.SMTPConfig{Host: "mail.example.com", Port: 587, TLS: mail.STARTTLSOpportunistic}},
		{"smtp://mail.example.com:25", mail.SMTPConfig{Host: "mail.example.com", Port: 25, TLS: mail.STARTTLSOpportunistic}},
		{"SMTP://mail.example.com:2525/", mail.SMTPConfig{Host: "mail.example.com", Port: 2525, TLS: mail.STARTTLSOpportunistic}},
		{"smtp://mail.example.com?starttls=required", mail.SMTPConfig{Host: "mail.example.com", Port: 587, TLS: mail.STARTTLSRequired}},
		{"smtp://mail.example.com:587?starttls=opportunistic", mail.SMTPConfig{Host: "mail.example.com", Port: 587, TLS: mail.STARTTLSOpportunistic}},
		{"smtps://mail.example.com", mail.SMTPConfig{Host: "mail.example.com", Port: 465, TLS: mail.ImplicitTLS}},
		{"smtps://me:secret@mail.example.com:4650", mail.SMTPConfig{Host: "mail.example.com", Port: 4650, Username: "me", Password: "secret", TLS: mail.ImplicitTLS}},
		{"smtp://me%40example.com:p%40ss%2F%3F%23%25@127.0.0.1:1025", mail.SMTPConfig{Host: "127.0.0.1", Port: 1025, Username: "me@example.com", Password: "p@ss/?#%", TLS: mail.STARTTLSOpportunistic}},
		{"smtp://me@example.com:p@ss@mail.example.com", mail.SMTPConfig{Host: "mail.example.com", Port: 587, Username: "me@example.com", Password: "p@ss", TLS: mail.STARTTLSOpportunistic}},
		{"smtp://apikey@mail.example.com", mail.SMTPConfig{Host: "mail.example.com", Port: 587, Username: "apikey", TLS: mail.STARTTLSOpportunistic}},
	}
	for _, tt := range good {
		t.Run(tt.url, func(t *testing.T) {
			got, err := mail.ParseSMTPURL(tt.url)
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if *got != tt.want {
				t.Errorf("got %+v, want %+v", *got, tt.want)
			}
		})
	}

	bad := []struct {
		url, want string
	}{
		{"", "The SMTP URL is empty"},
		{"mail.example.com:587", "must start with smtp:// or smtps://"},
		{"http://mail.example.com", `The scheme "http" is not supported`},
		{"user:secret@mail.example.com", "must start with smtp://"},
		{"smtp://", "names no host"},
		{"smtp://:587", "names no host"},
		{"smtp://me:secret@", "names no host"},
		{"smtp://mail.example.com:abc", "The port must be a number from 1 to 65535"},
		{"smtp://mail.example.com:0", `The port must be a number from 1 to 65535, not "0".`},
		{"smtp://mail.example.com:70000", `not "70000"`},
		{"smtp://mail.example.com:", "The port after the colon is missing"},
		{"smtp://me:se/cret@mail.example.com", "must be percent-encoded"},
		{"smtp://me:se#cret@mail.example.com", "must be percent-encoded"},
		{"smtp://me:se?cret@mail.example.com", "must be percent-encoded"},
		{"smtp://me:50%zz@mail.example.com", "percent-encoded character"},
		{"smtp://:secret@mail.example.com", "a password but no user name"},
		{"smtp://mail.example.com?starttls=always", `The value "always" of starttls is unknown`},
		{"smtp://mail.example.com?starttls=required&starttls=required", "more than once"},
		{"smtp://mail.example.com?startls=required", `The option "startls" is unknown`},
		{"smtps://mail.example.com?starttls=required", "does not apply to smtps://"},
		{"smtp://mail.example.com/relay", "must not have a path"},
		{"smtp://[::1]:25", "IPv6"},
	}
	for _, tt := range bad {
		t.Run(tt.url, func(t *testing.T) {
			_, err := mail.ParseSMTPURL(tt.url)
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not say %q", msg, tt.want)
			}
			if strings.Contains(msg, "secret") || strings.Contains(msg, "cret") {
				t.Errorf("error %q repeats the password", msg)
			}
			// One sentence, fit to follow "--smtp-url: ".
			if !strings.HasSuffix(msg, ".") || strings.Count(msg, ". ") > 0 || msg[0] < 'A' || msg[0] > 'Z' {
				t.Errorf("error %q is not one sentence", msg)
			}
		})
	}
}

func TestSMTPConfigString(t *testing.T) {
	cfg, err := mail.ParseSMTPURL("smtp://me:secret@mail.example.com?starttls=required")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.String(), "smtp://me@mail.example.com:587?starttls=required"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestValidateFrom(t *testing.T) {
	for _, ok := range []string{"switchboard@example.com", "no-reply+panel@mail.example.co.uk"} {
		if err := mail.ValidateFrom(ok); err != nil {
			t.Errorf("ValidateFrom(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "switchboard", "Switchboard <switchboard@example.com>", "<switchboard@example.com>", "a@example.com\r\nBcc: x@y", "a@example.com, b@example.com", "@example.com", "a@"} {
		err := mail.ValidateFrom(bad)
		if err == nil {
			t.Errorf("ValidateFrom(%q): no error", bad)
			continue
		}
		if msg := err.Error(); !strings.HasSuffix(msg, ".") || !strings.Contains(msg, "switchboard@example.com") {
			t.Errorf("ValidateFrom(%q) = %q, want a sentence with an example", bad, msg)
		}
	}
	if _, err := mail.NewSMTPSender("smtp://mail.example.com", "Switchboard <s@example.com>"); err == nil {
		t.Error("NewSMTPSender accepted a sender with a display name")
	}
	if _, err := mail.NewSMTPSender("ftp://mail.example.com", from); err == nil {
		t.Error("NewSMTPSender accepted an ftp URL")
	}
}
