package store_test

import (
	"fmt"
	"testing"

	"switchboard"
)

// BenchmarkCampaignCountsTrigger records the delivery of 500 messages in
// one RecordDeliveries, the delivery worker's batch, with migration 0017's
// trigger and without it (dropped behind the store's back), for messages
// of a campaign and of a plain send: what keeping the counts costs the
// delivery worker.
func BenchmarkCampaignCountsTrigger(b *testing.B) {
	for _, trigger := range []bool{true, false} {
		for _, campaign := range []bool{true, false} {
			b.Run(fmt.Sprintf("trigger=%v/campaign=%v", trigger, campaign), func(b *testing.B) {
				w := newCampaignWorld(b)
				seedGroup(b, w.dsn, w.org.ID, w.group.ID, 500)
				fund(b, w.dsn, w.org.ID, 1_000_000*switchboard.MoneyUnit)
				raw := rawDB(b, w.dsn)
				if !trigger {
					_, err := raw.ExecContext(ctx, `DROP TRIGGER campaign_counts`+map[bool]string{true: ` ON messages`}[raw.Engine() == "PostgreSQL"])
					must(b, err)
				}
				numbers := make([]string, 500)
				for i := range numbers {
					numbers[i] = fmt.Sprintf("+3725600%04d", i)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					if campaign {
						w.schedule(b, t0, w.group.ID)
						startDue(b, w.db, t0)
					} else {
						queueDeliveries(b, w.db, w.dsn, w.owner, w.org.ID, "Acme", 100, numbers...)
					}
					claimed, err := w.db.ClaimMessages(ctx, t0, 500)
					must(b, err)
					outcomes := make([]switchboard.DeliveryOutcome, len(claimed))
					for j, d := range claimed {
						outcomes[j] = switchboard.DeliveryOutcome{MessageID: d.ID, Status: switchboard.StatusDelivered}
					}
					b.StartTimer()
					must(b, w.db.RecordDeliveries(ctx, outcomes))
				}
			})
		}
	}
}
