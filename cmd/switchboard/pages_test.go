package main

// The walk over every page: each page a person can reach, at a phone's
// width and a desktop's, in the light and the dark colour scheme, checked
// for sideways scrolling, accessibility (axe-core), CSP violations and
// console errors, with a screenshot of each.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"switchboard"
	"switchboard/mail/mailtest"
)

// axePath is axe-core as npm installs it (`npm ci --prefix
// cmd/switchboard/testdata`, as .ci/run does).
const axePath = "testdata/node_modules/axe-core/axe.min.js"

// viewport is one screen the walk looks at every page on.
type viewport struct {
	width  int64
	height int64
	mobile bool
	// axe and screenshots: the narrowest phone is only checked for width,
	// which is what it is there for.
	axe bool
}

var viewports = []viewport{
	{width: 360, height: 740, mobile: true},
	{width: 390, height: 844, mobile: true, axe: true},
	{width: 1280, height: 900, axe: true},
}

var themes = []string{"light", "dark"}

// walkPage is one page of the walk.
type walkPage struct {
	// name is short and fit for a file name: the screenshots are
	// name-width-theme.png.
	name   string
	who    *person
	path   string // a path of the panel, or a full URL (an email's link)
	status int
	// open, if set, is the CSS selector of <details> menus to open after
	// the page loads: their dropdowns must stay on the screen too.
	open string
}

// consoleLog collects what one tab reported since the last page load: CSP
// violations, console errors, uncaught exceptions.
type consoleLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *consoleLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
}

// take returns what was collected and starts afresh.
func (l *consoleLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := l.lines
	l.lines = nil
	return lines
}

// watchConsole listens to p's tab. Listen (not Events) sees each event
// before the command that follows it returns, so what a page load reported
// is there once the load is.
func watchConsole(p *person) *consoleLog {
	p.t.Helper()
	l := &consoleLog{}
	err := chromedp.Listen(p.ctx, func(ev any) {
		switch ev := ev.(type) {
		case *log.EventEntryAdded:
			if e := ev.Entry; e != nil && e.Level == log.EntryLevelError {
				l.add(fmt.Sprintf("%s error: %s (%s)", e.Source, e.Text, e.URL))
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var parts []string
				for _, a := range ev.Args {
					if a.Value != nil {
						parts = append(parts, string(a.Value))
					} else {
						parts = append(parts, a.Description)
					}
				}
				l.add("console." + string(ev.Type) + ": " + strings.Join(parts, " "))
			}
		case *runtime.EventExceptionThrown:
			if d := ev.ExceptionDetails; d != nil {
				text := d.Text
				if d.Exception != nil {
					text += " " + d.Exception.Description
				}
				l.add("uncaught exception: " + text)
			}
		}
	})
	if err != nil {
		p.t.Fatalf("%s: listen to the console: %v", p.name, err)
	}
	return l
}

// TestBrowserEveryPage opens every page of the panel at 360, 390 and
// 1280 px, light and dark, with data that stresses the layout (a 60-character
// email, a 100-character organisation name with long unbroken words), and
// fails on a page wider than the screen, an element beyond its edge, an
// axe-core violation, a CSP violation or a console error. Screenshots go to
// $SWITCHBOARD_SCREENSHOTS (or a temporary directory), one per page, width
// and theme.
func TestBrowserEveryPage(t *testing.T) {
	sb := startPanel(t)
	b := newBrowser(t, sb.BaseURL)

	axe, err := os.ReadFile(axePath)
	if err != nil {
		msg := fmt.Sprintf("axe-core is not installed (%v): run `npm ci --prefix cmd/switchboard/testdata` to check accessibility too", err)
		if os.Getenv("SWITCHBOARD_BROWSER") == "required" {
			t.Fatal(msg)
		}
		t.Log(msg + "; skipping the accessibility checks")
	}
	shots := os.Getenv("SWITCHBOARD_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	// The people and their data. Long values on purpose: they are what
	// breaks a layout.
	const (
		ownerEmail = "augusta.ada.king-noel.countess.of.lovelace@analytical-en.org" // 60 characters
		samEmail   = "sam@example.com"
		patEmail   = "pat.pending-invitation.with.a.long.address@example.com"
		roleName   = "Campaign managers for the northern regional offices"
	)
	const orgName = "Aktiengesellschaftfürinternationalenachrichtenübermittlung " +
		"Kommunikationsdienste und Kurznachrichten" // 100 characters, the most a name may have
	if len(ownerEmail) != 60 || len([]rune(orgName)) != 100 {
		t.Fatalf("the stress values are %d and %d characters long", len(ownerEmail), len([]rune(orgName)))
	}

	owner := b.person("Ada (owner)")
	org := signUp(owner, ownerEmail, "the owner's long password", "Augusta Ada", "King-Noel, Countess of Lovelace", orgName)
	members := "/orgs/" + org + "/members"

	// Sam joins as a Sender, from the invitation email.
	invite := func(email, role string) string {
		t.Helper()
		owner.wantStatus("the members page", owner.visit(members), 200)
		owner.fill("Email", email)
		owner.choose("Role", role)
		owner.wantStatus("Send invitation", owner.click("Send invitation"), 200)
		msg := sb.SMTP.WaitForMessage(t, email, stepTimeout)
		link := mailtest.FirstLink(msg.Text, sb.BaseURL+"/invitations/")
		if link == "" {
			t.Fatalf("the invitation email to %s has no link:\n%s", email, msg.Text)
		}
		return link
	}
	sam := b.person("Sam (sender)")
	sam.wantStatus("Sam's invitation", sam.visit(invite(samEmail, "Sender")), 200)
	sam.fill("First name", "Sam")
	sam.fill("Last name", "Sender")
	sam.fill("Password", "sam's own password")
	sam.wantStatus("Create profile and accept invitation", sam.click("Create profile and accept invitation"), 200)

	// Pat has a profile of their own and an invitation still pending: the
	// invitation page in its three cases (nobody, Pat, someone else logged
	// in) and a pending row on the members page.
	pat := b.person("Pat (invited)")
	signUp(pat, patEmail, "pat's own password", "Pat", "Pending", "Pat's Pantry")
	patLink := invite(patEmail, "Administrator")

	// A custom role, which also leaves more lines in the audit log.
	owner.wantStatus("the roles page", owner.visit("/orgs/"+org+"/roles"), 200)
	owner.fill("Role name", roleName)
	owner.run("tick a section", chromedp.Click(chromedp.Search(owner.field(switchboard.Sections[4].Name))))
	owner.wantStatus("Create role", owner.click("Create role"), 200)
	owner.waitText(roleName)

	// A password reset link, for the reset form.
	visitor := b.person("Vic (logged out)")
	visitor.wantStatus("the forgot page", visitor.visit("/password/forgot"), 200)
	visitor.fill("Email", samEmail)
	visitor.wantStatus("Send reset link", visitor.click("Send reset link"), 200)
	resetLink := mailtest.FirstLink(sb.SMTP.WaitForMessage(t, samEmail, stepTimeout).Text, sb.BaseURL+"/password/reset/")
	if resetLink == "" {
		t.Fatal("the reset email has no link")
	}

	// The addresses of a member's page and of the confirmations, read
	// off the pages that link to them.
	owner.wantStatus("the members page", owner.visit(members), 200)
	href := func(p *person, css string) string {
		t.Helper()
		h := p.eval(`(document.querySelector(%q) || {getAttribute: () => ""}).getAttribute("href") || ""`, css)
		if h == "" {
			p.fatalf("no link %s", css)
		}
		return h
	}
	samPage := owner.eval(`([...document.querySelectorAll('a[href*="/members/"]')].find(a => a.textContent == "Sam Sender") || {getAttribute: () => ""}).getAttribute("href")`)
	if samPage == "" {
		owner.fatalf("no link to Sam's page on the members page")
	}
	cancelPat := href(owner, `a[href$="/cancel"]`)
	owner.wantStatus("the roles page", owner.visit("/orgs/"+org+"/roles"), 200)
	deleteRole := href(owner, `a[href$="/delete"]`)

	// An API key and a delivery-report URL, so that the API keys page has
	// a row and the API page its secret and report description.
	owner.wantStatus("the API keys page", owner.visit("/orgs/"+org+"/api-keys"), 200)
	owner.fill("Name", "Warehouse management system of the northern offices")
	owner.wantStatus("Create API key", owner.click("Create API key"), 200)
	owner.wantStatus("the API page", owner.visit("/orgs/"+org+"/api"), 200)
	owner.fill("Delivery-report URL", "https://reports.analytical-engines.example/switchboard/delivery-reports?customer=augusta")
	owner.wantStatus("Save API configuration", owner.click("Save API configuration"), 200)
	owner.wantStatus("the API keys page", owner.visit("/orgs/"+org+"/api-keys"), 200)
	revokeKey := href(owner, `a[href$="/revoke"]`)

	// Every page a person can reach. Add new pages here.
	dashboard := "/orgs/" + org
	pages := []walkPage{
		{name: "signup", who: visitor, path: "/signup", status: 200},
		{name: "login", who: visitor, path: "/login", status: 200},
		{name: "forgot", who: visitor, path: "/password/forgot", status: 200},
		{name: "reset", who: visitor, path: resetLink, status: 200},
		{name: "invitation-new", who: visitor, path: patLink, status: 200},
		{name: "invitation-accept", who: pat, path: patLink, status: 200},
		{name: "invitation-mismatch", who: owner, path: patLink, status: 200},
		{name: "not-found-logged-out", who: visitor, path: "/no-such-page", status: 404},

		{name: "orgs", who: owner, path: "/orgs", status: 200},
		{name: "orgs-new", who: owner, path: "/orgs/new", status: 200},
		{name: "dashboard", who: owner, path: dashboard, status: 200},
		{name: "switcher-open", who: owner, path: dashboard, status: 200, open: "header details.switcher"},
		{name: "profile-menu-open", who: owner, path: dashboard, status: 200, open: "header details.profile-menu"},
		{name: "members", who: owner, path: members, status: 200},
		{name: "members-search", who: owner, path: members + "?q=sam", status: 200},
		{name: "members-search-none", who: owner, path: members + "?q=nobody-by-that-name", status: 200},
		{name: "roles", who: owner, path: dashboard + "/roles", status: 200},
		{name: "audit", who: owner, path: dashboard + "/audit", status: 200},
		{name: "settings", who: owner, path: dashboard + "/settings", status: 200},
		{name: "account", who: owner, path: "/account", status: 200},
		{name: "not-found", who: owner, path: "/orgs/999999", status: 404},
		{name: "member", who: owner, path: samPage, status: 200},
		{name: "confirm-revoke", who: owner, path: samPage + "/revoke", status: 200},
		{name: "confirm-cancel-invitation", who: owner, path: cancelPat, status: 200},
		{name: "confirm-delete-role", who: owner, path: deleteRole, status: 200},
		{name: "confirm-leave", who: sam, path: dashboard + "/leave", status: 200},

		{name: "dashboard-sender", who: sam, path: dashboard, status: 200},
		{name: "forbidden", who: sam, path: members, status: 403},
		{name: "api-keys", who: owner, path: dashboard + "/api-keys", status: 200},
		{name: "confirm-revoke-key", who: owner, path: revokeKey, status: 200},
		{name: "api", who: owner, path: dashboard + "/api", status: 200},
		{name: "confirm-new-secret", who: owner, path: dashboard + "/api/secret", status: 200},
	}

	logs := map[*person]*consoleLog{}
	for _, p := range []*person{owner, sam, pat, visitor} {
		logs[p] = watchConsole(p)
	}
	for _, vp := range viewports {
		for p := range logs {
			setViewport(p, vp)
		}
		for _, pg := range pages {
			checkPage(t, pg, vp, logs[pg.who], axe, shots)
		}
	}
	t.Logf("screenshots in %s", shots)
}

// strings evaluates a JavaScript expression that returns a list of strings.
func (p *person) strings(expr string) []string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	list, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](expr))
	if err != nil {
		p.fatalf("read the page: %v", err)
	}
	return list
}

// setViewport makes p's tab a screen of vp's size.
func setViewport(p *person, vp viewport) {
	p.t.Helper()
	opts := []chromedp.EmulateViewportOption{}
	if vp.mobile {
		opts = append(opts, chromedp.EmulateMobile)
	}
	p.run(fmt.Sprintf("set the viewport to %d px", vp.width), chromedp.EmulateViewport(vp.width, vp.height, opts...))
}

// setTheme makes p's tab prefer the colour scheme theme.
func setTheme(p *person, theme string) {
	p.t.Helper()
	p.run("prefer the "+theme+" colour scheme", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: theme}},
		})
		return err
	}))
}

// checkPage loads pg at vp and checks it in both themes.
func checkPage(t *testing.T, pg walkPage, vp viewport, console *consoleLog, axe []byte, shots string) {
	t.Helper()
	p := pg.who
	where := fmt.Sprintf("%s (%s) at %d px", pg.name, pg.path, vp.width)
	console.take()
	p.wantStatus(where, p.visit(pg.path), pg.status)
	for _, line := range console.take() {
		// The browser reports an error page's status as a failed load;
		// that status is checked above.
		if pg.status >= 400 && strings.HasPrefix(line, "network error: Failed to load resource") {
			continue
		}
		t.Errorf("%s: the page reported: %s", where, line)
	}
	if pg.open != "" {
		if n := p.eval(`String(Array.from(document.querySelectorAll(%q)).map(d => d.open = true).length)`, pg.open); n == "0" {
			t.Errorf("%s: no menu %s to open", where, pg.open)
		}
	}
	for _, theme := range themes {
		setTheme(p, theme)
		where := where + " " + theme
		if problem := overflow(p, vp.width); problem != "" {
			t.Errorf("%s: %s", where, problem)
		}
		if vp.mobile && theme == "light" {
			for _, cell := range p.strings(unlabelledJS) {
				t.Errorf("%s: a stacked table shows %s without its column heading: give the cell data-label", where, cell)
			}
		}
		if theme == "dark" {
			for _, light := range p.strings(darkJS) {
				t.Errorf("%s: %s", where, light)
			}
		}
		if vp.axe && axe != nil {
			for _, v := range axeViolations(p, axe) {
				t.Errorf("%s: axe-core: %s", where, v)
			}
		}
		if vp.axe {
			file := filepath.Join(shots, fmt.Sprintf("%s-%d-%s.png", pg.name, vp.width, theme))
			if err := p.screenshot(file); err != nil {
				t.Errorf("%s: %v", where, err)
			}
		}
		for _, line := range console.take() {
			t.Errorf("%s: the page reported: %s", where, line)
		}
	}
	setTheme(p, "light")
}

// unlabelledJS lists the data cells that have no data-label, which on a
// phone (the table stacked into cards, the header hidden) show a value with
// nothing to say what it is. Cells spanning the row ("nothing here") and
// cells of buttons and forms (actions) need none.
const unlabelledJS = `Array.from(document.querySelectorAll("table.table tbody td:not([data-label]):not([colspan])"))
	.filter(td => !td.querySelector("form, button, .button") && td.innerText.trim() !== "")
	.slice(0, 5).map(td => '"' + td.innerText.trim().slice(0, 40) + '"')`

// darkJS lists the surfaces that stay light when the dark scheme is
// preferred: the page, the header, cards, tables and form controls (a
// coloured button is meant to stand out).
const darkJS = `(function() {
	const channel = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
	const luminance = c => { const m = c.match(/[\d.]+/g).map(Number); return 0.2126 * channel(m[0]) + 0.7152 * channel(m[1]) + 0.0722 * channel(m[2]); };
	const background = el => {
		for (let e = el; e; e = e.parentElement) {
			const c = getComputedStyle(e).backgroundColor, m = c.match(/[\d.]+/g);
			if (m && (m.length < 4 || Number(m[3]) > 0)) return c;
		}
		return "rgb(255, 255, 255)";
	};
	const out = [];
	for (const el of document.querySelectorAll("body, header, .card, .table, input:not([type=hidden]):not([type=checkbox]), select, textarea, button:not(.primary):not(.danger):not(.link)")) {
		const c = background(el);
		if (luminance(c) > 0.25) out.push("in the dark scheme, " + el.tagName.toLowerCase() + (el.className ? "." + String(el.className).trim().split(/\s+/).join(".") : "") + " is light (" + c + ")");
	}
	return out.slice(0, 5);
})()`

// overflowJS measures the page against the screen: the document's width,
// and the elements that reach beyond the right edge (or, for an open menu,
// the left one), widest first.
const overflowJS = `(function(width) {
	const de = document.documentElement;
	const vw = Math.min(de.clientWidth, window.innerWidth, width);
	const describe = el => {
		let s = el.tagName.toLowerCase();
		if (el.id) s += "#" + el.id;
		if (typeof el.className === "string" && el.className.trim()) s += "." + el.className.trim().split(/\s+/).join(".");
		const text = (el.innerText || el.value || "").trim().replace(/\s+/g, " ");
		if (text) s += ' "' + (text.length > 50 ? text.slice(0, 50) + "…" : text) + '"';
		return s;
	};
	const hidden = el => el.closest(".skip, .sr-only");
	// What a person sees of a box: clipped by the ancestors that hide their
	// overflow (an ellipsis), as far as the page is concerned.
	const visible = (from, r) => {
		let left = r.left, right = r.right;
		for (let a = from; a && a !== document.body; a = a.parentElement) {
			const ox = getComputedStyle(a).overflowX;
			if (ox === "hidden" || ox === "clip") {
				const ar = a.getBoundingClientRect();
				left = Math.max(left, ar.left);
				right = Math.min(right, ar.right);
			}
		}
		return {left, right};
	};
	const out = [];
	const check = (el, clipFrom, r, what) => {
		if (r.width === 0 || r.height === 0) return;
		const v = visible(clipFrom, r);
		if (v.right <= v.left) return;
		const beyondLeft = v.left < -0.5 && el.closest("details[open]");
		if (v.right > vw + 0.5 || beyondLeft) out.push({d: what, right: Math.round(v.right), left: Math.round(v.left)});
	};
	for (const el of document.body.querySelectorAll("*")) {
		if (hidden(el)) continue;
		check(el, el.parentElement, el.getBoundingClientRect(), describe(el));
		// A box that scrolls sideways hides part of the page behind a
		// scroll bar: what the issue calls a table that scrolls sideways.
		const ox = getComputedStyle(el).overflowX;
		if ((ox === "auto" || ox === "scroll") && el.scrollWidth > el.clientWidth + 1) {
			out.push({d: "sideways-scrolling " + describe(el) + " (" + el.scrollWidth + " px of content in " + el.clientWidth + ")", right: Math.round(el.getBoundingClientRect().right), left: Math.round(el.getBoundingClientRect().left)});
		}
	}
	// Text that does not wrap spills out of its element, which keeps its
	// width: measure the text itself.
	const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
	const range = document.createRange();
	for (let n = walker.nextNode(); n; n = walker.nextNode()) {
		const el = n.parentElement;
		if (!n.textContent.trim() || !el || hidden(el) || !el.getClientRects().length) continue;
		range.selectNodeContents(n);
		check(el, el, range.getBoundingClientRect(), "text in " + describe(el));
	}
	out.sort((a, b) => b.right - a.right || a.left - b.left);
	return {scroll: de.scrollWidth, vw: vw, offenders: out.slice(0, 6)};
})(%d)`

// overflow returns what makes the page wider than width, or "".
func overflow(p *person, width int64) string {
	p.t.Helper()
	type measure struct {
		Scroll    int `json:"scroll"`
		VW        int `json:"vw"`
		Offenders []struct {
			D     string `json:"d"`
			Right int    `json:"right"`
			Left  int    `json:"left"`
		} `json:"offenders"`
	}
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[measure](fmt.Sprintf(overflowJS, width)))
	if err != nil {
		p.fatalf("measure the page: %v", err)
	}
	if got.Scroll <= got.VW && len(got.Offenders) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "the page is %d px wide on a %d px screen", got.Scroll, got.VW)
	if len(got.Offenders) > 0 {
		b.WriteString("; beyond the edge:")
		for _, o := range got.Offenders {
			fmt.Fprintf(&b, "\n    %s (from %d to %d px)", o.D, o.Left, o.Right)
		}
	}
	return b.String()
}

// axeViolations injects axe-core into p's page (as DevTools does: the
// page's CSP does not apply) and returns each violation, one line each.
func axeViolations(p *person, axe []byte) []string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](string(axe)+"\n;typeof window.axe === 'object'"))
	if err != nil || !loaded {
		p.fatalf("inject axe-core: loaded=%v, %v", loaded, err)
	}
	type violation struct {
		ID      string   `json:"id"`
		Impact  string   `json:"impact"`
		Help    string   `json:"help"`
		Targets []string `json:"targets"`
	}
	list, err := chromedp.Run(ctx, chromedp.Evaluate[[]violation](`axe.run(document, {resultTypes: ["violations"]}).then(r =>
		r.violations.map(v => ({id: v.id, impact: v.impact || "", help: v.help, targets: v.nodes.map(n => n.target.join(" "))})))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		p.fatalf("run axe-core: %v", err)
	}
	var lines []string
	for _, v := range list {
		targets := v.Targets
		if len(targets) > 5 {
			targets = append(slices.Clip(targets[:5]), fmt.Sprintf("and %d more", len(v.Targets)-5))
		}
		lines = append(lines, fmt.Sprintf("%s (%s): %s — %s", v.ID, v.Impact, v.Help, strings.Join(targets, ", ")))
	}
	return lines
}
