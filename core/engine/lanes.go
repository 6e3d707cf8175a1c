package engine

import (
	"context"
	"time"

	"sync"
	"sync/atomic"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

// lanesConfig tunes the scheduler.
type lanesConfig struct {
	// MaxInflight bounds the inbox items held in memory.
	MaxInflight int
	// MaxLanes bounds the lanes running at once.
	MaxLanes int
	// GatherWindow is how long a lane waits after a visitor message for
	// the visitor's next line.
	GatherWindow time.Duration
	// Now is the clock.
	Now func() time.Time
	Log logrus.FieldLogger
}

// processFunc handles a batch of one conversation's inbox items in order
// and returns how many of them (from the front) are done: their effects
// are committed and they left the inbox.
type processFunc func(ctx context.Context, convID string, batch []store.InboxItem) (int, error)

// lanes is the scheduler: it reads the inbox in order and runs each
// conversation's items in the conversation's own lane, one batch at a time,
// so one conversation's events are handled in order while different
// conversations run in parallel. At most MaxInflight items are held in
// memory (the rest wait on disk) and at most MaxLanes lanes run at once,
// each on one goroutine; lanes beyond that wait in arrival order, those
// with desk events first.
type lanes struct {
	cfg      lanesConfig
	st       *store.Store
	process  processFunc
	finished func([]store.InboxItem)
	// processed counts the items finished since the start.
	processed atomic.Uint64

	// feed serialises taking items from the inbox, read back (fill) or
	// handed over by the store (offer), so they are routed in order.
	feed sync.Mutex

	mu      sync.Mutex
	byConv  map[string]*lane
	ready   []readyLane // lanes with work waiting for a worker
	workers int         // goroutines running lanes
	held    int         // inbox items in memory
	cursor  uint64      // the last inbox item read
	parked  map[uint64]parkedItem
	idle    chan struct{} // closed when held drops to zero; nil while zero
	freed   chan struct{} // a lane let go of items: read more
	wg      sync.WaitGroup
}

type lane struct {
	items []store.InboxItem
	// running is set while a worker runs the lane or it waits in ready.
	running bool
}

type readyLane struct {
	convID string
	l      *lane
}

type parkedItem struct {
	item  store.InboxItem
	since time.Time
}

// parkFor is how long a desk event whose reference is not known yet is
// kept before it is dropped.
const parkFor = time.Minute

// retryPause is how long a lane waits after a failed commit before trying
// its items again, so a persistent failure does not spin.
const retryPause = time.Second

func newLanes(cfg lanesConfig, st *store.Store, process processFunc, finished func([]store.InboxItem)) *lanes {
	return &lanes{
		cfg: cfg, st: st, process: process, finished: finished,
		byConv: map[string]*lane{},
		parked: map[uint64]parkedItem{},
		freed:  make(chan struct{}, 1),
	}
}

// run reads the inbox until ctx ends, then waits for the lanes to stop.
func (s *lanes) run(ctx context.Context) {
	defer s.wg.Wait()
	parkTick := time.NewTicker(500 * time.Millisecond)
	defer parkTick.Stop()
	for {
		s.fill(ctx)
		select {
		case <-ctx.Done():
			return
		case <-s.st.InboxSignal():
		case <-s.freed:
		case <-parkTick.C:
			s.retryParked(ctx)
		}
	}
}

// drain waits until no item is held in memory, or ctx ends.
func (s *lanes) drain(ctx context.Context) {
	s.mu.Lock()
	idle := s.idle
	s.mu.Unlock()
	if idle == nil {
		return
	}
	select {
	case <-idle:
	case <-ctx.Done():
	}
}

func (s *lanes) inflight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held
}

// offer takes items just committed to the inbox (in sequence order) as
// they are, sparing their read back, when they follow the last item taken
// and there is room for them; otherwise fill reads them when the inbox
// signals. It never waits for fill: a fill under way reads them, or the
// signal that follows the offer starts another.
func (s *lanes) offer(ctx context.Context, items []store.InboxItem) {
	if len(items) == 0 || ctx.Err() != nil || !s.feed.TryLock() {
		return
	}
	defer s.feed.Unlock()
	s.mu.Lock()
	follows := items[0].Seq == s.cursor+1 && s.held+len(items) <= s.cfg.MaxInflight
	s.mu.Unlock()
	if follows {
		s.take(ctx, items)
	}
}

// take routes items taken from the inbox, in order, moving the cursor past
// each; the caller holds s.feed.
func (s *lanes) take(ctx context.Context, items []store.InboxItem) {
	for _, item := range items {
		s.route(ctx, item)
	}
}

// advance moves the cursor to seq unless it is past it already; the caller
// holds s.mu. The cursor moves in the same critical section that queues or
// parks the item, so quiet never sees an item taken but not yet queued.
func (s *lanes) advance(seq uint64) {
	if seq > s.cursor {
		s.cursor = seq
	}
}

// quiet reports whether a new event of conversation convID may be settled
// at once, ahead of nothing: every inbox item up to seq (the inbox's last
// sequence number, as the caller's transaction sees it) has been taken, and
// none of the conversation's is waiting, gathering or running. Never once
// ctx (the lanes' own) has ended: a lane cut off by shutdown lets go of
// items that are still in the inbox.
func (s *lanes) quiet(ctx context.Context, convID string, seq uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cursor == seq && s.byConv[convID] == nil && ctx.Err() == nil
}

// fill reads inbox items after the cursor while there is room in memory.
func (s *lanes) fill(ctx context.Context) {
	s.feed.Lock()
	defer s.feed.Unlock()
	for {
		s.mu.Lock()
		room := min(s.cfg.MaxInflight-s.held, 256)
		cursor := s.cursor
		s.mu.Unlock()
		if room <= 0 {
			return
		}
		items, last, err := s.st.InboxThrough(cursor, room)
		if err != nil {
			s.cfg.Log.WithError(err).Error("read inbox")
			return
		}
		s.take(ctx, items)
		if len(items) < room {
			// The rest up to last were processed and removed (before a
			// restart): nothing is behind the cursor.
			s.mu.Lock()
			s.advance(last)
			s.mu.Unlock()
			return
		}
	}
}

// route finds an item's conversation and queues it in that lane: visitor
// events carry it; desk events are mapped by their desk reference, or by
// the channel's own reference for a channel reporting on a native handoff.
// Desk events whose reference is not mapped yet (the desk answered faster
// than its open call returned) are parked and tried again for a while.
func (s *lanes) route(ctx context.Context, item store.InboxItem) {
	fromDesk := item.ConversationID == ""
	if fromDesk {
		id, err := s.st.ConversationByDeskRef(item.Channel, item.Event.Conversation)
		if err != nil {
			// A channel reporting on its own visitor's chat (a native
			// handoff: the operator joined, the transfer was missed).
			if c, cerr := s.st.ConversationByRef(item.Channel, item.Event.Conversation); cerr == nil {
				id, err = c.ID, nil
			}
		}
		if err != nil {
			s.mu.Lock()
			s.advance(item.Seq)
			if _, ok := s.parked[item.Seq]; !ok {
				s.parked[item.Seq] = parkedItem{item: item, since: s.cfg.Now()}
			}
			s.mu.Unlock()
			return
		}
		item.ConversationID = id
	}
	convID := item.ConversationID
	s.mu.Lock()
	s.advance(item.Seq)
	l := s.byConv[convID]
	if l == nil {
		l = &lane{}
		s.byConv[convID] = l
	}
	l.items = append(l.items, item)
	s.hold(1)
	if l.running {
		s.mu.Unlock()
		return
	}
	l.running = true
	if s.workers >= s.cfg.MaxLanes {
		r := readyLane{convID, l}
		if fromDesk {
			// An operator's event: ahead of the visitors queued for the
			// bot.
			s.ready = append([]readyLane{r}, s.ready...)
		} else {
			s.ready = append(s.ready, r)
		}
		s.mu.Unlock()
		return
	}
	s.workers++
	s.mu.Unlock()
	s.wg.Add(1)
	go s.work(ctx, convID, l)
}

// hold counts n more (or, negative, fewer) items in memory; the caller
// holds s.mu.
func (s *lanes) hold(n int) {
	was := s.held
	s.held += n
	switch {
	case was == 0 && s.held > 0:
		s.idle = make(chan struct{})
	case was > 0 && s.held == 0:
		close(s.idle)
		s.idle = nil
	}
}

// work runs a lane, then the lanes waiting for a worker, until none is
// left.
func (s *lanes) work(ctx context.Context, convID string, l *lane) {
	defer s.wg.Done()
	for {
		s.runLane(ctx, convID, l)
		s.mu.Lock()
		if len(s.ready) == 0 || ctx.Err() != nil {
			s.workers--
			s.mu.Unlock()
			return
		}
		next := s.ready[0]
		s.ready[0] = readyLane{}
		s.ready = s.ready[1:]
		s.mu.Unlock()
		convID, l = next.convID, next.l
	}
}

// retryParked routes the parked desk events again, and drops those parked
// for longer than parkFor.
func (s *lanes) retryParked(ctx context.Context) {
	s.mu.Lock()
	items := make([]parkedItem, 0, len(s.parked))
	for seq, p := range s.parked {
		items = append(items, p)
		delete(s.parked, seq)
	}
	s.mu.Unlock()
	now := s.cfg.Now()
	for _, p := range items {
		if now.Sub(p.since) > parkFor {
			s.cfg.Log.WithFields(logrus.Fields{"channel": p.item.Channel, "ref": p.item.Event.Conversation, "kind": p.item.Event.Kind}).
				Warn("dropping desk event for an unknown conversation")
			err := s.st.Update(ctx, func(tx *store.Tx) error { return store.DeleteInbox(tx, p.item.Seq) })
			if err != nil {
				s.cfg.Log.WithError(err).Error("drop desk event")
			}
			continue
		}
		s.route(ctx, p.item)
		s.mu.Lock()
		if q, ok := s.parked[p.item.Seq]; ok {
			q.since = p.since
			s.parked[p.item.Seq] = q
		}
		s.mu.Unlock()
	}
}

// runLane processes a conversation's queued items, one batch at a time,
// until none are left. Items whose effects are committed leave the lane;
// after a failure the rest are tried again after a pause, in order.
func (s *lanes) runLane(ctx context.Context, convID string, l *lane) {
	for {
		s.mu.Lock()
		if len(l.items) == 0 || ctx.Err() != nil {
			l.running = false
			if len(l.items) == 0 {
				delete(s.byConv, convID)
			}
			s.mu.Unlock()
			return
		}
		batch := l.items
		l.items = nil
		s.mu.Unlock()

		batch = s.gather(ctx, l, batch)
		done, err := s.process(ctx, convID, batch)
		rest, released := batch[done:], done
		if ctx.Err() != nil {
			// Shutting down: what is not done stays in the inbox for the
			// next start.
			rest, released = nil, len(batch)
		} else if err != nil {
			s.cfg.Log.WithError(err).WithField("conversation_id", convID).Error("processing failed; will retry")
		}
		s.finished(batch[:done])
		s.processed.Add(uint64(done))
		s.mu.Lock()
		s.hold(-released)
		s.mu.Unlock()
		select {
		case s.freed <- struct{}{}:
		default:
		}
		if len(rest) > 0 {
			// Pause, then put the unfinished items back in front of
			// anything newer.
			select {
			case <-time.After(retryPause):
			case <-ctx.Done():
			}
			s.mu.Lock()
			l.items = append(rest, l.items...)
			s.mu.Unlock()
		}
	}
}

// gather waits, after a visitor message, for the visitor's next lines
// (up to GatherWindow after the last one, at most three windows in all) so
// they are answered together.
func (s *lanes) gather(ctx context.Context, l *lane, batch []store.InboxItem) []store.InboxItem {
	window := s.cfg.GatherWindow
	if window <= 0 || !hasVisitorMessage(batch) {
		return batch
	}
	limit := s.cfg.Now().Add(3 * window)
	for {
		now := s.cfg.Now()
		wait := min(batch[len(batch)-1].ReceivedAt.Add(window).Sub(now), limit.Sub(now))
		if wait <= 0 {
			return batch
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return batch
		}
		s.mu.Lock()
		batch = append(batch, l.items...)
		l.items = nil
		s.mu.Unlock()
	}
}

func hasVisitorMessage(items []store.InboxItem) bool {
	for _, it := range items {
		if isVisitorMessage(it) {
			return true
		}
	}
	return false
}

// isVisitorMessage reports whether an item is a line the visitor wrote (not
// an operator's event, which also arrives through a channel).
func isVisitorMessage(it store.InboxItem) bool {
	return it.Channel != "" && it.ConversationID != "" && it.Event.Kind == sdk.KindMessage
}
