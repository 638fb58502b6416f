package invoicepdf_test

import (
	"bytes"
	"compress/zlib"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"switchboard"
	"switchboard/invoicepdf"
)

func invoice(paid bool) *switchboard.Invoice {
	issued := time.Date(2026, time.November, 24, 22, 30, 0, 0, time.UTC)
	inv := &switchboard.Invoice{
		ID: 1, Number: "INV-2026-000001", OrgID: 1, Amount: 4999 * switchboard.MoneyUnit / 100, Currency: "EUR", CreatedAt: issued,
		Seller: switchboard.Party{Name: "Switchboard OÜ", Address: "Narva mnt 5\nTallinn", Country: "EE", VATNumber: "EE100000000", Email: "billing@switchboard.example"},
		Buyer:  switchboard.Party{Name: "Õismäe Łódź Ltd", Address: "Õismäe tee 1", Country: "EE", Email: "accounts@example.com"},
	}
	if paid {
		inv.Paid, inv.PaidAt = true, &issued
	}
	return inv
}

// streams returns the document's streams, inflated where they are
// compressed, to read what the pages say.
func streams(t *testing.T, pdf []byte) string {
	t.Helper()
	var all strings.Builder
	for _, m := range regexp.MustCompile(`(?s)stream\r?\n(.*?)\r?\nendstream`).FindAllSubmatch(pdf, -1) {
		r, err := zlib.NewReader(bytes.NewReader(m[1]))
		if err != nil {
			all.Write(m[1])
			continue
		}
		b, _ := io.ReadAll(r)
		all.Write(b)
	}
	return all.String()
}

// shown returns the text the pages draw, one string (Tj) a line: the
// strings are UTF-16BE (the embedded font is addressed by Unicode), with
// PDF's backslash escapes.
func shown(content string) string {
	var out strings.Builder
	for rest := content; ; {
		i := strings.Index(rest, " Td (")
		if i < 0 {
			return out.String()
		}
		rest = rest[i+len(" Td ("):]
		var raw []byte
		for j := 0; j < len(rest); j++ {
			c := rest[j]
			if c == '\\' && j+1 < len(rest) {
				j++
				switch rest[j] {
				case 'r':
					raw = append(raw, '\r')
				case 'n':
					raw = append(raw, '\n')
				default:
					raw = append(raw, rest[j])
				}
				continue
			}
			if c == ')' {
				rest = rest[j:]
				break
			}
			raw = append(raw, c)
		}
		units := make([]uint16, len(raw)/2)
		for k := range units {
			units[k] = uint16(raw[2*k])<<8 | uint16(raw[2*k+1])
		}
		out.WriteString(string(utf16.Decode(units)) + "\n")
	}
}

// TestWrite: a PDF document, the same bytes for the same invoice, whose
// text shows the invoice with €, ä, õ and Ł as they are (not question
// marks), its dates in the reader's time zone, the font subset.
func TestWrite(t *testing.T) {
	var a, b bytes.Buffer
	if err := invoicepdf.Write(&a, invoice(false), time.UTC); err != nil {
		t.Fatal(err)
	}
	if err := invoicepdf.Write(&b, invoice(false), time.UTC); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(a.Bytes(), []byte("%PDF-")) || !bytes.HasSuffix(bytes.TrimSpace(a.Bytes()), []byte("%%EOF")) {
		t.Fatalf("not a PDF document: %q…", a.Bytes()[:min(40, a.Len())])
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("the same invoice drew different documents")
	}
	text := shown(streams(t, a.Bytes()))
	for _, want := range []string{"Invoice", "INV-2026-000001", "24 November 2026", "Switchboard OÜ", "Õismäe Łódź Ltd", "Õismäe tee 1", "Estonia",
		"VAT number: EE100000000", "Messaging credits", "€49.99", "Total", "Unpaid"} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("the document does not show %q; it shows:\n%s", want, text)
		}
	}
	if strings.Contains(text, "?") {
		t.Errorf("the document draws a question mark:\n%s", text)
	}
	if a.Len() > 200<<10 {
		t.Errorf("the document is %d bytes: the font is not subset", a.Len())
	}

	var paid bytes.Buffer
	if err := invoicepdf.Write(&paid, invoice(true), time.UTC); err != nil {
		t.Fatal(err)
	}
	if text := shown(streams(t, paid.Bytes())); !strings.Contains(text, "Paid on 24 November 2026\n") || strings.Contains(text, "Unpaid") {
		t.Errorf("a paid invoice shows:\n%s", text)
	}
	// In the reader's time zone: 22:30 UTC is the next day in Tallinn.
	var tallinn bytes.Buffer
	loc, _ := time.LoadLocation("Europe/Tallinn")
	if err := invoicepdf.Write(&tallinn, invoice(false), loc); err != nil {
		t.Fatal(err)
	}
	if text := shown(streams(t, tallinn.Bytes())); !strings.Contains(text, "25 November 2026\n") {
		t.Errorf("in Tallinn the invoice shows:\n%s", text)
	}
}
