package switchboard

import (
	"strconv"
	"strings"
	"time"
)

// Organisation is the business that contracts for messaging. It has members,
// exactly one of whom is its owner.
type Organisation struct {
	ID          int64
	Name        string
	LegalName   string
	VATNumber   string
	Address     string
	BillingMail string
	// Country is the ISO 3166-1 alpha-2 code of the company's country
	// ("EE"): the country of phone numbers typed without a country code.
	Country string
	// OwnerOnlyMembers switches the Members section to owner-only.
	OwnerOnlyMembers bool
	// RequireTwoFactor sends members without two-factor authentication
	// to set it up when they open the organisation (owner only).
	RequireTwoFactor bool
	CreatedAt        time.Time

	// ParentID is, for a subaccount, the organisation that funds it (0
	// for every other organisation); ParentName is its name and
	// SubaccountStatus where the subaccount is in its life.
	ParentID         int64
	ParentName       string
	SubaccountStatus SubaccountStatus
}

// IsSubaccount reports whether the organisation is a subaccount of another.
func (o *Organisation) IsSubaccount() bool { return o != nil && o.ParentID != 0 }

// Validate checks the organisation's details.
func (o *Organisation) Validate() error {
	f := FieldErrors{}
	ValidateName(f, "name", "the organisation's name", o.Name)
	validateOptional(f, "legal_name", o.LegalName, MaxNameLength)
	validateOptional(f, "vat_number", o.VATNumber, 40)
	validateOptional(f, "address", o.Address, 500)
	if o.BillingMail != "" {
		ValidateEmail(f, "billing_email", o.BillingMail)
	}
	o.Country = strings.ToUpper(strings.TrimSpace(o.Country))
	if o.Country != "" && !KnownCountry(o.Country) {
		f.Add("country", "Choose the country from the list.")
	}
	return f.Err()
}

func validateOptional(f FieldErrors, field, value string, max int) {
	if len([]rune(value)) > max {
		f.Add(field, "This is too long.")
	}
}

// Member is a profile's place in an organisation, with exactly one role.
type Member struct {
	OrgID     int64
	ProfileID int64
	Role      Role
	JoinedAt  time.Time

	// Joined from the profile, for lists.
	Email     string
	FirstName string
	LastName  string
	// TwoFactor reports whether the member's profile has two-factor
	// authentication on, for the Members page.
	TwoFactor bool
}

// Name is how the member is shown.
func (m *Member) Name() string {
	p := Profile{FirstName: m.FirstName, LastName: m.LastName}
	return p.Name()
}

// Membership is what a request inside an organisation knows about who is
// asking: the organisation and the asker's place in it, read from the
// database for this request.
type Membership struct {
	Org    *Organisation
	Member *Member
}

// Can reports whether the member may use section p now: the role's
// permissions, narrowed by the organisation's settings.
func (m *Membership) Can(p Permission) bool {
	if m == nil || m.Member == nil {
		return false
	}
	if p == PermMembers && m.Org.OwnerOnlyMembers && m.Member.Role.Kind != RoleOwner {
		return false
	}
	if m.Org.IsSubaccount() && SubaccountRefuses(p) {
		return false
	}
	return m.Member.Role.Can(p)
}

// IsOwner reports whether the member owns the organisation.
func (m *Membership) IsOwner() bool {
	return m != nil && m.Member != nil && m.Member.Role.Kind == RoleOwner
}

// MayGrant reports whether the member may give role r to someone, by
// invitation or by a change of role. Nobody grants what they do not have,
// and ownership moves only by transfer.
func (m *Membership) MayGrant(r Role) bool {
	if !m.Can(PermMembers) || r.Kind == RoleOwner {
		return false
	}
	return m.Member.Role.Covers(r)
}

// MayManage reports whether the member may change the role of, or revoke,
// target: never the owner, never themself, never someone more powerful.
func (m *Membership) MayManage(target *Member) bool {
	if !m.Can(PermMembers) || target.Role.Kind == RoleOwner || target.ProfileID == m.Member.ProfileID {
		return false
	}
	return m.Member.Role.Covers(target.Role)
}

// OrgSummary is one line of "my organisations": the organisation and my
// role in it.
type OrgSummary struct {
	ID   int64
	Name string
	Role Role
	// OwnerOnlyMembers is needed to say which sections the role reaches.
	OwnerOnlyMembers bool
	// ParentID and ParentName are set for a subaccount: the switcher marks
	// it as a subaccount of its parent.
	ParentID   int64
	ParentName string
}

// Can reports whether my role there allows p.
func (o OrgSummary) Can(p Permission) bool {
	m := Membership{Org: &Organisation{OwnerOnlyMembers: o.OwnerOnlyMembers, ParentID: o.ParentID}, Member: &Member{Role: o.Role}}
	return m.Can(p)
}

// Invitation is an offer, sent by email, to join one organisation with one
// role. Only the hash of its token is stored.
type Invitation struct {
	ID          int64
	OrgID       int64
	Email       string
	Role        Role
	InvitedBy   int64
	InviterName string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	AcceptedAt  *time.Time
	CancelledAt *time.Time
	EmailSentAt *time.Time // when its latest email went out; nil while waiting in the outbox
	// EmailAttempts counts the failed tries of the latest email so far;
	// EmailGivenUp is set when it will not be tried again (resend it), and
	// EmailRefusal then holds the receiving server's answer if it refused
	// the email for good (such as "550 5.1.1 No such user").
	EmailAttempts int
	EmailGivenUp  bool
	EmailRefusal  string

	OrgName string // joined, for the acceptance page
	// ParentName is set when the invitation is a subaccount's: the one who
	// accepts owns OrgName, a subaccount of ParentName (issue 12).
	ParentName string
}

// InvitationLifetime is how long an invitation link works.
const InvitationLifetime = 7 * 24 * time.Hour

// Usable reports whether the invitation may still be accepted at now.
func (i *Invitation) Usable(now time.Time) bool {
	return i.AcceptedAt == nil && i.CancelledAt == nil && now.Before(i.ExpiresAt)
}

// AuditEntry is one line of an organisation's audit log.
type AuditEntry struct {
	ID        int64
	OrgID     int64
	ActorID   int64
	ActorName string
	Action    string
	Target    string
	Detail    string
	IP        string
	CreatedAt time.Time
}

// Email is a message waiting in the outbox or already sent.
type Email struct {
	ID      int64
	To      string
	Subject string
	Text    string
	HTML    string
	// MessageID is the unique part of the email's Message-ID header, chosen
	// when it is queued and the same on every attempt, so that a receiver
	// can drop a repeat (delivery is at least once).
	MessageID string

	Attempts      int
	NextAttemptAt time.Time
	LastError     string
}

// Actor is who does something, for the audit log: the profile, its name and
// the client address the request came from.
type Actor struct {
	ProfileID int64
	Name      string
	IP        string
	// APIKeyID is the key of a request of the JSON API (ProfileID is 0
	// then, and Name says "API key Website (sb_live_AbCd…)").
	APIKeyID int64
}

// OrgPath is the address of a section of organisation id ("" for its
// dashboard): /orgs/{id}/{section}.
func OrgPath(id int64, section string) string {
	p := "/orgs/" + strconv.FormatInt(id, 10)
	if section != "" {
		p += "/" + section
	}
	return p
}
