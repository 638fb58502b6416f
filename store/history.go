package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"switchboard"
)

// MessageFilter narrows an organisation's history (PRODUCT.md § Messages
// and the gateway: filters by date range, status, recipient and sender).
// Every field that is set must match; the zero filter lists everything.
type MessageFilter struct {
	// Since and Until bound the time the message was queued: at or after
	// Since, before Until. A zero time leaves that side open.
	Since, Until time.Time
	Status       switchboard.MessageStatus
	Recipient    string // E.164, matched exactly
	Sender       string // matched exactly
}

// HistoryChunk is how many messages StreamMessages reads per query: each
// chunk is read whole and its rows closed before its messages are handed
// on, so that a slow download holds no connection, transaction or WAL
// snapshot for longer than one chunk takes to read (a few milliseconds),
// and memory holds one chunk, never the list.
var HistoryChunk = 5000

// messageClockSkew is how far a message's created_at may lie behind that of
// a message inserted before it: the time is taken before the transaction
// that inserts it waits for the writer (SQLite) or the organisation's row
// (PostgreSQL), so ids and times agree only up to that wait. idBounds
// widens a date range by it, so that no message of the range falls
// outside the ids it returns.
const messageClockSkew = 5 * time.Minute

// historyColumns are the columns of a message, in the order scanHistoryRow
// reads them.
const historyColumns = `id, batch_id, sender, recipient, body, encoding, parts, price, status, error, refunded,
	COALESCE(created_by, 0), created_at, sent_at, status_at, COALESCE(api_key_id, 0), send_at`

// exportColumns are the columns the export needs, in the order
// scanExportRow reads them: each column read costs a conversion (and a
// string, for text) per message, and a million messages are read at a
// time.
const exportColumns = `id, sender, recipient, body, parts, price, status, error, created_at, COALESCE(api_key_id, 0), send_at`

// scanExportRow reads one message of exportColumns into m.
func scanExportRow(rows interface{ Scan(...any) error }, orgID int64, m *switchboard.Message) error {
	var status string
	var price, created int64
	var sendAt sql.NullInt64
	if err := rows.Scan(&m.ID, &m.From, &m.To, &m.Text, &m.Parts, &price, &status, &m.Error, &created, &m.APIKeyID, &sendAt); err != nil {
		return err
	}
	m.OrgID, m.Status, m.Price, m.CreatedAt = orgID, switchboard.MessageStatus(status), switchboard.Money(price), fromMillis(created)
	m.SendAt = fromNullMillis(sendAt)
	return nil
}

// scanHistoryRow reads one message of historyColumns into m.
func scanHistoryRow(rows interface{ Scan(...any) error }, orgID int64, m *switchboard.Message) error {
	var encoding, status string
	var price, created, statusAt int64
	var sent, sendAt sql.NullInt64
	if err := rows.Scan(&m.ID, &m.BatchID, &m.From, &m.To, &m.Text, &encoding, &m.Parts, &price, &status, &m.Error, &m.Refunded,
		&m.CreatedBy, &created, &sent, &statusAt, &m.APIKeyID, &sendAt); err != nil {
		return err
	}
	m.SendAt = fromNullMillis(sendAt)
	m.OrgID = orgID
	m.Encoding, m.Status, m.Price = switchboard.Encoding(encoding), switchboard.MessageStatus(status), switchboard.Money(price)
	m.CreatedAt, m.SentAt, m.StatusAt = fromMillis(created), fromNullMillis(sent), fromMillis(statusAt)
	return nil
}

// historyQuery returns the query of one page (or chunk) of the history
// under f: the messages with lo < id < before, newest first, at most limit
// of them; and its arguments.
//
// Each filter walks the one index that yields its rows already in id order,
// so a page reads about as many index entries as it shows, at any depth
// (BenchmarkListMessages): a recipient (the most selective) by
// messages_by_recipient, a sender and a status together by
// messages_by_sender_status, either alone by its own index, nothing by
// messages_by_org. The other conditions are written so that no index can
// serve them (the column joined to an empty string, created_at + 0): left
// indexable, a planner may take messages_by_time and sort the whole
// range. A date range becomes an id range (idBounds), which every one of
// these indexes ends with.
//
// SQLite, without statistics, prefers messages_by_org for any query
// bounding id on both sides (it guesses that such a range holds few rows),
// so on SQLite the query names its index (INDEXED BY, SQLite's own
// syntax). PostgreSQL picks by its statistics: its generic plan (see
// withGenericPlans) cannot know whose organisation a page reads, and
// guessed from the few organisations of a young instance that one holds
// most messages: it walked the primary key from the newest message,
// filtering by organisation, and read a large organisation's million
// messages to show a small one's page (264 ms). Migration 0013 tells it
// that organisations are many (n_distinct of messages.org_id), and every
// filter walks its index.
func historyQuery(pg bool, columns string, orgID int64, f MessageFilter, before, lo int64, limit int) (string, []any) {
	index := "messages_by_org"
	var cond string
	args := []any{orgID}
	var residuals []any
	switch {
	case f.Recipient != "":
		index, cond = "messages_by_recipient", ` AND recipient = ?`
		args = append(args, f.Recipient)
		if f.Sender != "" {
			cond += ` AND (sender || '') = ?`
			residuals = append(residuals, f.Sender)
		}
		if f.Status != "" {
			cond += ` AND (status || '') = ?`
			residuals = append(residuals, string(f.Status))
		}
	case f.Sender != "" && f.Status != "":
		index, cond = "messages_by_sender_status", ` AND sender = ? AND status = ?`
		args = append(args, f.Sender, string(f.Status))
	case f.Sender != "":
		index, cond = "messages_by_sender", ` AND sender = ?`
		args = append(args, f.Sender)
	case f.Status != "":
		index, cond = "messages_by_status", ` AND status = ?`
		args = append(args, string(f.Status))
	}
	args = append(args, residuals...)
	var q strings.Builder
	q.WriteString(`SELECT ` + columns + ` FROM messages`)
	if !pg {
		q.WriteString(` INDEXED BY ` + index)
	}
	q.WriteString(` WHERE org_id = ?` + cond)
	q.WriteString(` AND id < ? AND id > ?`)
	args = append(args, before, lo)
	if !f.Since.IsZero() {
		q.WriteString(` AND created_at + 0 >= ?`)
		args = append(args, millis(f.Since))
	}
	if !f.Until.IsZero() {
		q.WriteString(` AND created_at + 0 < ?`)
		args = append(args, millis(f.Until))
	}
	q.WriteString(` ORDER BY id DESC LIMIT ?`)
	return q.String(), append(args, limit)
}

// historyID reads one id, and reports whether there was one.
func (db *DB) historyID(ctx context.Context, q string, args ...any) (id int64, found bool, err error) {
	err = db.queryRow(ctx, q, args...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return id, err == nil, err
}

// idBounds returns ids lo and hi such that every message of the
// organisation queued in [since, until) has lo < id < hi, read from
// messages_by_time in two steps of one row each. A message queued more
// than messageClockSkew before since was inserted before every message of
// the range, and one queued more than messageClockSkew after until after
// every one of them; the nearest such messages are the bounds (0 and the
// largest id when there are none).
func (db *DB) idBounds(ctx context.Context, orgID int64, since, until time.Time) (lo, hi int64, err error) {
	hi = math.MaxInt64
	if !since.IsZero() {
		lo, _, err = db.historyID(ctx, `SELECT id FROM messages WHERE org_id = ? AND created_at < ? ORDER BY created_at DESC, id DESC LIMIT 1`,
			orgID, millis(since.Add(-messageClockSkew)))
		if err != nil {
			return 0, 0, fmt.Errorf("store: bound the history of organisation %d: %w", orgID, err)
		}
	}
	if !until.IsZero() {
		id, found, err := db.historyID(ctx, `SELECT id FROM messages WHERE org_id = ? AND created_at >= ? ORDER BY created_at, id LIMIT 1`,
			orgID, millis(until.Add(messageClockSkew)))
		if err != nil {
			return 0, 0, fmt.Errorf("store: bound the history of organisation %d: %w", orgID, err)
		}
		if found {
			hi = id
		}
	}
	return lo, hi, nil
}

// historyRun reads the messages of one page or chunk: those under f with
// lo < id < before, newest first, at most limit of them, into list; every
// field, or those of exportColumns only.
func (db *DB) historyRun(ctx context.Context, orgID int64, f MessageFilter, before, lo int64, limit int, export bool, list []switchboard.Message) ([]switchboard.Message, error) {
	columns, scan := historyColumns, scanHistoryRow
	if export {
		columns, scan = exportColumns, scanExportRow
	}
	q, args := historyQuery(db.pg, columns, orgID, f, before, lo, limit)
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list messages of organisation %d: %w", orgID, err)
	}
	defer rows.Close()
	for rows.Next() {
		list = append(list, switchboard.Message{})
		if err := scan(rows, orgID, &list[len(list)-1]); err != nil {
			return nil, fmt.Errorf("store: list messages of organisation %d: %w", orgID, err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list messages of organisation %d: %w", orgID, err)
	}
	return list, nil
}

// ListMessages returns up to limit messages of the organisation under the
// filter, newest first, older than the message before (0 for the newest),
// and the id to pass as before for the next page (0 when there is none).
// Pages are cut by id, never by offset: a page deep in a million messages
// costs what the first does.
func (db *DB) ListMessages(ctx context.Context, orgID int64, f MessageFilter, before int64, limit int) ([]switchboard.Message, int64, error) {
	limit = max(limit, 1)
	lo, hi, err := db.idBounds(ctx, orgID, f.Since, f.Until)
	if err != nil {
		return nil, 0, err
	}
	if before <= 0 || before > hi {
		before = hi
	}
	list, err := db.historyRun(ctx, orgID, f, before, lo, limit+1, false, make([]switchboard.Message, 0, limit+1))
	if err != nil {
		return nil, 0, err
	}
	list, next := pageOf(list, limit, func(m switchboard.Message) int64 { return m.ID })
	return list, next, nil
}

// StreamMessages calls fn with every message of the organisation under
// the filter, newest first, reading them HistoryChunk at a time (see
// HistoryChunk), for the CSV export. Only the fields the history shows are
// filled: ID, From, To, Text, Parts, Price, Status, Error, CreatedAt,
// APIKeyID and SendAt.
// fn must not keep the message: its memory is used again for the next
// chunk. An error from fn stops the stream and is returned.
func (db *DB) StreamMessages(ctx context.Context, orgID int64, f MessageFilter, fn func(*switchboard.Message) error) error {
	lo, before, err := db.idBounds(ctx, orgID, f.Since, f.Until)
	if err != nil {
		return err
	}
	chunk := make([]switchboard.Message, 0, HistoryChunk)
	for {
		chunk, err = db.historyRun(ctx, orgID, f, before, lo, HistoryChunk, true, chunk[:0])
		if err != nil {
			return err
		}
		for i := range chunk {
			if err := fn(&chunk[i]); err != nil {
				return err
			}
		}
		if len(chunk) < HistoryChunk {
			return nil
		}
		before = chunk[len(chunk)-1].ID
	}
}

// FindMessage returns one message of the organisation; another
// organisation's message is ENOTFOUND, exactly as a missing one.
func (db *DB) FindMessage(ctx context.Context, orgID, id int64) (*switchboard.Message, error) {
	m := &switchboard.Message{}
	err := scanHistoryRow(db.queryRow(ctx, `SELECT `+historyColumns+` FROM messages WHERE id = ? AND org_id = ?`, id, orgID), orgID, m)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("message")
	} else if err != nil {
		return nil, fmt.Errorf("store: find message %d: %w", id, err)
	}
	return m, nil
}
