package switchboard

import "strconv"

// Plural writes a count with its noun, singular for one: "1 member",
// "3 members". Every count shown to people goes through it.
func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
