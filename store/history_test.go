package store_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard"
	"switchboard/store"
	"switchboard/store/storetest"
)

// historyWorld is an organisation with 300 messages of varied senders,
// recipients, statuses and times, and another organisation whose messages
// share its senders and recipients.
type historyWorld struct {
	db    *store.DB
	org   int64
	other int64
	// all is every message of org as the database holds it, newest first.
	all []switchboard.Message
}

var (
	historySenders    = []string{"Acme", "Acme Shop", "Switchboard"}
	historyRecipients = []string{"+37255500001", "+37255500002", "+37255500003", "+4915100000004", "+447700900005"}
)

// newHistoryWorld queues 60 sends of 5 messages, one every 37 minutes,
// except that every 7th send's clock runs 3 minutes behind the send before
// it: ids and times then disagree, as when a send waited for the writer.
// Statuses are set behind the store's back, as the delivery worker would.
func newHistoryWorld(t *testing.T) *historyWorld {
	t.Helper()
	db, dsn := newDBWithPath(t)
	owner, org := newOwner(t, db, "Ada", "Lovelace", "ada@example.com")
	otherOwner, other := newOwner(t, db, "Bob", "Other", "bob@example.com")
	fund(t, dsn, org.ID, 1_000_000)
	fund(t, dsn, other.ID, 1_000_000)
	n := 0
	for i := range 60 {
		at := t0.Add(time.Duration(i) * 37 * time.Minute)
		if i%7 == 3 {
			at = at.Add(-40 * time.Minute)
		}
		setNow(db, at)
		var msgs []switchboard.Message
		for range 5 {
			msgs = append(msgs, switchboard.Message{From: historySenders[n%3], To: historyRecipients[(n/3)%5], Text: fmt.Sprintf("Message %d", n),
				Encoding: switchboard.GSM7, Parts: 1 + n%2, Price: switchboard.Money(500 * (1 + n%2))})
			n++
		}
		_, err := db.QueueMessages(ctx, store.Batch{OrgID: org.ID, Actor: actorOf(owner), Currency: "EUR", Messages: msgs})
		must(t, err)
		_, err = db.QueueMessages(ctx, store.Batch{OrgID: other.ID, Actor: actorOf(otherOwner), Currency: "EUR", Messages: msgs[:2]})
		must(t, err)
	}
	raw := rawDB(t, dsn)
	_, err := raw.ExecContext(ctx, `UPDATE messages SET status = 'delivered' WHERE id % 4 = 1`)
	must(t, err)
	_, err = raw.ExecContext(ctx, `UPDATE messages SET status = 'failed', error = 'The number does not exist.' WHERE id % 4 = 2`)
	must(t, err)
	_, err = raw.ExecContext(ctx, `UPDATE messages SET status = 'sent' WHERE id % 4 = 3`)
	must(t, err)
	w := &historyWorld{db: db, org: org.ID, other: other.ID}
	all, next, err := db.ListMessages(ctx, org.ID, store.MessageFilter{}, 0, 1000)
	must(t, err)
	if len(all) != 300 || next != 0 {
		t.Fatalf("the organisation lists %d messages (next %d), want 300", len(all), next)
	}
	w.all = all
	return w
}

// want is what the filter must list: the messages of the organisation
// matching it, newest first, found by reading every one.
func (w *historyWorld) want(f store.MessageFilter) []int64 {
	var ids []int64
	for _, m := range w.all {
		if (f.Since.IsZero() || !m.CreatedAt.Before(f.Since)) && (f.Until.IsZero() || m.CreatedAt.Before(f.Until)) &&
			(f.Status == "" || m.Status == f.Status) && (f.Recipient == "" || m.To == f.Recipient) && (f.Sender == "" || m.From == f.Sender) {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

// pageAll reads every page of the filter, limit at a time, by the cursor.
func (w *historyWorld) pageAll(t *testing.T, org int64, f store.MessageFilter, limit int) []int64 {
	t.Helper()
	var ids []int64
	before := int64(0)
	for pages := 0; ; pages++ {
		if pages > 400 {
			t.Fatal("paging does not end")
		}
		list, next, err := w.db.ListMessages(ctx, org, f, before, limit)
		must(t, err)
		if len(list) > limit {
			t.Fatalf("a page of %d holds %d messages", limit, len(list))
		}
		for _, m := range list {
			if m.OrgID != org {
				t.Fatalf("message %d of organisation %d listed for %d", m.ID, m.OrgID, org)
			}
			ids = append(ids, m.ID)
		}
		if next == 0 {
			return ids
		}
		if len(list) != limit {
			t.Fatalf("a page of %d messages says there are more", len(list))
		}
		before = next
	}
}

func historyFilters() map[string]store.MessageFilter {
	since := t0.Add(10 * time.Hour).Add(-90 * time.Second) // inside the 3 minutes a late clock went back
	until := t0.Add(30 * time.Hour)
	return map[string]store.MessageFilter{
		"none":                   {},
		"status":                 {Status: switchboard.StatusFailed},
		"recipient":              {Recipient: "+37255500002"},
		"sender":                 {Sender: "Acme Shop"},
		"since":                  {Since: since},
		"until":                  {Until: until},
		"date range":             {Since: since, Until: until},
		"sender and status":      {Sender: "Acme", Status: switchboard.StatusDelivered},
		"recipient and status":   {Recipient: "+4915100000004", Status: switchboard.StatusSent},
		"recipient and sender":   {Recipient: "+37255500001", Sender: "Switchboard"},
		"status and dates":       {Status: switchboard.StatusQueued, Since: since, Until: until},
		"everything":             {Status: switchboard.StatusDelivered, Recipient: "+37255500003", Sender: "Acme", Since: t0.Add(2 * time.Hour), Until: until},
		"nothing matches":        {Recipient: "+10000000000"},
		"range before any":       {Until: t0.Add(-time.Hour)},
		"range after all":        {Since: t0.Add(1000 * time.Hour)},
		"a late clock's edge":    {Since: t0.Add(3*37*time.Minute - 40*time.Minute), Until: t0.Add(3*37*time.Minute - 40*time.Minute + time.Millisecond)},
		"until a late clock":     {Until: t0.Add(10*37*time.Minute - 40*time.Minute + time.Millisecond)},
		"unknown sender, status": {Sender: "Nobody", Status: switchboard.StatusFailed},
	}
}

// TestListMessagesFilters pages through the history under each filter
// alone and together, 7 at a time, and finds exactly the messages that
// match, newest first, with no duplicate and no gap, and never another
// organisation's.
func TestListMessagesFilters(t *testing.T) {
	w := newHistoryWorld(t)
	for name, f := range historyFilters() {
		t.Run(name, func(t *testing.T) {
			want := w.want(f)
			if name != "nothing matches" && !strings.HasPrefix(name, "range ") && name != "unknown sender, status" && len(want) == 0 {
				t.Fatalf("the filter matches nothing: the test proves nothing")
			}
			for _, limit := range []int{7, 50} {
				if got := w.pageAll(t, w.org, f, limit); !slices.Equal(got, want) {
					t.Errorf("pages of %d list %v,\nwant %v", limit, got, want)
				}
			}
			// The export streams the same list.
			var streamed []int64
			must(t, w.db.StreamMessages(ctx, w.org, f, func(m *switchboard.Message) error {
				if m.OrgID != w.org {
					t.Fatalf("message %d of another organisation streamed", m.ID)
				}
				streamed = append(streamed, m.ID)
				return nil
			}))
			if !slices.Equal(streamed, want) {
				t.Errorf("streamed %v,\nwant %v", streamed, want)
			}
		})
	}
}

// TestStreamMessagesChunks streams in chunks smaller than the list and of
// exactly its size: every message once, in order.
func TestStreamMessagesChunks(t *testing.T) {
	w := newHistoryWorld(t)
	defer func(n int) { store.HistoryChunk = n }(store.HistoryChunk)
	want := w.want(store.MessageFilter{})
	for _, size := range []int{1, 7, 100, 300, 301} {
		store.HistoryChunk = size
		var got []int64
		must(t, w.db.StreamMessages(ctx, w.org, store.MessageFilter{}, func(m *switchboard.Message) error {
			got = append(got, m.ID)
			return nil
		}))
		if !slices.Equal(got, want) {
			t.Errorf("chunks of %d stream %d messages, want the %d in order", size, len(got), len(want))
		}
	}
	// An error from the callback stops the stream and comes back.
	stop := fmt.Errorf("the client went away")
	n := 0
	err := w.db.StreamMessages(ctx, w.org, store.MessageFilter{}, func(*switchboard.Message) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if err != stop || n != 3 {
		t.Errorf("stream after an error: %v after %d messages, want the error after 3", err, n)
	}
}

// TestMessageFindersTenantIsolation: another organisation's message is
// not found, and its messages are never listed, whatever the filter.
func TestMessageFindersTenantIsolation(t *testing.T) {
	w := newHistoryWorld(t)
	mine := w.all[0]
	got, err := w.db.FindMessage(ctx, w.org, mine.ID)
	must(t, err)
	if got.ID != mine.ID || got.Text != mine.Text || got.To != mine.To || got.From != mine.From || got.Price != mine.Price || got.Status != mine.Status ||
		got.Parts != mine.Parts || !got.CreatedAt.Equal(mine.CreatedAt) || got.Encoding != switchboard.GSM7 {
		t.Errorf("FindMessage = %+v, want %+v", got, mine)
	}
	_, err = w.db.FindMessage(ctx, w.other, mine.ID)
	wantCode(t, err, switchboard.ENOTFOUND)
	_, err = w.db.FindMessage(ctx, w.org, 1<<40)
	wantCode(t, err, switchboard.ENOTFOUND)

	theirs, _, err := w.db.ListMessages(ctx, w.other, store.MessageFilter{}, 0, 1000)
	must(t, err)
	if len(theirs) != 120 {
		t.Fatalf("the other organisation lists %d messages, want its 120", len(theirs))
	}
	_, err = w.db.FindMessage(ctx, w.org, theirs[0].ID)
	wantCode(t, err, switchboard.ENOTFOUND)
	for name, f := range historyFilters() {
		for _, id := range w.pageAll(t, w.other, f, 50) {
			if slices.Contains(w.want(store.MessageFilter{}), id) {
				t.Errorf("filter %s: the other organisation lists message %d of this one", name, id)
			}
		}
		// A cursor taken from another organisation's list shows only this
		// one's messages.
		list, _, err := w.db.ListMessages(ctx, w.org, f, theirs[0].ID, 50)
		must(t, err)
		for _, m := range list {
			if m.OrgID != w.org || slices.ContainsFunc(theirs, func(o switchboard.Message) bool { return o.ID == m.ID }) {
				t.Errorf("filter %s: message %d of the other organisation listed", name, m.ID)
			}
		}
	}
}

// TestHistoryQueryPlans reads SQLite's plan of every filter's query: each
// walks one index in id order and stops at the page, with no sort (a
// temporary B-tree) and no scan of the table. PostgreSQL plans by its
// statistics, which a small test table does not have; its plans are
// checked on a million messages by BenchmarkListMessages.
func TestHistoryQueryPlans(t *testing.T) {
	storetest.SQLiteOnly(t)
	_, path := newDBWithPath(t)
	raw := rawDB(t, path)
	for name, f := range historyFilters() {
		wantIndex := "messages_by_org"
		switch {
		case f.Recipient != "":
			wantIndex = "messages_by_recipient"
		case f.Sender != "" && f.Status != "":
			wantIndex = "messages_by_sender_status"
		case f.Sender != "":
			wantIndex = "messages_by_sender"
		case f.Status != "":
			wantIndex = "messages_by_status"
		}
		q, args := store.HistoryQuery(false, "id, body", 1, f, 1<<40, 0, 51)
		rows, err := raw.QueryContext(ctx, `EXPLAIN QUERY PLAN `+q, args...)
		must(t, err)
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			must(t, rows.Scan(&id, &parent, &unused, &detail))
			plan = append(plan, detail)
		}
		must(t, rows.Err())
		rows.Close()
		text := strings.Join(plan, "\n")
		if strings.Contains(text, "TEMP B-TREE") || !strings.Contains(text, "SEARCH messages USING INDEX "+wantIndex+" (") || !strings.Contains(text, "id<?") {
			t.Errorf("filter %s: want a walk of %s by id with no sort, got:\n%s", name, wantIndex, text)
		}
	}
}
