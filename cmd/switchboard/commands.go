package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"switchboard/store"
)

// command is one of the operator's commands (PRODUCT.md § Running it):
// "switchboard invoices mark-paid INV-2026-000001". It receives the words
// after its name and the open database; it prints what it did in one line
// to out and returns a clear error when it cannot (main exits non-zero).
type command func(ctx context.Context, m *Main, db *store.DB, args []string) error

// commands maps each command's name to it. Each command's file adds its
// own in an init function, so that commands are added without touching
// this one.
var commands = map[string]command{}

// commandList names the commands for the error of an unknown one.
func commandList() string {
	names := []string{`"backup FILE"`, `"migrate-to postgres://…"`}
	for name := range commands {
		names = append(names, `"`+name+` …"`)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// RunCommand opens the database (the panel may be running on it) and runs
// m.Command.
func (m *Main) RunCommand(ctx context.Context) error {
	cmd := commands[m.Command[0]]
	if cmd == nil {
		return fmt.Errorf("unknown command %q", m.Command[0])
	}
	db, err := store.Open(ctx, m.Config.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	return cmd(ctx, m, db, m.Command[1:])
}

// parseDecision reads the words after an operator's decision, "ID" or,
// for the verb refuse ("reject", "decline"), "ID --reason TEXT": what is
// decided is named in the usage line said on a mistake, with an example
// reason.
func parseDecision(command, verb, refuse, what, exampleReason string, args []string) (id int64, reason string, err error) {
	usage := command + " " + verb + ": name the id of " + what + " (see switchboard " + command + " list), as in: switchboard " + command + " " + verb + " 42"
	if verb == refuse {
		usage += " --reason " + exampleReason
	}
	if len(args) == 0 {
		return 0, "", errors.New(usage)
	}
	id, err = strconv.ParseInt(args[0], 10, 64)
	if err != nil || id <= 0 {
		return 0, "", fmt.Errorf("%s %s: %q is not an id; %s", command, verb, args[0], usage)
	}
	fs := flag.NewFlagSet(command+" "+verb, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if verb == refuse {
		fs.StringVar(&reason, "reason", "", "why the request is refused, shown to the organisation")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return 0, "", fmt.Errorf("%s %s: %v; %s", command, verb, err, usage)
	}
	if fs.NArg() > 0 {
		return 0, "", fmt.Errorf("%s %s: unexpected %q; %s", command, verb, strings.Join(fs.Args(), " "), usage)
	}
	return id, reason, nil
}
