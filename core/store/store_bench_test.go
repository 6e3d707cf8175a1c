package store

import (
	"context"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/sdk"
)

// Group-commit benchmarks. Each op is one webhook's worth of work: one
// visitor message committed with CommitEvents (dedup mark, conversation
// lookup or creation, transcript append, inbox item), waited for until
// durable. RunParallel with SetParallelism(32) keeps 64 writers in flight on
// a 2-core machine, like the 64 connections of `make bench`.
//
//	go test -run '^$' -bench CommitEvents -benchtime 5s ./core/store/
//
// Besides ns/op (the inverse of throughput under parallelism) each reports
// events/s, bbolt page writes (pwrite calls) per event and the time bbolt
// spent writing pages and syncing, per event.

func benchStore(b *testing.B, noSync bool) *Store {
	b.Helper()
	s, err := Open(filepath.Join(b.TempDir(), "switchboard.db"), Options{NoSync: noSync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func benchEvent(n int64, chats int64) sdk.Event {
	ref := strconv.FormatInt(7_000_000_000+(n*7919)%chats, 10)
	return sdk.Event{
		ID: strconv.FormatInt(n, 10), Kind: sdk.KindMessage, Conversation: ref,
		User: sdk.User{ID: ref, Name: "Visitor"}, Text: "hello, where is my order?",
		Context: map[string]string{"chat_type": "private", "message_id": strconv.FormatInt(n, 10)},
		Time:    time.Unix(1700000000, 0),
	}
}

func runCommitEvents(b *testing.B, s *Store, parallelism int, chats int64) {
	ctx := context.Background()
	var seq atomic.Int64
	before := s.db.Stats()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	if parallelism == 0 {
		for b.Loop() {
			if _, err := s.CommitEvents(ctx, "tg", []sdk.Event{benchEvent(seq.Add(1), chats)}); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		b.SetParallelism(parallelism)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.CommitEvents(ctx, "tg", []sdk.Event{benchEvent(seq.Add(1), chats)}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	elapsed := time.Since(start)
	b.StopTimer()
	after := s.db.Stats()
	st := after.Sub(&before)
	n := float64(seq.Load())
	b.ReportMetric(n/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(st.TxStats.GetWrite())/n, "pwrites/event")
	b.ReportMetric(float64(st.TxStats.GetWriteTime().Microseconds())/n, "write+sync-µs/event")
	b.ReportMetric(float64(st.TxStats.GetSpillTime().Microseconds())/n, "spill-µs/event")
}

// BenchmarkCommitEvents: 64 concurrent writers, fsync on (the daemon's
// default), visitors spread over 100k conversations (most lookups miss the
// hot pages) or all in 100 conversations (hot pages).
func BenchmarkCommitEvents(b *testing.B) {
	for _, tc := range []struct {
		name   string
		noSync bool
		par    int
		chats  int64
	}{
		{"fsync/parallel64/chats100k", false, 32, 100_000},
		{"fsync/parallel64/chats100", false, 32, 100},
		{"fsync/serial/chats100k", false, 0, 100_000},
		{"nosync/parallel64/chats100k", true, 32, 100_000},
	} {
		b.Run(tc.name, func(b *testing.B) {
			runCommitEvents(b, benchStore(b, tc.noSync), tc.par, tc.chats)
		})
	}
}

// BenchmarkUpdateEmpty is the floor of the group commit: 64 writers each
// waiting for an empty write to be durable (one fsync'd transaction per
// batch, nothing else).
func BenchmarkUpdateEmpty(b *testing.B) {
	s := benchStore(b, false)
	ctx := context.Background()
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.Update(ctx, func(*Tx) error { return nil }); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
