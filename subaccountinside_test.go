package switchboard_test

import (
	"testing"

	"switchboard"
)

// TestSubaccountFundsAvailable: what a subaccount can spend is the lower of
// its two limits for a budget, the parent's balance when shared, and
// nothing while it is not active.
func TestSubaccountFundsAvailable(t *testing.T) {
	for _, tc := range []struct {
		name                    string
		f                       switchboard.SubaccountFunds
		left, available         switchboard.Money
		limitedByParent, budget bool
	}{
		{"budget under the parent's balance", switchboard.SubaccountFunds{Funding: switchboard.FundingBudget, Budget: 500, Spent: 100, ParentBalance: 1000, Status: switchboard.SubaccountActive}, 400, 400, false, true},
		{"budget over the parent's balance", switchboard.SubaccountFunds{Funding: switchboard.FundingBudget, Budget: 500, Spent: 100, ParentBalance: 300, Status: switchboard.SubaccountActive}, 400, 300, true, true},
		{"budget spent past (a budget lowered)", switchboard.SubaccountFunds{Funding: switchboard.FundingBudget, Budget: 500, Spent: 700, ParentBalance: 300, Status: switchboard.SubaccountActive}, 0, 0, false, true},
		{"budget equal to the parent's balance", switchboard.SubaccountFunds{Funding: switchboard.FundingBudget, Budget: 500, ParentBalance: 500, Status: switchboard.SubaccountActive}, 500, 500, false, true},
		{"shared", switchboard.SubaccountFunds{Funding: switchboard.FundingShared, Spent: 100, ParentBalance: 300, Status: switchboard.SubaccountActive}, 0, 300, false, false},
		{"suspended", switchboard.SubaccountFunds{Funding: switchboard.FundingShared, ParentBalance: 300, Status: switchboard.SubaccountSuspended}, 0, 0, false, false},
		{"closed with a budget", switchboard.SubaccountFunds{Funding: switchboard.FundingBudget, Budget: 500, ParentBalance: 300, Status: switchboard.SubaccountClosed}, 500, 0, true, true},
		{"pending", switchboard.SubaccountFunds{Funding: switchboard.FundingShared, ParentBalance: 300, Status: switchboard.SubaccountPending}, 0, 0, false, false},
	} {
		if got := tc.f.Left(); got != tc.left {
			t.Errorf("%s: Left %d, want %d", tc.name, got, tc.left)
		}
		if got := tc.f.Available(); got != tc.available {
			t.Errorf("%s: Available %d, want %d", tc.name, got, tc.available)
		}
		if got := tc.f.LimitedByParent(); got != tc.limitedByParent {
			t.Errorf("%s: LimitedByParent %v, want %v", tc.name, got, tc.limitedByParent)
		}
		if got := tc.f.Budgeted(); got != tc.budget {
			t.Errorf("%s: Budgeted %v, want %v", tc.name, got, tc.budget)
		}
	}
}

// TestCanReadAudit: the audit log is for whoever manages members, and for
// the owner of a subaccount, where nobody manages members.
func TestCanReadAudit(t *testing.T) {
	org := &switchboard.Organisation{}
	sub := &switchboard.Organisation{ParentID: 1, ParentName: "Acme"}
	ownerOnly := &switchboard.Organisation{OwnerOnlyMembers: true}
	lead := switchboard.Role{Kind: switchboard.RoleCustom, ID: 9, Name: "Lead", Permissions: []switchboard.Permission{switchboard.PermMembers}}
	for _, tc := range []struct {
		name string
		m    *switchboard.Membership
		want bool
	}{
		{"owner", &switchboard.Membership{Org: org, Member: member(switchboard.RoleOwner, 1)}, true},
		{"administrator", &switchboard.Membership{Org: org, Member: member(switchboard.RoleAdministrator, 2)}, true},
		{"administrator, owner-only members", &switchboard.Membership{Org: ownerOnly, Member: member(switchboard.RoleAdministrator, 2)}, false},
		{"sender", &switchboard.Membership{Org: org, Member: member(switchboard.RoleSender, 3)}, false},
		{"custom role with Members", &switchboard.Membership{Org: org, Member: &switchboard.Member{ProfileID: 4, Role: lead}}, true},
		{"owner of a subaccount", &switchboard.Membership{Org: sub, Member: member(switchboard.RoleOwner, 5)}, true},
		{"administrator of a subaccount", &switchboard.Membership{Org: sub, Member: member(switchboard.RoleAdministrator, 6)}, false},
		{"custom role with Members in a subaccount", &switchboard.Membership{Org: sub, Member: &switchboard.Member{ProfileID: 7, Role: lead}}, false},
		{"nobody", nil, false},
	} {
		if got := tc.m.CanReadAudit(); got != tc.want {
			t.Errorf("%s: CanReadAudit %v, want %v", tc.name, got, tc.want)
		}
	}
}
