// Package engine turns committed events into answers. It reads the inbox in
// order, runs each conversation's events one batch at a time in the
// conversation's own lane (different conversations in parallel, with a bound
// on concurrent model calls), drives the handoff state machine, and commits
// replies to the outbox, which the deliverer sends. An inbox item is removed
// in the same transaction that stores its effects, so a crash at any point
// re-runs the item instead of losing or doubling it.
package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/metrics"
	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

// Config is the engine's behaviour, from the [bot] and [handoff] sections.
type Config struct {
	SystemPrompt       string
	HandoffMessage     string
	FallbackMessage    string
	GreetingMessage    string
	UnsupportedMessage string
	HistoryMessages    int
	// Concurrency bounds simultaneous model calls.
	Concurrency int
	// GatherWindow is how long a conversation waits after a visitor message
	// for more before asking the model, so quick lines get one answer.
	GatherWindow time.Duration

	Desk           string
	Keywords       []string
	CancelKeywords []string
	MaxBotFailures int
	QueueTimeout   time.Duration
	ReturnToBot    bool
	CancelMessage  string
	TimeoutMessage string
	ClosedMessage  string
	MissedMessage  string

	// MaxInflight bounds the events held in memory; the rest wait in the
	// inbox on disk. Default 2048.
	MaxInflight int
	// MaxLanes bounds the conversations processed at once, each by one
	// goroutine; conversations with work beyond it wait their turn in
	// arrival order (desk events first). Default 256.
	MaxLanes int
	// Delivery tunes the deliverer.
	Delivery DeliveryConfig
	// Metrics records turns, transitions and sends; nil: none.
	Metrics *metrics.Metrics
}

// Channels is what the engine needs from the plugin host.
type Channels interface {
	Channel(instance string) (sdk.Channel, bool, error)
	// Desk is the desk served beside a channel instance; ok is false when
	// its plugin serves none.
	Desk(instance string) (desk sdk.Desk, ok bool, err error)
	Capabilities(instance string) (sdk.Capabilities, bool)
}

// Models gives the current LLM client; nil Models means no model is
// configured and the daemon is a pure bridge to the desk.
type Models interface {
	LLM() (sdk.LLM, error)
}

// Engine processes the inbox.
type Engine struct {
	cfg      Config
	st       *store.Store
	channels Channels
	models   Models
	log      logrus.FieldLogger
	keywords *matcher
	cancels  *matcher
	sem      chan struct{}
	deliver  *deliverer
	timers   *timers

	mu       sync.Mutex
	lanes    map[string]*lane
	ready    []readyLane // lanes with work waiting for a worker
	workers  int         // goroutines running lanes
	inflight int
	cursor   uint64
	parked   map[uint64]parkedItem
	waiters  map[uint64]chan error
	freed    chan struct{}

	ctx      context.Context
	cancel   context.CancelFunc
	stopOnce sync.Once
	wg       sync.WaitGroup
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

// New returns an engine; Start runs it.
func New(cfg Config, st *store.Store, channels Channels, models Models, log logrus.FieldLogger) *Engine {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.MaxInflight <= 0 {
		cfg.MaxInflight = 2048
	}
	if cfg.MaxLanes <= 0 {
		cfg.MaxLanes = 256
	}
	if cfg.HistoryMessages <= 0 {
		cfg.HistoryMessages = 20
	}
	if cfg.MaxBotFailures <= 0 {
		cfg.MaxBotFailures = 2
	}
	if len(cfg.CancelKeywords) == 0 {
		cfg.CancelKeywords = []string{"bot", "cancel"}
	}
	e := &Engine{
		cfg: cfg, st: st, channels: channels, models: models, log: log,
		keywords: newMatcher(cfg.Keywords),
		cancels:  newMatcher(cfg.CancelKeywords),
		sem:      make(chan struct{}, cfg.Concurrency),
		lanes:    map[string]*lane{},
		parked:   map[uint64]parkedItem{},
		waiters:  map[uint64]chan error{},
		freed:    make(chan struct{}, 1),
	}
	e.deliver = newDeliverer(cfg.Delivery, st, channels, cfg.Metrics, log)
	e.timers = newTimers(e.fireTimeout)
	return e
}

// Start resumes unfinished work from the store and starts processing.
func (e *Engine) Start(ctx context.Context) error {
	if e.cfg.Desk != "" {
		caps, ok := e.channels.Capabilities(e.cfg.Desk)
		if !ok {
			return fmt.Errorf("handoff.desk: no channel instance named %q", e.cfg.Desk)
		}
		if !caps.Desk {
			return fmt.Errorf("handoff.desk: channel %q cannot serve as a human desk (its plugin has no desk role)", e.cfg.Desk)
		}
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	if err := e.deliver.start(e.ctx); err != nil {
		return err
	}
	waiting, err := e.st.ListConversations(store.StateWaitingHuman, 0)
	if err != nil {
		return fmt.Errorf("resume queue timeouts: %w", err)
	}
	for _, c := range waiting {
		if c.Handoff != nil && !c.Handoff.Deadline.IsZero() {
			e.timers.add(c.ID, c.Handoff.Deadline)
		}
	}
	e.wg.Add(2)
	go func() { defer e.wg.Done(); e.dispatch() }()
	go func() { defer e.wg.Done(); e.timers.run(e.ctx) }()
	return nil
}

// Stop lets running turns finish (up to ctx) and stops. Calls after the
// first return at once.
func (e *Engine) Stop(ctx context.Context) {
	if e.cancel == nil {
		return
	}
	first := false
	e.stopOnce.Do(func() { first = true })
	if !first {
		return
	}
	done := make(chan struct{})
	go func() {
		e.mu.Lock()
		idle := e.inflight == 0
		e.mu.Unlock()
		for !idle {
			select {
			case <-e.freed:
			case <-ctx.Done():
				close(done)
				return
			case <-time.After(50 * time.Millisecond):
			}
			e.mu.Lock()
			idle = e.inflight == 0
			e.mu.Unlock()
		}
		close(done)
	}()
	<-done
	e.cancel()
	e.wg.Wait()
	e.deliver.wait()
}

// dispatch reads the inbox in order and hands items to their lanes, holding
// at most MaxInflight in memory.
func (e *Engine) dispatch() {
	parkTick := time.NewTicker(500 * time.Millisecond)
	defer parkTick.Stop()
	for {
		e.fill()
		select {
		case <-e.ctx.Done():
			return
		case <-e.st.InboxSignal():
		case <-e.freed:
		case <-parkTick.C:
			e.retryParked()
		}
	}
}

func (e *Engine) fill() {
	for {
		e.mu.Lock()
		room := e.cfg.MaxInflight - e.inflight
		cursor := e.cursor
		e.mu.Unlock()
		if room <= 0 {
			return
		}
		items, err := e.st.Inbox(cursor, min(room, 256))
		if err != nil {
			e.log.WithError(err).Error("read inbox")
			return
		}
		for _, item := range items {
			e.mu.Lock()
			e.cursor = item.Seq
			e.mu.Unlock()
			e.route(item)
		}
		if len(items) < min(room, 256) {
			return
		}
	}
}

// route finds an item's conversation and queues it in that lane: visitor
// events carry it; desk events are mapped by their desk reference, or by
// the channel's own reference for a channel reporting on a native handoff.
// Desk events whose reference is not mapped yet (the desk answered faster
// than its open call returned) are parked and retried for a minute.
func (e *Engine) route(item store.InboxItem) {
	convID := item.ConversationID
	fromDesk := convID == ""
	if convID == "" {
		id, err := e.st.ConversationByDeskRef(item.Channel, item.Event.Conversation)
		if err != nil {
			// A channel reporting on its own visitor's chat (a native
			// handoff: the operator joined, the transfer was missed).
			if c, cerr := e.st.ConversationByRef(item.Channel, item.Event.Conversation); cerr == nil {
				id, err = c.ID, nil
			}
		}
		if err != nil {
			e.mu.Lock()
			if _, ok := e.parked[item.Seq]; !ok {
				e.parked[item.Seq] = parkedItem{item: item, since: time.Now()}
			}
			e.mu.Unlock()
			return
		}
		convID = id
		item.ConversationID = id
	}
	e.mu.Lock()
	l := e.lanes[convID]
	if l == nil {
		l = &lane{}
		e.lanes[convID] = l
	}
	l.items = append(l.items, item)
	e.inflight++
	if l.running {
		e.mu.Unlock()
		return
	}
	l.running = true
	if e.workers >= e.cfg.MaxLanes {
		r := readyLane{convID, l}
		if fromDesk {
			// An operator's event: ahead of the visitors queued for the
			// bot.
			e.ready = append([]readyLane{r}, e.ready...)
		} else {
			e.ready = append(e.ready, r)
		}
		e.mu.Unlock()
		return
	}
	e.workers++
	e.mu.Unlock()
	e.wg.Add(1)
	go e.work(convID, l)
}

// work runs a lane, then the lanes waiting for a worker, until none is
// left.
func (e *Engine) work(convID string, l *lane) {
	defer e.wg.Done()
	for {
		e.runLane(convID, l)
		e.mu.Lock()
		if len(e.ready) == 0 || e.ctx.Err() != nil {
			e.workers--
			e.mu.Unlock()
			return
		}
		next := e.ready[0]
		e.ready[0] = readyLane{}
		e.ready = e.ready[1:]
		e.mu.Unlock()
		convID, l = next.convID, next.l
	}
}

func (e *Engine) retryParked() {
	e.mu.Lock()
	items := make([]parkedItem, 0, len(e.parked))
	for seq, p := range e.parked {
		items = append(items, p)
		delete(e.parked, seq)
	}
	e.mu.Unlock()
	for _, p := range items {
		if time.Since(p.since) > time.Minute {
			e.log.WithFields(logrus.Fields{"channel": p.item.Channel, "ref": p.item.Event.Conversation, "kind": p.item.Event.Kind}).
				Warn("dropping desk event for an unknown conversation")
			err := e.st.Update(e.ctx, func(tx *store.Tx) error { return store.DeleteInbox(tx, p.item.Seq) })
			if err != nil {
				e.log.WithError(err).Error("drop desk event")
			}
			continue
		}
		e.route(p.item)
		e.mu.Lock()
		if q, ok := e.parked[p.item.Seq]; ok {
			q.since = p.since
			e.parked[p.item.Seq] = q
		}
		e.mu.Unlock()
	}
}

// runLane processes a conversation's queued items, one batch at a time,
// until none are left. Items whose effects are committed leave the lane;
// after a failure the rest are tried again after a pause, in order.
func (e *Engine) runLane(convID string, l *lane) {
	for {
		e.mu.Lock()
		if len(l.items) == 0 || e.ctx.Err() != nil {
			l.running = false
			if len(l.items) == 0 {
				delete(e.lanes, convID)
			}
			e.mu.Unlock()
			return
		}
		batch := l.items
		l.items = nil
		e.mu.Unlock()

		batch = e.gather(l, batch)
		done, err := e.process(e.ctx, convID, batch)
		rest, released := batch[done:], done
		if e.ctx.Err() != nil {
			// Shutting down: what is not done stays in the inbox for the
			// next start.
			rest, released = nil, len(batch)
		} else if err != nil {
			e.log.WithError(err).WithField("conversation_id", convID).Error("processing failed; will retry")
		}

		e.mu.Lock()
		e.inflight -= released
		var waiters []chan error
		for _, it := range batch[:done] {
			if w, ok := e.waiters[it.Seq]; ok {
				waiters = append(waiters, w)
				delete(e.waiters, it.Seq)
			}
		}
		e.mu.Unlock()
		for _, w := range waiters {
			w <- nil
		}
		select {
		case e.freed <- struct{}{}:
		default:
		}
		if len(rest) > 0 {
			// Pause so a persistent failure does not spin, then put the
			// unfinished items back in front of anything newer.
			select {
			case <-time.After(time.Second):
			case <-e.ctx.Done():
			}
			e.mu.Lock()
			l.items = append(rest, l.items...)
			e.mu.Unlock()
		}
	}
}

// gather waits, after a visitor message, for the visitor's next lines
// (up to GatherWindow after the last one, at most three windows in all) so
// they are answered together.
func (e *Engine) gather(l *lane, batch []store.InboxItem) []store.InboxItem {
	if e.cfg.GatherWindow <= 0 || !hasVisitorMessage(batch) {
		return batch
	}
	limit := time.Now().Add(3 * e.cfg.GatherWindow)
	for {
		last := batch[len(batch)-1].ReceivedAt
		wait := time.Until(last.Add(e.cfg.GatherWindow))
		if wait <= 0 || time.Now().After(limit) {
			return batch
		}
		select {
		case <-time.After(min(wait, time.Until(limit))):
		case <-e.ctx.Done():
			return batch
		}
		e.mu.Lock()
		batch = append(batch, l.items...)
		l.items = nil
		e.mu.Unlock()
	}
}

func hasVisitorMessage(items []store.InboxItem) bool {
	for _, it := range items {
		if it.Channel != "" && it.Event.Kind == sdk.KindMessage {
			return true
		}
	}
	return false
}

// Internal event kinds, queued by the engine itself with an empty channel.
const (
	kindQueueTimeout sdk.EventKind = "engine.queue_timeout"
	kindAPIHandoff   sdk.EventKind = "engine.handoff"
	kindAPIClose     sdk.EventKind = "engine.close"
)

// ErrConflict is returned by actions that do not apply in the
// conversation's state.
var ErrConflict = errors.New("not possible in the conversation's state")

// RequestHandoff hands a conversation to humans on behalf of an API client
// and waits until it is done.
func (e *Engine) RequestHandoff(ctx context.Context, convID, reason string) (store.Conversation, error) {
	return e.act(ctx, convID, sdk.Event{Kind: kindAPIHandoff, Text: reason})
}

// Close closes a conversation on behalf of an API client and waits until it
// is done.
func (e *Engine) Close(ctx context.Context, convID string) (store.Conversation, error) {
	return e.act(ctx, convID, sdk.Event{Kind: kindAPIClose})
}

func (e *Engine) act(ctx context.Context, convID string, ev sdk.Event) (store.Conversation, error) {
	ev.ID = store.NewID("a_")
	done := make(chan error, 1)
	var item store.InboxItem
	err := e.st.Update(ctx, func(tx *store.Tx) error {
		if _, err := store.GetConversationTx(tx, convID); err != nil {
			return err
		}
		var err error
		item, err = e.st.EnqueueInboxTx(tx, convID, "", ev)
		if err != nil {
			return err
		}
		seq := item.Seq
		e.mu.Lock()
		e.waiters[seq] = done
		e.mu.Unlock()
		return nil
	})
	if err != nil {
		return store.Conversation{}, err
	}
	select {
	case err = <-done:
	case <-ctx.Done():
		return store.Conversation{}, ctx.Err()
	}
	if err != nil {
		return store.Conversation{}, err
	}
	return e.st.Conversation(convID)
}

// Inflight is the number of inbox events held in memory.
func (e *Engine) Inflight() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.inflight
}

// Requeue hands an entry moved back into the outbox (a retried dead letter)
// to the deliverer.
func (e *Engine) Requeue(entry store.OutboxEntry) { e.deliver.add([]store.OutboxEntry{entry}) }

// fireTimeout queues a queue-timeout event for a conversation.
func (e *Engine) fireTimeout(convID string) {
	_, err := e.st.Enqueue(e.ctx, convID, "", sdk.Event{ID: store.NewID("t_"), Kind: kindQueueTimeout})
	if err != nil && e.ctx.Err() == nil {
		e.log.WithError(err).WithField("conversation_id", convID).Error("queue timeout")
	}
}
