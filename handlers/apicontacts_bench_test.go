package handlers_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"testing"

	"switchboard/store"
	"switchboard/store/storetest"
)

// apiBenchContacts is the phonebook size of the API's benchmarks.
const apiBenchContacts = 100_000

// BenchmarkAPIContacts times the contacts routes through the real server
// and the real key check, as a client sees them: a page of 50 of a
// phonebook of 100,000 (the first page and one far in, a name search, a
// number search), one contact, adding one, and the balance.
func BenchmarkAPIContacts(b *testing.B) {
	a := newApp(b)
	owner := a.signup("owner@example.com", "Acme")
	a.fundOrg(owner.org, 125_000, "EE")
	storetest.SeedContacts(b, a.dsn, owner.org, apiBenchContacts, 0)
	if storetest.Postgres() {
		if _, err := a.raw().Exec(`ANALYZE`); err != nil {
			b.Fatal(err)
		}
	}
	k := newKeyClient(b, a, owner.org)
	id := a.rows(`SELECT MAX(id) FROM contacts WHERE org_id = ?`, owner.org)
	// A cursor half way through, as a client paging the whole phonebook
	// passes it.
	after := ""
	for range apiBenchContacts / 2 / store.ContactPageMax {
		_, next, err := a.db.ListContacts(context.Background(), owner.org, store.ContactFilter{}, after, store.ContactPageMax)
		if err != nil {
			b.Fatal(err)
		}
		after = next
	}
	far := base64.RawURLEncoding.EncodeToString([]byte(after))
	get := func(path string) func(b *testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if res := k.call(http.MethodGet, path, ""); res.status != http.StatusOK {
					b.Fatalf("%s: %d %s", path, res.status, res.body)
				}
			}
		}
	}
	b.Run("list", get("/contacts"))
	b.Run("list-far", get("/contacts?cursor="+far))
	b.Run("search-name", get("/contacts?q=kari"))
	b.Run("search-number", get("/contacts?q=%2B3725100"))
	b.Run("one", get(fmt.Sprintf("/contacts/%d", id)))
	b.Run("balance", get("/balance"))
	b.Run("create", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			n++
			res := k.call(http.MethodPost, "/contacts", fmt.Sprintf(`{"phone_number": "+372590%05d", "first_name": "New", "groups": []}`, n))
			if res.status != http.StatusCreated {
				b.Fatalf("%d %s", res.status, res.body)
			}
		}
	})
}
