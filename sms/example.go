package sms

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// FallbackExample is the number shown when a country has no example of
// its own (or none is known): PRODUCT.md's own.
const FallbackExample = "+37255566677"

// ExampleNumber returns an example mobile number of the country (ISO
// 3166-1 alpha-2) in E.164, for documentation that should look like the
// reader's own numbers; FallbackExample when there is none.
func ExampleNumber(country string) string {
	if country == "" {
		return FallbackExample
	}
	n := phonenumbers.GetExampleNumberForType(strings.ToUpper(country), phonenumbers.MOBILE)
	if n == nil {
		return FallbackExample
	}
	return phonenumbers.Format(n, phonenumbers.E164)
}
