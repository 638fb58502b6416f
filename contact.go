package switchboard

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Contact is one person in an organisation's phonebook (PRODUCT.md
// § Contacts and the public pages). Phone is E.164 and unique within the
// organisation: importing or joining with a number already there updates
// that contact.
type Contact struct {
	ID        int64
	OrgID     int64
	Phone     string // E.164, parsed by package sms before it gets here
	FirstName string
	LastName  string
	Email     string
	Company   string
	// OptedOut is whether the number is in the organisation's opt-outs
	// (a STOP answer, or ticked by a member): it is never sent to. The
	// opt_outs table is the one record of it, read by every send.
	OptedOut  bool
	Groups    []Group // the groups it is in, when read with them
	CreatedAt time.Time
	UpdatedAt time.Time
}

// The longest text a contact's fields hold.
const (
	MaxContactName  = 100
	MaxContactEmail = 254
)

// Name is the contact's name as people read it: "Mari Tamm", or "" when
// it has none.
func (c *Contact) Name() string {
	return strings.TrimSpace(c.FirstName + " " + c.LastName)
}

// Validate trims the fields and checks their lengths and the email. The
// phone number is checked by whoever parsed it (package sms, with the
// organisation's country); here it must only be there, in E.164.
func (c *Contact) Validate() error {
	f := FieldErrors{}
	c.Phone = strings.TrimSpace(c.Phone)
	c.FirstName = strings.TrimSpace(c.FirstName)
	c.LastName = strings.TrimSpace(c.LastName)
	c.Email = strings.TrimSpace(c.Email)
	c.Company = strings.TrimSpace(c.Company)
	if c.Phone == "" {
		f.Add("phone", "Enter the phone number, such as +372 5556 6677.")
	} else if !strings.HasPrefix(c.Phone, "+") || len(c.Phone) < 4 || len(c.Phone) > 16 || strings.Trim(c.Phone[1:], "0123456789") != "" {
		f.Add("phone", c.Phone+" is not a phone number.")
	}
	for _, field := range []struct{ name, label, value string }{
		{"first_name", "First name", c.FirstName},
		{"last_name", "Last name", c.LastName},
		{"company", "Company", c.Company},
	} {
		if utf8.RuneCountInString(field.value) > MaxContactName {
			f.Add(field.name, field.label+" can be at most 100 characters.")
		}
	}
	if c.Email != "" {
		if len(c.Email) > MaxContactEmail {
			f.Add("email", "Email can be at most 254 characters.")
		} else {
			ValidateEmail(f, "email", c.Email)
		}
	}
	return f.Err()
}

// Group is a phonebook group: a list of contacts a campaign or a send goes
// to. Deleting a group leaves its contacts.
type Group struct {
	ID        int64
	OrgID     int64
	Name      string
	Contacts  int // how many contacts are in it, when read with counts
	CreatedAt time.Time
}

// MaxGroupName is the longest group name.
const MaxGroupName = 100

// Validate trims the name and checks it.
func (g *Group) Validate() error {
	f := FieldErrors{}
	g.Name = strings.TrimSpace(g.Name)
	if g.Name == "" {
		f.Add("name", "Enter the group's name, such as Newsletter.")
	} else if utf8.RuneCountInString(g.Name) > MaxGroupName {
		f.Add("name", "A group's name can be at most 100 characters.")
	}
	return f.Err()
}

// ImportStatus is where a contact import is.
type ImportStatus string

// The statuses of an import.
const (
	ImportMapping ImportStatus = "mapping" // uploaded, columns not yet chosen
	ImportQueued  ImportStatus = "queued"  // mapped, waiting for a worker
	ImportRunning ImportStatus = "running"
	ImportDone    ImportStatus = "done"
	ImportFailed  ImportStatus = "failed" // see Error
)

// Label is the status as people read it.
func (s ImportStatus) Label() string {
	switch s {
	case ImportMapping:
		return "Choose columns"
	case ImportQueued:
		return "Waiting"
	case ImportRunning:
		return "Importing"
	case ImportDone:
		return "Done"
	case ImportFailed:
		return "Failed"
	}
	return string(s)
}

// Column is what a column of an imported file holds.
type Column string

// The columns a file's columns map to; ColumnIgnore leaves one out.
const (
	ColumnIgnore    Column = ""
	ColumnPhone     Column = "phone"
	ColumnFirstName Column = "first_name"
	ColumnLastName  Column = "last_name"
	ColumnEmail     Column = "email"
	ColumnCompany   Column = "company"
)

// Columns lists the columns in the order the mapping step offers them.
var Columns = []Column{ColumnPhone, ColumnFirstName, ColumnLastName, ColumnEmail, ColumnCompany}

// Label is the column as PRODUCT.md names it: "First name".
func (c Column) Label() string {
	switch c {
	case ColumnPhone:
		return "Phone"
	case ColumnFirstName:
		return "First name"
	case ColumnLastName:
		return "Last name"
	case ColumnEmail:
		return "Email"
	case ColumnCompany:
		return "Company"
	}
	return "Ignore"
}

// MaxImportBytes is the largest file an import takes (the issue's "say
// 50 MB").
const MaxImportBytes = 50 << 20

// ContactImport is one uploaded file and what importing it did.
type ContactImport struct {
	ID        int64
	OrgID     int64
	Filename  string
	Status    ImportStatus
	Mapping   []Column // one per column of the file
	GroupID   int64    // 0: no group
	Country   string   // ISO alpha-2: the country of numbers without one
	Rows      int      // data rows in the file (known once it is read)
	Processed int
	Added     int
	Updated   int
	Skipped   int
	Error     string // why it failed, for people
	CreatedBy int64
	CreatedAt time.Time
	Finished  *time.Time
	// Claim is the lease of the worker running it (claimed_until), which
	// each of its writes checks: a worker whose lease ran out and was
	// taken over writes nothing more.
	Claim time.Time
}

// ImportProblem is one line of a file that was skipped, and why.
type ImportProblem struct {
	Line   int // in the file, counting the header as line 1
	Reason string
}
