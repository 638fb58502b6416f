// Package mailtest runs an SMTP server for tests that records every email it
// receives, so that a test can read the link an email carries and follow it.
package mailtest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one email as the server received it.
type Message struct {
	// From is the envelope sender (MAIL FROM).
	From string
	// To holds the envelope recipients (RCPT TO), which include any Bcc.
	To []string
	// AuthUser is the user name the client authenticated with, if any.
	AuthUser string
	// Header is the parsed header of the message.
	Header mail.Header
	// Subject is the decoded Subject header.
	Subject string
	// Text and HTML are the decoded text/plain and text/html bodies, with
	// their CRLF line breaks turned into LF.
	Text string
	HTML string
	// Raw is the message exactly as the client sent it.
	Raw []byte
}

// Server is an SMTP server on 127.0.0.1 without TLS that accepts every
// email, and any user name and password unless RequireAuth says otherwise.
type Server struct {
	t    testing.TB
	addr string

	mu       sync.Mutex
	smtp     *smtp.Server
	listener net.Listener
	served   chan struct{} // closed when the current Serve returns
	messages []Message
	taken    map[taken]bool // what WaitForMessage already returned
	arrived  chan struct{}  // closed and replaced whenever a message arrives
	user     string
	password string
	// answers maps a recipient to the answer its RCPT TO gets instead of
	// 250; hang holds the recipients whose RCPT TO is never answered, until
	// release is closed by Stop.
	answers map[string]*smtp.SMTPError
	hang    map[string]bool
	release chan struct{}
}

// NewServer starts a server on a free port of 127.0.0.1. It is stopped when
// the test ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, arrived: make(chan struct{}), taken: map[taken]bool{},
		answers: map[string]*smtp.SMTPError{}, hang: map[string]bool{}}
	s.listen("127.0.0.1:0")
	t.Cleanup(s.Stop)
	return s
}

// URL returns the server's address as an SMTP URL, smtp://127.0.0.1:PORT.
func (s *Server) URL() string {
	return "smtp://" + s.addr
}

// Addr returns the server's host:port.
func (s *Server) Addr() string {
	return s.addr
}

// RequireAuth makes the server refuse to take an email unless the client
// authenticated with this user name and password (AUTH PLAIN).
func (s *Server) RequireAuth(user, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user, s.password = user, password
}

// Refuse makes the server answer RCPT TO:<to> with code and message instead
// of accepting it, as in Refuse("nobody@example.com", 550, "5.1.1 No such
// user here") for a permanent refusal or 451 for a temporary one. The
// address is compared without regard to case.
func (s *Server) Refuse(to string, code int, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers[strings.ToLower(to)] = &smtp.SMTPError{Code: code, EnhancedCode: smtp.NoEnhancedCode, Message: message}
}

// Hang makes the server never answer RCPT TO:<to>, as a stuck receiving
// server would; the conversation is released only when the server stops
// (Stop, or the end of the test), even if the client gave up before. Other
// conversations are served meanwhile.
func (s *Server) Hang(to string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hang[strings.ToLower(to)] = true
}

// Stop closes the listener and every connection, freeing the port, so that
// a test can see what happens while the mail server is down. Stopping a
// stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	srv, l, served, release := s.smtp, s.listener, s.served, s.release
	s.smtp, s.listener = nil, nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	close(release)
	// Serve may not have registered the listener with srv yet, so close it
	// here too.
	srv.Close()
	l.Close()
	<-served
}

// Start listens again on the port the server had, after Stop. Starting a
// running server does nothing.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	running := s.smtp != nil
	s.mu.Unlock()
	if !running {
		s.listen(s.addr)
	}
}

// listen serves on addr and records the address it got.
func (s *Server) listen(addr string) {
	s.t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		s.t.Fatalf("mailtest: listen on %s: %v", addr, err)
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{server: s}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 50
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)

	served := make(chan struct{})
	s.mu.Lock()
	s.addr, s.smtp, s.listener, s.served, s.release = l.Addr().String(), srv, l, served, make(chan struct{})
	s.mu.Unlock()
	go func() {
		defer close(served)
		_ = srv.Serve(l)
	}()
}

// Messages returns every message received so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// taken is a message WaitForMessage returned for one recipient.
type taken struct {
	index int
	to    string
}

// WaitForMessage returns the oldest message for the recipient to that no
// earlier WaitForMessage for that recipient returned, waiting up to timeout
// for it to arrive; the test fails if none does. So a test that expects two
// emails for the same person calls it twice. Addresses are compared without
// regard to case.
func (s *Server) WaitForMessage(t testing.TB, to string, timeout time.Duration) Message {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	to = strings.ToLower(to)
	for {
		s.mu.Lock()
		for i, m := range s.messages {
			if k := (taken{i, to}); !s.taken[k] && hasRecipient(m, to) {
				s.taken[k] = true
				s.mu.Unlock()
				return m
			}
		}
		arrived, count := s.arrived, len(s.messages)
		s.mu.Unlock()
		select {
		case <-arrived:
		case <-deadline.C:
			t.Fatalf("mailtest: no new email to %s within %s (%d received in all)", to, timeout, count)
			return Message{}
		}
	}
}

func hasRecipient(m Message, to string) bool {
	for _, r := range m.To {
		if strings.EqualFold(r, to) {
			return true
		}
	}
	return false
}

// record stores a received message and wakes the waiters.
func (s *Server) record(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, m)
	close(s.arrived)
	s.arrived = make(chan struct{})
}

// session is one SMTP conversation.
type session struct {
	server *Server
	user   string
	authed bool
	from   string
	to     []string
}

// AuthMechanisms offers AUTH PLAIN.
func (c *session) AuthMechanisms() []string {
	return []string{sasl.Plain}
}

// Auth checks the credentials against RequireAuth's, or accepts any.
func (c *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		c.server.mu.Lock()
		want, wantPassword := c.server.user, c.server.password
		c.server.mu.Unlock()
		if want != "" && (username != want || password != wantPassword) {
			return smtp.ErrAuthFailed
		}
		c.user, c.authed = username, true
		return nil
	}), nil
}

// Mail starts an email, once authenticated if RequireAuth was called.
func (c *session) Mail(from string, _ *smtp.MailOptions) error {
	c.server.mu.Lock()
	required := c.server.user != ""
	c.server.mu.Unlock()
	if required && !c.authed {
		return smtp.ErrAuthRequired
	}
	c.from, c.to = from, nil
	return nil
}

// Rcpt adds a recipient, or answers as Refuse or Hang asked.
func (c *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	c.server.mu.Lock()
	answer, hang, release := c.server.answers[strings.ToLower(to)], c.server.hang[strings.ToLower(to)], c.server.release
	c.server.mu.Unlock()
	if hang {
		<-release
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.NoEnhancedCode, Message: "mailtest: shutting down"}
	}
	if answer != nil {
		return answer
	}
	c.to = append(c.to, to)
	return nil
}

// Data reads, parses and records the message.
func (c *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := Parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "mailtest: " + err.Error()}
	}
	m.From, m.To, m.AuthUser = c.from, c.to, c.user
	c.server.record(m)
	return nil
}

// Reset forgets the email in progress.
func (c *session) Reset() {
	c.from, c.to = "", nil
}

// Logout ends the conversation.
func (c *session) Logout() error {
	return nil
}

// Parse reads a raw message: its header, its decoded subject, and its
// text/plain and text/html parts, decoded from quoted-printable or base64,
// wherever they are in a tree of multipart parts. The envelope fields are
// left empty.
func Parse(raw []byte) (Message, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, fmt.Errorf("read message: %w", err)
	}
	m := Message{Header: msg.Header, Raw: raw}
	dec := mime.WordDecoder{}
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return Message{}, fmt.Errorf("decode subject: %w", err)
	}
	err = m.readPart(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	return m, err
}

// readPart stores the body of a text part, or walks a multipart one.
func (m *Message) readPart(contentType, encoding string, body io.Reader) error {
	if contentType == "" {
		contentType = "text/plain"
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("content type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			// NextPart decodes quoted-printable itself and then drops the
			// Content-Transfer-Encoding header.
			p, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return nil
			} else if err != nil {
				return fmt.Errorf("multipart: %w", err)
			}
			if err := m.readPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		// The decoder skips the line breaks itself.
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("%s body: %w", mediaType, err)
	}
	switch mediaType {
	case "text/plain":
		m.Text += strings.ReplaceAll(string(b), "\r\n", "\n")
	case "text/html":
		m.HTML += strings.ReplaceAll(string(b), "\r\n", "\n")
	}
	return nil
}

// FirstLink returns the first URL in body that starts with prefix, or "".
// The URL ends at white space, a quote or an angle bracket, and HTML
// entities in it (&amp;) are decoded, so it can be read from either body.
func FirstLink(body, prefix string) string {
	if prefix == "" {
		return ""
	}
	i := strings.Index(body, prefix)
	if i < 0 {
		return ""
	}
	link := body[i:]
	if end := strings.IndexAny(link, " \t\r\n\"'<>"); end >= 0 {
		link = link[:end]
	}
	link = strings.TrimRight(link, ".,;:!?)")
	return html.UnescapeString(link)
}

// SilentServer accepts connections on 127.0.0.1 and never says a word, as
// a stuck SMTP server does: a client waits for the greeting until it gives
// up. It counts the connections, so a test can check that the client closed
// its own.
type SilentServer struct {
	listener net.Listener
	mu       sync.Mutex
	accepted int
	open     int
	changed  chan struct{} // closed and replaced when a count changes
}

// NewSilentServer starts a silent server on a free port of 127.0.0.1. It is
// stopped, and its connections closed, when the test ends.
func NewSilentServer(t testing.TB) *SilentServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest: listen: %v", err)
	}
	s := &SilentServer{listener: l, changed: make(chan struct{})}
	var conns sync.WaitGroup
	stop := make(chan struct{})
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			s.count(1, 1)
			conns.Go(func() {
				// Read (and drop) until the client closes the connection or
				// the test ends; never write.
				go func() {
					<-stop
					conn.Close()
				}()
				_, _ = io.Copy(io.Discard, conn)
				conn.Close()
				s.count(0, -1)
			})
		}
	}()
	t.Cleanup(func() {
		l.Close()
		close(stop)
		conns.Wait()
	})
	return s
}

// URL returns the server's address as an SMTP URL, smtp://127.0.0.1:PORT.
func (s *SilentServer) URL() string {
	return "smtp://" + s.listener.Addr().String()
}

// count adds to the number of accepted and of open connections.
func (s *SilentServer) count(accepted, open int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accepted += accepted
	s.open += open
	close(s.changed)
	s.changed = make(chan struct{})
}

// Accepted returns how many connections were accepted so far.
func (s *SilentServer) Accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// Open returns how many connections the clients have not closed yet.
func (s *SilentServer) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open
}

// WaitFor waits up to timeout until ok, called with the numbers of accepted
// and open connections, returns true; the test fails if it never does.
func (s *SilentServer) WaitFor(t testing.TB, timeout time.Duration, ok func(accepted, open int) bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		accepted, open, changed := s.accepted, s.open, s.changed
		s.mu.Unlock()
		if ok(accepted, open) {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("mailtest: silent server: still %d accepted and %d open connections after %s", accepted, open, timeout)
			return
		}
	}
}
