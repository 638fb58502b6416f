package switchboard

import "time"

// ProfileEvent is one of a profile's own security events (two-factor turned
// on or off, recovery codes used or regenerated). They belong to no
// organisation, so they are not in any audit log; the account page lists
// them as "Security activity".
type ProfileEvent struct {
	ID        int64
	Action    string
	ActorName string
	Detail    string
	IP        string
	CreatedAt time.Time
}

// The actions of profile events.
const (
	EventTwoFactorEnabled    = "two_factor.enabled"
	EventTwoFactorDisabled   = "two_factor.disabled"
	EventRecoveryRegenerated = "recovery_codes.regenerated"
	EventRecoveryCodeUsed    = "recovery_code.used"
	// Recorded by the operator's command line (switchboard admin …).
	EventProfileCreated    = "profile.created"
	EventPasswordResetLink = "password.reset_link"
)
