package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-chat/switchboard/sdk"

	"github.com/switchboard-chat/switchboard/core/conversation"
)

func openTest(t *testing.T, opts Options) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "switchboard.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func msg(id, ref, text string) sdk.Event {
	return sdk.Event{ID: id, Kind: sdk.KindMessage, Conversation: ref, User: sdk.User{ID: "u-" + ref}, Text: text}
}

func TestCommitEventsDedupAndTranscript(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()

	res, err := s.CommitEvents(ctx, "tg", []sdk.Event{msg("1", "chat1", "hi"), msg("2", "chat1", "there"), msg("1", "chat1", "hi")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Accepted) != 2 || res.Duplicates != 1 {
		t.Fatalf("accepted %d duplicates %d, want 2 and 1", len(res.Accepted), res.Duplicates)
	}
	again, err := s.CommitEvents(ctx, "tg", []sdk.Event{msg("2", "chat1", "there")})
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Accepted) != 0 || again.Duplicates != 1 {
		t.Fatalf("redelivery: accepted %d duplicates %d", len(again.Accepted), again.Duplicates)
	}
	// The same ID on another channel is a different event.
	other, err := s.CommitEvents(ctx, "line", []sdk.Event{msg("1", "chat1", "hi")})
	if err != nil || len(other.Accepted) != 1 {
		t.Fatalf("other channel: %+v %v", other, err)
	}

	conv, err := s.ConversationByRef("tg", "chat1")
	if err != nil {
		t.Fatal(err)
	}
	if conv.State != conversation.Bot || conv.User.ID != "u-chat1" {
		t.Fatalf("conversation %+v", conv)
	}
	msgs, err := s.Messages(conv.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].Text != "hi" || msgs[1].Text != "there" || msgs[0].Role != conversation.RoleVisitor {
		t.Fatalf("transcript %+v", msgs)
	}
	after, _ := s.Messages(conv.ID, msgs[0].ID, 0)
	if len(after) != 1 || after[0].Text != "there" {
		t.Fatalf("after %d: %+v", msgs[0].ID, after)
	}
	inbox, _ := s.Inbox(0, 0)
	if len(inbox) != 3 {
		t.Fatalf("inbox has %d items, want 3", len(inbox))
	}
}

func TestCommitEventsRejectsEventsWithoutID(t *testing.T) {
	s := openTest(t, Options{})
	_, err := s.CommitEvents(context.Background(), "tg", []sdk.Event{{Kind: sdk.KindMessage, Conversation: "x"}})
	if err == nil {
		t.Fatal("want error for an event without ID")
	}
	if inbox, _ := s.Inbox(0, 0); len(inbox) != 0 {
		t.Fatalf("inbox has %d items after a rejected commit", len(inbox))
	}
}

func TestFailedWriteDoesNotSinkItsBatch(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	boom := errors.New("boom")
	var wg sync.WaitGroup
	errs := make([]error, 50)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Update(ctx, func(tx *Tx) error {
				if err := tx.Bucket(bucketMeta).Put([]byte{byte(i)}, []byte("x")); err != nil {
					return err
				}
				if i%10 == 0 {
					return boom
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		want := error(nil)
		if i%10 == 0 {
			want = boom
		}
		if !errors.Is(err, want) && err != want {
			t.Errorf("write %d: err %v, want %v", i, err, want)
		}
	}
	s.View(func(tx *bolt.Tx) error {
		for i := range errs {
			got := tx.Bucket(bucketMeta).Get([]byte{byte(i)}) != nil
			if got != (i%10 != 0) {
				t.Errorf("write %d stored=%v", i, got)
			}
		}
		return nil
	})
	// Only the committed writes count, however they were batched.
	c := s.CommitStats()
	if c.Writes != 45 || c.Commits == 0 || c.Commits > 45 || c.Pages == 0 || c.Busy <= 0 {
		t.Errorf("commit stats %+v, want 45 writes in 1 to 45 commits, pages written and time spent", c)
	}
}

func TestDataSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchboard.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CommitEvents(context.Background(), "tg", []sdk.Event{msg("7", "c", "persist me")}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	conv, err := s.ConversationByRef("tg", "c")
	if err != nil {
		t.Fatal(err)
	}
	msgs, _ := s.Messages(conv.ID, 0, 0)
	if len(msgs) != 1 || msgs[0].Text != "persist me" {
		t.Fatalf("after reopen: %+v", msgs)
	}
	res, _ := s.CommitEvents(context.Background(), "tg", []sdk.Event{msg("7", "c", "persist me")})
	if res.Duplicates != 1 {
		t.Fatal("seen IDs did not survive a restart")
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchboard.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		b, _ := tx.CreateBucketIfNotExists(bucketMeta)
		return b.Put(keySchemaVersion, []byte("99"))
	})
	db.Close()
	if _, err := Open(path, Options{}); err == nil {
		t.Fatal("opened a database with a newer schema")
	}
}

func TestWaitMessagesWakesOnAppend(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	conv, err := s.CreateConversation(ctx, Conversation{Channel: "api", User: sdk.User{ID: "u1"}})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []Message, 1)
	go func() {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		msgs, _ := s.WaitMessages(wctx, conv.ID, 0, 0)
		got <- msgs
	}()
	time.Sleep(50 * time.Millisecond)
	if _, err := s.AppendMessage(ctx, Message{ConversationID: conv.ID, Role: conversation.RoleBot, Text: "hello"}); err != nil {
		t.Fatal(err)
	}
	select {
	case msgs := <-got:
		if len(msgs) != 1 || msgs[0].Text != "hello" {
			t.Fatalf("woke with %+v", msgs)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("long poll did not wake")
	}

	// With nothing new, the wait ends empty when its context does.
	wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	last, _ := s.Messages(conv.ID, 0, 0)
	msgs, err := s.WaitMessages(wctx, conv.ID, last[len(last)-1].ID, 0)
	if err != nil || len(msgs) != 0 {
		t.Fatalf("idle wait: %+v %v", msgs, err)
	}
}

func TestPurgeSeenForgetsExpiredIDs(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s := openTest(t, Options{SeenTTL: time.Hour, Now: clock})
	ctx := context.Background()
	s.CommitEvents(ctx, "tg", []sdk.Event{msg("old", "c", "a")})
	now = now.Add(30 * time.Minute)
	s.CommitEvents(ctx, "tg", []sdk.Event{msg("new", "c", "b")})
	now = now.Add(45 * time.Minute) // "old" expired, "new" not

	n, err := s.PurgeSeen(ctx)
	if err != nil || n != 1 {
		t.Fatalf("purged %d (%v), want 1", n, err)
	}
	res, _ := s.CommitEvents(ctx, "tg", []sdk.Event{msg("old", "c", "a"), msg("new", "c", "b")})
	if len(res.Accepted) != 1 || res.Accepted[0].Event.ID != "old" || res.Duplicates != 1 {
		t.Fatalf("after purge: %+v", res)
	}
}

// PurgeSeen reads the entries a chunk per transaction and a bounded number
// per call, going on where the last call stopped: over calls it forgets
// every expired entry and keeps the others.
func TestPurgeSeenGoesOnWhereItStopped(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := openTest(t, Options{NoSync: true, SeenTTL: time.Hour, Now: func() time.Time { return now }})
	s.seenPerCall = 15_000
	ctx := context.Background()
	commit := func(prefix string, n int) {
		t.Helper()
		for lo := 0; lo < n; lo += 1000 {
			events := make([]sdk.Event, 0, 1000)
			for i := lo; i < min(n, lo+1000); i++ {
				events = append(events, msg(fmt.Sprintf("%s%06d", prefix, i), "c", "x"))
			}
			if _, err := s.CommitEvents(ctx, "tg", events); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Old and new IDs interleave in key order: "a…" and "c…" old, "b…" new.
	commit("a", 12_000)
	commit("c", 12_000)
	now = now.Add(30 * time.Minute)
	commit("b", 6_000)
	now = now.Add(45 * time.Minute)

	first, err := s.PurgeSeen(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if first == 0 || first >= 24_000 {
		t.Fatalf("first call forgot %d, want part of the 24000 expired (it reads 15000 at most)", first)
	}
	second, err := s.PurgeSeen(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if first+second != 24_000 {
		t.Errorf("forgot %d then %d, want 24000 in all", first, second)
	}
	res, err := s.CommitEvents(ctx, "tg", []sdk.Event{msg("a000001", "c", "again"), msg("b000001", "c", "again"), msg("c011999", "c", "again")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Accepted) != 2 || res.Duplicates != 1 {
		t.Errorf("after the purge %d accepted, %d duplicates; want the expired two taken again and the recent one refused", len(res.Accepted), res.Duplicates)
	}
}

// Buckets whose keys grow fill their pages: bbolt's default split at half
// would leave a database of new conversations half empty.
func TestAppendedBucketsFillTheirPages(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	ctx := context.Background()
	for batch := range 20 {
		events := make([]sdk.Event, 0, 250)
		for i := range 250 {
			n := batch*250 + i
			events = append(events, msg(fmt.Sprintf("e%05d", n), fmt.Sprintf("chat%05d", n), "hello there, a message of some length"))
		}
		if _, err := s.CommitEvents(ctx, "tg", events); err != nil {
			t.Fatal(err)
		}
	}
	s.View(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketConversations, bucketMessages, bucketInbox, bucketSeen, bucketConvStates} {
			st := tx.Bucket(name).Stats()
			if used := float64(st.LeafInuse) / float64(st.LeafAlloc); used < 0.8 {
				t.Errorf("bucket %s: leaf pages %.0f%% used", name, 100*used)
			}
		}
		return nil
	})
}
