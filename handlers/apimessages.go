package handlers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/sms"
	"switchboard/store"
)

// The messages of the JSON API (PRODUCT.md § API): POST /api/v1/messages
// sends as the Send SMS page does, with the page's planning and words (its
// Message is "text" here); GET /api/v1/messages lists them as History
// does, and GET /api/v1/messages/{id} reads one.

// apiMessage is a message as the API shows it. Money is a decimal string
// with 4 decimals, never a float; times are RFC 3339 in UTC; what is not
// there is null.
type apiMessage struct {
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
	// APIKey is the first characters of the key that sent the message
	// (sb_live_AbCd), null for the pages and campaigns.
	APIKey *string `json:"api_key"`
}

// apiTime is t as the API writes times.
func apiTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// apiTimePtr is apiTime of a time that may be missing.
func apiTimePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := apiTime(*t)
	return &s
}

// toAPIMessage is m as the API shows it; keyPrefix is its key's first
// characters, "" for none.
func (s *Server) toAPIMessage(m *switchboard.Message, keyPrefix string) apiMessage {
	a := apiMessage{ID: m.ID, From: m.From, To: m.To, Text: m.Text, Encoding: string(m.Encoding), Parts: m.Parts,
		Price: switchboard.FormatAmount(m.Price, 4), Currency: string(s.cfg.Currency), Status: string(m.Status),
		CreatedAt: apiTime(m.CreatedAt), SendAt: apiTimePtr(m.SendAt), SentAt: apiTimePtr(m.SentAt), StatusAt: apiTime(m.StatusAt)}
	if m.Error != "" {
		a.Error = &m.Error
	}
	if keyPrefix != "" {
		a.APIKey = &keyPrefix
	}
	return a
}

// apiSendRequest is the body of POST /api/v1/messages. To is one number or
// a list of them, read by apiRecipients.
type apiSendRequest struct {
	To          json.RawMessage `json:"to"`
	From        string          `json:"from"`
	Text        string          `json:"text"`
	SendAt      *string         `json:"send_at"`
	AutoReplace *string         `json:"auto_replace"`
}

// apiLeftOut is a recipient the send left out, and why.
type apiLeftOut struct {
	To     string `json:"to"`
	Reason string `json:"reason"`
}

// apiSendAnswer is the answer of POST /api/v1/messages: one message per
// recipient sent to, and those left out (an empty list when none were).
type apiSendAnswer struct {
	Data    []apiMessage `json:"data"`
	LeftOut []apiLeftOut `json:"left_out"`
}

// The words of a send's answer.
const (
	reasonOptedOut = "This number opted out of your messages, so it is never sent to."
	// maxSendAhead is how far ahead send_at may be.
	maxSendAhead = 365 * 24 * time.Hour
	// sendAtGrace is how far in the past send_at may be: a clock a little
	// behind, or a request a little slow, still sends at once.
	sendAtGrace = time.Minute
	// maxIdempotencyKey is the longest Idempotency-Key.
	maxIdempotencyKey = 255
	// idempotencyHeader is the request header that makes a retry safe,
	// and replayedHeader the answer's mark of a kept answer.
	idempotencyHeader = "Idempotency-Key"
	replayedHeader    = "Idempotent-Replayed"
)

// readIdempotencyKey reads the Idempotency-Key header: nil without one;
// 1 to 255 printable ASCII characters, else EINVALID naming the header.
func readIdempotencyKey(r *http.Request) (string, bool, error) {
	values := r.Header.Values(idempotencyHeader)
	if len(values) == 0 {
		return "", false, nil
	}
	key := values[0]
	ok := len(values) == 1 && key != "" && len(key) <= maxIdempotencyKey
	for i := 0; ok && i < len(key); i++ {
		ok = key[i] >= ' ' && key[i] <= '~'
	}
	if !ok {
		return "", false, &switchboard.Error{Code: switchboard.EINVALID, Message: "Please correct the Idempotency-Key header.",
			Fields: switchboard.FieldErrors{idempotencyHeader: "An Idempotency-Key is 1 to 255 printable ASCII characters, sent once, such as a UUID or the id of your order."}}
	}
	return key, true, nil
}

// readAPIBody reads the whole request body, for the request's hash and
// then decodeJSON.
func readAPIBody(c echo.Context) ([]byte, error) {
	r := c.Request()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, errAPITooLarge
		}
		return nil, echo.NewHTTPError(http.StatusBadRequest, "The body could not be read.")
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, nil
}

// requestHash is the SHA-256 of the request's method, path and body: what
// tells a retry from another request with the same Idempotency-Key.
func requestHash(r *http.Request, body []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(r.Method))
	h.Write([]byte{0})
	h.Write([]byte(r.URL.Path))
	h.Write([]byte{0})
	h.Write(body)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// writeAnswer writes an answer of the store byte for byte; a kept one
// says so.
func writeAnswer(c echo.Context, a store.Answer) error {
	if a.Replayed {
		c.Response().Header().Set(replayedHeader, "true")
	}
	return c.Blob(a.Status, echo.MIMEApplicationJSON, a.Body)
}

// handleAPISend sends a message to one or more numbers: the page's
// checks, then one transaction debits, queues and (with an
// Idempotency-Key) keeps the answer; 202 with the messages.
func (s *Server) handleAPISend(c echo.Context) error {
	r := c.Request()
	ctx := r.Context()
	caller := apiCaller(c)
	key, hasKey, err := readIdempotencyKey(r)
	if err != nil {
		return err
	}
	body, err := readAPIBody(c)
	if err != nil {
		return err
	}
	var req apiSendRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	var idem *store.Idempotency
	if hasKey {
		idem = &store.Idempotency{Key: key, RequestHash: requestHash(r, body)}
		// A retry of a request already answered gets its answer at once,
		// whatever changed since (a sender name withdrawn, the balance).
		kept, err := s.db.KeptAnswer(ctx, caller.Org.ID, *idem)
		if err != nil {
			return err
		}
		if kept != nil {
			return writeAnswer(c, *kept)
		}
	}
	plan, leftOut, err := s.planAPISend(c, caller, &req)
	if err != nil {
		return err
	}
	msgs := make([]switchboard.Message, len(plan.numbers))
	for i, n := range plan.numbers {
		msgs[i] = switchboard.Message{From: plan.from, To: n, Text: plan.text, Encoding: plan.count.Encoding, Parts: plan.count.Parts, Price: plan.prices[i]}
	}
	batch := store.Batch{OrgID: caller.Org.ID, Actor: caller.Actor(c.RealIP()), Messages: msgs, Currency: s.cfg.Currency,
		Description: switchboard.Plural(len(msgs), "message", "messages") + " from " + plan.from + " through " + caller.Key.Label(),
		APIKeyID:    caller.Key.ID, SendAt: plan.sendAt}
	answer, err := s.db.QueueAPIMessages(ctx, batch, idem, func(queued []switchboard.Message) (store.Answer, error) {
		out := apiSendAnswer{Data: make([]apiMessage, len(queued)), LeftOut: leftOut}
		for i := range queued {
			out.Data[i] = s.toAPIMessage(&queued[i], caller.Key.Prefix)
		}
		b, err := json.Marshal(out)
		return store.Answer{Status: http.StatusAccepted, Body: b}, err
	})
	if err != nil {
		return err
	}
	if !answer.Replayed {
		s.notifyDeliveries()
	}
	return writeAnswer(c, answer)
}

// apiSendPlan is a sendPlan with what only the API has.
type apiSendPlan struct {
	*sendPlan
	sendAt *time.Time
}

// planAPISend checks the send and works it out as the page does: who it
// goes to (each number once, without those who opted out, who are left
// out and listed), the text after auto-replace (the request's mode, else
// the API configuration's, else the Auto-replace page's), its parts and
// price. Everything wrong is one 422, each problem beside its member.
func (s *Server) planAPISend(c echo.Context, caller *store.APICaller, req *apiSendRequest) (*apiSendPlan, []apiLeftOut, error) {
	ctx := c.Request().Context()
	orgID := caller.Org.ID
	p := &apiSendPlan{sendPlan: &sendPlan{fields: switchboard.FieldErrors{}}}

	senders, err := s.senders(ctx, orgID)
	if err != nil {
		return nil, nil, err
	}
	p.from = req.From
	if !slices.Contains(senders, p.from) {
		p.fields.Add("from", "Choose a sender from the list: only approved sender names and the default sender can be used ("+strings.Join(senders, ", ")+").")
	}

	ar, err := s.db.APIAutoReplace(ctx, orgID)
	if err != nil {
		return nil, nil, err
	}
	if req.AutoReplace != nil {
		switch mode := switchboard.AutoReplaceMode(*req.AutoReplace); mode {
		case switchboard.AutoReplaceOff, switchboard.AutoReplaceOn, switchboard.AutoReplaceFull:
			ar.Mode = mode
		default:
			p.fields.Add("auto_replace", "Choose off, on or full, or leave auto_replace out for the mode of your API configuration.")
		}
	}
	planText(req.Text, ar, p.sendPlan)
	if msg, ok := p.fields["message"]; ok {
		delete(p.fields, "message")
		p.fields.Add("text", msg)
	}

	if req.SendAt != nil {
		now := s.db.Now()
		t, err := time.Parse(time.RFC3339, *req.SendAt)
		switch {
		case err != nil:
			p.fields.Add("send_at", "Give send_at as a date and time with its offset (RFC 3339), such as 2026-11-25T09:30:00+02:00, or leave it out to send at once.")
		case t.Before(now.Add(-sendAtGrace)):
			p.fields.Add("send_at", "This send_at is in the past. Give a time from now on, or leave send_at out to send at once.")
		case t.After(now.Add(maxSendAhead)):
			p.fields.Add("send_at", "Schedule at most a year ahead.")
		default:
			t = t.UTC()
			p.sendAt = &t
		}
	}

	numbers, toFields := apiRecipients(req.To, caller.Org.Country)
	for field, msg := range toFields {
		p.fields.Add(field, msg)
	}
	var leftOut []apiLeftOut
	if len(numbers) > 0 {
		out, err := s.db.OptedOut(ctx, orgID, numbers)
		if err != nil {
			return nil, nil, err
		}
		leftOut = make([]apiLeftOut, 0, len(out))
		for _, n := range numbers {
			if out[n] {
				leftOut = append(leftOut, apiLeftOut{To: n, Reason: reasonOptedOut})
			}
		}
		if unpriced := s.priceNumbers(numbers, out, p.sendPlan); len(unpriced) > 0 {
			p.fields.Add("to", noPriceMessage(unpriced))
		} else if len(p.numbers) == 0 && len(toFields) == 0 {
			p.fields.Add("to", "Every number on the list opted out of your messages, so there is no one to send to.")
		}
	}
	if leftOut == nil {
		leftOut = []apiLeftOut{}
	}
	if len(p.fields) > 0 {
		return nil, nil, &switchboard.Error{Code: switchboard.EINVALID, Message: "Please correct the fields named below.", Fields: p.fields}
	}
	return p, leftOut, nil
}

// apiRecipients reads the to member: one number, or a list of them, each
// in any usual form (the organisation's country for a number without a
// country code), returned in E.164, each once, in the order given. What
// is wrong is named by JSON pointer: to, or to/2 for the third of a list;
// a list's first few problems are named, and how many more there are.
func apiRecipients(raw json.RawMessage, country string) ([]string, switchboard.FieldErrors) {
	fields := switchboard.FieldErrors{}
	raw = bytes.TrimSpace(raw)
	var entries []string
	single := false
	switch {
	case len(raw) == 0 || string(raw) == "null":
		fields.Add("to", "Enter at least one phone number.")
		return nil, fields
	case raw[0] == '"':
		var one string
		if err := json.Unmarshal(raw, &one); err != nil {
			fields.Add("to", "to must be a phone number or a list of phone numbers.")
			return nil, fields
		}
		entries, single = []string{one}, true
	case raw[0] == '[':
		if err := json.Unmarshal(raw, &entries); err != nil {
			fields.Add("to", "to must be a phone number or a list of phone numbers, each a string.")
			return nil, fields
		}
	default:
		fields.Add("to", "to must be a phone number or a list of phone numbers.")
		return nil, fields
	}
	if len(entries) == 0 {
		fields.Add("to", "Enter at least one phone number.")
		return nil, fields
	}
	if len(entries) > sms.MaxRecipients {
		fields.Add("to", (&sms.TooManyError{Entries: len(entries)}).Error())
		return nil, fields
	}
	numbers := make([]string, 0, len(entries))
	seen := make(map[string]bool, len(entries))
	bad := 0
	for i, e := range entries {
		n, err := sms.ParseNumber(e, country)
		if err != nil {
			bad++
			if bad <= shownProblems {
				field := "to"
				if !single {
					field = "to/" + strconv.Itoa(i)
				}
				fields.Add(field, err.Error())
			}
			continue
		}
		if !seen[n] {
			seen[n] = true
			numbers = append(numbers, n)
		}
	}
	if more := bad - shownProblems; more > 0 {
		fields.Add("to", switchboard.Plural(more, "more entry", "more entries")+" could not be read either.")
	}
	if bad > 0 {
		return nil, fields
	}
	return numbers, fields
}

// apiMessageParams are the query parameters of GET /api/v1/messages.
var apiMessageParams = []string{"cursor", "limit", "status", "to", "from", "since", "until"}

// The page sizes of the API's lists.
const (
	apiDefaultLimit = 50
	apiMaxLimit     = 100
)

// handleAPIMessages lists the organisation's messages, newest first, by
// the History page's filters, a page at a time: next_cursor is the
// cursor of the next page, null on the last.
func (s *Server) handleAPIMessages(c echo.Context) error {
	ctx := c.Request().Context()
	caller := apiCaller(c)
	q := c.QueryParams()
	fields := switchboard.FieldErrors{}
	for name, values := range q {
		if !slices.Contains(apiMessageParams, name) {
			fields.Add(name, "There is no parameter "+name+" here; the parameters are listed in "+apiBase+"/openapi.json.")
		} else if len(values) > 1 {
			fields.Add(name, "Give "+name+" once.")
		}
	}
	limit := apiDefaultLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > apiMaxLimit {
			fields.Add("limit", fmt.Sprintf("limit is a whole number from 1 to %d.", apiMaxLimit))
		}
		limit = n
	}
	var cursor int64
	if v := q.Get("cursor"); v != "" {
		id, err := parseID(v)
		if err != nil {
			fields.Add("cursor", "cursor is the next_cursor of the page before; leave it out for the first page.")
		}
		cursor = id
	}
	var f store.MessageFilter
	if v := q.Get("status"); v != "" {
		f.Status = switchboard.MessageStatus(v)
		if !slices.Contains(switchboard.MessageStatuses, f.Status) {
			fields.Add("status", "status is one of queued, sent, delivered or failed.")
		}
	}
	if v := q.Get("to"); v != "" {
		number, err := sms.ParseNumber(v, caller.Org.Country)
		ok := err == nil
		if !ok {
			number, ok = historyNumber(v)
		}
		if !ok {
			fields.Add("to", strings.TrimSpace(v)+" is not a phone number. Give the number with its country code, such as +37255566677.")
		}
		f.Recipient = number
	}
	if v := q.Get("from"); v != "" {
		if len(v) > 40 {
			fields.Add("from", "A sender has at most 15 characters; check from.")
		}
		f.Sender = v
	}
	since, hasSince := apiBound(q.Get("since"), false)
	if !hasSince && q.Get("since") != "" {
		fields.Add("since", "Give since as a date (2026-11-24) or a date and time with its offset (2026-11-24T09:30:00Z).")
	}
	until, hasUntil := apiBound(q.Get("until"), true)
	if !hasUntil && q.Get("until") != "" {
		fields.Add("until", "Give until as a date (2026-11-24) or a date and time with its offset (2026-11-24T09:30:00Z).")
	}
	if hasSince && hasUntil && !until.After(since) {
		fields.Add("until", "until is not after since: give an until later than since.")
	}
	f.Since, f.Until = since, until
	if len(fields) > 0 {
		return &switchboard.Error{Code: switchboard.EINVALID, Message: "Please correct the parameters named below.", Fields: fields}
	}
	list, next, err := s.db.ListMessages(ctx, caller.Org.ID, f, cursor, limit)
	if err != nil {
		return err
	}
	prefixes, err := s.keyPrefixes(c, caller, list)
	if err != nil {
		return err
	}
	page := apiList[apiMessage]{Data: make([]apiMessage, len(list))}
	for i := range list {
		page.Data[i] = s.toAPIMessage(&list[i], prefixes[list[i].APIKeyID])
	}
	if next != 0 {
		cur := strconv.FormatInt(next, 10)
		page.NextCursor = &cur
	}
	return apiJSON(c, http.StatusOK, page)
}

// apiBound reads since or until: an RFC 3339 time, or a date, which is
// the start of that day in UTC for since and the end of it for until (the
// day is included, as the History page's To date).
func apiBound(v string, until bool) (time.Time, bool) {
	if v == "" {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, true
	}
	d, err := time.Parse(time.DateOnly, v)
	if err != nil || d.Year() < 2000 || d.Year() > 9999 {
		return time.Time{}, false
	}
	if until {
		d = d.AddDate(0, 0, 1)
	}
	return d, true
}

// keyPrefixes returns the first characters of the keys that sent the
// messages, by key id (see apiKeysOf).
func (s *Server) keyPrefixes(c echo.Context, caller *store.APICaller, list []switchboard.Message) (map[int64]string, error) {
	prefixes := map[int64]string{caller.Key.ID: caller.Key.Prefix}
	keys, err := s.apiKeysOf(c.Request().Context(), caller.Org.ID, list, caller.Key.ID)
	for id, k := range keys {
		prefixes[id] = k.Prefix
	}
	return prefixes, err
}

// apiKeysOf returns the organisation's keys by id, revoked ones too, read
// once for a page of messages, and only when one of them was sent with a
// key other than known (0 for none): most pages were sent from the panel.
func (s *Server) apiKeysOf(ctx context.Context, orgID int64, list []switchboard.Message, known int64) (map[int64]switchboard.APIKey, error) {
	if !slices.ContainsFunc(list, func(m switchboard.Message) bool { return m.APIKeyID != 0 && m.APIKeyID != known }) {
		return nil, nil
	}
	all, err := s.db.ListAPIKeys(ctx, orgID)
	if err != nil {
		return nil, err
	}
	keys := make(map[int64]switchboard.APIKey, len(all))
	for _, k := range all {
		keys[k.ID] = k
	}
	return keys, nil
}

var errNoMessage = switchboard.Errorf(switchboard.ENOTFOUND, "This message does not exist, or you do not have access to it.")

// handleAPIMessage reads one message of the organisation. Another
// organisation's message, and an id that is not one, are 404 alike.
func (s *Server) handleAPIMessage(c echo.Context) error {
	ctx := c.Request().Context()
	caller := apiCaller(c)
	id, err := parseID(c.Param("id"))
	if err != nil {
		return errNoMessage
	}
	m, err := s.db.FindMessage(ctx, caller.Org.ID, id)
	if err != nil {
		return err
	}
	prefixes, err := s.keyPrefixes(c, caller, []switchboard.Message{*m})
	if err != nil {
		return err
	}
	return apiJSON(c, http.StatusOK, s.toAPIMessage(m, prefixes[m.APIKeyID]))
}
