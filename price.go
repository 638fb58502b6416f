package switchboard

import (
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Price is one row of the price table: what a message part to numbers
// starting with Prefix costs.
type Price struct {
	Country string // ISO 3166-1 alpha-2, "EE"
	Prefix  string // dialling prefix, digits without "+": "372"
	PerPart Money
}

// PriceTable finds the price of a destination: the longest prefix wins
// (PRODUCT.md § Money).
type PriceTable struct {
	// byPrefix holds every row by its prefix; Lookup tries the number's
	// prefixes from the longest down, at most maxLen map reads.
	byPrefix map[string]Price
	maxLen   int
	rows     []Price
}

//go:embed prices.csv
var defaultPrices string

// DefaultPrices returns the built-in price table, used when the operator
// gives no --prices file.
func DefaultPrices() *PriceTable {
	t, err := ParsePrices(strings.NewReader(defaultPrices))
	if err != nil {
		panic("switchboard: the built-in price table is broken: " + err.Error())
	}
	return t
}

// ParsePrices reads a price table in the --prices format: a header row
// country,prefix,price, then one row per prefix, the prefix as digits
// without "+" and the price in currency units with up to four decimals.
// A bad row is an error naming its line and what is wrong with it.
func ParsePrices(r io.Reader) (*PriceTable, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	t := &PriceTable{byPrefix: map[string]Price{}}
	line := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("line %d: %v", pe.Line, pe.Err)
		} else if err != nil {
			return nil, err
		}
		line, _ = cr.FieldPos(0)
		if line == 1 {
			if len(rec) != 3 || !strings.EqualFold(strings.TrimPrefix(rec[0], "\ufeff"), "country") || !strings.EqualFold(rec[1], "prefix") || !strings.EqualFold(rec[2], "price") {
				return nil, errors.New("line 1: the first line must be the header country,prefix,price")
			}
			continue
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) != 3 {
			return nil, fmt.Errorf("line %d: expected 3 fields (country,prefix,price), found %d", line, len(rec))
		}
		p, err := parsePriceRow(rec)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", line, err)
		}
		if _, dup := t.byPrefix[p.Prefix]; dup {
			return nil, fmt.Errorf("line %d: the prefix %s is listed twice", line, p.Prefix)
		}
		t.byPrefix[p.Prefix] = p
		t.rows = append(t.rows, p)
		t.maxLen = max(t.maxLen, len(p.Prefix))
	}
	if len(t.rows) == 0 {
		return nil, errors.New("the file lists no prices; after the header country,prefix,price, add one line per prefix, such as EE,372,0.0500")
	}
	slices.SortFunc(t.rows, func(a, b Price) int { return strings.Compare(a.Prefix, b.Prefix) })
	return t, nil
}

func parsePriceRow(rec []string) (Price, error) {
	country := strings.ToUpper(strings.TrimSpace(rec[0]))
	if len(country) != 2 || country[0] < 'A' || country[0] > 'Z' || country[1] < 'A' || country[1] > 'Z' {
		return Price{}, fmt.Errorf("%q is not a two-letter country code such as EE", rec[0])
	}
	prefix := strings.TrimSpace(rec[1])
	if prefix == "" || len(prefix) > 15 || strings.Trim(prefix, "0123456789") != "" || prefix[0] == '0' {
		return Price{}, fmt.Errorf("%q is not a dialling prefix: write its digits without + (372)", rec[1])
	}
	price, ok := ParseMoney(rec[2])
	if !ok {
		return Price{}, fmt.Errorf("%q is not a price: write it in currency units with up to four decimals (0.0500)", rec[2])
	}
	return Price{Country: country, Prefix: prefix, PerPart: price}, nil
}

// Lookup returns the price for the E.164 number (+37255566677): the row of
// the longest prefix the number starts with. ok is false when no row
// matches: sending there is not offered.
func (t *PriceTable) Lookup(e164 string) (p Price, ok bool) {
	digits := strings.TrimPrefix(e164, "+")
	for n := min(len(digits), t.maxLen); n > 0; n-- {
		if p, ok := t.byPrefix[digits[:n]]; ok {
			return p, true
		}
	}
	return Price{}, false
}

// Rows returns the table's rows by prefix, for the pages that show it.
func (t *PriceTable) Rows() []Price { return slices.Clone(t.rows) }

// NoPriceError is the message for a destination without a price.
func NoPriceError(e164 string) string {
	return fmt.Sprintf("No price for %s: sending there is not offered.", e164)
}
