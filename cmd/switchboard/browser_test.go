package main

// Helpers for the end-to-end tests: the real panel on a free port with a
// temporary database and a test SMTP server, and headless Chromium driven as
// a person with a screen reader would: fields found by their label, buttons
// and links by their text, assertions on what the page shows.

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"switchboard/mail/mailtest"
)

// stepTimeout bounds each browser step: generous, because the machine may be
// busy compiling, while a whole story still takes a few seconds.
const stepTimeout = 30 * time.Second

// syncBuffer collects output written from several goroutines (the panel's
// logger, Chromium's output), shown only when the test fails.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// panel is a running Switchboard with its own database and SMTP server.
type panel struct {
	*Main
	// BaseURL is where the panel listens, and the --base-url its emails
	// link to.
	BaseURL string
	SMTP    *mailtest.Server
}

// startPanel runs the real program as main does, on a free port of
// 127.0.0.1, with the extra flags given. It is closed when the test ends;
// its log is printed only if the test failed.
func startPanel(t *testing.T, extra ...string) *panel {
	t.Helper()
	dir := t.TempDir() // first, so that it is removed after everything else stopped
	smtp := mailtest.NewServer(t)

	// --base-url must be known before the server listens, so pick the port
	// first. Another process could take it in between; that is unlikely
	// enough on a test machine.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	baseURL := "http://" + addr

	logs := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("panel log:\n%s", logs.String())
		}
	})

	m := NewMain()
	m.Stdout = logs
	if err := m.ParseFlags(append([]string{
		"--addr", addr,
		"--db", filepath.Join(dir, "sb.db"),
		"--smtp-url", smtp.URL(),
		"--mail-from", "panel@example.com",
		"--base-url", baseURL,
	}, extra...), func(string) string { return "" }); err != nil {
		t.Fatalf("ParseFlags: %v", err)
	}
	if err := m.Run(t.Context()); err != nil {
		m.Close()
		t.Fatalf("Run: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if got := m.URL(); got != baseURL {
		t.Fatalf("the panel listens on %s, want %s (its --base-url)", got, baseURL)
	}
	return &panel{Main: m, BaseURL: baseURL, SMTP: smtp}
}

// noChromium says what to do when there is no browser; TestMain prints it
// too, so that the skip shows without -v.
const noChromium = "no Chromium found; install Debian's chromium or set SWITCHBOARD_CHROMIUM; set SWITCHBOARD_BROWSER=required to make this a failure"

// chromiumPath returns the browser to drive, or "" when there is none (or
// SWITCHBOARD_CHROMIUM=none), or an error when SWITCHBOARD_CHROMIUM names a
// file that is not there.
func chromiumPath() (string, error) {
	switch p := os.Getenv("SWITCHBOARD_CHROMIUM"); p {
	case "none":
		return "", nil
	case "":
	default:
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("SWITCHBOARD_CHROMIUM=%s: %v", p, err)
		}
		return p, nil
	}
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p, nil
	}
	return "", nil
}

// findChromium returns the browser to drive, or skips the test (fails it
// when SWITCHBOARD_BROWSER=required) if there is none.
func findChromium(t *testing.T) string {
	t.Helper()
	p, err := chromiumPath()
	if err != nil {
		t.Fatal(err)
	}
	if p != "" {
		return p
	}
	if os.Getenv("SWITCHBOARD_BROWSER") == "required" {
		t.Fatal("no Chromium found, and SWITCHBOARD_BROWSER=required: install Debian's chromium or set SWITCHBOARD_CHROMIUM to the browser's path")
	}
	t.Skip(noChromium)
	return ""
}

// browser is one headless Chromium process; each person gets a browser
// context of their own in it (their own cookies, as in separate browsers).
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
}

// newBrowser starts Chromium for the panel at baseURL. It stops when the
// test ends.
func newBrowser(t *testing.T, baseURL string) *browser {
	t.Helper()
	path := findChromium(t)
	dataDir := filepath.Join(t.TempDir(), "chromium")
	output := &syncBuffer{}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		// Without a system bus, Chromium complains about D-Bus at length;
		// that is noise here.
		var lines []string
		for _, l := range strings.Split(output.String(), "\n") {
			if l != "" && !strings.Contains(l, "dbus") {
				lines = append(lines, l)
			}
		}
		if len(lines) > 0 {
			t.Logf("chromium output:\n%s", strings.Join(lines, "\n"))
		}
	})
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(dataDir),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter"),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.CombinedOutput(output),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first run starts the browser and binds it to ctx, which must have
	// no timeout; bound the start from the outside instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start Chromium (%s): %v", path, err)
		}
	case <-time.After(stepTimeout):
		t.Fatalf("start Chromium (%s): not ready after %s", path, stepTimeout)
	}
	return &browser{t: t, ctx: ctx, base: baseURL}
}

// person opens a tab in a new browser context: someone at their own
// computer, with their own cookies.
func (b *browser) person(name string) *person {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	p := &person{t: b.t, name: name, ctx: ctx, base: b.base}
	if err := chromedp.Do(ctx); err != nil { // opens the tab
		b.t.Fatalf("%s: open a tab: %v", name, err)
	}
	return p
}

// person drives one tab. Every method fails the test with what the page
// showed when a step does not work out.
type person struct {
	t     *testing.T
	name  string
	ctx   context.Context
	base  string
	scope string // an XPath the queries are limited to, "" for the page
}

// within returns the same person looking only inside the element that
// xpath selects (a table row, a menu, the navigation).
func (p *person) within(xpath string) *person {
	q := *p
	q.scope = p.scope + xpath
	return &q
}

// run runs actions with the step timeout.
func (p *person) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.fatalf("%s: %v", what, err)
	}
}

// navigate runs a step that loads a page, and returns the page's HTTP
// status (after redirects).
func (p *person) navigate(what string, actions ...chromedp.Action[chromedp.Void]) int {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, actions...)
	if err != nil {
		p.fatalf("%s: %v", what, err)
	}
	if resp == nil {
		return 0
	}
	return int(resp.Status)
}

// fatalf fails the test, saying who was where and what the page showed.
func (p *person) fatalf(format string, args ...any) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	p.t.Fatalf("%s: %s\n  at %s\n  the page shows:\n%s", p.name, fmt.Sprintf(format, args...), loc, indent(text))
}

func indent(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = "    | " + l
	}
	return strings.Join(lines, "\n")
}

// visit opens a path of the panel (or a full URL) and returns the status.
func (p *person) visit(pathOrURL string) int {
	p.t.Helper()
	u := pathOrURL
	if strings.HasPrefix(u, "/") {
		u = p.base + u
	}
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(u))
	if err != nil {
		p.fatalf("open %s: %v", u, err)
	}
	return int(resp.Status)
}

// visitQuietly opens a path of the panel if the tab is elsewhere, for
// cleanups, where failing is no longer possible; it reports whether the tab
// shows the path.
func (p *person) visitQuietly(path string) bool {
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err == nil && loc == p.base+path {
		return true
	}
	return chromedp.Do(ctx, chromedp.Navigate(p.base+path)) == nil
}

// xq quotes s as an XPath string literal.
func xq(s string) string {
	if !strings.Contains(s, "'") {
		return "'" + s + "'"
	}
	if !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	parts := strings.Split(s, "'")
	for i, part := range parts {
		parts[i] = "'" + part + "'"
	}
	return "concat(" + strings.Join(parts, `, "'", `) + ")"
}

// field is the XPath of the input, select or textarea labelled label.
func (p *person) field(label string) string {
	return fmt.Sprintf("%s//*[self::input or self::select or self::textarea][@id=(%s//label[normalize-space()=%s]/@for)]", p.scope, p.scope, xq(label))
}

// button is the XPath of the button whose text is text.
func (p *person) button(text string) string {
	return fmt.Sprintf("%s//button[normalize-space()=%s]", p.scope, xq(text))
}

// link is the XPath of the link whose text, or the text of one of whose
// parts (a switcher entry is the name and the role), is text.
func (p *person) link(text string) string {
	return fmt.Sprintf("%s//a[normalize-space()=%s or *[normalize-space()=%s]]", p.scope, xq(text), xq(text))
}

// fill types value into the field labelled label, replacing what was there.
func (p *person) fill(label, value string) {
	p.t.Helper()
	sel := chromedp.Search(p.field(label))
	p.run(fmt.Sprintf("fill %q", label),
		chromedp.Clear(sel, chromedp.NodeVisible, chromedp.RetryInterval(20*time.Millisecond)),
		chromedp.SendKeys(sel, value, chromedp.RetryInterval(20*time.Millisecond)),
	)
	if got := p.value(label); got != value {
		p.fatalf("field %q holds %q after typing %q", label, got, value)
	}
}

// value returns what the field labelled label holds.
func (p *person) value(label string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Value(chromedp.Search(p.field(label)), chromedp.RetryInterval(20*time.Millisecond)))
	if err != nil {
		p.fatalf("read field %q: %v", label, err)
	}
	return v
}

// choose picks the option whose text is option in the select labelled
// label.
func (p *person) choose(label, option string) {
	p.t.Helper()
	sel := p.field(label)
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.Search(sel+"/option[normalize-space()="+xq(option)+"]"), "value", chromedp.RetryInterval(20*time.Millisecond)))
	if err != nil {
		p.fatalf("find option %q of %q: %v", option, label, err)
	}
	if !v.Exists {
		p.fatalf("option %q of %q has no value", option, label)
	}
	p.run(fmt.Sprintf("choose %q in %q", option, label), chromedp.SetValue(chromedp.Search(sel), v.Value, chromedp.NodeVisible))
	if got := p.selected(label); got != option {
		p.fatalf("%q shows %q after choosing %q", label, got, option)
	}
}

// selected returns the text of the option chosen in the select labelled
// label.
func (p *person) selected(label string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(
		`(function(){ const s = document.evaluate(%q, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue; return s && s.selectedOptions.length ? s.selectedOptions[0].textContent.trim() : ""; })()`,
		p.field(label))))
	if err != nil {
		p.fatalf("read the choice of %q: %v", label, err)
	}
	return s
}

// click presses the button whose text is text, waits for the page it leads
// to, and returns that page's status.
func (p *person) click(text string) int {
	p.t.Helper()
	return p.navigate(fmt.Sprintf("click the button %q", text),
		chromedp.Click(chromedp.Search(p.button(text)), chromedp.RetryInterval(20*time.Millisecond)))
}

// clickLink follows the link whose text is text and returns the status of
// the page it leads to.
func (p *person) clickLink(text string) int {
	p.t.Helper()
	return p.navigate(fmt.Sprintf("click the link %q", text),
		chromedp.Click(chromedp.Search(p.link(text)), chromedp.RetryInterval(20*time.Millisecond)))
}

// open clicks the summary of the <details> menu that xpath selects, waits
// until it is open, and returns the person looking inside it.
func (p *person) open(xpath string) *person {
	p.t.Helper()
	menu := p.scope + xpath
	p.run("open the menu "+xpath,
		chromedp.Click(chromedp.Search(menu+"/summary"), chromedp.RetryInterval(20*time.Millisecond)),
		chromedp.WaitReady(chromedp.Search(menu+"[@open]"), chromedp.RetryInterval(20*time.Millisecond)),
	)
	return p.within(xpath)
}

// switcher opens the organisation switcher in the header.
func (p *person) switcher() *person {
	p.t.Helper()
	return p.open("//header//details[summary[contains(normalize-space(), 'Organisation')]]")
}

// profileMenu opens the profile menu in the header.
func (p *person) profileMenu() *person {
	p.t.Helper()
	return p.open("//header//details[contains(concat(' ', normalize-space(@class), ' '), ' profile-menu ')]")
}

// text returns what the page (or the scope) shows, as a person reads it.
func (p *person) text() string {
	p.t.Helper()
	return p.eval(`(function(){ const n = %s; return n ? n.innerText : ""; })()`, p.node())
}

// node is the JavaScript expression of the scope's element, or the body.
func (p *person) node() string {
	if p.scope == "" {
		return "document.body"
	}
	return fmt.Sprintf("document.evaluate(%q, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue", p.scope)
}

// eval evaluates a JavaScript expression that returns a string.
func (p *person) eval(format string, args ...any) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(format, args...)))
	if err != nil {
		p.fatalf("read the page: %v", err)
	}
	return s
}

// waitText waits until the page (or the scope) shows text.
func (p *person) waitText(text string) {
	p.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		if strings.Contains(p.text(), text) {
			return
		}
		if time.Now().After(deadline) {
			p.fatalf("%q does not appear within %s", text, stepTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// notSee fails the test if the page (or the scope) shows text.
func (p *person) notSee(text string) {
	p.t.Helper()
	if strings.Contains(p.text(), text) {
		p.fatalf("%q is shown, and should not be", text)
	}
}

// heading returns the page's <h1>.
func (p *person) heading() string {
	p.t.Helper()
	return p.eval(`(function(){ const h = document.querySelector("h1"); return h ? h.innerText.trim() : ""; })()`)
}

// wantHeading fails the test unless the page's <h1> is want.
func (p *person) wantHeading(want string) {
	p.t.Helper()
	if got := p.heading(); got != want {
		p.fatalf("the heading is %q, want %q", got, want)
	}
}

// texts returns the visible text of each element the CSS selector matches.
func (p *person) texts(css string) []string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	list, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](fmt.Sprintf(
		`Array.from(document.querySelectorAll(%q)).map(e => e.innerText.trim())`, css)))
	if err != nil {
		p.fatalf("read %s: %v", css, err)
	}
	return list
}

// navLinks returns the links of the organisation's navigation.
func (p *person) navLinks() []string {
	p.t.Helper()
	return p.texts(`nav[aria-label="Organisation"] a`)
}

// location returns the tab's current URL.
func (p *person) location() *url.URL {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		p.fatalf("read the location: %v", err)
	}
	u, err := url.Parse(s)
	if err != nil {
		p.fatalf("parse the location %q: %v", s, err)
	}
	return u
}

// path returns the path (and query) of the tab's current URL.
func (p *person) path() string {
	p.t.Helper()
	return p.location().RequestURI()
}

// wantPath fails the test unless the tab shows path.
func (p *person) wantPath(want string) {
	p.t.Helper()
	if got := p.path(); got != want {
		p.fatalf("the address is %s, want %s", got, want)
	}
}

// wantStatus fails the test unless got is want.
func (p *person) wantStatus(what string, got, want int) {
	p.t.Helper()
	if got != want {
		p.fatalf("%s answered %d, want %d", what, got, want)
	}
}

// orgID reads the organisation id from the tab's address /orgs/{id}[/…].
func (p *person) orgID() string {
	p.t.Helper()
	path := p.location().Path
	rest, ok := strings.CutPrefix(path, "/orgs/")
	id, _, _ := strings.Cut(rest, "/")
	if _, err := strconv.ParseInt(id, 10, 64); !ok || err != nil {
		p.fatalf("the address %s is not inside an organisation", path)
	}
	return id
}

// screenshot saves a full-page PNG of the tab to file.
func (p *person) screenshot(file string) error {
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	return os.WriteFile(file, png, 0o644)
}
