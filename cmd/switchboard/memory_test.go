package main

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// loginsAtOnce is how many people log in at the same moment in
// TestConcurrentLoginsMemory, and maxLoadedRSS what the process may hold
// meanwhile. Each argon2id hash takes 19 MiB: four at a time, with the
// garbage of finished ones left for the collector, 32 logins took the
// panel's peak to 200 MiB.
const (
	loginsAtOnce = 32
	maxLoadedRSS = 100 << 20
)

// TestConcurrentLoginsMemory runs the real binary, signs one person up, then
// logs them in 32 times at once from 32 client addresses (through a trusted
// proxy, so that the login guard, which counts by account and address, lets
// every attempt through): the peak resident memory of the process must stay
// within maxLoadedRSS.
func TestConcurrentLoginsMemory(t *testing.T) {
	bin := buildBinary(t)
	run := t.TempDir()
	cmd, addr, lines := startBinary(t, bin, run, "--trusted-proxies", "127.0.0.1")
	go func() {
		for lines.Scan() {
		}
	}()
	status := "/proc/" + strconv.Itoa(cmd.Process.Pid) + "/status"
	if _, err := os.Stat(status); err != nil {
		t.Skipf("no %s to read the memory of the process from: %v", status, err)
	}
	base := "http://" + addr
	const email, password = "memory@example.com", "a memory test passphrase"

	newClient := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{Jar: jar, Timeout: 2 * time.Minute,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	hc := newClient()
	res, err := hc.PostForm(base+"/signup", url.Values{"_csrf": {formToken(t, hc, base+"/signup")}, "email": {email},
		"password": {password}, "first_name": {"Mem"}, "last_name": {"Ory"}, "org_name": {"Memory"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-up: %d", res.StatusCode)
	}
	idle := readMemory(t, status)

	// One login alone, for its time.
	alone := newClient()
	csrf := formToken(t, alone, base+"/login")
	began := time.Now()
	res, err = alone.PostForm(base+"/login", url.Values{"_csrf": {csrf}, "email": {email}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login alone: %d", res.StatusCode)
	}
	t.Logf("one login alone took %s", time.Since(began).Round(time.Millisecond))

	// Every client gets its login form first, so that the posts start
	// together.
	clients := make([]*http.Client, loginsAtOnce)
	tokens := make([]string, loginsAtOnce)
	for i := range clients {
		clients[i] = newClient()
		tokens[i] = formToken(t, clients[i], base+"/login")
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	codes := make([]int, loginsAtOnce)
	errs := make([]error, loginsAtOnce)
	for i := range clients {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(url.Values{
				"_csrf": {tokens[i]}, "email": {email}, "password": {password}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i+1))
			<-start
			res, err := clients[i].Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			res.Body.Close()
			codes[i] = res.StatusCode
		})
	}
	began = time.Now()
	close(start)
	wg.Wait()
	took := time.Since(began)
	for i := range codes {
		if errs[i] != nil || codes[i] != http.StatusSeeOther {
			t.Fatalf("login %d: %d %v, want 303", i, codes[i], errs[i])
		}
	}
	loaded := readMemory(t, status)
	t.Logf("%d logins at once in %s; RSS idle %.0f MiB, peak %.0f MiB, after %.0f MiB",
		loginsAtOnce, took.Round(time.Millisecond), mib(idle.rss), mib(loaded.hwm), mib(loaded.rss))
	if loaded.hwm > maxLoadedRSS {
		t.Errorf("%d logins at once took the resident memory to %.0f MiB (VmHWM), want at most %.0f MiB",
			loginsAtOnce, mib(loaded.hwm), mib(maxLoadedRSS))
	}
}

// memory is what /proc/PID/status says of a process, in bytes: its
// resident set now and at its peak.
type memory struct{ rss, hwm int64 }

func readMemory(t *testing.T, status string) memory {
	t.Helper()
	f, err := os.Open(status)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var m memory
	s := bufio.NewScanner(f)
	for s.Scan() {
		var kb int64
		if _, err := fmt.Sscanf(s.Text(), "VmRSS: %d kB", &kb); err == nil {
			m.rss = kb << 10
		}
		if _, err := fmt.Sscanf(s.Text(), "VmHWM: %d kB", &kb); err == nil {
			m.hwm = kb << 10
		}
	}
	if m.rss == 0 || m.hwm == 0 {
		t.Fatalf("no VmRSS or VmHWM in %s", status)
	}
	return m
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
