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
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"switchboard/handlers"
	"switchboard/store"
)

// BenchmarkMembersPageVsFloor serves the first members page of a 10,000
// member organisation from the panel and from the floor in turn, in the
// process (no sockets, no wrk), and measures the CPU time each request
// takes on its thread, so that the two costs can be compared on a machine
// that other work shares: floor/panel is the share of the floor's speed
// the page reaches when serving alone takes the cores (wrk, which shares
// them and costs the same for both, brings the two closer; the garbage
// collector's background work, alike for both, is left out).
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
	if err := seed(db, path, strings.TrimPrefix(orgPath, "/orgs/"), 10000); err != nil {
		b.Fatal(err)
	}
	cookies := jar.Cookies(mustParse(ts.URL))
	floor := floorHandler(db)
	serve := func(h http.Handler) time.Duration {
		req := httptest.NewRequest(http.MethodGet, orgPath+"/members", nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		start := threadCPU()
		h.ServeHTTP(rec, req)
		took := threadCPU() - start
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
		return took
	}
	// One thread serves both, one request of each in turn, so that what
	// else runs on the machine weighs on the two alike.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var panel, bare time.Duration
	b.ReportAllocs()
	for b.Loop() {
		panel += serve(srv)
		bare += serve(floor)
	}
	b.ReportMetric(float64(panel.Nanoseconds())/float64(b.N), "panel-cpu-ns/op")
	b.ReportMetric(float64(bare.Nanoseconds())/float64(b.N), "floor-cpu-ns/op")
	b.ReportMetric(float64(bare)/float64(panel), "floor/panel")
}

// threadCPU is the CPU time the calling thread used so far: a request's
// own work, counted on the thread that serves it, whatever else the
// machine runs (the wall time, ns/op, stretches with it).
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rusageThread is Linux's RUSAGE_THREAD.
const rusageThread = 1

func mustParse(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
