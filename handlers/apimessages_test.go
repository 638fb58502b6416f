package handlers_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard"
	"switchboard/handlers"
)

// messagesAPI calls the JSON API as a program of an organisation does
// (a keyClient), with whole paths and extra headers.
type messagesAPI struct{ *keyClient }

// newMessagesAPI creates an API key of the organisation named name
// through the store and returns a caller with it.
func (a *app) newMessagesAPI(org int64, name string) *messagesAPI {
	a.t.Helper()
	return &messagesAPI{newNamedKeyClient(a.t, a, org, name)}
}

// call sends a request to path (under /api/v1) with the key (if any), a
// JSON body (if not ""), and headers given as name, value pairs.
func (m *messagesAPI) call(method, path, body string, header ...string) *response {
	m.t.Helper()
	r := m.request(method, strings.TrimPrefix(path, "/api/v1"), body)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return m.keyClient.send(r)
}

func (m *messagesAPI) send(body string, header ...string) *response {
	m.t.Helper()
	return m.call(http.MethodPost, "/api/v1/messages", body, header...)
}

// sentMessage is a message of an answer, as a client reads it.
type sentMessage struct {
	ID        int64   `json:"id"`
	From      string  `json:"from"`
	To        string  `json:"to"`
	Text      string  `json:"text"`
	Encoding  string  `json:"encoding"`
	Parts     int     `json:"parts"`
	Price     string  `json:"price"`
	Currency  string  `json:"currency"`
	Status    string  `json:"status"`
	Error     *string `json:"error"`
	CreatedAt string  `json:"created_at"`
	SendAt    *string `json:"send_at"`
	SentAt    *string `json:"sent_at"`
	StatusAt  string  `json:"status_at"`
	APIKey    *string `json:"api_key"`
}

type sendAnswer struct {
	Data    []sentMessage `json:"data"`
	LeftOut []struct {
		To     string `json:"to"`
		Reason string `json:"reason"`
	} `json:"left_out"`
}

type messagePage struct {
	Data       []sentMessage `json:"data"`
	NextCursor *string       `json:"next_cursor"`
}

// readAnswer reads res's JSON body into v, failing the test when it is not.
func readAnswer(t testing.TB, res *response, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(res.body), v); err != nil {
		t.Fatalf("answer is not the JSON expected: %v\n%s", err, res.body)
	}
}

// wantProblemNaming checks that res is a problem document of status, and that
// it names each field (a pointer "#/to" or a parameter "limit") with a
// detail holding the text given after it (field, text pairs).
func wantProblemNaming(t testing.TB, res *response, status int, fieldTexts ...string) problemDoc {
	t.Helper()
	wantStatus(t, res, status)
	if ct := res.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json\n%s", ct, res.body)
	}
	var p problemDoc
	readAnswer(t, res, &p)
	if p.Status != status || p.Title != http.StatusText(status) || p.Detail == "" || p.Type != "about:blank" {
		t.Errorf("problem %+v", p)
	}
	for i := 0; i+1 < len(fieldTexts); i += 2 {
		found := false
		for _, e := range p.Errors {
			if (e.Pointer == fieldTexts[i] || e.Parameter == fieldTexts[i]) && strings.Contains(e.Detail, fieldTexts[i+1]) {
				found = true
			}
		}
		if !found {
			t.Errorf("the problem names no %s with %q: %+v", fieldTexts[i], fieldTexts[i+1], p.Errors)
		}
	}
	return p
}

// noCookie fails the test if the answer sets a cookie: the API never does.
func noCookie(t testing.TB, res *response) {
	t.Helper()
	if c := res.header.Values("Set-Cookie"); len(c) > 0 {
		t.Errorf("the API set a cookie: %q", c)
	}
}

// apiWorld is an organisation (EE, €1.00) with an owner and a key, and
// another organisation with its own key.
func apiWorld(t *testing.T) (*app, *person, *messagesAPI, *messagesAPI) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	a.fundOrg(owner.org, 10_000, "EE")
	other := a.signup("other@example.com", "Other")
	a.fundOrg(other.org, 10_000, "EE")
	return a, owner, a.newMessagesAPI(owner.org, "Website"), a.newMessagesAPI(other.org, "Their shop")
}

func TestAPISendAccepted(t *testing.T) {
	a, owner, api, _ := apiWorld(t)

	t.Run("one number", func(t *testing.T) {
		res := api.send(`{"to": "+37255500001", "from": "Switchboard", "text": "Your code is 1234"}`)
		wantStatus(t, res, http.StatusAccepted)
		noCookie(t, res)
		if ct := res.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		var ans sendAnswer
		readAnswer(t, res, &ans)
		if len(ans.Data) != 1 || ans.LeftOut == nil || len(ans.LeftOut) != 0 || !strings.Contains(res.body, `"left_out":[]`) {
			t.Fatalf("answer %s", res.body)
		}
		m := ans.Data[0]
		if m.ID == 0 || m.From != "Switchboard" || m.To != "+37255500001" || m.Text != "Your code is 1234" || m.Encoding != "GSM-7" ||
			m.Parts != 1 || m.Price != "0.0500" || m.Currency != "EUR" || m.Status != "queued" || m.Error != nil || m.SendAt != nil ||
			m.SentAt != nil || m.APIKey == nil || *m.APIKey != api.key[:switchboard.APIKeyShown] {
			t.Errorf("message %+v", m)
		}
		for _, ts := range []string{m.CreatedAt, m.StatusAt} {
			if _, err := time.Parse(time.RFC3339, ts); err != nil || !strings.HasSuffix(ts, "Z") {
				t.Errorf("time %q is not RFC 3339 in UTC", ts)
			}
		}
		if n := a.rows(`SELECT COUNT(*) FROM messages m JOIN message_queue q ON q.message_id = m.id WHERE m.id = ? AND m.org_id = ? AND m.api_key_id = ? AND m.created_by IS NULL`,
			m.ID, owner.org, api.keyID); n != 1 {
			t.Errorf("the message is not queued with its key")
		}
		if b, _ := a.db.Balance(context.Background(), owner.org); b != 9_500 {
			t.Errorf("balance %d, want 9500", b)
		}
		// The ledger line names the key.
		if n := a.rows(`SELECT COUNT(*) FROM ledger WHERE org_id = ? AND kind = 'spend' AND description LIKE '1 message from Switchboard through API key Website (sb_live_%'`, owner.org); n != 1 {
			t.Errorf("no ledger line naming the key")
		}
		// So does History, beside the message's From.
		page := owner.get("/orgs/" + itoa(owner.org) + "/history")
		wantStatus(t, page, http.StatusOK)
		if !strings.Contains(page.body, "API key Website ("+api.key[:switchboard.APIKeyShown]+"…)") {
			t.Errorf("History does not say which key sent the message:\n%s", page.body)
		}
	})

	t.Run("a list, with a duplicate and a number that opted out", func(t *testing.T) {
		if _, err := a.raw().ExecContext(context.Background(), `INSERT INTO opt_outs (org_id, phone, created_at) VALUES (?, '+37255500009', 1)`, owner.org); err != nil {
			t.Fatal(err)
		}
		res := api.send(`{"to": ["+37255500002", "5550 0003", "+372 5550 0002", "+37255500009"], "from": "Switchboard", "text": "Hello „friends“"}`)
		wantStatus(t, res, http.StatusAccepted)
		var ans sendAnswer
		readAnswer(t, res, &ans)
		if len(ans.Data) != 2 || ans.Data[0].To != "+37255500002" || ans.Data[1].To != "+37255500003" || ans.Data[0].Encoding != "UCS-2" {
			t.Fatalf("data %+v", ans.Data)
		}
		if len(ans.LeftOut) != 1 || ans.LeftOut[0].To != "+37255500009" || !strings.Contains(ans.LeftOut[0].Reason, "opted out") {
			t.Errorf("left out %+v", ans.LeftOut)
		}
		if n := a.rows(`SELECT COUNT(*) FROM messages WHERE recipient = '+37255500009'`); n != 0 {
			t.Errorf("a number that opted out was sent to")
		}
	})

	t.Run("auto_replace full for this send", func(t *testing.T) {
		res := api.send(`{"to": "+37255500004", "from": "Switchboard", "text": "Hello „friends“", "auto_replace": "full"}`)
		wantStatus(t, res, http.StatusAccepted)
		var ans sendAnswer
		readAnswer(t, res, &ans)
		if ans.Data[0].Text != `Hello "friends"` || ans.Data[0].Encoding != "GSM-7" {
			t.Errorf("message %+v", ans.Data[0])
		}
	})

	t.Run("the API configuration's auto-replace mode", func(t *testing.T) {
		if _, err := a.raw().ExecContext(context.Background(), `INSERT INTO api_config (org_id, auto_replace, updated_at) VALUES (?, 'full', 1)`, owner.org); err != nil {
			t.Fatal(err)
		}
		defer a.raw().ExecContext(context.Background(), `DELETE FROM api_config WHERE org_id = ?`, owner.org)
		res := api.send(`{"to": "+37255500004", "from": "Switchboard", "text": "Hello „friends“"}`)
		wantStatus(t, res, http.StatusAccepted)
		var ans sendAnswer
		readAnswer(t, res, &ans)
		if ans.Data[0].Text != `Hello "friends"` {
			t.Errorf("the configuration's Full was not applied: %+v", ans.Data[0])
		}
		res = api.send(`{"to": "+37255500004", "from": "Switchboard", "text": "Hello „friends“", "auto_replace": "off"}`)
		readAnswer(t, res, &ans)
		if ans.Data[0].Text != "Hello „friends“" {
			t.Errorf("the request's off was not applied: %+v", ans.Data[0])
		}
	})

	t.Run("send_at: the queue row is due then", func(t *testing.T) {
		at := time.Now().Add(72 * time.Hour).UTC().Truncate(time.Second)
		res := api.send(`{"to": "+37255500005", "from": "Switchboard", "text": "Later", "send_at": "` + at.In(time.FixedZone("EET", 2*3600)).Format(time.RFC3339) + `"}`)
		wantStatus(t, res, http.StatusAccepted)
		var ans sendAnswer
		readAnswer(t, res, &ans)
		if m := ans.Data[0]; m.SendAt == nil || *m.SendAt != at.Format(time.RFC3339) {
			t.Errorf("send_at %v, want %s", m.SendAt, at.Format(time.RFC3339))
		}
		if n := a.rows(`SELECT COUNT(*) FROM message_queue q JOIN messages m ON m.id = q.message_id WHERE m.id = ? AND q.next_attempt_at = ? AND m.send_at = ?`,
			ans.Data[0].ID, at.UnixMilli(), at.UnixMilli()); n != 1 {
			t.Errorf("the queue row is not due at send_at")
		}
	})

	t.Run("a sender name approved for the organisation", func(t *testing.T) {
		if _, err := a.raw().ExecContext(context.Background(), `INSERT INTO sender_names (org_id, name, use_case, status, created_at) VALUES (?, 'Acme', 'tests', 'approved', 1)`, owner.org); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, api.send(`{"to": "+37255500006", "from": "Acme", "text": "Hi"}`), http.StatusAccepted)
	})
}

func TestAPIUnauthorized(t *testing.T) {
	a, owner, api, _ := apiWorld(t)
	body := `{"to": "+37255500001", "from": "Switchboard", "text": "Hi"}`
	bare := &messagesAPI{&keyClient{t: t, a: a, hc: http.DefaultClient}}
	for _, c := range []struct {
		name, auth, path string
	}{
		{"no header", "", "/api/v1/messages"},
		{"malformed", "Bearer abc", "/api/v1/messages"},
		{"another scheme", "Basic " + api.key, "/api/v1/messages"},
		{"unknown", "Bearer " + switchboard.APIKeyPrefix + strings.Repeat("A", 43), "/api/v1/messages"},
		{"a key in the query string", "Bearer " + api.key, "/api/v1/messages?key=" + api.key},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, method := range []string{http.MethodPost, http.MethodGet} {
				var res *response
				if c.auth == "" {
					res = bare.call(method, c.path, body)
				} else {
					res = bare.call(method, c.path, body, "Authorization", c.auth)
				}
				wantProblemNaming(t, res, http.StatusUnauthorized)
				noCookie(t, res)
				if res.header.Get("WWW-Authenticate") == "" {
					t.Errorf("no WWW-Authenticate")
				}
			}
		})
	}
	if n := a.rows(`SELECT COUNT(*) FROM messages`); n != 0 {
		t.Errorf("%d messages sent without a valid key", n)
	}

	t.Run("a revoked key on the very next request", func(t *testing.T) {
		wantStatus(t, api.call(http.MethodGet, "/api/v1/messages", ""), http.StatusOK)
		if _, err := a.db.RevokeAPIKey(context.Background(), switchboard.Actor{Name: "Test"}, owner.org, api.keyID); err != nil {
			t.Fatal(err)
		}
		wantProblemNaming(t, api.send(body), http.StatusUnauthorized)
		wantProblemNaming(t, api.call(http.MethodGet, "/api/v1/messages", ""), http.StatusUnauthorized)
	})

	t.Run("a logged-in session cookie opens nothing", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, a.ts.URL+"/api/v1/messages", nil)
		res := owner.do(req)
		wantProblemNaming(t, res, http.StatusUnauthorized)
		noCookie(t, res)
		req, _ = http.NewRequest(http.MethodPost, a.ts.URL+"/api/v1/messages", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		wantProblemNaming(t, owner.do(req), http.StatusUnauthorized)
	})
}

func TestAPISendPaymentRequired(t *testing.T) {
	a, owner, api, _ := apiWorld(t)
	a.fundOrg(owner.org, 900, "EE") // €0.09, the send is €0.10
	res := api.send(`{"to": ["+37255500001", "+37255500002"], "from": "Switchboard", "text": "Hi"}`, "Idempotency-Key", "pay-1")
	p := wantProblemNaming(t, res, http.StatusPaymentRequired)
	if p.Detail != "Your balance of €0.09 does not cover this send of €0.10." {
		t.Errorf("detail %q", p.Detail)
	}
	if n := a.rows(`SELECT COUNT(*) FROM messages`) + a.rows(`SELECT COUNT(*) FROM message_queue`) + a.rows(`SELECT COUNT(*) FROM api_idempotency`); n != 0 {
		t.Errorf("a refused send left %d rows", n)
	}
	if b, _ := a.db.Balance(context.Background(), owner.org); b != 900 {
		t.Errorf("balance %d, want 900", b)
	}
	// Nothing was kept under the key: once there is money, the same
	// request sends.
	a.fundOrg(owner.org, 10_000, "EE")
	res = api.send(`{"to": ["+37255500001", "+37255500002"], "from": "Switchboard", "text": "Hi"}`, "Idempotency-Key", "pay-1")
	wantStatus(t, res, http.StatusAccepted)
	if res.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("a first answer is marked as replayed")
	}
}

func TestAPIMessageNotFound(t *testing.T) {
	_, _, api, theirs := apiWorld(t)
	res := theirs.send(`{"to": "+37255500001", "from": "Switchboard", "text": "Their secret"}`)
	wantStatus(t, res, http.StatusAccepted)
	var ans sendAnswer
	readAnswer(t, res, &ans)
	theirID := itoa(ans.Data[0].ID)
	wantStatus(t, theirs.call(http.MethodGet, "/api/v1/messages/"+theirID, ""), http.StatusOK)

	for _, c := range []struct{ name, id string }{
		{"another organisation's message", theirID},
		{"a missing id", "999999999"},
		{"not a number", "abc"},
		{"a negative number", "-1"},
		{"an encoded separator", "1%2F2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := api.call(http.MethodGet, "/api/v1/messages/"+c.id, "")
			p := wantProblemNaming(t, res, http.StatusNotFound)
			if strings.Contains(res.body, "Their secret") {
				t.Errorf("another organisation's message shows")
			}
			if c.id == theirID && p.Detail != "This message does not exist, or you do not have access to it." {
				t.Errorf("detail %q", p.Detail)
			}
		})
	}
	// Nor does the list show it.
	res = api.call(http.MethodGet, "/api/v1/messages", "")
	wantStatus(t, res, http.StatusOK)
	if strings.Contains(res.body, "Their secret") || !strings.Contains(res.body, `"data":[]`) {
		t.Errorf("the list shows another organisation's message: %s", res.body)
	}
}

func TestAPISendTooLarge(t *testing.T) {
	a, _, api, _ := apiWorld(t)
	big := `{"to": "+37255500001", "from": "Switchboard", "text": "` + strings.Repeat("a", 300<<10) + `"}`
	wantProblemNaming(t, api.send(big), http.StatusRequestEntityTooLarge)
	// Without a length announced, too.
	req, _ := http.NewRequest(http.MethodPost, a.ts.URL+"/api/v1/messages", io.MultiReader(strings.NewReader(big)))
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+api.key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", res.StatusCode)
	}
	if n := a.rows(`SELECT COUNT(*) FROM messages`); n != 0 {
		t.Errorf("%d messages", n)
	}
}

func TestAPISendUnsupportedMediaType(t *testing.T) {
	a, _, api, _ := apiWorld(t)
	wantProblemNaming(t, api.send(`{"to": "+37255500001", "from": "Switchboard", "text": "Hi"}`, "Content-Type", "text/plain"), http.StatusUnsupportedMediaType)
	wantProblemNaming(t, api.send(`to=%2B37255500001&from=Switchboard&text=Hi`, "Content-Type", "application/x-www-form-urlencoded"), http.StatusUnsupportedMediaType)
	if n := a.rows(`SELECT COUNT(*) FROM messages`); n != 0 {
		t.Errorf("%d messages", n)
	}
}

func TestAPISendUnprocessable(t *testing.T) {
	a, _, api, _ := apiWorld(t)
	past := time.Now().Add(-2 * time.Minute).UTC().Format(time.RFC3339)
	far := time.Now().AddDate(1, 1, 0).UTC().Format(time.RFC3339)
	for _, c := range []struct {
		name, body string
		header     []string
		fieldTexts []string
	}{
		{"an unknown field", `{"to": "+37255500001", "from": "Switchboard", "text": "Hi", "nickname": "x"}`, nil, []string{"#/nickname", "There is no field nickname"}},
		{"a bad number", `{"to": "12ab", "from": "Switchboard", "text": "Hi"}`, nil, []string{"#/to", "12ab is not a phone number."}},
		{"a bad number in a list", `{"to": ["+37255500001", "12ab"], "from": "Switchboard", "text": "Hi"}`, nil, []string{"#/to/1", "12ab is not a phone number."}},
		{"no number", `{"to": [], "from": "Switchboard", "text": "Hi"}`, nil, []string{"#/to", "Enter at least one phone number."}},
		{"to of the wrong type", `{"to": 37255500001, "from": "Switchboard", "text": "Hi"}`, nil, []string{"#/to", "a phone number or a list"}},
		{"too many numbers", `{"to": [` + strings.Repeat(`"+37255500001",`, 10_000) + `"+37255500001"], "from": "Switchboard", "text": "Hi"}`, nil,
			[]string{"#/to", "Send to at most 10,000 numbers at once; this list has 10,001."}},
		{"no price", `{"to": "+8801712345678", "from": "Switchboard", "text": "Hi"}`, nil, []string{"#/to", "sending there is not offered"}},
		{"empty text", `{"to": "+37255500001", "from": "Switchboard", "text": "  "}`, nil, []string{"#/text", "Enter the message."}},
		{"text of the wrong type", `{"to": "+37255500001", "from": "Switchboard", "text": 5}`, nil, []string{"#/text", "text must be a string."}},
		{"text too long", `{"to": "+37255500001", "from": "Switchboard", "text": "` + strings.Repeat("a", 1531) + `"}`, nil, []string{"#/text", "This one is 11 parts; shorten it."}},
		{"from not allowed", `{"to": "+37255500001", "from": "Bank", "text": "Hi"}`, nil, []string{"#/from", "only approved sender names and the default sender can be used (Switchboard)."}},
		{"send_at in the past", `{"to": "+37255500001", "from": "Switchboard", "text": "Hi", "send_at": "` + past + `"}`, nil, []string{"#/send_at", "This send_at is in the past."}},
		{"send_at over a year ahead", `{"to": "+37255500001", "from": "Switchboard", "text": "Hi", "send_at": "` + far + `"}`, nil, []string{"#/send_at", "at most a year ahead"}},
		{"send_at not a time", `{"to": "+37255500001", "from": "Switchboard", "text": "Hi", "send_at": "tomorrow"}`, nil, []string{"#/send_at", "RFC 3339"}},
		{"auto_replace unknown", `{"to": "+37255500001", "from": "Switchboard", "text": "Hi", "auto_replace": "max"}`, nil, []string{"#/auto_replace", "Choose off, on or full"}},
		{"several at once", `{"to": "12ab", "from": "Bank", "text": ""}`, nil, []string{"#/to", "12ab", "#/from", "Choose a sender", "#/text", "Enter the message."}},
		{"an empty Idempotency-Key", `{"to": "+37255500001", "from": "Switchboard", "text": "Hi"}`, []string{"Idempotency-Key", ""}, nil},
		{"an Idempotency-Key too long", `{"to": "+37255500001", "from": "Switchboard", "text": "Hi"}`, []string{"Idempotency-Key", strings.Repeat("k", 256)},
			[]string{"Idempotency-Key", "1 to 255 printable ASCII characters"}},
		{"an Idempotency-Key not ASCII", `{"to": "+37255500001", "from": "Switchboard", "text": "Hi"}`, []string{"Idempotency-Key", "clé"},
			[]string{"Idempotency-Key", "1 to 255 printable ASCII characters"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := api.send(c.body, c.header...)
			if c.header != nil && c.header[1] == "" {
				// net/http does not send an empty header: send it raw.
				res = rawEmptyIdempotencyKey(t, a, api)
				c.fieldTexts = []string{"Idempotency-Key", "1 to 255 printable ASCII characters"}
			}
			p := wantProblemNaming(t, res, http.StatusUnprocessableEntity, c.fieldTexts...)
			if strings.HasPrefix(c.fieldTexts[0], "Idempotency") && (len(p.Errors) != 1 || p.Errors[0].Parameter != "Idempotency-Key" || p.Errors[0].Pointer != "") {
				t.Errorf("the header is not named as a parameter: %+v", p.Errors)
			}
		})
	}
	if n := a.rows(`SELECT COUNT(*) FROM messages`) + a.rows(`SELECT COUNT(*) FROM api_idempotency`); n != 0 {
		t.Errorf("refused sends left %d rows", n)
	}

	t.Run("the same Idempotency-Key with another body", func(t *testing.T) {
		wantStatus(t, api.send(`{"to": "+37255500001", "from": "Switchboard", "text": "Hi"}`, "Idempotency-Key", "order-7"), http.StatusAccepted)
		res := api.send(`{"to": "+37255500001", "from": "Switchboard", "text": "Hi again"}`, "Idempotency-Key", "order-7")
		wantProblemNaming(t, res, http.StatusUnprocessableEntity, "Idempotency-Key", "This Idempotency-Key was used with another request")
		if n := a.rows(`SELECT COUNT(*) FROM messages`); n != 1 {
			t.Errorf("%d messages, want 1", n)
		}
	})
}

// rawEmptyIdempotencyKey sends a valid send with an Idempotency-Key
// header that is there but empty, over a connection of its own.
func rawEmptyIdempotencyKey(t *testing.T, a *app, api *messagesAPI) *response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, a.ts.URL+"/api/v1/messages", strings.NewReader(`{"to": "+37255500001", "from": "Switchboard", "text": "Hi"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+api.key)
	req.Header["Idempotency-Key"] = []string{""}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &response{status: res.StatusCode, body: string(b), header: res.Header}
}

func TestAPIIdempotencyParallelRetries(t *testing.T) {
	a, owner, api, _ := apiWorld(t)
	body := `{"to": ["+37255500001", "+37255500002"], "from": "Switchboard", "text": "Order 42 is on its way"}`
	const n = 20
	answers := make([]*response, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			answers[i] = api.send(body, "Idempotency-Key", "order-42")
		})
	}
	close(start)
	wg.Wait()
	replayed := 0
	for i, res := range answers {
		if res.status != http.StatusAccepted || res.body != answers[0].body {
			t.Errorf("answer %d: %d %s\nwant 202 %s", i, res.status, res.body, answers[0].body)
		}
		if res.header.Get("Idempotent-Replayed") == "true" {
			replayed++
		}
	}
	if replayed != n-1 {
		t.Errorf("%d answers marked replayed, want %d", replayed, n-1)
	}
	if c := a.rows(`SELECT COUNT(*) FROM messages WHERE org_id = ?`, owner.org); c != 2 {
		t.Errorf("%d messages queued, want 2 (one send)", c)
	}
	if b, _ := a.db.Balance(context.Background(), owner.org); b != 9_000 {
		t.Errorf("balance %d, want 9000 (one debit)", b)
	}
	// Later, the same: byte for byte.
	res := api.send(body, "Idempotency-Key", "order-42")
	if res.status != http.StatusAccepted || res.body != answers[0].body || res.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("a later retry: %d %q %s", res.status, res.header.Get("Idempotent-Replayed"), res.body)
	}
}

// TestAPIBalanceRace: API sends racing the Send SMS page on one
// organisation whose balance covers exactly N messages queue exactly N,
// and the balance ends at zero, never below.
func TestAPIBalanceRace(t *testing.T) {
	a, owner, api, _ := apiWorld(t)
	const n = 10
	a.fundOrg(owner.org, n*500, "EE")
	start := make(chan struct{})
	var wg sync.WaitGroup
	statuses := make(chan int, 4*n)
	for i := range 2 * n {
		wg.Go(func() {
			<-start
			to := "+3725550" + itoa(int64(1000+i))
			if i%2 == 0 {
				statuses <- api.send(`{"to": "` + to + `", "from": "Switchboard", "text": "Hi"}`).status
			} else {
				statuses <- owner.post(path(owner.org, "messages/new"), url.Values{"from": {"Switchboard"}, "to": {to}, "message": {"Hi"}, "action": {"send"}}).status
			}
		})
	}
	close(start)
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != http.StatusAccepted && s != http.StatusSeeOther && s != http.StatusPaymentRequired && s != http.StatusUnprocessableEntity {
			t.Errorf("status %d", s)
		}
	}
	if c := a.rows(`SELECT COUNT(*) FROM messages WHERE org_id = ?`, owner.org); c != n {
		t.Errorf("%d messages queued, want %d", c, n)
	}
	if b, _ := a.db.Balance(context.Background(), owner.org); b != 0 {
		t.Errorf("balance %d, want 0", b)
	}
}

func TestAPIRateLimit(t *testing.T) {
	a := newAppConfig(t, handlers.Config{BaseURL: mustURL(testBaseURL), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), APIRate: 2})
	owner := a.signup("owner@example.com", "Acme")
	other := a.signup("other@example.com", "Other")
	api, theirs := a.newMessagesAPI(owner.org, "Website"), a.newMessagesAPI(other.org, "Shop")

	res := api.call(http.MethodGet, "/api/v1/messages", "")
	wantStatus(t, res, http.StatusOK)
	if res.header.Get("RateLimit-Limit") != "2" || res.header.Get("RateLimit-Remaining") != "1" || res.header.Get("RateLimit-Reset") != "1" {
		t.Errorf("headers of the first request: %v", res.header)
	}
	// However slow the machine, ten requests in a row outrun 2 a second.
	var limited *response
	for range 10 {
		if res := api.call(http.MethodGet, "/api/v1/messages", ""); res.status == http.StatusTooManyRequests {
			limited = res
			break
		}
	}
	if limited == nil {
		t.Fatal("ten requests in a row at 2 a second were all served")
	}
	p := wantProblemNaming(t, limited, http.StatusTooManyRequests)
	if !strings.Contains(p.Detail, "This API key made more than 2 requests in a second.") {
		t.Errorf("detail %q", p.Detail)
	}
	if ra := limited.header.Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After %q, want 1", ra)
	}
	if limited.header.Get("RateLimit-Limit") != "2" || limited.header.Get("RateLimit-Remaining") != "0" || limited.header.Get("RateLimit-Reset") == "" {
		t.Errorf("headers of a refused request: %v", limited.header)
	}
	// Another key is not slowed by this one's flood.
	res = theirs.call(http.MethodGet, "/api/v1/messages", "")
	wantStatus(t, res, http.StatusOK)
	if res.header.Get("RateLimit-Remaining") != "1" {
		t.Errorf("another key's bucket: %v", res.header)
	}
	// After Retry-After, the key is served again.
	time.Sleep(time.Second)
	wantStatus(t, api.call(http.MethodGet, "/api/v1/messages", ""), http.StatusOK)
}

func TestAPIListMessages(t *testing.T) {
	a, owner, api, theirs := apiWorld(t)
	second := a.newMessagesAPI(owner.org, "Billing")
	// Five API messages by two keys, one page send, and another
	// organisation's message.
	for i, to := range []string{"+37255500001", "+37255500002", "+37255500003", "+37255500004"} {
		k := api
		if i == 3 {
			k = second
		}
		wantStatus(t, k.send(`{"to": "`+to+`", "from": "Switchboard", "text": "Message `+itoa(int64(i))+`"}`), http.StatusAccepted)
	}
	wantStatus(t, owner.post(path(owner.org, "messages/new"), url.Values{"from": {"Switchboard"}, "to": {"+37255500005"}, "message": {"From the page"}, "action": {"send"}}), http.StatusSeeOther)
	wantStatus(t, theirs.send(`{"to": "+37255500001", "from": "Switchboard", "text": "Theirs"}`), http.StatusAccepted)
	if _, err := a.raw().ExecContext(context.Background(), `UPDATE messages SET status = 'failed', error = 'Unreachable' WHERE recipient = '+37255500002'`); err != nil {
		t.Fatal(err)
	}

	list := func(query string) messagePage {
		t.Helper()
		res := api.call(http.MethodGet, "/api/v1/messages"+query, "")
		wantStatus(t, res, http.StatusOK)
		noCookie(t, res)
		var p messagePage
		readAnswer(t, res, &p)
		return p
	}
	tos := func(p messagePage) string {
		var s []string
		for _, m := range p.Data {
			s = append(s, m.To)
		}
		return strings.Join(s, " ")
	}

	all := list("")
	if got := tos(all); got != "+37255500005 +37255500004 +37255500003 +37255500002 +37255500001" || all.NextCursor != nil {
		t.Fatalf("list %s, next %v", got, all.NextCursor)
	}
	keyOf := map[string]*string{}
	for _, m := range all.Data {
		keyOf[m.To] = m.APIKey
	}
	if keyOf["+37255500005"] != nil || keyOf["+37255500001"] == nil || *keyOf["+37255500001"] != api.key[:switchboard.APIKeyShown] ||
		keyOf["+37255500004"] == nil || *keyOf["+37255500004"] != second.key[:switchboard.APIKeyShown] {
		t.Errorf("the keys named: %v", keyOf)
	}
	if m := all.Data[3]; m.Status != "failed" || m.Error == nil || *m.Error != "Unreachable" {
		t.Errorf("failed message %+v", m)
	}

	// Pages by cursor.
	p1 := list("?limit=2")
	if tos(p1) != "+37255500005 +37255500004" || p1.NextCursor == nil {
		t.Fatalf("page 1: %s %v", tos(p1), p1.NextCursor)
	}
	p2 := list("?limit=2&cursor=" + *p1.NextCursor)
	if tos(p2) != "+37255500003 +37255500002" || p2.NextCursor == nil {
		t.Fatalf("page 2: %s %v", tos(p2), p2.NextCursor)
	}
	p3 := list("?limit=2&cursor=" + *p2.NextCursor)
	if tos(p3) != "+37255500001" || p3.NextCursor != nil {
		t.Fatalf("page 3: %s %v", tos(p3), p3.NextCursor)
	}

	// Filters.
	today := time.Now().UTC().Format(time.DateOnly)
	for query, want := range map[string]string{
		"?status=failed":                      "+37255500002",
		"?status=queued&to=55500003":          "+37255500003",
		"?to=%2B37255500001":                  "+37255500001",
		"?from=Switchboard&status=failed":     "+37255500002",
		"?from=Acme":                          "",
		"?since=" + today + "&until=" + today: "+37255500005 +37255500004 +37255500003 +37255500002 +37255500001",
		"?until=2020-01-01":                   "",
		"?since=" + url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339)): "",
	} {
		if got := tos(list(query)); got != want {
			t.Errorf("%s: %q, want %q", query, got, want)
		}
	}

	// One message; the list's.
	res := api.call(http.MethodGet, "/api/v1/messages/"+itoa(all.Data[1].ID), "")
	wantStatus(t, res, http.StatusOK)
	var one sentMessage
	readAnswer(t, res, &one)
	if !reflect.DeepEqual(one, all.Data[1]) {
		t.Errorf("one message %+v, the list's %+v", one, all.Data[1])
	}

	// Bad parameters: 422 naming each.
	for query, fieldText := range map[string][2]string{
		"?limit=0":                           {"limit", "from 1 to 100"},
		"?limit=101":                         {"limit", "from 1 to 100"},
		"?limit=ten":                         {"limit", "from 1 to 100"},
		"?cursor=abc":                        {"cursor", "next_cursor"},
		"?status=lost":                       {"status", "queued, sent, delivered or failed"},
		"?to=12ab":                           {"to", "12ab is not a phone number."},
		"?since=yesterday":                   {"since", "Give since as a date"},
		"?until=2026-13-01":                  {"until", "Give until as a date"},
		"?since=2026-02-01&until=2026-01-01": {"until", "until is not after since"},
		"?stauts=failed":                     {"stauts", "There is no parameter stauts here"},
		"?status=failed&status=queued":       {"status", "Give status once."},
	} {
		t.Run(query, func(t *testing.T) {
			wantProblemNaming(t, api.call(http.MethodGet, "/api/v1/messages"+query, ""), http.StatusUnprocessableEntity, fieldText[0], fieldText[1])
		})
	}
}
