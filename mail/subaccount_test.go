package mail_test

import (
	"strings"
	"testing"
	"time"

	"switchboard/mail"
)

// TestSubaccountInvitation: the invitation to own a subaccount says what is
// offered, in both bodies: the subaccount, its parent (which pays) and who
// invites; names people chose stay quoted, escaped and inert, and the
// subject names the subaccount only.
func TestSubaccountInvitation(t *testing.T) {
	const link = "https://panel.example.test/invitations/t0ken"
	e, err := mail.Invitation(mail.InvitationMessage{To: "mari@example.com", InviterName: "Ada Lovelace", InviterEmail: "ada@example.com",
		OrgName: "Acme Estonia", ParentName: "Acme", RoleName: "Owner", Link: link, ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if e.Subject != "Own “Acme Estonia” on Switchboard" {
		t.Errorf("subject %q", e.Subject)
	}
	for _, want := range []string{"You are invited to own “Acme Estonia”, a subaccount of “Acme”, on Switchboard at panel.example.test.",
		"“Ada Lovelace” invites you to own “Acme Estonia”, a subaccount of “Acme” (sent by ada[@]example[.]com).", "“Acme” pays for its messages", link} {
		if !strings.Contains(e.Text, want) {
			t.Errorf("text body lacks %q:\n%s", want, e.Text)
		}
	}
	for _, want := range []string{"You are invited to own <strong>“Acme Estonia”</strong>, a subaccount of <strong>“Acme”</strong>, on Switchboard at <strong>panel.example.test</strong>.",
		"“Ada Lovelace” invites you to own “Acme Estonia”, a subaccount of “Acme”"} {
		if !strings.Contains(e.HTML, want) {
			t.Errorf("HTML body lacks %q:\n%s", want, e.HTML)
		}
	}

	// A hostile parent's name: escaped, on one line, inert.
	e, err = mail.Invitation(mail.InvitationMessage{To: "mari@example.com", InviterName: "Jane", OrgName: "Acme Estonia",
		ParentName: "<b>Visit https://evil.example/login</b>\r\nBcc: x@y.example", RoleName: "Owner", Link: link, ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(e.HTML, "<b>Visit") || strings.Contains(e.Text, "\nBcc:") || strings.ContainsAny(e.Subject, "\r\n") || strings.Contains(e.Subject, "evil") {
		t.Errorf("the parent's name escaped its place:\n%s\n%s\n%s", e.Subject, e.Text, e.HTML)
	}
	wantOnlyPanelLinks(t, "a link as the parent", link, e.Text, e.HTML)
}
