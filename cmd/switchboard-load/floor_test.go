package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"switchboard/handlers"
	"switchboard/store"
)

// BenchmarkMembersPageVsFloor serves the first members page of a 10,000
// member organisation from the panel and from the floor, in the process
// (no sockets, no wrk sharing the cores), so that the two costs can be
// compared with less of the machine's noise: the floor's cpu-ns/op over
// the panel's is the share of the floor's speed the page reaches when the
// server alone takes the cores (wrk, which shares them, brings the two
// closer).
func BenchmarkMembersPageVsFloor(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "load.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	srv := handlers.New(db, handlers.Config{BaseURL: &url.URL{Scheme: "http", Host: "127.0.0.1"}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := hc.Get(ts.URL + "/signup")
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindSubmatch(body)
	if m == nil {
		b.Fatal("no CSRF field in the sign-up page")
	}
	res, err = hc.PostForm(ts.URL+"/signup", url.Values{"_csrf": {string(m[1])}, "email": {"owner@example.com"}, "password": {"load test passphrase"},
		"first_name": {"Load"}, "last_name": {"Owner"}, "org_name": {"Load"}})
	if err != nil {
		b.Fatal(err)
	}
	res.Body.Close()
	orgPath := res.Header.Get("Location")
	if err := seed(path, strings.TrimPrefix(orgPath, "/orgs/"), 10000); err != nil {
		b.Fatal(err)
	}
	cookies := jar.Cookies(mustParse(ts.URL))
	floor := floorHandler(db)
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{{"panel", srv}, {"floor", floor}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, orgPath+"/members", nil)
				for _, c := range cookies {
					req.AddCookie(c)
				}
				rec := httptest.NewRecorder()
				bc.h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the CPU time the process used so far, in nanoseconds, on
// every thread (the garbage collector's too). Other programs on the
// machine stretch a benchmark's wall time (ns/op) much more than this.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func mustParse(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
