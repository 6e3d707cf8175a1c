package store

import (
	"context"
	"testing"
)

// BenchmarkCommitEventsWithWebhooks is BenchmarkCommitEvents with event
// webhook subscriptions: each message also queues one delivery per
// subscription (the conversation.created of a new visitor one more).
// Compare with BenchmarkCommitEvents for the cost of the deliveries; the
// event log itself is in both.
func BenchmarkCommitEventsWithWebhooks(b *testing.B) {
	for _, tc := range []struct {
		name   string
		noSync bool
		par    int
		subs   int
	}{
		{"fsync/parallel64/subs1", false, 32, 1},
		{"nosync/parallel64/subs1", true, 32, 1},
		{"nosync/serial/subs0", true, 0, 0},
		{"nosync/serial/subs1", true, 0, 1},
		{"nosync/serial/subs3", true, 0, 3},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := benchStore(b, tc.noSync)
			for range tc.subs {
				w := Webhook{URL: "https://hooks.example/in", Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
				if err := s.Update(context.Background(), func(tx *Tx) error { return CreateWebhookTx(tx, &w) }); err != nil {
					b.Fatal(err)
				}
			}
			runCommitEvents(b, s, tc.par, 100_000)
		})
	}
}
