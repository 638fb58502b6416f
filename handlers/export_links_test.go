package handlers

// SetJoinLinkLimit lets a link be joined through burst times at once
// (instead of joinsPerLink), so that a test reaches the per-link limit
// without hundreds of joins. Call it before the server answers requests.
func (s *Server) SetJoinLinkLimit(burst int) {
	s.limits.joinLink = newLimiter(burst, joinLinkRefill)
}

// SetJoinClientLimit is SetJoinLinkLimit for the limit per client
// address: the join benchmark comes from one address.
func (s *Server) SetJoinClientLimit(burst int) {
	s.limits.joinClient = newLimiter(burst, joinClientRefill)
}
