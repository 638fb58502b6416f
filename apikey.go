package switchboard

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// APIKeyPrefix begins every API key (PRODUCT.md § API): a key pasted in a
// chat or a repository is recognisable, and scanners can find it.
const APIKeyPrefix = "sb_live_"

// apiKeyBytes is how much randomness a key holds: 256 bits, well over the
// 128 SECURITY.md asks for.
const apiKeyBytes = 32

// APIKeyShown is how many characters of a key the list shows
// ("sb_live_AbCd"): enough to tell keys apart, far too few to guess the
// rest.
const APIKeyShown = len(APIKeyPrefix) + 4

// APIKeyHash is what is stored of a key: its SHA-256. A key is 256 random
// bits, so no slow hash is needed: nobody can try enough keys for a fast
// one to matter, and checking one costs a microsecond.
type APIKeyHash [sha256.Size]byte

// NewAPIKey returns a new random key as it is shown once to the person who
// created it, and its hash.
func NewAPIKey() (plain string, hash APIKeyHash) {
	b := make([]byte, apiKeyBytes)
	rand.Read(b)
	plain = APIKeyPrefix + base64.RawURLEncoding.EncodeToString(b)
	return plain, HashAPIKey(plain)
}

// HashAPIKey returns the hash of plain, as stored.
func HashAPIKey(plain string) APIKeyHash { return sha256.Sum256([]byte(plain)) }

// LooksLikeAPIKey reports whether s has the shape of a key this instance
// makes: the prefix and 43 characters of URL-safe base64. Anything else is
// refused without a look in the database.
func LooksLikeAPIKey(s string) bool {
	rest, ok := strings.CutPrefix(s, APIKeyPrefix)
	if !ok || len(rest) != base64.RawURLEncoding.EncodedLen(apiKeyBytes) {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// APIKey is a key of an organisation's JSON API. Keys belong to the
// organisation, not to the person who made them: they survive the creator
// leaving, and CreatedByName says who it was.
type APIKey struct {
	ID            int64
	OrgID         int64
	Name          string
	Prefix        string // the key's first APIKeyShown characters
	CreatedBy     int64  // 0 once the profile is gone
	CreatedByName string
	CreatedAt     time.Time
	// LastUsedAt is updated at most once a minute, not on every request.
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// MaxAPIKeyName is the longest Name of a key: a name as any other
// (ValidateName).
const MaxAPIKeyName = MaxNameLength

// Validate checks the key's Name with the rules of every name
// (ValidateName), in a key's words when it is empty or too long.
func (k *APIKey) Validate() error {
	k.Name = strings.TrimSpace(k.Name)
	f := FieldErrors{}
	switch {
	case k.Name == "":
		f.Add("name", "Enter a name, so that you know later where the key is used (\"Website\", \"Billing system\").")
	case utf8.RuneCountInString(k.Name) > MaxAPIKeyName:
		f.Add("name", "A name is at most 100 characters, without line breaks.")
	}
	ValidateName(f, "name", "a name", k.Name)
	return f.Err()
}

// Label names the key wherever people read who did something with it: the
// audit log, the ledger, History ("API key Website (sb_live_AbCd…)").
func (k *APIKey) Label() string { return "API key " + k.Name + " (" + k.Prefix + "…)" }

// Revoked reports whether the key was revoked.
func (k *APIKey) Revoked() bool { return k.RevokedAt != nil }

// APIConfig is an organisation's API configuration (PRODUCT.md § API): where
// the delivery reports of its messages are POSTed, the secret they are
// signed with, and the auto-replace mode of messages sent through the API.
type APIConfig struct {
	OrgID int64
	// ReportURL is https://, or http:// to a loopback address when the
	// operator allows it (--report-allow-loopback); "" sends no reports.
	ReportURL string
	// ReportSecret signs the reports, as the gateway's calls are signed
	// (X-Switchboard-Signature); made when a URL is first set.
	ReportSecret string
	// AutoReplace is the mode of messages sent through the API that do not
	// name one; "" means the mode of the Auto-replace page.
	AutoReplace AutoReplaceMode
	UpdatedAt   time.Time
}

// MaxReportURL is the longest delivery-report URL.
const MaxReportURL = 2000

// Validate checks the configuration; allowLoopback lets ReportURL be
// http:// to a loopback address (a receiver on the same machine, or
// tests).
func (c *APIConfig) Validate(allowLoopback bool) error {
	c.ReportURL = strings.TrimSpace(c.ReportURL)
	f := FieldErrors{}
	if c.ReportURL != "" {
		if msg := reportURLProblem(c.ReportURL, allowLoopback); msg != "" {
			f.Add("report_url", msg)
		}
	}
	switch c.AutoReplace {
	case "", AutoReplaceOff, AutoReplaceOn, AutoReplaceFull:
	default:
		f.Add("auto_replace", "Choose Off, On, Full, or the Auto-replace page's mode.")
	}
	return f.Err()
}

// reportURLProblem says what is wrong with a delivery-report URL, or "".
func reportURLProblem(raw string, allowLoopback bool) string {
	const want = "Enter the https:// address where the reports should be POSTed, like https://example.com/sms/reports."
	if len(raw) > MaxReportURL || !utf8.ValidString(raw) || strings.ContainsFunc(raw, isLineBreakOrControl) {
		return want
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return want
	}
	if u.User != nil {
		return "Leave the user name and password out of the address: reports are signed instead (X-Switchboard-Signature)."
	}
	if u.Fragment != "" {
		return "Leave the #fragment out of the address: it is never sent to a server."
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		if allowLoopback && IsLoopbackHost(u.Hostname()) {
			return ""
		}
		if allowLoopback {
			return "Reports go over https://; http:// is allowed only to this machine (localhost, 127.0.0.1, ::1)."
		}
		return "Reports go over https://, so that nobody on the way can read them."
	}
	return want
}

// IsLoopbackHost reports whether host (without a port) names this machine:
// localhost or a loopback address.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
