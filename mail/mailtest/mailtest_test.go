package mailtest_test

import (
	"net"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"switchboard/mail/mailtest"
)

// send delivers raw with the standard library's client, which knows nothing
// of this package.
func send(t *testing.T, srv *mailtest.Server, to []string, raw string) error {
	t.Helper()
	return smtp.SendMail(srv.Addr(), nil, "sender@example.com", to, []byte(strings.ReplaceAll(raw, "\n", "\r\n")))
}

const multipartBase64 = `From: Sender <sender@example.com>
To: bob@example.com
Subject: =?UTF-8?q?Caf=C3=A9_au_lait?=
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: base64

SGVsbG8gQm9iLApodHRwczovL2V4YW1wbGUuY29tL2EvYj9
4PTEmeT0yCg==
--inner
Content-Type: text/html; charset=UTF-8
Content-Transfer-Encoding: quoted-printable

<p>Hello Bob, <a href=3D"https://example.com/a/b?x=3D1&amp;y=3D2">open</a=
></p>
--inner--
--outer--
`

func TestServerParsesMessages(t *testing.T) {
	srv := mailtest.NewServer(t)
	if err := send(t, srv, []string{"bob@example.com", "carol@example.com"}, multipartBase64); err != nil {
		t.Fatal(err)
	}
	m := srv.WaitForMessage(t, "BOB@example.com", 5*time.Second)
	if m.From != "sender@example.com" || len(m.To) != 2 {
		t.Errorf("envelope = %q → %q", m.From, m.To)
	}
	if m.Subject != "Café au lait" {
		t.Errorf("subject = %q", m.Subject)
	}
	if want := "Hello Bob,\nhttps://example.com/a/b?x=1&y=2\n"; m.Text != want {
		t.Errorf("text = %q, want %q", m.Text, want)
	}
	if want := `<p>Hello Bob, <a href="https://example.com/a/b?x=1&amp;y=2">open</a></p>`; strings.TrimSpace(m.HTML) != want {
		t.Errorf("HTML = %q, want %q", m.HTML, want)
	}
	if !strings.Contains(string(m.Raw), "Content-Transfer-Encoding: base64") {
		t.Error("Raw is not the message as sent")
	}
	if m.Header.Get("To") != "bob@example.com" {
		t.Errorf("header To = %q", m.Header.Get("To"))
	}
	// Each WaitForMessage takes a new message; Messages shows them all.
	srv.WaitForMessage(t, "carol@example.com", time.Second)
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

func TestWaitForMessageTakesEachOnce(t *testing.T) {
	srv := mailtest.NewServer(t)
	for _, subject := range []string{"first", "second"} {
		if err := send(t, srv, []string{"bob@example.com"}, "Subject: "+subject+"\n\nHello\n"); err != nil {
			t.Fatal(err)
		}
	}
	if m := srv.WaitForMessage(t, "bob@example.com", time.Second); m.Subject != "first" || m.Text != "Hello\n" {
		t.Errorf("got %q %q, want the first", m.Subject, m.Text)
	}
	if m := srv.WaitForMessage(t, "bob@example.com", time.Second); m.Subject != "second" {
		t.Errorf("got %q, want the second", m.Subject)
	}

	// One arriving while WaitForMessage waits.
	go func() {
		time.Sleep(50 * time.Millisecond)
		_ = smtp.SendMail(srv.Addr(), nil, "sender@example.com", []string{"bob@example.com"}, []byte("Subject: third\r\n\r\nHi\r\n"))
	}()
	if m := srv.WaitForMessage(t, "bob@example.com", 5*time.Second); m.Subject != "third" {
		t.Errorf("got %q, want the third", m.Subject)
	}
}

func TestStopStartKeepsThePort(t *testing.T) {
	srv := mailtest.NewServer(t)
	url, addr := srv.URL(), srv.Addr()
	if !strings.HasPrefix(url, "smtp://127.0.0.1:") {
		t.Errorf("URL = %q", url)
	}
	srv.Stop()
	srv.Stop() // twice is fine
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("the port still answers after Stop")
	}
	srv.Start()
	srv.Start() // twice is fine
	if srv.URL() != url {
		t.Errorf("URL after Start = %q, want %q", srv.URL(), url)
	}
	if err := send(t, srv, []string{"bob@example.com"}, "Subject: back\n\nHi\n"); err != nil {
		t.Fatal(err)
	}
	srv.WaitForMessage(t, "bob@example.com", 5*time.Second)
}

func TestRequireAuth(t *testing.T) {
	srv := mailtest.NewServer(t)
	srv.RequireAuth("me", "secret")
	if err := send(t, srv, []string{"bob@example.com"}, "Subject: hi\n\nHi\n"); err == nil {
		t.Error("accepted an email without authentication")
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages, want none", n)
	}
}

func TestFirstLink(t *testing.T) {
	tests := []struct{ body, prefix, want string }{
		{"Open https://x.example/a?t=1 now", "https://x.example/", "https://x.example/a?t=1"},
		{"Open https://x.example/a?t=1.\n", "https://x.example/", "https://x.example/a?t=1"},
		{"(https://x.example/a)", "https://x.example/", "https://x.example/a"},
		{`<a href="https://x.example/a?b=1&amp;c=2">https://x.example/a?b=1&amp;c=2</a>`, "https://x.example/", "https://x.example/a?b=1&c=2"},
		{"https://x.example/first https://x.example/second", "https://x.example/", "https://x.example/first"},
		{"https://other.example/a", "https://x.example/", ""},
		{"anything", "", ""},
		{"<https://x.example/a>", "https://x.example/", "https://x.example/a"},
	}
	for _, tt := range tests {
		if got := mailtest.FirstLink(tt.body, tt.prefix); got != tt.want {
			t.Errorf("FirstLink(%q, %q) = %q, want %q", tt.body, tt.prefix, got, tt.want)
		}
	}
}
