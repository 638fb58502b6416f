package handlers_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"switchboard"
	"switchboard/gateway"
	"switchboard/store"
)

// The permission table of PRODUCT.md, written out again by hand so that a
// change to the code's table shows up here as a failure.
var heldBy = map[string][]switchboard.Permission{
	"owner": {"organisation", "members", "invoices", "sender_names", "messages", "campaigns", "contacts", "history",
		"subscription_links", "credits", "api", "auto_replace", "products", "subaccounts", "ownership"},
	"administrator": {"organisation", "members", "invoices", "sender_names", "messages", "campaigns", "contacts", "history",
		"subscription_links", "credits", "api", "auto_replace", "products", "subaccounts"},
	"sender": {"messages", "campaigns", "contacts", "history", "subscription_links", "credits"},
	// The custom role of the fixture: Sender's sections and Members.
	"custom": {"members", "messages", "campaigns", "contacts", "history", "subscription_links", "credits"},
}

// orgFixture is a fresh organisation with one member of each kind.
type orgFixture struct {
	org, target, invitation, role int64
	name                          string
	invoice                       string // the number of an invoice of the organisation
	link, linkGroup               int64  // a subscription link and its group
	// A campaign scheduled for tomorrow to campaignGroup (issue 10).
	campaign, campaignGroup int64
	imp                     int64 // a contact import waiting for its columns
	contact, group          int64 // a contact of the organisation, in a group of it
	key                     int64 // an API key of the organisation (issue 11)
	sub                     int64 // a pending subaccount of the organisation (issue 12)
}

// authzWorld holds the people of the authorization tests, logged in once.
type authzWorld struct {
	a      *app
	people map[string]*person
}

func newAuthzWorld(t *testing.T) *authzWorld {
	a := newApp(t)
	// Every case invites the same people into a fixture of its own: far
	// more emails to one address than a day allows.
	a.db.EmailsPerRecipient = 1 << 30
	w := &authzWorld{a: a, people: map[string]*person{}}
	for _, name := range []string{"owner", "administrator", "sender", "custom", "revoked", "outsider", "target"} {
		w.people[name] = a.signup(name+"@example.com", name+"'s own")
	}
	return w
}

func randomHash() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}

// addMember makes the profile a member with role through a real
// invitation, as the owner.
func (w *authzWorld) addMember(t *testing.T, org int64, name string, role switchboard.Role) {
	t.Helper()
	ctx := context.Background()
	owner := w.people["owner"]
	p := w.people[name]
	hash := randomHash()
	inv := &switchboard.Invitation{OrgID: org, Email: p.email, Role: role, InvitedBy: owner.profile, InviterName: "Owner"}
	if err := w.a.db.CreateInvitation(ctx, switchboard.Actor{ProfileID: owner.profile}, inv, hash, &switchboard.Email{To: p.email, Subject: "s"}); err != nil {
		t.Fatal(err)
	}
	prof, err := w.a.db.FindProfile(ctx, p.profile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.a.db.AcceptInvitation(ctx, hash, prof, ""); err != nil {
		t.Fatal(err)
	}
}

func (w *authzWorld) fixture(t *testing.T) orgFixture {
	t.Helper()
	ctx := context.Background()
	owner, err := w.a.db.FindProfile(ctx, w.people["owner"].profile)
	if err != nil {
		t.Fatal(err)
	}
	f := orgFixture{name: "Fixture " + rand.Text()[:6]}
	org := &switchboard.Organisation{Name: f.name}
	if err := w.a.db.CreateOrganisation(ctx, owner, org); err != nil {
		t.Fatal(err)
	}
	f.org = org.ID
	actor := switchboard.Actor{ProfileID: owner.ID}
	custom := switchboard.Role{Name: "Team lead", Permissions: heldBy["custom"]}
	if err := w.a.db.CreateRole(ctx, actor, f.org, &custom); err != nil {
		t.Fatal(err)
	}
	f.role = custom.ID
	w.addMember(t, f.org, "administrator", switchboard.BuiltinRole(switchboard.RoleAdministrator))
	w.addMember(t, f.org, "sender", switchboard.BuiltinRole(switchboard.RoleSender))
	w.addMember(t, f.org, "custom", custom)
	w.addMember(t, f.org, "target", switchboard.BuiltinRole(switchboard.RoleSender))
	w.addMember(t, f.org, "revoked", switchboard.BuiltinRole(switchboard.RoleAdministrator))
	revoked, err := w.a.db.FindMember(ctx, f.org, w.people["revoked"].profile)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.a.db.RemoveMember(ctx, actor, f.org, revoked, "member.revoked"); err != nil {
		t.Fatal(err)
	}
	f.target = w.people["target"].profile
	inv := &switchboard.Invitation{OrgID: f.org, Email: "pending@example.com", Role: switchboard.BuiltinRole(switchboard.RoleSender), InvitedBy: owner.ID, InviterName: "Owner"}
	if err := w.a.db.CreateInvitation(ctx, actor, inv, randomHash(), &switchboard.Email{To: inv.Email, Subject: "s"}); err != nil {
		t.Fatal(err)
	}
	f.invitation = inv.ID
	invoice, err := w.a.db.CreateInvoice(ctx, actor, store.NewInvoice{OrgID: f.org, Amount: switchboard.MoneyUnit, Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	f.invoice = invoice.Number
	f.link, f.linkGroup = linkFixture(t, w.a, f.org, owner.ID)
	group := &switchboard.Group{OrgID: f.org, Name: "Campaign group"}
	if err := w.a.db.CreateGroup(ctx, actor, group); err != nil {
		t.Fatal(err)
	}
	f.campaignGroup = group.ID
	cp := &switchboard.Campaign{OrgID: f.org, Name: "Spring sale", From: "Switchboard", Text: "Hi", SendAt: time.Now().Add(24 * time.Hour), GroupIDs: []int64{group.ID}}
	if err := w.a.db.CreateCampaign(ctx, actor, cp); err != nil {
		t.Fatal(err)
	}
	f.campaign = cp.ID
	imp := &switchboard.ContactImport{OrgID: f.org, Filename: "contacts.csv", Rows: 1, CreatedBy: owner.ID}
	if err := w.a.db.CreateImport(ctx, imp, strings.NewReader("Phone,First name\n+37255500001,Mari\n")); err != nil {
		t.Fatal(err)
	}
	f.imp = imp.ID
	group = &switchboard.Group{OrgID: f.org, Name: "Customers"}
	if err := w.a.db.CreateGroup(ctx, actor, group); err != nil {
		t.Fatal(err)
	}
	contact := &switchboard.Contact{OrgID: f.org, Phone: "+37255500070", FirstName: "Mari"}
	if err := w.a.db.CreateContact(ctx, actor, contact, []int64{group.ID}); err != nil {
		t.Fatal(err)
	}
	f.group, f.contact = group.ID, contact.ID
	// An API key, and a delivery-report URL so that its secret can be
	// renewed.
	_, hash := switchboard.NewAPIKey()
	key := &switchboard.APIKey{OrgID: f.org, Name: "Website"}
	if err := w.a.db.CreateAPIKey(ctx, actor, key, hash, "sb_live_test"); err != nil {
		t.Fatal(err)
	}
	f.key = key.ID
	sub := &switchboard.Subaccount{ParentID: f.org, Name: "Fixture Estonia", Email: "sub-" + strings.ToLower(rand.Text()[:8]) + "@example.com", Funding: switchboard.FundingBudget, Budget: 10 * switchboard.MoneyUnit}
	if err := w.a.db.CreateSubaccount(ctx, switchboard.Actor{ProfileID: owner.ID, Name: "Owner"}, "EUR", sub, randomHash(), &switchboard.Email{To: sub.Email, Subject: "s"}); err != nil {
		t.Fatal(err)
	}
	f.sub = sub.OrgID
	if err := w.a.db.SaveAPIConfig(ctx, actor, &switchboard.APIConfig{OrgID: f.org, ReportURL: "https://example.com/reports"}); err != nil {
		t.Fatal(err)
	}
	return f
}

// campaignFormValues is a campaign form that schedules, for the fixture's group
// (its profiles have no time zone: Send at is read in UTC).
func campaignFormValues(f orgFixture) url.Values {
	return url.Values{"name": {"Summer sale"}, "from": {"Switchboard"}, "groups": {itoa(f.campaignGroup)}, "message": {"Hi"},
		"when": {"at"}, "send_at": {time.Now().UTC().Add(48 * time.Hour).Format("2006-01-02T15:04")}, "action": {"schedule"}}
}

// routeCase says how to call one route inside an organisation: the
// permission it must need, and a form that succeeds for those it allows.
type routeCase struct {
	perm switchboard.Permission
	form func(f orgFixture) url.Values
	// ownerRefused marks the one route the owner may not use: leaving.
	ownerRefused bool
	// upload sends the form as multipart with this file (name → content).
	upload map[string]string
}

var routeCases = map[string]routeCase{
	"GET /orgs/:org":                          {perm: ""},
	"GET /orgs/:org/leave":                    {perm: "", ownerRefused: true},
	"POST /orgs/:org/leave":                   {perm: "", ownerRefused: true},
	"GET /orgs/:org/settings":                 {perm: switchboard.PermOrganisation},
	"POST /orgs/:org/settings":                {perm: switchboard.PermOrganisation, form: func(orgFixture) url.Values { return url.Values{"name": {"Renamed"}} }},
	"POST /orgs/:org/settings/members-policy": {perm: switchboard.PermOwnership, form: func(orgFixture) url.Values { return url.Values{"owner_only_members": {"on"}} }},
	// Turning it off: the owner of the fixture has no two-factor to turn it on.
	"POST /orgs/:org/settings/two-factor": {perm: switchboard.PermOwnership},
	"POST /orgs/:org/transfer": {perm: switchboard.PermOwnership, form: func(f orgFixture) url.Values {
		return url.Values{"new_owner": {"target@example.com"}, "confirm_password": {testPassword}}
	}},
	"POST /orgs/:org/delete":                         {perm: switchboard.PermOwnership, form: func(f orgFixture) url.Values { return url.Values{"confirm_name": {f.name}} }},
	"GET /orgs/:org/members":                         {perm: switchboard.PermMembers},
	"POST /orgs/:org/members":                        {perm: switchboard.PermMembers, form: func(orgFixture) url.Values { return url.Values{"email": {"new@example.com"}, "role": {"sender"}} }},
	"GET /orgs/:org/members/:profile":                {perm: switchboard.PermMembers},
	"GET /orgs/:org/members/:profile/revoke":         {perm: switchboard.PermMembers},
	"GET /orgs/:org/invitations/:invitation/cancel":  {perm: switchboard.PermMembers},
	"GET /orgs/:org/roles/:role/delete":              {perm: switchboard.PermOwnership},
	"POST /orgs/:org/members/:profile/role":          {perm: switchboard.PermMembers, form: func(f orgFixture) url.Values { return url.Values{"role": {"custom:" + itoa(f.role)}} }},
	"POST /orgs/:org/members/:profile/revoke":        {perm: switchboard.PermMembers},
	"POST /orgs/:org/invitations":                    {perm: switchboard.PermMembers, form: func(orgFixture) url.Values { return url.Values{"email": {"new@example.com"}, "role": {"sender"}} }},
	"POST /orgs/:org/invitations/:invitation/resend": {perm: switchboard.PermMembers},
	"POST /orgs/:org/invitations/:invitation/cancel": {perm: switchboard.PermMembers},
	"GET /orgs/:org/audit":                           {perm: switchboard.PermMembers},
	"GET /orgs/:org/roles":                           {perm: switchboard.PermOwnership},
	"POST /orgs/:org/roles":                          {perm: switchboard.PermOwnership, form: func(orgFixture) url.Values { return url.Values{"name": {"Other"}, "permissions": {"messages"}} }},
	"POST /orgs/:org/roles/:role": {perm: switchboard.PermOwnership, form: func(orgFixture) url.Values {
		return url.Values{"name": {"Lead"}, "permissions": {"members", "messages"}}
	}},
	"POST /orgs/:org/roles/:role/delete": {perm: switchboard.PermOwnership},

	// Money: the fixture holds one invoice (its number fills :number).
	"GET /orgs/:org/credits":              {perm: switchboard.PermCredits},
	"POST /orgs/:org/credits":             {perm: switchboard.PermCredits, form: func(orgFixture) url.Values { return url.Values{"amount": {"50"}} }},
	"GET /orgs/:org/invoices":             {perm: switchboard.PermInvoices},
	"GET /orgs/:org/invoices/:number":     {perm: switchboard.PermInvoices},
	"GET /orgs/:org/invoices/:number/pdf": {perm: switchboard.PermInvoices},
	"GET /orgs/:org/messages/new":         {perm: switchboard.PermMessages},
	// The Preview button: the fixture has no balance to send with.
	"POST /orgs/:org/messages/new": {perm: switchboard.PermMessages, form: func(orgFixture) url.Values {
		return url.Values{"from": {"Switchboard"}, "to": {"+37255500001"}, "message": {"Hi"}, "action": {"preview"}}
	}},
	"POST /orgs/:org/messages/preview": {perm: switchboard.PermMessages, form: func(orgFixture) url.Values {
		return url.Values{"from": {"Switchboard"}, "to": {"+37255500001"}, "message": {"Hi"}}
	}},
	"GET /orgs/:org/auto-replace":  {perm: switchboard.PermAutoReplace},
	"POST /orgs/:org/auto-replace": {perm: switchboard.PermAutoReplace, form: func(orgFixture) url.Values { return url.Values{"mode": {"on"}, "find_0": {"a"}, "replace_0": {"b"}} }},
	"GET /orgs/:org/history":       {perm: switchboard.PermHistory},
	"GET /orgs/:org/history.csv":   {perm: switchboard.PermHistory},
	"GET /orgs/:org/sender-names":  {perm: switchboard.PermSenderNames},

	// Contacts and groups: the fixture holds a contact (:contact) in a
	// group (:group).
	"GET /orgs/:org/contacts":     {perm: switchboard.PermContacts},
	"GET /orgs/:org/contacts.csv": {perm: switchboard.PermContacts},
	"GET /orgs/:org/contacts/new": {perm: switchboard.PermContacts},
	"POST /orgs/:org/contacts/new": {perm: switchboard.PermContacts, form: func(f orgFixture) url.Values {
		return url.Values{"phone": {"+37255500071"}, "first_name": {"Jaan"}, "groups": {itoa(f.group)}}
	}},
	"GET /orgs/:org/contacts/:contact": {perm: switchboard.PermContacts},
	"POST /orgs/:org/contacts/:contact": {perm: switchboard.PermContacts, form: func(f orgFixture) url.Values {
		return url.Values{"phone": {"+37255500070"}, "first_name": {"Mari"}, "last_name": {"Tamm"}, "opted_out": {"on"}}
	}},
	"GET /orgs/:org/contacts/:contact/delete":  {perm: switchboard.PermContacts},
	"POST /orgs/:org/contacts/:contact/delete": {perm: switchboard.PermContacts},
	"GET /orgs/:org/groups":                    {perm: switchboard.PermContacts},
	"POST /orgs/:org/groups":                   {perm: switchboard.PermContacts, form: func(orgFixture) url.Values { return url.Values{"name": {"Newsletter"}} }},
	"POST /orgs/:org/groups/:group":            {perm: switchboard.PermContacts, form: func(orgFixture) url.Values { return url.Values{"name": {"Renamed"}} }},
	"GET /orgs/:org/groups/:group/delete":      {perm: switchboard.PermContacts},
	"POST /orgs/:org/groups/:group/delete":     {perm: switchboard.PermContacts},
	"POST /orgs/:org/sender-names": {perm: switchboard.PermSenderNames, form: func(orgFixture) url.Values {
		return url.Values{"name": {"Acme"}, "use_case": {"Order confirmations"}}
	}},
	"GET /orgs/:org/subscription-links": {perm: switchboard.PermSubscriptionLinks},
	"POST /orgs/:org/subscription-links": {perm: switchboard.PermSubscriptionLinks, form: func(f orgFixture) url.Values {
		return url.Values{"name": {"Poster"}, "group": {itoa(f.linkGroup)}, "consent_text": {"I agree."}}
	}},
	"GET /orgs/:org/subscription-links/:link/off":  {perm: switchboard.PermSubscriptionLinks},
	"POST /orgs/:org/subscription-links/:link/off": {perm: switchboard.PermSubscriptionLinks},
	"GET /orgs/:org/subscription-links/:link/on":   {perm: switchboard.PermSubscriptionLinks},
	"POST /orgs/:org/subscription-links/:link/on":  {perm: switchboard.PermSubscriptionLinks},
	"GET /orgs/:org/products":                      {perm: switchboard.PermProducts},
	"POST /orgs/:org/products":                     {perm: switchboard.PermProducts, form: func(orgFixture) url.Values { return url.Values{"product": {"voice"}, "note": {"Please"}} }},
	// Campaigns: the fixture holds one scheduled for tomorrow.
	"GET /orgs/:org/campaigns":                   {perm: switchboard.PermCampaigns},
	"GET /orgs/:org/campaigns/new":               {perm: switchboard.PermCampaigns},
	"POST /orgs/:org/campaigns/new":              {perm: switchboard.PermCampaigns, form: campaignFormValues},
	"POST /orgs/:org/campaigns/preview":          {perm: switchboard.PermCampaigns, form: campaignFormValues},
	"GET /orgs/:org/campaigns/:campaign":         {perm: switchboard.PermCampaigns},
	"GET /orgs/:org/campaigns/:campaign/edit":    {perm: switchboard.PermCampaigns},
	"POST /orgs/:org/campaigns/:campaign/edit":   {perm: switchboard.PermCampaigns, form: campaignFormValues},
	"GET /orgs/:org/campaigns/:campaign/cancel":  {perm: switchboard.PermCampaigns},
	"POST /orgs/:org/campaigns/:campaign/cancel": {perm: switchboard.PermCampaigns},

	// The contact import: the fixture holds an import waiting for its
	// columns (:import).
	"GET /orgs/:org/contacts/import":         {perm: switchboard.PermContacts},
	"POST /orgs/:org/contacts/import":        {perm: switchboard.PermContacts, upload: map[string]string{"contacts.csv": "Phone\n+37255500001\n"}},
	"GET /orgs/:org/contacts/import/:import": {perm: switchboard.PermContacts},
	"POST /orgs/:org/contacts/import/:import": {perm: switchboard.PermContacts, form: func(orgFixture) url.Values {
		return url.Values{"column_0": {"phone"}, "column_1": {"first_name"}, "country": {"EE"}}
	}},
	"GET /orgs/:org/contacts/import/:import/progress":     {perm: switchboard.PermContacts},
	"GET /orgs/:org/contacts/import/:import/problems.csv": {perm: switchboard.PermContacts},

	// API keys and the API configuration: the fixture holds a key (:key)
	// and a delivery-report URL.
	"GET /orgs/:org/api-keys":              {perm: switchboard.PermAPI},
	"POST /orgs/:org/api-keys":             {perm: switchboard.PermAPI, form: func(orgFixture) url.Values { return url.Values{"name": {"Billing system"}} }},
	"GET /orgs/:org/api-keys/:key/revoke":  {perm: switchboard.PermAPI},
	"POST /orgs/:org/api-keys/:key/revoke": {perm: switchboard.PermAPI},
	"GET /orgs/:org/api":                   {perm: switchboard.PermAPI},
	"POST /orgs/:org/api": {perm: switchboard.PermAPI, form: func(orgFixture) url.Values {
		return url.Values{"report_url": {"https://example.com/new"}, "auto_replace": {"full"}}
	}},
	"GET /orgs/:org/api/secret":  {perm: switchboard.PermAPI},
	"POST /orgs/:org/api/secret": {perm: switchboard.PermAPI},

	// Subaccounts: the fixture holds a pending subaccount (:sub), whose
	// Suspend and Resume answer 409 (nothing to suspend yet).
	"GET /orgs/:org/subaccounts": {perm: switchboard.PermSubaccounts},
	"POST /orgs/:org/subaccounts": {perm: switchboard.PermSubaccounts, form: func(orgFixture) url.Values {
		return url.Values{"email": {"latvia@example.com"}, "name": {"Acme Latvia"}, "funding": {"budget"}, "budget": {"50"}}
	}},
	"GET /orgs/:org/subaccounts/:sub": {perm: switchboard.PermSubaccounts},
	"POST /orgs/:org/subaccounts/:sub/funding": {perm: switchboard.PermSubaccounts, form: func(orgFixture) url.Values {
		return url.Values{"funding": {"shared"}}
	}},
	"POST /orgs/:org/subaccounts/:sub/resend":  {perm: switchboard.PermSubaccounts},
	"GET /orgs/:org/subaccounts/:sub/suspend":  {perm: switchboard.PermSubaccounts},
	"POST /orgs/:org/subaccounts/:sub/suspend": {perm: switchboard.PermSubaccounts},
	"GET /orgs/:org/subaccounts/:sub/resume":   {perm: switchboard.PermSubaccounts},
	"POST /orgs/:org/subaccounts/:sub/resume":  {perm: switchboard.PermSubaccounts},
	"GET /orgs/:org/subaccounts/:sub/close":    {perm: switchboard.PermSubaccounts},
	"POST /orgs/:org/subaccounts/:sub/close":   {perm: switchboard.PermSubaccounts},
	"GET /orgs/:org/subaccounts/:sub/cancel":   {perm: switchboard.PermSubaccounts},
	"POST /orgs/:org/subaccounts/:sub/cancel":  {perm: switchboard.PermSubaccounts},
	// The subaccounts' statistics as CSV (issue 12).
	"GET /orgs/:org/subaccounts/statistics.csv": {perm: switchboard.PermSubaccounts},
}

func fillPath(route string, f orgFixture) string {
	return strings.NewReplacer(":org", itoa(f.org), ":profile", itoa(f.target), ":invitation", itoa(f.invitation), ":role", itoa(f.role), ":number", f.invoice, ":link", itoa(f.link), ":campaign", itoa(f.campaign), ":import", itoa(f.imp), ":contact", itoa(f.contact), ":group", itoa(f.group), ":key", itoa(f.key), ":sub", itoa(f.sub)).Replace(route)
}

// TestAuthorizationTable walks every route inside an organisation as every
// kind of visitor, each on a fresh organisation, and checks the answer.
func TestAuthorizationTable(t *testing.T) {
	w := newAuthzWorld(t)

	// Every route inside an organisation has an entry, declares the
	// permission written here, and was added through the checked path.
	declared := map[string]bool{}
	for _, r := range w.a.srv.OrgRoutes() {
		key := r.Method + " " + r.Path
		declared[key] = true
		c, ok := routeCases[key]
		if !ok {
			t.Errorf("route %s has no entry in routeCases: add one", key)
			continue
		}
		if c.perm != r.Permission {
			t.Errorf("route %s needs %q, the table says %q", key, r.Permission, c.perm)
		}
	}
	for _, r := range w.a.srv.Routes() {
		if strings.HasPrefix(r, "GET /orgs/:org") || strings.HasPrefix(r, "POST /orgs/:org") {
			if !declared[r] {
				t.Errorf("route %s is inside an organisation but was not added with orgRoute", r)
			}
		}
	}
	for key := range routeCases {
		if !declared[key] {
			t.Errorf("routeCases has %s, which the server does not have", key)
		}
	}

	visitors := []string{"owner", "administrator", "sender", "custom", "revoked", "outsider", "anonymous"}
	for route, rc := range routeCases {
		method, pattern, _ := strings.Cut(route, " ")
		for _, who := range visitors {
			t.Run(route+" as "+who, func(t *testing.T) {
				f := w.fixture(t)
				u := fillPath(pattern, f)
				var c *client
				if who == "anonymous" {
					c = w.a.client()
				} else {
					c = w.people[who].client
				}
				var res *response
				if method == http.MethodGet {
					res = c.get(u)
				} else if rc.upload != nil {
					for name, content := range rc.upload {
						res = c.postFile(u, name, []byte(content), nil)
					}
				} else {
					form := url.Values{}
					if rc.form != nil {
						form = rc.form(f)
					}
					res = c.post(u, form)
				}
				switch who {
				case "anonymous":
					wantStatus(t, res, http.StatusSeeOther)
					if !strings.HasPrefix(res.location, "/login") {
						t.Fatalf("sent to %q, want /login", res.location)
					}
				case "revoked", "outsider":
					wantStatus(t, res, http.StatusNotFound)
					if who == "revoked" && route == "GET /orgs/:org" {
						// The dashboard tells the revoked person what
						// happened; they knew the organisation.
						wantContains(t, res, "Your access to "+f.name+" was removed")
						return
					}
					wantNotContains(t, res, f.name)
				default:
					allowed := rc.perm == ""
					for _, p := range heldBy[who] {
						allowed = allowed || p == rc.perm
					}
					if who == "owner" && rc.ownerRefused {
						allowed = false
					}
					if !allowed {
						wantStatus(t, res, http.StatusForbidden)
						wantContains(t, res, "You don&#39;t have access")
						return
					}
					if res.status != http.StatusOK && res.status != http.StatusSeeOther && res.status != http.StatusConflict {
						t.Fatalf("%s may use this route but got %d\n%s", who, res.status, res.body)
					}
				}
			})
		}
	}
}

// signedRoutes are the routes outside any organisation that a signature
// guards instead of a session (the webhook gateway's callbacks, PRODUCT.md
// § Messages and the gateway). Every route under /gateway/ must be here.
var signedRoutes = []string{
	"POST /gateway/reports",
	"POST /gateway/inbound",
}

// TestAuthorizationSignedRoutes tries each signed route as every kind of
// visitor of the table above, without the signature: a logged-in owner's
// session and CSRF token open nothing (401), nor does a visitor's; only
// the signature does.
func TestAuthorizationSignedRoutes(t *testing.T) {
	a := newGatewayApp(t, gatewaySecret)
	owner := a.signup("owner@example.com", "Acme")
	listed := map[string]bool{}
	for _, r := range signedRoutes {
		listed[r] = true
	}
	served := map[string]bool{}
	for _, r := range a.srv.Routes() {
		served[r] = true
		if _, p, _ := strings.Cut(r, " "); strings.HasPrefix(p, "/gateway/") && !listed[r] {
			t.Errorf("route %s is a gateway callback missing from signedRoutes", r)
		}
	}
	for _, r := range signedRoutes {
		if !served[r] {
			t.Errorf("signedRoutes has %s, which the server does not have", r)
			continue
		}
		_, p, _ := strings.Cut(r, " ")
		body := []byte(`{"id":1,"status":"delivered","from":"+37255500001","text":"hello"}`)
		wantStatus(t, owner.post(p, url.Values{"id": {"1"}}), http.StatusUnauthorized)
		wantStatus(t, a.client().post(p, url.Values{"id": {"1"}}), http.StatusUnauthorized)
		wantStatus(t, a.gatewayCall(p, body, ""), http.StatusUnauthorized)
		if res := a.gatewayCall(p, body, gateway.Sign(body, gatewaySecret)); res.status == http.StatusUnauthorized {
			t.Errorf("%s refuses its own signature: %s", r, res.body)
		}
	}
}

// publicRoutes are the routes outside any organisation that anyone may
// use, logged in or not, with what they answer on a fixture's
// subscription link (its token fills :token): the public subscription
// pages (PRODUCT.md § Contacts and the public pages). Every route under
// /s/ must be here.
var publicRoutes = map[string]int{
	"GET /s/:token":        http.StatusOK,
	"POST /s/:token":       http.StatusSeeOther,
	"GET /s/:token/thanks": http.StatusOK,
}

// TestAuthorizationPublicRoutes opens each public route as every kind of
// visitor of the table above: a visitor without a session, a member of
// the link's organisation with any role, someone outside it; each gets
// the same answer, never a log-in page or a 403.
func TestAuthorizationPublicRoutes(t *testing.T) {
	w := newAuthzWorld(t)
	served := map[string]bool{}
	for _, r := range w.a.srv.Routes() {
		served[r] = true
		if _, p, _ := strings.Cut(r, " "); strings.HasPrefix(p, "/s/") && publicRoutes[r] == 0 {
			t.Errorf("route %s is a public page missing from publicRoutes", r)
		}
	}
	f := w.fixture(t)
	links, err := w.a.db.ListSubscriptionLinks(context.Background(), f.org)
	if err != nil || len(links) != 1 {
		t.Fatalf("links %v, %v", links, err)
	}
	n := 0
	for route, want := range publicRoutes {
		if !served[route] {
			t.Errorf("publicRoutes has %s, which the server does not have", route)
			continue
		}
		method, pattern, _ := strings.Cut(route, " ")
		u := strings.ReplaceAll(pattern, ":token", links[0].Token)
		for _, who := range []string{"anonymous", "owner", "sender", "revoked", "outsider"} {
			c := w.a.client()
			if who != "anonymous" {
				c = w.people[who].client
			}
			var res *response
			if method == http.MethodGet {
				res = c.get(u)
			} else {
				n++
				res = c.post(u, url.Values{"phone": {"+3725550" + itoa(int64(1000+n))}, "first_name": {who}, "consent": {"yes"}})
			}
			if res.status != want {
				t.Errorf("%s as %s: %d, want %d\n%s", route, who, res.status, want, res.body)
			}
		}
	}
}

// accountRoutes are the routes of the profile's own settings, outside any
// organisation: only the logged-in profile reaches them, about itself
// (there is no id in the URL to tamper with). Every route under /account
// must be here.
var accountRoutes = []string{
	"GET /account",
	"POST /account",
	"POST /account/password",
	"POST /account/sessions",
	"GET /account/two-factor",
	"POST /account/two-factor/setup",
	"POST /account/two-factor/enable",
	"POST /account/two-factor/recovery-codes",
	"POST /account/two-factor/recovery-codes.txt",
	"POST /account/two-factor/disable",
}

// TestAuthorizationAccountRoutes: each account route sends a visitor who
// is not logged in to the login page, and the Code step of a login
// (/login/two-factor) without a live login sends back to the password.
func TestAuthorizationAccountRoutes(t *testing.T) {
	a := newApp(t)
	listed := map[string]bool{}
	for _, r := range accountRoutes {
		listed[r] = true
	}
	served := map[string]bool{}
	for _, r := range a.srv.Routes() {
		served[r] = true
		if _, p, _ := strings.Cut(r, " "); (p == "/account" || strings.HasPrefix(p, "/account/")) && !listed[r] {
			t.Errorf("route %s is an account route missing from accountRoutes", r)
		}
	}
	for _, r := range accountRoutes {
		if !served[r] {
			t.Errorf("accountRoutes has %s, which the server does not have", r)
			continue
		}
		method, p, _ := strings.Cut(r, " ")
		c := a.client()
		var res *response
		if method == http.MethodGet {
			res = c.get(p)
		} else {
			res = c.post(p, url.Values{"password": {testPassword}, "code": {"123456"}})
		}
		if res.status != http.StatusSeeOther || !strings.HasPrefix(res.location, "/login") {
			t.Errorf("%s as a visitor: %d %s", r, res.status, res.location)
		}
	}
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		c := a.client()
		var res *response
		if method == http.MethodGet {
			res = c.get("/login/two-factor")
		} else {
			res = c.post("/login/two-factor", url.Values{"code": {"123456"}})
		}
		if res.status != http.StatusSeeOther || res.location != "/login" {
			t.Errorf("%s /login/two-factor without a login: %d %s", method, res.status, res.location)
		}
	}
}
