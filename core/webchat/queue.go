package webchat

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/routing"
	"github.com/switchboard-chat/switchboard/core/store"
)

// queueRefresh is the least time between two recomputations of the queue
// while visitors are waiting: a busy daemon changes conversations many
// times a second, and a position a quarter second late is still right.
const queueRefresh = 250 * time.Millisecond

// queue knows each waiting visitor's place in line: the conversations
// waiting for the daemon's own people (the console, or no desk), oldest
// handoff first. Positions are computed once for all visitors: while some
// listen, after changes, at most every queueRefresh; otherwise when asked.
type queue struct {
	st Store

	mu        sync.Mutex
	pos       map[string]int           // conversation ID → 1-based place
	wait      map[string]time.Duration // conversation ID → estimated wait
	stale     bool                     // something changed since pos was computed
	computed  time.Time                // when pos was computed
	changed   chan struct{}            // closed when positions changed
	listeners int
	// kick asks run for a recomputation a reader could not wait for.
	kick chan struct{}
}

func newQueue(st Store) *queue {
	return &queue{st: st, pos: map[string]int{}, wait: map[string]time.Duration{}, stale: true, changed: make(chan struct{}), kick: make(chan struct{}, 1)}
}

// ownQueue reports whether a waiting conversation is in the daemon's own
// line (not a native handoff, not an external desk's).
func ownQueue(h *conversation.Handoff) bool {
	return h != nil && !h.Native && (h.Desk == "" || h.Desk == conversation.ConsoleDesk)
}

// run recomputes the positions after changes while someone listens, at
// most every queueRefresh, until ctx ends.
func (q *queue) run(ctx context.Context) {
	changes, stop := q.st.Watch("")
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-changes:
		case <-q.kick:
		}
		q.mu.Lock()
		q.stale = true
		if q.listeners > 0 {
			q.refresh()
		}
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(queueRefresh):
		}
	}
}

// line is the line a waiting conversation stands in: its desk's, and
// within the console's, its department's.
func line(h *conversation.Handoff) string {
	if h.Route == nil {
		return h.Desk
	}
	return h.Desk + "/" + h.Route.Department
}

// waitingOf is a conversation as the console's queue orders it.
func waitingOf(c store.Conversation) routing.Waiting {
	w := routing.Waiting{ID: c.ID, Priority: conversation.PriorityNormal, Since: c.Handoff.RequestedAt}
	if r := c.Handoff.Route; r != nil {
		w.Priority = r.Priority
	}
	return w
}

// recentServed is how many of the latest served conversations of a line
// the wait estimate averages over.
const recentServed = 50

// refresh recomputes the positions (highest priority first, then oldest,
// in each line, as operators are given them) and the estimated waits,
// and wakes the listeners when they changed; the caller holds q.mu.
func (q *queue) refresh() {
	waiting, err := q.st.ListConversations(conversation.WaitingHuman, 0)
	if err != nil {
		return // stays stale: the next reader tries again
	}
	served, err := q.st.ListConversations(conversation.Human, 0)
	if err != nil {
		return
	}
	waiting = slices.DeleteFunc(waiting, func(c store.Conversation) bool { return !ownQueue(c.Handoff) })
	slices.SortFunc(waiting, func(a, b store.Conversation) int { return routing.Compare(waitingOf(a), waitingOf(b)) })
	// The estimate: a line's recent time to an operator, times the place
	// in line, over the operators serving the line now.
	served = slices.DeleteFunc(served, func(c store.Conversation) bool {
		return !ownQueue(c.Handoff) || c.Handoff.JoinedAt.IsZero()
	})
	slices.SortFunc(served, func(a, b store.Conversation) int { return b.Handoff.JoinedAt.Compare(a.Handoff.JoinedAt) })
	sum, n := map[string]time.Duration{}, map[string]int{}
	people := map[string]map[string]bool{}
	for _, c := range served {
		l := line(c.Handoff)
		if n[l] < recentServed {
			sum[l] += c.Handoff.JoinedAt.Sub(c.Handoff.RequestedAt)
			n[l]++
		}
		if people[l] == nil {
			people[l] = map[string]bool{}
		}
		people[l][c.Handoff.Operator] = true
	}
	pos := make(map[string]int, len(waiting))
	wait := make(map[string]time.Duration, len(waiting))
	place := map[string]int{}
	for _, c := range waiting {
		l := line(c.Handoff)
		place[l]++
		pos[c.ID] = place[l]
		if n[l] > 0 {
			est := sum[l] / time.Duration(n[l]) * time.Duration(place[l]) / time.Duration(max(len(people[l]), 1))
			wait[c.ID] = est
		}
	}
	q.stale, q.computed = false, time.Now()
	if !maps.Equal(pos, q.pos) || !maps.Equal(wait, q.wait) {
		q.pos, q.wait = pos, wait
		close(q.changed)
		q.changed = make(chan struct{})
	}
}

// position is a waiting conversation's place in line, 1 for the next one,
// and its estimated wait (0: no estimate yet); 0 when it is not in the
// daemon's own line, or not in it yet as far as the last computation
// knows (listeners hear when that changes).
func (q *queue) position(c store.Conversation) (int, time.Duration) {
	if c.State != conversation.WaitingHuman || !ownQueue(c.Handoff) {
		return 0, 0
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	// The conversation just started waiting, or something changed: with
	// listeners, run recomputes for all of them at most every
	// queueRefresh, so many streams asking at once share one computation.
	if _, known := q.pos[c.ID]; q.stale || !known {
		if q.listeners == 0 || time.Since(q.computed) >= queueRefresh {
			q.refresh()
		} else {
			select {
			case q.kick <- struct{}{}:
			default:
			}
		}
	}
	return q.pos[c.ID], q.wait[c.ID]
}

// listen registers interest in position changes until leave is called.
func (q *queue) listen() (leave func()) {
	q.mu.Lock()
	q.listeners++
	q.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			q.mu.Lock()
			q.listeners--
			q.mu.Unlock()
		})
	}
}

// changes returns a channel closed at the next change of the positions;
// take it before reading a position, so no change in between is missed.
func (q *queue) changes() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.changed
}
