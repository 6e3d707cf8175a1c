package engine

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

// laneRecorder is a processFunc that records what each conversation got,
// in order, and finishes every item.
type laneRecorder struct {
	mu  sync.Mutex
	got map[string][]uint64
	n   int
}

func (r *laneRecorder) process(_ context.Context, convID string, batch []store.InboxItem) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, it := range batch {
		r.got[convID] = append(r.got[convID], it.Seq)
	}
	r.n += len(batch)
	return len(batch), nil
}

func (r *laneRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

func newTestLanes(t *testing.T, maxInflight int) (*lanes, *store.Store, *laneRecorder) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "switchboard.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rec := &laneRecorder{got: map[string][]uint64{}}
	log := logrus.New()
	log.SetLevel(logrus.PanicLevel)
	l := newLanes(lanesConfig{MaxInflight: maxInflight, MaxLanes: 4, Now: time.Now, Log: log}, st, rec.process, func([]store.InboxItem) {})
	return l, st, rec
}

// Items handed over by the store are taken as they are when they follow
// the last item taken; an item after a gap, or beyond the memory bound, is
// left for the read back.
func TestOfferedItemsAreTakenInOrderWithoutAReadBack(t *testing.T) {
	synctest.Test(t, testOfferedItems)
}

func testOfferedItems(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l, _, rec := newTestLanes(t, 4)
	item := func(seq uint64) store.InboxItem {
		return store.InboxItem{Seq: seq, Channel: "tg", ConversationID: "c1", Event: sdk.Event{ID: strconv.FormatUint(seq, 10), Kind: sdk.KindMessage}}
	}
	// None of these is in the store: only the handover can bring them.
	l.offer(ctx, []store.InboxItem{item(1), item(2)})
	synctest.Wait()
	if got := rec.count(); got != 2 {
		t.Fatalf("%d items processed, want the 2 offered", got)
	}
	l.offer(ctx, []store.InboxItem{item(4)}) // 3 is missing
	l.offer(ctx, []store.InboxItem{item(3), item(4), item(5), item(6), item(7)})
	synctest.Wait()
	if got := rec.count(); got != 2 {
		t.Fatalf("%d items processed; an item after a gap or past the bound was taken", got)
	}
	l.offer(ctx, []store.InboxItem{item(3)})
	synctest.Wait()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if got := rec.got["c1"]; !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Errorf("processed %v, want 1 2 3 in order", got)
	}
}

// Committed items reach the lanes whether the store hands them over or
// they are read back, each once and in each conversation's order.
func TestCommittedItemsAreProcessedOnceInOrder(t *testing.T) {
	synctest.Test(t, testCommittedItems)
}

func testCommittedItems(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l, st, rec := newTestLanes(t, 64)
	st.FeedInbox(func(items []store.InboxItem) { l.offer(ctx, items) })
	done := make(chan struct{})
	go func() { defer close(done); l.run(ctx) }()
	const convs, per = 8, 50
	var wg sync.WaitGroup
	for c := range convs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				ev := sdk.Event{ID: strconv.Itoa(c) + "-" + strconv.Itoa(i), Kind: sdk.KindMessage, Conversation: "chat" + strconv.Itoa(c), Text: strconv.Itoa(i)}
				if _, err := st.CommitEvents(ctx, "tg", []sdk.Event{ev}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	synctest.Wait()
	cancel()
	<-done
	if got := rec.count(); got != convs*per {
		t.Fatalf("%d items processed, want %d", got, convs*per)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for conv, seqs := range rec.got {
		if len(seqs) != per || !slices.IsSorted(seqs) {
			t.Errorf("conversation %s got %v: want %d items in order", conv, seqs, per)
		}
	}
}
