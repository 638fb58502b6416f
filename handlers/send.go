package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"switchboard"
	"switchboard/sms"
	"switchboard/store"
	"switchboard/views"
)

// afterSend is the section a successful send leads to: the History page,
// where the messages just queued are listed with their status.
const afterSend = "history"

// maxMessageInput bounds the Message as typed, before auto-replace and
// counting: far above what ten parts hold, far below the body limit.
const maxMessageInput = 5000

// shownProblems is how many invalid entries the To error names before it
// says how many more there are.
const shownProblems = 5

// sendSection puts the request in the navigation's "Send SMS" section,
// whose link is messages/new (orgRoute takes the first segment only).
func sendSection(c echo.Context) {
	ctx := c.Request().Context()
	sec, _ := ctx.Value(sectionKey).(section)
	sec.path = "messages/new"
	c.SetRequest(c.Request().WithContext(context.WithValue(ctx, sectionKey, sec)))
}

// senders returns the From choices: the organisation's approved sender
// names, then the instance's default sender.
func (s *Server) senders(ctx context.Context, orgID int64) ([]string, error) {
	names, err := s.db.ApprovedSenderNames(ctx, orgID)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(names, s.cfg.DefaultSender) {
		names = append(names, s.cfg.DefaultSender)
	}
	return names, nil
}

// sendPlan is what a send would do, worked out from the form: the
// preview shows it, Send queues it.
type sendPlan struct {
	from    string
	text    string // after auto-replace
	count   sms.Count
	numbers []string // E.164, unique, without the opted out
	prices  []switchboard.Money
	total   switchboard.Money
	preview views.SendPreview
	fields  switchboard.FieldErrors
}

// planSend reads the Send SMS form and works out the send: who it goes to
// (the valid, unique numbers that did not opt out), the text as it leaves
// after auto-replace, its parts and price. What is wrong is in plan.fields,
// by field; the preview is filled as far as it can be either way.
func (s *Server) planSend(ctx context.Context, m *switchboard.Membership, values url.Values, senders []string) (*sendPlan, error) {
	p := &sendPlan{fields: switchboard.FieldErrors{}}
	p.from = values.Get("from")
	if !slices.Contains(senders, p.from) {
		p.fields.Add("from", "Choose a sender from the list: only approved sender names and the default sender can be used.")
	}

	if err := s.planMessage(ctx, m.Org.ID, values.Get("message"), p); err != nil {
		return nil, err
	}

	// The Groups ticked: their contacts' numbers, without those who
	// opted out; another organisation's group is 404 (GroupPhones).
	groupIDs, err := formGroups(values["groups"])
	if err != nil {
		return nil, err
	}
	var groupNumbers []string
	if len(groupIDs) > 0 {
		if groupNumbers, err = s.db.GroupPhones(ctx, m.Org.ID, groupIDs); err != nil {
			return nil, err
		}
	}

	rs, err := sms.ParseRecipients(values.Get("to"), m.Org.Country)
	if tm, ok := errors.AsType[*sms.TooManyError](err); ok {
		p.fields.Add("to", tm.Error())
		return p, nil
	} else if err != nil {
		return nil, err
	}
	p.preview.Invalid, p.preview.Duplicates = len(rs.Invalid), rs.Duplicates
	if len(rs.Invalid) > 0 {
		var lines []string
		for _, pr := range rs.Invalid[:min(len(rs.Invalid), shownProblems)] {
			lines = append(lines, pr.String())
		}
		if more := len(rs.Invalid) - shownProblems; more > 0 {
			lines = append(lines, switchboard.Plural(more, "more entry", "more entries")+" could not be read either.")
		}
		p.fields.Add("to", strings.Join(lines, " "))
	}
	if rs.Entries == 0 && len(groupIDs) == 0 {
		p.fields.Add("to", "Enter at least one phone number.")
	}
	out, err := s.db.OptedOut(ctx, m.Org.ID, rs.Numbers)
	if err != nil {
		return nil, err
	}
	p.preview.OptedOut = len(out)
	// The numbers typed, then the groups' numbers not typed: each once.
	numbers := rs.Numbers
	if len(groupNumbers) > 0 {
		typed := make(map[string]bool, len(rs.Numbers))
		for _, n := range rs.Numbers {
			typed[n] = true
		}
		numbers = slices.Clip(rs.Numbers)
		for _, n := range groupNumbers {
			if typed[n] {
				p.preview.Duplicates++
				continue
			}
			numbers = append(numbers, n)
		}
	}
	unpriced := s.priceNumbers(numbers, out, p)
	if len(unpriced) > 0 {
		p.fields.Add("to", noPriceMessage(unpriced))
	} else {
		p.preview.Total = s.cfg.Currency.Format(p.total)
	}
	if len(rs.Invalid) == 0 && len(unpriced) == 0 && len(p.numbers) == 0 {
		switch {
		case len(groupIDs) > 0:
			p.fields.Add("groups", "There is no one to send to: the groups ticked are empty, or everyone in them opted out of your messages.")
		case rs.Entries > 0:
			p.fields.Add("to", "Every number on the list opted out of your messages, so there is no one to send to.")
		}
	}
	return p, nil
}

// priceNumbers puts into p the numbers to send to, those of numbers that
// did not opt out (out), each with its price for p's parts, and their
// total; it returns the numbers that have no price. Send SMS and the API
// share it.
func (s *Server) priceNumbers(numbers []string, out map[string]bool, p *sendPlan) (unpriced []string) {
	p.numbers = make([]string, 0, len(numbers)-len(out))
	p.prices = make([]switchboard.Money, 0, len(numbers)-len(out))
	for _, n := range numbers {
		if out[n] {
			continue
		}
		price, ok := s.cfg.Prices.Lookup(n)
		if !ok {
			unpriced = append(unpriced, n)
			continue
		}
		cost := price.PerPart * switchboard.Money(p.count.Parts)
		p.numbers = append(p.numbers, n)
		p.prices = append(p.prices, cost)
		p.total += cost
	}
	p.preview.Recipients = len(p.numbers)
	return unpriced
}

// noPriceMessage says that the first of the numbers has no price, and how
// many more have none.
func noPriceMessage(unpriced []string) string {
	msg := switchboard.NoPriceError(unpriced[0])
	if len(unpriced) > 1 {
		msg += fmt.Sprintf(" The same holds for %s more on the list.", switchboard.Plural(len(unpriced)-1, "number", "numbers"))
	}
	return msg
}

// planMessage reads the Message as typed into p: the text as it leaves
// after the organisation's auto-replace, its count of characters and
// parts, the preview's first facts, and what is wrong with it in
// p.fields["message"]. Send SMS and campaigns share it.
func (s *Server) planMessage(ctx context.Context, orgID int64, typed string, p *sendPlan) error {
	ar, err := s.db.AutoReplace(ctx, orgID)
	if err != nil {
		return err
	}
	planText(typed, ar, p)
	return nil
}

// planText is planMessage with the auto-replace to apply, ar: the API
// reads its own (the API configuration's mode).
func planText(typed string, ar switchboard.AutoReplace, p *sendPlan) {
	// Browsers send a textarea's line breaks as CR LF; a phone shows one
	// line break, and GSM-7 would count two characters for it.
	message := strings.ReplaceAll(typed, "\r\n", "\n")
	switch {
	case strings.TrimSpace(message) == "":
		p.fields.Add("message", "Enter the message.")
	case !utf8.ValidString(message) || utf8.RuneCountInString(message) > maxMessageInput:
		p.fields.Add("message", fmt.Sprintf("A message is at most %d parts: %d GSM-7 characters, or %d with characters outside GSM-7 (UCS-2). Shorten it.",
			sms.MaxParts, sms.MaxParts*sms.GSM7Multi, sms.MaxParts*sms.UCS2Multi))
		message = ""
	case strings.ContainsFunc(message, func(r rune) bool { return r < ' ' && r != '\n' && r != '\r' && r != '\t' && r != '\f' || r == 0x7F }):
		// A NUL would not even be stored (PostgreSQL refuses it in text).
		p.fields.Add("message", "The message holds control characters that cannot be sent. Type it again, or paste it as plain text.")
		message = ""
	}
	p.text = sms.Apply(message, ar)
	p.count = sms.Encode(p.text)
	if strings.TrimSpace(p.text) == "" && strings.TrimSpace(message) != "" {
		p.fields.Add("message", "Auto-replace leaves nothing of this message. Change the message, or the replacements on the Auto-replace page.")
	}
	if p.count.Parts > sms.MaxParts {
		p.fields.Add("message", fmt.Sprintf("A message is at most %d parts: %d GSM-7 characters, or %d with characters outside GSM-7 (UCS-2). This one is %d parts; shorten it.",
			sms.MaxParts, sms.MaxParts*sms.GSM7Multi, sms.MaxParts*sms.UCS2Multi, p.count.Parts))
	}
	p.preview = views.SendPreview{Encoding: p.count.Encoding, Characters: p.count.Characters, Parts: p.count.Parts, PerPart: p.count.PerPart,
		Text: p.text, Replaced: p.text != message}
}

// sendPage builds the Send SMS page around the form.
func (s *Server) sendPage(c echo.Context, f views.Form, senders []string, preview *views.SendPreview) (views.SendPage, error) {
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	funds, budgetLeft, err := s.sendFunds(ctx, m)
	if err != nil {
		return views.SendPage{}, err
	}
	if preview != nil {
		preview.BudgetLeft = budgetLeft
	}
	hint := "One number per line, or separated by commas. Write each with its country code (+372…), or set your organisation's country in Organisation details to leave it out."
	if code := sms.CallingCode(m.Org.Country); code != 0 {
		hint = "One number per line, or separated by commas. A number without a country code is taken as +" + strconv.Itoa(code) + "."
	}
	groups, err := s.db.ListGroups(ctx, m.Org.ID)
	if err != nil {
		return views.SendPage{}, err
	}
	return views.SendPage{Membership: m, Form: f, Senders: senders, ToHint: hint, Funds: funds, Preview: preview, Groups: groups}, nil
}

func (s *Server) handleSendForm(c echo.Context) error {
	sendSection(c)
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	senders, err := s.senders(ctx, m.Org.ID)
	if err != nil {
		return err
	}
	// A contact's or a group's Send SMS link fills To (?to=) or ticks the
	// group (?group=ID); another organisation's group is 404.
	values := url.Values{"from": {senders[0]}}
	if to := c.QueryParam("to"); to != "" && len(to) <= maxMessageInput {
		values.Set("to", to)
	}
	groupIDs, err := formGroups(c.QueryParams()["group"])
	if err != nil {
		return err
	}
	for _, id := range groupIDs {
		if _, err := s.db.FindGroup(ctx, m.Org.ID, id); err != nil {
			return err
		}
		values.Add("groups", strconv.FormatInt(id, 10))
	}
	page, err := s.sendPage(c, views.Form{Values: values}, senders, nil)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.SendSMS(page))
}

// handleSend answers both buttons of the form: Preview shows what the send
// would be (200, the form kept, its problems beside the fields); Send
// checks it all again, then debits and queues in one transaction.
func (s *Server) handleSend(c echo.Context) error {
	sendSection(c)
	values, err := form(c)
	if err != nil {
		return err
	}
	values["groups"] = c.Request().PostForm["groups"]
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	senders, err := s.senders(ctx, m.Org.ID)
	if err != nil {
		return err
	}
	plan, err := s.planSend(ctx, m, values, senders)
	if err != nil {
		return err
	}
	status := http.StatusOK
	f := views.Form{Values: values, Errors: plan.fields}
	if values.Get("action") == "send" {
		if len(plan.fields) == 0 {
			n, err := s.queueSend(c, m, plan)
			if err == nil {
				s.notifyDeliveries()
				s.flash(c, switchboard.Plural(n, "message", "messages")+" queued.")
				return redirect(c, switchboard.OrgPath(m.Org.ID, afterSend))
			}
			refused, ok := sendRefusal(err)
			if !ok {
				return err
			}
			f.Message, status = switchboard.ErrorMessage(err), refused
		} else {
			status = http.StatusUnprocessableEntity
		}
	}
	page, err := s.sendPage(c, f, senders, &plan.preview)
	if err != nil {
		return err
	}
	return s.render(c, status, views.SendSMS(page))
}

// queueSend debits the plan's total and queues one message per recipient
// (store.QueueMessages: one transaction, nothing queued when the balance
// does not cover it). It returns how many were queued.
func (s *Server) queueSend(c echo.Context, m *switchboard.Membership, plan *sendPlan) (int, error) {
	msgs := make([]switchboard.Message, len(plan.numbers))
	for i, n := range plan.numbers {
		msgs[i] = switchboard.Message{From: plan.from, To: n, Text: plan.text, Encoding: plan.count.Encoding, Parts: plan.count.Parts, Price: plan.prices[i]}
	}
	_, err := s.db.QueueMessages(c.Request().Context(), store.Batch{
		OrgID: m.Org.ID, Actor: s.actor(c), Messages: msgs, Currency: s.cfg.Currency,
		Description: switchboard.Plural(len(msgs), "message", "messages") + " from " + plan.from,
	})
	return len(msgs), err
}

// handleSendPreview answers the live count: the preview panel alone, with
// the form's problems listed in it, for static/app.js to put in place of
// the one on the page as the person types.
func (s *Server) handleSendPreview(c echo.Context) error {
	values, err := form(c)
	if err != nil {
		return err
	}
	values["groups"] = c.Request().PostForm["groups"]
	ctx := c.Request().Context()
	m := switchboard.MembershipFromContext(ctx)
	senders, err := s.senders(ctx, m.Org.ID)
	if err != nil {
		return err
	}
	plan, err := s.planSend(ctx, m, values, senders)
	if err != nil {
		return err
	}
	// A field not filled in yet is not a problem while typing.
	for _, field := range []string{"from", "to", "message"} {
		if msg := plan.fields[field]; msg != "" && strings.TrimSpace(values.Get(field)) != "" {
			plan.preview.Problems = append(plan.preview.Problems, msg)
		}
	}
	if err := s.budgetBeside(ctx, m, &plan.preview); err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.SendPreviewPanel(&plan.preview))
}

// maxSendGroups bounds the groups of one send: far more than a page lists.
const maxSendGroups = 1000

// formGroups reads the group ids of the Groups checkboxes, each once. A
// value that is not an id answers 404, as another organisation's group
// does: neither is a group of this organisation.
func formGroups(values []string) ([]int64, error) {
	if len(values) > maxSendGroups {
		return nil, errNoGroup
	}
	var ids []int64
	for _, v := range values {
		id, err := parseID(v)
		if err != nil {
			return nil, errNoGroup
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}
