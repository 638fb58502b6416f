package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Point 15: a 550 shows "Could not be sent" with the server's answer,
// escaped, at once; a 451 is still being retried.
func TestMembersPageShowsARefusedInvitation(t *testing.T) {
	a := newApp(t)
	worker, smtp := a.mailer(t)
	smtp.Refuse("gone@example.com", 550, `5.1.1 <gone@example.com>: Recipient address rejected: User unknown <script>alert(1)</script>`)
	smtp.Refuse("busy@example.com", 451, "4.7.1 Greylisted, try again later")
	owner := a.signup("owner@example.com", "Acme")
	for _, to := range []string{"gone@example.com", "busy@example.com"} {
		wantStatus(t, owner.post(path(owner.org, "invitations"), url.Values{"email": {to}, "role": {"sender"}}), http.StatusSeeOther)
	}
	if n, err := worker.Flush(context.Background()); n != 0 || err == nil {
		t.Fatalf("flush: %d, %v; want nothing sent and an error", n, err)
	}

	page := owner.get(path(owner.org, "members"))
	wantStatus(t, page, http.StatusOK)
	gone := invitationRow(t, page.body, "gone@example.com")
	if !strings.Contains(gone, "Could not be sent") ||
		!strings.Contains(gone, "550 5.1.1 &lt;gone@example.com&gt;: Recipient address rejected: User unknown &lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the refused invitation's row:\n%s", gone)
	}
	if strings.Contains(page.body, "<script>alert(1)") {
		t.Error("the server's answer reached the page unescaped")
	}
	busy := invitationRow(t, page.body, "busy@example.com")
	if !strings.Contains(busy, "Not sent yet") || !strings.Contains(busy, "1 failed try so far") || strings.Contains(busy, "451") {
		t.Errorf("the greylisted invitation's row:\n%s", busy)
	}
	if n := len(smtp.Messages()); n != 0 {
		t.Errorf("%d emails arrived", n)
	}
}

// invitationRow returns the table row of page that holds text.
func invitationRow(t *testing.T, page, text string) string {
	t.Helper()
	i := strings.Index(page, ">"+text+"</td>")
	if i < 0 {
		t.Fatalf("no row for %s in:\n%s", text, page)
	}
	start := strings.LastIndex(page[:i], "<tr")
	end := strings.Index(page[i:], "</tr>")
	return page[start : i+end]
}
