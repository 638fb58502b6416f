package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"switchboard"
)

// Campaigns (PRODUCT.md § Messages and the gateway, Campaigns): a member
// schedules one (CreateCampaign), may change or cancel it while it waits
// (UpdateCampaign, CancelCampaign), and a scheduler of any process starts
// it once it is due: ClaimCampaigns leases it to that scheduler, and
// StartCampaign moves it from scheduled to sending, debits and queues its
// messages in one transaction, or fails it with the reason. From then on
// the campaign's counts by message status, and its move from sending to
// sent once no message of it is queued any more, are kept by the database
// itself (migration 0017's trigger), in the transaction of each status
// change: the list of campaigns reads them from the campaign's row.

// CampaignLease is how long a claimed campaign belongs to the scheduler
// that claimed it (ClaimCampaigns): far longer than a start takes (two to
// four seconds for 100,000 recipients, BenchmarkStartCampaign), short enough that
// a campaign whose process died while starting it is started soon after
// by another, or by the same one restarted. While the lease runs the
// campaign cannot be changed or cancelled.
const CampaignLease = 2 * time.Minute

// SchedulerActor is who the audit log names for what the scheduler does.
var SchedulerActor = switchboard.Actor{Name: "Scheduler"}

// ErrCampaignStarted is the answer to a change or cancellation of a
// campaign that is no longer waiting: the scheduler took it meanwhile.
var ErrCampaignStarted = switchboard.Errorf(switchboard.ECONFLICT, "This campaign has started; it can no longer be changed.")

// campaignColumns are the columns readCampaign scans, in its order.
const campaignColumns = `c.id, c.org_id, c.name, c.sender, c.body, c.send_at, c.status, c.reason, c.recipients, c.parts, c.cost,
	COALESCE(c.batch_id, 0), COALESCE(c.created_by, 0), c.created_at, c.started_at, c.queued, c.sent, c.delivered, c.failed, c.unpriced`

// readCampaign scans the campaignColumns of one row.
func readCampaign(scan func(dest ...any) error) (switchboard.Campaign, error) {
	var c switchboard.Campaign
	var status string
	var sendAt, created, cost int64
	var started sql.NullInt64
	var queued, sent, delivered, failed int
	err := scan(&c.ID, &c.OrgID, &c.Name, &c.From, &c.Text, &sendAt, &status, &c.Reason, &c.Recipients, &c.Parts, &cost,
		&c.BatchID, &c.CreatedBy, &created, &started, &queued, &sent, &delivered, &failed, &c.Unpriced)
	if err != nil {
		return c, err
	}
	c.Status, c.Cost, c.SendAt, c.CreatedAt, c.StartedAt = switchboard.CampaignStatus(status), switchboard.Money(cost), fromMillis(sendAt), fromMillis(created), fromNullMillis(started)
	c.Counts = map[switchboard.MessageStatus]int{
		switchboard.StatusQueued: queued, switchboard.StatusSent: sent, switchboard.StatusDelivered: delivered, switchboard.StatusFailed: failed,
	}
	return c, nil
}

// CreateCampaign schedules c (validated by the caller, its sender name
// one the organisation may use) to go at c.SendAt to the contacts of its
// groups, which must all be the organisation's: another organisation's
// group is ENOTFOUND and nothing is written. It sets c.ID, c.Status and
// c.CreatedAt.
func (db *DB) CreateCampaign(ctx context.Context, actor switchboard.Actor, c *switchboard.Campaign) error {
	now := db.Now()
	var createdBy any
	if actor.ProfileID != 0 {
		createdBy = actor.ProfileID
	}
	err := db.tx(ctx, func(tx *Tx) error {
		if err := tx.lockOrganisation(ctx, c.OrgID); err != nil {
			return err
		}
		if err := subaccountMaySend(ctx, tx, c.OrgID); err != nil {
			return err
		}
		if err := checkGroups(ctx, tx, c.OrgID, c.GroupIDs); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO campaigns (org_id, name, sender, body, send_at, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			c.OrgID, c.Name, c.From, c.Text, millis(c.SendAt), createdBy, millis(now)).Scan(&c.ID)
		if err != nil {
			return fmt.Errorf("store: create campaign in organisation %d: %w", c.OrgID, err)
		}
		if err := setCampaignGroups(ctx, tx, c.ID, c.GroupIDs); err != nil {
			return err
		}
		return db.audit(ctx, tx, c.OrgID, actor, AuditCampaignCreated, c.Name, campaignWhen(c.SendAt))
	})
	if err != nil {
		return err
	}
	c.Status, c.CreatedAt, c.CreatedBy = switchboard.CampaignScheduled, fromMillis(millis(now)), actor.ProfileID
	return nil
}

// campaignWhen is the audit line's detail of a campaign's time: UTC, as
// the audit log shows its own times.
func campaignWhen(t time.Time) string {
	return "Send at " + t.UTC().Format("2 Jan 2006 15:04 UTC")
}

// setCampaignGroups makes ids the campaign's groups (checked by the caller
// with checkGroups).
func setCampaignGroups(ctx context.Context, tx *Tx, campaignID int64, ids []int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM campaign_groups WHERE campaign_id = ?`, campaignID); err != nil {
		return fmt.Errorf("store: groups of campaign %d: %w", campaignID, err)
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `INSERT INTO campaign_groups (campaign_id, group_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, campaignID, id); err != nil {
			return fmt.Errorf("store: groups of campaign %d: %w", campaignID, err)
		}
	}
	return nil
}

// FindCampaign returns the organisation's campaign id with its groups and
// counts; another organisation's campaign is ENOTFOUND, as a missing one.
func (db *DB) FindCampaign(ctx context.Context, orgID, id int64) (*switchboard.Campaign, error) {
	c, err := readCampaign(db.queryRow(ctx, `SELECT `+campaignColumns+` FROM campaigns c WHERE c.id = ? AND c.org_id = ?`, id, orgID).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("campaign")
	} else if err != nil {
		return nil, fmt.Errorf("store: read campaign %d: %w", id, err)
	}
	rows, err := db.query(ctx, `SELECT g.id, g.name FROM campaign_groups cg JOIN contact_groups g ON g.id = cg.group_id
		WHERE cg.campaign_id = ? ORDER BY lower(g.name), g.id`, id)
	if err != nil {
		return nil, fmt.Errorf("store: read the groups of campaign %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		g := switchboard.Group{OrgID: orgID}
		if err := rows.Scan(&g.ID, &g.Name); err != nil {
			return nil, fmt.Errorf("store: read the groups of campaign %d: %w", id, err)
		}
		c.Groups = append(c.Groups, g)
		c.GroupIDs = append(c.GroupIDs, g.ID)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read the groups of campaign %d: %w", id, err)
	}
	return &c, nil
}

// ListCampaigns returns up to limit campaigns of the organisation, newest
// first, older than the campaign before (0 for the newest), with their
// counts, and the id to pass as before for the next page (0 when there is
// none). Their groups are not read.
func (db *DB) ListCampaigns(ctx context.Context, orgID, before int64, limit int) ([]switchboard.Campaign, int64, error) {
	if before <= 0 {
		before = 1<<63 - 1
	}
	limit = max(limit, 1)
	rows, err := db.query(ctx, `SELECT `+campaignColumns+` FROM campaigns c WHERE c.org_id = ? AND c.id < ? ORDER BY c.id DESC LIMIT ?`, orgID, before, limit+1)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list campaigns of organisation %d: %w", orgID, err)
	}
	defer rows.Close()
	var list []switchboard.Campaign
	for rows.Next() {
		c, err := readCampaign(rows.Scan)
		if err != nil {
			return nil, 0, fmt.Errorf("store: list campaigns of organisation %d: %w", orgID, err)
		}
		list = append(list, c)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: list campaigns of organisation %d: %w", orgID, err)
	}
	list, next := pageOf(list, limit, func(c switchboard.Campaign) int64 { return c.ID })
	return list, next, nil
}

// waiting is the condition of a campaign that may still be changed: it is
// scheduled, and no scheduler holds it (a lease that ran out is no hold).
const waiting = `status = 'scheduled' AND (claimed_until IS NULL OR claimed_until <= ?)`

// UpdateCampaign changes the organisation's campaign c.ID to c (name,
// sender, text, send at, groups) while it waits: one conditional UPDATE,
// so a campaign the scheduler took meanwhile is ErrCampaignStarted (a
// cancelled one ErrCampaignCancelled) and unchanged, never half changed. A group of another organisation, or a
// campaign of one, is ENOTFOUND.
func (db *DB) UpdateCampaign(ctx context.Context, actor switchboard.Actor, c *switchboard.Campaign) error {
	now := db.Now()
	return db.tx(ctx, func(tx *Tx) error {
		if err := tx.lockOrganisation(ctx, c.OrgID); err != nil {
			return err
		}
		if err := subaccountMaySend(ctx, tx, c.OrgID); err != nil {
			return err
		}
		if err := checkGroups(ctx, tx, c.OrgID, c.GroupIDs); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE campaigns SET name = ?, sender = ?, body = ?, send_at = ?
			WHERE id = ? AND org_id = ? AND `+waiting, c.Name, c.From, c.Text, millis(c.SendAt), c.ID, c.OrgID, millis(now))
		if err != nil {
			return fmt.Errorf("store: change campaign %d: %w", c.ID, err)
		}
		if err := campaignChanged(ctx, tx, res, c.OrgID, c.ID); err != nil {
			return err
		}
		if err := setCampaignGroups(ctx, tx, c.ID, c.GroupIDs); err != nil {
			return err
		}
		return db.audit(ctx, tx, c.OrgID, actor, AuditCampaignChanged, c.Name, campaignWhen(c.SendAt))
	})
}

// campaignChanged turns the result of a conditional UPDATE of a waiting
// campaign into the error to answer: none when it changed the row,
// ENOTFOUND when the organisation has no such campaign, and CampaignLocked
// when it has one that no longer waits.
func campaignChanged(ctx context.Context, tx *Tx, res sql.Result, orgID, id int64) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 1 {
		return nil
	}
	var status string
	err = tx.QueryRowContext(ctx, `SELECT status FROM campaigns WHERE id = ? AND org_id = ?`, id, orgID).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("campaign")
	} else if err != nil {
		return fmt.Errorf("store: read campaign %d: %w", id, err)
	}
	return CampaignLocked(switchboard.CampaignStatus(status))
}

// ErrCampaignCancelled is the answer to a change or cancellation of a
// campaign that was cancelled.
var ErrCampaignCancelled = switchboard.Errorf(switchboard.ECONFLICT, "This campaign was cancelled; it can no longer be changed.")

// CampaignLocked is the error of a change to a campaign with status that
// no longer waits: ErrCampaignCancelled for a cancelled one,
// ErrCampaignStarted for any other (a scheduler holds or started it).
func CampaignLocked(status switchboard.CampaignStatus) error {
	if status == switchboard.CampaignCancelled {
		return ErrCampaignCancelled
	}
	return ErrCampaignStarted
}

// CancelCampaign cancels the organisation's campaign id while it waits,
// by the same conditional UPDATE as UpdateCampaign: nothing of it is ever
// sent. One that started is ErrCampaignStarted; another organisation's is
// ENOTFOUND.
func (db *DB) CancelCampaign(ctx context.Context, actor switchboard.Actor, orgID, id int64) error {
	now := db.Now()
	return db.tx(ctx, func(tx *Tx) error {
		var name string
		err := tx.QueryRowContext(ctx, `UPDATE campaigns SET status = 'cancelled' WHERE id = ? AND org_id = ? AND `+waiting+` RETURNING name`,
			id, orgID, millis(now)).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			return campaignChanged(ctx, tx, zeroRows{}, orgID, id)
		} else if err != nil {
			return fmt.Errorf("store: cancel campaign %d: %w", id, err)
		}
		return db.audit(ctx, tx, orgID, actor, AuditCampaignCancelled, name, "")
	})
}

// zeroRows is the result of an UPDATE … RETURNING that returned no row.
type zeroRows struct{}

func (zeroRows) LastInsertId() (int64, error) { return 0, nil }
func (zeroRows) RowsAffected() (int64, error) { return 0, nil }

// CampaignClaim is a due campaign leased to the scheduler that claimed it
// (ClaimCampaigns), with what it needs to compose the message before the
// start.
type CampaignClaim struct {
	ID    int64
	OrgID int64
	Text  string // as typed; the scheduler applies auto-replace
	// Until is the claim's lease: StartCampaign starts the campaign only
	// while this claim holds it.
	Until time.Time
}

// ClaimCampaigns leases up to limit campaigns due at now (scheduled, Send
// at passed, not held by another scheduler's lease) to the caller until
// now+CampaignLease, the earliest due first, as ClaimMessages does the
// message queue: however many schedulers of however many processes claim
// at once, each campaign goes to one of them. On PostgreSQL, FOR UPDATE
// SKIP LOCKED lets them pass over each other's rows; the conditions,
// repeated outside the subquery, are what PostgreSQL checks again on a row
// another scheduler changed meanwhile. SQLite's single writer runs the
// claims one at a time.
func (db *DB) ClaimCampaigns(ctx context.Context, now time.Time, limit int) ([]CampaignClaim, error) {
	if limit <= 0 {
		return nil, nil
	}
	skipLocked := ""
	if db.pg {
		skipLocked = " FOR UPDATE SKIP LOCKED"
	}
	until := now.Add(CampaignLease)
	var list []CampaignClaim
	err := db.tx(ctx, func(tx *Tx) error {
		list = list[:0]
		// The due campaigns are picked once, in a materialized CTE: as
		// IN (SELECT … LIMIT ? FOR UPDATE SKIP LOCKED), PostgreSQL's
		// generic plan ran the subquery again for rows of the outer
		// UPDATE and claimed every due campaign whatever the limit.
		rows, err := tx.QueryContext(ctx, `WITH due AS MATERIALIZED (SELECT id FROM campaigns
				WHERE status = 'scheduled' AND send_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?)
				ORDER BY send_at, id LIMIT ?`+skipLocked+`)
			UPDATE campaigns SET claimed_until = ? FROM due
			WHERE campaigns.id = due.id AND campaigns.status = 'scheduled' AND (campaigns.claimed_until IS NULL OR campaigns.claimed_until <= ?)
			RETURNING campaigns.id, campaigns.org_id, campaigns.body`,
			millis(now), millis(now), limit, millis(until), millis(now))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			cl := CampaignClaim{Until: fromMillis(millis(until))}
			if err := rows.Scan(&cl.ID, &cl.OrgID, &cl.Text); err != nil {
				return err
			}
			list = append(list, cl)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim campaigns: %w", err)
	}
	return list, nil
}

// NextCampaignAt returns when the next scheduled campaign is due (or the
// lease on one being started runs out), and false when none waits.
func (db *DB) NextCampaignAt(ctx context.Context) (time.Time, bool, error) {
	var next sql.NullInt64
	if err := db.queryRow(ctx, `SELECT MIN(CASE WHEN claimed_until > send_at THEN claimed_until ELSE send_at END)
		FROM campaigns WHERE status = 'scheduled'`).Scan(&next); err != nil {
		return time.Time{}, false, fmt.Errorf("store: next campaign: %w", err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	return fromMillis(next.Int64), true, nil
}

// CampaignStart is how a claimed campaign is to be sent: its text as it
// leaves (after the organisation's auto-replace), counted by package sms,
// and the price table and currency of the instance.
type CampaignStart struct {
	Claim    CampaignClaim
	Text     string
	Encoding switchboard.Encoding
	Parts    int
	Prices   *switchboard.PriceTable
	Currency switchboard.Currency
	// Problem, when set, is why the text cannot be sent (auto-replace
	// left nothing of it, or it is too long): the campaign fails with it.
	Problem string
}

// The reasons a campaign fails at its start, in PRODUCT.md's words (with
// InsufficientBalance's sentence for a balance that does not cover it).
const (
	ReasonNoContacts = "The groups have no contacts to send to."
	ReasonNoPrices   = "No number of the groups has a price: sending there is not offered."
)

// StartCampaign starts the claimed campaign s.Claim, in one transaction:
//
//   - a conditional UPDATE moves it from scheduled to sending, only while
//     the claim holds it: of two schedulers that got it (a lease ran out),
//     one starts it and the other finds nothing to do (false, nil);
//   - whom it goes to: the contacts of its groups, each number once,
//     without those who opted out, read now; numbers without a price are
//     left out and counted (Unpriced);
//   - the debit, the messages, their queue rows and the day's usage,
//     exactly as QueueMessages writes them, with the ledger line as the
//     campaign's batch; then its recipients, parts, cost and batch, and
//     the audit line campaign.started.
//
// When the balance (or a subaccount's budget, or its parent's balance)
// does not cover the cost, a subaccount's parent has suspended or closed
// it, or no one is left to send to, the campaign is failed instead, with
// the reason for people and the audit line campaign.failed, and nothing is debited or queued. It reports
// whether this call started or failed the campaign; the campaign as it is
// then is returned either way.
func (db *DB) StartCampaign(ctx context.Context, s CampaignStart) (*switchboard.Campaign, bool, error) {
	now := db.Now()
	var c switchboard.Campaign
	done := false
	err := db.tx(ctx, func(tx *Tx) error {
		done = false
		// The organisation's row first, as every spend of it: the debit
		// locks it anyway, and a transaction that changes the campaign
		// (UpdateCampaign) takes the same order.
		if err := tx.lockOrganisation(ctx, s.Claim.OrgID); err != nil {
			return err
		}
		var createdBy sql.NullInt64
		err := tx.QueryRowContext(ctx, `UPDATE campaigns SET status = 'sending', started_at = ?, claimed_until = NULL
			WHERE id = ? AND org_id = ? AND status = 'scheduled' AND claimed_until = ?
			RETURNING name, sender, created_by`,
			millis(now), s.Claim.ID, s.Claim.OrgID, millis(s.Claim.Until)).Scan(&c.Name, &c.From, &createdBy)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // cancelled, started by another, or the lease ran out
		} else if err != nil {
			return fmt.Errorf("store: start campaign %d: %w", s.Claim.ID, err)
		}
		done = true
		c.ID, c.OrgID = s.Claim.ID, s.Claim.OrgID
		fail := func(reason string) error {
			c.Status, c.Reason = switchboard.CampaignFailed, reason
			if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET status = 'failed', reason = ?, unpriced = ? WHERE id = ?`, reason, c.Unpriced, c.ID); err != nil {
				return fmt.Errorf("store: fail campaign %d: %w", c.ID, err)
			}
			return db.audit(ctx, tx, c.OrgID, SchedulerActor, AuditCampaignFailed, c.Name, reason)
		}
		if s.Problem != "" {
			return fail(s.Problem)
		}

		groups, err := campaignGroupIDs(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		phones, err := groupPhones(ctx, tx, c.OrgID, groups)
		if err != nil {
			return err
		}
		if len(phones) == 0 {
			return fail(ReasonNoContacts)
		}
		b := Batch{OrgID: c.OrgID, Currency: s.Currency, Messages: make([]switchboard.Message, 0, len(phones))}
		if createdBy.Valid {
			b.Actor.ProfileID = createdBy.Int64
		}
		var cost switchboard.Money
		for _, phone := range phones {
			price, ok := s.Prices.Lookup(phone)
			if !ok {
				c.Unpriced++
				continue
			}
			m := switchboard.Message{From: c.From, To: phone, Text: s.Text, Encoding: s.Encoding, Parts: s.Parts, Price: price.PerPart * switchboard.Money(s.Parts)}
			cost += m.Price
			b.Messages = append(b.Messages, m)
		}
		if len(b.Messages) == 0 {
			return fail(ReasonNoPrices)
		}
		b.Description = "Campaign " + c.Name + ": " + switchboard.Plural(len(b.Messages), "message", "messages") + " from " + c.From
		batchID, err := db.queueMessages(ctx, tx, b, now)
		if code := switchboard.ErrorCode(err); code == switchboard.EPAYMENT || code == switchboard.EFORBIDDEN {
			// The debit's conditional UPDATEs changed nothing (a balance
			// or budget short, a subaccount suspended or closed by its
			// parent): the transaction goes on, to record why.
			return fail(switchboard.ErrorMessage(err))
		} else if err != nil {
			return err
		}
		c.Status, c.Recipients, c.Parts, c.Cost, c.BatchID = switchboard.CampaignSending, len(b.Messages), s.Parts*len(b.Messages), cost, batchID
		_, err = tx.ExecContext(ctx, `UPDATE campaigns SET recipients = ?, parts = ?, cost = ?, batch_id = ?, queued = ?, unpriced = ? WHERE id = ?`,
			c.Recipients, c.Parts, int64(c.Cost), batchID, c.Recipients, c.Unpriced, c.ID)
		if err != nil {
			return fmt.Errorf("store: start campaign %d: %w", c.ID, err)
		}
		detail := switchboard.Plural(c.Recipients, "recipient", "recipients") + ", " + s.Currency.Format(c.Cost)
		return db.audit(ctx, tx, c.OrgID, SchedulerActor, AuditCampaignStarted, c.Name, detail)
	})
	if err != nil {
		return nil, false, err
	}
	if !done {
		return nil, false, nil
	}
	return &c, true, nil
}

// campaignGroupIDs returns the groups of a campaign.
func campaignGroupIDs(ctx context.Context, tx *Tx, id int64) ([]int64, error) {
	ids, err := column[int64](tx.QueryContext(ctx, `SELECT group_id FROM campaign_groups WHERE campaign_id = ? ORDER BY group_id`, id))
	if err != nil {
		return nil, fmt.Errorf("store: read the groups of campaign %d: %w", id, err)
	}
	return ids, nil
}

// CampaignAudience returns whom a campaign to the organisation's groups
// would go to now, for its preview: the numbers of the groups' contacts,
// each once, without those who opted out, and how many opted out. A group
// of another organisation is ENOTFOUND.
func (db *DB) CampaignAudience(ctx context.Context, orgID int64, groupIDs []int64) (phones []string, optedOut int, err error) {
	phones, err = db.GroupPhones(ctx, orgID, groupIDs)
	if err != nil || len(groupIDs) == 0 {
		return phones, 0, err
	}
	args := []any{orgID}
	for _, id := range groupIDs {
		args = append(args, id)
	}
	args = append(args, orgID)
	err = db.queryRow(ctx, `SELECT COUNT(*) FROM contacts c
		WHERE c.org_id = ? AND EXISTS (SELECT 1 FROM group_contacts gc WHERE gc.contact_id = c.id AND gc.group_id IN (?`+strings.Repeat(", ?", len(groupIDs)-1)+`))
		AND EXISTS (SELECT 1 FROM opt_outs o WHERE o.org_id = ? AND o.phone = c.phone)`, args...).Scan(&optedOut)
	if err != nil {
		return nil, 0, fmt.Errorf("store: count the opted out of groups of organisation %d: %w", orgID, err)
	}
	return phones, optedOut, nil
}
