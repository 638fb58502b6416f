package switchboard_test

import (
	"strings"
	"testing"

	"switchboard"
)

func member(kind switchboard.RoleKind, id int64) *switchboard.Member {
	return &switchboard.Member{ProfileID: id, Role: switchboard.BuiltinRole(kind)}
}

func TestMembershipRules(t *testing.T) {
	org := &switchboard.Organisation{}
	owner := &switchboard.Membership{Org: org, Member: member(switchboard.RoleOwner, 1)}
	admin := &switchboard.Membership{Org: org, Member: member(switchboard.RoleAdministrator, 2)}
	sender := &switchboard.Membership{Org: org, Member: member(switchboard.RoleSender, 3)}
	otherAdmin := member(switchboard.RoleAdministrator, 4)
	lead := switchboard.Role{Kind: switchboard.RoleCustom, ID: 9, Name: "Lead", Permissions: []switchboard.Permission{switchboard.PermMembers, switchboard.PermMessages}}
	custom := &switchboard.Membership{Org: org, Member: &switchboard.Member{ProfileID: 5, Role: lead}}

	for _, tc := range []struct {
		name string
		got  bool
		want bool
	}{
		{"owner may grant Administrator", owner.MayGrant(switchboard.BuiltinRole(switchboard.RoleAdministrator)), true},
		{"nobody grants Owner", owner.MayGrant(switchboard.BuiltinRole(switchboard.RoleOwner)), false},
		{"administrator may grant a custom role they cover", admin.MayGrant(lead), true},
		{"administrator may not grant Owner", admin.MayGrant(switchboard.BuiltinRole(switchboard.RoleOwner)), false},
		{"sender may grant nothing", sender.MayGrant(switchboard.BuiltinRole(switchboard.RoleSender)), false},
		{"custom role may grant itself", custom.MayGrant(lead), true},
		{"custom role may not grant Sender, which has more", custom.MayGrant(switchboard.BuiltinRole(switchboard.RoleSender)), false},
		{"nobody manages the owner", admin.MayManage(owner.Member), false},
		{"nobody manages themself", admin.MayManage(admin.Member), false},
		{"administrator manages another administrator", admin.MayManage(otherAdmin), true},
		{"custom role cannot manage an administrator", custom.MayManage(otherAdmin), false},
		{"sender cannot delete", sender.Can(switchboard.PermOwnership), false},
		{"administrator cannot delete", admin.Can(switchboard.PermOwnership), false},
		{"sender sends", sender.Can(switchboard.PermMessages), true},
		{"sender has no Members", sender.Can(switchboard.PermMembers), false},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %v", tc.name, tc.got)
		}
	}

	org.OwnerOnlyMembers = true
	if admin.Can(switchboard.PermMembers) || admin.MayManage(sender.Member) || custom.MayGrant(lead) {
		t.Error("with 'only the owner manages members', others still manage members")
	}
	if !owner.Can(switchboard.PermMembers) || !admin.Can(switchboard.PermOrganisation) {
		t.Error("the setting took more than Members away")
	}
}

func TestRoleKeys(t *testing.T) {
	for _, tc := range []struct {
		key  string
		kind switchboard.RoleKind
		id   int64
		ok   bool
	}{
		{"sender", switchboard.RoleSender, 0, true},
		{"owner", switchboard.RoleOwner, 0, true},
		{"custom:12", switchboard.RoleCustom, 12, true},
		{"custom:0", "", 0, false},
		{"custom:-1", "", 0, false},
		{"custom:1x", "", 0, false},
		{"Administrator", "", 0, false},
		{"", "", 0, false},
	} {
		kind, id, ok := switchboard.ParseRoleKey(tc.key)
		if kind != tc.kind || id != tc.id || ok != tc.ok {
			t.Errorf("ParseRoleKey(%q) = %q, %d, %v", tc.key, kind, id, ok)
		}
	}
	r := switchboard.Role{Kind: switchboard.RoleCustom, ID: 7}
	if k, id, _ := switchboard.ParseRoleKey(r.Key()); k != switchboard.RoleCustom || id != 7 {
		t.Error("Key and ParseRoleKey do not round-trip")
	}
}

func TestCustomRoleValidation(t *testing.T) {
	for _, tc := range []struct {
		role  switchboard.Role
		field string
	}{
		{switchboard.Role{Name: "", Permissions: []switchboard.Permission{"messages"}}, "name"},
		{switchboard.Role{Name: "owner", Permissions: []switchboard.Permission{"messages"}}, "name"},
		{switchboard.Role{Name: "Lead", Permissions: nil}, "permissions"},
		{switchboard.Role{Name: "Lead", Permissions: []switchboard.Permission{"ownership"}}, "permissions"},
		{switchboard.Role{Name: "Lead", Permissions: []switchboard.Permission{"root"}}, "permissions"},
	} {
		if f := switchboard.Fields(tc.role.Validate()); f[tc.field] == "" {
			t.Errorf("%+v: no error on %s (%v)", tc.role, tc.field, f)
		}
	}
	ok := switchboard.Role{Name: "Lead", Permissions: []switchboard.Permission{"members", "messages"}}
	if err := ok.Validate(); err != nil {
		t.Errorf("a valid role was refused: %v", err)
	}
}

// TestPasswords checks the length rules; how easy a password is to guess is
// package password's test.
func TestPasswords(t *testing.T) {
	for _, tc := range []struct {
		password string
		ok       bool
	}{
		{"", false},
		{"1234567", false},
		{"correct horse battery", true},
		{"        ", true}, // spaces are characters
		{"🙂🙂🙂🙂🙂🙂🙂🙂", true},
		{strings.Repeat("a", 256), true},
		{strings.Repeat("a", 257), false},
	} {
		f := switchboard.FieldErrors{}
		switchboard.ValidatePassword(f, "password", tc.password)
		if (len(f) == 0) != tc.ok {
			t.Errorf("ValidatePassword(%q): %v", tc.password, f)
		}
	}
}

func TestEmails(t *testing.T) {
	for _, tc := range []struct {
		email string
		ok    bool
	}{
		{"jane@example.com", true},
		{"jane+team@example.co.uk", true},
		{"jane@localhost", false},
		{"Jane <jane@example.com>", false},
		{"jane@example.com\r\nBcc: x@example.com", false},
		{"@example.com", false},
		{strings.Repeat("a", 250) + "@example.com", false},
	} {
		f := switchboard.FieldErrors{}
		switchboard.ValidateEmail(f, "email", tc.email)
		if (len(f) == 0) != tc.ok {
			t.Errorf("ValidateEmail(%q): %v", tc.email, f)
		}
	}
	if switchboard.NormalizeEmail("  Jane@Example.COM ") != "jane@example.com" {
		t.Error("emails are not trimmed and lower-cased")
	}
}
