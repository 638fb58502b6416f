package handlers

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/gateway"
)

// The webhook gateway's callbacks: delivery reports and incoming messages,
// POSTed by the SMS provider, not by a browser. They have no session and no
// CSRF token (see gatewayCallback); what vouches for them is the
// X-Switchboard-Signature header, the HMAC-SHA256 of the body under
// --gateway-secret, checked in constant time before anything is read from
// the body. They answer JSON, never a page.

// Paths of the callbacks, public and stable (PRODUCT.md § Addresses).
const (
	pathGatewayReports = "/gateway/reports"
	pathGatewayInbound = "/gateway/inbound"
)

// maxGatewayBody is the largest callback accepted: a report or an incoming
// SMS is a few hundred bytes.
const maxGatewayBody = 64 << 10

// gatewayCallback reports whether the route of c is one of the gateway's
// callbacks, which the CSRF check lets through: they are signed instead.
// It compares the matched route, not the raw path, so no spelling of
// another path can pass for one of them.
func gatewayCallback(c echo.Context) bool {
	p := c.Path()
	return c.Request().Method == http.MethodPost && (p == pathGatewayReports || p == pathGatewayInbound)
}

// gatewayAnswer writes a JSON answer with status. An error answer is
// {"error": "…"}.
func gatewayAnswer(c echo.Context, status int, v any) error {
	return c.JSON(status, v)
}

type gatewayError struct {
	Error string `json:"error"`
}

// signedBody reads the callback's body and checks its signature. It
// answers the call itself (413, 401) and returns false when the body must
// not be used.
func (s *Server) signedBody(c echo.Context) ([]byte, bool) {
	r := c.Request()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxGatewayBody+1))
	if err != nil {
		gatewayAnswer(c, http.StatusBadRequest, gatewayError{"The body could not be read."})
		return nil, false
	}
	if len(body) > maxGatewayBody {
		gatewayAnswer(c, http.StatusRequestEntityTooLarge, gatewayError{"The body is larger than 64 KB."})
		return nil, false
	}
	if !gateway.Verify(body, r.Header.Get(gateway.SignatureHeader), s.cfg.GatewaySecret) {
		why := "wrong signature"
		switch {
		case s.cfg.GatewaySecret == "":
			why = "no --gateway-secret is set"
		case r.Header.Get(gateway.SignatureHeader) == "":
			why = "no signature"
		}
		s.logger.Warn("gateway callback refused", "path", c.Path(), "ip", c.RealIP(), "reason", why)
		gatewayAnswer(c, http.StatusUnauthorized, gatewayError{"The " + gateway.SignatureHeader + " header is missing or does not match the body; sign it with the gateway secret."})
		return nil, false
	}
	return body, true
}

// decodeGateway reads body as JSON into v, answering 400 when it is not.
func decodeGateway(c echo.Context, body []byte, v any, shape string) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		gatewayAnswer(c, http.StatusBadRequest, gatewayError{"The body is not JSON of the form " + shape + "."})
		return false
	}
	return true
}

// gatewayReport is a delivery report. The id is the one the panel sent
// (a JSON number), or the same digits as a string.
type gatewayReport struct {
	ID     json.RawMessage `json:"id"`
	Status string          `json:"status"`
	Error  string          `json:"error"`
}

const reportShape = `{"id": 42, "status": "delivered" or "failed", "error": "…"}`

// reportID reads the id of a report, a number or a string of digits.
func reportID(raw json.RawMessage) (int64, bool) {
	text := strings.TrimSpace(string(raw))
	if unquoted, err := strconv.Unquote(text); err == nil {
		text = strings.TrimSpace(unquoted)
	}
	id, err := strconv.ParseInt(text, 10, 64)
	return id, err == nil && id > 0
}

// handleGatewayReport records a delivery report: the message becomes
// Delivered, or Failed with the gateway's reason and refunded (once,
// however many reports say so). Statuses only move forward: a report for
// a message delivered or failed already changes nothing, and answers the
// status the message has.
func (s *Server) handleGatewayReport(c echo.Context) error {
	body, ok := s.signedBody(c)
	if !ok {
		return nil
	}
	var rep gatewayReport
	if !decodeGateway(c, body, &rep, reportShape) {
		return nil
	}
	id, ok := reportID(rep.ID)
	if !ok {
		return gatewayAnswer(c, http.StatusBadRequest, gatewayError{"The id must be the message's id, as the panel sent it: " + reportShape + "."})
	}
	var status switchboard.MessageStatus
	reason := ""
	switch strings.ToLower(strings.TrimSpace(rep.Status)) {
	case "delivered":
		status = switchboard.StatusDelivered
	case "failed":
		status = switchboard.StatusFailed
		reason = "The gateway reported that the message could not be delivered."
		if e := gateway.CleanReason(rep.Error); e != "" {
			reason = "The gateway reported that the message could not be delivered: " + e
		}
	default:
		return gatewayAnswer(c, http.StatusBadRequest, gatewayError{`The status must be "delivered" or "failed".`})
	}
	after, err := s.db.ReportDelivery(c.Request().Context(), id, status, reason)
	if switchboard.ErrorCode(err) == switchboard.ENOTFOUND {
		return gatewayAnswer(c, http.StatusNotFound, gatewayError{"There is no message " + strconv.FormatInt(id, 10) + "."})
	} else if err != nil {
		s.logger.Error("gateway report", "id", id, "err", err)
		return gatewayAnswer(c, http.StatusInternalServerError, gatewayError{"The report could not be recorded; send it again later."})
	}
	return gatewayAnswer(c, http.StatusOK, struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}{id, string(after)})
}

// gatewayInbound is an incoming message.
type gatewayInbound struct {
	From string `json:"from"`
	To   string `json:"to"`
	Text string `json:"text"`
}

const inboundShape = `{"from": "+37255566677", "to": "+3725000000", "text": "STOP"}`

// handleGatewayInbound takes an incoming message. STOP (in any case, alone
// but for spaces) opts the sender out of the organisations that wrote to
// it, START opts it back in (see store.InboundStop for which
// organisations); anything else is accepted and ignored. Nothing is ever
// answered to the person.
func (s *Server) handleGatewayInbound(c echo.Context) error {
	body, ok := s.signedBody(c)
	if !ok {
		return nil
	}
	var in gatewayInbound
	if !decodeGateway(c, body, &in, inboundShape) {
		return nil
	}
	command := strings.ToUpper(strings.TrimSpace(in.Text))
	if command != "STOP" && command != "START" {
		return gatewayAnswer(c, http.StatusOK, struct {
			Action string `json:"action"`
		}{"none"})
	}
	from, ok := inboundNumber(in.From)
	if !ok {
		return gatewayAnswer(c, http.StatusBadRequest, gatewayError{"The from field must be the sender's number in E.164, such as +37255566677."})
	}
	ctx := c.Request().Context()
	var n int
	var err error
	action := "opted out"
	if command == "STOP" {
		n, err = s.db.InboundStop(ctx, from, in.To)
	} else {
		action = "opted in"
		n, err = s.db.InboundStart(ctx, from, in.To)
	}
	if err != nil {
		s.logger.Error("gateway inbound", "command", command, "err", err)
		return gatewayAnswer(c, http.StatusInternalServerError, gatewayError{"The message could not be recorded; send it again later."})
	}
	s.logger.LogAttrs(ctx, slog.LevelInfo, "gateway inbound", slog.String("command", command), slog.Int("organisations", n))
	return gatewayAnswer(c, http.StatusOK, struct {
		Action        string `json:"action"`
		Organisations int    `json:"organisations"`
	}{action, n})
}

// inboundNumber returns number as the messages store their recipients,
// +digits (6 to 15 of them, ITU-T E.164), accepting the spaces, dashes, dots and
// brackets people write, and 00 for +; false when it is no such number.
func inboundNumber(number string) (string, bool) {
	var b strings.Builder
	b.WriteByte('+')
	rest := strings.TrimSpace(number)
	switch {
	case strings.HasPrefix(rest, "+"):
		rest = rest[1:]
	case strings.HasPrefix(rest, "00"):
		rest = rest[2:]
	}
	for _, r := range rest {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", false
		}
	}
	digits := b.Len() - 1
	if digits < 6 || digits > 15 || strings.HasPrefix(b.String(), "+0") {
		return "", false
	}
	return b.String(), true
}
