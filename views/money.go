package views

import (
	"strings"
	"time"

	"switchboard"
)

// zonedDate and zonedTime show t in the reader's time zone loc.
func zonedDate(t time.Time, loc *time.Location) string { return t.In(loc).Format("2 Jan 2006") }

func zonedTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2 Jan 2006 15:04 MST")
}

// addressLines splits an address typed on several lines.
func addressLines(a string) []string {
	var lines []string
	for _, l := range strings.Split(strings.ReplaceAll(a, "\r\n", "\n"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// signed writes a ledger amount with its sign: "+€50.00", "-€0.15".
func signed(cur switchboard.Currency, m switchboard.Money) string {
	if m > 0 {
		return "+" + cur.Format(m)
	}
	return cur.Format(m)
}

// invoicePath is the address of the organisation's invoice page.
func invoicePath(orgID int64, number string) string {
	return orgPath(orgID, "invoices/"+number)
}

// invoiceStatus is an invoice's status as people read it.
func invoiceStatus(inv switchboard.Invoice, loc *time.Location) string {
	if inv.PaidAt != nil {
		return "Paid on " + zonedDate(*inv.PaidAt, loc)
	}
	return "Unpaid"
}

// countryOptions lists the countries for the Country select, after a
// first choice of none.
func countryOptions() []Option {
	list := make([]Option, 0, len(switchboard.Countries)+1)
	list = append(list, Option{Value: "", Label: "Choose a country"})
	for _, c := range switchboard.Countries {
		list = append(list, Option{Value: c.Code, Label: c.Name})
	}
	return list
}

// sectionPaths are the pages the dashboard leads to, by the section that
// allows them; a section without a page of its own yet is listed without
// a link.
var sectionPaths = map[switchboard.Permission]struct{ path, label string }{
	switchboard.PermMessages:          {"messages/new", "Send SMS"},
	switchboard.PermHistory:           {"history", "History"},
	switchboard.PermCampaigns:         {"campaigns", "Campaigns"},
	switchboard.PermContacts:          {"contacts", "Contacts"},
	switchboard.PermSubscriptionLinks: {"subscription-links", "Subscription links"},
	switchboard.PermProducts:          {"products", "Products"},
	switchboard.PermSenderNames:       {"sender-names", "Sender names"},
	switchboard.PermAutoReplace:       {"auto-replace", "Auto-replace"},
	switchboard.PermCredits:           {"credits", "Credits"},
	switchboard.PermInvoices:          {"invoices", "Invoices"},
	switchboard.PermMembers:           {"members", "Members"},
	switchboard.PermOrganisation:      {"settings", "Organisation details"},
}

func sectionPath(p switchboard.Permission) string { return sectionPaths[p].path }

// sectionDescription is what section s covers for the member: a
// subaccount's Credits show who funds it, and add none.
func sectionDescription(m *switchboard.Membership, s switchboard.Section) string {
	if s.Permission == switchboard.PermCredits && m.Org.IsSubaccount() {
		return "See who funds this subaccount and what is left to spend"
	}
	return s.Description
}

// sectionLink is the words of the link into section s: the page's name
// ("Send SMS"), which may differ from the section's ("Messages").
func sectionLink(s switchboard.Section) string {
	if l := sectionPaths[s.Permission].label; l != "" {
		return l
	}
	return s.Name
}
