package importer_test

import (
	"strings"
	"testing"

	"switchboard"
	"switchboard/importer"
)

// TestCheck: what an upload must be, and the sentence when it is not.
func TestCheck(t *testing.T) {
	png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"
	for _, c := range []struct {
		name, content string
		rows          int
		delim         rune
		err           string
	}{
		{"comma", "Phone,Name\n+37255500001,Mari\n+37255500002,Jaan\n", 2, ',', ""},
		{"semicolon", "Phone;Name\n+37255500001;Mari\n", 1, ';', ""},
		{"BOM", "\xEF\xBB\xBFPhone;Name\n+37255500001;Mari\n", 1, ';', ""},
		{"CRLF", "Phone,Name\r\n+37255500001,Mari\r\n", 1, ',', ""},
		{"quoted semicolons in a comma header", "\"Phone;mobile\",\"Name;first\",Email\n1,2,3\n", 1, ',', ""},
		{"quoted newline", "Phone,Company\n+37255500001,\"Acme\nLtd\"\n+37255500002,B\n", 2, ',', ""},
		{"blank lines", "Phone\n\n+37255500001\n\n", 1, ',', ""},
		{"stray quote is a line problem", "Phone,Name\n+37255500001,Ma\"ri\n+37255500002,Jaan\n", 2, ',', ""},
		{"PNG", png, 0, 0, "not UTF-8"},
		{"Latin-1", "Phone;Name\n+37255500001;J\xfcri\n", 0, 0, "not UTF-8"},
		{"binary but UTF-8", "PK\x03\x04\x14\x00\x00\x00", 0, 0, "not a CSV file"},
		{"empty", "", 0, 0, "empty"},
		{"only a BOM and spaces", "\xEF\xBB\xBF \n", 0, 0, "empty"},
		{"header only", "Phone,Name\n", 0, 0, "no contacts"},
		{"blank header", ",,\n1,2,3\n", 0, 0, "no header row"},
		{"unclosed quote", "Phone,Name\n+37255500001,\"Mari\n+37255500002,Jaan\n", 0, 0, "Line 2 opens a quoted field"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := importer.Check(strings.NewReader(c.content))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Rows != c.rows || f.Delimiter != c.delim {
				t.Fatalf("%d rows, delimiter %q; want %d, %q", f.Rows, f.Delimiter, c.rows, c.delim)
			}
		})
	}
}

// TestCheckReadsInBlocks: a character cut by the end of a block of the
// check is whole in the next; one cut by the end of the file is not
// UTF-8.
func TestCheckReadsInBlocks(t *testing.T) {
	const block = 64 << 10
	for _, char := range []string{"ü", "€", "😀"} {
		for d := 1; d < len(char); d++ {
			// The character begins d bytes before the end of the first block.
			head := "Phone,Name\n+37255500001,"
			content := head + strings.Repeat("x", block-d-len(head)) + char + "\n+37255500002,Mari\n"
			f, err := importer.Check(strings.NewReader(content))
			if err != nil || f.Rows != 2 {
				t.Fatalf("%q cut %d bytes before the end of a block: %v", char, d, err)
			}
		}
	}
	if _, err := importer.Check(strings.NewReader("Phone\n+37255500001\n\xe2\x82")); err == nil || !strings.Contains(err.Error(), "not UTF-8") {
		t.Fatalf("a cut character at the end: %v", err)
	}
}

// TestGuessColumns: the mapping step's first guess, from the header.
func TestGuessColumns(t *testing.T) {
	got := importer.GuessColumns([]string{"Mobile number", "Eesnimi", "PERENIMI", "E-mail", "Company", "Notes", "Phone"})
	want := []switchboard.Column{switchboard.ColumnPhone, switchboard.ColumnFirstName, switchboard.ColumnLastName,
		switchboard.ColumnEmail, switchboard.ColumnCompany, switchboard.ColumnIgnore, switchboard.ColumnIgnore}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("column %d: %q, want %q", i, got[i], want[i])
		}
	}
	for h, want := range map[string]switchboard.Column{"phone": switchboard.ColumnPhone, " First name ": switchboard.ColumnFirstName,
		"first_name": switchboard.ColumnFirstName, "Last-name": switchboard.ColumnLastName, "Surname": switchboard.ColumnLastName,
		"number": switchboard.ColumnPhone, "mail": switchboard.ColumnEmail, "Telephone": switchboard.ColumnPhone, "Age": switchboard.ColumnIgnore} {
		if got := importer.GuessColumn(h); got != want {
			t.Errorf("%q: %q, want %q", h, got, want)
		}
	}
}

// TestPreview: the header and first rows, a row cut by the end of what
// was read left out.
func TestPreview(t *testing.T) {
	head, rows := importer.Preview([]byte("\xEF\xBB\xBFPhone;Name\n1;a\n2;\"b\nc\"\n3;d\n4;e\n5;f\n6;g\n"), 5)
	if len(head) != 2 || head[0] != "Phone" || len(rows) != 5 || rows[1][1] != "b\nc" || rows[4][0] != "5" {
		t.Fatalf("%q %q", head, rows)
	}
	_, rows = importer.Preview([]byte("Phone;Name\n1;a\n2;b"), 5)
	if len(rows) != 1 {
		t.Fatalf("a cut row was shown: %q", rows)
	}
}
