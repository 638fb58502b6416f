package handlers_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"switchboard"
	"switchboard/importer"
)

// postFile sends a multipart form as a browser's upload does: the CSRF
// token first, the other fields, then the file in the field "file".
func (c *client) postFile(path, filename string, content []byte, form url.Values) *response {
	c.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	if form == nil || form.Get("_csrf") == "" {
		w.WriteField("_csrf", c.csrf())
	}
	for k, vs := range form {
		for _, v := range vs {
			w.WriteField(k, v)
		}
	}
	part, err := w.CreateFormFile("file", filename)
	if err != nil {
		c.t.Fatal(err)
	}
	part.Write(content)
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, c.app.ts.URL+path, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return c.do(req)
}

var importURL = regexp.MustCompile(`^/orgs/\d+/contacts/import/(\d+)$`)

// upload uploads a file and returns the address of its mapping step.
func upload(t *testing.T, p *person, filename, content string) string {
	t.Helper()
	res := p.postFile(path(p.org, "contacts/import"), filename, []byte(content), nil)
	wantStatus(t, res, http.StatusSeeOther)
	if !importURL.MatchString(res.location) {
		t.Fatalf("upload led to %q", res.location)
	}
	return res.location
}

// runImports runs the queued imports as the server's worker does.
func runImports(t *testing.T, a *app) {
	t.Helper()
	w := importer.NewWorker(a.db, nil)
	for {
		ran, err := w.RunOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !ran {
			return
		}
	}
}

// TestImportSteps: upload, the mapping step with the first rows and the
// columns guessed, the import queued, the progress while it waits, and
// the summary with every skipped line and its download.
func TestImportSteps(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	g := &switchboard.Group{OrgID: owner.org, Name: "Newsletter"}
	if err := a.db.CreateGroup(t.Context(), switchboard.Actor{ProfileID: owner.profile}, g); err != nil {
		t.Fatal(err)
	}
	file := "\xEF\xBB\xBFMobile;First name;Notes\n" +
		"+372 5550 0001;Mari;\"two\nlines\"\n" +
		"12ab;Bad;x\n" +
		"+372 5550 0001;Again;\n" +
		"=cmd|' /C calc'!A0;Formula;\n"
	form := owner.get(path(owner.org, "contacts/import"))
	wantStatus(t, form, http.StatusOK)
	wantContains(t, form, `<label for="file">File</label>`, `enctype="multipart/form-data"`, `accept=".csv,text/csv"`, ">Upload</button>")

	at := upload(t, owner, `C:\Users\mari\contacts.csv`, file)
	mapping := owner.get(at)
	wantStatus(t, mapping, http.StatusOK)
	wantContains(t, mapping, "contacts.csv has 4 rows", `<label for="column_0">Column 1 (Mobile)</label>`,
		`<option value="phone" selected>Phone</option>`, `<option value="first_name" selected>First name</option>`,
		`<option value="ignore" selected>Ignore</option>`, "two\nlines", `<label for="group">Group</label>`, "Newsletter",
		`<label for="country">Default country</label>`, ">Import contacts</button>")
	wantNotContains(t, mapping, `C:\Users`)

	// No Phone: 422 beside the selects, the choices kept.
	res := owner.post(at, url.Values{"column_0": {"ignore"}, "column_1": {"last_name"}, "column_2": {"company"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, `id="columns-error"`, "one column must be Phone", `<option value="last_name" selected>Last name</option>`, `<option value="company" selected>Company</option>`)
	res = owner.post(at, url.Values{"column_0": {"phone"}, "column_1": {"phone"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "Only one column can be Phone")
	res = owner.post(at, url.Values{"column_0": {"phone"}, "country": {"XX"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "Choose a country from the list.")

	res = owner.post(at, url.Values{"column_0": {"phone"}, "column_1": {"first_name"}, "column_2": {"ignore"}, "group": {itoa(g.ID)}, "country": {"EE"}})
	wantStatus(t, res, http.StatusSeeOther)
	waiting := owner.get(at)
	wantContains(t, waiting, "Waiting", `data-import-progress="`+at+`/progress"`, ">Refresh</a>")
	var progress map[string]any
	if err := json.Unmarshal([]byte(owner.get(at+"/progress").body), &progress); err != nil || progress["status"] != "queued" || progress["done"] != false || progress["rows"] != 4.0 {
		t.Fatalf("progress %v %v", progress, err)
	}
	// Started: its columns can no longer change.
	res = owner.post(at, url.Values{"column_0": {"phone"}})
	wantStatus(t, res, http.StatusSeeOther)

	runImports(t, a)
	done := owner.get(at)
	wantContains(t, done, "Done", "Download skipped lines", "12ab is not a phone number.", "The same number as line 2.", "cmd|")
	wantNotContains(t, done, ">Refresh</a>", "data-import-progress=")
	if err := json.Unmarshal([]byte(owner.get(at+"/progress").body), &progress); err != nil || progress["done"] != true || progress["added"] != 1.0 || progress["skipped"] != 3.0 {
		t.Fatalf("progress %v %v", progress, err)
	}
	dl := owner.get(at + "/problems.csv")
	wantStatus(t, dl, http.StatusOK)
	if ct := dl.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("content type %q", ct)
	}
	records, err := csv.NewReader(strings.NewReader(dl.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"Line", "Reason"}, {"4", "12ab is not a phone number."}, {"5", "The same number as line 2."}, {"6", "'=cmd|' /C calc'!A0 is not a phone number."}}
	if len(records) != len(want) {
		t.Fatalf("download %q", records)
	}
	for i := range want {
		if records[i][0] != want[i][0] || records[i][1] != want[i][1] {
			t.Fatalf("row %d: %q, want %q", i, records[i], want[i])
		}
	}
	// The upload page lists it; the audit log has its line.
	wantContains(t, owner.get(path(owner.org, "contacts/import")), "contacts.csv", "Done")
	wantContains(t, owner.get(path(owner.org, "audit")), "1 added, 0 updated, 3 skipped")
}

// TestImportRefusesWhatIsNotCSV: a PNG, text that is not UTF-8, no file,
// a header without rows: 422 with the reason beside File.
func TestImportRefusesWhatIsNotCSV(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	for _, c := range []struct{ name, content, want string }{
		{"logo.png", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01", "This file is not UTF-8 text. Save it as CSV UTF-8 and upload it again."},
		{"latin1.csv", "Phone;Name\n+37255500001;J\xfcri\n", "This file is not UTF-8 text."},
		{"book.xlsx", "PK\x03\x04\x14\x00\x06\x00", "This file is not a CSV file."},
		{"header.csv", "Phone,Name\n", "no contacts below it"},
	} {
		res := owner.postFile(path(owner.org, "contacts/import"), c.name, []byte(c.content), nil)
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantContains(t, res, `id="file-error"`, c.want, `aria-invalid="true"`)
	}
	res := owner.post(path(owner.org, "contacts/import"), url.Values{})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "Choose a CSV file to upload.")
	if n := countRows(t, a, `SELECT COUNT(*) FROM contact_imports`); n != 0 {
		t.Fatalf("%d imports kept", n)
	}
}

// TestImportTooLarge: a body over the upload's limit is refused with a
// page saying so before it is read; a file over 50 MB inside a body that
// fits, by the handler, beside File; every other route still refuses
// more than 1 MB.
func TestImportTooLarge(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	big := bytes.Repeat([]byte("+37255500001,Mari\n"), (switchboard.MaxImportBytes+200<<10)/18)
	res := owner.postFile(path(owner.org, "contacts/import"), "big.csv", append([]byte("Phone,Name\n"), big...), nil)
	if res.status != http.StatusRequestEntityTooLarge && res.status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d", res.status)
	}
	wantContains(t, res, "The file is larger than 50 MB. Split it into smaller files.")

	// Just over 50 MB: the body fits the route's limit, the file does not.
	over := append([]byte("Phone,Name\n"), big[:switchboard.MaxImportBytes-10]...)
	if len(over) != switchboard.MaxImportBytes+1 {
		t.Fatalf("%d bytes", len(over))
	}
	res = owner.postFile(path(owner.org, "contacts/import"), "over.csv", over, nil)
	if res.status != http.StatusRequestEntityTooLarge && res.status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d", res.status)
	}
	wantContains(t, res, "The file is larger than 50 MB. Split it into smaller files.")

	// Unannounced length (chunked): the same refusal.
	var body bytes.Buffer
	body.Write(big)
	req, _ := http.NewRequest(http.MethodPost, a.ts.URL+path(owner.org, "contacts/import"), io.MultiReader(strings.NewReader("--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\n"), &body))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	req.ContentLength = -1
	res = owner.do(req)
	wantContains(t, res, "The file is larger than 50 MB.")

	// Elsewhere the panel's limit holds: 1 MB.
	res = owner.post(path(owner.org, "sender-names"), url.Values{"use_case": {strings.Repeat("a", 2<<20)}})
	wantStatus(t, res, http.StatusRequestEntityTooLarge)
	// A file over the panel's 1 MB but under 50 MB is taken, kept whole.
	five := "Phone,Name\n" + strings.Repeat("+37255500001,Mari\n", (5<<20)/18)
	at := upload(t, owner, "five.csv", five)
	wantContains(t, owner.get(at), "291,271 rows")
	if n := countRows(t, a, `SELECT SUM(LENGTH(data)) FROM contact_import_chunks`); n != len(five) {
		t.Fatalf("%d bytes kept of %d", n, len(five))
	}
}

// TestImportTenantIsolation: another organisation's import is 404 at
// every address, and another organisation's group in the mapping form is
// 404; nothing is queued.
func TestImportTenantIsolation(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	eve := a.signup("eve@example.com", "Eve's")
	theirs := &switchboard.Group{OrgID: eve.org, Name: "Theirs"}
	if err := a.db.CreateGroup(t.Context(), switchboard.Actor{ProfileID: eve.profile}, theirs); err != nil {
		t.Fatal(err)
	}
	at := upload(t, owner, "a.csv", "Phone\n+37255500001\n")
	id := importURL.FindStringSubmatch(at)[1]
	for _, p := range []string{"", "/progress", "/problems.csv"} {
		res := eve.get(path(eve.org, "contacts/import/"+id+p))
		wantStatus(t, res, http.StatusNotFound)
		wantNotContains(t, res, "a.csv")
	}
	wantStatus(t, eve.post(path(eve.org, "contacts/import/"+id), url.Values{"column_0": {"phone"}}), http.StatusNotFound)
	wantStatus(t, eve.get(path(owner.org, "contacts/import/"+id)), http.StatusNotFound)
	res := owner.post(at, url.Values{"column_0": {"phone"}, "group": {itoa(theirs.ID)}})
	wantStatus(t, res, http.StatusNotFound)
	wantNotContains(t, res, "Theirs")
	wantStatus(t, owner.post(at, url.Values{"column_0": {"phone"}, "group": {"x1"}}), http.StatusNotFound)
	if n := countRows(t, a, `SELECT COUNT(*) FROM contact_imports WHERE status <> 'mapping'`); n != 0 {
		t.Fatalf("%d imports queued", n)
	}
}

// TestImportBySender: Contacts is a Sender's section (PRODUCT.md
// § Permissions): a Sender uploads and imports.
func TestImportBySender(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	link := a.invite(owner, owner.org, "sam@example.com", "sender")
	sam := a.join(link, "sam@example.com")
	sam.org = owner.org
	at := upload(t, sam, "sam.csv", "Phone,Name\n+37255500001,Mari\n")
	wantStatus(t, sam.post(at, url.Values{"column_0": {"phone"}, "column_1": {"first_name"}}), http.StatusSeeOther)
	runImports(t, a)
	wantContains(t, sam.get(at), "Done")
}

func countRows(t *testing.T, a *app, q string) int {
	t.Helper()
	var n int
	if err := a.raw().QueryRowContext(t.Context(), q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestImportUploadNeedsCSRF: the upload, read before the CSRF check
// (limitBody), is still refused without its token, and keeps nothing.
func TestImportUploadNeedsCSRF(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	res := owner.postFile(path(owner.org, "contacts/import"), "a.csv", []byte("Phone\n+37255500001\n"), url.Values{"_csrf": {"not the token"}})
	wantStatus(t, res, http.StatusForbidden)
	if n := countRows(t, a, `SELECT COUNT(*) FROM contact_imports`); n != 0 {
		t.Fatalf("%d imports kept", n)
	}
}

// countingReader counts the bytes the client's transport took from it;
// the transport may go on writing after the answer came, hence atomic.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// TestImportUploadNeedsALogin: a visitor without a session is sent to log
// in before the server reads the upload: nobody can make it store 50 MB
// without an account. Without the check the whole 40 MB was read (and
// spooled to a temporary file) before the redirect.
func TestImportUploadNeedsALogin(t *testing.T) {
	a := newApp(t)
	owner := a.signup("owner@example.com", "Acme")
	const size = 40 << 20
	head := "--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\n"
	body := &countingReader{r: io.MultiReader(strings.NewReader(head), io.LimitReader(neverEnding('1'), size))}
	req, _ := http.NewRequest(http.MethodPost, a.ts.URL+path(owner.org, "contacts/import"), body)
	req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	req.ContentLength = int64(len(head)) + size
	res := a.client().do(req)
	if n := body.n.Load(); n > size/2 {
		t.Fatalf("the server read %d of %d bytes of an upload without a session", n, size)
	}
	if res.status != http.StatusSeeOther && res.status != http.StatusUnauthorized && res.status != http.StatusForbidden {
		t.Fatalf("status %d for an upload without a session", res.status)
	}
}

// neverEnding is an endless reader of one byte.
type neverEnding byte

func (b neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}
