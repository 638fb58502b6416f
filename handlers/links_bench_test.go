package handlers_test

import (
	"fmt"
	"net/http"
	"testing"
)

// BenchmarkJoinPage is a subscription link's public page through the real
// server: showing it to a visitor, and a join (the form posted, the
// contact written, the redirect), each with a new number.
func BenchmarkJoinPage(b *testing.B) {
	a := newApp(b)
	owner := a.signup("owner@example.com", "Acme")
	link := createLink(b, owner, owner.org, newGroup(b, a, owner.org, owner.profile, "Newsletter"), "Website footer")
	a.srv.SetJoinClientLimit(1 << 30)
	a.srv.SetJoinLinkLimit(1 << 30)
	visitor := a.client()
	b.Run("show", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if res := visitor.get(link); res.status != http.StatusOK {
				b.Fatal(res.status)
			}
		}
	})
	b.Run("join", func(b *testing.B) {
		csrf := csrfField(visitor.get(link).body)
		n := 0
		b.ReportAllocs()
		for b.Loop() {
			n++
			f := joinForm(fmt.Sprintf("+3725%07d", n), "Mari")
			f.Set("_csrf", csrf)
			if res := visitor.postRaw(link, f); res.status != http.StatusSeeOther {
				b.Fatal(res.status, res.body)
			}
		}
	})
}
