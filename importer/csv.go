// Package importer reads the CSV files of contact imports (PRODUCT.md
// § Contacts and the public pages) and runs the imports in the
// background: a Worker claims a queued import from the database, reads its
// file, and writes its contacts in batches, each batch in one transaction
// with the import's progress, so that a restart resumes it from its last
// batch.
package importer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"switchboard"
)

// The messages of a file that cannot be imported at all, shown beside the
// File field.
const (
	msgNotUTF8   = "This file is not UTF-8 text. Save it as CSV UTF-8 and upload it again."
	msgNotCSV    = "This file is not a CSV file. Save your table as CSV (comma or semicolon separated) and upload it again."
	msgNoHeader  = "This file has no header row. Its first line must name the columns, such as Phone;First name;Last name."
	msgNoRows    = "This file has a header row but no contacts below it."
	msgEmptyFile = "This file is empty. Choose a CSV file with a header row and your contacts."
)

// bom is the byte order mark some programs (Excel's "CSV UTF-8") write at
// the start of a UTF-8 file.
var bom = []byte{0xEF, 0xBB, 0xBF}

// File is what Check learnt of an uploaded file.
type File struct {
	Delimiter rune
	Header    []string
	Rows      int // data rows (records after the header; blank lines are none)
}

// checkBlock is how much of a file Check reads at a time.
const checkBlock = 64 << 10

// Check reads a whole uploaded file, a block at a time (a 50 MB file is
// never held in memory), and says whether it can be imported: UTF-8 text
// (with or without a byte order mark), no binary bytes, a header row,
// comma- or semicolon-separated. Rows that cannot be read (a stray quote)
// are counted, and skipped with their line when imported; a quoted field
// that is never closed, which swallows the rest of the file, is refused
// here. The file is read twice (the text, then the rows), from its start
// each time. The error is a sentence for the person, for the File field.
func Check(file io.ReadSeeker) (*File, error) {
	empty, err := checkText(file)
	if err != nil {
		return nil, err
	} else if empty {
		return nil, errors.New(msgEmptyFile)
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("importer: read the file again: %w", err)
	}
	r := NewReader(file)
	f := &File{Delimiter: r.Comma}
	header, err := r.Read()
	if errors.Is(err, io.EOF) || (err == nil && blank(header)) {
		return nil, errors.New(msgNoHeader)
	} else if err != nil {
		return nil, errors.New(msgNotCSV)
	}
	f.Header = append([]string(nil), header...)
	for {
		_, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if line, ok := r.Unclosed(err); ok {
			return nil, errors.New(UnclosedReason(line))
		}
		var pe *csv.ParseError
		if err != nil && !errors.As(err, &pe) {
			return nil, fmt.Errorf("importer: read the file: %w", err)
		}
		f.Rows++
	}
	if f.Rows == 0 {
		return nil, errors.New(msgNoRows)
	}
	return f, nil
}

// checkText reads r to its end and says whether it is UTF-8 text without
// binary bytes, and whether it holds nothing but a byte order mark and
// white space. A character cut by the end of a block is carried into the
// next.
func checkText(r io.Reader) (empty bool, err error) {
	buf := make([]byte, checkBlock+utf8.UTFMax)
	carry := 0
	first := true
	empty = true
	for {
		n, rerr := io.ReadFull(r, buf[carry:carry+checkBlock])
		block := buf[:carry+n]
		if first {
			block = bytes.TrimPrefix(block, bom)
			first = false
		}
		end := len(block)
		if rerr == nil {
			// Hold back the start of a character the next block ends.
			for i := 1; i < utf8.UTFMax && i <= end; i++ {
				if utf8.RuneStart(block[end-i]) {
					if !utf8.FullRune(block[end-i:]) {
						end -= i
					}
					break
				}
			}
		}
		if !utf8.Valid(block[:end]) {
			return false, errors.New(msgNotUTF8)
		}
		if binary(block[:end]) {
			return false, errors.New(msgNotCSV)
		}
		if empty && len(bytes.TrimSpace(block[:end])) > 0 {
			empty = false
		}
		carry = copy(buf, block[end:])
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			if carry > 0 {
				return false, errors.New(msgNotUTF8)
			}
			return empty, nil
		} else if rerr != nil {
			return false, fmt.Errorf("importer: read the file: %w", rerr)
		}
	}
}

// UnclosedReason says why a file with a quote never closed on line cannot
// be read past it.
func UnclosedReason(line int) string {
	return fmt.Sprintf("Line %d opens a quoted field (\") that is never closed, so the rest of the file cannot be read. Close the quote and upload the file again.", line)
}

// Unclosed reports whether err, returned by r.Read, is a quoted field left
// open to the end of the file (which makes every line after it unreadable),
// and the line where that field began: encoding/csv reports it as ErrQuote
// reaching past its first line, with the whole input read.
func (r *Reader) Unclosed(err error) (int, bool) {
	var pe *csv.ParseError
	if !errors.As(err, &pe) || !errors.Is(pe.Err, csv.ErrQuote) || pe.Line <= pe.StartLine {
		return 0, false
	}
	if _, more := r.input.Peek(1); more == nil {
		return 0, false
	}
	return pe.StartLine, true
}

// binary reports whether text holds control characters no spreadsheet
// writes into a CSV file: a PNG, a zip (xlsx) or a PDF is caught here when
// it happens to be valid UTF-8.
func binary(text []byte) bool {
	for _, c := range text {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' {
			return true
		}
	}
	return false
}

// blank reports whether every field of a record is empty.
func blank(record []string) bool {
	for _, f := range record {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// Reader reads the records of a file.
type Reader struct {
	*csv.Reader
	input *bufio.Reader // the csv.Reader's own, to tell the end of the input
}

// readBuffer is the Reader's buffer: the most of a file's first line that
// Delimiter looks at.
const readBuffer = 64 << 10

// NewReader returns a reader of the file r (a byte order mark is skipped)
// with the delimiter of its header line: strict about quotes (LazyQuotes
// off: a stray quote is a problem of its line, never a silent merge of
// two lines), and any number of fields a row (a row of other length is a
// problem of its line, not of the file).
func NewReader(r io.Reader) *Reader {
	input := bufio.NewReaderSize(r, readBuffer)
	if b, _ := input.Peek(len(bom)); bytes.Equal(b, bom) {
		input.Discard(len(bom))
	}
	head, _ := input.Peek(readBuffer)
	// csv.NewReader reads through input itself: it is a *bufio.Reader
	// already.
	cr := csv.NewReader(input)
	cr.Comma = Delimiter(head)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = false
	cr.ReuseRecord = true
	return &Reader{Reader: cr, input: input}
}

// Delimiter returns the delimiter of the file that begins with content:
// a semicolon when the header line (up to its first newline outside
// quotes) holds more semicolons than commas outside quoted fields, as
// spreadsheets write CSV in countries whose decimal mark is a comma; a
// comma otherwise.
func Delimiter(content []byte) rune {
	commas, semicolons := 0, 0
	quoted := false
	for _, c := range content {
		switch {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '\n':
			if semicolons > commas {
				return ';'
			}
			return ','
		case c == ',':
			commas++
		case c == ';':
			semicolons++
		}
	}
	if semicolons > commas {
		return ';'
	}
	return ','
}

// Preview returns the header and up to n data rows of the file that
// begins with head (the first bytes of the file: a row cut at its end is
// left out), for the mapping step. Rows that cannot be read are left out.
func Preview(head []byte, n int) (header []string, rows [][]string) {
	r := NewReader(bytes.NewReader(head))
	r.ReuseRecord = false
	h, err := r.Read()
	if err != nil {
		return nil, nil
	}
	for len(rows) < n+1 {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			continue
		}
		rows = append(rows, rec)
	}
	if len(rows) > n {
		rows = rows[:n]
	} else if len(rows) > 0 && !bytes.HasSuffix(head, []byte("\n")) {
		// The last row may be cut where head ends.
		rows = rows[:len(rows)-1]
	}
	return h, rows
}

// columnWords are the header names GuessColumn knows, normalised (lower
// case, words separated by one space): English, and Estonian, the
// panel's first customers' language.
var columnWords = map[string]switchboard.Column{
	"phone": switchboard.ColumnPhone, "phone number": switchboard.ColumnPhone, "phone no": switchboard.ColumnPhone,
	"mobile": switchboard.ColumnPhone, "mobile number": switchboard.ColumnPhone, "mobile phone": switchboard.ColumnPhone,
	"cell": switchboard.ColumnPhone, "cell phone": switchboard.ColumnPhone, "cellphone": switchboard.ColumnPhone,
	"number": switchboard.ColumnPhone, "msisdn": switchboard.ColumnPhone, "tel": switchboard.ColumnPhone,
	"telephone": switchboard.ColumnPhone, "gsm": switchboard.ColumnPhone, "telefon": switchboard.ColumnPhone,
	"telefoninumber": switchboard.ColumnPhone, "mobiil": switchboard.ColumnPhone, "mobiilinumber": switchboard.ColumnPhone,
	"first name": switchboard.ColumnFirstName, "firstname": switchboard.ColumnFirstName, "first": switchboard.ColumnFirstName,
	"given name": switchboard.ColumnFirstName, "forename": switchboard.ColumnFirstName, "name": switchboard.ColumnFirstName,
	"eesnimi": switchboard.ColumnFirstName, "nimi": switchboard.ColumnFirstName,
	"last name": switchboard.ColumnLastName, "lastname": switchboard.ColumnLastName, "last": switchboard.ColumnLastName,
	"surname": switchboard.ColumnLastName, "family name": switchboard.ColumnLastName,
	"perenimi": switchboard.ColumnLastName, "perekonnanimi": switchboard.ColumnLastName,
	"email": switchboard.ColumnEmail, "e mail": switchboard.ColumnEmail, "email address": switchboard.ColumnEmail,
	"mail": switchboard.ColumnEmail, "e post": switchboard.ColumnEmail, "epost": switchboard.ColumnEmail,
	"company": switchboard.ColumnCompany, "organisation": switchboard.ColumnCompany, "organization": switchboard.ColumnCompany,
	"business": switchboard.ColumnCompany, "firma": switchboard.ColumnCompany, "ettevõte": switchboard.ColumnCompany,
}

// GuessColumn returns what a column named header most likely holds, by
// its name ("Mobile", "First name", "Eesnimi"), or ColumnIgnore.
func GuessColumn(header string) switchboard.Column {
	words := strings.FieldsFunc(strings.ToLower(header), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	return columnWords[strings.Join(words, " ")]
}

// GuessColumns maps a header row: each column by its name, and each kind
// at most once (the first column of a kind wins; a second "Phone" is
// ignored).
func GuessColumns(header []string) []switchboard.Column {
	mapping := make([]switchboard.Column, len(header))
	taken := map[switchboard.Column]bool{}
	for i, h := range header {
		if c := GuessColumn(h); c != switchboard.ColumnIgnore && !taken[c] {
			mapping[i], taken[c] = c, true
		}
	}
	return mapping
}
