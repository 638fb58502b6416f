package main

import (
	"context"
	"fmt"

	"switchboard"
	"switchboard/store"
)

// seedAPI makes the database at dsn (a SQLite file, created if need be, or
// a postgres:// URL) ready for a load test of the JSON API against the
// real binary (api.lua): a profile and its organisation, funded by an
// invoice paid at once with enough for millions of messages, and an API
// key of the organisation. It prints the key as a shell line to evaluate.
func seedAPI(dsn string) error {
	ctx := context.Background()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	p := &switchboard.Profile{Email: fmt.Sprintf("load-%d@example.com", db.Now().UnixNano()), FirstName: "Load", LastName: "Test"}
	org := &switchboard.Organisation{Name: "Load test", Country: "EE"}
	// Nobody logs in as this profile: its password hash is no hash.
	if err := db.CreateProfileWithOrganisation(ctx, p, "!", org); err != nil {
		return err
	}
	actor := switchboard.Actor{ProfileID: p.ID, Name: p.Name(), IP: "127.0.0.1"}
	if _, err := db.CreateInvoice(ctx, actor, store.NewInvoice{OrgID: org.ID, Amount: 1_000_000 * switchboard.MoneyUnit, Currency: switchboard.DefaultCurrency, PayNow: true}); err != nil {
		return err
	}
	plain, hash := switchboard.NewAPIKey()
	k := &switchboard.APIKey{OrgID: org.ID, Name: "Load test"}
	if err := db.CreateAPIKey(ctx, actor, k, hash, plain[:switchboard.APIKeyShown]); err != nil {
		return err
	}
	fmt.Printf("export SWITCHBOARD_API_KEY=%s # organisation %d, funded with %s\n", plain, org.ID, switchboard.DefaultCurrency.Format(1_000_000*switchboard.MoneyUnit))
	return nil
}
