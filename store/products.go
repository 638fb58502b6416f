package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"switchboard"
)

// productColumns are the columns scanProduct reads, in its order.
const productColumns = `p.id, p.org_id, p.product, p.note, p.status, p.reason, COALESCE(p.requested_by, 0), p.created_at, p.decided_at`

func scanProduct(r interface{ Scan(...any) error }, p *switchboard.ProductRequest, extra ...any) error {
	var product, status string
	var created int64
	var decided sql.NullInt64
	dest := append([]any{&p.ID, &p.OrgID, &product, &p.Note, &status, &p.Reason, &p.RequestedBy, &created, &decided}, extra...)
	if err := r.Scan(dest...); err != nil {
		return err
	}
	p.Product, p.Status = switchboard.Product(product), switchboard.ProductStatus(status)
	p.CreatedAt, p.DecidedAt = fromMillis(created), fromNullMillis(decided)
	return nil
}

// RequestProduct records the organisation's request for r.Product
// (validated by the caller with r.Validate), and its audit line. A product
// the organisation has active, or asked for and waits for, is an error
// beside the Product field; one that was declined may be asked for again.
func (db *DB) RequestProduct(ctx context.Context, actor switchboard.Actor, r *switchboard.ProductRequest) error {
	now := db.Now()
	err := db.tx(ctx, func(tx *Tx) error {
		// Two requests at once on PostgreSQL would both find none; the
		// lock makes the second find the first.
		if err := tx.lockOrganisation(ctx, r.OrgID); err != nil {
			return err
		}
		var held string
		err := tx.QueryRowContext(ctx, `SELECT status FROM product_requests WHERE org_id = ? AND product = ? AND status IN ('requested', 'active') ORDER BY id DESC LIMIT 1`,
			r.OrgID, string(r.Product)).Scan(&held)
		if err == nil {
			f := switchboard.FieldErrors{}
			if switchboard.ProductStatus(held) == switchboard.ProductActive {
				f.Add("product", r.Product.Label()+" is already active for your organisation.")
			} else {
				f.Add("product", "You already requested "+r.Product.Label()+": the request is waiting for our decision.")
			}
			return f.Err()
		} else if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: request product in organisation %d: %w", r.OrgID, err)
		}
		var requestedBy any
		if actor.ProfileID != 0 {
			requestedBy = actor.ProfileID
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO product_requests (org_id, product, note, status, requested_by, created_at) VALUES (?, ?, ?, 'requested', ?, ?) RETURNING id`,
			r.OrgID, string(r.Product), r.Note, requestedBy, millis(now)).Scan(&r.ID)
		if err != nil {
			return fmt.Errorf("store: request product in organisation %d: %w", r.OrgID, err)
		}
		return db.audit(ctx, tx, r.OrgID, actor, AuditProductRequested, r.Product.Label(), r.Note)
	})
	if err != nil {
		return err
	}
	r.Status, r.Reason, r.RequestedBy, r.CreatedAt, r.DecidedAt = switchboard.ProductRequested, "", actor.ProfileID, fromMillis(millis(now)), nil
	return nil
}

// ListProductRequests returns every request of the organisation, newest
// first.
func (db *DB) ListProductRequests(ctx context.Context, orgID int64) ([]switchboard.ProductRequest, error) {
	rows, err := db.query(ctx, `SELECT `+productColumns+` FROM product_requests p WHERE p.org_id = ? ORDER BY p.id DESC`, orgID)
	if err != nil {
		return nil, fmt.Errorf("store: list product requests of organisation %d: %w", orgID, err)
	}
	defer rows.Close()
	var list []switchboard.ProductRequest
	for rows.Next() {
		var p switchboard.ProductRequest
		if err := scanProduct(rows, &p); err != nil {
			return nil, fmt.Errorf("store: list product requests of organisation %d: %w", orgID, err)
		}
		list = append(list, p)
	}
	return list, rows.Err()
}

// ListOpenProductRequests returns the requests waiting for the operator,
// of every organisation, oldest first, each with its organisation's name.
func (db *DB) ListOpenProductRequests(ctx context.Context) ([]switchboard.ProductRequest, error) {
	rows, err := db.query(ctx, `SELECT `+productColumns+`, o.name FROM product_requests p JOIN organisations o ON o.id = p.org_id
		WHERE p.status = 'requested' ORDER BY p.id`)
	if err != nil {
		return nil, fmt.Errorf("store: list open product requests: %w", err)
	}
	defer rows.Close()
	var list []switchboard.ProductRequest
	for rows.Next() {
		var p switchboard.ProductRequest
		if err := scanProduct(rows, &p, &p.OrgName); err != nil {
			return nil, fmt.Errorf("store: list open product requests: %w", err)
		}
		list = append(list, p)
	}
	return list, rows.Err()
}

// DecideProductRequest makes the open request id, of whichever
// organisation, active (approve) or declined (with reason, which may be
// empty), and writes the decision to that organisation's audit log as the
// operator. An unknown id is ENOTFOUND; a request decided already is
// ECONFLICT and keeps its decision. It returns the request as decided,
// with its organisation's name.
func (db *DB) DecideProductRequest(ctx context.Context, id int64, approve bool, reason string) (*switchboard.ProductRequest, error) {
	status := switchboard.ProductActive
	reason = strings.Join(strings.Fields(reason), " ")
	if !approve {
		status = switchboard.ProductDeclined
	} else {
		reason = ""
	}
	p := &switchboard.ProductRequest{}
	err := db.tx(ctx, func(tx *Tx) error {
		// The condition on the status is the decision's guard: of two
		// operators deciding at once, one changes the row, the other finds
		// it decided.
		res, err := tx.ExecContext(ctx, `UPDATE product_requests SET status = ?, reason = ?, decided_at = ? WHERE id = ? AND status = 'requested'`,
			string(status), reason, millis(db.Now()), id)
		if err != nil {
			return fmt.Errorf("store: decide product request %d: %w", id, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("store: decide product request %d: %w", id, err)
		}
		err = scanProduct(tx.QueryRowContext(ctx, `SELECT `+productColumns+`, o.name FROM product_requests p JOIN organisations o ON o.id = p.org_id WHERE p.id = ?`, id), p, &p.OrgName)
		if errors.Is(err, sql.ErrNoRows) {
			return switchboard.Errorf(switchboard.ENOTFOUND, "There is no product request with the id %d.", id)
		} else if err != nil {
			return fmt.Errorf("store: decide product request %d: %w", id, err)
		}
		if n == 0 {
			when := ""
			if p.DecidedAt != nil {
				when = " on " + p.DecidedAt.Format("2 Jan 2006")
			}
			return switchboard.Errorf(switchboard.ECONFLICT, "The product request %d (%s for %s) was decided already: it is %s%s.",
				id, p.Product.Label(), p.OrgName, strings.ToLower(p.Status.Label()), when)
		}
		detail := p.Status.Label()
		if reason != "" {
			detail += ": " + reason
		}
		return db.audit(ctx, tx, p.OrgID, OperatorActor, AuditProductDecided, p.Product.Label(), detail)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}
