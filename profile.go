package switchboard

import (
	"net/mail"
	"strings"
	"time"
	_ "time/tzdata" // time zones are validated and shown the same on any machine
	"unicode"
	"unicode/utf8"
)

// Limits on what people type.
const (
	MaxEmailLength    = 254
	MaxNameLength     = 100
	MinPasswordLength = 8
	MaxPasswordLength = 256
)

// Profile is one person's login. It lives on its own: deleting an
// organisation never deletes a profile.
type Profile struct {
	ID        int64
	Email     string
	FirstName string
	LastName  string
	Language  string
	TimeZone  string
	// AuthEpoch changes whenever the profile's sessions must end (password
	// changed, "log out of all other sessions"); a session remembers the
	// epoch it was made in.
	AuthEpoch int64
	LastOrgID int64
	CreatedAt time.Time

	// PrivilegeEpoch changes whenever what the profile may do changes (a
	// role given or taken, joining or leaving an organisation); a session
	// made in an older one gets a new token on its next request.
	PrivilegeEpoch int64

	// TwoFactor reports whether two-factor authentication (TOTP) is on:
	// a secret confirmed by a first code (issue 13).
	TwoFactor bool
}

// Name is how the profile is shown to others.
func (p *Profile) Name() string {
	return strings.TrimSpace(p.FirstName + " " + p.LastName)
}

// Languages are the preferred languages a profile may pick, by code.
var Languages = []struct{ Code, Name string }{
	{"en", "English"},
	{"fr", "Français"},
	{"de", "Deutsch"},
	{"es", "Español"},
	{"it", "Italiano"},
	{"nl", "Nederlands"},
	{"pt", "Português"},
}

// ValidLanguage reports whether code is one of Languages.
func ValidLanguage(code string) bool {
	for _, l := range Languages {
		if l.Code == code {
			return true
		}
	}
	return false
}

// NormalizeEmail returns the form in which emails are stored and compared.
func NormalizeEmail(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

// ValidateEmail records a message under field if email is not a plain
// address such as name@example.com.
func ValidateEmail(f FieldErrors, field, email string) {
	switch {
	case email == "":
		f.Add(field, "Enter your email address.")
	case len(email) > MaxEmailLength:
		f.Add(field, "An email address can be at most 254 characters long.")
	default:
		a, err := mail.ParseAddress(email)
		at := strings.LastIndexByte(email, '@')
		if err != nil || a.Address != email || at < 1 || !strings.Contains(email[at:], ".") || strings.ContainsAny(email, " \r\n\t<>") {
			f.Add(field, "Enter an email address like name@example.com.")
		}
	}
}

// ValidateName records a message under field if name is empty, too long or
// holds control, format or bidi-control characters. what is the field's name
// in a sentence. Names reach emails read by other people, so nothing in them
// may hide text or reorder what is shown.
func ValidateName(f FieldErrors, field, what, name string) {
	switch {
	case strings.TrimSpace(name) == "":
		f.Add(field, "Enter "+what+".")
	case utf8.RuneCountInString(name) > MaxNameLength:
		f.Add(field, "This can be at most 100 characters long.")
	case !utf8.ValidString(name) || strings.ContainsFunc(name, isLineBreakOrControl):
		f.Add(field, "This cannot contain control characters or line breaks.")
	case strings.ContainsFunc(name, IsInvisibleFormat):
		f.Add(field, "This cannot contain invisible formatting characters, such as zero-width spaces or right-to-left marks. Please type it again without them.")
	}
}

func isLineBreakOrControl(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
}

// IsInvisibleFormat reports whether r is a Unicode format character
// (category Cf: zero-width space and joiners, soft hyphen, byte order mark,
// tags…) or a bidirectional control (U+202A–U+202E, U+2066–U+2069,
// U+200E, U+200F, U+061C). They show nothing themselves, yet can hide
// text, split a word that filters look for, or make "moc.live" read as
// "evil.com": the review's phishing names used them. Zero-width joiners
// inside emoji and Persian names are refused too; the price is small
// next to a name that reads differently from what it is.
func IsInvisibleFormat(r rune) bool {
	return unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Bidi_Control, r)
}

// ValidatePassword records a message under field if password is too short
// or too long. Passwords are never trimmed, truncated or case-folded; any
// character is allowed. How easy a password is to guess needs dictionaries,
// which the standard-library-only root does not carry: package password
// checks that, and calls this first.
func ValidatePassword(f FieldErrors, field, password string) {
	n := utf8.RuneCountInString(password)
	switch {
	case password == "":
		f.Add(field, "Choose a password.")
	case n < MinPasswordLength:
		f.Add(field, "Use at least 8 characters; a short sentence is easy to remember.")
	case n > MaxPasswordLength:
		f.Add(field, "Use at most 256 characters.")
	}
}

// Validate checks the editable fields of a profile (not its password).
func (p *Profile) Validate() error {
	f := FieldErrors{}
	ValidateEmail(f, "email", p.Email)
	ValidateName(f, "first_name", "your first name", p.FirstName)
	ValidateName(f, "last_name", "your last name", p.LastName)
	if p.Language != "" && !ValidLanguage(p.Language) {
		f.Add("language", "Choose a language from the list.")
	}
	if p.TimeZone != "" {
		if _, err := time.LoadLocation(p.TimeZone); err != nil || p.TimeZone == "Local" {
			f.Add("time_zone", "Choose a time zone from the list, such as Europe/Paris.")
		}
	}
	return f.Err()
}
