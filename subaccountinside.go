package switchboard

// SubaccountFunds is what a subaccount may spend, as its own pages show it
// (PRODUCT.md § Subaccounts: "its Credits page says who funds it"): who
// funds it, how, and the figures of both limits, read together.
type SubaccountFunds struct {
	ParentID   int64
	ParentName string
	Funding    Funding
	// Budget is the most it may spend in all (FundingBudget only) and
	// Spent what it has spent so far, less refunds.
	Budget, Spent Money
	// ParentBalance is the balance of the parent, which every spend of
	// the subaccount is debited from as well.
	ParentBalance Money
	Status        SubaccountStatus
}

// Left is what is left of a budget (never below zero); 0 when the
// subaccount shares the balance (see Budgeted).
func (f *SubaccountFunds) Left() Money {
	if !f.Budgeted() {
		return 0
	}
	return max(f.Budget-f.Spent, 0)
}

// Budgeted reports whether the subaccount spends within a budget.
func (f *SubaccountFunds) Budgeted() bool { return f.Funding == FundingBudget }

// LimitedByParent reports whether the parent's balance, lower than the
// budget left, is what limits a budgeted subaccount's sends now.
func (f *SubaccountFunds) LimitedByParent() bool {
	return f.Budgeted() && f.ParentBalance < f.Left()
}

// Available is what the subaccount can spend now: both limits at once
// (the budget left and the parent's balance) for a budget, the parent's
// balance when it shares it, and nothing while it is not active (pending,
// suspended or closed: every send is refused then).
func (f *SubaccountFunds) Available() Money {
	if f.Status != SubaccountActive {
		return 0
	}
	if f.Budgeted() {
		return max(min(f.Left(), f.ParentBalance), 0)
	}
	return max(f.ParentBalance, 0)
}

// CanReadAudit reports whether the member may read the organisation's audit
// log: whoever may manage its members, and the owner of a subaccount. A
// subaccount refuses Members to everyone (it is dedicated to one person),
// yet its owner's own actions are written in its audit log, and they are
// the one person who answers for them.
func (m *Membership) CanReadAudit() bool {
	return m.Can(PermMembers) || (m != nil && m.Org.IsSubaccount() && m.IsOwner())
}
