package sms

import (
	"strings"
	"testing"
)

func TestExampleNumber(t *testing.T) {
	for country, want := range map[string]string{"EE": "+3725", "fi": "+358", "": FallbackExample, "ZZ": FallbackExample} {
		got := ExampleNumber(country)
		if !strings.HasPrefix(got, want) {
			t.Errorf("ExampleNumber(%q) = %q, want it to begin with %q", country, got, want)
			continue
		}
		if parsed, err := ParseNumber(got, ""); err != nil || parsed != got {
			t.Errorf("ExampleNumber(%q) = %q, which reads as %q, %v", country, got, parsed, err)
		}
	}
}
