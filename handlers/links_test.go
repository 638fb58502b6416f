package handlers_test

import (
	"context"
	"crypto/rand"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"switchboard"
)

// newGroup creates a group in the organisation through the store (the
// Groups page is another section's).
func newGroup(t testing.TB, a *app, org, profile int64, name string) int64 {
	t.Helper()
	g := &switchboard.Group{OrgID: org, Name: name}
	if err := a.db.CreateGroup(context.Background(), switchboard.Actor{ProfileID: profile}, g); err != nil {
		t.Fatal(err)
	}
	return g.ID
}

var linkAddress = regexp.MustCompile(`value="` + regexp.QuoteMeta(testBaseURL) + `(/s/[A-Za-z0-9_\-]+)"`)

// createLink creates a subscription link through the form and returns its
// public path (/s/…) as the list shows it.
func createLink(t testing.TB, p *person, org, group int64, name string) string {
	t.Helper()
	res := p.post(path(org, "subscription-links"), url.Values{"name": {name}, "group": {itoa(group)}, "consent_text": {"I agree to receive offers by SMS."}})
	wantStatus(t, res, http.StatusSeeOther)
	page := p.get(path(org, "subscription-links"))
	all := linkAddress.FindAllStringSubmatch(page.body, -1)
	if len(all) == 0 {
		t.Fatalf("no link address on the page\n%s", page.body)
	}
	return all[0][1] // newest first
}

// linkFixture gives an organisation of the authorization tests a group
// and a subscription link to it, made through the store as the owner.
func linkFixture(t *testing.T, a *app, org, owner int64) (link, group int64) {
	t.Helper()
	group = newGroup(t, a, org, owner, "Fixture list")
	l := &switchboard.SubscriptionLink{OrgID: org, Name: "Fixture footer", GroupID: group, ConsentText: "I agree.", Token: "fixture-" + rand.Text()}
	if err := a.db.CreateSubscriptionLink(context.Background(), switchboard.Actor{ProfileID: owner}, l); err != nil {
		t.Fatal(err)
	}
	return l.ID, group
}

// TestSubscriptionLinks: create a link through the form, see its full
// public address, joins and status; mistakes answer 422 beside their
// fields with what was typed kept; switch it off and on through the
// confirmation pages; the audit log says so. A Sender may create links.
func TestSubscriptionLinks(t *testing.T) {
	tm := newTeam(t)
	a, owner := tm.a, tm.owner
	page := path(tm.org, "subscription-links")

	res := owner.get(page)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "<h1>Subscription links</h1>", "you have no group yet", `href="`+path(tm.org, "groups")+`"`, "You have no subscription links yet.", `aria-current="page"`)

	group := newGroup(t, a, tm.org, owner.profile, "Newsletter")
	res = owner.get(page)
	wantContains(t, res, `<label for="link_name">Name</label>`, `<label for="group">Group</label>`, `<label for="consent_text">Consent text</label>`,
		`<option value="`+itoa(group)+`">Newsletter</option>`, ">Create link</button>")

	for _, tc := range []struct {
		form        url.Values
		field, want string
	}{
		{url.Values{"name": {""}, "group": {itoa(group)}, "consent_text": {"I agree."}}, "link_name", "Enter the link&#39;s name"},
		{url.Values{"name": {"Footer"}, "group": {""}, "consent_text": {"I agree."}}, "group", "Choose the group people join."},
		{url.Values{"name": {"Footer"}, "group": {"x1"}, "consent_text": {"I agree."}}, "group", "Choose the group people join."},
		{url.Values{"name": {"Footer"}, "group": {itoa(group)}, "consent_text": {"  "}}, "consent_text", "Write what people agree to"},
	} {
		res := owner.post(page, tc.form)
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantContains(t, res, `id="`+tc.field+`-error"`, tc.want, `value="`+tc.form.Get("name")+`"`)
	}
	if n := a.rows(`SELECT COUNT(*) FROM subscription_links`); n != 0 {
		t.Fatalf("%d links after mistakes", n)
	}

	res = owner.post(page, url.Values{"name": {" Website footer "}, "group": {itoa(group)}, "consent_text": {"I agree to receive offers by SMS."}})
	wantStatus(t, res, http.StatusSeeOther)
	res = owner.get(page)
	link := linkAddress.FindStringSubmatch(res.body)[1]
	wantContains(t, res, "The subscription link Website footer was created. People join Newsletter at "+testBaseURL+link,
		`<td data-label="Name">Website footer</td>`, `<td data-label="Group">Newsletter</td>`, `<td data-label="Joins">0</td>`, ">Active</span>", ">Switch off<")
	if token := strings.TrimPrefix(link, "/s/"); len(token) < 43 {
		t.Errorf("token %q is shorter than 256 bits", token)
	}

	// A Sender may create links too.
	createLink(t, tm.sender, tm.org, group, "Poster")
	if n := a.rows(`SELECT COUNT(*) FROM subscription_links WHERE org_id = ?`, tm.org); n != 2 {
		t.Fatalf("%d links", n)
	}

	links, err := a.db.ListSubscriptionLinks(context.Background(), tm.org)
	if err != nil {
		t.Fatal(err)
	}
	footer := links[1]
	off := path(tm.org, "subscription-links/"+itoa(footer.ID)+"/off")
	res = owner.get(off)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "Switch off the subscription link Website footer?", ">Switch off</button>")
	wantStatus(t, owner.post(off, nil), http.StatusSeeOther)
	res = owner.get(page)
	wantContains(t, res, "The subscription link Website footer is switched off", ">Switched off</span>", ">Switch on<")
	wantStatus(t, a.client().get(link), http.StatusGone)

	on := path(tm.org, "subscription-links/"+itoa(footer.ID)+"/on")
	wantContains(t, owner.get(on), "Switch on the subscription link Website footer?", ">Switch on</button>")
	wantStatus(t, owner.post(on, nil), http.StatusSeeOther)
	wantStatus(t, a.client().get(link), http.StatusOK)

	res = owner.get(path(tm.org, "audit"))
	wantContains(t, res, "Subscription link created", "Subscription link switched off", "Subscription link switched on", "Website footer", "Poster")
}

// TestSubscriptionLinksOtherOrganisation: another organisation's group id
// in the create form, and another organisation's link id in the switch
// addresses, answer 404 and change nothing.
func TestSubscriptionLinksOtherOrganisation(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	other := a.signup("other@example.com", "Elsewhere")
	theirGroup := newGroup(t, a, other.org, other.profile, "Their list")
	theirLink := createLink(t, other, other.org, theirGroup, "Their footer")
	links, _ := a.db.ListSubscriptionLinks(context.Background(), other.org)
	theirID := links[0].ID

	res := owner.post(path(owner.org, "subscription-links"), url.Values{"name": {"Sneaky"}, "group": {itoa(theirGroup)}, "consent_text": {"I agree."}})
	wantStatus(t, res, http.StatusNotFound)
	wantNotContains(t, res, "Their list")
	if n := a.rows(`SELECT COUNT(*) FROM subscription_links WHERE org_id = ?`, owner.org); n != 0 {
		t.Fatalf("a link was saved with another organisation's group")
	}
	for _, action := range []string{"off", "on"} {
		u := path(owner.org, "subscription-links/"+itoa(theirID)+"/"+action)
		wantStatus(t, owner.get(u), http.StatusNotFound)
		wantStatus(t, owner.post(u, nil), http.StatusNotFound)
		// Their own organisation's address, as a stranger: 404 too.
		wantStatus(t, owner.post(path(other.org, "subscription-links/"+itoa(theirID)+"/off"), nil), http.StatusNotFound)
	}
	wantStatus(t, owner.get(path(owner.org, "subscription-links/0/off")), http.StatusNotFound)
	wantStatus(t, owner.get(path(owner.org, "subscription-links/abc/off")), http.StatusNotFound)
	if l, _ := a.db.FindSubscriptionLink(context.Background(), other.org, theirID); !l.Active {
		t.Fatal("a stranger switched the link off")
	}
	wantStatus(t, a.client().get(theirLink), http.StatusOK)
}

// joinForm is a filled-in public form.
func joinForm(phone, first string) url.Values {
	return url.Values{"phone": {phone}, "first_name": {first}, "consent": {"yes"}}
}

// TestJoinPage: a visitor without any session and a logged-in person both
// open the public page and join; the contact is added or updated in the
// group and the joins counted; mistakes answer 422 beside their field and
// write nothing; a switched-off link is 410 and an unknown one 404, for
// GET and POST; a POST without the form's token is 403. The page carries
// the security headers of every page and none of the panel's navigation.
func TestJoinPage(t *testing.T) {
	// Behind a trusted proxy, so that each visitor comes from an address
	// of their own and stays within the limits of TestJoinRateLimits.
	_, loopback, _ := net.ParseCIDR("127.0.0.1/32")
	a := newAppWith(t, testBaseURL, []*net.IPNet{loopback})
	owner := a.signup("owner@example.com", "Acme")
	if _, err := a.raw().ExecContext(context.Background(), `UPDATE organisations SET country = 'EE' WHERE id = ?`, owner.org); err != nil {
		t.Fatal(err)
	}
	group := newGroup(t, a, owner.org, owner.profile, "Newsletter")
	link := createLink(t, owner, owner.org, group, "Website footer")
	inGroup := func(phone string) int {
		return a.rows(`SELECT COUNT(*) FROM group_contacts gc JOIN contacts c ON c.id = gc.contact_id WHERE gc.group_id = ? AND c.phone = ?`, group, phone)
	}
	joins := func() int { return a.rows(`SELECT joins FROM subscription_links WHERE group_id = ?`, group) }

	visitor := a.from("198.51.100.1")
	res := visitor.get(link)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "Acme", "<h1>Join Newsletter</h1>", `<label for="phone">Phone number</label>`, `<label for="first_name">First name</label>`,
		`<label for="consent">I agree to receive offers by SMS.</label>`, ">Join</button>", `name="_csrf"`)
	wantNotContains(t, res, `href="/login"`, `href="/signup"`, "sidenav", "<script")
	if csp := res.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "object-src 'none'") {
		t.Errorf("CSP %q", csp)
	}
	if res.header.Get("X-Frame-Options") != "DENY" || res.header.Get("X-Content-Type-Options") != "nosniff" || res.header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("headers %v", res.header)
	}

	// Joining: a number without its country code takes the
	// organisation's country.
	res = visitor.post(link, joinForm("5550 0001", "Mari"))
	wantStatus(t, res, http.StatusSeeOther)
	if res.location != link+"/thanks" {
		t.Fatalf("sent to %q", res.location)
	}
	res = visitor.get(res.location)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "Thank you for joining", "You joined Newsletter of Acme.")
	if inGroup("+37255500001") != 1 || joins() != 1 {
		t.Fatalf("after the join: %d in the group, %d joins", inGroup("+37255500001"), joins())
	}

	// A logged-in person (of any organisation) joins the same way; a
	// number already in the phonebook is updated, not duplicated.
	other := a.signup("other@example.com", "Elsewhere")
	if _, err := a.db.JoinGroup(context.Background(), &switchboard.Contact{OrgID: owner.org, Phone: "+37255500002", LastName: "Tamm"}, newGroup(t, a, owner.org, owner.profile, "Customers")); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, other.get(link), http.StatusOK)
	wantStatus(t, other.post(link, joinForm("+372 5550 0002", "Jaan")), http.StatusSeeOther)
	if inGroup("+37255500002") != 1 || joins() != 2 || a.rows(`SELECT COUNT(*) FROM contacts WHERE phone = '+37255500002'`) != 1 ||
		a.rows(`SELECT COUNT(*) FROM contacts WHERE phone = '+37255500002' AND first_name = 'Jaan' AND last_name = 'Tamm'`) != 1 {
		t.Fatal("the known number was not updated and put in the group")
	}
	// The same number again: no error, and counted once.
	wantStatus(t, visitor.post(link, joinForm("+37255500001", "Mari")), http.StatusSeeOther)
	if joins() != 2 {
		t.Fatalf("joining again counted: %d", joins())
	}

	contacts := a.rows(`SELECT COUNT(*) FROM contacts`)
	mistaken := a.from("198.51.100.2")
	for _, tc := range []struct {
		form        url.Values
		field, want string
	}{
		{joinForm("12ab", "Mari"), "phone", "12ab is not a phone number."},
		{joinForm("", "Mari"), "phone", "Enter your phone number"},
		{joinForm("+1 555", "Mari"), "phone", "+1 555 is not a phone number."},
		{url.Values{"phone": {"+37255500003"}, "first_name": {"Mari"}}, "consent", "Tick the box to agree, or you cannot join."},
		{joinForm("+37255500003", strings.Repeat("M", 101)), "first_name", "First name can be at most 100 characters."},
	} {
		res := mistaken.post(link, tc.form)
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantContains(t, res, `id="`+tc.field+`-error"`, tc.want, `value="`+tc.form.Get("phone")+`"`, `value="`+tc.form.Get("first_name")+`"`)
		if tc.field != "consent" && !strings.Contains(res.body, `value="yes" required checked`) {
			t.Errorf("%s: the ticked consent was not kept", tc.field)
		}
	}
	if n := a.rows(`SELECT COUNT(*) FROM contacts`); n != contacts || joins() != 2 {
		t.Fatalf("mistakes wrote: %d contacts, was %d; %d joins", n, contacts, joins())
	}

	// Without the form's token: refused, nothing written, also without
	// any session.
	f := joinForm("+37255500004", "Eve")
	wantStatus(t, visitor.postRaw(link, f), http.StatusForbidden)
	wantStatus(t, a.client().postRaw(link, f), http.StatusForbidden)
	f.Set("_csrf", "forged")
	wantStatus(t, a.client().postRaw(link, f), http.StatusForbidden)
	// A browser vouching for a page of this origin needs no token; one
	// saying the form came from another site is refused even with one.
	siteForm := func(site string, f url.Values) *response {
		req, _ := http.NewRequest(http.MethodPost, a.ts.URL+link, strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", site)
		return a.client().do(req)
	}
	f = joinForm("+37255500004", "Eve")
	f.Set("_csrf", csrfField(visitor.get(link).body))
	wantStatus(t, siteForm("cross-site", f), http.StatusForbidden)
	wantStatus(t, siteForm("same-site", f), http.StatusForbidden)
	if inGroup("+37255500004") != 0 {
		t.Fatal("a join without the form's token was written")
	}
	wantStatus(t, siteForm("same-origin", joinForm("+37255500004", "Eve")), http.StatusSeeOther)
	if inGroup("+37255500004") != 1 || joins() != 3 {
		t.Fatal("a same-origin join was not written")
	}

	// Unknown: 404, as page and as POST.
	wantStatus(t, visitor.get("/s/no-such-token"), http.StatusNotFound)
	wantStatus(t, visitor.post("/s/no-such-token", joinForm("+37255500005", "")), http.StatusNotFound)
	wantStatus(t, visitor.get("/s/no-such-token/thanks"), http.StatusNotFound)

	// Switched off: 410 with a friendly page, and nothing written.
	links, _ := a.db.ListSubscriptionLinks(context.Background(), owner.org)
	if _, err := a.db.SetSubscriptionLinkActive(context.Background(), switchboard.Actor{ProfileID: owner.profile}, owner.org, links[0].ID, false); err != nil {
		t.Fatal(err)
	}
	csrf := csrfField(visitor.get("/password/forgot").body)
	res = visitor.get(link)
	wantStatus(t, res, http.StatusGone)
	wantContains(t, res, "Acme switched this subscription page off")
	f = joinForm("+37255500006", "Late")
	f.Set("_csrf", csrf)
	res = visitor.postRaw(link, f)
	wantStatus(t, res, http.StatusGone)
	wantContains(t, res, "Nothing was saved.")
	wantStatus(t, visitor.get(link+"/thanks"), http.StatusGone)
	if inGroup("+37255500006") != 0 || joins() != 3 {
		t.Fatal("a switched-off link took a join")
	}
}

// TestJoinRateLimits: joins are limited per client address and per link
// (429 with Retry-After and a page saying so), while a wave of people from
// as many addresses, and a family behind one address, all join.
func TestJoinRateLimits(t *testing.T) {
	_, loopback, _ := net.ParseCIDR("127.0.0.1/32")
	a := newAppWith(t, testBaseURL, []*net.IPNet{loopback})
	owner := a.signup("owner@example.com", "Acme")
	group := newGroup(t, a, owner.org, owner.profile, "Newsletter")
	link := createLink(t, owner, owner.org, group, "Website footer")
	other := createLink(t, owner, owner.org, newGroup(t, a, owner.org, owner.profile, "Other"), "Other")

	number := 0
	next := func() string {
		number++
		return "+3725551" + strings.Repeat("0", 4-len(itoa(int64(number)))) + itoa(int64(number))
	}
	// A wave: 60 people from 60 addresses, and 10 behind one office
	// address, all in a row.
	for i := range 60 {
		wantStatus(t, a.from("198.51.100."+itoa(int64(i+1))).post(link, joinForm(next(), "Wave")), http.StatusSeeOther)
	}
	office := a.from("203.0.113.50")
	for range 10 {
		wantStatus(t, office.post(link, joinForm(next(), "Office")), http.StatusSeeOther)
	}
	// The office's eleventh: refused, with the time to wait; mistakes
	// counted too.
	res := office.post(link, joinForm(next(), "Script"))
	wantStatus(t, res, http.StatusTooManyRequests)
	wantContains(t, res, "Too many attempts", "Please wait a minute and try again")
	if res.header.Get("Retry-After") != "60" {
		t.Errorf("Retry-After %q", res.header.Get("Retry-After"))
	}
	wantStatus(t, office.post(other, joinForm(next(), "Script")), http.StatusTooManyRequests)
	if n := a.rows(`SELECT COUNT(*) FROM contacts WHERE first_name = 'Script'`); n != 0 {
		t.Fatalf("%d refused joins written", n)
	}
	// Another address still joins.
	wantStatus(t, a.from("203.0.113.51").post(link, joinForm(next(), "Neighbour")), http.StatusSeeOther)

	// Per link: once a link had its joins, a new address is refused on
	// it, not on another link.
	a.srv.SetJoinLinkLimit(3)
	for i := range 3 {
		wantStatus(t, a.from("192.0.2."+itoa(int64(i+1))).post(link, joinForm(next(), "Many")), http.StatusSeeOther)
	}
	res = a.from("192.0.2.100").post(link, joinForm(next(), "Many"))
	wantStatus(t, res, http.StatusTooManyRequests)
	wantContains(t, res, "This page received too many sign-ups in a short time.", "Acme")
	if res.header.Get("Retry-After") != "12" {
		t.Errorf("Retry-After %q", res.header.Get("Retry-After"))
	}
	wantStatus(t, a.from("192.0.2.101").post(other, joinForm(next(), "Elsewhere")), http.StatusSeeOther)
	if n := a.rows(`SELECT joins FROM subscription_links WHERE group_id = ?`, group); n != 74 {
		t.Fatalf("%d joins counted, want 74", n)
	}
}

// TestProducts: request a product through the form; it is listed as
// Requested; one waiting or active is refused beside the field with the
// note kept; the operator's decision shows as Active, or Declined with the
// reason; the audit log says so.
func TestProducts(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	page := path(owner.org, "products")

	res := owner.get(page)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "<h1>Products</h1>", `<label for="product">Product</label>`, `<label for="note">Note</label>`, ">Request product</button>",
		`<option value="whatsapp_business">WhatsApp Business</option>`, `<option value="virtual_number">Virtual number</option>`,
		"You have not requested a product yet.", `aria-current="page"`)

	res = owner.post(page, url.Values{"product": {"voice"}, "note": {"A call centre"}})
	wantStatus(t, res, http.StatusSeeOther)
	res = owner.get(page)
	wantContains(t, res, "Your request for Voice was sent.", `<td data-label="Product">Voice</td>`, "A call centre", ">Requested</span>")

	for _, tc := range []struct {
		product, note, want string
	}{
		{"voice", "Again please", "You already requested Voice: the request is waiting for our decision."},
		{"", "Anything", "Choose a product."},
		{"fax", "Old school", "Choose a product."},
		{"sms", strings.Repeat("n", 1001), "A note can be at most 1,000 characters."},
	} {
		res := owner.post(page, url.Values{"product": {tc.product}, "note": {tc.note}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantContains(t, res, tc.want, ">"+tc.note+"</textarea>")
	}
	list, err := a.db.ListProductRequests(context.Background(), owner.org)
	if err != nil || len(list) != 1 {
		t.Fatalf("requests after mistakes: %v, %v", list, err)
	}
	if _, err := a.db.DecideProductRequest(context.Background(), list[0].ID, false, "Not in your country yet."); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, owner.post(page, url.Values{"product": {"sms"}}), http.StatusSeeOther)
	list, _ = a.db.ListProductRequests(context.Background(), owner.org)
	if _, err := a.db.DecideProductRequest(context.Background(), list[0].ID, true, ""); err != nil {
		t.Fatal(err)
	}
	res = owner.get(page)
	wantContains(t, res, ">Declined</span>", "Not in your country yet.", ">Active</span>")
	res = owner.post(page, url.Values{"product": {"sms"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "SMS is already active for your organisation.")

	res = owner.get(path(owner.org, "audit"))
	wantContains(t, res, "Product requested", "Product decided", "Operator", "Voice: Declined: Not in your country yet.")

	// Dates are the member's: 23:30 UTC on 1 March is 2 March in
	// Kiritimati (UTC+14).
	raw := a.raw()
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC).UnixMilli()
	if _, err := raw.ExecContext(ctx, `UPDATE product_requests SET created_at = ?, decided_at = ? WHERE org_id = ?`, at, at, owner.org); err != nil {
		t.Fatal(err)
	}
	wantContains(t, owner.get(page), `<td data-label="Requested" class="nowrap">1 Mar 2026</td>`)
	if _, err := raw.ExecContext(ctx, `UPDATE profiles SET time_zone = 'Pacific/Kiritimati' WHERE id = ?`, owner.profile); err != nil {
		t.Fatal(err)
	}
	res = owner.get(page)
	wantContains(t, res, `<td data-label="Requested" class="nowrap">2 Mar 2026</td>`, `<td data-label="Decided" class="nowrap">2 Mar 2026</td>`)
	wantNotContains(t, res, "1 Mar 2026")
}

// TestProductsRefused: a Sender may not see or request products (403,
// also with a valid form token); someone outside the organisation finds
// nothing (404); neither creates anything.
func TestProductsRefused(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	sender := a.join(a.invite(owner, owner.org, "sender@example.com", "sender"), "sender@example.com")
	outsider := a.signup("outsider@example.com", "Elsewhere")
	page := path(owner.org, "products")
	wantStatus(t, sender.get(page), http.StatusForbidden)
	res := sender.post(page, url.Values{"product": {"voice"}})
	wantStatus(t, res, http.StatusForbidden)
	wantContains(t, res, "You don&#39;t have access", "Products")
	wantStatus(t, outsider.get(page), http.StatusNotFound)
	wantStatus(t, outsider.post(page, url.Values{"product": {"voice"}}), http.StatusNotFound)
	if n := a.rows(`SELECT COUNT(*) FROM product_requests`); n != 0 {
		t.Fatalf("%d requests made by people without the right", n)
	}
	// The Sender's navigation has no Products link; the owner's has.
	wantNotContains(t, sender.get(path(owner.org, "")), `href="`+page+`"`)
	wantContains(t, owner.get(path(owner.org, "")), `href="`+page+`"`)
}
