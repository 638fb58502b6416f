package sms

import (
	"testing"

	"switchboard"
)

func TestApply(t *testing.T) {
	table := []switchboard.Replacement{{Find: "Mr.", Replace: "Mister"}, {Find: "M", Replace: "N"}, {Find: "ister", Replace: "X"}, {Find: "€", Replace: "EUR"}}
	cases := []struct {
		name string
		mode switchboard.AutoReplaceMode
		text string
		want string
	}{
		{"Off leaves the text as typed", switchboard.AutoReplaceOff, "„Tere“ Mr. ë", "„Tere“ Mr. ë"},
		{"an empty mode is Off", "", "„Tere“", "„Tere“"},
		// The longest Find wins where two match; a replacement is not
		// replaced again ("Mister" keeps its M and its "ister").
		{"On applies the table, longest first, in one pass", switchboard.AutoReplaceOn, "Mr. Mägi, Mr Maasikas: 5 €", "Mister Nägi, Nr Naasikas: 5 EUR"},
		{"On leaves what the table does not name", switchboard.AutoReplaceOn, "„Tere“ ë", "„Tere“ ë"},
		{"Full replaces „quotes“ and ë", switchboard.AutoReplaceFull, "„Tere“, ütles Zoë", `"Tere", ütles Zoe`},
		{"Full applies the table first", switchboard.AutoReplaceFull, "Mr. „Õun“", `Mister "Oun"`},
		{"Full: single quotes, dashes, ellipsis, no-break space", switchboard.AutoReplaceFull, "‘a’ ‚b‘ – c — d…\u00a0e «f»", `'a' 'b' - c - d... e "f"`},
		{"Full: accents GSM-7 lacks", switchboard.AutoReplaceFull, "õ ç š ž ā ł ê ﬁ", "o c s z a l e fi"},
		{"Full keeps what GSM-7 has", switchboard.AutoReplaceFull, "é è Ç ä ö ü ß Ø [~]", "é è Ç ä ö ü ß Ø [~]"},
		{"Full: an accent typed apart joins its letter", switchboard.AutoReplaceFull, "e\u0301 o\u0303", "é o"},
		{"Full: Greek small letters become capitals", switchboard.AutoReplaceFull, "λόγος", "ΛOΓOΣ"},
		{"Full: an emoji becomes ?", switchboard.AutoReplaceFull, "Hi 😀 ж", "Hi ? ?"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Apply(c.text, switchboard.AutoReplace{Mode: c.mode, Rules: table})
			if got != c.want {
				t.Errorf("Apply(%q) = %q, want %q", c.text, got, c.want)
			}
			if c.mode == switchboard.AutoReplaceFull && Encode(got).Encoding != switchboard.GSM7 {
				t.Errorf("Full left %q outside GSM-7", got)
			}
		})
	}
}

// TestFullKeepsOnePart is why Full exists: a message of 150 characters
// with „quotes“ would be UCS-2 and three parts; replaced it is one.
func TestFullKeepsOnePart(t *testing.T) {
	text := "„Hello“ "
	for len([]rune(text)) < 150 {
		text += "x"
	}
	if c := Encode(text); c.Encoding != switchboard.UCS2 || c.Parts != 3 {
		t.Fatalf("as typed: %+v, want UCS-2 in 3 parts", c)
	}
	if c := Encode(Apply(text, switchboard.AutoReplace{Mode: switchboard.AutoReplaceFull})); c.Encoding != switchboard.GSM7 || c.Parts != 1 {
		t.Fatalf("after Full: %+v, want GSM-7 in 1 part", c)
	}
}
