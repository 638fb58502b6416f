package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"switchboard"
)

// InvitationMessage is what an invitation email says.
type InvitationMessage struct {
	To           string
	InviterName  string
	InviterEmail string
	OrgName      string
	RoleName     string
	// Link is the absolute acceptance URL, built from --base-url and
	// holding the token.
	Link      string
	ExpiresAt time.Time
}

// invitationView is an InvitationMessage made ready to show: every name on
// one line, the expiry written out.
type invitationView struct {
	Subject      string
	Inviter      string
	InviterEmail string // empty when Inviter already is the address
	Org          string
	Role         string
	Link         string
	Expires      string
}

// Invitation returns the email that invites m.To to join an organisation.
// Names, which people chose, are put on one line everywhere and escaped in
// the HTML body.
func Invitation(m InvitationMessage) (*switchboard.Email, error) {
	if _, err := plainAddress(m.To); err != nil {
		return nil, fmt.Errorf("mail: invitation: %w", err)
	}
	if err := checkLink(m.Link); err != nil {
		return nil, fmt.Errorf("mail: invitation: %w", err)
	}
	if m.ExpiresAt.IsZero() {
		return nil, errors.New("mail: invitation: the expiry time is missing")
	}
	v := invitationView{
		Inviter:      oneLine(m.InviterName),
		InviterEmail: oneLine(m.InviterEmail),
		Org:          oneLine(m.OrgName),
		Role:         oneLine(m.RoleName),
		Link:         m.Link,
		Expires:      formatTime(m.ExpiresAt),
	}
	switch {
	case v.Inviter == "" && v.InviterEmail == "":
		v.Inviter = "Someone"
	case v.Inviter == "":
		v.Inviter, v.InviterEmail = v.InviterEmail, ""
	}
	if v.Org == "" {
		v.Org = "an organisation"
	}
	if v.Role == "" {
		return nil, errors.New("mail: invitation: the role is missing")
	}
	v.Subject = oneLine(v.Inviter + " invited you to join " + v.Org + " on Switchboard")

	var text strings.Builder
	text.WriteString("Hello,\n\n")
	text.WriteString(v.Inviter)
	if v.InviterEmail != "" {
		text.WriteString(" (" + v.InviterEmail + ")")
	}
	fmt.Fprintf(&text, " invited you to join %s on Switchboard with the role %s.\n\n", v.Org, v.Role)
	fmt.Fprintf(&text, "To accept the invitation, open this link:\n\n%s\n\n", v.Link)
	fmt.Fprintf(&text, "This invitation expires on %s. If you were not expecting it, you can ignore this email.\n", v.Expires)

	return build(m.To, v.Subject, text.String(), invitationHTML(v))
}

// PasswordResetMessage is what a password reset email says.
type PasswordResetMessage struct {
	To   string
	Name string
	// Link is the absolute reset URL, built from --base-url and holding the
	// token.
	Link string
	// Lifetime is how long the link works.
	Lifetime time.Duration
}

// passwordResetView is a PasswordResetMessage made ready to show.
type passwordResetView struct {
	Subject  string
	Name     string
	Link     string
	Lifetime string
}

// PasswordResetSubject is the subject of every password reset email.
const PasswordResetSubject = "Reset your Switchboard password"

// PasswordReset returns the email that lets m.To choose a new password.
func PasswordReset(m PasswordResetMessage) (*switchboard.Email, error) {
	if _, err := plainAddress(m.To); err != nil {
		return nil, fmt.Errorf("mail: password reset: %w", err)
	}
	if err := checkLink(m.Link); err != nil {
		return nil, fmt.Errorf("mail: password reset: %w", err)
	}
	if m.Lifetime < time.Minute {
		return nil, fmt.Errorf("mail: password reset: a lifetime of %s is too short", m.Lifetime)
	}
	v := passwordResetView{
		Subject:  PasswordResetSubject,
		Name:     oneLine(m.Name),
		Link:     m.Link,
		Lifetime: formatDuration(m.Lifetime),
	}

	var text strings.Builder
	if v.Name != "" {
		fmt.Fprintf(&text, "Hello %s,\n\n", v.Name)
	} else {
		text.WriteString("Hello,\n\n")
	}
	text.WriteString("Someone, probably you, asked to reset the password of your Switchboard account.\n\n")
	fmt.Fprintf(&text, "To choose a new password, open this link:\n\n%s\n\n", v.Link)
	fmt.Fprintf(&text, "This link works once, for %s. If you did not ask for it, ignore this email: your password stays as it is.\n", v.Lifetime)

	return build(m.To, v.Subject, text.String(), passwordResetHTML(v))
}

// build renders the HTML body into a buffer and assembles the email.
func build(to, subject, text string, html templ.Component) (*switchboard.Email, error) {
	var buf bytes.Buffer
	if err := html.Render(context.Background(), &buf); err != nil {
		return nil, fmt.Errorf("mail: render %q: %w", subject, err)
	}
	return &switchboard.Email{To: to, Subject: oneLine(subject), Text: text, HTML: buf.String()}, nil
}

// checkLink makes sure link is an absolute http or https URL on one line, so
// that it works when clicked and cannot change the text around it.
func checkLink(link string) error {
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.ContainsFunc(link, unsafeInLine) || strings.ContainsAny(link, " \"'<>") {
		return fmt.Errorf("the link %q is not an absolute http or https URL", link)
	}
	return nil
}

// formatTime writes t for people, in UTC since the recipient's time zone is
// unknown: "Monday 9 March 2026 at 14:05 UTC".
func formatTime(t time.Time) string {
	return t.UTC().Format("Monday 2 January 2006 at 15:04 MST")
}

// formatDuration writes d in the largest whole unit that fits it, rounded
// to the minute: "1 hour", "90 minutes", "7 days".
func formatDuration(d time.Duration) string {
	d = d.Round(time.Minute)
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return strconv.FormatInt(n, 10) + " " + unit + "s"
	}
	switch {
	case d%(24*time.Hour) == 0:
		return plural(int64(d/(24*time.Hour)), "day")
	case d%time.Hour == 0:
		return plural(int64(d/time.Hour), "hour")
	}
	return plural(int64(d/time.Minute), "minute")
}
