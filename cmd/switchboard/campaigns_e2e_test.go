package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	"switchboard"
	"switchboard/store"
	"switchboard/store/storetest"
)

// TestMainStartsCampaignDueWhileStopped: a campaign whose time passed
// while the panel was stopped is started by the next Main at once, and its
// messages reach the gateway once each; a restart starts nothing more.
func TestMainStartsCampaignDueWhileStopped(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sb.db")
	const contacts = 12

	// Scheduled for three hours ago, written while no panel ran.
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	p := &switchboard.Profile{Email: "owner@example.com", FirstName: "Ada", LastName: "Lovelace"}
	org := &switchboard.Organisation{Name: "Acme"}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.CreateProfileWithOrganisation(ctx, p, "hash", org))
	actor := switchboard.Actor{ProfileID: p.ID, Name: p.Name()}
	g := &switchboard.Group{OrgID: org.ID, Name: "Newsletter"}
	must(db.CreateGroup(ctx, actor, g))
	for i := range contacts {
		_, err := db.JoinGroup(ctx, &switchboard.Contact{OrgID: org.ID, Phone: fmt.Sprintf("+3725550%04d", i)}, g.ID)
		must(err)
	}
	raw := storetest.OpenRaw(t, path)
	_, err = raw.ExecContext(ctx, `UPDATE organisations SET balance = ? WHERE id = ?`, int64(switchboard.MoneyUnit), org.ID)
	must(err)
	cp := &switchboard.Campaign{OrgID: org.ID, Name: "Spring sale", From: "Switchboard", Text: "Spring sale today", SendAt: time.Now().Add(-3 * time.Hour), GroupIDs: []int64{g.ID}}
	must(db.CreateCampaign(ctx, actor, cp))
	must(db.Close())

	hook := newDeliveryWebhook(t, nil)
	m := startMainFlags(t, path, io.Discard, "--gateway", hook.URL, "--gateway-secret", testGatewaySecret)
	status := func() *switchboard.Campaign {
		c, err := m.DB.FindCampaign(ctx, org.ID, cp.ID)
		must(err)
		return c
	}
	waitForDelivery(t, "the campaign is sent", func() bool { return status().Status == switchboard.CampaignSent })
	c := status()
	if c.Recipients != contacts || c.Counts[switchboard.StatusSent] != contacts || c.Cost != contacts*500 {
		t.Fatalf("campaign %+v", c)
	}
	must(m.Close())

	// A restart: the scheduler looks at once and finds nothing to start.
	m = startMainFlags(t, path, io.Discard, "--gateway", hook.URL, "--gateway-secret", testGatewaySecret)
	if n, err := m.Campaigns.Flush(ctx); err != nil || n != 0 {
		t.Fatalf("after a restart %d started (%v)", n, err)
	}
	must(m.Close())

	var messages int
	must(raw.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages`).Scan(&messages))
	if messages != contacts {
		t.Fatalf("%d messages, want %d", messages, contacts)
	}
	rows, err := raw.QueryContext(ctx, `SELECT id FROM messages`)
	must(err)
	defer rows.Close()
	for rows.Next() {
		var id int64
		must(rows.Scan(&id))
		if n := hook.accepted(id); n != 1 {
			t.Errorf("message %d reached the gateway %d times", id, n)
		}
	}
	if hook.bad != 0 {
		t.Errorf("%d unsigned calls", hook.bad)
	}
}
