// Package switchboard holds Switchboard's domain: profiles, organisations,
// members, roles and invitations, the permission table, and the errors every
// other package speaks.
package switchboard

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status in the handlers.
const (
	ECONFLICT     = "conflict"     // 409 or 422: the thing already exists
	EINTERNAL     = "internal"     // 500
	EINVALID      = "invalid"      // 422: the input is wrong, see Fields
	ENOTFOUND     = "not_found"    // 404: missing, or not yours to see
	EUNAUTHORIZED = "unauthorized" // not logged in
	EFORBIDDEN    = "forbidden"    // 403: logged in, but the role does not allow it
	EGONE         = "gone"         // 410: used, expired or cancelled
	ETOOMANY      = "too_many"     // 429: rate limited
	EPAYMENT      = "payment"      // 422 on pages, 402 in the API: the balance (or budget) does not cover it
)

// Error is an error that people may read. Message is a full sentence shown on
// the page; Fields holds per-field messages for forms.
type Error struct {
	Code    string
	Message string
	Fields  FieldErrors
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("switchboard error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code string, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the readable message of err, or a generic one for
// internal errors, which are never shown as they are.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Something went wrong on our side. Please try again."
}

// FieldErrors maps a form field's name to the message shown beside it.
type FieldErrors map[string]string

// Add records msg for field unless the field already has a message, so the
// first problem found is the one shown.
func (f FieldErrors) Add(field, msg string) {
	if _, ok := f[field]; !ok {
		f[field] = msg
	}
}

// Merge adds the field errors carried by err (see Fields), keeping any
// message a field already has.
func (f FieldErrors) Merge(err error) {
	for field, msg := range Fields(err) {
		f.Add(field, msg)
	}
}

// Err returns nil when there are no field errors, and an EINVALID *Error
// holding them otherwise.
func (f FieldErrors) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: "Please correct the fields marked below.", Fields: f}
}

// Fields returns the field errors carried by err, or nil.
func Fields(err error) FieldErrors {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}
