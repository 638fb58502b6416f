package switchboard_test

import (
	"strings"
	"testing"

	"switchboard"
)

// Names reach emails read by other people: characters that show nothing but
// hide or reorder text are refused, beside the field (issue 6, point 3).
func TestNamesRefuseInvisibleFormatCharacters(t *testing.T) {
	bad := map[string]string{
		"right-to-left override":  "Acme\u202eelif.exe",
		"left-to-right embedding": "Acme\u202aCo",
		"pop directional":         "Acme\u202cCo",
		"right-to-left isolate":   "Acme\u2067Co",
		"pop isolate":             "Acme\u2069Co",
		"left-to-right mark":      "Acme\u200eCo",
		"right-to-left mark":      "Acme\u200fCo",
		"arabic letter mark":      "Acme\u061cCo",
		"zero-width space":        "Ac\u200bme",
		"zero-width joiner":       "Ac\u200dme",
		"soft hyphen":             "Ac\u00adme",
		"byte order mark":         "\ufeffAcme",
		"word joiner":             "Ac\u2060me",
		"tag character":           "Acme\U000e0041",
	}
	for name, value := range bad {
		f := switchboard.FieldErrors{}
		switchboard.ValidateName(f, "name", "a name", value)
		if !strings.Contains(f["name"], "invisible formatting characters") {
			t.Errorf("%s: %q gives %q", name, value, f["name"])
		}
		p := switchboard.Profile{Email: "jane@example.com", FirstName: value, LastName: value}
		fe := switchboard.Fields(p.Validate())
		if fe["first_name"] == "" || fe["last_name"] == "" {
			t.Errorf("%s: profile accepted: %v", name, fe)
		}
		o := switchboard.Organisation{Name: value}
		if switchboard.Fields(o.Validate())["name"] == "" {
			t.Errorf("%s: organisation name accepted", name)
		}
		r := switchboard.Role{Kind: switchboard.RoleCustom, Name: value, Permissions: []switchboard.Permission{switchboard.PermMembers}}
		if switchboard.Fields(r.Validate())["name"] == "" {
			t.Errorf("%s: role name accepted", name)
		}
	}
	for _, value := range []string{"Acme\u2028Co", "Acme\u2029Co", "Acme\u0085Co"} {
		f := switchboard.FieldErrors{}
		switchboard.ValidateName(f, "name", "a name", value)
		if !strings.Contains(f["name"], "line breaks") {
			t.Errorf("%q gives %q", value, f["name"])
		}
	}
	// Real names in any script, with accents, apostrophes, hyphens and
	// emoji stay welcome.
	for _, value := range []string{"Zoë O'Brien-Łukasz", "محمد", "שרה", "李小龍", "Ana María 🎉", "Jean-Luc St. Pierre"} {
		f := switchboard.FieldErrors{}
		switchboard.ValidateName(f, "name", "a name", value)
		if len(f) > 0 {
			t.Errorf("%q refused: %v", value, f)
		}
	}
}
