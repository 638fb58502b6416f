package gateway

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"switchboard"
)

// SignatureHeader carries the signature of a webhook call, both ways: the
// messages the panel POSTs to the gateway, and the delivery reports and
// incoming messages the gateway POSTs back.
const SignatureHeader = "X-Switchboard-Signature"

// signaturePrefix names the algorithm in the header's value.
const signaturePrefix = "sha256="

// Sign returns the value of the X-Switchboard-Signature header for body:
// "sha256=" and the hex HMAC-SHA256 of body under secret.
func Sign(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return signaturePrefix + hex.EncodeToString(mac.Sum(nil))
}

// Verify reports whether header is the signature of body under secret. The
// comparison takes the same time however much of the signature is right
// (hmac.Equal), so that it cannot be guessed byte by byte. No secret
// verifies nothing: an instance without one refuses every call.
func Verify(body []byte, header, secret string) bool {
	if secret == "" {
		return false
	}
	hexMAC, ok := strings.CutPrefix(strings.TrimSpace(header), signaturePrefix)
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexMAC)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// WebhookTimeout bounds one call to the webhook, from connecting to the
// end of its answer: a gateway that does not answer in that time is an
// outage, and the message is tried again later.
const WebhookTimeout = 5 * time.Second

// maxAnswer is how much of a webhook's answer is read, for the reason of a
// refusal.
const maxAnswer = 4 << 10

// maxReason is the longest reason kept from a webhook's answer.
const maxReason = 300

// Webhook is the gateway of an SMS provider reached over HTTP (--gateway
// URL): each message is POSTed as JSON {"id", "from", "to", "text",
// "encoding", "parts"} with the header X-Switchboard-Signature:
// sha256=<hex HMAC-SHA256 of the body under the secret>. A 2xx answer
// accepts the message (Sent); a 4xx answer refuses it for good (Failed,
// refunded), except 408 and 429, which ask to come back later; a 5xx
// answer, a timeout, a refused connection or a name that does not resolve
// is an outage, retried with backoff.
type Webhook struct {
	// Timeout bounds each call, from connecting to the end of the answer;
	// zero means WebhookTimeout. Tests shorten it.
	Timeout time.Duration

	url    string
	secret string
	client *http.Client
}

// NewWebhook returns the webhook gateway at rawURL (http:// or https://),
// signing its calls with secret.
func NewWebhook(rawURL, secret string) (*Webhook, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("gateway: %q is not an http:// or https:// address", rawURL)
	}
	if secret == "" {
		return nil, errors.New("gateway: a webhook needs a secret to sign its calls")
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	// The worker sends many messages at once to this one host: keep a
	// connection for each rather than open one per message.
	transport.MaxIdleConnsPerHost = 64
	return &Webhook{url: u.String(), secret: secret, client: &http.Client{
		Transport: transport,
		// A redirect is not followed: a POST carried elsewhere could
		// reach a host that was never meant to receive the messages.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}, nil
}

// String names the gateway for the start-up line, without its query,
// which may hold a key.
func (w *Webhook) String() string {
	u, err := url.Parse(w.url)
	if err != nil {
		return "webhook"
	}
	u.RawQuery, u.User = "", nil
	return u.String()
}

// webhookMessage is the JSON the webhook receives. The id is a JSON
// number: the panel's message id, the same on every attempt.
type webhookMessage struct {
	ID       int64  `json:"id"`
	From     string `json:"from"`
	To       string `json:"to"`
	Text     string `json:"text"`
	Encoding string `json:"encoding"`
	Parts    int    `json:"parts"`
}

// Body returns the JSON body the webhook receives for m, for tests and
// the README.
func Body(m *Message) ([]byte, error) {
	return json.Marshal(webhookMessage{ID: m.ID, From: m.From, To: m.To, Text: m.Text, Encoding: string(m.Encoding), Parts: m.Parts})
}

// Send POSTs m to the webhook and reads its answer.
func (w *Webhook) Send(ctx context.Context, m *Message) (switchboard.MessageStatus, error) {
	body, err := Body(m)
	if err != nil {
		return "", outage("encode message %d: %v", m.ID, err)
	}
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = WebhookTimeout
	}
	call, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(call, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return "", outage("message %d: %v", m.ID, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Switchboard")
	req.Header.Set(SignatureHeader, Sign(body, w.secret))
	res, err := w.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("gateway: message %d: %w", m.ID, ctx.Err())
		}
		return "", outage("message %d: %s", m.ID, describe(err, timeout))
	}
	answer, _ := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	// Drained, so the connection is used again.
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	switch code := res.StatusCode; {
	case code >= 200 && code < 300:
		return switchboard.StatusSent, nil
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests:
		// "Not now", not "never".
		return "", outage("message %d: the gateway answered %s", m.ID, res.Status)
	case code >= 400 && code < 500:
		return "", &RefusedError{Reason: reasonOf(answer, res.Status)}
	default:
		return "", outage("message %d: the gateway answered %s", m.ID, res.Status)
	}
}

// describe says what went wrong with a call that got no answer, in the
// words an operator looks for in the log.
func describe(err error, timeout time.Duration) string {
	// Without the URL, whose query may hold the provider's key: these
	// words reach the log and the queue's last error.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var dns *net.DNSError
	var op *net.OpError
	switch {
	case errors.As(err, &dns):
		return "the gateway's host name does not resolve (" + dns.Error() + ")"
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return fmt.Sprintf("the gateway did not answer within %s", timeout)
	case errors.As(err, &op) && op.Op == "dial":
		return "the gateway refused the connection (" + op.Error() + ")"
	}
	return err.Error()
}

// isTimeout reports whether err is a timeout of the network.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// reasonOf is the reason a webhook gave for refusing a message: the
// "error" or "message" field of a JSON answer, or the text of a plain one,
// cleaned (CleanReason: it is shown in the history); the status line when
// the answer says nothing.
func reasonOf(answer []byte, status string) string {
	var fields struct {
		Error   any    `json:"error"`
		Message string `json:"message"`
	}
	text := ""
	if json.Unmarshal(answer, &fields) == nil {
		if s, ok := fields.Error.(string); ok && s != "" {
			text = s
		} else if fields.Message != "" {
			text = fields.Message
		}
	} else if utf8.Valid(answer) && !bytes.HasPrefix(bytes.TrimSpace(answer), []byte("<")) {
		text = string(answer)
	}
	if text = CleanReason(text); text == "" {
		return "the gateway answered " + status
	}
	return text
}

// CleanReason makes a gateway's words fit to be kept and shown with a
// message (a refusal, a failure report): control and format characters
// (bidi overrides among them) and runs of spaces become one space, invalid
// UTF-8 is dropped, and the text is cut to 300 characters.
func CleanReason(text string) string {
	text = strings.ToValidUTF8(text, "")
	text = strings.Join(strings.FieldsFunc(text, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }), " ")
	if utf8.RuneCountInString(text) > maxReason {
		text = string([]rune(text)[:maxReason]) + "…"
	}
	return text
}
