package switchboard

import (
	"strconv"
	"strings"
)

// Money is an amount in 1/10,000 of the currency unit (PRODUCT.md § Money):
// never a float. Balances and invoices show it with 2 decimals, prices per
// message part with 4.
type Money int64

// MoneyUnit is one unit of the currency (one euro) in Money.
const MoneyUnit Money = 10_000

// ParseMoney reads an amount typed in currency units with up to four
// decimals ("12", "12.5", "0.0500"; a comma works as the decimal point).
// Negative amounts, more than four decimals and anything that is not a
// number are refused; ok is false then.
func ParseMoney(s string) (m Money, ok bool) {
	s = strings.TrimSpace(strings.Replace(s, ",", ".", 1))
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" || len(frac) > 4 || len(whole) > 12 {
		return 0, false
	}
	for _, part := range []string{whole, frac} {
		for _, r := range part {
			if r < '0' || r > '9' {
				return 0, false
			}
		}
	}
	var w, f int64
	if whole != "" {
		w, _ = strconv.ParseInt(whole, 10, 64)
	}
	if frac != "" {
		frac += strings.Repeat("0", 4-len(frac))
		f, _ = strconv.ParseInt(frac, 10, 64)
	}
	return Money(w)*MoneyUnit + Money(f), true
}

// Currency is the instance's currency (--currency), an ISO 4217 code.
type Currency string

// DefaultCurrency is the currency when --currency is not given.
const DefaultCurrency Currency = "EUR"

// currencySymbols are the symbols written before the amount; other
// currencies are written with their code after it ("12.00 SEK").
var currencySymbols = map[Currency]string{"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹"}

// ValidCurrency reports whether c looks like an ISO 4217 code: three
// capital letters.
func ValidCurrency(c Currency) bool {
	if len(c) != 3 {
		return false
	}
	for _, r := range c {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// Format writes m with 2 decimals, rounded half away from zero, with the
// currency: "€4.20", "12.00 SEK". Balances and invoices use it.
func (c Currency) Format(m Money) string { return c.format(m, 2) }

// FormatPrice writes m with 4 decimals: "€0.0500", for prices per part.
func (c Currency) FormatPrice(m Money) string { return c.format(m, 4) }

func (c Currency) format(m Money, decimals int) string {
	n := groupThousands(FormatAmount(m, decimals))
	if sym, ok := currencySymbols[c]; ok {
		if strings.HasPrefix(n, "-") {
			return "-" + sym + n[1:]
		}
		return sym + n
	}
	return n + " " + string(c)
}

// FormatAmount writes m as a plain number with the given decimals (2 or 4),
// rounded half away from zero: "4.20", "0.0500". CSV files and forms use it.
func FormatAmount(m Money, decimals int) string {
	neg := m < 0
	if neg {
		m = -m
	}
	scale := Money(1)
	for i := decimals; i < 4; i++ {
		scale *= 10
	}
	m = (m + scale/2) / scale
	unit := MoneyUnit / scale
	s := strconv.FormatInt(int64(m/unit), 10)
	if decimals > 0 {
		f := strconv.FormatInt(int64(m%unit), 10)
		s += "." + strings.Repeat("0", decimals-len(f)) + f
	}
	if neg {
		s = "-" + s
	}
	return s
}

// groupThousands puts a comma between each three digits of the whole part,
// as people read amounts: "10000.00" → "10,000.00".
func groupThousands(n string) string {
	sign := ""
	if strings.HasPrefix(n, "-") {
		sign, n = "-", n[1:]
	}
	whole, frac, hasFrac := strings.Cut(n, ".")
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if hasFrac {
		b.WriteString("." + frac)
	}
	return sign + b.String()
}
