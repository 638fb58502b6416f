package sms

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"switchboard"
)

// Apply returns text as it will leave under the organisation's
// auto-replace setting (PRODUCT.md § Messages and the gateway): Off leaves
// it as typed; On applies the Find → Replace table; Full applies the table
// and then turns every character GSM-7 cannot carry into its closest GSM-7
// character, so that „quotes“ or ë alone do not make a message UCS-2, with
// less than half the characters per part.
func Apply(text string, ar switchboard.AutoReplace) string {
	switch ar.Mode {
	case switchboard.AutoReplaceOn:
		return replaceTable(text, ar.Rules)
	case switchboard.AutoReplaceFull:
		return ToGSM7(replaceTable(text, ar.Rules))
	}
	return text
}

// replaceTable applies the rules in one pass from left to right: at each
// position the longest Find that matches there wins, its replacement is
// written and the scan goes on after the match, so a replacement is never
// replaced again and matches never overlap.
func replaceTable(text string, rules []switchboard.Replacement) string {
	var list []switchboard.Replacement
	for _, r := range rules {
		if r.Find != "" {
			list = append(list, r)
		}
	}
	if len(list) == 0 {
		return text
	}
	// Longest first: "Mr." must win over "M" where both match.
	slices.SortStableFunc(list, func(a, b switchboard.Replacement) int { return len(b.Find) - len(a.Find) })
	var b strings.Builder
	b.Grow(len(text))
	for i := 0; i < len(text); {
		matched := false
		for _, r := range list {
			if strings.HasPrefix(text[i:], r.Find) {
				b.WriteString(r.Replace)
				i += len(r.Find)
				matched = true
				break
			}
		}
		if !matched {
			// Copy one whole character, never half of one.
			_, n := utf8.DecodeRuneInString(text[i:])
			b.WriteString(text[i : i+n])
			i += n
		}
	}
	return b.String()
}

// closest holds the characters whose closest GSM-7 character is not what
// taking off their accents gives: punctuation that word processors and
// phones type in place of the plain one, and letters that have no accent
// to take off.
var closest = map[rune]string{
	// Quotation marks.
	'„': `"`, '“': `"`, '”': `"`, '‟': `"`, '«': `"`, '»': `"`, '″': `"`, '〝': `"`, '〞': `"`, '＂': `"`,
	'‘': "'", '’': "'", '‚': "'", '‛': "'", '‹': "'", '›': "'", '′': "'", '`': "'", '´': "'", 'ʼ': "'",
	// Dashes and hyphens.
	'‐': "-", '‑': "-", '‒': "-", '–': "-", '—': "-", '―': "-", '−': "-", '﹘': "-",
	// Spaces: no-break, thin, em and the rest become a plain space; the
	// invisible ones go.
	'\u00A0': " ", '\u2000': " ", '\u2001': " ", '\u2002': " ", '\u2003': " ", '\u2004': " ", '\u2005': " ",
	'\u2006': " ", '\u2007': " ", '\u2008': " ", '\u2009': " ", '\u200A': " ", '\u202F': " ", '\u205F': " ", '\u3000': " ",
	'\u200B': "", '\u200C': "", '\u200D': "", '\u2060': "", '\uFEFF': "", '\u00AD': "",
	'\t': " ",
	// Other punctuation and signs.
	'…': "...", '•': "*", '·': ".", '‣': "*", '⁃': "-", '×': "x", '÷': "/", '¦': "|",
	'¢': "c", '©': "(c)", '®': "(r)", '™': "TM", '°': "o", '‰': "%", '¨': "", '¸': "",
	'˜': "~", 'ˆ': "^", '¬': "-", '¯': "-", '¹': "1", '²': "2", '³': "3", '¼': "1/4", '½': "1/2", '¾': "3/4",
	// Letters without an accent to take off.
	'ç': "c", 'Ð': "D", 'ð': "d", 'Đ': "D", 'đ': "d", 'Ł': "L", 'ł': "l", 'Þ': "Th", 'þ': "th",
	'Œ': "OE", 'œ': "oe", 'ı': "i", 'ĸ': "k", 'Ŋ': "N", 'ŋ': "n", 'ſ': "s", 'ẞ': "SS", 'Ħ': "H", 'ħ': "h",
	'Ŧ': "T", 'ŧ': "t", 'ƒ': "f", 'Ɨ': "I", 'ɨ': "i",
	// Greek capitals that look like Latin ones, as Greek phones write
	// them in GSM-7 (the others, Δ Φ Γ Λ Ω Π Ψ Σ Θ Ξ, are in its
	// alphabet); small letters become capitals first.
	'Α': "A", 'Β': "B", 'Ε': "E", 'Ζ': "Z", 'Η': "H", 'Ι': "I", 'Κ': "K", 'Μ': "M", 'Ν': "N", 'Ο': "O",
	'Ρ': "P", 'Τ': "T", 'Υ': "Y", 'Χ': "X",
	// Currency signs GSM-7 lacks.
	'₹': "Rs", '₽': "RUB", '₺': "TL", '₩': "W", '₪': "NIS", '₴': "UAH", '₦': "N",
}

// ToGSM7 replaces every character GSM-7 cannot carry by its closest GSM-7
// character: first the table of punctuation and letters above (so „ “ ”
// « » become ", – — become -, … becomes ...), then the letter without its
// accents by Unicode decomposition (ë → e, õ → o, ﬁ → fi), then a Greek
// capital of the default alphabet for its small letter (λ → Λ), and "?"
// for anything left (an emoji). The text is put in composed form (NFC)
// first, so an accent typed as a character of its own joins its letter
// (e + ◌́ is é, which GSM-7 has).
func ToGSM7(text string) string {
	text = norm.NFC.String(text)
	ok := true
	for _, r := range text {
		if septets(r) == 0 {
			ok = false
			break
		}
	}
	if ok {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	for _, r := range text {
		if septets(r) > 0 {
			b.WriteRune(r)
			continue
		}
		b.WriteString(closestGSM7(r))
	}
	return b.String()
}

// closestGSM7 is ToGSM7 for one character GSM-7 cannot carry.
func closestGSM7(r rune) string {
	if s, ok := closest[r]; ok {
		return s
	}
	if unicode.Is(unicode.Mn, r) {
		// An accent left on its own (on a letter that has no composed
		// form in GSM-7) is dropped; the letter stays.
		return ""
	}
	var b strings.Builder
	for _, d := range norm.NFKD.String(string(r)) {
		switch {
		case unicode.Is(unicode.Mn, d):
		case septets(d) > 0:
			b.WriteRune(d)
		default:
			u := unicode.ToUpper(d)
			if s, ok := closest[d]; ok {
				b.WriteString(s)
			} else if septets(u) > 0 {
				b.WriteRune(u)
			} else if s, ok := closest[u]; ok {
				b.WriteString(s)
			} else {
				return "?"
			}
		}
	}
	if b.Len() == 0 {
		return "?"
	}
	return b.String()
}
