package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/store"
	"switchboard/views"
)

// campaignsPageSize is how many campaigns a page of the list shows.
const campaignsPageSize = 50

// sendAtLayouts are the forms a datetime-local input sends: minutes, or
// seconds when the browser shows them.
var sendAtLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05"}

// sendAtInput is how Send at is written back into its input.
const sendAtInput = "2006-01-02T15:04"

// campaignFields are the single-valued fields of the campaign form, kept
// as typed when it is shown again.
var campaignFields = []string{"name", "from", "message", "when", "send_at", "action"}

// campaignPlan is what the campaign form would schedule, worked out from
// it: the campaign, and what its preview shows (whom the groups reach now,
// the text after auto-replace, parts and price).
type campaignPlan struct {
	campaign switchboard.Campaign
	send     *sendPlan
	values   url.Values
}

// campaignForm reads the campaign form: one value per field, and every
// ticked group (the one field that is a list).
func campaignForm(c echo.Context) (url.Values, error) {
	values, err := form(c)
	if err != nil {
		return nil, err
	}
	kept := url.Values{}
	for _, f := range campaignFields {
		if v, ok := values[f]; ok {
			kept[f] = v
		}
	}
	for _, g := range c.Request().PostForm["groups"] {
		if !slices.Contains(kept["groups"], g) {
			kept.Add("groups", g)
		}
	}
	return kept, nil
}

// planCampaign works the campaign form out: the campaign to save (its
// SendAt read in loc), and the preview. What is wrong is in
// plan.send.fields, by field. A group of another organisation is an
// ENOTFOUND error: the form offers only the organisation's.
func (s *Server) planCampaign(ctx context.Context, m *switchboard.Membership, values url.Values, senders []string, loc *time.Location, now time.Time) (*campaignPlan, error) {
	p := &sendPlan{fields: switchboard.FieldErrors{}}
	plan := &campaignPlan{send: p, values: values}
	c := &plan.campaign
	c.OrgID, c.Name, c.From = m.Org.ID, values.Get("name"), values.Get("from")
	c.Text = strings.ReplaceAll(values.Get("message"), "\r\n", "\n")
	if err := s.planMessage(ctx, m.Org.ID, c.Text, p); err != nil {
		return nil, err
	}
	if c.From != "" && !slices.Contains(senders, c.From) {
		p.fields.Add("from", "Choose a sender from the list: only approved sender names and the default sender can be used.")
	}
	for _, g := range values["groups"] {
		id, err := parseID(g)
		if err != nil {
			p.fields.Add("groups", "Choose the groups from the list.")
			continue
		}
		c.GroupIDs = append(c.GroupIDs, id)
	}

	c.SendAt = now
	if values.Get("when") == "at" {
		typed := strings.TrimSpace(values.Get("send_at"))
		at, ok := parseSendAt(typed, loc)
		switch {
		case typed == "":
			p.fields.Add("send_at", "Enter the date and time to send at, such as "+now.In(loc).Add(time.Hour).Format("2006-01-02 15:04")+", or choose Send now.")
		case !ok:
			p.fields.Add("send_at", "Enter Send at as a date and time, such as "+now.In(loc).Add(time.Hour).Format("2006-01-02 15:04")+".")
		case at.Before(now.Truncate(time.Minute)):
			p.fields.Add("send_at", "Send at is in the past: choose a time after "+now.In(loc).Format("2 Jan 2006 15:04")+" ("+loc.String()+"), or choose Send now.")
		default:
			c.SendAt = at
		}
	}
	if err := c.Validate(); err != nil {
		for field, msg := range switchboard.Fields(err) {
			if field == "text" {
				field = "message"
			}
			p.fields.Add(field, msg)
		}
	}

	if len(c.GroupIDs) > 0 {
		phones, optedOut, err := s.db.CampaignAudience(ctx, m.Org.ID, c.GroupIDs)
		if err != nil {
			return nil, err
		}
		p.preview.OptedOut = optedOut
		for _, n := range phones {
			price, ok := s.cfg.Prices.Lookup(n)
			if !ok {
				p.preview.Unpriced++
				continue
			}
			p.total += price.PerPart * switchboard.Money(p.count.Parts)
			p.preview.Recipients++
		}
		p.preview.Total = s.cfg.Currency.Format(p.total)
		if p.preview.Recipients == 0 && values.Get("when") != "at" {
			// Later, the groups may have contacts; now they have none.
			p.fields.Add("groups", store.ReasonNoContacts+" Add contacts to them, or choose other groups.")
		}
	}
	return plan, nil
}

// parseSendAt reads a datetime-local value in the member's zone.
func parseSendAt(typed string, loc *time.Location) (time.Time, bool) {
	for _, layout := range sendAtLayouts {
		if t, err := time.ParseInLocation(layout, typed, loc); err == nil && t.Year() >= 2000 && t.Year() <= 9999 {
			return t, true
		}
	}
	return time.Time{}, false
}

// campaignRow is the campaign as the pages show it, its times in loc.
func (s *Server) campaignRow(c *switchboard.Campaign, loc *time.Location) views.CampaignRow {
	r := views.CampaignRow{ID: c.ID, Name: c.Name, From: c.From, Text: c.Text, Status: c.Status, Reason: c.Reason,
		SendAt: c.SendAt.In(loc).Format("2 Jan 2006 15:04"), Recipients: c.Recipients, Unpriced: c.Unpriced, Parts: c.Parts,
		Cost: s.cfg.Currency.Format(c.Cost), Queued: c.Counts[switchboard.StatusQueued], Sent: c.Counts[switchboard.StatusSent],
		Delivered: c.Counts[switchboard.StatusDelivered], Failed: c.Counts[switchboard.StatusFailed], Groups: c.Groups}
	if c.StartedAt != nil {
		r.StartedAt = c.StartedAt.In(loc).Format("2 Jan 2006 15:04")
		// The campaign's messages: its sender, from the day it started.
		r.HistoryURL = switchboard.OrgPath(c.OrgID, "history") + "?from_date=" + c.StartedAt.In(loc).Format(time.DateOnly) + "&sender=" + url.QueryEscape(c.From)
	}
	return r
}

// handleCampaigns lists the organisation's campaigns, newest first, with
// their status and counts (kept in each campaign's row: the page never
// counts messages).
func (s *Server) handleCampaigns(c echo.Context) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	// A cursor that is not an id shows the newest page, as none does.
	before, _ := parseID(c.QueryParam("before"))
	list, next, err := s.db.ListCampaigns(ctx, m.Org.ID, before, campaignsPageSize)
	if err != nil {
		return err
	}
	loc := zoneOf(c)
	page := views.CampaignsPage{Membership: m, Next: next, First: before == 0, Campaigns: make([]views.CampaignRow, len(list))}
	for i := range list {
		page.Campaigns[i] = s.campaignRow(&list[i], loc)
	}
	return s.render(c, http.StatusOK, views.Campaigns(page))
}

// campaignFormPage builds the campaign form around f; cp is the campaign
// being changed (nil for a new one).
func (s *Server) campaignFormPage(c echo.Context, f views.Form, senders []string, cp *views.CampaignRow, preview *views.SendPreview) (views.CampaignFormPage, error) {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	groups, err := s.db.ListGroups(ctx, m.Org.ID)
	if err != nil {
		return views.CampaignFormPage{}, err
	}
	funds, budgetLeft, err := s.sendFunds(ctx, m)
	if err != nil {
		return views.CampaignFormPage{}, err
	}
	if preview != nil {
		preview.BudgetLeft = budgetLeft
	}
	return views.CampaignFormPage{Membership: m, Campaign: cp, Form: f, Senders: senders, Groups: groups, Zone: zoneOf(c).String(),
		Funds: funds, Preview: preview}, nil
}

// handleCampaignNewForm shows an empty campaign form.
func (s *Server) handleCampaignNewForm(c echo.Context) error {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	senders, err := s.senders(ctx, m.Org.ID)
	if err != nil {
		return err
	}
	page, err := s.campaignFormPage(c, views.Form{Values: url.Values{"from": {senders[0]}, "when": {"now"}}}, senders, nil, nil)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.CampaignForm(page))
}

// handleCampaignCreate answers both buttons of the form: Preview shows
// whom the campaign reaches now and what it would cost (200, the form
// kept); Schedule checks it all again and saves it, due at Send at or at
// once, and wakes the scheduler.
func (s *Server) handleCampaignCreate(c echo.Context) error {
	return s.saveCampaign(c, nil)
}

// saveCampaign is the POST of the campaign form, new (existing nil) or
// changed.
func (s *Server) saveCampaign(c echo.Context, existing *switchboard.Campaign) error {
	values, err := campaignForm(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	senders, err := s.senders(ctx, m.Org.ID)
	if err != nil {
		return err
	}
	loc := zoneOf(c)
	plan, err := s.planCampaign(ctx, m, values, senders, loc, time.Now())
	if err != nil {
		return err
	}
	var row *views.CampaignRow
	if existing != nil {
		r := s.campaignRow(existing, loc)
		row = &r
	}
	status := http.StatusOK
	f := views.Form{Values: values, Errors: plan.send.fields}
	if values.Get("action") == "schedule" {
		if len(plan.send.fields) == 0 {
			cp := &plan.campaign
			if existing == nil {
				err = s.db.CreateCampaign(ctx, s.actor(c), cp)
			} else {
				cp.ID = existing.ID
				err = s.db.UpdateCampaign(ctx, s.actor(c), cp)
			}
			if err == nil {
				s.notifyCampaigns()
				s.flash(c, campaignFlash(cp, existing != nil, loc))
				return redirect(c, switchboard.OrgPath(m.Org.ID, "campaigns/"+strconv.FormatInt(cp.ID, 10)))
			}
			switch {
			case switchboard.ErrorCode(err) == switchboard.EFORBIDDEN:
				// A subaccount its parent suspended or closed.
				status = http.StatusForbidden
			case errors.Is(err, store.ErrCampaignStarted), errors.Is(err, store.ErrCampaignCancelled):
				// Taken by the scheduler meanwhile.
				status = http.StatusUnprocessableEntity
			default:
				return err
			}
			// The form stays as typed, the campaign as it was.
			f.Message = switchboard.ErrorMessage(err)
		} else {
			status = http.StatusUnprocessableEntity
		}
	}
	page, err := s.campaignFormPage(c, f, senders, row, &plan.send.preview)
	if err != nil {
		return err
	}
	return s.render(c, status, views.CampaignForm(page))
}

// campaignFlash is what the person is told once a campaign is saved.
func campaignFlash(c *switchboard.Campaign, changed bool, loc *time.Location) string {
	verb := "is scheduled"
	if changed {
		verb = "was changed"
	}
	if !c.SendAt.After(time.Now()) {
		return "The campaign " + c.Name + " " + verb + " and starts now."
	}
	return "The campaign " + c.Name + " " + verb + " for " + c.SendAt.In(loc).Format("2 Jan 2006 15:04") + " (" + loc.String() + ")."
}

// handleCampaignPreview answers the live count of the campaign form: the
// preview panel alone, with the form's problems listed in it, for
// static/app.js to put in place of the one on the page.
func (s *Server) handleCampaignPreview(c echo.Context) error {
	values, err := campaignForm(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	senders, err := s.senders(ctx, m.Org.ID)
	if err != nil {
		return err
	}
	plan, err := s.planCampaign(ctx, m, values, senders, zoneOf(c), time.Now())
	if err != nil {
		return err
	}
	// A field not filled in yet is not a problem while typing.
	for _, field := range []string{"from", "groups", "message", "send_at"} {
		if msg := plan.send.fields[field]; msg != "" && len(values[field]) > 0 && strings.TrimSpace(values.Get(field)) != "" {
			plan.send.preview.Problems = append(plan.send.preview.Problems, msg)
		}
	}
	if err := s.budgetBeside(ctx, m, &plan.send.preview); err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.SendPreviewPanel(&plan.send.preview))
}

// campaignOf reads the campaign of the URL within the organisation of
// the URL: another organisation's is 404, as a missing one.
func (s *Server) campaignOf(c echo.Context) (*switchboard.Campaign, error) {
	id, err := parseID(c.Param("campaign"))
	if err != nil {
		return nil, echo.ErrNotFound
	}
	m := switchboard.MembershipFromContext(c.Request().Context())
	return s.db.FindCampaign(c.Request().Context(), m.Org.ID, id)
}

// handleCampaign shows one campaign: details, counts, and while it waits,
// the links to change and cancel it.
func (s *Server) handleCampaign(c echo.Context) error {
	cp, err := s.campaignOf(c)
	if err != nil {
		return err
	}
	loc := zoneOf(c)
	m := switchboard.MembershipFromContext(c.Request().Context())
	return s.render(c, http.StatusOK, views.Campaign(views.CampaignPage{Membership: m, Campaign: s.campaignRow(cp, loc), Zone: loc.String()}))
}

// handleCampaignEditForm shows the form of a waiting campaign, filled in,
// Send at in the member's zone.
func (s *Server) handleCampaignEditForm(c echo.Context) error {
	cp, err := s.campaignOf(c)
	if err != nil {
		return err
	}
	if cp.Status != switchboard.CampaignScheduled {
		return store.CampaignLocked(cp.Status)
	}
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	senders, err := s.senders(ctx, m.Org.ID)
	if err != nil {
		return err
	}
	loc := zoneOf(c)
	values := url.Values{"name": {cp.Name}, "from": {cp.From}, "message": {cp.Text}, "when": {"at"}, "send_at": {cp.SendAt.In(loc).Format(sendAtInput)}}
	for _, id := range cp.GroupIDs {
		values.Add("groups", strconv.FormatInt(id, 10))
	}
	row := s.campaignRow(cp, loc)
	page, err := s.campaignFormPage(c, views.Form{Values: values}, senders, &row, nil)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.CampaignForm(page))
}

// handleCampaignEdit saves the changed campaign while it waits; see
// store.UpdateCampaign.
func (s *Server) handleCampaignEdit(c echo.Context) error {
	cp, err := s.campaignOf(c)
	if err != nil {
		return err
	}
	if cp.Status != switchboard.CampaignScheduled {
		return store.CampaignLocked(cp.Status)
	}
	return s.saveCampaign(c, cp)
}

// handleCampaignCancelConfirm asks before cancelling a waiting campaign.
func (s *Server) handleCampaignCancelConfirm(c echo.Context) error {
	cp, err := s.campaignOf(c)
	if err != nil {
		return err
	}
	m := switchboard.MembershipFromContext(c.Request().Context())
	page := views.ConfirmPage{
		Title:       "Cancel the campaign " + cp.Name + "?",
		Consequence: "Nothing of it will be sent and nothing will be paid. The campaign stays in the list as Cancelled.",
		Action:      switchboard.OrgPath(m.Org.ID, "campaigns/"+strconv.FormatInt(cp.ID, 10)+"/cancel"),
		Button:      "Cancel campaign",
		CancelURL:   switchboard.OrgPath(m.Org.ID, "campaigns/"+strconv.FormatInt(cp.ID, 10)),
	}
	if cp.Status != switchboard.CampaignScheduled {
		page.Blocked = switchboard.ErrorMessage(store.CampaignLocked(cp.Status))
	}
	return s.render(c, http.StatusOK, views.Confirm(page))
}

// handleCampaignCancel cancels a waiting campaign; one the scheduler took
// meanwhile answers 422 and stays as it is.
func (s *Server) handleCampaignCancel(c echo.Context) error {
	cp, err := s.campaignOf(c)
	if err != nil {
		return err
	}
	m := switchboard.MembershipFromContext(c.Request().Context())
	if err := s.db.CancelCampaign(c.Request().Context(), s.actor(c), m.Org.ID, cp.ID); err != nil {
		return err
	}
	s.flash(c, "The campaign "+cp.Name+" was cancelled; nothing of it will be sent.")
	return redirect(c, switchboard.OrgPath(m.Org.ID, "campaigns"))
}

// notifyCampaigns wakes the scheduler after a campaign was scheduled or
// changed.
func (s *Server) notifyCampaigns() {
	if s.cfg.Campaigns != nil {
		s.cfg.Campaigns.Notify()
	}
}
