package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// skipLine is what TestMain prints when the browser tests will skip.
const skipLine = "switchboard browser tests skipped: " + noChromium

// TestMain says once, before the tests run, that the browser tests will
// skip for want of Chromium: a t.Skip shows only with -v, and a plain
// `go test ./...` would pass in silence with the flows a person clicks
// untested.
func TestMain(m *testing.M) {
	flag.Parse()
	if p, err := chromiumPath(); p == "" && err == nil && os.Getenv("SWITCHBOARD_BROWSER") != "required" {
		announce(skipLine)
	}
	os.Exit(m.Run())
}

// announce prints line to standard error, and to the terminal as well when
// the go command holds standard error back: `go test ./...` shows a
// passing package's output only with -v.
func announce(line string) {
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice == 0 && !testing.Verbose() {
		if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
			fmt.Fprintln(tty, line)
			tty.Close()
		}
	}
	fmt.Fprintln(os.Stderr, line)
}

// TestBrowserSkipIsAnnounced runs this test binary again with no Chromium
// to be found (SWITCHBOARD_CHROMIUM=none) and no test to run: it must still
// print the line that says the browser tests skip, and say nothing of it
// when a browser is there.
func TestBrowserSkipIsAnnounced(t *testing.T) {
	run := func(env ...string) string {
		cmd := exec.Command(os.Args[0], "-test.run", "^$")
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
		// A session of its own, without this terminal: the line can only
		// come out on standard error.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, out)
		}
		return string(out)
	}
	if out := run("SWITCHBOARD_CHROMIUM=none"); !strings.Contains(out, skipLine+"\n") {
		t.Errorf("without Chromium the test binary does not say the browser tests skip:\n%s", out)
	}
	if out := run("SWITCHBOARD_CHROMIUM=none", "SWITCHBOARD_BROWSER=required"); strings.Contains(out, "skipped") {
		t.Errorf("with SWITCHBOARD_BROWSER=required the browser tests fail rather than skip, yet:\n%s", out)
	}
	if out := run("SWITCHBOARD_CHROMIUM=" + os.Args[0]); strings.Contains(out, "skipped") {
		t.Errorf("with a browser named, the test binary still says the browser tests skip:\n%s", out)
	}
}
