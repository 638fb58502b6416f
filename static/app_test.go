package static

import (
	"regexp"
	"strings"
	"testing"
)

// colourLiteral matches a colour written out: #rgb, #rrggbb(aa), rgb(),
// rgba(), hsl(), and the named colours a stylesheet is tempted to use.
var colourLiteral = regexp.MustCompile(`(?i)#[0-9a-f]{3,8}\b|\b(?:rgba?|hsla?|oklch|lab|lch)\(|:\s*(?:white|black)\b|\s(?:white|black)\s*(?:;|$)`)

// TestColoursOnlyInCustomProperties holds the dark theme together: a colour
// written anywhere but in a custom property's definition would stay the
// same in the dark scheme (a white card on a dark page).
func TestColoursOnlyInCustomProperties(t *testing.T) {
	css, err := FS.ReadFile("app.css")
	if err != nil {
		t.Fatal(err)
	}
	// Comments may name colours.
	text := regexp.MustCompile(`(?s)/\*.*?\*/`).ReplaceAllString(string(css), "")
	for _, block := range strings.FieldsFunc(text, func(r rune) bool { return r == '{' || r == '}' }) {
		for _, decl := range strings.Split(block, ";") {
			decl = strings.TrimSpace(decl)
			if decl == "" || strings.HasPrefix(decl, "--") || !strings.Contains(decl, ":") {
				continue
			}
			if loc := colourLiteral.FindStringIndex(decl); loc != nil {
				t.Errorf("app.css: %q writes a colour out; use a custom property (var(--…)) defined in :root and in the dark set", decl)
			}
		}
	}
}

// TestDarkSchemeRedefinesEveryColour: each colour property of the light set
// has its dark counterpart, and the page tells the browser it supports both
// schemes so form controls and scroll bars follow.
func TestDarkSchemeRedefinesEveryColour(t *testing.T) {
	css, err := FS.ReadFile("app.css")
	if err != nil {
		t.Fatal(err)
	}
	text := string(css)
	if !strings.Contains(text, "color-scheme: light dark") {
		t.Error("app.css does not declare color-scheme: light dark")
	}
	_, dark, ok := strings.Cut(text, "@media (prefers-color-scheme: dark)")
	if !ok {
		t.Fatal("app.css has no @media (prefers-color-scheme: dark) block")
	}
	light, _, _ := strings.Cut(text, "@media (prefers-color-scheme: dark)")
	prop := regexp.MustCompile(`(--[a-z0-9-]+)\s*:\s*([^;]+);`)
	for _, m := range prop.FindAllStringSubmatch(light, -1) {
		if !colourLiteral.MatchString(" " + m[2] + ";") {
			continue // a length, a font
		}
		if !strings.Contains(dark, m[1]+":") {
			t.Errorf("the colour %s is not redefined for the dark scheme", m[1])
		}
	}
}
