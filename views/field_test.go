package views

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/a-h/templ"
)

// TestControlAttributesAsAMap: the attributes of a form control, listed
// in order without a map, come out exactly as templ writes them from a
// map (sorted by name), for every combination a form uses.
func TestControlAttributesAsAMap(t *testing.T) {
	for _, f := range []FieldProps{
		{Name: "email"},
		{Name: "email", ID: "invite_email", Required: true, MaxLength: 254, Autocomplete: "off"},
		{Name: "name", Hint: "As people know it.", Error: "Enter a name.", ReadOnly: true},
		{Name: "name", Error: "Enter a name."},
		{Name: "tz", Hint: "Your time zone.", Autocomplete: "off", Required: true, ReadOnly: true, MaxLength: 64},
	} {
		// The map control returned before.
		m := templ.Attributes{"id": f.id(), "name": f.Name, "required": f.Required, "readonly": f.ReadOnly}
		if f.Autocomplete != "" {
			m["autocomplete"] = f.Autocomplete
		}
		if f.MaxLength > 0 {
			m["maxlength"] = itoa(int64(f.MaxLength))
		}
		var described []string
		if f.Hint != "" {
			described = append(described, f.id()+"-hint")
		}
		if f.Error != "" {
			m["aria-invalid"] = "true"
			described = append(described, f.id()+"-error")
		}
		if len(described) > 0 {
			m["aria-describedby"] = strings.Join(described, " ")
		}
		var want, got bytes.Buffer
		if err := templ.RenderAttributes(context.Background(), &want, m); err != nil {
			t.Fatal(err)
		}
		if err := templ.RenderAttributes(context.Background(), &got, f.control()); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%+v:\n got %s\nwant %s", f, got.String(), want.String())
		}
	}
}
