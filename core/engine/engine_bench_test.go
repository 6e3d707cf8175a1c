package engine

import (
	"context"
	"io"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

// benchEngine starts an engine with cfg and models (nil: none) on a new
// store without fsync and one Telegram-like channel, both stopped when b
// ends.
func benchEngine(b *testing.B, cfg Config, models Models) (*store.Store, *Engine) {
	b.Helper()
	st, err := store.Open(filepath.Join(b.TempDir(), "switchboard.db"), store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	log := logrus.New()
	log.SetOutput(io.Discard)
	eng := New(cfg, st, channels{"tg": {caps: sdk.Capabilities{Typing: true}}}, models, log)
	if err := eng.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		eng.Stop(ctx)
	})
	return st, eng
}

// BenchmarkVisitorMessages is the engine's side of a flood of visitor
// messages over 1,000 chats, in process and without fsync: each operation
// commits one message (as a webhook does) and the benchmark waits until
// the engine finished them all. Without a model every conversation goes
// to the people (and its first message is answered with the fallback);
// with one, an instant model answers every message.
func BenchmarkVisitorMessages(b *testing.B) {
	for _, tc := range []struct {
		name  string
		model Models
	}{
		{"no_model", nil},
		{"instant_model", &model{turn: answer("ok")}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := testConfig()
			cfg.Rules.QueueTimeout = 0
			st, eng := benchEngine(b, cfg, tc.model)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			// 64 writers at once, as 64 webhook connections: their commits
			// are grouped.
			var next atomic.Int64
			var wg sync.WaitGroup
			for range 64 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := int(next.Add(1)) - 1; i < b.N; i = int(next.Add(1)) - 1 {
						chat := strconv.Itoa(i % 1000)
						if _, err := st.CommitEvents(ctx, "tg", []sdk.Event{{
							ID: strconv.Itoa(i), Kind: sdk.KindMessage, Conversation: chat, User: sdk.User{ID: chat}, Text: "hello",
						}}); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			deadline := time.Now().Add(5 * time.Minute)
			for eng.Processed() < uint64(b.N) {
				if time.Now().After(deadline) {
					b.Fatalf("%d of %d messages processed", eng.Processed(), b.N)
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
}
