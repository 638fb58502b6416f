package switchboard

import "time"

// Removal tells a profile that someone else took its access to an
// organisation away: the organisation's name, who did it and when, and
// nothing else of an organisation it no longer belongs to.
type Removal struct {
	OrgID     int64
	OrgName   string
	ActorName string
	At        time.Time
}

// RemovalNoticePeriod is how long a removed person is told about it.
const RemovalNoticePeriod = 30 * 24 * time.Hour
