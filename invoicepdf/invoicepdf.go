// Package invoicepdf draws an invoice as a PDF document with go-pdf/fpdf.
// The text is set in DejaVu Sans Condensed, embedded (and subset into each
// document): PDF's built-in fonts know only one 8-bit code page, and
// buyers' names and addresses are written in every alphabet (Õismäe tee,
// Łódź, €).
package invoicepdf

import (
	_ "embed"
	"fmt"
	"io"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"switchboard"
)

var (
	//go:embed fonts/DejaVuSansCondensed.ttf
	regular []byte
	//go:embed fonts/DejaVuSansCondensed-Bold.ttf
	bold []byte
)

// Line is the one line of an invoice for credits.
const Line = "Messaging credits"

// Write draws inv as a PDF to w, its dates in loc (the reader's time
// zone, as on the invoice's page).
func Write(w io.Writer, inv *switchboard.Invoice, loc *time.Location) error {
	if loc == nil {
		loc = time.UTC
	}
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle("Invoice "+inv.Number, true)
	pdf.SetAuthor(inv.Seller.Name, true)
	pdf.SetCreator("Switchboard", true)
	// The same invoice gives the same bytes: the date in the document is
	// the invoice's, not the moment it was drawn.
	pdf.SetCreationDate(inv.CreatedAt)
	pdf.SetCatalogSort(true)
	pdf.AddUTF8FontFromBytes("DejaVu", "", regular)
	pdf.AddUTF8FontFromBytes("DejaVu", "B", bold)
	pdf.SetMargins(20, 20, 20)
	pdf.SetAutoPageBreak(true, 20)
	pdf.AddPage()
	width, _ := pdf.GetPageSize()
	left, _, right, _ := pdf.GetMargins()
	content := width - left - right

	pdf.SetFont("DejaVu", "B", 20)
	pdf.CellFormat(content/2, 10, "Invoice", "", 0, "L", false, 0, "")
	pdf.SetFont("DejaVu", "", 11)
	status := "Unpaid"
	if inv.PaidAt != nil {
		status = "Paid on " + date(*inv.PaidAt, loc)
	}
	pdf.CellFormat(content/2, 10, status, "", 1, "R", false, 0, "")
	pdf.Ln(2)
	for _, row := range [][2]string{
		{"Invoice number", inv.Number},
		{"Date of issue", date(inv.CreatedAt, loc)},
		{"Currency", string(inv.Currency)},
	} {
		pdf.SetFont("DejaVu", "B", 10)
		pdf.CellFormat(40, 6, row[0], "", 0, "L", false, 0, "")
		pdf.SetFont("DejaVu", "", 10)
		pdf.CellFormat(content-40, 6, row[1], "", 1, "L", false, 0, "")
	}
	pdf.Ln(6)

	// Seller and buyer side by side.
	top := pdf.GetY()
	party(pdf, left, top, content/2-5, "From", inv.Seller)
	sellerBottom := pdf.GetY()
	party(pdf, left+content/2+5, top, content/2-5, "Bill to", inv.Buyer)
	pdf.SetY(max(sellerBottom, pdf.GetY()) + 8)

	// The lines and the total.
	cols := []float64{content - 90, 20, 35, 35}
	pdf.SetFont("DejaVu", "B", 10)
	pdf.SetFillColor(235, 235, 235)
	for i, h := range []string{"Description", "Quantity", "Unit price", "Amount"} {
		align := "R"
		if i == 0 {
			align = "L"
		}
		pdf.CellFormat(cols[i], 8, h, "B", 0, align, true, 0, "")
	}
	pdf.Ln(-1)
	pdf.SetFont("DejaVu", "", 10)
	amount := inv.Currency.Format(inv.Amount)
	for i, v := range []string{Line, "1", amount, amount} {
		align := "R"
		if i == 0 {
			align = "L"
		}
		pdf.CellFormat(cols[i], 8, v, "B", 0, align, false, 0, "")
	}
	pdf.Ln(-1)
	pdf.SetFont("DejaVu", "B", 11)
	pdf.CellFormat(content-35, 10, "Total", "", 0, "R", false, 0, "")
	pdf.CellFormat(35, 10, amount, "", 1, "R", false, 0, "")

	if inv.PaidAt == nil {
		pdf.Ln(6)
		pdf.SetFont("DejaVu", "", 10)
		pdf.MultiCell(content, 5, fmt.Sprintf("Please pay %s quoting %s. The credits are added to your balance when the payment arrives.", amount, inv.Number), "", "L", false)
	}
	if err := pdf.Error(); err != nil {
		return fmt.Errorf("invoicepdf: draw %s: %w", inv.Number, err)
	}
	if err := pdf.Output(w); err != nil {
		return fmt.Errorf("invoicepdf: write %s: %w", inv.Number, err)
	}
	return nil
}

// party draws a seller or buyer block at x, y: its heading, name, address
// lines, country, VAT number and email, each only if known.
func party(pdf *fpdf.Fpdf, x, y, w float64, heading string, p switchboard.Party) {
	pdf.SetXY(x, y)
	pdf.SetFont("DejaVu", "B", 10)
	pdf.CellFormat(w, 6, heading, "", 2, "L", false, 0, "")
	pdf.SetFont("DejaVu", "", 10)
	lines := []string{p.Name}
	lines = append(lines, strings.Split(strings.ReplaceAll(p.Address, "\r\n", "\n"), "\n")...)
	if p.Country != "" {
		lines = append(lines, switchboard.CountryName(p.Country))
	}
	if p.VATNumber != "" {
		lines = append(lines, "VAT number: "+p.VATNumber)
	}
	if p.Email != "" {
		lines = append(lines, p.Email)
	}
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			pdf.SetX(x)
			pdf.MultiCell(w, 5, l, "", "L", false)
		}
	}
}

func date(t time.Time, loc *time.Location) string { return t.In(loc).Format("2 January 2006") }
