package views

import (
	"bytes"
	"context"
	"testing"
	"time"

	"switchboard"
)

// TestMemberRowsMatchTempl: the Go rows of the members table are exactly
// what the templ reference renders, for values that need escaping too (a
// name or email with markup, quotes, ampersands, non-ASCII), so the
// faster path escapes as templ does.
func TestMemberRowsMatchTempl(t *testing.T) {
	joined := time.Date(2026, 11, 24, 23, 30, 0, 0, time.FixedZone("east", 3*3600))
	members := []switchboard.Member{
		{ProfileID: 2, Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace", Role: switchboard.BuiltinRole(switchboard.RoleSender), JoinedAt: joined},
		{ProfileID: 31, Email: `"><script>alert(1)</script>@example.com`, FirstName: `<b>Bold</b> & 'quoted'`, LastName: `"Zoë"`, Role: switchboard.Role{Kind: switchboard.RoleCustom, ID: 4, Name: "R&D <leads>"}, JoinedAt: joined.Add(-48 * time.Hour)},
		{ProfileID: 9_000_000_001, Email: "only.email@example.com", Role: switchboard.BuiltinRole(switchboard.RoleOwner), JoinedAt: time.Unix(0, 0)},
	}
	var want bytes.Buffer
	for _, m := range members {
		if err := memberRow(77, m).Render(context.Background(), &want); err != nil {
			t.Fatal(err)
		}
	}
	var got bytes.Buffer
	if err := memberRows(77, members).Render(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Errorf("memberRows differs from memberRow:\n got %s\nwant %s", got.String(), want.String())
	}
	if bytes.Contains(got.Bytes(), []byte("<script>")) || bytes.Contains(got.Bytes(), []byte("<b>")) {
		t.Errorf("markup in a value was not escaped: %s", got.String())
	}
}
