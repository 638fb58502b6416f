package switchboard

import "context"

type contextKey int

const (
	profileContextKey contextKey = iota + 1
	membershipContextKey
)

// NewContextWithProfile returns a copy of ctx that carries the logged-in
// profile.
func NewContextWithProfile(ctx context.Context, p *Profile) context.Context {
	return context.WithValue(ctx, profileContextKey, p)
}

// ProfileFromContext returns the logged-in profile, or nil.
func ProfileFromContext(ctx context.Context) *Profile {
	p, _ := ctx.Value(profileContextKey).(*Profile)
	return p
}

// NewContextWithMembership returns a copy of ctx that carries the
// membership of the organisation in the URL.
func NewContextWithMembership(ctx context.Context, m *Membership) context.Context {
	return context.WithValue(ctx, membershipContextKey, m)
}

// MembershipFromContext returns the membership of the organisation in the
// URL, or nil outside an organisation.
func MembershipFromContext(ctx context.Context) *Membership {
	m, _ := ctx.Value(membershipContextKey).(*Membership)
	return m
}
