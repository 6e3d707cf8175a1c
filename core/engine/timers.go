package engine

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// timers fires a callback for a conversation at a deadline (queue
// timeouts). They live in memory only: the deadlines themselves are stored
// with the conversations and re-armed on start.
type timers struct {
	now  func() time.Time
	fire func(convID string)

	mu   sync.Mutex
	h    deadlineHeap
	wake chan struct{}
}

type deadline struct {
	at     time.Time
	convID string
}

type deadlineHeap []deadline

func (h deadlineHeap) Len() int           { return len(h) }
func (h deadlineHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h deadlineHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *deadlineHeap) Push(x any)        { *h = append(*h, x.(deadline)) }
func (h *deadlineHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// idleWait is how long run sleeps with no deadline pending.
const idleWait = time.Hour

func newTimers(now func() time.Time, fire func(convID string)) *timers {
	return &timers{now: now, fire: fire, wake: make(chan struct{}, 1)}
}

func (t *timers) add(convID string, at time.Time) {
	t.mu.Lock()
	heap.Push(&t.h, deadline{at: at, convID: convID})
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// run fires deadlines as they fall due, by the clock's reading, until ctx
// ends.
func (t *timers) run(ctx context.Context) {
	for {
		t.mu.Lock()
		var due []string
		now := t.now()
		for len(t.h) > 0 && !t.h[0].at.After(now) {
			due = append(due, heap.Pop(&t.h).(deadline).convID)
		}
		wait := idleWait
		if len(t.h) > 0 {
			wait = t.h[0].at.Sub(now)
		}
		t.mu.Unlock()
		for _, id := range due {
			t.fire(id)
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-t.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}
