package handlers

import (
	"context"

	"switchboard"
	"switchboard/views"
)

// fieldSubaccount marks a 403 as a subaccount's refusal (its value is the
// parent's name): handleError shows it as such.
const fieldSubaccount = "subaccount"

// subaccountRefused is the 403 of section perm in a subaccount, which
// refuses it to everyone there whatever their role (switchboard.
// SubaccountRefuses, and adding credits): the page explains why, in
// switchboard.SubaccountRefusal's words, rather than naming a role that
// would allow it and an owner to ask, which would send the owner of the
// subaccount asking themself.
func subaccountRefused(m *switchboard.Membership, perm switchboard.Permission) error {
	return &switchboard.Error{
		Code:    switchboard.EFORBIDDEN,
		Message: switchboard.SubaccountRefusal(perm, m.Org.ParentName),
		Fields:  switchboard.FieldErrors{fieldSubaccount: m.Org.ParentName},
	}
}

// subaccountRefusalPage gives the error page of a subaccountRefused error
// its title and the way back to the subaccount's dashboard.
func subaccountRefusalPage(ctx context.Context, e *switchboard.Error, page *views.ErrorPage) {
	if e.Fields[fieldSubaccount] == "" {
		return
	}
	page.Title = "Not available in a subaccount"
	if m := switchboard.MembershipFromContext(ctx); m != nil {
		page.BackURL = switchboard.OrgPath(m.Org.ID, "")
	}
}

// ownerLeaves is the refusal of the owner leaving: they transfer or delete
// first, except in a subaccount, which can do neither: its parent closes
// it.
func ownerLeaves(m *switchboard.Membership) error {
	if m.Org.IsSubaccount() {
		return subaccountRefused(m, switchboard.PermOwnership)
	}
	return errOwnerLeaves
}
