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
	"unicode"

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
	// ParentName is set for a subaccount's invitation (issue 12): the one
	// who accepts owns OrgName, a subaccount of ParentName.
	ParentName string
}

// invitationView is an InvitationMessage made ready to show: every name on
// one line and inert (see inert), the expiry written out.
type invitationView struct {
	Subject      string
	Inviter      string
	InviterEmail string // empty when Inviter already is the address
	Org          string
	Role         string
	Link         string
	// Host is the panel's own address, from the link (so from --base-url):
	// with the organisation, it is what the reader should judge the email
	// by, so both stand out and the names people chose do not.
	Host    string
	Expires string
	Parent  string // quoted; "" unless the invitation is a subaccount's
}

// Invitation returns the email that invites m.To to join an organisation.
// Names, which people chose (some of them hostile), are put on one line,
// quoted and made inert everywhere, and escaped in the HTML body. The
// subject holds the organisation's name in quotes and not the inviter's, so
// that a name such as "Urgent: verify your account at" cannot speak in the
// panel's voice.
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
		Inviter:      inert(m.InviterName),
		InviterEmail: inert(m.InviterEmail),
		Org:          inert(m.OrgName),
		Role:         inert(m.RoleName),
		Link:         m.Link,
		Host:         linkHost(m.Link),
		Expires:      formatTime(m.ExpiresAt),
	}
	switch {
	case v.Inviter == "" && v.InviterEmail == "":
		v.Inviter = "someone"
	case v.Inviter == "":
		v.Inviter, v.InviterEmail = v.InviterEmail, ""
	default:
		v.Inviter = quote(v.Inviter, maxQuotedInBody)
	}
	if v.Org == "" {
		v.Org = "an organisation"
		v.Subject = "Join an organisation on Switchboard"
	} else {
		v.Subject = "Join " + quote(v.Org, MaxQuotedName) + " on Switchboard"
		v.Org = quote(v.Org, maxQuotedInBody)
	}
	if v.Role == "" {
		return nil, errors.New("mail: invitation: the role is missing")
	}
	v.Role = quote(v.Role, maxQuotedInBody)
	if p := inert(m.ParentName); p != "" {
		return subaccountInvitation(m.To, v, quote(p, maxQuotedInBody), quote(inert(m.OrgName), MaxQuotedName))
	}

	var text strings.Builder
	text.WriteString("Hello,\n\n")
	fmt.Fprintf(&text, "You are invited to join %s on Switchboard at %s, with the role %s.\n\n", v.Org, v.Host, v.Role)
	text.WriteString("The invitation was sent by " + v.Inviter)
	if v.InviterEmail != "" {
		text.WriteString(" (" + v.InviterEmail + ")")
	}
	text.WriteString(".\n\n")
	fmt.Fprintf(&text, "To accept the invitation, open this link on %s:\n\n%s\n\n", v.Host, v.Link)
	fmt.Fprintf(&text, "This invitation expires on %s. If you were not expecting it, you can ignore this email.\n", v.Expires)

	return build(m.To, v.Subject, text.String(), invitationHTML(v))
}

// subaccountInvitation is the invitation to own a subaccount: what is
// offered (the subaccount, whose parent pays for it) first and strongest,
// as for any invitation, then who offers it.
func subaccountInvitation(to string, v invitationView, parent, subjectOrg string) (*switchboard.Email, error) {
	v.Parent = parent
	v.Subject = "Own " + subjectOrg + " on Switchboard"
	var text strings.Builder
	text.WriteString("Hello,\n\n")
	fmt.Fprintf(&text, "You are invited to own %s, a subaccount of %s, on Switchboard at %s.\n\n", v.Org, v.Parent, v.Host)
	fmt.Fprintf(&text, "%s invites you to own %s, a subaccount of %s", v.Inviter, v.Org, v.Parent)
	if v.InviterEmail != "" {
		text.WriteString(" (sent by " + v.InviterEmail + ")")
	}
	fmt.Fprintf(&text, ". The subaccount is yours alone; %s pays for its messages.\n\n", v.Parent)
	fmt.Fprintf(&text, "To accept the invitation, open this link on %s:\n\n%s\n\n", v.Host, v.Link)
	fmt.Fprintf(&text, "This invitation expires on %s. If you were not expecting it, you can ignore this email.\n", v.Expires)
	return build(to, v.Subject, text.String(), subaccountInvitationHTML(v))
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
	Name     string // inert
	Link     string
	Host     string // the panel's own address, from the link
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
		Name:     inert(m.Name),
		Link:     m.Link,
		Host:     linkHost(m.Link),
		Lifetime: formatDuration(m.Lifetime),
	}

	var text strings.Builder
	if v.Name != "" {
		fmt.Fprintf(&text, "Hello %s,\n\n", v.Name)
	} else {
		text.WriteString("Hello,\n\n")
	}
	text.WriteString("Someone, probably you, asked to reset the password of your Switchboard account.\n\n")
	fmt.Fprintf(&text, "To choose a new password, open this link on %s:\n\n%s\n\n", v.Host, v.Link)
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

// MaxQuotedName is how many characters of a name are quoted in a subject; a
// longer name is cut with an ellipsis, so that the subject stays short
// enough to show "on Switchboard".
const MaxQuotedName = 60

// maxQuotedInBody is the same in a body: room for a first and a last name of
// the longest allowed, made inert.
const maxQuotedInBody = 300

// quote puts name between typographic quotes, so that it reads as a name and
// not as part of the panel's sentence. Quotes inside it become straight ones,
// so that it cannot close the quotation early and go on in the panel's
// voice, and it is cut to max characters.
func quote(name string, max int) string {
	name = strings.NewReplacer("\u201c", `"`, "\u201d", `"`).Replace(name)
	if r := []rune(name); len(r) > max {
		name = strings.TrimSpace(string(r[:max-1])) + "\u2026"
	}
	return "\u201c" + name + "\u201d"
}

// inert returns s on one line (see oneLine) and unable to become a link.
//
// Mail clients turn whatever looks like a URL, a host name or an email
// address into a link, in the text body and in the HTML body's text alike
// (Gmail, Outlook and Apple Mail all do): escaping the HTML is not enough.
// Markup tricks (a zero-width space or an empty <span> inside the host name)
// are undone by some clients and by copy and paste. What no linkifier takes
// for a host or an address is one with brackets in it, so, as security
// teams do when they share hostile addresses ("defanging"), a dot between two
// letters or digits becomes "[.]", "@" becomes "[@]" and ":/" becomes
// "[:]/": "https://evil.example/login" reads "https[:]//evil[.]example/login".
// Every name stays readable; none is clickable. Invisible format characters
// (refused in new names, but perhaps stored before) are dropped first, so
// that none can keep a dot from being seen as one.
func inert(s string) string {
	r := []rune(strings.Map(func(r rune) rune {
		if switchboard.IsInvisibleFormat(r) && !unsafeInLine(r) {
			return -1
		}
		return r
	}, oneLine(s)))
	var b strings.Builder
	for i, c := range r {
		prev, next := rune(' '), rune(' ')
		if i > 0 {
			prev = r[i-1]
		}
		if i+1 < len(r) {
			next = r[i+1]
		}
		switch {
		case isDot(c) && inHostName(prev) && inHostName(next):
			b.WriteString("[.]")
		case c == '@' || c == '\uff20' || c == '\ufe6b':
			b.WriteString("[@]")
		case (c == ':' || c == '\uff1a') && (next == '/' || next == '\\' || next == '\uff0f'):
			b.WriteString("[:]")
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// isDot reports whether r separates the labels of a host name: the full
// stop, and the ideographic and fullwidth ones that IDNA maps to it.
func isDot(r rune) bool {
	return r == '.' || r == '\u3002' || r == '\uff0e' || r == '\uff61'
}

// inHostName reports whether r may stand next to a dot in a host name.
func inHostName(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || r == '-' || r == '_'
}

// linkHost returns the host of a link checked by checkLink.
func linkHost(link string) string {
	u, err := url.Parse(link)
	if err != nil {
		return ""
	}
	return u.Host
}
