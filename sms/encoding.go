// Package sms holds what Switchboard knows about text messages themselves:
// phone numbers (parsed to E.164 with libphonenumber's Go port), the GSM
// 03.38 rules for encoding and parts, and auto-replace. It does no I/O.
package sms

import (
	"unicode/utf8"

	"switchboard"
)

// The GSM 7-bit default alphabet and its extension table, as 3GPP TS
// 23.038 (formerly GSM 03.38) § 6.2.1 and § 6.2.1.1 give them. No
// maintained Go module for them is reachable from the module proxy
// (github.com/warthog618/sms is refused there), so the two tables are
// written here and checked by the tests character by character.
//
// gsmBasic is the default alphabet in code order, 0x00 to 0x7F; 0x1B is
// the escape to the extension table, not a character of its own.
var gsmBasic = [128]rune{
	'@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å',
	'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', 0x1B, 'Æ', 'æ', 'ß', 'É',
	' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',
	'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',
	'¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
	'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§',
	'¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à',
}

// gsmExtension is the extension table's characters with their codes (sent
// after the escape 0x1B, so each takes two septets): form feed ^ { } \ [ ~
// ] | €.
var gsmExtension = map[rune]byte{
	'\f': 0x0A, '^': 0x14, '{': 0x28, '}': 0x29, '\\': 0x2F, '[': 0x3C, '~': 0x3D, ']': 0x3E, '|': 0x40, '€': 0x65,
}

// gsmSeptets maps every character GSM-7 can carry to the septets it takes:
// 1 for the default alphabet, 2 for the extension table.
var gsmSeptets = func() map[rune]int {
	m := make(map[rune]int, 140)
	for code, r := range gsmBasic {
		if code != 0x1B {
			m[r] = 1
		}
	}
	for r := range gsmExtension {
		m[r] = 2
	}
	return m
}()

// gsmASCII is gsmSeptets for the ASCII characters, read without a map:
// most messages are mostly ASCII. 0 means not in GSM-7 (` is not).
var gsmASCII = func() (t [128]uint8) {
	for r, n := range gsmSeptets {
		if r < 128 {
			t[r] = uint8(n)
		}
	}
	return t
}()

// septets returns how many septets r takes in GSM-7, 0 if GSM-7 cannot
// carry it.
func septets(r rune) int {
	if r < 128 {
		return int(gsmASCII[r])
	}
	return gsmSeptets[r]
}

// IsGSM7 reports whether GSM-7 can carry r (from its default alphabet or
// its extension table).
func IsGSM7(r rune) bool { return septets(r) > 0 }

// The sizes of a part (3GPP TS 23.040): 140 octets of user data hold 160
// septets or 70 UCS-2 code units; a part of a longer message gives 6
// octets to the concatenation header, leaving 153 or 67.
const (
	GSM7Single = 160
	GSM7Multi  = 153
	UCS2Single = 70
	UCS2Multi  = 67
)

// MaxParts is the most parts a message sent from the panel may have:
// phones join up to 255, but a longer text costs ten times the price of a
// part, which is rarely what someone meant.
const MaxParts = 10

// Count is what a text costs to send: its encoding, its length as that
// encoding counts it, and the parts it is split into.
type Count struct {
	Encoding switchboard.Encoding
	// Characters is the length as the encoding counts it: septets for
	// GSM-7 (an extension character counts 2), UTF-16 code units for
	// UCS-2 (an emoji outside the Basic Multilingual Plane counts 2).
	Characters int
	// Parts is how many SMS the text is sent as; 0 for an empty text.
	Parts int
	// PerPart is the size of a part at this length: 160 or 153 (GSM-7),
	// 70 or 67 (UCS-2).
	PerPart int
}

// Encode counts text: GSM-7 if every character is in the GSM 7-bit
// alphabet or its extension table, UCS-2 otherwise.
func Encode(text string) Count {
	units, gsm := 0, true
	for _, r := range text {
		n := septets(r)
		if n == 0 {
			gsm = false
			break
		}
		units += n
	}
	if gsm {
		c := Count{Encoding: switchboard.GSM7, Characters: units, PerPart: GSM7Single}
		if units > GSM7Single {
			c.PerPart = GSM7Multi
		}
		c.Parts = len(Split(text))
		return c
	}
	units = 0
	for _, r := range text {
		units += utf16Units(r)
	}
	c := Count{Encoding: switchboard.UCS2, Characters: units, PerPart: UCS2Single}
	if units > UCS2Single {
		c.PerPart = UCS2Multi
	}
	c.Parts = len(Split(text))
	return c
}

// utf16Units is how many UTF-16 code units r takes: 2 for a character
// outside the Basic Multilingual Plane (most emoji), a surrogate pair.
func utf16Units(r rune) int {
	if r >= 0x10000 && r <= utf8.MaxRune {
		return 2
	}
	return 1
}

// Split cuts text into the parts it is sent as. A text that fits one part
// is one part; a longer one is cut at 153 septets (GSM-7) or 67 code units
// (UCS-2), never between the two septets of an extension character (escape
// and code) nor between the two halves of a surrogate pair: such a
// character that would straddle the boundary starts the next part, which
// leaves the part before one unit short. The part count follows from
// that, so it can be one more than the length divided by the part size.
func Split(text string) []string {
	if text == "" {
		return nil
	}
	size := func(r rune) int { return utf16Units(r) }
	single, multi := UCS2Single, UCS2Multi
	total, gsm := 0, true
	for _, r := range text {
		if septets(r) == 0 {
			gsm = false
			break
		}
		total += septets(r)
	}
	if gsm {
		size, single, multi = septets, GSM7Single, GSM7Multi
	} else {
		total = 0
		for _, r := range text {
			total += utf16Units(r)
		}
	}
	if total <= single {
		return []string{text}
	}
	var parts []string
	start, used := 0, 0
	for i, r := range text {
		n := size(r)
		if used+n > multi {
			parts = append(parts, text[start:i])
			start, used = i, 0
		}
		used += n
	}
	return append(parts, text[start:])
}
