package switchboard

import "testing"

func TestParseMoney(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Money
		ok   bool
	}{
		{"12", 120_000, true},
		{"12.5", 125_000, true},
		{"0.0500", 500, true},
		{"0,05", 500, true},
		{".5", 5_000, true},
		{" 7.00 ", 70_000, true},
		{"0.00001", 0, false},
		{"-1", 0, false},
		{"1e3", 0, false},
		{"", 0, false},
		{".", 0, false},
		{"12.34.5", 0, false},
		{"9999999999999", 0, false},
	} {
		got, ok := ParseMoney(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseMoney(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestCurrencyFormat(t *testing.T) {
	for _, tc := range []struct {
		c    Currency
		m    Money
		two  string
		four string
	}{
		{"EUR", 42_000, "€4.20", "€4.2000"},
		{"EUR", 500, "€0.05", "€0.0500"},
		{"EUR", 49, "€0.00", "€0.0049"},
		{"EUR", 50, "€0.01", "€0.0050"},
		{"EUR", -15_000, "-€1.50", "-€1.5000"},
		{"SEK", 1_234_567, "123.46 SEK", "123.4567 SEK"},
		{"EUR", 100_000_000, "€10,000.00", "€10,000.0000"},
		{"EUR", -12_345_678_900, "-€1,234,567.89", "-€1,234,567.8900"},
		{"USD", 9_999_999, "$1,000.00", "$999.9999"},
	} {
		if got := tc.c.Format(tc.m); got != tc.two {
			t.Errorf("%s.Format(%d) = %q, want %q", tc.c, tc.m, got, tc.two)
		}
		if got := tc.c.FormatPrice(tc.m); got != tc.four {
			t.Errorf("%s.FormatPrice(%d) = %q, want %q", tc.c, tc.m, got, tc.four)
		}
	}
	if !ValidCurrency("EUR") || ValidCurrency("eur") || ValidCurrency("EURO") {
		t.Error("ValidCurrency accepts only three capital letters")
	}
}
