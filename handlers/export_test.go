package handlers

import "time"

// SetLoginClock makes the login guard read the time from now, so tests move
// time instead of sleeping.
func (s *Server) SetLoginClock(now func() time.Time) {
	s.limits.login.mu.Lock()
	defer s.limits.login.mu.Unlock()
	s.limits.login.now = now
}
