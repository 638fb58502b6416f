package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"switchboard"
	"switchboard/store/storetest"
)

// lockedBuffer is Main's log, written by its goroutines and read by the
// test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestMainServesContactsAPI: the binary's Main serves the JSON API beside
// the panel: the OpenAPI document with its own address, a contact added and
// listed with a key, the balance; and the key never reaches its log.
func TestMainServesContactsAPI(t *testing.T) {
	db := filepath.Join(t.TempDir(), "sb.db")
	var log lockedBuffer
	m := startMainFlags(t, db, &log)
	defer m.Close()
	ctx := context.Background()
	p := &switchboard.Profile{Email: "owner@example.com", FirstName: "Ada", LastName: "Lovelace"}
	org := &switchboard.Organisation{Name: "Acme"}
	if err := m.DB.CreateProfileWithOrganisation(ctx, p, "hash", org); err != nil {
		t.Fatal(err)
	}
	if _, err := storetest.OpenRaw(t, db).ExecContext(ctx, `UPDATE organisations SET balance = 125000, country = 'EE' WHERE id = ?`, org.ID); err != nil {
		t.Fatal(err)
	}
	plain, hash := switchboard.NewAPIKey()
	if err := m.DB.CreateAPIKey(ctx, switchboard.Actor{ProfileID: p.ID, Name: "Ada Lovelace"}, &switchboard.APIKey{OrgID: org.ID, Name: "CRM"}, hash, plain[:switchboard.APIKeyShown]); err != nil {
		t.Fatal(err)
	}
	call := func(method, path, body string, key bool) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, m.URL()+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if key {
			req.Header.Set("Authorization", "Bearer "+plain)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if len(res.Cookies()) > 0 {
			t.Errorf("%s %s set a cookie", method, path)
		}
		return res.StatusCode, string(b)
	}

	status, body := call(http.MethodGet, "/api/v1/openapi.json", "", false)
	var doc struct {
		OpenAPI string `json:"openapi"`
		Servers []struct {
			URL string `json:"url"`
		} `json:"servers"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || status != http.StatusOK {
		t.Fatalf("openapi.json: %d %v", status, err)
	}
	if doc.OpenAPI != "3.1.0" || len(doc.Servers) != 1 || doc.Servers[0].URL != m.Config.BaseURL.String()+"/api/v1" {
		t.Fatalf("openapi %s, servers %+v, want %s/api/v1", doc.OpenAPI, doc.Servers, m.Config.BaseURL)
	}

	if status, body = call(http.MethodPost, "/api/v1/contacts", `{"phone_number": "5556 6677", "first_name": "Mari"}`, true); status != http.StatusCreated || !strings.Contains(body, `"phone_number":"+37255566677"`) {
		t.Fatalf("add a contact: %d %s", status, body)
	}
	if status, body = call(http.MethodGet, "/api/v1/contacts?q=mari", "", true); status != http.StatusOK || !strings.Contains(body, `"first_name":"Mari"`) || !strings.Contains(body, `"next_cursor":null`) {
		t.Fatalf("list: %d %s", status, body)
	}
	if status, body = call(http.MethodGet, "/api/v1/balance", "", true); status != http.StatusOK || body != `{"balance":"12.5000","currency":"EUR"}` {
		t.Fatalf("balance: %d %s", status, body)
	}
	if status, _ = call(http.MethodGet, "/api/v1/balance", "", false); status != http.StatusUnauthorized {
		t.Fatalf("balance without a key: %d", status)
	}
	m.Close()
	if out := log.String(); strings.Contains(out, plain) || !strings.Contains(out, "/api/v1/contacts") {
		t.Fatalf("the log holds the key, or no API request:\n%s", out)
	}
}
