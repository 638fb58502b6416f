package mail_test

import (
	"strings"
	"testing"
	"time"

	"switchboard/mail"
)

func TestInvitation(t *testing.T) {
	link := "https://switchboard.example.com/invitations/abc?x=1&y=2"
	e, err := mail.Invitation(mail.InvitationMessage{
		To:           "bob@example.com",
		InviterName:  "Jane Doe",
		InviterEmail: "jane@example.com",
		OrgName:      "Acme",
		RoleName:     "Sender",
		Link:         link,
		ExpiresAt:    time.Date(2026, 3, 9, 14, 5, 0, 0, time.FixedZone("CET", 3600)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if e.To != "bob@example.com" {
		t.Errorf("To = %q", e.To)
	}
	if want := "Join “Acme” on Switchboard"; e.Subject != want {
		t.Errorf("Subject = %q, want %q", e.Subject, want)
	}
	// Names are quoted and addresses inert (see TestInvitationNamesAreInert).
	for _, want := range []string{"“Jane Doe”", "jane[@]example[.]com", "“Acme”", "“Sender”", link, "switchboard.example.com:", "Monday 9 March 2026 at 13:05 UTC"} {
		if !strings.Contains(e.Text, want) {
			t.Errorf("text body lacks %q:\n%s", want, e.Text)
		}
	}
	for _, want := range []string{"“Jane Doe”", "jane[@]example[.]com", "<strong>“Acme”</strong>", "<strong>switchboard.example.com</strong>", "“Sender”", `href="https://switchboard.example.com/invitations/abc?x=1&amp;y=2"`, "Monday 9 March 2026 at 13:05 UTC"} {
		if !strings.Contains(e.HTML, want) {
			t.Errorf("HTML body lacks %q:\n%s", want, e.HTML)
		}
	}
	if got := strings.Count(e.HTML, "<h1"); got > 1 {
		t.Errorf("%d h1 in the HTML body", got)
	}
}

// Names are chosen by people, some of them hostile: they are escaped in
// the HTML and kept on one line everywhere.
func TestInvitationEscapes(t *testing.T) {
	e, err := mail.Invitation(mail.InvitationMessage{
		To:           "bob@example.com",
		InviterName:  `Eve "<img src=x onerror=alert(1)>"`,
		InviterEmail: "eve@example.com",
		OrgName:      "<script>alert(1)</script>\r\nBcc: x@y.example",
		RoleName:     "Admin & <b>co</b>",
		Link:         "https://switchboard.example.com/invitations/abc",
		ExpiresAt:    time.Now().Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script>", "<img", "<b>co"} {
		if strings.Contains(e.HTML, bad) {
			t.Errorf("HTML body holds %q unescaped:\n%s", bad, e.HTML)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;", "Admin &amp; &lt;b&gt;co&lt;/b&gt;"} {
		if !strings.Contains(e.HTML, want) {
			t.Errorf("HTML body lacks %q:\n%s", want, e.HTML)
		}
	}
	if strings.ContainsAny(e.Subject, "\r\n") {
		t.Errorf("subject holds CR or LF: %q", e.Subject)
	}
	if want := "“<script>alert(1)</script> Bcc: x[@]y[.]example”"; !strings.Contains(e.Subject, want) {
		t.Errorf("subject = %q, want the name on one line", e.Subject)
	}
	if strings.Contains(e.Text, "\r") || strings.Contains(e.Text, "\nBcc:") {
		t.Errorf("text body lets the name break a line:\n%s", e.Text)
	}
}

func TestInvitationSubjectControlCharacters(t *testing.T) {
	for _, org := range []string{"Acme\rCo", "Acme\nCo", "Acme\u2028Co", "Acme\u0085Co", "Acme\tCo", "Acme\x00Co", "Acme\u202eCo", "  Acme   Co  "} {
		e, err := mail.Invitation(mail.InvitationMessage{
			To: "bob@example.com", InviterName: "Jane", OrgName: org, RoleName: "Sender",
			Link: "https://switchboard.example.com/i/1", ExpiresAt: time.Now(),
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := "Join “Acme Co” on Switchboard"; e.Subject != want {
			t.Errorf("org %q: subject = %q, want %q", org, e.Subject, want)
		}
	}
}

func TestInvitationWithoutInviterName(t *testing.T) {
	e, err := mail.Invitation(mail.InvitationMessage{
		To: "bob@example.com", InviterEmail: "jane@example.com", OrgName: "Acme", RoleName: "Sender",
		Link: "https://switchboard.example.com/i/1", ExpiresAt: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "Join “Acme” on Switchboard"; e.Subject != want {
		t.Errorf("subject = %q, want %q", e.Subject, want)
	}
	if !strings.Contains(e.Text, "sent by jane[@]example[.]com.") {
		t.Errorf("the inviter's address is not shown in their name's place:\n%s", e.Text)
	}
	if strings.Contains(e.Text, "(jane[@]example[.]com)") {
		t.Errorf("the address is shown twice:\n%s", e.Text)
	}
}

func TestInvitationRefusesBadInput(t *testing.T) {
	ok := mail.InvitationMessage{
		To: "bob@example.com", InviterName: "Jane", OrgName: "Acme", RoleName: "Sender",
		Link: "https://switchboard.example.com/i/1", ExpiresAt: time.Now(),
	}
	cases := map[string]func(m *mail.InvitationMessage){
		"recipient with CRLF":  func(m *mail.InvitationMessage) { m.To = "bob@example.com\r\nBcc: x@y" },
		"recipient with name":  func(m *mail.InvitationMessage) { m.To = "Bob <bob@example.com>" },
		"no link":              func(m *mail.InvitationMessage) { m.Link = "" },
		"relative link":        func(m *mail.InvitationMessage) { m.Link = "/invitations/abc" },
		"javascript link":      func(m *mail.InvitationMessage) { m.Link = "javascript:alert(1)" },
		"link with a new line": func(m *mail.InvitationMessage) { m.Link = "https://example.com/a\nClick https://evil.example" },
		"no expiry":            func(m *mail.InvitationMessage) { m.ExpiresAt = time.Time{} },
		"no role":              func(m *mail.InvitationMessage) { m.RoleName = "\r\n" },
	}
	for name, change := range cases {
		m := ok
		change(&m)
		if _, err := mail.Invitation(m); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := mail.Invitation(ok); err != nil {
		t.Errorf("valid message: %v", err)
	}
}

func TestPasswordReset(t *testing.T) {
	link := "https://switchboard.example.com/reset/t0ken"
	e, err := mail.PasswordReset(mail.PasswordResetMessage{To: "jane@example.com", Name: "Jane <b>Doe</b>", Link: link, Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if e.Subject != "Reset your Switchboard password" {
		t.Errorf("Subject = %q", e.Subject)
	}
	for _, want := range []string{"Hello Jane <b>Doe</b>,", link, "1 hour"} {
		if !strings.Contains(e.Text, want) {
			t.Errorf("text body lacks %q:\n%s", want, e.Text)
		}
	}
	for _, want := range []string{"Hello Jane &lt;b&gt;Doe&lt;/b&gt;,", `href="` + link + `"`, "1 hour"} {
		if !strings.Contains(e.HTML, want) {
			t.Errorf("HTML body lacks %q:\n%s", want, e.HTML)
		}
	}
	if strings.Contains(e.HTML, "<b>Doe") {
		t.Errorf("name not escaped in HTML:\n%s", e.HTML)
	}

	for lifetime, want := range map[time.Duration]string{
		30 * time.Minute: "30 minutes", 90 * time.Minute: "90 minutes", 2 * time.Hour: "2 hours", 24 * time.Hour: "1 day", 72 * time.Hour: "3 days",
	} {
		e, err := mail.PasswordReset(mail.PasswordResetMessage{To: "jane@example.com", Link: link, Lifetime: lifetime})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(e.Text, "for "+want+".") || !strings.Contains(e.HTML, "for "+want+".") {
			t.Errorf("lifetime %s not written as %q:\n%s", lifetime, want, e.Text)
		}
		if !strings.HasPrefix(e.Text, "Hello,\n") {
			t.Errorf("without a name, the text starts %q", e.Text[:20])
		}
	}

	if _, err := mail.PasswordReset(mail.PasswordResetMessage{To: "jane@example.com", Link: link}); err == nil {
		t.Error("no lifetime: no error")
	}
	if _, err := mail.PasswordReset(mail.PasswordResetMessage{To: "jane@example.com", Link: "ftp://x/y", Lifetime: time.Hour}); err == nil {
		t.Error("ftp link: no error")
	}
}
