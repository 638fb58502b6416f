package store_test

import (
	"strings"
	"sync"
	"testing"

	"switchboard"
	"switchboard/store"
)

func requestProduct(tb testing.TB, db *store.DB, org int64, actor switchboard.Actor, product switchboard.Product, note string) (*switchboard.ProductRequest, error) {
	tb.Helper()
	r := &switchboard.ProductRequest{OrgID: org, Product: product, Note: note}
	must(tb, r.Validate())
	return r, db.RequestProduct(ctx, actor, r)
}

func TestRequestProduct(t *testing.T) {
	db := newDB(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	r, err := requestProduct(t, db, org.ID, actorOf(owner), switchboard.ProductVoice, "Call centre in Tallinn")
	must(t, err)
	if r.ID == 0 || r.Status != switchboard.ProductRequested || r.RequestedBy != owner.ID || !r.CreatedAt.Equal(t0) {
		t.Errorf("requested = %+v", r)
	}
	// The same product while it waits: an error beside Product.
	_, err = requestProduct(t, db, org.ID, actorOf(owner), switchboard.ProductVoice, "Again")
	wantCode(t, err, switchboard.EINVALID)
	if msg := switchboard.Fields(err)["product"]; !strings.Contains(msg, "You already requested Voice") {
		t.Errorf("duplicate: %q", msg)
	}
	// Another product, and another organisation's same product, are fine.
	wa, err := requestProduct(t, db, org.ID, actorOf(owner), switchboard.ProductWhatsAppBusiness, "")
	must(t, err)
	other, otherOrg := newOwner(t, db, "Bob", "Other", "bob@example.com")
	_, err = requestProduct(t, db, otherOrg.ID, actorOf(other), switchboard.ProductVoice, "")
	must(t, err)

	// Active: refused again in other words; declined: may ask again.
	_, err = db.DecideProductRequest(ctx, r.ID, true, "ignored")
	must(t, err)
	_, err = requestProduct(t, db, org.ID, actorOf(owner), switchboard.ProductVoice, "")
	if msg := switchboard.Fields(err)["product"]; !strings.Contains(msg, "Voice is already active") {
		t.Errorf("request of an active product: %v", err)
	}
	_, err = db.DecideProductRequest(ctx, wa.ID, false, "  Not in   your country yet. ")
	must(t, err)
	_, err = requestProduct(t, db, org.ID, actorOf(owner), switchboard.ProductWhatsAppBusiness, "Now?")
	must(t, err)

	list, err := db.ListProductRequests(ctx, org.ID)
	must(t, err)
	if len(list) != 3 || list[0].Product != switchboard.ProductWhatsAppBusiness || list[0].Status != switchboard.ProductRequested ||
		list[1].Status != switchboard.ProductDeclined || list[1].Reason != "Not in your country yet." || list[1].DecidedAt == nil ||
		list[2].Status != switchboard.ProductActive || list[2].Reason != "" || list[2].Note != "Call centre in Tallinn" {
		t.Errorf("list = %+v", list)
	}
	theirs, err := db.ListProductRequests(ctx, otherOrg.ID)
	must(t, err)
	if len(theirs) != 1 || theirs[0].OrgID != otherOrg.ID {
		t.Errorf("the other organisation's list = %+v", theirs)
	}
	open, err := db.ListOpenProductRequests(ctx)
	must(t, err)
	if len(open) != 2 || open[0].OrgID != otherOrg.ID || open[0].OrgName != otherOrg.Name || open[1].Note != "Now?" {
		t.Errorf("open = %+v", open)
	}
	got := strings.Join(auditActions(t, db, org.ID), " ")
	if !strings.HasPrefix(got, "product.requested product.decided product.decided product.requested product.requested") {
		t.Errorf("audit = %q", got)
	}
	entries, _, err := db.ListAudit(ctx, org.ID, 0, 2)
	must(t, err)
	if entries[1].ActorName != "Operator" || entries[1].Target != "WhatsApp Business" || entries[1].Detail != "Declined: Not in your country yet." {
		t.Errorf("decision's audit line = %+v", entries[1])
	}
}

func TestDecideProductRequest(t *testing.T) {
	db := newDB(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	r, err := requestProduct(t, db, org.ID, actorOf(owner), switchboard.ProductSMS, "")
	must(t, err)
	_, err = db.DecideProductRequest(ctx, 999999, true, "")
	wantCode(t, err, switchboard.ENOTFOUND)

	// Operators deciding at once: one decision, one audit line.
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := range 8 {
		wg.Go(func() {
			_, err := db.DecideProductRequest(ctx, r.ID, i%2 == 0, "reason")
			mu.Lock()
			defer mu.Unlock()
			switch switchboard.ErrorCode(err) {
			case "":
				won++
			case switchboard.ECONFLICT:
				if !strings.Contains(switchboard.ErrorMessage(err), "was decided already") {
					t.Errorf("conflict: %v", err)
				}
			default:
				t.Errorf("decide: %v", err)
			}
		})
	}
	wg.Wait()
	if won != 1 {
		t.Errorf("%d decisions won", won)
	}
	n := 0
	for _, a := range auditActions(t, db, org.ID) {
		if a == store.AuditProductDecided {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d decision lines", n)
	}
}
