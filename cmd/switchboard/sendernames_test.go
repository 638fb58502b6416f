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

// TestSenderNamesCommand runs "switchboard sender-names list|approve|reject"
// through ParseFlags and RunCommand on a real database of each engine, as
// the operator would, and reads the decisions back through the store.
func TestSenderNamesCommand(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) { senderNamesCommand(t, filepath.Join(t.TempDir(), "switchboard.db")) })
	t.Run("PostgreSQL", func(t *testing.T) { senderNamesCommand(t, storetest.PostgresDSN(t)) })
}

func senderNamesCommand(t *testing.T, dsn string) {
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
	apply := func(name, useCase string) int64 {
		s := &switchboard.SenderName{OrgID: org.ID, Name: name, UseCase: useCase}
		if err := db.ApplySenderName(ctx, switchboard.Actor{ProfileID: owner.ID, Name: "Ada Lovelace"}, s); err != nil {
			t.Fatal(err)
		}
		return s.ID
	}
	acme := apply("ACME", "Order confirmations\nand delivery notices")
	shop := apply("Acme Shop", "Receipts")

	run := func(args ...string) (string, error) {
		t.Helper()
		m := NewMain()
		var out bytes.Buffer
		m.Stdout = &out
		err := m.ParseFlags(append([]string{"--db", dsn, "sender-names"}, args...), func(string) string { return "" })
		if err == nil {
			err = m.RunCommand(ctx)
		}
		return out.String(), err
	}
	id := func(n int64) string { return strconv.FormatInt(n, 10) }

	out, err := run("list")
	if err != nil {
		t.Fatal(err)
	}
	want := id(acme) + "\torganisation " + id(org.ID) + " Acme Ltd\tACME\tOrder confirmations and delivery notices\n" +
		id(shop) + "\torganisation " + id(org.ID) + " Acme Ltd\tAcme Shop\tReceipts\n"
	if out != want {
		t.Errorf("list printed %q, want %q", out, want)
	}

	out, err = run("approve", id(acme))
	if err != nil || out != "Approved sender name "+id(acme)+", ACME, of organisation "+id(org.ID)+" Acme Ltd.\n" {
		t.Errorf("approve: %q, %v", out, err)
	}
	out, err = run("reject", id(shop), "--reason", "The name belongs to another brand.")
	if err != nil || out != "Rejected sender name "+id(shop)+", Acme Shop, of organisation "+id(org.ID)+" Acme Ltd: The name belongs to another brand.\n" {
		t.Errorf("reject: %q, %v", out, err)
	}
	out, err = run("list")
	if err != nil || out != "No sender name is waiting for a decision.\n" {
		t.Errorf("list after the decisions: %q, %v", out, err)
	}

	// What cannot be done says why, prints nothing and changes nothing.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"approve", id(shop)}, "sender-names approve: The sender name " + id(shop) + " (Acme Shop) is no longer pending: it was rejected on"},
		{[]string{"reject", id(acme), "--reason", "Too late"}, "is no longer pending: it was approved"},
		{[]string{"approve", "999999"}, "There is no sender name with the id 999999."},
		{[]string{"approve"}, "name the id of a pending sender name"},
		{[]string{"approve", "ACME"}, `"ACME" is not an id`},
		{[]string{"approve", id(acme), "--reason", "x"}, "flag provided but not defined: -reason"},
		{[]string{"reject", id(acme), "--why", "x"}, "flag provided but not defined: -why"},
		{[]string{"reject", id(acme), "because"}, `unexpected "because"`},
		{[]string{"list", "all"}, "sender-names list takes nothing more"},
		{[]string{"decide", "1"}, "sender-names decide: no such command"},
		{nil, "sender-names: say what to do"},
	} {
		out, err := run(tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || out != "" {
			t.Errorf("sender-names %q: printed %q, error %v; want an error with %q", tc.args, out, err, tc.want)
		}
	}
	list, err := db.ListSenderNames(ctx, org.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Status != switchboard.SenderRejected || list[0].Reason != "The name belongs to another brand." || list[1].Status != switchboard.SenderApproved {
		t.Errorf("after the commands: %+v", list)
	}
	names, _ := db.ApprovedSenderNames(ctx, org.ID)
	if len(names) != 1 || names[0] != "ACME" {
		t.Errorf("approved names %v", names)
	}
	entries, _, err := db.ListAudit(ctx, org.ID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if entries[0].Action != store.AuditSenderNameRejected || entries[0].ActorName != "Operator" || entries[0].Detail != "The name belongs to another brand." ||
		entries[1].Action != store.AuditSenderNameApproved || entries[1].ActorName != "Operator" || entries[1].Target != "ACME" {
		t.Errorf("audit: %+v", entries[:2])
	}
}

// TestSenderNamesCommandExitCode: the binary exits 1 with the error on
// standard error when a command cannot be done, and 0 with its line when
// it can.
func TestSenderNamesCommandExitCode(t *testing.T) {
	bin := buildBinary(t)
	dbPath := filepath.Join(t.TempDir(), "switchboard.db")
	cmd := exec.Command(bin, "--db", dbPath, "sender-names", "approve", "7")
	var stderr, stdout bytes.Buffer
	cmd.Stderr, cmd.Stdout = &stderr, &stdout
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), "There is no sender name with the id 7.") {
		t.Errorf("approve of an unknown id: %v, stderr %q", err, stderr.String())
	}
	out, err := exec.Command(bin, "--db", dbPath, "sender-names", "list").Output()
	if err != nil || string(out) != "No sender name is waiting for a decision.\n" {
		t.Errorf("list: %q, %v", out, err)
	}
}
