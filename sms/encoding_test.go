package sms

import (
	"strings"
	"testing"
	"unicode/utf8"

	"switchboard"
)

func TestEncodeAndParts(t *testing.T) {
	r := strings.Repeat
	cases := []struct {
		name       string
		text       string
		encoding   switchboard.Encoding
		characters int
		parts      int
	}{
		{"empty", "", switchboard.GSM7, 0, 0},
		{"one character", "a", switchboard.GSM7, 1, 1},
		{"160 GSM-7 characters are one part", r("a", 160), switchboard.GSM7, 160, 1},
		{"161 GSM-7 characters are two", r("a", 161), switchboard.GSM7, 161, 2},
		{"153×2 GSM-7 characters are two parts", r("a", 306), switchboard.GSM7, 306, 2},
		{"153×2+1 are three", r("a", 307), switchboard.GSM7, 307, 3},
		{"154×2 are three", r("a", 308), switchboard.GSM7, 308, 3},
		{"153×10 are ten", r("a", 1530), switchboard.GSM7, 1530, 10},
		{"the default alphabet's accents stay GSM-7", "Hällo Ñandù, Ça va? Ø Å É ß Ü ì ò à", switchboard.GSM7, 35, 1},
		{"€ counts twice: 80 are 160, one part", r("€", 80), switchboard.GSM7, 160, 1},
		{"81 € are 162, two parts", r("€", 81), switchboard.GSM7, 162, 2},
		{"every extension character counts twice", "|^€{}[]~\\\f", switchboard.GSM7, 20, 1},
		{"159 characters and one € are 161, two parts", r("a", 159) + "€", switchboard.GSM7, 161, 2},
		// 306 septets would be two parts of 153, but the € at 153–154
		// cannot be cut from its escape: it starts the second part, and
		// the last a spills into a third.
		{"an extension character at a part boundary starts the next part", r("a", 152) + "€" + r("a", 152), switchboard.GSM7, 306, 3},
		{"the same length without the boundary is two parts", r("a", 151) + "€" + r("a", 153), switchboard.GSM7, 306, 2},
		{"70 UCS-2 characters are one part", r("ж", 70), switchboard.UCS2, 70, 1},
		{"71 UCS-2 characters are two", r("ж", 71), switchboard.UCS2, 71, 2},
		{"134 UCS-2 characters are two parts of 67", r("ж", 134), switchboard.UCS2, 134, 2},
		{"135 UCS-2 characters are three", r("ж", 135), switchboard.UCS2, 135, 3},
		{"one character outside GSM-7 makes the whole text UCS-2", r("a", 69) + "ë", switchboard.UCS2, 70, 1},
		{"ç is not GSM-7 (Ç is)", "ç", switchboard.UCS2, 1, 1},
		{"an emoji counts 2", "😀", switchboard.UCS2, 2, 1},
		{"35 emoji are 70, one part", r("😀", 35), switchboard.UCS2, 70, 1},
		{"36 emoji are 72, two parts", r("😀", 36), switchboard.UCS2, 72, 2},
		{"a surrogate pair at a part boundary starts the next part", r("ж", 66) + "😀" + r("ж", 66), switchboard.UCS2, 134, 3},
		{"a backtick is not GSM-7", "`", switchboard.UCS2, 1, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Encode(c.text)
			if got.Encoding != c.encoding || got.Characters != c.characters || got.Parts != c.parts {
				t.Errorf("Encode = %s, %d characters, %d parts; want %s, %d, %d", got.Encoding, got.Characters, got.Parts, c.encoding, c.characters, c.parts)
			}
			parts := Split(c.text)
			if strings.Join(parts, "") != c.text {
				t.Errorf("the parts do not join back into the text")
			}
			for i, p := range parts {
				size := 0
				for _, r := range p {
					if c.encoding == switchboard.GSM7 {
						size += septets(r)
					} else {
						size += utf16Units(r)
					}
				}
				limit := map[switchboard.Encoding][2]int{switchboard.GSM7: {GSM7Single, GSM7Multi}, switchboard.UCS2: {UCS2Single, UCS2Multi}}[c.encoding]
				if max := limit[1]; len(parts) == 1 && size > limit[0] || len(parts) > 1 && size > max {
					t.Errorf("part %d is %d units long", i+1, size)
				}
			}
		})
	}
}

// TestGSM7Alphabet checks the tables against the characters 3GPP TS 23.038
// lists, written out here a second way.
func TestGSM7Alphabet(t *testing.T) {
	basic := "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	if n := utf8.RuneCountInString(basic); n != 127 {
		t.Fatalf("the written-out alphabet has %d characters, want 127 (128 less the escape)", n)
	}
	for _, r := range basic {
		if septets(r) != 1 {
			t.Errorf("%q takes %d septets, want 1", r, septets(r))
		}
	}
	for _, r := range "\f^{}\\[~]|€" {
		if septets(r) != 2 {
			t.Errorf("%q takes %d septets, want 2 (extension table)", r, septets(r))
		}
	}
	for _, r := range "`ç\tëõ„“”–—…\u00a0😀ж€̈" {
		if r == '€' {
			continue
		}
		if IsGSM7(r) {
			t.Errorf("%q is taken for GSM-7", r)
		}
	}
	if IsGSM7(0x1B) {
		t.Error("the escape itself is taken for a character")
	}
}
