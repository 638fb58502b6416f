package handlers_test

import (
	"testing"

	"switchboard"
)

// BenchmarkSubaccountPages renders the dashboard and the Credits page of a
// budgeted subaccount (its funds read beside the page's own reads) and of
// its parent, an ordinary organisation, through the real server.
func BenchmarkSubaccountPages(b *testing.B) {
	w := newSubWorld(b, switchboard.FundingBudget, 500_000)
	w.spend(b, 10, 500)
	b.Run("subaccount dashboard", func(b *testing.B) { benchPage(b, w.a, w.sub, path(w.sub.org, ""), "left of a budget of") })
	b.Run("subaccount credits", func(b *testing.B) { benchPage(b, w.a, w.sub, path(w.sub.org, "credits"), "left of a budget of") })
	b.Run("parent dashboard", func(b *testing.B) { benchPage(b, w.a, w.parent, path(w.parent.org, ""), `id="balance"`) })
	b.Run("parent credits", func(b *testing.B) { benchPage(b, w.a, w.parent, path(w.parent.org, "credits"), `id="balance"`) })
}
