package handlers

import "testing"

// TestMayHoldTokenMissesNoShape: the quick look that spares ordinary paths
// the full one never lets through a path the full look sees as a token
// route, whatever its case, escapes, backslashes or letters that fold to
// ASCII ones; and it does spare the pages everyone opens.
func TestMayHoldTokenMissesNoShape(t *testing.T) {
	const tok = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-xyz"
	for _, p := range []string{
		"/invitations/" + tok, "/INVITATIONS/" + tok, "/Invitations/" + tok + "/signup", "/İnvitations/" + tok,
		"/invıtations/" + tok, "/password/reset/" + tok, "/PassWord/RESET/" + tok, "/%70assword/reset/" + tok,
		"/password%2Freset%2F" + tok, `\invitations\` + tok, "//invitations//" + tok, "/./invitations/" + tok,
		"/invitations%252F" + tok, "/passwor\u212a/reset/" + tok, "/invitation\u017f/" + tok,
	} {
		if _, ok := tokenShape(p); ok && !mayHoldToken(p) {
			t.Errorf("%q has the shape of a token route, and the quick look missed it", p)
		}
	}
	for _, p := range []string{"/orgs/12/members", "/orgs/12", "/account", "/static/app.css", "/orgs/12/members/34"} {
		if mayHoldToken(p) {
			t.Errorf("%q gets the full look", p)
		}
	}
}
