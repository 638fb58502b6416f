package handlers

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/importer"
	"switchboard/views"
)

// The contact import (PRODUCT.md § Contacts and the public pages): upload
// a CSV file, choose what its columns hold, then the import runs in the
// background (package importer) with its progress on the page.

const (
	// importPreviewBytes is how much of the file the mapping step reads
	// for its first rows.
	importPreviewBytes = 64 << 10
	// importPreviewRows is how many rows it shows.
	importPreviewRows = 5
	// importsListed is how many past imports the upload page lists.
	importsListed = 20
)

// msgImportTooLarge is the answer to a file over switchboard.MaxImportBytes.
const msgImportTooLarge = "The file is larger than 50 MB. Split it into smaller files."

// errImportTooLarge refuses an upload over the limit before it is read
// (limitBody), as a page saying so.
var errImportTooLarge = switchboard.Errorf(switchboard.EINVALID, msgImportTooLarge)

// importRoute is the upload's route, the one that takes a body over
// maxBody (limitBody).
const importRoute = "/orgs/:org/contacts/import"

// importBody is the largest body the upload takes: the largest file and
// room for the form around it (its token, the part headers).
const importBody = switchboard.MaxImportBytes + 64<<10

// importMemory is how much of an upload is held in memory while it is
// read; the rest of the file is written to a temporary file (removed when
// the request ends), so a 50 MB upload is not held twice.
const importMemory = 1 << 20

// notifyImports wakes the import worker after an import was queued.
func (s *Server) notifyImports() {
	if s.cfg.Imports != nil {
		s.cfg.Imports.Notify()
	}
}

func (s *Server) importUploadPage(c echo.Context, f views.Form) (views.ImportUploadPage, error) {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	list, err := s.db.ListImports(ctx, m.Org.ID, importsListed)
	if err != nil {
		return views.ImportUploadPage{}, err
	}
	return views.ImportUploadPage{Membership: m, Form: f, Imports: list, Zone: zoneOf(c)}, nil
}

// handleImportForm shows the upload form and the latest imports.
func (s *Server) handleImportForm(c echo.Context) error {
	page, err := s.importUploadPage(c, views.Form{})
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.ImportUpload(page))
}

// handleImportUpload checks the uploaded file, keeps it for the mapping
// step, and leads there. The file is read from the temporary file
// limitBody wrote, a block at a time: never a copy of it whole in memory.
func (s *Server) handleImportUpload(c echo.Context) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	file, name, status, problem := openImportFile(c)
	var checked *importer.File
	if problem == "" {
		defer file.Close()
		var err error
		if checked, err = importer.Check(file); err != nil {
			status, problem = http.StatusUnprocessableEntity, err.Error()
		} else if _, err := file.Seek(0, io.SeekStart); err != nil {
			return err
		}
	}
	if problem != "" {
		page, err := s.importUploadPage(c, views.Form{Errors: switchboard.FieldErrors{"file": problem}})
		if err != nil {
			return err
		}
		return s.render(c, status, views.ImportUpload(page))
	}
	imp := &switchboard.ContactImport{OrgID: m.Org.ID, Filename: name, Country: m.Org.Country, Rows: checked.Rows, CreatedBy: s.actor(c).ProfileID}
	if err := s.db.CreateImport(ctx, imp, file); err != nil {
		return err
	}
	return redirect(c, switchboard.OrgPath(m.Org.ID, fmt.Sprintf("contacts/import/%d", imp.ID)))
}

// openImportFile opens the uploaded file and returns it with its name, or
// the status and the sentence for the File field saying why there is
// none.
func openImportFile(c echo.Context) (file multipart.File, name string, status int, problem string) {
	r := c.Request()
	const choose = "Choose a CSV file to upload."
	if r.MultipartForm == nil { // limitBody reads every multipart upload
		if mt, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType)); mt != echo.MIMEMultipartForm {
			return nil, "", http.StatusUnprocessableEntity, choose
		}
		if err := r.ParseMultipartForm(importMemory); err != nil {
			return nil, "", http.StatusUnprocessableEntity, choose
		}
	}
	files := r.MultipartForm.File["file"]
	if len(files) == 0 || files[0].Filename == "" {
		return nil, "", http.StatusUnprocessableEntity, choose
	}
	fh := files[0]
	if fh.Size > switchboard.MaxImportBytes {
		return nil, "", http.StatusRequestEntityTooLarge, msgImportTooLarge
	}
	f, err := fh.Open()
	if err != nil {
		return nil, "", http.StatusUnprocessableEntity, choose
	}
	return f, importFilename(fh.Filename), 0, ""
}

// importFilename is the name of an uploaded file as the pages show it:
// without the folders some browsers send, control and format characters,
// at most 100 characters.
func importFilename(name string) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.In(r, unicode.Cf) || r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if r := []rune(name); len(r) > 100 {
		name = string(r[:99]) + "…"
	}
	if name == "" || name == "." || name == "/" {
		name = "contacts.csv"
	}
	return name
}

// findImport reads the import of the URL within the organisation of the
// URL: another organisation's is 404.
func (s *Server) findImport(c echo.Context) (*switchboard.ContactImport, error) {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	id, err := parseID(c.Param("import"))
	if err != nil {
		return nil, switchboard.Errorf(switchboard.ENOTFOUND, "This import does not exist, or you do not have access to it.")
	}
	return s.db.FindImport(ctx, m.Org.ID, id)
}

// handleImport shows the mapping step of an import not started yet, and
// the progress or summary of one that is.
func (s *Server) handleImport(c echo.Context) error {
	imp, err := s.findImport(c)
	if err != nil {
		return err
	}
	if imp.Status == switchboard.ImportMapping {
		page, err := s.importMappingPage(c, imp, nil, views.Form{Values: map[string][]string{"country": {imp.Country}}})
		if err != nil {
			return err
		}
		return s.render(c, http.StatusOK, views.ImportMapping(page))
	}
	ctx := c.Request().Context()
	page := views.ImportProgressPage{Membership: switchboard.MembershipFromContext(ctx), Import: imp, Zone: zoneOf(c)}
	if imp.Status == switchboard.ImportDone || imp.Status == switchboard.ImportFailed {
		if page.Problems, err = s.db.ImportProblems(ctx, imp.OrgID, imp.ID, views.ImportShownProblems); err != nil {
			return err
		}
	}
	return s.render(c, http.StatusOK, views.ImportProgress(page))
}

// importMappingPage builds the mapping step with the file's first rows;
// mapping nil guesses the columns from the header.
func (s *Server) importMappingPage(c echo.Context, imp *switchboard.ContactImport, mapping []switchboard.Column, f views.Form) (views.ImportMappingPage, error) {
	ctx := c.Request().Context()
	head, err := s.db.ImportHead(ctx, imp.OrgID, imp.ID, importPreviewBytes)
	if err != nil {
		return views.ImportMappingPage{}, err
	}
	header, rows := importer.Preview(head, importPreviewRows)
	if mapping == nil {
		mapping = importer.GuessColumns(header)
	}
	groups, err := s.db.ListGroups(ctx, imp.OrgID)
	if err != nil {
		return views.ImportMappingPage{}, err
	}
	return views.ImportMappingPage{Membership: switchboard.MembershipFromContext(ctx), Import: imp, Header: header, Rows: rows,
		Mapping: mapping, Groups: groups, Form: f}, nil
}

// handleImportStart takes the mapping step's choices and queues the
// import for the worker.
func (s *Server) handleImportStart(c echo.Context) error {
	ctx := c.Request().Context()
	imp, err := s.findImport(c)
	if err != nil {
		return err
	}
	back := switchboard.OrgPath(imp.OrgID, fmt.Sprintf("contacts/import/%d", imp.ID))
	if imp.Status != switchboard.ImportMapping {
		s.flash(c, "This import has started already.")
		return redirect(c, back)
	}
	values, err := form(c)
	if err != nil {
		return err
	}
	head, err := s.db.ImportHead(ctx, imp.OrgID, imp.ID, importPreviewBytes)
	if err != nil {
		return err
	}
	header, _ := importer.Preview(head, 0)
	fe := switchboard.FieldErrors{}
	mapping := make([]switchboard.Column, len(header))
	chosen := map[switchboard.Column]int{}
	for i := range header {
		v := values.Get(views.ColumnField(i))
		col := switchboard.Column(v)
		switch {
		case v == "" || v == "ignore":
			col = switchboard.ColumnIgnore
		case !knownColumn(col):
			fe.Add("columns", "Choose what each column holds from the list.")
			col = switchboard.ColumnIgnore
		}
		mapping[i] = col
		if col != switchboard.ColumnIgnore {
			chosen[col]++
		}
	}
	switch {
	case chosen[switchboard.ColumnPhone] == 0:
		fe.Add("columns", "Choose which column holds the phone numbers: one column must be Phone.")
	default:
		for _, col := range switchboard.Columns {
			if chosen[col] > 1 {
				fe.Add("columns", "Only one column can be "+col.Label()+"; set the others to Ignore.")
			}
		}
	}
	var group int64
	if g := values.Get("group"); g != "" {
		if group, err = parseID(g); err != nil {
			return switchboard.Errorf(switchboard.ENOTFOUND, "This group does not exist, or you do not have access to it.")
		}
		// Another organisation's group answers 404 whatever else is wrong.
		if _, err := s.db.FindGroup(ctx, imp.OrgID, group); err != nil {
			return err
		}
	}
	country := strings.ToUpper(strings.TrimSpace(values.Get("country")))
	if country != "" && !switchboard.KnownCountry(country) {
		fe.Add("country", "Choose a country from the list.")
	}
	if len(fe) > 0 {
		page, err := s.importMappingPage(c, imp, mapping, views.Form{Values: values, Errors: fe})
		if err != nil {
			return err
		}
		return s.render(c, http.StatusUnprocessableEntity, views.ImportMapping(page))
	}
	imp.Mapping, imp.GroupID, imp.Country = mapping, group, country
	if err := s.db.QueueImport(ctx, imp); switchboard.ErrorCode(err) == switchboard.ECONFLICT {
		s.flash(c, "This import has started already.")
		return redirect(c, back)
	} else if err != nil {
		return err
	}
	s.notifyImports()
	return redirect(c, back)
}

func knownColumn(col switchboard.Column) bool {
	for _, c := range switchboard.Columns {
		if c == col {
			return true
		}
	}
	return false
}

// importProgress is the progress of an import as the page's script reads
// it.
type importProgress struct {
	Status    string `json:"status"`
	Label     string `json:"label"`
	Rows      int    `json:"rows"`
	Processed int    `json:"processed"`
	Added     int    `json:"added"`
	Updated   int    `json:"updated"`
	Skipped   int    `json:"skipped"`
	Done      bool   `json:"done"`
}

// handleImportProgress answers the import's progress as JSON, for the
// page to update itself while the import runs.
func (s *Server) handleImportProgress(c echo.Context) error {
	imp, err := s.findImport(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, importProgress{
		Status: string(imp.Status), Label: imp.Status.Label(), Rows: imp.Rows, Processed: imp.Processed,
		Added: imp.Added, Updated: imp.Updated, Skipped: imp.Skipped,
		Done: imp.Status == switchboard.ImportDone || imp.Status == switchboard.ImportFailed,
	})
}

// handleImportProblems downloads the lines an import skipped, with their
// reasons, as CSV, streamed.
func (s *Server) handleImportProblems(c echo.Context) error {
	imp, err := s.findImport(c)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="skipped-lines-%d.csv"`, imp.ID))
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	err = w.Write([]string{"Line", "Reason"})
	if err == nil {
		err = s.db.EachImportProblem(c.Request().Context(), imp.OrgID, imp.ID, 0, func(p switchboard.ImportProblem) error {
			return w.Write([]string{fmt.Sprint(p.Line), csvCell(p.Reason)})
		})
	}
	w.Flush()
	if err == nil {
		err = w.Error()
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return s.abortExport(c, err)
	}
	return nil
}
