package sms

import (
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// MaxRecipients is how many numbers one send may name.
const MaxRecipients = 10_000

// ErrNoCountry is the problem of a number typed without a country code
// when the organisation has no country to take it from.
var ErrNoCountry = errors.New("no country code")

// NumberError says what is wrong with a typed phone number, in a sentence
// without the line ("12ab is not a phone number.").
type NumberError struct {
	Raw    string
	Reason error // ErrNoCountry, or nil for a number that is not one
}

func (e *NumberError) Error() string {
	raw := shorten(e.Raw)
	if errors.Is(e.Reason, ErrNoCountry) {
		return raw + " has no country code; add one (+372…) or set your organisation's country in Organisation details."
	}
	return raw + " is not a phone number."
}

// shorten keeps a typed value short enough to quote in a message.
func shorten(s string) string {
	if r := []rune(s); len(r) > 30 {
		return string(r[:29]) + "…"
	}
	return s
}

// ParseNumber returns the number raw in E.164 (+37255566677). A number
// typed without a country code ("5556 6677", or with the national trunk
// prefix, "0…") takes defaultCountry, an ISO 3166-1 alpha-2 code; "" when
// the organisation has none, and then such a number is a *NumberError with
// ErrNoCountry. "00" before the country code is read as "+". Only numbers
// that libphonenumber's metadata holds valid are accepted: a number that
// cannot exist is refused at once rather than paid for and failed.
func ParseNumber(raw, defaultCountry string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", &NumberError{Raw: raw}
	}
	if strings.HasPrefix(s, "00") {
		s = "+" + s[2:]
	}
	region := strings.ToUpper(defaultCountry)
	if region == "" {
		region = "ZZ" // libphonenumber's "unknown region"
	}
	if num, ok := parseNational(s, region); ok {
		return phonenumbers.Format(num, phonenumbers.E164), nil
	}
	num, ok := parseE164(s)
	if !ok {
		var err error
		num, err = phonenumbers.Parse(s, region)
		if errors.Is(err, phonenumbers.ErrInvalidCountryCode) && !strings.HasPrefix(s, "+") && region == "ZZ" && hasDigits(s) {
			return "", &NumberError{Raw: raw, Reason: ErrNoCountry}
		} else if err != nil {
			return "", &NumberError{Raw: raw}
		}
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", &NumberError{Raw: raw}
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

func hasDigits(s string) bool {
	for _, r := range s {
		if r >= '0' && r <= '9' {
			return true
		}
	}
	return false
}

// parseE164 reads a number already written in E.164, "+" and 8 to 15
// digits with spaces or dashes between them, the shape lists pasted from
// other systems have, without phonenumbers.Parse's general rules (a
// quarter of the time a send to 10,000 numbers takes). Its country code is
// the one of one, two or three digits that libphonenumber knows (they are
// prefix-free, ITU-T E.164). A national number with a leading zero (Italy)
// or anything unusual is left to phonenumbers.Parse: ok is false then.
func parseE164(s string) (*phonenumbers.PhoneNumber, bool) {
	if len(s) < 9 || s[0] != '+' {
		return nil, false
	}
	var digits [16]byte
	n, ok := plainDigits(s[1:], digits[:])
	if !ok {
		return nil, false
	}
	if n < 8 || n > 15 || digits[0] == '0' {
		return nil, false
	}
	for cc := 1; cc <= 3; cc++ {
		code, _ := strconv.Atoi(string(digits[:cc]))
		if !callingCodes()[code] {
			continue
		}
		if digits[cc] == '0' {
			return nil, false
		}
		national, err := strconv.ParseUint(string(digits[cc:n]), 10, 64)
		if err != nil {
			return nil, false
		}
		return &phonenumbers.PhoneNumber{CountryCode: proto32(int32(code)), NationalNumber: &national}, true
	}
	return nil, false
}

func proto32(v int32) *int32 { return &v }

// nationalRule is what parseNational needs of a region's metadata.
type nationalRule struct {
	countryCode int32
	code        string // countryCode in digits
	// prefix is the national (trunk) prefix, "0" in most of Europe, ""
	// where there is none (Estonia).
	prefix string
	// international matches the region's international call prefix at the
	// start of a number ("00", "011").
	international *regexp.Regexp
}

// nationalRules are the regions whose numbers parseNational can read: those
// whose national prefix is stripped as it is, with no pattern or transform
// rule of its own (Estonia, Finland, Germany, the United Kingdom, the
// United States… 200 of 254).
var nationalRules = sync.OnceValue(func() map[string]nationalRule {
	rules := map[string]nationalRule{}
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return rules
	}
	for _, md := range coll.GetMetadata() {
		np, npfp := md.GetNationalPrefix(), md.GetNationalPrefixForParsing()
		if md.GetNationalPrefixTransformRule() != "" || npfp != "" && npfp != np || strings.Trim(np, "0123456789") != "" {
			continue
		}
		intl, err := regexp.Compile(`^(?:` + md.GetInternationalPrefix() + `)`)
		if err != nil || md.GetInternationalPrefix() == "" {
			continue
		}
		rules[md.GetId()] = nationalRule{countryCode: md.GetCountryCode(), code: strconv.Itoa(int(md.GetCountryCode())), prefix: np, international: intl}
	}
	return rules
})

// parseNational reads a number typed without its country code in the
// region, digits with spaces or dashes between them, the way
// phonenumbers.Parse does (the national prefix stripped), without its
// general rules: reading a list of 10,000 such numbers took 100 ms. It
// answers only for numbers it finds valid, and only in regions whose rules
// it knows (nationalRules); anything else is left to phonenumbers.Parse,
// and so is a number that starts with the region's international prefix
// or its country code, or, once stripped, with a zero (Italy keeps it). Where it answers,
// Parse gives the same number: Parse strips the prefix whenever what is
// left is a possible number, as a valid number is.
func parseNational(s, region string) (*phonenumbers.PhoneNumber, bool) {
	if len(s) < 4 || s[0] < '0' || s[0] > '9' {
		return nil, false
	}
	var digits [18]byte
	n, ok := plainDigits(s, digits[:])
	if !ok {
		return nil, false
	}
	rule, ok := nationalRules()[region]
	if !ok || rule.international.Match(digits[:n]) {
		return nil, false
	}
	national := string(digits[:n])
	if strings.HasPrefix(national, rule.code) {
		// Parse may read these digits as the country code (4930… in
		// Germany is +49 30…): its rules decide.
		return nil, false
	}
	if rule.prefix != "" {
		national = strings.TrimPrefix(national, rule.prefix)
	}
	if len(national) < 2 || national[0] == '0' {
		return nil, false
	}
	nn, err := strconv.ParseUint(national, 10, 64)
	if err != nil {
		return nil, false
	}
	num := &phonenumbers.PhoneNumber{CountryCode: proto32(rule.countryCode), NationalNumber: &nn}
	if !phonenumbers.IsValidNumber(num) {
		return nil, false
	}
	return num, true
}

// callingCodes are the country calling codes libphonenumber knows, read
// once.
var callingCodes = sync.OnceValue(phonenumbers.GetSupportedCallingCodes)

// thousands writes n with a comma between thousands: 10,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Problem is one entry of the To field that cannot be sent to.
type Problem struct {
	Line int
	Raw  string
	Err  error
}

// String is the problem as the page shows it: "Line 3: 12ab is not a phone
// number."
func (p Problem) String() string { return fmt.Sprintf("Line %d: %v", p.Line, p.Err) }

// Recipients is what the To field holds.
type Recipients struct {
	// Numbers are the valid numbers in E.164, each once, in the order they
	// were first typed.
	Numbers []string
	// Invalid are the entries that are not numbers, by line.
	Invalid []Problem
	// Duplicates is how many entries repeated a number already listed
	// (however it was written: 5556 6677 and +372 5556 6677 are one).
	Duplicates int
	// Entries is how many entries the field held.
	Entries int
}

// TooManyError is the To field naming more numbers than one send may.
type TooManyError struct{ Entries int }

func (e *TooManyError) Error() string {
	return fmt.Sprintf("Send to at most %s numbers at once; this list has %s. Split it into several sends.",
		thousands(MaxRecipients), thousands(e.Entries))
}

// ParseRecipients reads the To field: numbers one per line, or separated
// by commas or semicolons. A number without a country code takes
// defaultCountry (the organisation's Country). More than MaxRecipients
// entries is a *TooManyError, and nothing is parsed.
func ParseRecipients(text, defaultCountry string) (Recipients, error) {
	type entry struct {
		line int
		raw  string
	}
	var entries []entry
	line := 0
	for l := range strings.Lines(text) {
		line++
		for f := range strings.FieldsFuncSeq(l, func(r rune) bool { return r == ',' || r == ';' || r == '\n' || r == '\r' }) {
			if f = strings.TrimSpace(f); f != "" {
				entries = append(entries, entry{line, f})
			}
		}
	}
	rs := Recipients{Entries: len(entries)}
	if len(entries) > MaxRecipients {
		return rs, &TooManyError{Entries: len(entries)}
	}
	// Parsing is the costly part of a long list: it is shared among the
	// processors. Each entry's result has its own slot, so the order and
	// the first of each duplicate stay those of the list.
	numbers := make([]string, len(entries))
	errs := make([]error, len(entries))
	workers := min(runtime.GOMAXPROCS(0), 1+len(entries)/500)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(entries); i += workers {
				numbers[i], errs[i] = ParseNumber(entries[i].raw, defaultCountry)
			}
		})
	}
	wg.Wait()
	seen := make(map[string]struct{}, len(entries))
	for i, e := range entries {
		if errs[i] != nil {
			rs.Invalid = append(rs.Invalid, Problem{Line: e.line, Raw: e.raw, Err: errs[i]})
			continue
		}
		if _, dup := seen[numbers[i]]; dup {
			rs.Duplicates++
			continue
		}
		seen[numbers[i]] = struct{}{}
		rs.Numbers = append(rs.Numbers, numbers[i])
	}
	return rs, nil
}

// CallingCode returns the country calling code of an ISO 3166-1 alpha-2
// country ("EE" → 372), 0 when there is none, for pages that say how a
// number without one is read.
func CallingCode(country string) int {
	return phonenumbers.GetCountryCodeForRegion(strings.ToUpper(country))
}

// plainDigits copies the digits of s into buf, skipping spaces and
// hyphens, and returns how many there are. ok is false when s holds
// anything else or more digits than buf: the fast paths leave such a
// number to phonenumbers.Parse.
func plainDigits(s string, buf []byte) (n int, ok bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if n == len(buf) {
				return 0, false
			}
			buf[n] = c
			n++
		case c == ' ' || c == '-':
		default:
			return 0, false
		}
	}
	return n, true
}
