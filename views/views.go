// Package views holds Switchboard's pages as templ components. Each page
// takes one view model; the layout reads the profile, the flash and the CSRF
// token from the request context (see WithChrome).
package views

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	"switchboard"
)

// Chrome is what every page's layout needs to know about the request.
type Chrome struct {
	Profile *switchboard.Profile
	Orgs    []switchboard.OrgSummary // the profile's organisations, for the switcher
	Current *switchboard.Membership  // the organisation in the URL, if any
	Flash   string
	// CSRF returns the session's CSRF token, making one the first time a
	// form asks for it: a page without a form starts no session.
	CSRF func() string
	// Section is the path segment of the organisation section being shown
	// ("members", "settings", "" for the dashboard) and the permission it
	// needs, so the switcher can keep the person on the same section.
	Section     string
	SectionPerm switchboard.Permission

	// csrfToken is CSRF's answer, kept for the page's other forms.
	csrfToken string
}

// csrf is the token for a form's hidden field: asked of CSRF once per
// page, however many forms the page has.
func (c *Chrome) csrf() string {
	if c.csrfToken == "" && c.CSRF != nil {
		c.csrfToken = c.CSRF()
	}
	return c.csrfToken
}

type chromeKey struct{}

// WithChrome returns ctx carrying c for the layout.
func WithChrome(ctx context.Context, c *Chrome) context.Context {
	return context.WithValue(ctx, chromeKey{}, c)
}

func chrome(ctx context.Context) *Chrome {
	if c, ok := ctx.Value(chromeKey{}).(*Chrome); ok {
		return c
	}
	return &Chrome{}
}

// Form holds what a person typed into a form and what was wrong with it.
type Form struct {
	Values  url.Values
	Errors  switchboard.FieldErrors
	Message string // a message about the whole form
}

// Value returns the typed value of field.
func (f Form) Value(field string) string { return f.Values.Get(field) }

// Error returns the message shown beside field.
func (f Form) Error(field string) string { return f.Errors[field] }

// orgPath returns the path of section in organisation id.
var orgPath = switchboard.OrgPath

// switchPath is where the switcher sends the person for organisation o: the
// same section when their role there allows it, its dashboard otherwise.
func switchPath(c *Chrome, o switchboard.OrgSummary) string {
	if c.Section != "" && (c.SectionPerm == "" || o.Can(c.SectionPerm)) {
		return orgPath(o.ID, c.Section)
	}
	return orgPath(o.ID, "")
}

func date(t time.Time) string { return t.UTC().Format("2 Jan 2006") }

func dateTime(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// when returns s if cond holds and "" otherwise: a link that is there only
// in some cases (keysetPager).
func when(cond bool, s string) string {
	if cond {
		return s
	}
	return ""
}

func plural(n int, one, many string) string { return switchboard.Plural(n, one, many) }

// word is the noun of a count shown apart from its number.
func word(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func queryEscape(s string) string { return url.QueryEscape(s) }

func searchSuffix(q string) string {
	if q == "" {
		return ""
	}
	return "?q=" + url.QueryEscape(q)
}

// hasValue reports whether the form's field holds value among its values.
func hasValue(f Form, field, value string) bool {
	for _, v := range f.Values[field] {
		if v == value {
			return true
		}
	}
	return false
}

var auditActions = map[string]string{
	"invitation.sent":                "Invitation sent",
	"invitation.resent":              "Invitation resent",
	"invitation.cancelled":           "Invitation cancelled",
	"invitation.accepted":            "Invitation accepted",
	"member.role_changed":            "Role changed",
	"member.revoked":                 "Access revoked",
	"member.left":                    "Left the organisation",
	"ownership.transferred":          "Ownership transferred",
	"role.created":                   "Role created",
	"role.updated":                   "Role changed",
	"role.deleted":                   "Role deleted",
	"setting.changed":                "Setting changed",
	"organisation.updated":           "Details changed",
	"credits.added":                  "Added credits",
	"invoice.paid":                   "Invoice paid",
	"sender_name.applied":            "Sender name applied for",
	"sender_name.approved":           "Sender name approved",
	"sender_name.rejected":           "Sender name rejected",
	"contacts.imported":              "Contacts imported",
	"contacts.exported":              "Contacts exported",
	"contact.deleted":                "Contact deleted",
	"contact.opt_out_changed":        "Opt-out changed",
	"group.created":                  "Group created",
	"group.renamed":                  "Group renamed",
	"group.deleted":                  "Group deleted",
	"campaign.created":               "Campaign scheduled",
	"campaign.changed":               "Campaign changed",
	"campaign.cancelled":             "Campaign cancelled",
	"campaign.started":               "Campaign started",
	"campaign.failed":                "Campaign failed",
	"subscription_link.created":      "Subscription link created",
	"subscription_link.switched_off": "Subscription link switched off",
	"subscription_link.switched_on":  "Subscription link switched on",
	"product.requested":              "Product requested",
	"product.decided":                "Product decided",
	"api_key.created":                "API key created",
	"api_key.revoked":                "API key revoked",
	"api.config_changed":             "API configuration changed",
	"subaccount.created":             "Subaccount created",
	"subaccount.funded":              "Subaccount funding changed",
	"subaccount.suspended":           "Subaccount suspended",
	"subaccount.resumed":             "Subaccount resumed",
	"subaccount.closed":              "Subaccount closed",
	"subaccount.joined":              "Subaccount taken over",
}

// auditWhomDetails returns the "To whom" and "Details" of an audit line.
// To whom is for people: a role or organisation event names its role or
// organisation in Details, and the sections a role was given read as
// people read them ("Organisation details, Members"), not as the keys
// stored. Lines written before this are translated here too.
func auditWhomDetails(e switchboard.AuditEntry) (whom, details string) {
	switch e.Action {
	case "role.created", "role.updated", "role.deleted":
		if e.Detail == "" {
			return "", e.Target
		}
		var names []string
		for _, key := range strings.Fields(e.Detail) {
			names = append(names, switchboard.SectionOf(switchboard.Permission(key)).Name)
		}
		return "", e.Target + ": " + strings.Join(names, ", ")
	case "organisation.updated":
		return "", e.Target
	case "organisation.two_factor_required":
		// The detail is how many members were without it then.
		if n, err := strconv.Atoi(e.Detail); err == nil {
			if n == 1 {
				return "", "1 member was without two-factor authentication"
			}
			return "", e.Detail + " members were without two-factor authentication"
		}
		return "", e.Detail
	case "credits.added", "invoice.paid":
		// The invoice and its amount: "INV-2026-000001, €50.00".
		return "", e.Target + ", " + e.Detail
	case "campaign.created", "campaign.changed", "campaign.cancelled", "campaign.started", "campaign.failed":
		// A campaign is not a person either: its name, and when it is
		// due, what it cost or why it failed.
		if e.Detail == "" {
			return "", e.Target
		}
		return "", e.Target + ": " + e.Detail
	case "sender_name.applied", "sender_name.approved", "sender_name.rejected":
		// The name is not a person: it and the use case or the reason
		// for a rejection read as the details.
		if e.Detail == "" {
			return "", e.Target
		}
		return "", e.Target + ": " + e.Detail
	case "subscription_link.created", "subscription_link.switched_off", "subscription_link.switched_on", "product.requested", "product.decided",
		"api_key.created", "api_key.revoked", "api.config_changed",
		"subaccount.created", "subaccount.funded", "subaccount.suspended", "subaccount.resumed", "subaccount.closed":
		// A link or a product is not a person either: "Website footer:
		// group Newsletter", "Voice: Declined: Not in your country yet."
		if e.Detail == "" {
			return "", e.Target
		}
		return "", e.Target + ": " + e.Detail
	}
	return e.Target, e.Detail
}

func auditAction(a string) string {
	if s, ok := auditActions[a]; ok {
		return s
	}
	return a
}

func languageOptions() []Option {
	list := make([]Option, len(switchboard.Languages))
	for i, l := range switchboard.Languages {
		list[i] = Option{Value: l.Code, Label: l.Name}
	}
	return list
}

func roleOptions(roles []switchboard.Role) []Option {
	list := make([]Option, len(roles))
	for i, r := range roles {
		list[i] = Option{Value: r.Key(), Label: r.Name}
	}
	return list
}

// RemovalNotice tells a person that someone took their access away:
// "Your access to Acme was removed by Grace Hopper on 24 Nov 2026."
func RemovalNotice(r switchboard.Removal) string {
	if r.ActorName == "" {
		return "Your access to " + r.OrgName + " was removed on " + date(r.At) + "."
	}
	return "Your access to " + r.OrgName + " was removed by " + r.ActorName + " on " + date(r.At) + "."
}
