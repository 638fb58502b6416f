package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"switchboard"
	"switchboard/handlers"
	"switchboard/store"
)

func init() { commands["admin"] = runAdmin }

// adminUsage is the line shown for "switchboard admin" alone or with a
// subcommand it does not know.
const adminUsage = `admin: use "switchboard admin create-profile EMAIL [--first-name NAME --last-name NAME]", "switchboard admin reset-password EMAIL", "switchboard admin set-owner ORG_ID EMAIL" or "switchboard admin disable-two-factor EMAIL"`

// runAdmin is the operator's recovery for the moments the panel cannot
// help (PRODUCT.md § Running it): a profile made for someone, a forgotten
// password, an owner who left, a lost phone. Each prints one line, and
// each change is recorded (the organisation's audit log or the profile's
// own security events) as done by "Operator (command line)".
func runAdmin(ctx context.Context, m *Main, db *store.DB, args []string) error {
	if len(args) == 0 {
		return errors.New(adminUsage)
	}
	switch args[0] {
	case "create-profile":
		return adminCreateProfile(ctx, m, db, args[1:])
	case "reset-password":
		email, err := oneEmail("reset-password", args[1:])
		if err != nil {
			return err
		}
		return adminResetPassword(ctx, m, db, email)
	case "set-owner":
		return adminSetOwner(ctx, m, db, args[1:])
	case "disable-two-factor":
		email, err := oneEmail("disable-two-factor", args[1:])
		if err != nil {
			return err
		}
		return adminDisableTwoFactor(ctx, m, db, email)
	}
	return errors.New(adminUsage)
}

// oneEmail reads the one EMAIL a subcommand takes.
func oneEmail(sub string, args []string) (string, error) {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		return "", fmt.Errorf("admin %s: name one email address, as in: switchboard admin %s ada@example.com", sub, sub)
	}
	return args[0], nil
}

// adminFailure makes the one line of a command that could not be done:
// the store's sentence when it has one, the error itself otherwise.
func adminFailure(sub string, err error) error {
	if code := switchboard.ErrorCode(err); code != "" && code != switchboard.EINTERNAL {
		return fmt.Errorf("admin %s: %s", sub, switchboard.ErrorMessage(err))
	}
	return fmt.Errorf("admin %s: %w", sub, err)
}

// resetLink is the address of the reset page of token under --base-url.
func resetLink(m *Main, token string) string {
	u := *m.Config.BaseURL
	u.Path = strings.TrimRight(u.Path, "/") + handlers.ResetPath(token)
	u.RawQuery, u.Fragment = "", ""
	return u.String()
}

// until says when a link stops working, in the operator's terms.
func until(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

func adminCreateProfile(ctx context.Context, m *Main, db *store.DB, args []string) error {
	const usage = "as in: switchboard admin create-profile ada@example.com --first-name Ada --last-name Lovelace"
	fs := flag.NewFlagSet("admin create-profile", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	first := fs.String("first-name", "", "the person's first name")
	last := fs.String("last-name", "", "the person's last name")
	// The email may come before or after the flags.
	var emails []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return fmt.Errorf("admin create-profile: %v; %s", err, usage)
		}
		if fs.NArg() == 0 {
			break
		}
		emails = append(emails, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(emails) != 1 {
		return errors.New("admin create-profile: name one email address, " + usage)
	}
	email := switchboard.NormalizeEmail(emails[0])
	errs := switchboard.FieldErrors{}
	switchboard.ValidateEmail(errs, "email", email)
	if *first != "" {
		switchboard.ValidateName(errs, "first_name", "first name", *first)
	}
	if *last != "" {
		switchboard.ValidateName(errs, "last_name", "last name", *last)
	}
	for _, field := range []string{"email", "first_name", "last_name"} {
		if msg, ok := errs[field]; ok {
			return fmt.Errorf("admin create-profile: %s (%s %q)", msg, strings.ReplaceAll(field, "_", " "), map[string]string{"email": emails[0], "first_name": *first, "last_name": *last}[field])
		}
	}
	p := &switchboard.Profile{Email: email, FirstName: strings.TrimSpace(*first), LastName: strings.TrimSpace(*last)}
	token, hash := handlers.NewLinkToken()
	expires, err := db.CreateProfileByOperator(ctx, p, handlers.UnusablePasswordHash(), hash)
	if switchboard.ErrorCode(err) == switchboard.ECONFLICT {
		return fmt.Errorf("admin create-profile: %s already has a profile; to let them in, use: switchboard admin reset-password %s", email, email)
	} else if err != nil {
		return adminFailure("create-profile", err)
	}
	fmt.Fprintf(m.Stdout, "switchboard: created the profile %s (no organisation); they set their password with this one-use link until %s: %s\n", p.Email, until(expires), resetLink(m, token))
	return nil
}

func adminResetPassword(ctx context.Context, m *Main, db *store.DB, email string) error {
	token, hash := handlers.NewLinkToken()
	p, expires, err := db.ResetPasswordByOperator(ctx, email, hash)
	if err != nil {
		return adminFailure("reset-password", err)
	}
	fmt.Fprintf(m.Stdout, "switchboard: %s sets a new password with this one-use link until %s (older reset links no longer work): %s\n", p.Email, until(expires), resetLink(m, token))
	return nil
}

func adminSetOwner(ctx context.Context, m *Main, db *store.DB, args []string) error {
	const usage = "as in: switchboard admin set-owner 42 grace@example.com"
	if len(args) != 2 {
		return errors.New("admin set-owner: name the organisation's id and the new owner's email, " + usage)
	}
	orgID, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil || orgID <= 0 {
		return fmt.Errorf("admin set-owner: %q is not an organisation's id (the number in its address, /orgs/42); %s", args[0], usage)
	}
	change, err := db.SetOwnerByOperator(ctx, orgID, args[1])
	if err != nil {
		return adminFailure("set-owner", err)
	}
	line := fmt.Sprintf("switchboard: %s is now the owner of organisation %d (%s)", change.NewOwner, change.OrgID, change.OrgName)
	if change.OldOwner != "" {
		line += "; " + change.OldOwner + " is now an Administrator"
	}
	fmt.Fprintln(m.Stdout, line)
	return nil
}

func adminDisableTwoFactor(ctx context.Context, m *Main, db *store.DB, email string) error {
	p, err := db.DisableTwoFactorByOperator(ctx, email)
	if err != nil {
		return adminFailure("disable-two-factor", err)
	}
	fmt.Fprintf(m.Stdout, "switchboard: two-factor authentication is off for %s; their recovery codes were deleted and their sessions ended\n", p.Email)
	return nil
}
