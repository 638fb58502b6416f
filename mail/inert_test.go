package mail_test

import (
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"switchboard/mail"
)

// What mail clients turn into links in text: URLs with a scheme, www.
// names, host names ending in a top-level label of letters, and addresses.
var linkLike = regexp.MustCompile(`(?i)[a-z][a-z0-9+.-]*:/+[^\s"<>]*|www\.[^\s"<>]*|[\p{L}\p{N}._%+-]+@[\p{L}\p{N}.-]+|[\p{L}\p{N}-]+(?:[.\x{3002}\x{ff0e}\x{ff61}][\p{L}\p{N}-]+)*[.\x{3002}\x{ff0e}\x{ff61}]\p{L}{2,}[^\s"<>]*`)

var (
	tag  = regexp.MustCompile(`<[^>]*>`)
	href = regexp.MustCompile(`(?i)<a\b[^>]*\bhref="([^"]*)"`)
)

// wantOnlyPanelLinks fails unless every link or link-like text in the email
// leads to the panel: what people typed into names stays inert.
func wantOnlyPanelLinks(t *testing.T, what, panelLink, text, body string) {
	t.Helper()
	panelHost := strings.SplitN(strings.TrimPrefix(panelLink, "https://"), "/", 2)[0]
	ok := func(m string) bool {
		m = strings.TrimRight(m, ".,;:)”")
		return m == panelLink || m == panelHost || strings.HasPrefix(panelLink, m)
	}
	for _, m := range linkLike.FindAllString(text, -1) {
		if !ok(m) {
			t.Errorf("%s: the text body holds %q, which a mail client would make a link:\n%s", what, m, text)
		}
	}
	for _, m := range href.FindAllStringSubmatch(body, -1) {
		if html.UnescapeString(m[1]) != panelLink {
			t.Errorf("%s: the HTML body links to %q", what, m[1])
		}
	}
	visible := html.UnescapeString(tag.ReplaceAllString(body, " "))
	for _, m := range linkLike.FindAllString(visible, -1) {
		if !ok(m) {
			t.Errorf("%s: the HTML body shows %q, which a mail client would make a link:\n%s", what, m, visible)
		}
	}
}

// The review's phishing names (issue 6, point 3): an inviter called
// "Urgent: verify your account at" "https://evil.example/login", and the
// same tricks in an organisation's name, a role's name and a reset's name.
func TestInvitationNamesAreInert(t *testing.T) {
	const link = "https://panel.example.test/invitations/t0ken"
	cases := []struct {
		name string
		m    mail.InvitationMessage
	}{
		{"the review's inviter", mail.InvitationMessage{InviterName: "Urgent: verify your account at https://evil.example/login", InviterEmail: "eve@evil.example", OrgName: "Acme"}},
		{"a link as the organisation", mail.InvitationMessage{InviterName: "Jane", OrgName: "https://evil.example/login"}},
		{"an address as the organisation", mail.InvitationMessage{InviterName: "Jane", OrgName: "Write to support@evil.example now"}},
		{"a bare host and www", mail.InvitationMessage{InviterName: "see www.evil.example", OrgName: "evil.example/login"}},
		{"fullwidth and ideographic dots", mail.InvitationMessage{InviterName: "evil．example", OrgName: "evil。example／login"}},
		{"a stored zero-width space", mail.InvitationMessage{InviterName: "evil\u200b.\u200bexample", OrgName: "evil\u00ad.example"}},
		{"a link as the role", mail.InvitationMessage{InviterName: "Jane", OrgName: "Acme", RoleName: "http://evil.example"}},
	}
	for _, c := range cases {
		m := c.m
		m.To, m.Link, m.ExpiresAt = "bob@example.com", link, time.Now()
		if m.RoleName == "" {
			m.RoleName = "Sender"
		}
		e, err := mail.Invitation(m)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		// The subject names the organisation, quoted, and never the
		// inviter.
		if !strings.HasPrefix(e.Subject, "Join “") || !strings.HasSuffix(e.Subject, "” on Switchboard") {
			t.Errorf("%s: subject %q does not quote the organisation", c.name, e.Subject)
		}
		for _, word := range []string{"Urgent", "verify", "see ", "Jane"} {
			if strings.Contains(e.Subject, word) {
				t.Errorf("%s: subject %q carries the inviter's name", c.name, e.Subject)
			}
		}
		if linkLike.MatchString(e.Subject) {
			t.Errorf("%s: subject %q holds a link", c.name, e.Subject)
		}
		wantOnlyPanelLinks(t, c.name, link, e.Text, e.HTML)
		// The panel's own address is there, prominent, in both bodies.
		if !strings.Contains(e.Text, "Switchboard at panel.example.test") || !strings.Contains(e.HTML, "<strong>panel.example.test</strong>") {
			t.Errorf("%s: the panel's address is not prominent:\n%s\n%s", c.name, e.Text, e.HTML)
		}
	}

	// What was typed stays readable, defanged as security teams do.
	e, err := mail.Invitation(mail.InvitationMessage{To: "bob@example.com", Link: link, ExpiresAt: time.Now(), RoleName: "Sender",
		InviterName: "Urgent: verify your account at https://evil.example/login", OrgName: "https://evil.example/login"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "Join “https[:]//evil[.]example/login” on Switchboard"; e.Subject != want {
		t.Errorf("subject = %q, want %q", e.Subject, want)
	}
	if want := "sent by “Urgent: verify your account at https[:]//evil[.]example/login”"; !strings.Contains(e.Text, want) {
		t.Errorf("text lacks %q:\n%s", want, e.Text)
	}
	// A quote in a name cannot close the quotation and speak in the
	// panel's voice; a long name is cut.
	e, err = mail.Invitation(mail.InvitationMessage{To: "bob@example.com", Link: link, ExpiresAt: time.Now(), RoleName: "Sender",
		InviterName: "Jane", OrgName: "Acme” has suspended your account, please log in again at once to keep it open"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(e.Subject, "”") != 1 || !strings.Contains(e.Subject, "…” on Switchboard") {
		t.Errorf("subject = %q", e.Subject)
	}
}

func TestPasswordResetNameIsInert(t *testing.T) {
	const link = "https://panel.example.test/password/reset/t0ken"
	e, err := mail.PasswordReset(mail.PasswordResetMessage{To: "jane@example.com", Name: "Urgent: verify your account at https://evil.example/login", Link: link, Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if e.Subject != mail.PasswordResetSubject {
		t.Errorf("subject = %q", e.Subject)
	}
	wantOnlyPanelLinks(t, "reset", link, e.Text, e.HTML)
	if !strings.Contains(e.Text, "https[:]//evil[.]example/login") {
		t.Errorf("the name is not shown defanged:\n%s", e.Text)
	}
}
