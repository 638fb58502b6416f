package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"switchboard"
	"switchboard/store"
)

func init() { commands["sender-names"] = runSenderNames }

// senderNamesUsage is said when the words after "sender-names" make no
// command.
const senderNamesUsage = `sender-names: say what to do, as in: switchboard sender-names list, switchboard sender-names approve ID, switchboard sender-names reject ID --reason "Why"`

// runSenderNames is the operator's side of sender names (PRODUCT.md §
// Running it): list the pending applications of every organisation, and
// approve or reject one by its id. Each prints one line per name listed
// or decided.
func runSenderNames(ctx context.Context, m *Main, db *store.DB, args []string) error {
	if len(args) == 0 {
		return errors.New(senderNamesUsage)
	}
	switch args[0] {
	case "list":
		if len(args) != 1 {
			return errors.New("sender-names list takes nothing more; to decide, use: switchboard sender-names approve ID")
		}
		return listSenderNames(ctx, m.Stdout, db)
	case "approve", "reject":
		return decideSenderName(ctx, m.Stdout, db, args[0], args[1:])
	}
	return fmt.Errorf("sender-names %s: no such command; %s", args[0], strings.TrimPrefix(senderNamesUsage, "sender-names: "))
}

// oneLine keeps text typed into a form (a use case over several lines) on
// the command's one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func listSenderNames(ctx context.Context, out io.Writer, db *store.DB) error {
	pending, err := db.ListPendingSenderNames(ctx)
	if err != nil {
		return err
	}
	if len(pending) == 0 {
		fmt.Fprintln(out, "No sender name is waiting for a decision.")
		return nil
	}
	for _, s := range pending {
		fmt.Fprintf(out, "%d\torganisation %d %s\t%s\t%s\n", s.ID, s.OrgID, oneLine(s.OrgName), s.Name, oneLine(s.UseCase))
	}
	return nil
}

// decideSenderName approves or rejects the sender name whose id is the
// first word of args; a rejection takes --reason after the id.
func decideSenderName(ctx context.Context, out io.Writer, db *store.DB, verb string, args []string) error {
	id, reason, err := parseDecision("sender-names", verb, "reject", "a pending sender name", `"The name belongs to another brand."`, args)
	if err != nil {
		return err
	}
	s, err := db.DecideSenderName(ctx, id, verb == "approve", reason)
	if err != nil {
		if code := switchboard.ErrorCode(err); code == switchboard.ENOTFOUND || code == switchboard.ECONFLICT {
			return fmt.Errorf("sender-names %s: %s", verb, switchboard.ErrorMessage(err))
		}
		return err
	}
	if verb == "approve" {
		fmt.Fprintf(out, "Approved sender name %d, %s, of organisation %d %s.\n", s.ID, s.Name, s.OrgID, oneLine(s.OrgName))
	} else if s.Reason != "" {
		fmt.Fprintf(out, "Rejected sender name %d, %s, of organisation %d %s: %s\n", s.ID, s.Name, s.OrgID, oneLine(s.OrgName), s.Reason)
	} else {
		fmt.Fprintf(out, "Rejected sender name %d, %s, of organisation %d %s, with no reason given.\n", s.ID, s.Name, s.OrgID, oneLine(s.OrgName))
	}
	return nil
}
