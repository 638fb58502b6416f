package store_test

import (
	"fmt"
	"slices"
	"testing"

	"switchboard"
)

func TestApprovedSenderNames(t *testing.T) {
	db, dsn := newDBWithPath(t)
	_, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	_, other := newOwner(t, db, "Grace", "Hopper", "grace@example.com")
	raw := rawDB(t, dsn)
	for _, s := range []struct {
		org    int64
		name   string
		status switchboard.SenderNameStatus
	}{{org.ID, "Zeta", "approved"}, {org.ID, "Acme", "approved"}, {org.ID, "Pending", "pending"}, {org.ID, "Nope", "rejected"}, {other.ID, "Theirs", "approved"}} {
		if _, err := raw.ExecContext(ctx, `INSERT INTO sender_names (org_id, name, use_case, status, created_at) VALUES (?, ?, 'tests', ?, 1)`, s.org, s.name, string(s.status)); err != nil {
			t.Fatal(err)
		}
	}
	names, err := db.ApprovedSenderNames(ctx, org.ID)
	must(t, err)
	if !slices.Equal(names, []string{"Acme", "Zeta"}) {
		t.Errorf("approved names = %v, want [Acme Zeta]: only approved, only this organisation's, by name", names)
	}
}

func TestOptedOut(t *testing.T) {
	db, dsn := newDBWithPath(t)
	_, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	_, other := newOwner(t, db, "Grace", "Hopper", "grace@example.com")
	raw := rawDB(t, dsn)
	var phones []string
	for i := range 1300 {
		phones = append(phones, fmt.Sprintf("+3725%07d", i))
	}
	want := map[string]bool{}
	// Opted out of this organisation: the first, one in each batch, the
	// last; of the other organisation: number 2, which stays sendable here.
	for _, i := range []int{0, 17, 499, 500, 1000, 1299} {
		want[phones[i]] = true
		if _, err := raw.ExecContext(ctx, `INSERT INTO opt_outs (org_id, phone, created_at) VALUES (?, ?, 1)`, org.ID, phones[i]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := raw.ExecContext(ctx, `INSERT INTO opt_outs (org_id, phone, created_at) VALUES (?, ?, 1)`, other.ID, phones[2]); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 2, 18, 500, 501, 1300} {
		got, err := db.OptedOut(ctx, org.ID, phones[:n])
		must(t, err)
		for _, p := range phones[:n] {
			if got[p] != want[p] {
				t.Errorf("%d numbers: %s opted out = %v, want %v", n, p, got[p], want[p])
			}
		}
		if len(got) > n {
			t.Errorf("%d numbers: %d opted out", n, len(got))
		}
	}
}
