package store_test

import (
	"database/sql"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"switchboard"
	"switchboard/store"
	"switchboard/store/storetest"
)

// copySource opens a new SQLite database for a migrate-to test. These tests
// use both engines at once, so they run in the SQLite pass of Main only
// (and skip there too without a PostgreSQL server: see PostgresDSN).
func copySource(tb testing.TB) (*store.DB, string) {
	tb.Helper()
	if storetest.Postgres() {
		tb.Skip("migrate-to copies SQLite into PostgreSQL: these tests run once, in the SQLite pass")
	}
	return newDBWithPath(tb)
}

// openTarget opens the PostgreSQL database at dsn as the panel would after
// the move, with its clock at t0.
func openTarget(tb testing.TB, dsn string) *store.DB {
	tb.Helper()
	db, err := store.Open(ctx, dsn)
	must(tb, err)
	tb.Cleanup(func() { db.Close() })
	setNow(db, t0)
	return db
}

// fillEveryTable gives every table of db rows of each kind the panel makes:
// two organisations, a custom role, members, pending, accepted and
// cancelled invitations, sent and unsent emails, a password reset, the
// audit log, a session and the per-mailbox email counts. It returns the
// owner of the first organisation and a session token.
func fillEveryTable(tb testing.TB, db *store.DB) (*switchboard.Profile, *switchboard.Organisation, string) {
	tb.Helper()
	owner, org := newOwner(tb, db, "Olivia", "Owner", "olivia@example.com")
	other, otherOrg := newOwner(tb, db, "Oscar", "Other", "oscar@example.com")
	must(tb, db.SetOwnerOnlyMembers(ctx, actorOf(owner), org.ID, true)) // a BOOLEAN on PostgreSQL
	role := newRole(tb, db, owner, org.ID, "Billing clerks", switchboard.PermOrganisation)
	addMember(tb, db, org, owner, "Ada", "Admin", "ada@example.com", administrator)
	clerk := addMember(tb, db, org, owner, "Cleo", "Clerk", "cleo@example.com", *role)
	addExisting(tb, db, otherOrg, other, clerk, sender)
	invite(tb, db, org, owner, "pending@example.com", sender)
	invite(tb, db, org, owner, "pending-clerk@example.com", *role)
	cancelled, _ := invite(tb, db, org, owner, "cancelled@example.com", sender)
	must(tb, db.CancelInvitation(ctx, actorOf(owner), org.ID, cancelled.ID))
	must(tb, db.CreatePasswordReset(ctx, clerk.ID, newTokenHash(tb), mailTo(clerk.Email, "Reset your password")))

	// Some emails sent, the rest still queued.
	due, err := db.DueEmails(ctx, t0.Add(time.Hour), 100)
	must(tb, err)
	if len(due) < 4 {
		tb.Fatalf("%d emails queued", len(due))
	}
	for _, e := range due[:2] {
		must(tb, db.MarkEmailSent(ctx, e.ID, t0.Add(time.Minute)))
	}
	// Money: an invoice paid at once (its number's counter and its ledger
	// line) and one waiting.
	_, err = db.CreateInvoice(ctx, actorOf(owner), store.NewInvoice{OrgID: org.ID, Amount: 50 * switchboard.MoneyUnit, Currency: "EUR", PayNow: true})
	must(tb, err)
	_, err = db.CreateInvoice(ctx, actorOf(owner), store.NewInvoice{OrgID: org.ID, Amount: 20 * switchboard.MoneyUnit, Currency: "EUR"})
	must(tb, err)
	// Messages: two queued (messages, message_queue, usage_daily), one
	// number that answered STOP, a sender name and an auto-replace row.
	_, err = db.QueueMessages(ctx, store.Batch{OrgID: org.ID, Actor: actorOf(owner), Currency: "EUR", Description: "2 messages",
		Messages: []switchboard.Message{oneMessage("+37255500001", 500), oneMessage("+37255500002", 500)}})
	must(tb, err)
	_, err = db.InboundStop(ctx, "+37255500001", "Acme")
	must(tb, err)
	must(tb, db.ApplySenderName(ctx, actorOf(owner), &switchboard.SenderName{OrgID: org.ID, Name: "Acme", UseCase: "Order updates"}))
	must(tb, db.SaveAutoReplace(ctx, actorOf(owner), org.ID, switchboard.AutoReplace{Mode: switchboard.AutoReplaceOn, Rules: []switchboard.Replacement{{Find: "&", Replace: "and"}}}))
	// Contacts (issue 10): a group, a contact in it; the rest of the
	// section's tables are filled raw until their store functions exist.
	group := &switchboard.Group{OrgID: org.ID, Name: "Newsletter"}
	must(tb, db.CreateGroup(ctx, actorOf(owner), group))
	_, err = db.JoinGroup(ctx, &switchboard.Contact{OrgID: org.ID, Phone: "+37255500003", FirstName: "Mari"}, group.ID)
	must(tb, err)
	fillRaw(tb, db, org.ID, owner.ID, group.ID)
	fillAPI(tb, db, org.ID, owner)
	fillSubaccounts(tb, db, org.ID, owner)
	fillTwoFactorRaw(tb, db, org.ID, owner.ID)
	token := "a session token of the test"
	must(tb, db.Sessions().CommitCtx(ctx, token, []byte("session\x00data"), t0.Add(time.Hour)))
	return owner, org, token
}

// tableRows returns every row of table through raw, each row as one line
// of its values (booleans as 0/1, bytes in hex), sorted.
func tableRows(tb testing.TB, raw *storetest.Raw, table string) []string {
	tb.Helper()
	rows, err := raw.QueryContext(ctx, `SELECT * FROM `+table)
	must(tb, err)
	defer rows.Close()
	columns, err := rows.Columns()
	must(tb, err)
	var lines []string
	for rows.Next() {
		values := make([]any, len(columns))
		ptrs := make([]any, len(columns))
		for i := range values {
			ptrs[i] = &values[i]
		}
		must(tb, rows.Scan(ptrs...))
		parts := make([]string, len(columns))
		for i, v := range values {
			switch x := v.(type) {
			case nil:
				parts[i] = "NULL"
			case bool:
				parts[i] = "0"
				if x {
					parts[i] = "1"
				}
			case []byte:
				parts[i] = "x" + hex.EncodeToString(x)
			case float64:
				parts[i] = strconv.FormatFloat(x, 'g', -1, 64)
			default:
				parts[i] = fmt.Sprint(x)
			}
			parts[i] = columns[i] + "=" + parts[i]
		}
		lines = append(lines, strings.Join(parts, " "))
	}
	must(tb, rows.Err())
	slices.Sort(lines)
	return lines
}

// pgTables lists the tables of the PostgreSQL database raw is connected to,
// but schema_migrations.
func pgTables(tb testing.TB, raw *storetest.Raw) []string {
	tb.Helper()
	rows, err := raw.QueryContext(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations' ORDER BY table_name`)
	must(tb, err)
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		must(tb, rows.Scan(&n))
		names = append(names, n)
	}
	must(tb, rows.Err())
	return names
}

// TestCopyTo fills every table of a SQLite database, copies it into an
// empty PostgreSQL database, and finds there the same rows, table by
// table; the panel then goes on there with ids past the copied ones.
func TestCopyTo(t *testing.T) {
	src, srcPath := copySource(t)
	dsn := storetest.PostgresDSN(t)
	owner, org, token := fillEveryTable(t, src)

	report, err := src.CopyTo(ctx, dsn)
	must(t, err)

	srcRaw, dstRaw := rawDB(t, srcPath), rawDB(t, dsn)
	tables := pgTables(t, dstRaw)
	var reported []string
	for _, c := range report.Tables {
		reported = append(reported, c.Name)
	}
	if got := slices.Sorted(slices.Values(reported)); !slices.Equal(got, tables) {
		t.Fatalf("copied tables %v, want every table of PostgreSQL %v", reported, tables)
	}
	// A table comes after the tables it refers to.
	before := func(a, b string) bool { return slices.Index(reported, a) < slices.Index(reported, b) }
	for _, fk := range [][2]string{{"profiles", "members"}, {"organisations", "members"}, {"roles", "members"}, {"outbox", "invitations"}, {"roles", "invitations"}, {"profiles", "audit_log"}} {
		if !before(fk[0], fk[1]) {
			t.Errorf("%s copied after %s, which refers to it: %v", fk[0], fk[1], reported)
		}
	}
	for _, c := range report.Tables {
		want := tableRows(t, srcRaw, c.Name)
		got := tableRows(t, dstRaw, c.Name)
		if len(want) == 0 {
			t.Errorf("table %s is empty in the source: fillEveryTable must give it rows", c.Name)
		}
		if int64(len(want)) != c.Rows {
			t.Errorf("table %s: reported %d rows, SQLite has %d", c.Name, c.Rows, len(want))
		}
		if !slices.Equal(got, want) {
			t.Errorf("table %s differs:\nSQLite:\n%s\nPostgreSQL:\n%s", c.Name, strings.Join(want, "\n"), strings.Join(got, "\n"))
		}
	}
	if strings.Contains(report.Target, "@") && strings.Contains(report.Target, ":") && strings.Contains(dsn, "password") {
		t.Errorf("the report names the target with its password: %s", report.Target)
	}

	// The panel goes on in PostgreSQL: the people, the session, and new
	// rows with ids past the copied ones.
	dst := openTarget(t, dsn)
	if p, _, err := dst.FindProfileByEmail(ctx, "CLEO@example.com"); err != nil || p.FirstName != "Cleo" {
		t.Fatalf("Cleo after the move: %+v, %v", p, err)
	}
	if _, ok, err := dst.Sessions().FindCtx(ctx, token); err != nil || !ok {
		t.Fatalf("the session after the move: %v, %v", ok, err)
	}
	if o, err := dst.FindMembership(ctx, org.ID, owner.ID); err != nil || !o.Org.OwnerOnlyMembers {
		t.Fatalf("the owner's membership after the move: %+v, %v", o, err)
	}
	maxID := func(table string) int64 {
		var n int64
		must(t, srcRaw.QueryRowContext(ctx, `SELECT MAX(id) FROM `+table).Scan(&n))
		return n
	}
	newcomer, newOrg := newOwner(t, dst, "Nina", "New", "nina@example.com")
	inv, _ := invite(t, dst, org, owner, "later@example.com", sender)
	for _, c := range []struct {
		table string
		id    int64
	}{{"profiles", newcomer.ID}, {"organisations", newOrg.ID}, {"invitations", inv.ID}} {
		if c.id <= maxID(c.table) {
			t.Errorf("a new row of %s got id %d, not past the copied %d", c.table, c.id, maxID(c.table))
		}
	}
}

// TestCopyToRefusesATargetWithData: a PostgreSQL database that holds a
// profile already is refused, named with the table, and left as it was.
func TestCopyToRefusesATargetWithData(t *testing.T) {
	src, _ := copySource(t)
	fillEveryTable(t, src)
	dsn := storetest.PostgresDSN(t)
	dst := openTarget(t, dsn)
	newOwner(t, dst, "Tess", "Taken", "tess@example.com")
	dstRaw := rawDB(t, dsn)
	before := map[string][]string{}
	for _, table := range pgTables(t, dstRaw) {
		before[table] = tableRows(t, dstRaw, table)
	}

	_, err := src.CopyTo(ctx, dsn)
	if err == nil || !strings.Contains(err.Error(), "already holds data") || !strings.Contains(err.Error(), "table ") {
		t.Fatalf("CopyTo into a database with data: %v", err)
	}
	if !strings.Contains(err.Error(), "audit_log") && !strings.Contains(err.Error(), "members") && !strings.Contains(err.Error(), "organisations") && !strings.Contains(err.Error(), "profiles") {
		t.Errorf("the error does not name a table that holds data: %v", err)
	}
	for table, rows := range before {
		if got := tableRows(t, dstRaw, table); !slices.Equal(got, rows) {
			t.Errorf("table %s changed:\nbefore:\n%s\nafter:\n%s", table, strings.Join(rows, "\n"), strings.Join(got, "\n"))
		}
	}
}

// TestCopyToFailureLeavesTargetEmpty: a row PostgreSQL refuses (an audit
// line of an organisation that no longer exists, which a SQLite file
// written with foreign keys off may hold) stops the copy after the tables
// before it were copied, and the one transaction leaves every table empty.
func TestCopyToFailureLeavesTargetEmpty(t *testing.T) {
	src, srcPath := copySource(t)
	fillEveryTable(t, src)
	// A connection of its own with foreign keys off, to write the orphan.
	loose, err := sql.Open("sqlite", "file:"+srcPath+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(0)")
	must(t, err)
	defer loose.Close()
	_, err = loose.ExecContext(ctx, `INSERT INTO audit_log (org_id, actor_name, action, created_at) VALUES (999, 'Gone', 'member.invited', 1)`)
	must(t, err)

	dsn := storetest.PostgresDSN(t)
	_, err = src.CopyTo(ctx, dsn)
	if err == nil || !strings.Contains(err.Error(), "audit_log") {
		t.Fatalf("CopyTo with an orphan audit line: %v, want an error naming audit_log", err)
	}
	dstRaw := rawDB(t, dsn)
	for _, table := range pgTables(t, dstRaw) {
		if n := count(t, dstRaw, `SELECT COUNT(*) FROM `+table); n != 0 {
			t.Errorf("table %s holds %d rows after a failed copy", table, n)
		}
	}
	// The target is still empty, so the copy may be run again once the
	// source is repaired.
	_, err = loose.ExecContext(ctx, `DELETE FROM audit_log WHERE org_id = 999`)
	must(t, err)
	if _, err := src.CopyTo(ctx, dsn); err != nil {
		t.Fatalf("CopyTo again after the repair: %v", err)
	}
}

// TestCopyToRefusesAnotherSchemaVersion: a SQLite database that says it is
// at a schema version the PostgreSQL database is not is refused.
func TestCopyToRefusesAnotherSchemaVersion(t *testing.T) {
	src, srcPath := copySource(t)
	fillEveryTable(t, src)
	raw := rawDB(t, srcPath)
	_, err := raw.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_later.sql', 0)`)
	must(t, err)
	dsn := storetest.PostgresDSN(t)
	_, err = src.CopyTo(ctx, dsn)
	if err == nil || !strings.Contains(err.Error(), "schema version 9999") {
		t.Fatalf("CopyTo from schema 9999: %v", err)
	}
	dstRaw := rawDB(t, dsn)
	if n := count(t, dstRaw, `SELECT COUNT(*) FROM profiles`); n != 0 {
		t.Fatalf("%d profiles copied despite the refusal", n)
	}
}

// TestCopyToRefusesWrongEnds: the source must be SQLite and the target a
// postgres:// URL.
func TestCopyToRefusesWrongEnds(t *testing.T) {
	src, _ := copySource(t)
	_, err := src.CopyTo(ctx, filepath.Join(t.TempDir(), "other.db"))
	if err == nil || !strings.Contains(err.Error(), "postgres://") {
		t.Fatalf("CopyTo a file: %v", err)
	}
	dst := openTarget(t, storetest.PostgresDSN(t))
	if _, err := dst.CopyTo(ctx, storetest.PostgresDSN(t)); err == nil || !strings.Contains(err.Error(), "pg_dump") {
		t.Fatalf("CopyTo from PostgreSQL: %v", err)
	}
}

// BenchmarkCopyTo100k copies the SQLite database of the members benchmarks
// (an organisation of 100,000 members, seedMembers) into an empty
// PostgreSQL database.
func BenchmarkCopyTo100k(b *testing.B) {
	src, srcPath := copySource(b)
	_, org := newOwner(b, src, "Olivia", "Owner", "olivia@example.com")
	seedMembers(b, srcPath, org.ID, 100_000)
	for b.Loop() {
		b.StopTimer()
		dsn := storetest.PostgresDSN(b)
		target, err := store.Open(ctx, dsn) // the migrations are not the copy
		must(b, err)
		target.Close()
		b.StartTimer()
		report, err := src.CopyTo(ctx, dsn)
		must(b, err)
		if report.Tables == nil {
			b.Fatal("nothing copied")
		}
	}
}

// fillRaw gives rows to the tables of issue 10 that no store function
// writes yet. Each section replaces its lines here with calls to its own
// store functions as they land.
func fillRaw(tb testing.TB, db *store.DB, orgID, profileID, groupID int64) {
	tb.Helper()
	fillImport(tb, db, orgID, profileID, groupID)
	// Campaigns: one started (its batch, counts and messages), one waiting.
	actor := switchboard.Actor{ProfileID: profileID, Name: "Olivia Owner"}
	for _, at := range []time.Time{t0, t0.Add(time.Hour)} {
		must(tb, db.CreateCampaign(ctx, actor, &switchboard.Campaign{OrgID: orgID, Name: "Spring sale", From: "Acme", Text: "Hello", SendAt: at, GroupIDs: []int64{groupID}}))
	}
	if started := startDue(tb, db, t0); len(started) != 1 || started[0].Status != switchboard.CampaignSending {
		tb.Fatalf("campaign not started: %+v", started)
	}
	// A subscription link someone joined through, switched off (a BOOLEAN
	// false on PostgreSQL); a product request declined with a reason.
	link := &switchboard.SubscriptionLink{OrgID: orgID, Name: "Footer", GroupID: groupID, ConsentText: "I agree.", Token: "tok"}
	must(tb, db.CreateSubscriptionLink(ctx, actor, link))
	_, _, err := db.JoinThroughLink(ctx, "tok", &switchboard.Contact{Phone: "+37255500005", FirstName: "Liis"})
	must(tb, err)
	_, err = db.SetSubscriptionLinkActive(ctx, actor, orgID, link.ID, false)
	must(tb, err)
	product := &switchboard.ProductRequest{OrgID: orgID, Product: switchboard.ProductVoice, Note: "Please"}
	must(tb, db.RequestProduct(ctx, actor, product))
	_, err = db.DecideProductRequest(ctx, product.ID, false, "Not in your country yet.")
	must(tb, err)
}

// fillAPI gives rows to the tables of issue 11: a key in use, a revoked
// one; the API configuration (whose report URL makes the message status
// change below write a delivery report), a kept Idempotency-Key answer,
// and a message sent with the key and a send_at. Tables whose store
// functions do not exist yet are filled raw.
func fillAPI(tb testing.TB, db *store.DB, orgID int64, owner *switchboard.Profile) {
	tb.Helper()
	for i, name := range []string{"Website", "Old billing"} {
		plain, hash := switchboard.NewAPIKey()
		k := &switchboard.APIKey{OrgID: orgID, Name: name}
		must(tb, db.CreateAPIKey(ctx, actorOf(owner), k, hash, plain[:switchboard.APIKeyShown]))
		if i == 1 {
			_, err := db.RevokeAPIKey(ctx, actorOf(owner), orgID, k.ID)
			must(tb, err)
		} else {
			_, err := db.AuthenticateAPIKey(ctx, hash)
			must(tb, err)
		}
	}
	must(tb, db.SaveAPIConfig(ctx, actorOf(owner), &switchboard.APIConfig{OrgID: orgID, ReportURL: "https://example.com/reports", AutoReplace: switchboard.AutoReplaceFull}))
	// A message sent with the key and a send_at, its answer kept under
	// an Idempotency-Key.
	keys, err := db.ListAPIKeys(ctx, orgID)
	must(tb, err)
	sendAt := t0.Add(time.Minute)
	_, err = db.QueueAPIMessages(ctx, store.Batch{OrgID: orgID, Actor: switchboard.Actor{Name: "API key Website", APIKeyID: keys[1].ID}, Currency: "EUR",
		Description: "1 message", APIKeyID: keys[1].ID, SendAt: &sendAt, Messages: []switchboard.Message{oneMessage("+37255500003", 500)}},
		&store.Idempotency{Key: "retry-1", RequestHash: [32]byte{1, 2, 3}}, func([]switchboard.Message) (store.Answer, error) {
			return store.Answer{Status: 202, Body: []byte(`{"data":[]}`)}, nil
		})
	must(tb, err)
	must(tb, db.ExecForTest(ctx, `UPDATE messages SET status = 'sent' WHERE id = (SELECT MIN(id) FROM messages WHERE org_id = ?)`, orgID))
}

// fillSubaccounts gives rows to the tables of issue 12: a subaccount of
// the organisation with a budget, which sends one message (debiting the
// parent) that is then sent (message_days). The subaccount's row is raw
// until the store creates subaccounts.
func fillSubaccounts(tb testing.TB, db *store.DB, parentID int64, owner *switchboard.Profile) {
	tb.Helper()
	sub := &switchboard.Organisation{Name: "Acme Estonia"}
	must(tb, db.CreateOrganisation(ctx, owner, sub))
	must(tb, db.ExecForTest(ctx, `INSERT INTO subaccounts (org_id, parent_id, email, funding, budget, status, created_by, created_at)
		VALUES (?, ?, 'estonia@example.com', 'budget', 100000, 'active', ?, 0)`, sub.ID, parentID, owner.ID))
	_, err := db.QueueMessages(ctx, store.Batch{OrgID: sub.ID, Actor: actorOf(owner), Currency: "EUR", Description: "1 message",
		Messages: []switchboard.Message{oneMessage("+37255500005", 500)}})
	must(tb, err)
	must(tb, db.ExecForTest(ctx, `UPDATE messages SET status = 'sent' WHERE org_id = ?`, sub.ID))
}

// fillTwoFactorRaw gives rows to the tables of issue 13, raw until their
// store functions exist: the owner's two-factor on (a sealed secret of the
// test, its last step), a used and an unused recovery code, a login
// waiting for its code, a security event, and the organisation requiring
// two-factor (a BOOLEAN on PostgreSQL).
func fillTwoFactorRaw(tb testing.TB, db *store.DB, orgID, profileID int64) {
	tb.Helper()
	must(tb, db.ExecForTest(ctx, `UPDATE profiles SET totp_secret = 'sealed secret of the test', totp_since = 1, totp_last_step = 59 WHERE id = ?`, profileID))
	must(tb, db.ExecForTest(ctx, `INSERT INTO recovery_codes (profile_id, code_hash, created_at, used_at) VALUES (?, ?, 1, NULL), (?, ?, 1, 2)`,
		profileID, []byte{1, 2, 3}, profileID, []byte{4, 5, 6}))
	must(tb, db.ExecForTest(ctx, `INSERT INTO login_challenges (token_hash, profile_id, next, ip, attempts, created_at, expires_at) VALUES (?, ?, '/orgs', '192.0.2.1', 1, 1, 2)`,
		[]byte{7, 8, 9}, profileID))
	must(tb, db.ExecForTest(ctx, `INSERT INTO profile_events (profile_id, action, actor_name, detail, ip, created_at) VALUES (?, 'two_factor.enabled', 'Olivia Owner', '', '192.0.2.1', 1)`, profileID))
	must(tb, db.ExecForTest(ctx, `UPDATE organisations SET require_two_factor = TRUE WHERE id = ?`, orgID))
}

// fillImport runs a contact import through the store to its end (a
// finished import with one contact and one skipped line) and uploads
// another.
func fillImport(tb testing.TB, db *store.DB, orgID, profileID, groupID int64) {
	tb.Helper()
	imp := &switchboard.ContactImport{OrgID: orgID, Filename: "contacts.csv", Country: "EE", Rows: 2, CreatedBy: profileID}
	must(tb, db.CreateImport(ctx, imp, strings.NewReader("Phone,First name\n+37255500004,Jaan\nbad,Bad\n")))
	imp.Mapping, imp.GroupID = []switchboard.Column{switchboard.ColumnPhone, switchboard.ColumnFirstName}, groupID
	must(tb, db.QueueImport(ctx, imp))
	claimed, err := db.ClaimImport(ctx, db.Now())
	must(tb, err)
	must(tb, db.WriteImportBatch(ctx, &switchboard.ImportBatch{Import: claimed, Processed: 2,
		Contacts: []switchboard.Contact{{OrgID: orgID, Phone: "+37255500004", FirstName: "Jaan"}},
		Problems: []switchboard.ImportProblem{{Line: 3, Reason: "bad is not a phone number."}}}))
	must(tb, db.FinishImport(ctx, claimed))
	// And one waiting for its columns, its file still kept.
	waiting := &switchboard.ContactImport{OrgID: orgID, Filename: "more.csv", Rows: 1, CreatedBy: profileID}
	must(tb, db.CreateImport(ctx, waiting, strings.NewReader("Phone\n+37255500005\n")))
}
