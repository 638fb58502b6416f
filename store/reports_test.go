package store_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"switchboard"
	"switchboard/store"
)

// setReportURL gives the organisation a report URL and secret, as the API
// configuration page will; written raw, since that page is not this
// file's.
func setReportURL(tb testing.TB, db *store.DB, orgID int64, url, secret string) {
	tb.Helper()
	must(tb, db.ExecForTest(ctx, `INSERT INTO api_config (org_id, report_url, report_secret, updated_at) VALUES (?, ?, ?, 1)
		ON CONFLICT (org_id) DO UPDATE SET report_url = excluded.report_url, report_secret = excluded.report_secret`, orgID, url, secret))
}

// markSent records the messages as accepted by the gateway, as the
// delivery worker does: each status change writes a report.
func markSent(tb testing.TB, db *store.DB, ids ...int64) {
	tb.Helper()
	var outcomes []switchboard.DeliveryOutcome
	for _, id := range ids {
		outcomes = append(outcomes, switchboard.DeliveryOutcome{MessageID: id, Status: switchboard.StatusSent})
	}
	must(tb, db.RecordDeliveries(ctx, outcomes))
}

func reportIDs(list []switchboard.Report) []int64 {
	var ids []int64
	for _, r := range list {
		ids = append(ids, r.ID)
	}
	return ids
}

// reportRow is a row of api_reports as the tests look at it.
type reportRow struct {
	attempts      int
	next          int64
	claimedUntil  *int64
	lastError     string
	status, error string
}

func readReport(tb testing.TB, dsn string, id int64) (reportRow, bool) {
	tb.Helper()
	var r reportRow
	err := rawDB(tb, dsn).QueryRowContext(ctx, `SELECT attempts, next_attempt_at, claimed_until, last_error, status, error FROM api_reports WHERE id = ?`, id).
		Scan(&r.attempts, &r.next, &r.claimedUntil, &r.lastError, &r.status, &r.error)
	if err != nil {
		return r, false
	}
	return r, true
}

// TestClaimReports: the claim carries what a call needs (the URL and secret
// as they are now, the message's sender and recipient, the status), only
// organisations with a URL have reports, and a claimed report is not
// claimed again until its lease runs out.
func TestClaimReports(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	otherOwner, other := newOwner(t, db, "Bob", "Builder", "bob@example.com")
	setReportURL(t, db, org.ID, "https://example.com/old", "old secret")
	ids := queueDeliveries(t, db, dsn, owner, org.ID, "Acme", 100, "+37255500001", "+37255500002")
	otherIDs := queueDeliveries(t, db, dsn, otherOwner, other.ID, "Bob", 100, "+37255500003")
	if n := count(t, rawDB(t, dsn), `SELECT COUNT(*) FROM api_reports`); n != 0 {
		t.Fatalf("%d reports before any status changed; queuing is no change", n)
	}
	markSent(t, db, append(ids, otherIDs...)...)
	setReportURL(t, db, org.ID, "https://example.com/reports", "the secret")

	if early, err := db.ClaimReports(ctx, t0.Add(-time.Second), 10, store.ReportRoom{}); err != nil || len(early) != 0 {
		t.Fatalf("claim before the change = %v, %v; want nothing", reportIDs(early), err)
	}
	list, err := db.ClaimReports(ctx, t0, 10, store.ReportRoom{})
	must(t, err)
	if len(list) != 2 {
		t.Fatalf("claimed %d reports, want 2 (the organisation without a URL has none)", len(list))
	}
	for i, r := range list {
		want := switchboard.Report{ID: r.ID, OrgID: org.ID, MessageID: ids[i], Status: switchboard.StatusSent, At: t0,
			URL: "https://example.com/reports", Secret: "the secret", From: "Acme", To: fmt.Sprintf("+3725550000%d", i+1)}
		if r != want {
			t.Errorf("report %d = %+v\nwant %+v", i, r, want)
		}
	}
	if list[0].ID >= list[1].ID {
		t.Errorf("reports not in id order: %v", reportIDs(list))
	}
	if again, err := db.ClaimReports(ctx, t0.Add(store.ReportLease-time.Millisecond), 10, store.ReportRoom{}); err != nil || len(again) != 0 {
		t.Fatalf("claim during the lease = %v, %v; want nothing", reportIDs(again), err)
	}
	after, err := db.ClaimReports(ctx, t0.Add(store.ReportLease), 1, store.ReportRoom{})
	must(t, err)
	if len(after) != 1 || after[0].ID != list[0].ID {
		t.Fatalf("claim of 1 after the lease = %v, want the oldest, %d", reportIDs(after), list[0].ID)
	}

	t.Run("failed, with the reason", func(t *testing.T) {
		setReportURL(t, db, other.ID, "https://bob.example/r", "bob's secret")
		ids := queueDeliveries(t, db, dsn, otherOwner, other.ID, "Bob", 100, "+37255500009")
		must(t, db.RecordDeliveries(ctx, []switchboard.DeliveryOutcome{{MessageID: ids[0], Status: switchboard.StatusFailed, Reason: "The gateway refused this message: no such number"}}))
		list, err := db.ClaimReports(ctx, t0, 10, store.ReportRoom{})
		must(t, err)
		if len(list) != 1 || list[0].MessageID != ids[0] || list[0].Status != switchboard.StatusFailed ||
			list[0].Error != "The gateway refused this message: no such number" || list[0].Secret != "bob's secret" {
			t.Fatalf("claim = %+v, want the failure with its reason", list)
		}
	})
}

// TestClaimReportsWithoutURLDeletes: a report whose organisation cleared
// its URL meanwhile is deleted, not handed out.
func TestClaimReportsWithoutURLDeletes(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	setReportURL(t, db, org.ID, "https://example.com/reports", "secret")
	markSent(t, db, queueDeliveries(t, db, dsn, owner, org.ID, "Acme", 100, "+37255500001", "+37255500002")...)
	raw := rawDB(t, dsn)
	if n := count(t, raw, `SELECT COUNT(*) FROM api_reports`); n != 2 {
		t.Fatalf("%d reports, want 2", n)
	}
	must(t, db.ExecForTest(ctx, `UPDATE api_config SET report_url = '' WHERE org_id = ?`, org.ID))
	list, err := db.ClaimReports(ctx, t0, 10, store.ReportRoom{})
	if err != nil || len(list) != 0 {
		t.Fatalf("claim = %v, %v; want nothing", reportIDs(list), err)
	}
	if n := count(t, raw, `SELECT COUNT(*) FROM api_reports`); n != 0 {
		t.Errorf("%d reports left, want them deleted", n)
	}
}

// TestReportsOfAMessageInOrder: a message's "delivered" never goes out
// before its "sent": not while the "sent" waits for a retry, nor while it
// is under way; both in one claim come in order.
func TestReportsOfAMessageInOrder(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	setReportURL(t, db, org.ID, "https://example.com/reports", "secret")

	t.Run("behind a retry", func(t *testing.T) {
		id := queueDeliveries(t, db, dsn, owner, org.ID, "Acme", 100, "+37255500001")[0]
		markSent(t, db, id)
		sent, err := db.ClaimReports(ctx, t0, 10, store.ReportRoom{})
		must(t, err)
		if len(sent) != 1 || sent[0].Status != switchboard.StatusSent {
			t.Fatalf("claim = %+v", sent)
		}
		retry := t0.Add(10 * time.Second)
		must(t, db.RecordReports(ctx, []switchboard.ReportOutcome{{ReportID: sent[0].ID, Result: switchboard.ReportRetry, Error: "500", Retry: retry}}))
		setNow(db, t0.Add(time.Second))
		defer setNow(db, t0)
		if _, err := db.ReportDelivery(ctx, id, switchboard.StatusDelivered, ""); err != nil {
			t.Fatal(err)
		}
		if list, err := db.ClaimReports(ctx, t0.Add(2*time.Second), 10, store.ReportRoom{}); err != nil || len(list) != 0 {
			t.Fatalf("claim while the sent report waits = %+v, %v; want nothing", list, err)
		}
		var delivered int64
		must(t, rawDB(t, dsn).QueryRowContext(ctx, `SELECT id FROM api_reports WHERE message_id = ? AND status = 'delivered'`, id).Scan(&delivered))
		if r, _ := readReport(t, dsn, delivered); r.next != retry.UnixMilli() || r.claimedUntil != nil || r.attempts != 0 {
			t.Errorf("the delivered report waits as %+v, want due at the sent one's retry, unclaimed, not tried", r)
		}
		both, err := db.ClaimReports(ctx, retry, 10, store.ReportRoom{})
		must(t, err)
		if len(both) != 2 || both[0].Status != switchboard.StatusSent || both[1].Status != switchboard.StatusDelivered {
			t.Fatalf("claim at the retry = %+v, want sent then delivered", both)
		}
		must(t, db.RecordReports(ctx, []switchboard.ReportOutcome{{ReportID: both[0].ID, Result: switchboard.ReportAccepted}, {ReportID: both[1].ID, Result: switchboard.ReportAccepted}}))
	})

	t.Run("behind a call under way", func(t *testing.T) {
		id := queueDeliveries(t, db, dsn, owner, org.ID, "Acme", 100, "+37255500002")[0]
		markSent(t, db, id)
		sent, err := db.ClaimReports(ctx, t0, 10, store.ReportRoom{})
		must(t, err)
		if len(sent) != 1 {
			t.Fatalf("claim = %+v", sent)
		}
		if _, err := db.ReportDelivery(ctx, id, switchboard.StatusDelivered, ""); err != nil {
			t.Fatal(err)
		}
		// Another worker, meanwhile.
		if list, err := db.ClaimReports(ctx, t0.Add(time.Second), 10, store.ReportRoom{}); err != nil || len(list) != 0 {
			t.Fatalf("claim while the sent report is under way = %+v, %v; want nothing", list, err)
		}
		// Looked at again soon, not at the end of the sent report's lease.
		recheck := t0.Add(time.Second + store.ReportRecheck)
		var delivered int64
		must(t, rawDB(t, dsn).QueryRowContext(ctx, `SELECT id FROM api_reports WHERE message_id = ? AND status = 'delivered'`, id).Scan(&delivered))
		if r, _ := readReport(t, dsn, delivered); r.next != recheck.UnixMilli() || r.claimedUntil != nil {
			t.Errorf("the delivered report waits as %+v, want due %s later", r, store.ReportRecheck)
		}
		if list, err := db.ClaimReports(ctx, recheck, 10, store.ReportRoom{}); err != nil || len(list) != 0 {
			t.Fatalf("claim while the sent report is still under way = %+v, %v; want nothing", list, err)
		}
		must(t, db.RecordReports(ctx, []switchboard.ReportOutcome{{ReportID: sent[0].ID, Result: switchboard.ReportAccepted}}))
		list, err := db.ClaimReports(ctx, recheck.Add(store.ReportRecheck), 10, store.ReportRoom{})
		must(t, err)
		if len(list) != 1 || list[0].Status != switchboard.StatusDelivered {
			t.Fatalf("claim after the sent report = %+v, want the delivered one", list)
		}
		must(t, db.RecordReports(ctx, []switchboard.ReportOutcome{{ReportID: list[0].ID, Result: switchboard.ReportAccepted}}))
	})

	t.Run("both in one claim, and a claim of one", func(t *testing.T) {
		ids := queueDeliveries(t, db, dsn, owner, org.ID, "Acme", 100, "+37255500003", "+37255500004")
		markSent(t, db, ids...)
		for _, id := range ids {
			if _, err := db.ReportDelivery(ctx, id, switchboard.StatusDelivered, ""); err != nil {
				t.Fatal(err)
			}
		}
		one, err := db.ClaimReports(ctx, t0, 1, store.ReportRoom{})
		must(t, err)
		if len(one) != 1 || one[0].MessageID != ids[0] || one[0].Status != switchboard.StatusSent {
			t.Fatalf("claim of one = %+v, want the first message's sent report", one)
		}
		rest, err := db.ClaimReports(ctx, t0, 10, store.ReportRoom{})
		must(t, err)
		var got []string
		for _, r := range rest {
			got = append(got, fmt.Sprintf("%d %s", r.MessageID, r.Status))
		}
		want := []string{fmt.Sprintf("%d sent", ids[1]), fmt.Sprintf("%d delivered", ids[1])}
		if !slices.Equal(got, want) {
			t.Fatalf("the rest of the claim = %v, want %v (the first message's delivered report waits for its sent one)", got, want)
		}
	})
}

// TestReportRoom: a claim takes no more of one organisation than the
// worker has room for, and reads past it to the others.
func TestReportRoom(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	otherOwner, other := newOwner(t, db, "Bob", "Builder", "bob@example.com")
	setReportURL(t, db, org.ID, "https://a.example/r", "a")
	setReportURL(t, db, other.ID, "https://b.example/r", "b")
	numbers := make([]string, 12)
	for i := range numbers {
		numbers[i] = fmt.Sprintf("+3725560%04d", i)
	}
	// The busy organisation's reports are all older.
	markSent(t, db, queueDeliveries(t, db, dsn, owner, org.ID, "Acme", 100, numbers...)...)
	setNow(db, t0.Add(time.Second))
	markSent(t, db, queueDeliveries(t, db, dsn, otherOwner, other.ID, "Bob", 100, "+37255500001", "+37255500002")...)
	now := t0.Add(time.Second)

	byOrg := func(list []switchboard.Report) map[int64]int {
		got := map[int64]int{}
		for _, r := range list {
			got[r.OrgID]++
		}
		return got
	}
	list, err := db.ClaimReports(ctx, now, 3, store.ReportRoom{PerOrganisation: 2, Underway: map[int64]int{org.ID: 1}})
	must(t, err)
	if got := byOrg(list); got[org.ID] != 1 || got[other.ID] != 2 {
		t.Fatalf("claim of 3 with room for one more of the busy organisation took %v", got)
	}
	list, err = db.ClaimReports(ctx, now, 5, store.ReportRoom{PerOrganisation: 2, Underway: map[int64]int{org.ID: 2}})
	must(t, err)
	if len(list) != 0 {
		t.Fatalf("claim with no room for the busy organisation took %v", byOrg(list))
	}
	list, err = db.ClaimReports(ctx, now, 50, store.ReportRoom{})
	must(t, err)
	if got := byOrg(list); got[org.ID] != 11 || len(list) != 11 {
		t.Fatalf("claim without bounds took %v, want the 11 left", got)
	}
}

// TestRecordReports: what each outcome does to its row.
func TestRecordReports(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	setReportURL(t, db, org.ID, "https://example.com/reports", "secret")
	markSent(t, db, queueDeliveries(t, db, dsn, owner, org.ID, "Acme", 100, "+37255500001", "+37255500002", "+37255500003", "+37255500004")...)

	if next, ok, err := db.NextReportAt(ctx); err != nil || !ok || !next.Equal(t0) {
		t.Fatalf("NextReportAt = %v, %v, %v; want %v", next, ok, err, t0)
	}
	list, err := db.ClaimReports(ctx, t0, 10, store.ReportRoom{})
	must(t, err)
	if len(list) != 4 {
		t.Fatalf("claimed %d", len(list))
	}
	if _, ok, err := db.NextReportAt(ctx); err != nil || ok {
		t.Fatalf("NextReportAt with every report under way = %v, %v; want none", ok, err)
	}
	retry := t0.Add(20 * time.Second)
	must(t, db.RecordReports(ctx, []switchboard.ReportOutcome{
		{ReportID: list[0].ID, Result: switchboard.ReportAccepted},
		{ReportID: list[1].ID, Result: switchboard.ReportDropped, Error: "the receiver answered 500"},
		{ReportID: list[2].ID, Result: switchboard.ReportRetry, Error: "the receiver answered 503", Retry: retry},
		{ReportID: list[3].ID, Result: switchboard.ReportUntried},
	}))
	for _, id := range []int64{list[0].ID, list[1].ID} {
		if _, ok := readReport(t, dsn, id); ok {
			t.Errorf("report %d is still there after it was accepted or dropped", id)
		}
	}
	if r, _ := readReport(t, dsn, list[2].ID); r.attempts != 1 || r.lastError != "the receiver answered 503" || r.next != retry.UnixMilli() || r.claimedUntil != nil {
		t.Errorf("after a failed attempt: %+v", r)
	}
	if r, _ := readReport(t, dsn, list[3].ID); r.attempts != 0 || r.lastError != "" || r.next != t0.UnixMilli() || r.claimedUntil != nil {
		t.Errorf("after an untried one: %+v", r)
	}
	if next, ok, err := db.NextReportAt(ctx); err != nil || !ok || !next.Equal(t0) {
		t.Fatalf("NextReportAt = %v, %v, %v; want the untried one, %v", next, ok, err, t0)
	}
	if again, _ := db.ClaimReports(ctx, t0, 10, store.ReportRoom{}); len(again) != 1 || again[0].ID != list[3].ID {
		t.Fatalf("claim at once = %v, want the untried one", reportIDs(again))
	}
	if again, _ := db.ClaimReports(ctx, retry, 10, store.ReportRoom{}); len(again) != 1 || again[0].ID != list[2].ID || again[0].Attempts != 1 || again[0].LastError != "the receiver answered 503" {
		t.Fatalf("claim at the retry = %+v, want the retried one with its attempt", again)
	}
	if err := db.RecordReports(ctx, []switchboard.ReportOutcome{{ReportID: 1}}); err == nil {
		t.Error("an outcome without a result was recorded")
	}
}

// TestTwoReportClaimersNeverShare: four claimers on two handles, as two
// processes would be, claim 300 reports: each is claimed exactly once.
func TestTwoReportClaimersNeverShare(t *testing.T) {
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	setReportURL(t, db, org.ID, "https://example.com/reports", "secret")
	const n = 300
	numbers := make([]string, n)
	for i := range numbers {
		numbers[i] = fmt.Sprintf("+3725560%04d", i)
	}
	markSent(t, db, queueDeliveries(t, db, dsn, owner, org.ID, "Acme", 100, numbers...)...)
	other, _ := openSecondHandle(t, dsn)

	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for _, handle := range []*store.DB{db, other, db, other} {
		wg.Go(func() {
			for {
				list, err := handle.ClaimReports(ctx, t0, 7, store.ReportRoom{})
				if err != nil {
					t.Error(err)
					return
				}
				if len(list) == 0 {
					return
				}
				if len(list) > 7 {
					t.Errorf("a claim of 7 took %d reports", len(list))
				}
				var outcomes []switchboard.ReportOutcome
				mu.Lock()
				for _, r := range list {
					seen[r.ID]++
					outcomes = append(outcomes, switchboard.ReportOutcome{ReportID: r.ID, Result: switchboard.ReportAccepted})
				}
				mu.Unlock()
				if err := handle.RecordReports(ctx, outcomes); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("%d reports claimed, want %d", len(seen), n)
	}
	for id, times := range seen {
		if times != 1 {
			t.Errorf("report %d claimed %d times", id, times)
		}
	}
	if c := count(t, rawDB(t, dsn), `SELECT COUNT(*) FROM api_reports`); c != 0 {
		t.Errorf("%d reports left", c)
	}
}
