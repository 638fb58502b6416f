// Command switchboard-load measures the members page under load: it seeds
// an organisation of 10,000 members in a temporary database, serves the real
// panel on 127.0.0.1, logs in as its owner and requests the members page
// (first pages, deep pages by cursor, searches) from many clients at once
// for a bounded time, then prints requests per second and latencies.
//
//	go run ./cmd/switchboard-load -members 10000 -clients 16 -duration 10s
//
// With -serve it only seeds, prints the page's URL and the owner's cookies
// for an outside load tool (wrk, hey), and serves for the duration.
//
// It only ever talks to the server it started on the loopback address.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite"

	"switchboard/handlers"
	"switchboard/store"
)

func main() {
	members := flag.Int("members", 10000, "members in the organisation")
	clients := flag.Int("clients", 16, "concurrent clients")
	duration := flag.Duration("duration", 10*time.Second, "how long to send requests (at most 2m)")
	serve := flag.Bool("serve", false, "only seed and serve for the duration, printing the URL and cookies for another load tool")
	flag.Parse()
	if err := run(*members, *clients, min(*duration, 2*time.Minute), *serve); err != nil {
		fmt.Fprintln(os.Stderr, "switchboard-load:", err)
		os.Exit(1)
	}
}

func run(members, clients int, duration time.Duration, serve bool) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "switchboard-load")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "load.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	base := &url.URL{Scheme: "http", Host: ln.Addr().String()}
	srv := handlers.New(db, handlers.Config{BaseURL: base, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	hs := &http.Server{Handler: srv}
	go hs.Serve(ln)
	defer hs.Close()

	// The owner signs up through the form; the members go straight into
	// the file.
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	form, err := hc.Get(base.String() + "/signup")
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(form.Body)
	form.Body.Close()
	// The CSRF token belongs to the session and is read from the form.
	m := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindSubmatch(body)
	if m == nil {
		return fmt.Errorf("the sign-up page has no CSRF field")
	}
	csrf := string(m[1])
	res, err := hc.PostForm(base.String()+"/signup", url.Values{"_csrf": {csrf}, "email": {"owner@example.com"}, "password": {"load test passphrase"},
		"first_name": {"Load"}, "last_name": {"Owner"}, "org_name": {"Load"}})
	if err != nil {
		return err
	}
	res.Body.Close()
	orgPath := res.Header.Get("Location")
	if !strings.HasPrefix(orgPath, "/orgs/") {
		return fmt.Errorf("sign-up answered %d", res.StatusCode)
	}
	start := time.Now()
	if err := seed(path, strings.TrimPrefix(orgPath, "/orgs/"), members); err != nil {
		return err
	}
	fmt.Printf("seeded %d members in %v\n", members, time.Since(start).Round(time.Millisecond))

	if serve {
		var cookies []string
		for _, c := range jar.Cookies(base) {
			cookies = append(cookies, c.Name+"="+c.Value)
		}
		fmt.Printf("url %s%s/members\ncookie %s\n", base, orgPath, strings.Join(cookies, "; "))
		time.Sleep(duration)
		return nil
	}

	// Collect cursors of a few deep pages to request among the first ones.
	targets := []string{orgPath + "/members", orgPath + "/members?q=n0042", orgPath + "/members?q=example"}
	next := regexp.MustCompile(`<a href="([^"]+)" rel="next">`)
	page := orgPath + "/members"
	for i := 0; i < members/50 && len(targets) < 12; i++ {
		res, err := hc.Get(base.String() + page)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		m := next.FindSubmatch(body)
		if m == nil {
			break
		}
		page = strings.ReplaceAll(string(m[1]), "&amp;", "&")
		if i%(max(1, members/50/8)) == 0 {
			targets = append(targets, page)
		}
	}

	var (
		count, failed atomic.Int64
		mu            sync.Mutex
		latencies     []time.Duration
	)
	transport := &http.Transport{MaxIdleConnsPerHost: clients}
	deadline := time.Now().Add(duration)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			c := &http.Client{Jar: jar, Transport: transport, CheckRedirect: hc.CheckRedirect}
			var mine []time.Duration
			for n := i; time.Now().Before(deadline); n++ {
				t := time.Now()
				res, err := c.Get(base.String() + targets[n%len(targets)])
				if err != nil || res.StatusCode != http.StatusOK {
					failed.Add(1)
					if res != nil {
						res.Body.Close()
					}
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				mine = append(mine, time.Since(t))
				count.Add(1)
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(latencies)
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[int(float64(len(latencies)-1)*p)].Round(10 * time.Microsecond)
	}
	fmt.Printf("%d clients, %v: %d requests, %.0f requests/s, %d failed; latency p50 %v p90 %v p99 %v\n",
		clients, duration, count.Load(), float64(count.Load())/duration.Seconds(), failed.Load(), pct(.5), pct(.9), pct(.99))
	if failed.Load() > 0 {
		return fmt.Errorf("%d requests failed", failed.Load())
	}
	return nil
}

// seed inserts n members into the organisation in one transaction.
func seed(path, org string, n int) error {
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer raw.Close()
	tx, err := raw.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for i := range n {
		email := fmt.Sprintf("member%05d@example.com", i)
		last := fmt.Sprintf("N%05d", i)
		var id int64
		if err := tx.QueryRow(`INSERT INTO profiles (email, password_hash, first_name, last_name, created_at) VALUES (?, 'x', 'Member', ?, 0) RETURNING id`, email, last).Scan(&id); err != nil {
			return err
		}
		if _, err := tx.Exec(`INSERT INTO members (org_id, profile_id, role, joined_at, sort_name) VALUES (?, ?, 'sender', 0, ?)`, org, id, strings.ToLower("Member "+last+" "+email)); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	_, err = raw.Exec(`ANALYZE`)
	return err
}
