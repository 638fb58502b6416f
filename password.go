package switchboard

import (
	_ "embed"
	"strings"
	"sync"
)

// commonPasswords holds well-known passwords of at least MinPasswordLength
// characters (shorter ones are refused for their length anyway), lower-cased,
// one a line. Taken from the most common passwords of public breach lists.
//
//go:embed common_passwords.txt
var commonPasswords string

var commonPasswordSet = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{})
	for _, line := range strings.Split(commonPasswords, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			set[line] = struct{}{}
		}
	}
	return set
})

// IsCommonPassword reports whether password, ignoring case, is one of the
// most common passwords.
func IsCommonPassword(password string) bool {
	_, ok := commonPasswordSet()[strings.ToLower(password)]
	return ok
}
