// Package password judges how easy a new password is to guess, with zxcvbn
// (a faithful Go port of Dropbox's estimator: 30,000 common passwords,
// names, English words, keyboard patterns, dates, l33t speak) and with what
// the panel knows about the person choosing it.
//
// It lives outside the root package because the root is standard library
// only; the root's ValidatePassword keeps the length rules, which need no
// dictionary.
package password

import (
	"strings"
	"unicode"

	"github.com/trustelem/zxcvbn"

	"switchboard"
)

// MinScore is the lowest zxcvbn score accepted (0 to 4): 3 means about 10⁸
// guesses or more, "safely unguessable" for an online attack and still slow
// offline against argon2id.
const MinScore = 3

// maxEstimated is how many characters the estimator looks at. zxcvbn's cost
// grows faster than the square of the length (3 s for 256 random
// characters, up to 70 ms for 64, 6 ms for 40), and 40 characters that are
// not one long pattern already score 4, while a password whose first 40
// characters are easy to guess is weak however it ends.
const maxEstimated = 40

// product is the panel's own name: a password built on it is among the
// first guesses against any Switchboard.
const product = "switchboard"

// Messages shown beside the field.
const (
	msgPersonal = "Choose a password that is not built on your name, your email address or Switchboard: these are the first guesses anyone would try."
	msgWeak     = "This password is too easy to guess: common words, names, years and letters swapped for digits are the first things tried. A few unrelated words, like a short sentence only you would write, are strong and easy to remember."
)

// Validate records a message under field if password breaks the length
// rules (switchboard.ValidatePassword), is built on who's name or email or
// the product's name, or is too easy to guess. who may be nil.
func Validate(f switchboard.FieldErrors, field, password string, who *switchboard.Profile) {
	if _, ok := f[field]; ok {
		return
	}
	switchboard.ValidatePassword(f, field, password)
	if _, ok := f[field]; ok {
		return
	}
	words := personalWords(who)
	if builtOn(password, words) {
		f.Add(field, msgPersonal)
		return
	}
	if Score(password, words) < MinScore {
		f.Add(field, msgWeak)
	}
}

// Score is zxcvbn's score (0 to 4) of the first maxEstimated characters of
// password, with words (the person's own) counted as the most common
// dictionary words.
func Score(password string, words []string) int {
	if r := []rune(password); len(r) > maxEstimated {
		password = string(r[:maxEstimated])
	}
	return zxcvbn.PasswordStrength(password, words).Score
}

// personalWords are the lower-cased words a guesser would take from who:
// the email, its local part and domain and their pieces, the names, and the
// product's name.
func personalWords(who *switchboard.Profile) []string {
	words := []string{product}
	add := func(s string) {
		s = strings.ToLower(strings.TrimSpace(s))
		if s == "" {
			return
		}
		words = append(words, s)
		for _, piece := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			if piece != s {
				words = append(words, piece)
			}
		}
	}
	if who == nil {
		return words
	}
	add(who.Email)
	if at := strings.LastIndexByte(who.Email, '@'); at >= 0 {
		add(who.Email[:at])
		add(who.Email[at+1:])
	}
	add(who.FirstName)
	add(who.LastName)
	return words
}

// builtOn reports whether the letters of password, once digits, symbols and
// spaces are dropped, are nothing but words (of three letters or more)
// strung together: "Switchboard2024!", "jane.doe@example.com", "Doe-Jane99".
func builtOn(password string, words []string) bool {
	core := letters(password)
	if core == "" {
		return false
	}
	var pieces []string
	for _, w := range words {
		if w = letters(w); len([]rune(w)) >= 3 {
			pieces = append(pieces, w)
		}
	}
	// done[i]: core[:i] is a string of pieces.
	done := make([]bool, len(core)+1)
	done[0] = true
	for i := 0; i < len(core); i++ {
		if !done[i] {
			continue
		}
		for _, p := range pieces {
			if strings.HasPrefix(core[i:], p) {
				done[i+len(p)] = true
			}
		}
	}
	return done[len(core)]
}

// letters returns the lower-cased letters of s.
func letters(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}
