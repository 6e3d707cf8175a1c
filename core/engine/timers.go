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
	mu   sync.Mutex
	h    deadlineHeap
	wake chan struct{}
	fire func(convID string)
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

func newTimers(fire func(convID string)) *timers {
	return &timers{wake: make(chan struct{}, 1), fire: fire}
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

func (t *timers) run(ctx context.Context) {
	for {
		t.mu.Lock()
		var due []string
		now := time.Now()
		for len(t.h) > 0 && !t.h[0].at.After(now) {
			due = append(due, heap.Pop(&t.h).(deadline).convID)
		}
		wait := time.Hour
		if len(t.h) > 0 {
			wait = time.Until(t.h[0].at)
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
