package store_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"os"
	"slices"
	"testing"
	"time"

	"switchboard"
	"switchboard/store"
	"switchboard/store/storetest"
)

// ctx is the context of every store call in these tests.
var ctx = context.Background()

// t0 is where every test database's clock starts.
var t0 = time.Date(2025, time.March, 3, 9, 0, 0, 0, time.UTC)

var (
	administrator = switchboard.BuiltinRole(switchboard.RoleAdministrator)
	sender        = switchboard.BuiltinRole(switchboard.RoleSender)
)

// newDB opens a fresh database of the test's own on the engine of this
// pass (storetest.Main), with its clock stopped at t0, and closes it when
// the test ends.
func newDB(t *testing.T) *store.DB {
	t.Helper()
	db, _ := newDBWithPath(t)
	return db
}

// newDBWithPath is newDB that also says what store.Open was given (a file
// path or a postgres:// URL), for tests that look at the database through
// a connection of their own.
func newDBWithPath(tb testing.TB) (*store.DB, string) {
	tb.Helper()
	db, dsn := storetest.Open(tb)
	setNow(db, t0)
	return db, dsn
}

// setNow stops the database's clock at now.
func setNow(db *store.DB, now time.Time) {
	db.Now = func() time.Time { return now }
}

// rawDB opens a connection of the test's own to the database, to look
// behind the store's back or to break its rules on purpose.
func rawDB(tb testing.TB, dsn string) *storetest.Raw {
	tb.Helper()
	return storetest.OpenRaw(tb, dsn)
}

// count runs a SELECT COUNT(*) query on raw.
func count(tb testing.TB, raw *storetest.Raw, query string, args ...any) int {
	tb.Helper()
	var n int
	if err := raw.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
	return n
}

// newTokenHash returns the SHA-256 hash of a fresh random token, which is
// all the store ever sees of a token.
func newTokenHash(tb testing.TB) []byte {
	tb.Helper()
	token := make([]byte, 32)
	if _, err := rand.Read(token); err != nil {
		tb.Fatal(err)
	}
	h := sha256.Sum256(token)
	return h[:]
}

// wantCode fails the test unless err carries code ("" for no error).
func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := switchboard.ErrorCode(err); got != code {
		tb.Fatalf("error code %q, want %q (error: %v)", got, code, err)
	}
}

// must fails the test on any error.
func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("unexpected error: %v", err)
	}
}

// newOwner signs a person up: a profile and the organisation it owns.
func newOwner(tb testing.TB, db *store.DB, first, last, email string) (*switchboard.Profile, *switchboard.Organisation) {
	tb.Helper()
	p := &switchboard.Profile{Email: email, FirstName: first, LastName: last}
	org := &switchboard.Organisation{Name: first + "'s company"}
	if err := db.CreateProfileWithOrganisation(ctx, p, "hash of "+email, org); err != nil {
		tb.Fatalf("sign up %s: %v", email, err)
	}
	return p, org
}

// actorOf is p acting from a documentation address.
func actorOf(p *switchboard.Profile) switchboard.Actor {
	return switchboard.Actor{ProfileID: p.ID, Name: p.Name(), IP: "192.0.2.10"}
}

// mailTo is an email as the handlers would queue it.
func mailTo(address, subject string) *switchboard.Email {
	return &switchboard.Email{To: address, Subject: subject, Text: subject + "\n", HTML: "<p>" + subject + "</p>"}
}

// tryInvite asks db to invite email into org on behalf of inviter.
func tryInvite(db *store.DB, org *switchboard.Organisation, inviter *switchboard.Profile, email string, role switchboard.Role, tokenHash []byte) (*switchboard.Invitation, error) {
	inv := &switchboard.Invitation{OrgID: org.ID, Email: email, Role: role, InvitedBy: inviter.ID, InviterName: inviter.Name()}
	err := db.CreateInvitation(ctx, actorOf(inviter), inv, tokenHash, mailTo(email, "Join "+org.Name))
	return inv, err
}

// invite invites email into org and returns the invitation and its token
// hash.
func invite(tb testing.TB, db *store.DB, org *switchboard.Organisation, inviter *switchboard.Profile, email string, role switchboard.Role) (*switchboard.Invitation, []byte) {
	tb.Helper()
	hash := newTokenHash(tb)
	inv, err := tryInvite(db, org, inviter, email, role, hash)
	if err != nil {
		tb.Fatalf("invite %s into organisation %d: %v", email, org.ID, err)
	}
	return inv, hash
}

// addMember makes a new person a member of org with role, the way it
// happens in the product: an invitation, accepted by signing up.
func addMember(tb testing.TB, db *store.DB, org *switchboard.Organisation, inviter *switchboard.Profile, first, last, email string, role switchboard.Role) *switchboard.Profile {
	tb.Helper()
	_, hash := invite(tb, db, org, inviter, email, role)
	p := &switchboard.Profile{Email: email, FirstName: first, LastName: last}
	if _, err := db.AcceptInvitationAsNewProfile(ctx, hash, p, "hash of "+email, "192.0.2.20"); err != nil {
		tb.Fatalf("accept invitation of %s as a new profile: %v", email, err)
	}
	return p
}

// addExisting makes the existing profile p a member of org with role,
// through an invitation it accepts.
func addExisting(tb testing.TB, db *store.DB, org *switchboard.Organisation, inviter, p *switchboard.Profile, role switchboard.Role) {
	tb.Helper()
	_, hash := invite(tb, db, org, inviter, p.Email, role)
	if _, err := db.AcceptInvitation(ctx, hash, p, "192.0.2.20"); err != nil {
		tb.Fatalf("accept invitation of %s: %v", p.Email, err)
	}
}

// findMember returns the member, failing the test if it is not there.
func findMember(tb testing.TB, db *store.DB, orgID, profileID int64) *switchboard.Member {
	tb.Helper()
	m, err := db.FindMember(ctx, orgID, profileID)
	if err != nil {
		tb.Fatalf("find member %d of organisation %d: %v", profileID, orgID, err)
	}
	return m
}

// newRole creates a custom role in the organisation.
func newRole(tb testing.TB, db *store.DB, actor *switchboard.Profile, orgID int64, name string, perms ...switchboard.Permission) *switchboard.Role {
	tb.Helper()
	r := &switchboard.Role{Name: name, Permissions: perms}
	if err := db.CreateRole(ctx, actorOf(actor), orgID, r); err != nil {
		tb.Fatalf("create role %s: %v", name, err)
	}
	return r
}

// auditActions returns the actions of the organisation's audit log, newest
// first.
func auditActions(tb testing.TB, db *store.DB, orgID int64) []string {
	tb.Helper()
	entries, _, err := db.ListAudit(ctx, orgID, 0, 1000)
	must(tb, err)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	return actions
}

// hasAction reports whether the organisation's audit log holds action.
func hasAction(tb testing.TB, db *store.DB, orgID int64, action string) bool {
	tb.Helper()
	return slices.Contains(auditActions(tb, db, orgID), action)
}

// dueTo returns the recipients of the emails due at now.
func dueTo(tb testing.TB, db *store.DB, now time.Time) []string {
	tb.Helper()
	emails, err := db.DueEmails(ctx, now, 1000)
	must(tb, err)
	var to []string
	for _, e := range emails {
		to = append(to, e.To)
	}
	return to
}

// TestMain runs every test of the package on SQLite, then on PostgreSQL
// when SWITCHBOARD_POSTGRES_URL names a server.
func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }
