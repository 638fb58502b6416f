package views

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"switchboard"
)

// BenchmarkMembersRender renders a members page of 50 members and 5
// pending invitations, without the server or the database: the templ part
// of the page's cost.
func BenchmarkMembersRender(b *testing.B) {
	org := &switchboard.Organisation{ID: 7, Name: "Acme"}
	owner := switchboard.Member{ProfileID: 1, Email: "owner@example.com", FirstName: "Olivia", LastName: "Owens", Role: switchboard.BuiltinRole(switchboard.RoleOwner)}
	page := MembersPage{Membership: &switchboard.Membership{Org: org, Member: &owner}, First: true, Now: time.Now(),
		Grantable: []switchboard.Role{switchboard.BuiltinRole(switchboard.RoleAdministrator), switchboard.BuiltinRole(switchboard.RoleSender),
			{Kind: switchboard.RoleCustom, ID: 3, Name: "Team lead"}, {Kind: switchboard.RoleCustom, ID: 4, Name: "Auditor"}}}
	for i := range 50 {
		page.Members = append(page.Members, switchboard.Member{ProfileID: int64(i + 2), Email: fmt.Sprintf("member%05d@example.com", i),
			FirstName: "Member", LastName: fmt.Sprintf("N%05d", i), Role: switchboard.BuiltinRole(switchboard.RoleSender), JoinedAt: time.Now()})
	}
	for i := range 5 {
		page.Pending = append(page.Pending, switchboard.Invitation{ID: int64(i + 1), Email: fmt.Sprintf("pending%d@example.com", i),
			Role: switchboard.BuiltinRole(switchboard.RoleSender), InviterName: "Olivia Owens", ExpiresAt: time.Now().Add(time.Hour)})
	}
	page.PendingAll = len(page.Pending)
	ctx := WithChrome(context.Background(), &Chrome{Profile: &switchboard.Profile{ID: 1, Email: "owner@example.com"}, Current: page.Membership,
		CSRF: func() string { return "0123456789abcdef0123456789abcdef0123456789a" }})
	b.ReportAllocs()
	for b.Loop() {
		if err := Members(page).Render(ctx, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
