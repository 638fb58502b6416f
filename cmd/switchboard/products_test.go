package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"switchboard"
	"switchboard/store"
	"switchboard/store/storetest"
)

// TestProductsCommand runs "switchboard products list|approve|decline"
// through ParseFlags and RunCommand on a real database of each engine, and
// on the database of a panel that is running, as the operator would, and
// reads the decisions back through the store.
func TestProductsCommand(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) { productsCommand(t, filepath.Join(t.TempDir(), "switchboard.db")) })
	t.Run("PostgreSQL", func(t *testing.T) { productsCommand(t, storetest.PostgresDSN(t)) })
	t.Run("while the panel runs", func(t *testing.T) { productsCommand(t, startPanel(t).Config.DB) })
}

func productsCommand(t *testing.T, dsn string) {
	ctx := context.Background()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	owner := &switchboard.Profile{Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace"}
	org := &switchboard.Organisation{Name: "Acme Ltd"}
	if err := db.CreateProfileWithOrganisation(ctx, owner, "hash", org); err != nil {
		t.Fatal(err)
	}
	request := func(p switchboard.Product, note string) *switchboard.ProductRequest {
		r := &switchboard.ProductRequest{OrgID: org.ID, Product: p, Note: note}
		if err := db.RequestProduct(ctx, switchboard.Actor{ProfileID: owner.ID, Name: "Ada Lovelace"}, r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	voice := request(switchboard.ProductVoice, "A call centre\nin Tallinn")
	wa := request(switchboard.ProductWhatsAppBusiness, "")

	run := func(args ...string) (string, error) {
		t.Helper()
		m := NewMain()
		var out bytes.Buffer
		m.Stdout = &out
		err := m.ParseFlags(append([]string{"--db", dsn, "products"}, args...), func(string) string { return "" })
		if err == nil {
			err = m.RunCommand(ctx)
		}
		return out.String(), err
	}
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	at := func(r *switchboard.ProductRequest) string { return r.CreatedAt.UTC().Format("2006-01-02 15:04 UTC") }

	out, err := run("list")
	if err != nil {
		t.Fatal(err)
	}
	want := id(voice.ID) + "\torganisation " + id(org.ID) + " Acme Ltd\tVoice\tA call centre in Tallinn\trequested " + at(voice) + "\n" +
		id(wa.ID) + "\torganisation " + id(org.ID) + " Acme Ltd\tWhatsApp Business\t\trequested " + at(wa) + "\n"
	if out != want {
		t.Errorf("list printed %q, want %q", out, want)
	}

	out, err = run("approve", id(voice.ID))
	if err != nil || out != "Approved product request "+id(voice.ID)+": Voice is active for organisation "+id(org.ID)+" Acme Ltd.\n" {
		t.Errorf("approve: %q, %v", out, err)
	}
	out, err = run("decline", id(wa.ID), "--reason", "Not in your country yet.")
	if err != nil || out != "Declined product request "+id(wa.ID)+", WhatsApp Business, of organisation "+id(org.ID)+" Acme Ltd: Not in your country yet.\n" {
		t.Errorf("decline: %q, %v", out, err)
	}
	out, err = run("list")
	if err != nil || out != "No product request is waiting for a decision.\n" {
		t.Errorf("list after the decisions: %q, %v", out, err)
	}

	// What cannot be done says why, prints nothing and changes nothing.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"approve", id(wa.ID)}, "products approve: The product request " + id(wa.ID) + " (WhatsApp Business for Acme Ltd) was decided already: it is declined on"},
		{[]string{"decline", id(voice.ID), "--reason", "Too late"}, "was decided already: it is active on"},
		{[]string{"approve", "999999"}, "There is no product request with the id 999999."},
		{[]string{"decline", "999999"}, "There is no product request with the id 999999."},
		{[]string{"approve"}, "name the id of an open product request"},
		{[]string{"approve", "voice"}, `"voice" is not an id`},
		{[]string{"approve", id(wa.ID), "--reason", "x"}, "flag provided but not defined: -reason"},
		{[]string{"decline", id(wa.ID), "because"}, `unexpected "because"`},
		{[]string{"list", "all"}, "products list takes nothing more"},
		{[]string{"reject", "1"}, "products reject: no such command"},
		{nil, "products: say what to do"},
	} {
		out, err := run(tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || out != "" {
			t.Errorf("products %q: printed %q, error %v; want an error with %q", tc.args, out, err, tc.want)
		}
	}
	list, err := db.ListProductRequests(ctx, org.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Status != switchboard.ProductDeclined || list[0].Reason != "Not in your country yet." || list[1].Status != switchboard.ProductActive {
		t.Errorf("after the commands: %+v", list)
	}
	entries, _, err := db.ListAudit(ctx, org.ID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if entries[0].Action != store.AuditProductDecided || entries[0].ActorName != "Operator" || entries[0].Detail != "Declined: Not in your country yet." ||
		entries[1].Action != store.AuditProductDecided || entries[1].Target != "Voice" || entries[1].Detail != "Active" {
		t.Errorf("audit: %+v", entries[:2])
	}
}

// TestProductsCommandExitCode: the binary exits 1 with the error on
// standard error when a decision cannot be made (an unknown id, a request
// decided already), and 0 with its line when it can.
func TestProductsCommandExitCode(t *testing.T) {
	bin := buildBinary(t)
	dbPath := filepath.Join(t.TempDir(), "switchboard.db")
	ctx := context.Background()
	db, err := store.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	owner := &switchboard.Profile{Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace"}
	org := &switchboard.Organisation{Name: "Acme Ltd"}
	if err := db.CreateProfileWithOrganisation(ctx, owner, "hash", org); err != nil {
		t.Fatal(err)
	}
	r := &switchboard.ProductRequest{OrgID: org.ID, Product: switchboard.ProductSMS}
	if err := db.RequestProduct(ctx, switchboard.Actor{ProfileID: owner.ID}, r); err != nil {
		t.Fatal(err)
	}
	db.Close()

	fail := func(want string, args ...string) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"--db", dbPath, "products"}, args...)...)
		var stderr, stdout bytes.Buffer
		cmd.Stderr, cmd.Stdout = &stderr, &stdout
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), want) || stdout.Len() != 0 {
			t.Errorf("products %q: %v, stdout %q, stderr %q; want exit 1 with %q", args, err, stdout.String(), stderr.String(), want)
		}
	}
	fail("There is no product request with the id 7.", "approve", "7")
	id := strconv.FormatInt(r.ID, 10)
	out, err := exec.Command(bin, "--db", dbPath, "products", "decline", id, "--reason", "Not yet").Output()
	if err != nil || !strings.HasPrefix(string(out), "Declined product request "+id+", SMS, of organisation") {
		t.Errorf("decline: %q, %v", out, err)
	}
	fail("was decided already: it is declined", "decline", id)
	fail("was decided already: it is declined", "approve", id)
	out, err = exec.Command(bin, "--db", dbPath, "products", "list").Output()
	if err != nil || string(out) != "No product request is waiting for a decision.\n" {
		t.Errorf("list: %q, %v", out, err)
	}
}
