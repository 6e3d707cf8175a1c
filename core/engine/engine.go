// Package engine turns committed events into answers. It reads the inbox in
// order and runs each conversation's events in the conversation's own lane
// (see lanes.go): the conversation rules (core/conversation) decide what
// happens, the engine performs it — model turns, replies, desk calls — and
// commits the effects to the outbox, which the deliverer sends. An inbox
// item is removed in the same transaction that stores its effects, so a
// crash at any point re-runs the item instead of losing or doubling it.
package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/hours"
	"github.com/switchboard-chat/switchboard/core/metrics"
	"github.com/switchboard-chat/switchboard/core/routing"
	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

// Config is the engine's behaviour, from the [bot] and [handoff] sections.
// Every field is used as given: the defaults live in core/config.
type Config struct {
	// Rules are the conversation rules (handoff keywords, timeouts, the
	// texts visitors are told). Rules.Model is set by New from models.
	Rules conversation.Policy
	// SystemPrompt is the model's instructions.
	SystemPrompt string
	// Knowledge grounds model turns and answers without a model; nil:
	// none.
	Knowledge Knowledge
	// SuggestMessage heads the knowledge base's "did you mean" questions.
	SuggestMessage string
	// HistoryMessages is how many transcript lines a model turn sees.
	HistoryMessages int
	// Concurrency bounds simultaneous model calls.
	Concurrency int
	// GatherWindow is how long a conversation waits after a visitor message
	// for more before asking the model, so quick lines get one answer.
	GatherWindow time.Duration
	// MaxInflight bounds the events held in memory; the rest wait in the
	// inbox on disk. 0 means DefaultMaxInflight.
	MaxInflight int
	// MaxLanes bounds the conversations processed at once, each by one
	// goroutine; conversations with work beyond it wait their turn in
	// arrival order (desk events first). 0 means DefaultMaxLanes.
	MaxLanes int
	// Delivery tunes the deliverer.
	Delivery DeliveryConfig
	// Metrics records turns, transitions and sends; nil: none.
	Metrics *metrics.Metrics
	// Routing classifies handoffs into departments and priorities (see
	// routing.go); nil: every handoff goes to the one queue unrouted.
	Routing *routing.Table
	// DeskIDs are the desk-side ids of the departments (a SalesIQ
	// department id), by department name.
	DeskIDs map[string]string
	// ShareProfile gives the model what the customer lookup said about
	// the visitor (crm.share_with_model).
	ShareProfile bool
	// Hours are the opening hours handoffs follow; nil: always open.
	Hours *hours.Schedule
	// OperatorsOnline, when set, reports whether a console operator is
	// online (handoffs to the console open a ticket when none is, with
	// tickets on).
	OperatorsOnline func() bool
	// Thinking, when set, is told that a model turn runs for a
	// conversation (true, again every few seconds while it runs) and that
	// it ended (false), so push clients can show "the bot is thinking". It
	// must not block.
	Thinking func(convID string, thinking bool)
}

// Tuning of the scheduler, which has no config keys: these are the values
// a daemon runs with.
const (
	DefaultMaxInflight = 2048
	DefaultMaxLanes    = 256
)

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
	rules    *conversation.Machine
	log      logrus.FieldLogger
	sem      chan struct{} // model calls in flight
	lanes    *lanes
	deliver  *deliverer
	timers   *timers
	// transferTool is the transfer_to_human tool of model turns.
	transferTool sdk.Tool

	mu       sync.Mutex
	waiters  map[string]chan error // requests waiting for their event, by event ID
	refusals map[string]string     // why a waited-for request was refused

	ctx      context.Context
	cancel   context.CancelFunc
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// New returns an engine; Start runs it.
func New(cfg Config, st *store.Store, channels Channels, models Models, log logrus.FieldLogger) *Engine {
	cfg.Rules.Model = models != nil
	cfg.Rules.Knowledge = cfg.Knowledge != nil
	if cfg.MaxInflight <= 0 {
		cfg.MaxInflight = DefaultMaxInflight
	}
	if cfg.MaxLanes <= 0 {
		cfg.MaxLanes = DefaultMaxLanes
	}
	e := &Engine{
		cfg: cfg, st: st, channels: channels, models: models, log: log,
		rules:    conversation.NewMachine(cfg.Rules),
		sem:      make(chan struct{}, max(cfg.Concurrency, 1)),
		waiters:  map[string]chan error{},
		refusals: map[string]string{},
	}
	e.lanes = newLanes(lanesConfig{
		MaxInflight: cfg.MaxInflight, MaxLanes: cfg.MaxLanes, GatherWindow: cfg.GatherWindow,
		Now: st.Now, Log: log,
	}, st, e.process, e.finished)
	dcfg := cfg.Delivery
	dcfg.Hooks = e.deskOutcomes()
	e.deliver = newDeliverer(dcfg, st, channels, cfg.Metrics, log)
	e.timers = newTimers(st.Now, e.fireTimeout)
	var departments []string
	if cfg.Routing != nil {
		departments = cfg.Routing.DepartmentNames()
	}
	e.transferTool = TransferTool(departments)
	return e
}

// Start checks the desk, resumes unfinished work from the store (pending
// deliveries, queue timers, the inbox) and starts processing. It returns
// ctx's error if ctx ends before it is done; once started, the engine runs
// until Stop.
func (e *Engine) Start(ctx context.Context) error {
	if desk := e.cfg.Rules.Desk; desk != "" && desk != conversation.ConsoleDesk {
		caps, ok := e.channels.Capabilities(desk)
		if !ok {
			return fmt.Errorf("handoff.desk: no channel instance named %q", desk)
		}
		if !caps.Desk {
			return fmt.Errorf("handoff.desk: channel %q cannot serve as a human desk (its plugin has no desk role)", desk)
		}
	}
	waiting, err := e.st.ListConversations(conversation.WaitingHuman, 0)
	if err != nil {
		return fmt.Errorf("resume queue timeouts: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	e.ctx, e.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if err := e.deliver.start(e.ctx); err != nil {
		e.cancel()
		return err
	}
	for _, c := range waiting {
		if c.Handoff != nil && !c.Handoff.Deadline.IsZero() {
			e.timers.add(c.ID, c.Handoff.Deadline)
		}
	}
	lanesCtx := e.ctx
	e.st.FeedInbox(func(items []store.InboxItem) { e.lanes.offer(lanesCtx, items) })
	e.st.SettleAtIntake(e.settle)
	e.wg.Add(2)
	go func() { defer e.wg.Done(); e.lanes.run(e.ctx) }()
	go func() { defer e.wg.Done(); e.timers.run(e.ctx) }()
	return nil
}

// Stop lets running turns finish (until ctx ends) and stops. Calls after
// the first return at once.
func (e *Engine) Stop(ctx context.Context) {
	if e.cancel == nil {
		return
	}
	e.stopOnce.Do(func() {
		e.st.SettleAtIntake(nil)
		e.lanes.drain(ctx)
		e.st.FeedInbox(nil)
		e.cancel()
		e.wg.Wait()
		e.deliver.wait(ctx)
	})
}

// Inflight is the number of inbox events held in memory.
func (e *Engine) Inflight() int { return e.lanes.inflight() }

// Processed is the number of inbox events finished since the start: their
// effects committed and they left the inbox.
func (e *Engine) Processed() uint64 { return e.lanes.processed.Load() }

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
