package handlers

import (
	"context"
	"net/http"

	"switchboard"
	"switchboard/store"
	"switchboard/views"
)

// The send pages of a subaccount (issue 12 point 3): the money they show is
// its parent's balance or what is left of its budget, and while its parent
// has suspended or closed it they say so before anyone types. The store's
// debit is what refuses a send, in its transaction; these only tell.

// sendFunds returns what the send pages show of the organisation's money,
// and the budget left of a subaccount with a budget ("" otherwise), for
// the preview beside the cost.
func (s *Server) sendFunds(ctx context.Context, m *switchboard.Membership) (views.SendFunds, string, error) {
	balance, f, err := s.db.Funds(ctx, m.Org.ID)
	if err != nil {
		return views.SendFunds{}, "", err
	}
	out := views.SendFunds{Label: "Balance", Amount: s.cfg.Currency.Format(balance), Paused: sendingPaused(m)}
	budgetLeft := ""
	switch {
	case f == nil:
	case f.Budgeted():
		budgetLeft = s.cfg.Currency.Format(f.Left())
		out.Label, out.Amount = "Budget left", budgetLeft
	default:
		out.Label, out.Amount = "Balance of "+f.ParentName, s.cfg.Currency.Format(f.ParentBalance)
	}
	return out, budgetLeft, nil
}

// sendingPaused is the sentence a send of a subaccount its parent
// suspended or closed is refused with, read with the membership on this
// very request; "" for every other organisation.
func sendingPaused(m *switchboard.Membership) string {
	if !m.Org.IsSubaccount() {
		return ""
	}
	switch m.Org.SubaccountStatus {
	case switchboard.SubaccountSuspended:
		return switchboard.ErrorMessage(store.SubaccountSuspended(m.Org.ParentName))
	case switchboard.SubaccountClosed:
		return switchboard.ErrorMessage(store.SubaccountClosed(m.Org.ParentName))
	}
	return ""
}

// budgetBeside puts a budgeted subaccount's budget left into the preview
// of a send (the live count too); other organisations' previews stay as
// they are, without a read.
func (s *Server) budgetBeside(ctx context.Context, m *switchboard.Membership, p *views.SendPreview) error {
	if !m.Org.IsSubaccount() {
		return nil
	}
	_, left, err := s.sendFunds(ctx, m)
	p.BudgetLeft = left
	return err
}

// sendRefusal reports whether err is the store's refusal of a send that
// the form shows (the typed values kept): EPAYMENT (a balance or budget
// short) answers 422, EFORBIDDEN (a subaccount its parent suspended or
// closed) 403.
func sendRefusal(err error) (status int, ok bool) {
	switch switchboard.ErrorCode(err) {
	case switchboard.EPAYMENT:
		return http.StatusUnprocessableEntity, true
	case switchboard.EFORBIDDEN:
		return http.StatusForbidden, true
	}
	return 0, false
}
