package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestAutoReplacePage(t *testing.T) {
	a, owner, sender := sendWorld(t)

	res := owner.get(path(owner.org, "auto-replace"))
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, `<input type="radio" id="mode_off" name="mode" value="off" checked`, `<label for="mode_full">Full</label>`,
		`<label for="find_0">Find</label>`, `<label for="replace_2">Replace with</label>`, ">Save</button>", `aria-current="page">Auto-replace`)

	// Full with a table; an empty Find drops its row.
	form := url.Values{"mode": {"full"}, "find_0": {"Mr."}, "replace_0": {"Mister"}, "find_1": {""}, "replace_1": {"ignored"}, "find_2": {"€"}, "replace_2": {"EUR"}}
	res = owner.post(path(owner.org, "auto-replace"), form)
	wantStatus(t, res, http.StatusSeeOther)
	res = owner.get(path(owner.org, "auto-replace"))
	wantContains(t, res, "Auto-replace was saved.", `value="full" checked`, `name="find_0"`, `value="Mr."`, `value="EUR"`, `id="find_4"`)
	wantNotContains(t, res, "ignored")
	res = owner.get(path(owner.org, "audit"))
	wantContains(t, res, "Auto-replace changed", "Full, 2 replacements")

	// Mistakes: 422 beside the field, what was typed kept, nothing saved.
	for _, c := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"mode": {"full"}, "find_0": {"a"}, "replace_0": {"b"}, "find_1": {"a"}, "replace_1": {"c"}}, `<p class="error" id="find_1-error">This Find is already listed above`},
		{url.Values{"mode": {"on"}, "find_0": {strings.Repeat("x", 101)}, "replace_0": {"b"}}, `<p class="error" id="find_0-error">Find is at most 100 characters long.`},
		{url.Values{"mode": {"on"}, "find_0": {"x"}, "replace_0": {strings.Repeat("y", 101)}}, `<p class="error" id="replace_0-error">Replace with is at most 100 characters long.`},
		{url.Values{"mode": {"loud"}, "find_0": {"x"}, "replace_0": {"kept"}}, "Choose Off, On or Full."},
	} {
		res = owner.post(path(owner.org, "auto-replace"), c.form)
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantContains(t, res, c.want, `value="`+c.form.Get("replace_0")+`"`)
	}
	many := url.Values{"mode": {"on"}}
	for i := range 101 {
		many.Set("find_"+itoa(int64(i)), "f"+itoa(int64(i)))
	}
	res = owner.post(path(owner.org, "auto-replace"), many)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "The table holds at most 100 replacements.")
	res = owner.get(path(owner.org, "auto-replace"))
	wantContains(t, res, `value="full" checked`, `value="Mister"`)

	// A Sender may send but not configure auto-replace.
	for _, res := range []*response{sender.get(path(owner.org, "auto-replace")), sender.post(path(owner.org, "auto-replace"), url.Values{"mode": {"off"}})} {
		wantStatus(t, res, http.StatusForbidden)
		wantContains(t, res, "You don&#39;t have access")
	}
	res = owner.get(path(owner.org, "auto-replace"))
	wantContains(t, res, `value="full" checked`)
	_ = a
}

// TestAutoReplaceFullChangesWhatIsQueued: the preview shows the text as
// it will leave, and that text is what is queued.
func TestAutoReplaceFullChangesWhatIsQueued(t *testing.T) {
	a, owner, sender := sendWorld(t)
	a.fundOrg(owner.org, 10_000, "EE")
	wantStatus(t, owner.post(path(owner.org, "auto-replace"), url.Values{"mode": {"full"}, "find_0": {"Mr."}, "replace_0": {"Mister"}}), http.StatusSeeOther)

	form := url.Values{"from": {"Switchboard"}, "to": {"55500001"}, "message": {"„Tere“, Mr. Zoë – näeme…"}, "action": {"preview"}}
	res := sender.post(path(owner.org, "messages/new"), form)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, res, "<dd>GSM-7</dd>", "after auto-replace", "&#34;Tere&#34;, Mister Zoe - näeme...</pre>")
	form.Set("action", "send")
	wantStatus(t, sender.post(path(owner.org, "messages/new"), form), http.StatusSeeOther)
	if n := a.rows(`SELECT COUNT(*) FROM messages WHERE body = ? AND encoding = 'GSM-7' AND parts = 1`, `"Tere", Mister Zoe - näeme...`); n != 1 {
		t.Errorf("%d messages with the replaced body, want 1", n)
	}

	// A message auto-replace would leave empty is refused.
	wantStatus(t, owner.post(path(owner.org, "auto-replace"), url.Values{"mode": {"on"}, "find_0": {"x"}, "replace_0": {""}}), http.StatusSeeOther)
	res = sender.post(path(owner.org, "messages/new"), url.Values{"from": {"Switchboard"}, "to": {"55500001"}, "message": {"xx"}, "action": {"send"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantContains(t, res, "Auto-replace leaves nothing of this message.")

	// Off: the text leaves as typed, UCS-2.
	wantStatus(t, owner.post(path(owner.org, "auto-replace"), url.Values{"mode": {"off"}}), http.StatusSeeOther)
	wantStatus(t, sender.post(path(owner.org, "messages/new"), form), http.StatusSeeOther)
	if n := a.rows(`SELECT COUNT(*) FROM messages WHERE body = ? AND encoding = 'UCS-2'`, "„Tere“, Mr. Zoë – näeme…"); n != 1 {
		t.Errorf("%d messages as typed, want 1", n)
	}
}
