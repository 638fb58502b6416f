package switchboard

import (
	"strings"
	"testing"
)

func TestPriceTableLongestPrefixWins(t *testing.T) {
	tab, err := ParsePrices(strings.NewReader("country,prefix,price\nUS,1,0.0090\nCA,1416,0.0100\nEE,372,0.0500\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		number, country string
		price           Money
		ok              bool
	}{
		{"+14165550100", "CA", 100, true},
		{"+12125550100", "US", 90, true},
		{"+37255566677", "EE", 500, true},
		{"+99912345", "", 0, false},
	} {
		p, ok := tab.Lookup(tc.number)
		if ok != tc.ok || p.Country != tc.country || p.PerPart != tc.price {
			t.Errorf("Lookup(%s) = %+v, %v; want %s %d %v", tc.number, p, ok, tc.country, tc.price, tc.ok)
		}
	}
}

func TestParsePricesNamesTheBadLine(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"country,prefix,price\nEE,372,0.05\nLV,+371,0.04\n", "line 3: \"+371\" is not a dialling prefix"},
		{"country,prefix,price\nEE,372,five\n", "line 2: \"five\" is not a price"},
		{"country,prefix,price\nEE,372,0.00001\n", "line 2: \"0.00001\" is not a price"},
		{"country,prefix,price\nEST,372,0.05\n", "line 2: \"EST\" is not a two-letter country code"},
		{"country,prefix,price\nEE,372\n", "line 2: expected 3 fields"},
		{"country,prefix,price\nEE,372,0.05\nEE,372,0.06\n", "line 3: the prefix 372 is listed twice"},
		{"prefix,price\n", "line 1: the first line must be the header"},
		{"country,prefix,price\n", "the file lists no prices"},
		{"country,prefix,price\nEE,\"372,0.05\n", "line 2"},
	} {
		_, err := ParsePrices(strings.NewReader(tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParsePrices(%q) = %v, want an error containing %q", tc.file, err, tc.want)
		}
	}
}

func TestDefaultPrices(t *testing.T) {
	tab := DefaultPrices()
	if p, ok := tab.Lookup("+37255566677"); !ok || p.Country != "EE" {
		t.Errorf("an Estonian number: %+v %v", p, ok)
	}
	if p, ok := tab.Lookup("+14165550100"); !ok || p.Country != "CA" {
		t.Errorf("a Toronto number is Canadian by the longer prefix: %+v %v", p, ok)
	}
}
