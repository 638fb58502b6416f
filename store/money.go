package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"switchboard"
)

// Money moves only here: each function runs inside the caller's write
// transaction, so the movement, its ledger line and whatever caused it
// (messages queued, an invoice paid) exist together or not at all
// (SECURITY.md § Money and data).

// debit takes amount from the organisation's balance by one conditional
// UPDATE, which holds however many sends race: the row is changed only if
// the balance covers the amount at the moment of writing. Not enough is an
// EPAYMENT error with PRODUCT.md's words; the caller's transaction then
// rolls back and nothing is queued. It writes the spend's ledger line and
// returns its id, which the messages it paid for carry as batch_id.
func (db *DB) debit(ctx context.Context, tx *Tx, orgID int64, amount switchboard.Money, cur switchboard.Currency, actorID int64, description string) (ledgerID int64, err error) {
	if amount < 0 {
		return 0, fmt.Errorf("store: debit of a negative amount %d", amount)
	}
	// An organisation that is no subaccount pays from its balance: the
	// question "is it one?" rides in the UPDATE (one probe of the
	// subaccounts' primary key, no row of theirs locked), rather than a
	// statement of its own before every send (BenchmarkFundingOf: 7–11 µs
	// on SQLite, 55–68 µs on PostgreSQL, a round trip). Only when the
	// UPDATE changed nothing is it asked again: a subaccount, or a
	// balance short.
	var after int64
	err = tx.QueryRowContext(ctx, `UPDATE organisations SET balance = balance - ? WHERE id = ? AND balance >= ?
		AND NOT EXISTS (SELECT 1 FROM subaccounts WHERE org_id = ?) RETURNING balance`,
		int64(amount), orgID, int64(amount), orgID).Scan(&after)
	if errors.Is(err, sql.ErrNoRows) {
		sub, err := fundingOf(ctx, tx, orgID)
		if err != nil {
			return 0, err
		}
		if sub != nil {
			return db.debitSubaccount(ctx, tx, sub, amount, cur, actorID, description)
		}
		var balance int64
		if err := tx.QueryRowContext(ctx, `SELECT balance FROM organisations WHERE id = ?`, orgID).Scan(&balance); errors.Is(err, sql.ErrNoRows) {
			return 0, notFound("organisation")
		} else if err != nil {
			return 0, fmt.Errorf("store: read balance of organisation %d: %w", orgID, err)
		}
		return 0, InsufficientBalance(cur, switchboard.Money(balance), amount)
	} else if err != nil {
		return 0, fmt.Errorf("store: debit organisation %d: %w", orgID, err)
	}
	return db.ledger(ctx, tx, switchboard.LedgerEntry{
		OrgID: orgID, Kind: switchboard.LedgerSpend, Amount: -amount, Balance: switchboard.Money(after), Description: description,
	}, actorID)
}

// InsufficientBalance is the error of a send the balance does not cover,
// in PRODUCT.md's words.
func InsufficientBalance(cur switchboard.Currency, balance, cost switchboard.Money) error {
	return switchboard.Errorf(switchboard.EPAYMENT, "Your balance of %s does not cover this send of %s.", cur.Format(balance), cur.Format(cost))
}

// credit adds amount to the organisation's balance (a paid invoice, or a
// refund) and writes the ledger line e (Kind, Description, InvoiceID or
// MessageID set by the caller; Amount and Balance filled here).
func (db *DB) credit(ctx context.Context, tx *Tx, e switchboard.LedgerEntry, amount switchboard.Money, actorID int64) (ledgerID int64, err error) {
	if amount <= 0 {
		return 0, fmt.Errorf("store: credit of a non-positive amount %d", amount)
	}
	// As in debit, the subaccount question rides in the UPDATE.
	var after int64
	err = tx.QueryRowContext(ctx, `UPDATE organisations SET balance = balance + ? WHERE id = ?
		AND NOT EXISTS (SELECT 1 FROM subaccounts WHERE org_id = ?) RETURNING balance`, int64(amount), e.OrgID, e.OrgID).Scan(&after)
	if errors.Is(err, sql.ErrNoRows) {
		sub, err := fundingOf(ctx, tx, e.OrgID)
		if err != nil {
			return 0, err
		}
		if sub != nil {
			return db.creditSubaccount(ctx, tx, sub, e, amount, actorID)
		}
		return 0, notFound("organisation")
	} else if err != nil {
		return 0, fmt.Errorf("store: credit organisation %d: %w", e.OrgID, err)
	}
	e.Amount, e.Balance = amount, switchboard.Money(after)
	return db.ledger(ctx, tx, e, actorID)
}

// ledger writes one ledger line.
func (db *DB) ledger(ctx context.Context, tx *Tx, e switchboard.LedgerEntry, actorID int64) (int64, error) {
	var actor, invoice, message any
	if actorID != 0 {
		actor = actorID
	}
	if e.InvoiceID != 0 {
		invoice = e.InvoiceID
	}
	if e.MessageID != 0 {
		message = e.MessageID
	}
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO ledger (org_id, kind, amount, balance_after, description, invoice_id, message_id, actor_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		e.OrgID, string(e.Kind), int64(e.Amount), int64(e.Balance), e.Description, invoice, message, actor, millis(db.Now())).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store: write ledger line of organisation %d: %w", e.OrgID, err)
	}
	return id, nil
}

// addUsage adds to the organisation's sums of the UTC day of at (messages,
// parts, spent; refunded), in the transaction of the spend or refund.
func addUsage(ctx context.Context, tx *Tx, orgID int64, at time.Time, messages, parts int, spent, refunded switchboard.Money) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO usage_daily (org_id, day, messages, parts, spent, refunded) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (org_id, day) DO UPDATE SET messages = usage_daily.messages + excluded.messages, parts = usage_daily.parts + excluded.parts,
			spent = usage_daily.spent + excluded.spent, refunded = usage_daily.refunded + excluded.refunded`,
		orgID, at.UTC().Format(time.DateOnly), messages, parts, int64(spent), int64(refunded))
	if err != nil {
		return fmt.Errorf("store: add usage of organisation %d: %w", orgID, err)
	}
	return nil
}

// Balance returns the organisation's balance.
func (db *DB) Balance(ctx context.Context, orgID int64) (switchboard.Money, error) {
	var b int64
	err := db.queryRow(ctx, `SELECT balance FROM organisations WHERE id = ?`, orgID).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, notFound("organisation")
	} else if err != nil {
		return 0, fmt.Errorf("store: read balance of organisation %d: %w", orgID, err)
	}
	return switchboard.Money(b), nil
}

// listLedgerSQLite and listLedgerPostgres read a page of the ledger from
// the index on (org_id, id), each in the words its engine's planner needs
// to keep to that index: left to themselves, both walked the primary key
// back through every newer line of the other organisations (5.5 ms on
// SQLite, 9 ms on PostgreSQL beside another organisation of 100,000
// newer lines; about 0.1 ms now at any depth). PostgreSQL drops org_id
// from the order when it is compared by equality, so it is given as a
// range of rows.
const (
	listLedgerSQLite = `SELECT id, kind, amount, balance_after, description, COALESCE(invoice_id, 0), COALESCE(message_id, 0), created_at
		FROM ledger INDEXED BY ledger_by_org WHERE org_id = ? AND id < ? ORDER BY id DESC LIMIT ?`
	listLedgerPostgres = `SELECT id, kind, amount, balance_after, description, COALESCE(invoice_id, 0), COALESCE(message_id, 0), created_at
		FROM ledger WHERE (org_id, id) < ($1, $2) AND org_id >= $1 ORDER BY org_id DESC, id DESC LIMIT $3`
)

// ListLedger returns up to limit ledger lines of the organisation, newest
// first, older than the line before (0 for the newest), and the id to pass
// as before for the next page (0 when there is none).
func (db *DB) ListLedger(ctx context.Context, orgID, before int64, limit int) ([]switchboard.LedgerEntry, int64, error) {
	if before <= 0 {
		before = 1<<63 - 1
	}
	q := listLedgerSQLite
	if db.pg {
		q = listLedgerPostgres
	}
	rows, err := db.query(ctx, q, orgID, before, limit+1)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list ledger of organisation %d: %w", orgID, err)
	}
	defer rows.Close()
	var list []switchboard.LedgerEntry
	for rows.Next() {
		e := switchboard.LedgerEntry{OrgID: orgID}
		var kind string
		var amount, balance, created int64
		if err := rows.Scan(&e.ID, &kind, &amount, &balance, &e.Description, &e.InvoiceID, &e.MessageID, &created); err != nil {
			return nil, 0, fmt.Errorf("store: list ledger of organisation %d: %w", orgID, err)
		}
		e.Kind, e.Amount, e.Balance, e.CreatedAt = switchboard.LedgerKind(kind), switchboard.Money(amount), switchboard.Money(balance), fromMillis(created)
		if e.Kind == switchboard.LedgerSpend {
			e.BatchID = e.ID
		}
		list = append(list, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	list, next := pageOf(list, limit, func(e switchboard.LedgerEntry) int64 { return e.ID })
	return list, next, nil
}
