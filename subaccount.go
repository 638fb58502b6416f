package switchboard

import (
	"strings"
	"time"
)

// Subaccount is a child organisation dedicated to one email address, with
// no financial control of its own (PRODUCT.md § Subaccounts): every spend of
// it debits its parent's balance, and a budgeted one never spends past its
// budget.
type Subaccount struct {
	OrgID    int64 // the subaccount's own organisation
	ParentID int64 // the organisation that funds it
	Name     string
	// Email is the address the subaccount is dedicated to: its invitation
	// goes there, and whoever accepts it owns the subaccount.
	Email   string
	Funding Funding
	// Budget is the most the subaccount may spend in all (Funding
	// FundingBudget; 0 otherwise); Spent is what it has spent so far, less
	// refunds, whatever its funding. What is left is Budget − Spent.
	Budget Money
	Spent  Money
	Status SubaccountStatus

	CreatedBy int64
	CreatedAt time.Time
	ClosedAt  *time.Time

	// Joined for lists: the owner, once the invitation was accepted.
	OwnerID   int64
	OwnerName string
}

// Funding says how a subaccount is paid for.
type Funding string

// The two fundings of the Funding field.
const (
	// FundingShared spends the parent's balance as the parent does.
	FundingShared Funding = "shared"
	// FundingBudget spends the parent's balance, never past the budget.
	FundingBudget Funding = "budget"
)

// Label is how the funding is shown ("Share the balance", "Budget").
func (f Funding) Label() string {
	if f == FundingBudget {
		return "Budget"
	}
	return "Share the balance"
}

// SubaccountStatus is where a subaccount is in its life.
type SubaccountStatus string

// A subaccount is pending until its invitation is accepted, then active;
// the parent suspends (it can log in and look, not send) and resumes it,
// and closes it for good.
const (
	SubaccountPending   SubaccountStatus = "pending"
	SubaccountActive    SubaccountStatus = "active"
	SubaccountSuspended SubaccountStatus = "suspended"
	SubaccountClosed    SubaccountStatus = "closed"
)

// Label is how the status is shown.
func (s SubaccountStatus) Label() string {
	switch s {
	case SubaccountPending:
		return "Pending"
	case SubaccountSuspended:
		return "Suspended"
	case SubaccountClosed:
		return "Closed"
	}
	return "Active"
}

// MaxBudget is the largest budget a subaccount may be given: the largest
// amount of credits one addition may bring, a hundred times over.
const MaxBudget = 1_000_000 * MoneyUnit

// Validate checks what the parent typed: Email, Name, Funding and, for a
// budget, its amount (above zero, at most MaxBudget, at most two decimals).
func (s *Subaccount) Validate() error {
	f := FieldErrors{}
	s.Email = strings.TrimSpace(s.Email)
	ValidateEmail(f, "email", s.Email)
	ValidateName(f, "name", "the subaccount's name", s.Name)
	switch s.Funding {
	case FundingShared:
		s.Budget = 0
	case FundingBudget:
		validateBudget(f, s.Budget)
	default:
		f.Add("funding", "Choose how the subaccount is funded.")
	}
	return f.Err()
}

// ValidateFunding checks a change of funding by the parent: the funding and,
// for a budget, its amount.
func (s *Subaccount) ValidateFunding() error {
	f := FieldErrors{}
	switch s.Funding {
	case FundingShared:
		s.Budget = 0
	case FundingBudget:
		validateBudget(f, s.Budget)
	default:
		f.Add("funding", "Choose how the subaccount is funded.")
	}
	return f.Err()
}

func validateBudget(f FieldErrors, b Money) {
	switch {
	case b <= 0:
		f.Add("budget", "Enter a budget above zero, such as 100.")
	case b%100 != 0:
		f.Add("budget", "Enter the budget with at most two decimals, such as 99.90.")
	case b > MaxBudget:
		f.Add("budget", "The budget can be at most 1,000,000.")
	}
}

// Left is what a budgeted subaccount may still spend (never below zero),
// and ok false for a subaccount that shares the balance.
func (s *Subaccount) Left() (left Money, ok bool) {
	if s.Funding != FundingBudget {
		return 0, false
	}
	return max(s.Budget-s.Spent, 0), true
}

// SubaccountRefuses reports whether a subaccount refuses section p to
// everyone, its owner included: it is dedicated to one person (no Members,
// no invitations, no roles, no transfer), has no financial control (no
// invoices; its Credits page shows who funds it and adds nothing), is
// closed by its parent rather than deleted, and has no subaccounts of its
// own.
func SubaccountRefuses(p Permission) bool {
	switch p {
	case PermMembers, PermSubaccounts, PermOwnership, PermInvoices:
		return true
	}
	return false
}

// SubaccountRefusal is the sentence that explains why a subaccount of
// parent refuses section p (see SubaccountRefuses).
func SubaccountRefusal(p Permission, parent string) string {
	switch p {
	case PermMembers:
		return "This is a subaccount of " + parent + ", dedicated to one person: it has no other members and cannot invite anyone."
	case PermSubaccounts:
		return "This is a subaccount of " + parent + ": a subaccount cannot have subaccounts of its own."
	case PermInvoices, PermCredits:
		return "This is a subaccount of " + parent + ", which pays for its messages: credits are added and invoiced there."
	case PermOwnership:
		return "This is a subaccount of " + parent + ": it cannot be handed to someone else or deleted here; " + parent + " can close it."
	}
	return "This is a subaccount of " + parent + "."
}
