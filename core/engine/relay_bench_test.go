package engine

import (
	"context"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/sdk"
)

// BenchmarkRelayedLines is the intake's commit of visitors' lines to
// conversations with the console's operators, in process and without
// fsync: 1,000 conversations wait for a person, and each commit records
// 4, 16 or 64 lines from conversations drawn at random (a fixed seed),
// each relayed in that commit. It reports the pages the commits wrote per line
// (bbolt's count, tree and freelist), which depend on what a line writes
// and not on the machine.
func BenchmarkRelayedLines(b *testing.B) {
	for _, batch := range []int{4, 16, 64} {
		b.Run("batch="+strconv.Itoa(batch), func(b *testing.B) { benchmarkRelayedLines(b, batch) })
	}
}

func benchmarkRelayedLines(b *testing.B, batch int) {
	const chats = 1000
	cfg := testConfig()
	cfg.Rules.Desk = conversation.ConsoleDesk
	st, eng := benchEngine(b, cfg, nil)
	ctx := context.Background()
	for i := range chats {
		chat := strconv.Itoa(i)
		if _, err := st.CommitEvents(ctx, "tg", []sdk.Event{{
			ID: "h" + chat, Kind: sdk.KindMessage, Conversation: chat, User: sdk.User{ID: chat}, Text: "human please",
		}}); err != nil {
			b.Fatal(err)
		}
	}
	for deadline := time.Now().Add(time.Minute); eng.Processed() < chats; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d handoffs processed", eng.Processed(), chats)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	events := make([]sdk.Event, batch)
	before := st.CommitStats()
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n += batch {
		for j := range events {
			chat := strconv.Itoa(rng.IntN(chats))
			events[j] = sdk.Event{ID: strconv.Itoa(n + j), Kind: sdk.KindMessage, Conversation: chat, User: sdk.User{ID: chat}, Text: "are you there? my order has not arrived yet"}
		}
		res, err := st.CommitEvents(ctx, "tg", events)
		if err != nil {
			b.Fatal(err)
		}
		for _, it := range res.Accepted {
			if it.Seq != 0 {
				b.Fatalf("line %s went to the inbox: not relayed at intake", it.Event.ID)
			}
		}
	}
	b.StopTimer()
	after := st.CommitStats()
	lines := float64((b.N + batch - 1) / batch * batch)
	b.ReportMetric(float64(after.Pages-before.Pages)/lines, "pages/line")
}
