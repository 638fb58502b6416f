package payment_test

import (
	"testing"

	"switchboard"
	"switchboard/payment"
)

func TestByName(t *testing.T) {
	inv := &switchboard.Invoice{Number: "INV-2026-000001", Amount: 50 * switchboard.MoneyUnit, Currency: "EUR"}
	for _, tc := range []struct {
		name, want string
		paid       bool
	}{
		{"", "Invoice INV-2026-000001 for €50.00 was issued. The credits will be added to your balance when it is paid.", false},
		{"manual", "Invoice INV-2026-000001 for €50.00 was issued. The credits will be added to your balance when it is paid.", false},
		{"test", "Invoice INV-2026-000001 for €50.00 was paid, and €50.00 was added to your balance.", true},
	} {
		m, ok := payment.ByName(tc.name)
		if !ok || m.PaidOnIssue() != tc.paid || m.Issued(inv) != tc.want {
			t.Errorf("%q: %v %v %q", tc.name, ok, m.PaidOnIssue(), m.Issued(inv))
		}
	}
	if _, ok := payment.ByName("card"); ok {
		t.Error("an unknown method was accepted")
	}
}
