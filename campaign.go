package switchboard

import (
	"strings"
	"time"
	"unicode/utf8"
)

// CampaignStatus is where a campaign is (PRODUCT.md § Messages and the
// gateway, Campaigns).
type CampaignStatus string

// The statuses of a campaign. Only a scheduled campaign may be edited or
// cancelled; the scheduler moves it to sending (the debit and the queue,
// in one transaction) and then to sent, or to failed with the reason.
const (
	CampaignScheduled CampaignStatus = "scheduled"
	CampaignSending   CampaignStatus = "sending"
	CampaignSent      CampaignStatus = "sent"
	CampaignCancelled CampaignStatus = "cancelled"
	CampaignFailed    CampaignStatus = "failed"
)

// Label is the status as people read it: "Scheduled".
func (s CampaignStatus) Label() string {
	switch s {
	case CampaignScheduled:
		return "Scheduled"
	case CampaignSending:
		return "Sending"
	case CampaignSent:
		return "Sent"
	case CampaignCancelled:
		return "Cancelled"
	case CampaignFailed:
		return "Failed"
	}
	return string(s)
}

// Campaign is a message to one or more groups, sent now or at SendAt.
type Campaign struct {
	ID       int64
	OrgID    int64
	Name     string
	From     string
	GroupIDs []int64
	Groups   []Group // when read with them
	Text     string  // as typed; auto-replace is applied when it starts
	SendAt   time.Time
	Status   CampaignStatus
	Reason   string // why it failed, for people

	// Known once it started: whom it went to, its parts and cost (the
	// spend's ledger line is BatchID, which its messages carry).
	Recipients int
	Parts      int
	Cost       Money
	BatchID    int64
	// Unpriced is how many numbers of the groups were left out at the
	// start because no price covers them.
	Unpriced int
	// Counts by message status, when read with them.
	Counts map[MessageStatus]int

	CreatedBy int64
	CreatedAt time.Time
	StartedAt *time.Time
}

// MaxCampaignName is the longest campaign name.
const MaxCampaignName = 100

// MaxMessageText is the longest text a message or campaign takes, in
// characters: ten UCS-2 parts' worth is more than any real campaign.
const MaxMessageText = 1600

// Validate trims the fields and checks what can be checked without the
// database: the sender name and the groups are checked against the
// organisation's by the store.
func (c *Campaign) Validate() error {
	f := FieldErrors{}
	c.Name = strings.TrimSpace(c.Name)
	c.From = strings.TrimSpace(c.From)
	if c.Name == "" {
		f.Add("name", "Enter the campaign's name, such as Spring sale.")
	} else if utf8.RuneCountInString(c.Name) > MaxCampaignName {
		f.Add("name", "A campaign's name can be at most 100 characters.")
	}
	if c.From == "" {
		f.Add("from", "Choose who the message is from.")
	}
	if len(c.GroupIDs) == 0 {
		f.Add("groups", "Choose at least one group to send to.")
	}
	if strings.TrimSpace(c.Text) == "" {
		f.Add("text", "Write the message.")
	} else if utf8.RuneCountInString(c.Text) > MaxMessageText {
		f.Add("text", "A message can be at most 1,600 characters.")
	}
	return f.Err()
}

// SubscriptionLink is a public page (/s/{token}, no login) where people
// join a group by giving their number and ticking the consent.
type SubscriptionLink struct {
	ID          int64
	OrgID       int64
	Name        string
	GroupID     int64
	GroupName   string
	ConsentText string
	// Token is the link's part of the address: random, not a secret (the
	// page is public), unguessable so that links cannot be listed.
	Token     string
	Active    bool
	Joins     int
	CreatedBy int64
	CreatedAt time.Time
	// OrgName and Country are the organisation's, read with the link for
	// its public page: the name people see, and the country a number
	// typed without its code takes.
	OrgName string
	Country string
}

// Validate trims the fields and checks them.
func (l *SubscriptionLink) Validate() error {
	f := FieldErrors{}
	l.Name = strings.TrimSpace(l.Name)
	l.ConsentText = strings.TrimSpace(l.ConsentText)
	if l.Name == "" {
		f.Add("name", "Enter the link's name, such as Website footer.")
	} else if utf8.RuneCountInString(l.Name) > 100 {
		f.Add("name", "A link's name can be at most 100 characters.")
	}
	if l.GroupID == 0 {
		f.Add("group", "Choose the group people join.")
	}
	if l.ConsentText == "" {
		f.Add("consent_text", "Write what people agree to, such as: I agree to receive offers by SMS.")
	} else if utf8.RuneCountInString(l.ConsentText) > 1000 {
		f.Add("consent_text", "Consent text can be at most 1,000 characters.")
	}
	return f.Err()
}

// Product is a product an organisation asks the operator for.
type Product string

// The products of PRODUCT.md § Contacts and the public pages.
const (
	ProductSMS              Product = "sms"
	ProductVirtualNumber    Product = "virtual_number"
	ProductVoice            Product = "voice"
	ProductWhatsAppBusiness Product = "whatsapp_business"
)

// Products lists the products in the order the form offers them.
var Products = []Product{ProductSMS, ProductVirtualNumber, ProductVoice, ProductWhatsAppBusiness}

// Label is the product's name: "WhatsApp Business".
func (p Product) Label() string {
	switch p {
	case ProductSMS:
		return "SMS"
	case ProductVirtualNumber:
		return "Virtual number"
	case ProductVoice:
		return "Voice"
	case ProductWhatsAppBusiness:
		return "WhatsApp Business"
	}
	return string(p)
}

// ProductStatus is where a product request is.
type ProductStatus string

// The statuses of a product request, decided by the operator.
const (
	ProductRequested ProductStatus = "requested"
	ProductActive    ProductStatus = "active"
	ProductDeclined  ProductStatus = "declined"
)

// Label is the status as people read it.
func (s ProductStatus) Label() string {
	switch s {
	case ProductRequested:
		return "Requested"
	case ProductActive:
		return "Active"
	case ProductDeclined:
		return "Declined"
	}
	return string(s)
}

// ProductRequest is an organisation's request for a product.
type ProductRequest struct {
	ID          int64
	OrgID       int64
	OrgName     string // for the operator's list
	Product     Product
	Note        string
	Status      ProductStatus
	Reason      string // why it was declined, when the operator said
	RequestedBy int64
	CreatedAt   time.Time
	DecidedAt   *time.Time
}

// Validate trims the note and checks the request.
func (r *ProductRequest) Validate() error {
	f := FieldErrors{}
	r.Note = strings.TrimSpace(r.Note)
	switch r.Product {
	case ProductSMS, ProductVirtualNumber, ProductVoice, ProductWhatsAppBusiness:
	default:
		f.Add("product", "Choose a product.")
	}
	if utf8.RuneCountInString(r.Note) > 1000 {
		f.Add("note", "A note can be at most 1,000 characters.")
	}
	return f.Err()
}
