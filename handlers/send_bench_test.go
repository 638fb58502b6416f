package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"switchboard/sms"
)

// BenchmarkSend10000 is the whole request of a send to 10,000 recipients
// through the real server: the form read, the numbers parsed and checked
// against the opt-outs, priced, the balance debited and 10,000 messages
// with their delivery queue rows written, and the redirect. The issue's
// target is 300 ms.
func BenchmarkSend10000(b *testing.B) {
	a := newApp(b)
	owner := a.signup("owner@example.com", "Acme")
	a.fundOrg(owner.org, 1<<50, "EE")
	var to strings.Builder
	for i := range sms.MaxRecipients {
		fmt.Fprintf(&to, "5%07d\n", 5_000_000+i)
	}
	body := url.Values{"_csrf": {owner.csrf()}, "from": {"Switchboard"}, "to": {to.String()}, "message": {"Your appointment is tomorrow at 10:00. Reply STOP to opt out."}, "action": {"send"}}.Encode()
	target := a.ts.URL + path(owner.org, "messages/new")
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res := owner.do(req)
		if res.status != http.StatusSeeOther {
			b.Fatalf("status %d\n%s", res.status, res.body[:min(len(res.body), 2000)])
		}
	}
	b.StopTimer()
	if n := a.rows(`SELECT COUNT(*) FROM messages`); n != b.N*sms.MaxRecipients {
		b.Fatalf("%d messages queued, want %d", n, b.N*sms.MaxRecipients)
	}
}
