package views

import (
	"context"
	"io"
	"strconv"
	"sync"

	"github.com/a-h/templ"

	"switchboard"
)

// rowBuffers keeps the scratch buffers of memberRows: a page of rows is
// about 12 KB.
var rowBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// memberRows writes the rows of the members table: the same markup as
// memberRow, which stays the reference a test compares it with. It is the
// hot loop of the members page (50 rows on every view), written in Go
// because templ's generated code copies every value through fmt.Sprint
// and writes it in many small pieces; here each value is escaped by
// templ.EscapeString, as templ does, into one buffer written once.
func memberRows(orgID int64, members []switchboard.Member) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		scratch := rowBuffers.Get().(*[]byte)
		defer rowBuffers.Put(scratch)
		b := (*scratch)[:0]
		defer func() { *scratch = b[:0] }()
		href := strconv.AppendInt([]byte("/orgs/"), orgID, 10)
		href = append(href, "/members/"...)
		for i := range members {
			m := &members[i]
			b = append(b, `<tr><td data-label="Name"><a href="`...)
			b = append(b, href...)
			b = strconv.AppendInt(b, m.ProfileID, 10)
			b = append(b, `">`...)
			b = append(b, templ.EscapeString(m.Name())...)
			b = append(b, `</a></td><td data-label="Email">`...)
			b = append(b, templ.EscapeString(m.Email)...)
			b = append(b, `</td><td data-label="Role">`...)
			b = append(b, templ.EscapeString(m.Role.Name)...)
			b = append(b, `</td><td data-label="Joined" class="nowrap">`...)
			b = m.JoinedAt.UTC().AppendFormat(b, "2 Jan 2006")
			b = append(b, `</td><td data-label="Two-factor">`...)
			b = append(b, twoFactorState(m.TwoFactor)...)
			b = append(b, `</td></tr>`...)
		}
		_, err := w.Write(b)
		return err
	})
}
