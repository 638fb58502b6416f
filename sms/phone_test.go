package sms

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

func TestParseNumber(t *testing.T) {
	cases := []struct {
		raw, country, want string
		noCountry          bool
	}{
		{"+37255566677", "EE", "+37255566677", false},
		{"+37255566677", "", "+37255566677", false},
		{"+372 5556 6677", "", "+37255566677", false},
		{"+372-5556-6677", "", "+37255566677", false},
		{"00372 5556 6677", "", "+37255566677", false},
		{"55566677", "EE", "+37255566677", false},
		{"5556 6677", "EE", "+37255566677", false},
		{"07911 123456", "GB", "+447911123456", false},
		{"(202) 555-0143", "US", "+12025550143", false},
		{"+39 06 6982 1234", "", "+390669821234", false}, // Italy keeps its leading zero
		{"+44 7911 123456", "EE", "+447911123456", false},
		{"55566677", "", "", true},
		{"12ab", "EE", "", false},
		{"12ab", "", "", false},
		{"+372 555", "", "", false},
		{"5556677", "EE", "", false}, // too short for an Estonian mobile
		{"+999 1234 5678", "", "", false},
		{"hello", "EE", "", false},
		{"+", "", "", false},
	}
	for _, c := range cases {
		got, err := ParseNumber(c.raw, c.country)
		if c.want != "" {
			if err != nil || got != c.want {
				t.Errorf("ParseNumber(%q, %q) = %q, %v; want %q", c.raw, c.country, got, err, c.want)
			}
			continue
		}
		var ne *NumberError
		if !errors.As(err, &ne) {
			t.Errorf("ParseNumber(%q, %q) = %q, %v; want a NumberError", c.raw, c.country, got, err)
			continue
		}
		if c.noCountry != errors.Is(ne.Reason, ErrNoCountry) {
			t.Errorf("ParseNumber(%q, %q): %v; no country code = %v, want %v", c.raw, c.country, err, !c.noCountry, c.noCountry)
		}
	}
}

// TestE164FastPathAgreesWithParse: the shortcut for numbers already in
// E.164 gives what phonenumbers.Parse gives, valid or not.
func TestE164FastPathAgreesWithParse(t *testing.T) {
	var inputs []string
	for _, cc := range []string{"1", "7", "20", "33", "39", "44", "49", "358", "372", "371", "370", "880", "971", "998", "800", "882", "999", "3", "42"} {
		for _, rest := range []string{"5556677", "55566677", "2025550143", "7700900123", "0669821234", "612345678", "1234", "123456789012345"} {
			inputs = append(inputs, "+"+cc+rest, "+"+cc+" "+rest)
		}
	}
	for _, in := range inputs {
		fast, ok := parseE164(in)
		slow, err := phonenumbers.Parse(in, "ZZ")
		if !ok {
			continue
		}
		if err != nil {
			if phonenumbers.IsValidNumber(fast) {
				t.Errorf("%s: Parse refuses it (%v), the fast path takes it as valid", in, err)
			}
			continue
		}
		if fast.GetCountryCode() != slow.GetCountryCode() || fast.GetNationalNumber() != slow.GetNationalNumber() ||
			phonenumbers.IsValidNumber(fast) != phonenumbers.IsValidNumber(slow) {
			t.Errorf("%s: fast path %d %d (valid %v), Parse %d %d (valid %v)", in, fast.GetCountryCode(), fast.GetNationalNumber(),
				phonenumbers.IsValidNumber(fast), slow.GetCountryCode(), slow.GetNationalNumber(), phonenumbers.IsValidNumber(slow))
		}
	}
}

func TestParseRecipients(t *testing.T) {
	to := "+37255566677, 55566678; 55566679\n" + // line 1: three numbers
		"12ab\n" + // line 2: not a number
		"\n" + // line 3: empty
		"+372 5556 6677\n" + // line 4: the first number again
		"5556 6678 ,  \n" + // line 5: the second again
		"+447911123456\r\n" + // line 6
		"hello, 55566680" // line 7: one bad, one good
	rs, err := ParseRecipients(to, "EE")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"+37255566677", "+37255566678", "+37255566679", "+447911123456", "+37255566680"}
	if !slices.Equal(rs.Numbers, want) {
		t.Errorf("numbers = %v, want %v", rs.Numbers, want)
	}
	if rs.Duplicates != 2 {
		t.Errorf("duplicates = %d, want 2", rs.Duplicates)
	}
	if rs.Entries != 9 {
		t.Errorf("entries = %d, want 9", rs.Entries)
	}
	var problems []string
	for _, p := range rs.Invalid {
		problems = append(problems, p.String())
	}
	if got, want := strings.Join(problems, " | "), "Line 2: 12ab is not a phone number. | Line 7: hello is not a phone number."; got != want {
		t.Errorf("problems = %q, want %q", got, want)
	}

	rs, err = ParseRecipients("+37255566677\n5556677", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Invalid) != 1 || rs.Invalid[0].String() != "Line 2: 5556677 has no country code; add one (+372…) or set your organisation's country in Organisation details." {
		t.Errorf("without a country: %v", rs.Invalid)
	}
}

func TestParseRecipientsLimit(t *testing.T) {
	var b strings.Builder
	for i := range MaxRecipients {
		fmt.Fprintf(&b, "+3725%07d\n", i)
	}
	rs, err := ParseRecipients(b.String(), "EE")
	if err != nil || len(rs.Numbers) != MaxRecipients {
		t.Fatalf("%d numbers: %d parsed, %v", MaxRecipients, len(rs.Numbers), err)
	}
	b.WriteString("+37255566677")
	_, err = ParseRecipients(b.String(), "EE")
	var tm *TooManyError
	if !errors.As(err, &tm) || err.Error() != "Send to at most 10,000 numbers at once; this list has 10,001. Split it into several sends." {
		t.Fatalf("10,001 numbers: %v", err)
	}
}

func BenchmarkParseRecipients10000(b *testing.B) {
	var list strings.Builder
	for i := range MaxRecipients {
		fmt.Fprintf(&list, "+3725%07d\n", i)
	}
	text := list.String()
	for b.Loop() {
		if _, err := ParseRecipients(text, "EE"); err != nil {
			b.Fatal(err)
		}
	}
}

// parseSlow is ParseNumber without its shortcuts: phonenumbers.Parse for
// everything.
func parseSlow(raw, region string) string {
	s := strings.TrimSpace(raw)
	if strings.HasPrefix(s, "00") {
		s = "+" + s[2:]
	}
	if region == "" {
		region = "ZZ"
	}
	num, err := phonenumbers.Parse(s, region)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return ""
	}
	return phonenumbers.Format(num, phonenumbers.E164)
}

// TestNationalFastPathAgreesWithParse: for every region the shortcut for
// national numbers serves, and numbers of every shape (the region's
// example numbers with and without their national prefix, with the
// country code in front, altered, and random digits), ParseNumber gives
// what phonenumbers.Parse gives.
func TestNationalFastPathAgreesWithParse(t *testing.T) {
	rules := nationalRules()
	if len(rules) < 150 {
		t.Fatalf("the shortcut serves %d regions; the metadata changed shape", len(rules))
	}
	if _, ok := rules["EE"]; !ok {
		t.Fatal("the shortcut does not serve Estonia")
	}
	served, checked := 0, 0
	seed := uint64(1)
	random := func(n int) string {
		var b strings.Builder
		for range n {
			seed = seed*6364136223846793005 + 1442695040888963407
			b.WriteByte('0' + byte(seed>>33)%10)
		}
		return b.String()
	}
	for region, rule := range rules {
		var inputs []string
		for _, kind := range []phonenumbers.PhoneNumberType{phonenumbers.MOBILE, phonenumbers.FIXED_LINE, phonenumbers.TOLL_FREE} {
			ex := phonenumbers.GetExampleNumberForType(region, kind)
			if ex == nil {
				continue
			}
			nsn := phonenumbers.GetNationalSignificantNumber(ex)
			inputs = append(inputs, nsn, rule.prefix+nsn, rule.code+nsn, rule.prefix+rule.code+nsn, "0"+nsn, "1"+nsn,
				nsn[:len(nsn)-1], nsn+"1", nsn[:len(nsn)/2]+" "+nsn[len(nsn)/2:], phonenumbers.Format(ex, phonenumbers.NATIONAL))
		}
		for n := 4; n <= 13; n++ {
			inputs = append(inputs, random(n), rule.prefix+random(n))
		}
		for _, in := range inputs {
			got, err := ParseNumber(in, region)
			if err != nil {
				got = ""
			}
			if want := parseSlow(in, region); got != want {
				t.Errorf("%s %q: ParseNumber %q, Parse %q", region, in, got, want)
			}
			if _, ok := parseNational(strings.TrimSpace(in), region); ok {
				served++
			}
			checked++
		}
	}
	t.Logf("%d inputs in %d regions, %d served by the shortcut", checked, len(rules), served)
	if served < checked/10 {
		t.Errorf("the shortcut served only %d of %d inputs", served, checked)
	}
}

func BenchmarkParseRecipients10000National(b *testing.B) {
	var list strings.Builder
	for i := range MaxRecipients {
		fmt.Fprintf(&list, "5%07d\n", 5_000_000+i)
	}
	text := list.String()
	for b.Loop() {
		if _, err := ParseRecipients(text, "EE"); err != nil {
			b.Fatal(err)
		}
	}
}
