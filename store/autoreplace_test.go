package store_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"switchboard"
)

func TestAutoReplaceSaveAndRead(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	_, other := newOwner(t, db, "Grace", "Hopper", "grace@example.com")

	// A new organisation: Off, no table.
	ar, err := db.AutoReplace(ctx, org.ID)
	must(t, err)
	if ar.Mode != switchboard.AutoReplaceOff || len(ar.Rules) != 0 {
		t.Fatalf("new organisation: %+v, want Off and no table", ar)
	}

	want := switchboard.AutoReplace{Mode: switchboard.AutoReplaceFull, Rules: []switchboard.Replacement{{Find: "Mr.", Replace: "Mister"}, {Find: "€", Replace: "EUR"}, {Find: "x", Replace: ""}}}
	must(t, db.SaveAutoReplace(ctx, actorOf(owner), org.ID, want))
	ar, err = db.AutoReplace(ctx, org.ID)
	must(t, err)
	if ar.Mode != want.Mode || !slices.Equal(ar.Rules, want.Rules) {
		t.Fatalf("read back %+v, want %+v", ar, want)
	}
	raw := rawDB(t, dsn)
	if n := count(t, raw, `SELECT COUNT(*) FROM audit_log WHERE org_id = ? AND action = 'auto_replace.changed' AND detail = 'Full, 3 replacements'`, org.ID); n != 1 {
		t.Errorf("%d audit lines 'Full, 3 replacements', want 1 (%v)", n, auditActions(t, db, org.ID))
	}

	// Saving the same again changes nothing and writes no audit line.
	must(t, db.SaveAutoReplace(ctx, actorOf(owner), org.ID, want))
	if n := count(t, raw, `SELECT COUNT(*) FROM audit_log WHERE org_id = ? AND action = 'auto_replace.changed'`, org.ID); n != 1 {
		t.Errorf("%d audit lines after saving the same setting again, want 1", n)
	}

	// Tenant isolation: the other organisation's setting is its own.
	ar, err = db.AutoReplace(ctx, other.ID)
	must(t, err)
	if ar.Mode != switchboard.AutoReplaceOff || len(ar.Rules) != 0 {
		t.Errorf("another organisation reads %+v", ar)
	}
	_, err = db.AutoReplace(ctx, 999999)
	wantCode(t, err, switchboard.ENOTFOUND)
	wantCode(t, db.SaveAutoReplace(ctx, actorOf(owner), 999999, want), switchboard.ENOTFOUND)

	// Saving replaces the whole table.
	must(t, db.SaveAutoReplace(ctx, actorOf(owner), org.ID, switchboard.AutoReplace{Mode: switchboard.AutoReplaceOn, Rules: []switchboard.Replacement{{Find: "a", Replace: "b"}}}))
	ar, _ = db.AutoReplace(ctx, org.ID)
	if ar.Mode != switchboard.AutoReplaceOn || len(ar.Rules) != 1 || ar.Rules[0].Find != "a" {
		t.Errorf("after the second save: %+v", ar)
	}

	// A Find twice is a conflict, and nothing of that save stays.
	err = db.SaveAutoReplace(ctx, actorOf(owner), org.ID, switchboard.AutoReplace{Mode: switchboard.AutoReplaceOff, Rules: []switchboard.Replacement{{Find: "c", Replace: "d"}, {Find: "c", Replace: "e"}}})
	wantCode(t, err, switchboard.ECONFLICT)
	ar, _ = db.AutoReplace(ctx, org.ID)
	if ar.Mode != switchboard.AutoReplaceOn || len(ar.Rules) != 1 {
		t.Errorf("a refused save changed the setting: %+v", ar)
	}
	if err := db.SaveAutoReplace(ctx, actorOf(owner), org.ID, switchboard.AutoReplace{Mode: "loud"}); err == nil {
		t.Error("a mode that does not exist was saved")
	}
}

// TestAutoReplaceSavesDoNotMix: saves racing each other leave one of them
// whole, never rows of two.
func TestAutoReplaceSavesDoNotMix(t *testing.T) {
	db := newDB(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			var rules []switchboard.Replacement
			for j := range 5 {
				rules = append(rules, switchboard.Replacement{Find: fmt.Sprintf("f%d", j), Replace: fmt.Sprintf("save %d", i)})
			}
			if err := db.SaveAutoReplace(ctx, actorOf(owner), org.ID, switchboard.AutoReplace{Mode: switchboard.AutoReplaceOn, Rules: rules}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	ar, err := db.AutoReplace(ctx, org.ID)
	must(t, err)
	if len(ar.Rules) != 5 {
		t.Fatalf("%d rows after racing saves of 5, want 5", len(ar.Rules))
	}
	for _, r := range ar.Rules {
		if r.Replace != ar.Rules[0].Replace {
			t.Fatalf("rows of two saves mixed: %+v", ar.Rules)
		}
	}
}
