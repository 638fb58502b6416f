package main

import (
	"flag"
	"os"
	"os/exec"
	"strings"
	"switchboard/store/storetest"
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
		storetest.Announce(skipLine)
	}
	os.Exit(m.Run())
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
