package switchboard

import (
	"slices"
	"strconv"
	"strings"
)

// Permission is one row of the permission table: a section of the panel.
type Permission string

// The sections of the permission table in PRODUCT.md.
const (
	PermOrganisation      Permission = "organisation"
	PermMembers           Permission = "members"
	PermInvoices          Permission = "invoices"
	PermSenderNames       Permission = "sender_names"
	PermMessages          Permission = "messages"
	PermCampaigns         Permission = "campaigns"
	PermContacts          Permission = "contacts"
	PermHistory           Permission = "history"
	PermSubscriptionLinks Permission = "subscription_links"
	PermCredits           Permission = "credits"
	PermAPI               Permission = "api"
	PermAutoReplace       Permission = "auto_replace"
	PermProducts          Permission = "products"
	PermSubaccounts       Permission = "subaccounts"
	PermOwnership         Permission = "ownership"
)

// Section describes a permission for people: its name and what it covers.
type Section struct {
	Permission  Permission
	Name        string
	Description string
}

// Sections lists every permission in the order of PRODUCT.md's table.
var Sections = []Section{
	{PermOrganisation, "Organisation details", "Company information, settings"},
	{PermMembers, "Members", "Invite, change roles, revoke access"},
	{PermInvoices, "Invoices", "View invoices"},
	{PermSenderNames, "Sender names", "Apply for a sender name"},
	{PermMessages, "Messages", "Send SMS"},
	{PermCampaigns, "Campaigns", "Schedule campaigns"},
	{PermContacts, "Contacts", "Phonebook groups, upload contacts"},
	{PermHistory, "History", "View and export message history"},
	{PermSubscriptionLinks, "Subscription links", "Create subscription links"},
	{PermCredits, "Credits", "Add credits"},
	{PermAPI, "API", "Create API keys, change API configuration"},
	{PermAutoReplace, "Auto-replace", "Configure auto-replace"},
	{PermProducts, "Products", "Request and track products"},
	{PermSubaccounts, "Subaccounts", "Create, fund, view their statistics"},
	{PermOwnership, "Ownership", "Delete the organisation, transfer ownership"},
}

// SectionOf returns the section of p.
func SectionOf(p Permission) Section {
	for _, s := range Sections {
		if s.Permission == p {
			return s
		}
	}
	return Section{Permission: p, Name: string(p)}
}

// ValidPermission reports whether p is a row of the table.
func ValidPermission(p Permission) bool {
	return slices.ContainsFunc(Sections, func(s Section) bool { return s.Permission == p })
}

// RoleKind says whether a role is built in, and which, or custom.
type RoleKind string

// The built-in roles, and the kind of every role an owner defines.
const (
	RoleOwner         RoleKind = "owner"
	RoleAdministrator RoleKind = "administrator"
	RoleSender        RoleKind = "sender"
	RoleCustom        RoleKind = "custom"
)

// rolePermissions is the permission table of PRODUCT.md for the built-in
// roles. Custom roles carry their own list.
var rolePermissions = map[RoleKind][]Permission{
	RoleOwner: {
		PermOrganisation, PermMembers, PermInvoices, PermSenderNames, PermMessages,
		PermCampaigns, PermContacts, PermHistory, PermSubscriptionLinks, PermCredits,
		PermAPI, PermAutoReplace, PermProducts, PermSubaccounts, PermOwnership,
	},
	RoleAdministrator: {
		PermOrganisation, PermMembers, PermInvoices, PermSenderNames, PermMessages,
		PermCampaigns, PermContacts, PermHistory, PermSubscriptionLinks, PermCredits,
		PermAPI, PermAutoReplace, PermProducts, PermSubaccounts,
	},
	RoleSender: {
		PermMessages, PermCampaigns, PermContacts, PermHistory, PermSubscriptionLinks, PermCredits,
	},
}

// Role is a named set of permissions: one of the built-in roles, or a custom
// role of one organisation (Kind RoleCustom, with its ID).
type Role struct {
	Kind        RoleKind
	ID          int64 // the custom role's id; 0 for built-in roles
	Name        string
	Permissions []Permission // custom roles only; built-in roles use the table
}

// BuiltinRole returns the built-in role of kind k.
func BuiltinRole(k RoleKind) Role {
	switch k {
	case RoleOwner:
		return Role{Kind: RoleOwner, Name: "Owner"}
	case RoleAdministrator:
		return Role{Kind: RoleAdministrator, Name: "Administrator"}
	default:
		return Role{Kind: RoleSender, Name: "Sender"}
	}
}

// BuiltinRoles are the roles every organisation has, most powerful first.
var BuiltinRoles = []Role{BuiltinRole(RoleOwner), BuiltinRole(RoleAdministrator), BuiltinRole(RoleSender)}

// Grants returns the permissions of the role.
func (r Role) Grants() []Permission {
	if r.Kind == RoleCustom {
		return r.Permissions
	}
	return rolePermissions[r.Kind]
}

// Can reports whether the role, by the table alone, allows p. Use
// Membership.Can for a member, which also applies the organisation's
// settings.
func (r Role) Can(p Permission) bool {
	return slices.Contains(r.Grants(), p)
}

// Covers reports whether r holds every permission other holds.
func (r Role) Covers(other Role) bool {
	for _, p := range other.Grants() {
		if !r.Can(p) {
			return false
		}
	}
	return true
}

// Key identifies the role in forms: "administrator", "sender", "custom:12".
func (r Role) Key() string {
	if r.Kind == RoleCustom {
		return "custom:" + strconv.FormatInt(r.ID, 10)
	}
	return string(r.Kind)
}

// ParseRoleKey splits a key made by Role.Key. It returns false for anything
// else.
func ParseRoleKey(key string) (kind RoleKind, customID int64, ok bool) {
	switch RoleKind(key) {
	case RoleOwner, RoleAdministrator, RoleSender:
		return RoleKind(key), 0, true
	}
	if id, found := strings.CutPrefix(key, "custom:"); found {
		n, err := strconv.ParseInt(id, 10, 64)
		if err == nil && n > 0 {
			return RoleCustom, n, true
		}
	}
	return "", 0, false
}

// Validate checks a custom role: a name, and only sections an owner may
// hand out (never ownership).
func (r *Role) Validate() error {
	f := FieldErrors{}
	ValidateName(f, "name", "a name for the role", r.Name)
	for _, b := range BuiltinRoles {
		if strings.EqualFold(strings.TrimSpace(r.Name), b.Name) {
			f.Add("name", "This name belongs to a built-in role. Choose another.")
		}
	}
	for _, p := range r.Permissions {
		if !ValidPermission(p) || p == PermOwnership {
			f.Add("permissions", "Choose sections from the list.")
		}
	}
	if len(r.Permissions) == 0 {
		f.Add("permissions", "Tick at least one section.")
	}
	return f.Err()
}

// RoleAllowing names the least powerful built-in role that allows p, for
// the "you don't have access" page.
func RoleAllowing(p Permission) Role {
	for _, k := range []RoleKind{RoleSender, RoleAdministrator, RoleOwner} {
		if slices.Contains(rolePermissions[k], p) {
			return BuiltinRole(k)
		}
	}
	return BuiltinRole(RoleOwner)
}
