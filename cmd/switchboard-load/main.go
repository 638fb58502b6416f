// Command switchboard-load measures a page of the panel under load: it
// seeds an organisation of many members in a temporary database, serves the
// real panel on 127.0.0.1, logs in as its owner and requests one page (the
// dashboard, the members page, a page deep in it, or a search) from many
// clients at once for a bounded time, then prints requests per second and
// latencies.
//
//	go run ./cmd/switchboard-load -members 100000 -page search-rare -clients 16 -duration 10s
//
// With -serve it only seeds, prints the page's URL and a wrk command line
// with the owner's cookie, and serves for the duration. With -floor it also
// serves, on another port, the floor the members page is compared with: a
// bare net/http handler doing the page's essential work (session, profile,
// membership, one page of members) and writing a plain table, the fastest a
// members page could be; and measures or prints it too.
//
// It only ever talks to the servers it started on the loopback address.
package main

import (
	"bytes"
	"context"
	"database/sql"
	"flag"
	"fmt"
	"html"
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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/v2"
	_ "modernc.org/sqlite"

	"switchboard/handlers"
	"switchboard/store"
)

// pages are the pages -page may name, by the query they add to the
// organisation's address. deep is found by following the members list.
var pages = map[string]string{
	"dashboard":     "",
	"members":       "/members",
	"deep":          "/members",
	"search-common": "/members?q=example",            // every member
	"search-rare":   "/members?q=quist",              // one member in 997, at the end of the list
	"search-late":   "/members?q=n9",                 // one member in 10, all sorting last but the rare ones
	"search-short":  "/members?q=q",                  // one character, as rare
	"search-none":   "/members?q=" + "nobody%20here", // no member
}

func main() {
	members := flag.Int("members", 10000, "members in the organisation")
	clients := flag.Int("clients", 16, "concurrent clients")
	duration := flag.Duration("duration", 10*time.Second, "how long to send requests, or to serve with -serve (at most 10m)")
	serve := flag.Bool("serve", false, "only seed and serve for the duration, printing wrk command lines for the page")
	page := flag.String("page", "members", "the page to load: dashboard, members, deep, search-common, search-rare, search-late, search-short or search-none")
	floor := flag.Bool("floor", false, "also serve the floor, a bare members page, on another port, and load or print it too")
	apiSeed := flag.String("api-seed", "", "only make this database (a file or postgres:// URL) ready for the API load test (api.lua) and print its key")
	flag.Parse()
	if *apiSeed != "" {
		if err := seedAPI(*apiSeed); err != nil {
			fmt.Fprintln(os.Stderr, "switchboard-load:", err)
			os.Exit(1)
		}
		return
	}
	if _, ok := pages[*page]; !ok {
		fmt.Fprintf(os.Stderr, "switchboard-load: unknown page %q\n", *page)
		os.Exit(2)
	}
	if err := run(*members, *clients, min(*duration, 10*time.Minute), *serve, *page, *floor); err != nil {
		fmt.Fprintln(os.Stderr, "switchboard-load:", err)
		os.Exit(1)
	}
}

func run(members, clients int, duration time.Duration, serve bool, pageName string, withFloor bool) error {
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
	if err := seed(db, path, strings.TrimPrefix(orgPath, "/orgs/"), members); err != nil {
		return err
	}
	fmt.Printf("seeded %d members in %v\n", members, time.Since(start).Round(time.Millisecond))

	target := orgPath + pages[pageName]
	if pageName == "deep" {
		// The page 90% of the way down the list, by its cursor.
		next := regexp.MustCompile(`<a [^>]*href="([^"]+)"[^>]*rel="next"`)
		for range members * 9 / 10 / 50 {
			res, err := hc.Get(base.String() + target)
			if err != nil {
				return err
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			m := next.FindSubmatch(body)
			if m == nil {
				break
			}
			target = strings.ReplaceAll(string(m[1]), "&amp;", "&")
		}
	}
	var cookies []string
	for _, c := range jar.Cookies(base) {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	cookie := strings.Join(cookies, "; ")

	var floorURL string
	if withFloor {
		fln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		fs := &http.Server{Handler: floorHandler(db)}
		go fs.Serve(fln)
		defer fs.Close()
		floorURL = "http://" + fln.Addr().String() + orgPath + "/members"
		if q := strings.SplitN(pages[pageName], "?", 2); len(q) == 2 {
			floorURL += "?" + q[1]
		}
	}

	if serve {
		fmt.Printf("url %s%s\ncookie %s\n", base, target, cookie)
		fmt.Printf("wrk -t2 -c16 -d10s --latency -H 'Cookie: %s' '%s%s'\n", cookie, base, target)
		if withFloor {
			fmt.Printf("floor %s\n", floorURL)
			fmt.Printf("wrk -t2 -c16 -d10s --latency -H 'Cookie: %s' '%s'\n", cookie, floorURL)
		}
		time.Sleep(duration)
		return nil
	}

	if err := load("panel "+pageName, base.String()+target, cookie, clients, duration); err != nil {
		return err
	}
	if withFloor {
		return load("floor", floorURL, cookie, clients, duration)
	}
	return nil
}

// load requests u from clients at once for the duration and prints what
// it measured.
func load(name, u, cookie string, clients int, duration time.Duration) error {
	var (
		count, failed atomic.Int64
		mu            sync.Mutex
		latencies     []time.Duration
		size          atomic.Int64
	)
	transport := &http.Transport{MaxIdleConnsPerHost: clients}
	deadline := time.Now().Add(duration)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			c := &http.Client{Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			var mine []time.Duration
			for time.Now().Before(deadline) {
				t := time.Now()
				req, _ := http.NewRequest(http.MethodGet, u, nil)
				req.Header.Set("Cookie", cookie)
				res, err := c.Do(req)
				if err != nil || res.StatusCode != http.StatusOK {
					failed.Add(1)
					if res != nil {
						res.Body.Close()
					}
					continue
				}
				n, _ := io.Copy(io.Discard, res.Body)
				res.Body.Close()
				size.Store(n)
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
	fmt.Printf("%s: %d clients, %v: %d requests, %.0f requests/s, %d failed; latency p50 %v p90 %v p99 %v; %d bytes a page\n",
		name, clients, duration, count.Load(), float64(count.Load())/duration.Seconds(), failed.Load(), pct(.5), pct(.9), pct(.99), size.Load())
	if failed.Load() > 0 {
		return fmt.Errorf("%s: %d requests failed", name, failed.Load())
	}
	return nil
}

// floorHandler serves GET /orgs/{org}/members as bare as it can be while
// doing what the panel's members page must: find the session by its
// cookie through the same store, read the profile and its membership in
// the organisation, read one page of members (searched with ?q=), and
// write them as an HTML table escaped by html.EscapeString. No templ, no
// Echo, no middleware, no CSRF token, no security headers.
func floorHandler(db *store.DB) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orgs/{org}/members", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		ck, err := r.Cookie("switchboard_session")
		if err != nil {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		data, found, err := db.Sessions().FindCtx(ctx, ck.Value)
		if err != nil || !found {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		_, values, err := scs.GobCodec{}.Decode(data)
		if err != nil {
			http.Error(w, "bad session", http.StatusUnauthorized)
			return
		}
		id, _ := values["profile_id"].(int64) // handlers.sessionProfile
		p, err := db.FindProfile(ctx, id)
		if err != nil {
			http.Error(w, "no profile", http.StatusUnauthorized)
			return
		}
		orgID, _ := strconv.ParseInt(r.PathValue("org"), 10, 64)
		if _, err := db.FindMembership(ctx, orgID, p.ID); err != nil {
			http.NotFound(w, r)
			return
		}
		list, _, err := db.ListMembers(ctx, orgID, r.FormValue("q"), store.MemberCursor{}, 50)
		if err != nil {
			http.Error(w, "error", http.StatusInternalServerError)
			return
		}
		var b bytes.Buffer
		b.WriteString("<!doctype html><title>Members</title><table><tr><th>Name</th><th>Email</th><th>Role</th><th>Joined</th></tr>")
		for _, m := range list {
			fmt.Fprintf(&b, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>",
				html.EscapeString(m.FirstName+" "+m.LastName), html.EscapeString(m.Email), html.EscapeString(m.Role.Name), m.JoinedAt.Format("2 Jan 2006"))
		}
		b.WriteString("</table>")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(b.Bytes())
	})
	return mux
}

// seed inserts n members into the organisation in one transaction: member
// i is "Member N<i>", except every 997th, a rare "Zoë Quist" (who sorts
// after all of them). It keeps the member count as the store would, and
// builds the search index of the rows it wrote behind the store's back.
func seed(db *store.DB, path, org string, n int) error {
	orgID, err := strconv.ParseInt(org, 10, 64)
	if err != nil {
		return err
	}
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
	insertProfile, err := tx.Prepare(`INSERT INTO profiles (email, password_hash, first_name, last_name, created_at) VALUES (?, 'x', ?, ?, 0) RETURNING id`)
	if err != nil {
		return err
	}
	insertMember, err := tx.Prepare(`INSERT INTO members (org_id, profile_id, role, joined_at, sort_name) VALUES (?, ?, 'sender', 0, ?)`)
	if err != nil {
		return err
	}
	for i := range n {
		email := fmt.Sprintf("member%05d@example.com", i)
		first, last := "Member", fmt.Sprintf("N%05d", i)
		if i%997 == 500 {
			first, last = "Zoë", "Quist"
		}
		var id int64
		if err := insertProfile.QueryRow(email, first, last).Scan(&id); err != nil {
			return err
		}
		if _, err := insertMember.Exec(org, id, strings.ToLower(first+" "+last+" "+email)); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(`UPDATE organisations SET member_count = member_count + ? WHERE id = ?`, n, org); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	// The rows went in behind the store's back: build their search index.
	return db.ReindexMembers(context.Background(), orgID)
}
