package main

import (
	"context"
	"fmt"
	"slices"
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
