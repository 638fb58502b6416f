package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"switchboard"
)

// TLSMode says how the connection to the SMTP server is protected.
type TLSMode int

// The TLS modes an SMTP URL can ask for.
const (
	// STARTTLSOpportunistic upgrades the connection with STARTTLS when the
	// server offers it and talks in plain text when it does not (smtp://).
	STARTTLSOpportunistic TLSMode = iota
	// STARTTLSRequired refuses to send unless the server upgrades the
	// connection with STARTTLS (smtp://…?starttls=required).
	STARTTLSRequired
	// ImplicitTLS speaks TLS from the first byte (smtps://).
	ImplicitTLS
)

// String describes the mode in words, for the log written at startup.
func (m TLSMode) String() string {
	switch m {
	case STARTTLSOpportunistic:
		return "STARTTLS when offered"
	case STARTTLSRequired:
		return "STARTTLS required"
	case ImplicitTLS:
		return "implicit TLS"
	}
	return "TLSMode(" + strconv.Itoa(int(m)) + ")"
}

// Default ports, used when the URL names none.
const (
	// DefaultSMTPPort is the submission port, for smtp:// URLs.
	DefaultSMTPPort = 587
	// DefaultSMTPSPort is the submission port with implicit TLS, for
	// smtps:// URLs.
	DefaultSMTPSPort = 465
)

// SMTPConfig is where and how to reach the SMTP server, as read from an
// SMTP URL by ParseSMTPURL.
type SMTPConfig struct {
	Host string
	Port int
	// Username and Password are decoded from the URL. No SMTP AUTH happens
	// when Username is empty.
	Username string
	Password string
	TLS      TLSMode
}

// String returns the configuration as a URL without the password, so that it
// can be logged.
func (c *SMTPConfig) String() string {
	u := url.URL{Scheme: "smtp", Host: c.Host + ":" + strconv.Itoa(c.Port)}
	switch c.TLS {
	case ImplicitTLS:
		u.Scheme = "smtps"
	case STARTTLSRequired:
		u.RawQuery = "starttls=required"
	}
	if c.Username != "" {
		u.User = url.User(c.Username)
	}
	return u.String()
}

// ParseSMTPURL reads an SMTP URL:
//
//	smtp://[user:password@]host[:port]                      STARTTLS when offered, port 587
//	smtp://[user:password@]host[:port]?starttls=required    STARTTLS or nothing is sent
//	smtps://[user:password@]host[:port]                     implicit TLS, port 465
//
// The user name and password are percent-decoded. Each error is one sentence
// saying what is wrong, fit to be shown after the name of the flag; none
// repeats the password.
func ParseSMTPURL(rawURL string) (*SMTPConfig, error) {
	rawURL = strings.TrimSpace(rawURL)
	if rawURL == "" {
		return nil, errors.New("The SMTP URL is empty; use one like smtp://user:password@mail.example.com:587.")
	}
	scheme, rest, found := strings.Cut(rawURL, "://")
	if !found || strings.ContainsFunc(scheme, notSchemeChar) {
		return nil, errors.New("The SMTP URL must start with smtp:// or smtps://, as in smtp://user:password@mail.example.com:587.")
	}
	cfg := &SMTPConfig{}
	switch strings.ToLower(scheme) {
	case "smtp":
		cfg.TLS, cfg.Port = STARTTLSOpportunistic, DefaultSMTPPort
	case "smtps":
		cfg.TLS, cfg.Port = ImplicitTLS, DefaultSMTPSPort
	default:
		return nil, fmt.Errorf("The scheme %q is not supported; the SMTP URL must start with smtp:// or smtps://.", scheme)
	}

	if i := strings.IndexAny(rest, "/?#"); i >= 0 && strings.Contains(rest[i:], "@") {
		// A / ? or # in the password ends the host part early, and net/url
		// would then complain about the port.
		return nil, errUserinfo
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// net/url's messages quote the whole URL, password included.
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		switch msg := err.Error(); {
		case strings.Contains(msg, "invalid port"):
			return nil, errors.New("The port must be a number from 1 to 65535.")
		case strings.Contains(msg, "userinfo"):
			return nil, errUserinfo
		case strings.Contains(msg, "escape"):
			return nil, errors.New("The SMTP URL holds a % that does not start a valid percent-encoded character.")
		}
		return nil, errors.New("The SMTP URL is not a valid URL; use one like smtp://user:password@mail.example.com:587.")
	}

	host := u.Hostname()
	switch {
	case host == "":
		return nil, errors.New("The SMTP URL names no host; use one like smtp://mail.example.com:587.")
	case strings.Contains(host, ":"):
		return nil, errors.New("IPv6 addresses are not supported in the SMTP URL; use a host name instead.")
	case u.Path != "" && u.Path != "/":
		return nil, errors.New("The SMTP URL must not have a path; put only the host and port after the //.")
	case u.Fragment != "":
		return nil, errors.New("The SMTP URL must not have a # fragment; percent-encode a # in the password as %23.")
	}
	cfg.Host = host

	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("The port must be a number from 1 to 65535, not %q.", p)
		}
		cfg.Port = n
	} else if strings.HasSuffix(u.Host, ":") {
		return nil, errors.New("The port after the colon is missing; write one, such as :587, or drop the colon.")
	}

	if u.User != nil {
		cfg.Username = u.User.Username()
		cfg.Password, _ = u.User.Password()
		if cfg.Username == "" {
			return nil, errors.New("The SMTP URL has a password but no user name.")
		}
	}

	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, errors.New("The options after the ? in the SMTP URL cannot be read; the only one is starttls=required.")
	}
	for name, values := range query {
		if name != "starttls" {
			// A misspelt option must not quietly weaken TLS.
			return nil, fmt.Errorf("The option %q is unknown; the only option of an SMTP URL is starttls=required.", name)
		}
		if len(values) != 1 {
			return nil, errors.New("The option starttls is given more than once.")
		}
		if cfg.TLS == ImplicitTLS {
			return nil, errors.New("The option starttls does not apply to smtps://, which uses TLS from the start.")
		}
		switch strings.ToLower(values[0]) {
		case "required":
			cfg.TLS = STARTTLSRequired
		case "opportunistic":
			cfg.TLS = STARTTLSOpportunistic
		default:
			return nil, fmt.Errorf("The value %q of starttls is unknown; use starttls=required, or leave it out to use STARTTLS when the server offers it.", values[0])
		}
	}
	return cfg, nil
}

var errUserinfo = errors.New("The user name or password holds characters that must be percent-encoded, such as / as %2F, ? as %3F and # as %23.")

// notSchemeChar reports whether r cannot appear in a URL scheme, in which
// case the text before :// is not echoed in an error: it may be a password.
func notSchemeChar(r rune) bool {
	return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '+' || r == '-' || r == '.')
}

// ValidateFrom checks that from is a plain address such as
// switchboard@example.com, fit to be the sender of every email. Its error is
// one sentence, fit to be shown after the name of the flag.
func ValidateFrom(from string) error {
	if from == "" {
		return errors.New("The sender address is empty; give one like switchboard@example.com.")
	}
	if _, err := plainAddress(from); err != nil {
		return fmt.Errorf("%q is not a plain email address; give one like switchboard@example.com, without a name or angle brackets.", from)
	}
	return nil
}

// plainAddress returns addr if it is a bare address (no display name, no
// angle brackets, no comment, nothing that could break a header), and an
// error otherwise.
func plainAddress(addr string) (string, error) {
	a, err := mail.ParseAddress(addr)
	if err != nil {
		return "", fmt.Errorf("mail: address %q: %w", addr, err)
	}
	at := strings.LastIndexByte(addr, '@')
	if a.Name != "" || a.Address != addr || at < 1 || at == len(addr)-1 || strings.ContainsFunc(addr, unsafeInLine) {
		return "", fmt.Errorf("mail: %q is not a plain address", addr)
	}
	return addr, nil
}

// Timeouts of one delivery. An SMTP server that accepts the connection and
// then says nothing must not hold an email (nor a worker's slot, nor a
// shutdown) for long: real servers answer each command within seconds.
const (
	// DefaultSMTPTimeout bounds one whole delivery (connecting, TLS,
	// authentication, sending) when SMTPSender.Timeout is zero.
	DefaultSMTPTimeout = 15 * time.Second
	// DefaultSMTPCommandTimeout bounds connecting and each exchange with the
	// server (the greeting and handshake, then the sending) when
	// SMTPSender.CommandTimeout is zero.
	DefaultSMTPCommandTimeout = 10 * time.Second
)

// SenderName is the display name of the From header of every email.
const SenderName = "Switchboard"

// maxAnswer is the longest server answer kept in a RefusedError.
const maxAnswer = 300

// RefusedError is a delivery that the receiving server refused for good,
// with a 5xx answer to the recipient or to the message: sending it again
// would get the same answer, so the Worker gives the email up at once.
type RefusedError struct {
	// Answer is the server's reply on one line, as in "550 5.1.1 No such
	// user here", cut to a few hundred characters.
	Answer string
	// Err is the whole error, for the log.
	Err error
}

// Error returns the whole error.
func (e *RefusedError) Error() string { return e.Err.Error() }

// Unwrap returns the whole error.
func (e *RefusedError) Unwrap() error { return e.Err }

// SMTPSender delivers emails to an SMTP server with go-mail. It opens one
// connection per email, so it may be used by several goroutines at once.
type SMTPSender struct {
	// Timeout bounds one delivery: connecting, TLS, authentication and
	// sending. Zero means DefaultSMTPTimeout.
	Timeout time.Duration
	// CommandTimeout bounds connecting and each exchange with the server.
	// Zero means DefaultSMTPCommandTimeout.
	CommandTimeout time.Duration

	config SMTPConfig
	from   string
}

// NewSMTPSender returns a sender to the server of rawURL (see ParseSMTPURL)
// whose emails come from the plain address from. Its errors are those of
// ParseSMTPURL and ValidateFrom; call those first to tell which setting is
// wrong.
func NewSMTPSender(rawURL, from string) (*SMTPSender, error) {
	cfg, err := ParseSMTPURL(rawURL)
	if err != nil {
		return nil, err
	}
	if err := ValidateFrom(from); err != nil {
		return nil, err
	}
	return &SMTPSender{config: *cfg, from: from}, nil
}

// Config returns where and how the sender connects.
func (s *SMTPSender) Config() SMTPConfig {
	return s.config
}

// Send delivers e as a multipart/alternative message (text, then HTML) with
// its own connection, within Timeout. The subject is reduced to one line and
// the recipient must be a plain address, so nothing in e can add a header.
// The Message-ID is e.MessageID at the domain of the sender address, the
// same on every attempt.
//
// The connection is closed as soon as ctx ends, whatever the server is doing,
// so that a stuck server cannot hold up a shutdown. A 5xx answer to the
// recipient or to the message is a *RefusedError; every other failure
// (4xx answers, connection errors, timeouts) is worth retrying.
func (s *SMTPSender) Send(ctx context.Context, e *switchboard.Email) error {
	to, err := plainAddress(e.To)
	if err != nil {
		return fmt.Errorf("mail: send email %d: the recipient is not a plain address", e.ID)
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultSMTPTimeout
	}
	commandTimeout := s.CommandTimeout
	if commandTimeout <= 0 {
		commandTimeout = DefaultSMTPCommandTimeout
	}

	m := gomail.NewMsg()
	if err := m.FromFormat(SenderName, s.from); err != nil {
		return fmt.Errorf("mail: send email %d: sender: %w", e.ID, err)
	}
	if err := m.To(to); err != nil {
		return fmt.Errorf("mail: send email %d: recipient: %w", e.ID, err)
	}
	if e.MessageID != "" {
		m.SetMessageIDWithValue(oneLine(e.MessageID) + "@" + s.from[strings.LastIndexByte(s.from, '@')+1:])
	}
	m.Subject(oneLine(e.Subject))
	m.SetBodyString(gomail.TypeTextPlain, e.Text)
	if e.HTML != "" {
		m.AddAlternativeString(gomail.TypeTextHTML, e.HTML)
	}

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client, err := s.client(ctx, commandTimeout)
	if err != nil {
		return fmt.Errorf("mail: send email %d: %w", e.ID, err)
	}
	err = client.DialAndSendWithContext(ctx, m)
	if err != nil && m.IsDelivered() {
		// The server took the message; only the goodbye (QUIT) failed.
		// Sending it again would deliver it twice.
		return nil
	}
	if err != nil {
		err = fmt.Errorf("mail: send email %d to %s via %s:%d: %w", e.ID, to, s.config.Host, s.config.Port, err)
		if answer, ok := refusal(err); ok {
			return &RefusedError{Answer: answer, Err: err}
		}
		return err
	}
	return nil
}

// refusal reports whether err holds a permanent refusal of the recipient or
// of the message, and returns the server's answer. A 5xx to MAIL FROM or to
// AUTH is not one: it says that the panel's own settings (sender address,
// password) are wrong, which the operator can fix while the email waits.
func refusal(err error) (string, bool) {
	var se *gomail.SendError
	if !errors.As(err, &se) || se.IsTemp() || se.ErrorCode() < 500 || se.ErrorCode() > 599 {
		return "", false
	}
	switch se.Reason {
	case gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrSMTPDataClose, gomail.ErrWriteContent:
	default:
		return "", false
	}
	// go-mail keeps the server's reply only inside its message, as
	// "<stage>: <code> <reply>, affected recipient(s): …", where the reply
	// is quoted since Go 1.26 (net/textproto's Error).
	code := strconv.Itoa(se.ErrorCode())
	reply := strings.TrimPrefix(se.Error(), se.Reason.String()+": ")
	reply = strings.TrimPrefix(reply, code+" ")
	if quoted, err := strconv.QuotedPrefix(reply); err == nil {
		reply, _ = strconv.Unquote(quoted)
	} else {
		reply, _, _ = strings.Cut(reply, ", affected ")
	}
	answer := oneLine(code + " " + reply)
	if r := []rune(answer); len(r) > maxAnswer {
		answer = string(r[:maxAnswer-1]) + "…"
	}
	return answer, true
}

// client builds a go-mail client for one delivery. A client per email keeps
// concurrent sends from sharing a connection. Its connection is closed when
// ctx ends: go-mail applies a context only to dialing, and a server that
// stops answering would otherwise hold the connection until the command
// deadline, however many times that is renewed.
func (s *SMTPSender) client(ctx context.Context, commandTimeout time.Duration) (*gomail.Client, error) {
	opts := []gomail.Option{gomail.WithPort(s.config.Port), gomail.WithTimeout(commandTimeout),
		gomail.WithDialContextFunc(s.dialer(ctx))}
	switch s.config.TLS {
	case ImplicitTLS:
		opts = append(opts, gomail.WithSSL())
	case STARTTLSRequired:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if s.config.Username != "" {
		// PLAIN, or LOGIN for servers that offer only that (Microsoft's);
		// go-mail refuses both over an unencrypted connection to anything
		// but localhost, so a password never crosses the network in clear.
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(s.config.Username),
			gomail.WithPassword(s.config.Password))
	}
	return gomail.NewClient(s.config.Host, opts...)
}

// dialer returns a dial function for go-mail whose connections are closed
// when ctx ends. It returns the connection itself (a *tls.Conn for
// smtps://), not a wrapper, so that go-mail still sees that it is encrypted
// before it sends a password.
func (s *SMTPSender) dialer(ctx context.Context) gomail.DialContextFunc {
	return func(dialCtx context.Context, network, address string) (net.Conn, error) {
		var conn net.Conn
		var err error
		if s.config.TLS == ImplicitTLS {
			d := tls.Dialer{Config: &tls.Config{ServerName: s.config.Host, MinVersion: tls.VersionTLS12}}
			conn, err = d.DialContext(dialCtx, network, address)
		} else {
			var d net.Dialer
			conn, err = d.DialContext(dialCtx, network, address)
		}
		if err != nil {
			return nil, err
		}
		// Closing unblocks whatever read or write go-mail is waiting on.
		// The callback stays registered after Send returns, until ctx (one
		// delivery's) is cancelled, which Send's defer does at once.
		context.AfterFunc(ctx, func() { conn.Close() })
		return conn, nil
	}
}
