package handlers_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// wantFieldError fails unless res is a 422 whose field (by its name) is
// marked invalid, with msg in the error it is described by, and value still
// typed in it.
func wantFieldError(t *testing.T, res *response, field, msg, value string) {
	t.Helper()
	wantStatus(t, res, http.StatusUnprocessableEntity)
	input := regexp.MustCompile(`<input[^>]*\bname="` + regexp.QuoteMeta(field) + `"[^>]*>`).FindString(res.body)
	if input == "" {
		t.Fatalf("no %s field:\n%s", field, res.body)
	}
	if !strings.Contains(input, `aria-invalid="true"`) || !strings.Contains(input, `value="`+html.EscapeString(value)+`"`) {
		t.Fatalf("%s is not marked invalid with its value kept: %s", field, input)
	}
	m := regexp.MustCompile(`aria-describedby="([^"]*)"`).FindStringSubmatch(input)
	if m == nil {
		t.Fatalf("%s is described by nothing: %s", field, input)
	}
	for _, id := range strings.Fields(m[1]) {
		if strings.Contains(res.body, `id="`+id+`">`+msg) {
			return
		}
	}
	t.Fatalf("%s: no %q beside it\n%s", field, msg, res.body)
}

// Right-to-left override and zero-width characters are refused in every
// name that reaches an email, with a 422 beside the field (issue 6, point 3).
func TestInvisibleCharactersRefusedInNames(t *testing.T) {
	const msg = "This cannot contain invisible formatting characters"
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	link := a.invite(owner, owner.org, "bob@example.com", "sender")
	for _, bad := range []string{"Ann\u202eenoD", "An\u200bn"} {
		t.Run("sign-up", func(t *testing.T) {
			c := a.client()
			for _, field := range []string{"first_name", "last_name", "org_name"} {
				form := url.Values{"email": {"new@example.com"}, "password": {testPassword}, "first_name": {"Ann"}, "last_name": {"Doe"}, "org_name": {"Beta"}}
				form.Set(field, bad)
				wantFieldError(t, c.post("/signup", form), field, msg, bad)
			}
		})
		t.Run("account", func(t *testing.T) {
			for _, field := range []string{"first_name", "last_name"} {
				form := url.Values{"first_name": {"Ann"}, "last_name": {"Doe"}, "language": {"en"}, "time_zone": {"UTC"}}
				form.Set(field, bad)
				wantFieldError(t, owner.post("/account", form), field, msg, bad)
			}
		})
		t.Run("invitation sign-up", func(t *testing.T) {
			c := a.client()
			for _, field := range []string{"first_name", "last_name"} {
				form := url.Values{"password": {testPassword}, "first_name": {"Bob"}, "last_name": {"Roe"}}
				form.Set(field, bad)
				wantFieldError(t, c.post(link+"/signup", form), field, msg, bad)
			}
		})
		t.Run("organisation create and rename", func(t *testing.T) {
			wantFieldError(t, owner.post("/orgs/new", url.Values{"name": {bad}}), "name", msg, bad)
			wantFieldError(t, owner.post(path(owner.org, "settings"), url.Values{"name": {bad}}), "name", msg, bad)
		})
	}
	// Nothing was changed or created.
	p, _, err := a.db.FindProfileByEmail(context.Background(), "owner@example.com")
	if err != nil || strings.ContainsAny(p.FirstName+p.LastName, "\u202e\u200b") {
		t.Fatalf("profile %+v, %v", p, err)
	}
	if _, _, err := a.db.FindProfileByEmail(context.Background(), "new@example.com"); err == nil {
		t.Fatal("a profile was created")
	}
}

// What mail clients would turn into a link: URLs, www. names, host names and
// addresses (see mail/inert_test.go for the full set of tricks).
var linkLike = regexp.MustCompile(`(?i)[a-z][a-z0-9+.-]*:/+[^\s"<>]*|www\.[^\s"<>]*|[\p{L}\p{N}._%+-]+@[\p{L}\p{N}.-]+|[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.\p{L}{2,}[^\s"<>]*`)

// The review's phishing invitation, through the real server: an inviter
// named "Urgent: verify your account at" "https://evil.example/login"
// (names typed before this check existed hold no invisible characters,
// so they are still accepted) sends an invitation whose subject does not
// carry them and whose bodies link only to the panel.
func TestPhishingNamesInInvitationEmail(t *testing.T) {
	a := newApp(t)
	c := a.client()
	res := c.post("/signup", url.Values{"email": {"eve@example.com"}, "password": {testPassword},
		"first_name": {"Urgent: verify your account at"}, "last_name": {"https://evil.example/login"}, "org_name": {"Acme"}})
	wantStatus(t, res, http.StatusSeeOther)
	org, _ := parseInt(orgURL.FindStringSubmatch(res.location)[1])
	wantStatus(t, c.post(path(org, "invitations"), url.Values{"email": {"bob@example.com"}, "role": {"sender"}}), http.StatusSeeOther)

	emails, err := a.db.DueEmails(context.Background(), time.Now().Add(time.Hour), 10)
	if err != nil || len(emails) != 1 {
		t.Fatalf("%d emails, %v", len(emails), err)
	}
	e := emails[0]
	if e.Subject != "Join “Acme” on Switchboard" {
		t.Errorf("subject = %q", e.Subject)
	}
	panelLink := a.outboxLink("bob@example.com", "/invitations/")
	tag := regexp.MustCompile(`<[^>]*>`)
	for body, text := range map[string]string{"text": e.Text, "HTML": strings.Join(strings.Fields(html.UnescapeString(tag.ReplaceAllString(e.HTML, " "))), " ")} {
		for _, m := range linkLike.FindAllString(text, -1) {
			m = strings.TrimRight(m, ".,;:)”")
			if m != testBaseURL+panelLink && m != "panel.example.test" {
				t.Errorf("the %s body holds %q, which a mail client would make a link", body, m)
			}
		}
		if !strings.Contains(text, "https[:]//evil[.]example/login") || !strings.Contains(text, "Switchboard at panel.example.test") {
			t.Errorf("the %s body does not show the name inert and the panel's address:\n%s", body, text)
		}
	}
	for _, m := range regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(e.HTML, -1) {
		if m[1] != testBaseURL+panelLink {
			t.Errorf("the HTML body links to %q", m[1])
		}
	}
}
