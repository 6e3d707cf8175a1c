package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/metrics"
	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

// DeliveryConfig tunes retries of outbox entries.
type DeliveryConfig struct {
	// MaxAttempts before an entry becomes a dead letter
	// (delivery.max_attempts).
	MaxAttempts int
	// MaxAge of an entry before it becomes a dead letter
	// (delivery.max_age).
	MaxAge time.Duration
	// BaseBackoff is the first retry delay, doubled per attempt up to
	// MaxBackoff, with jitter. Defaults 1s and 5m.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// Concurrency bounds simultaneous sends, and apart from them
	// simultaneous event webhook attempts. Default 32.
	Concurrency int
	// SendTimeout bounds one attempt. Default 30s.
	SendTimeout time.Duration
	// Alerts is told about dead letters; nil: none.
	Alerts Alerter
	// Hooks are told the outcomes; the zero value tells no one.
	Hooks DeliveryHooks
	// Webhooks tunes the deliveries of events to webhook subscriptions.
	Webhooks WebhookDelivery
}

// DeliveryHooks let the engine act on a delivery's outcome (queue a
// follow-up event for the conversation: the desk has the handoff, the
// handoff failed) inside the store transaction that records the outcome,
// so what they write commits together with it or not at all. Like any
// store.Update function they may run more than once and must write only
// through tx. An error fails that transaction: the outcome is not
// recorded and the entry is attempted again.
type DeliveryHooks struct {
	// Delivered is called once an entry was delivered; deskRef is the
	// desk's reference an OpenHandoff returned, "" for other operations.
	Delivered func(tx *store.Tx, e store.OutboxEntry, deskRef string) error
	// Undelivered is called when an entry leaves the outbox without a
	// confirmed delivery: it became a dead letter, or its outcome is
	// unknown where the platform does not drop repeats and it was recorded
	// as possibly delivered.
	Undelivered func(tx *store.Tx, e store.OutboxEntry, f DeliveryFailure) error
}

// DeliveryFailure says why an entry left the outbox undelivered.
type DeliveryFailure struct {
	// Reason is the error, as recorded with the entry.
	Reason string
	// PossiblyDelivered is set when the destination may have the entry
	// after all (its outcome is unknown); otherwise it is a dead letter.
	PossiblyDelivered bool
}

func (h DeliveryHooks) delivered(tx *store.Tx, e store.OutboxEntry, deskRef string) error {
	if h.Delivered == nil {
		return nil
	}
	return h.Delivered(tx, e, deskRef)
}

func (h DeliveryHooks) undelivered(tx *store.Tx, e store.OutboxEntry, f DeliveryFailure) error {
	if h.Undelivered == nil {
		return nil
	}
	return h.Undelivered(tx, e, f)
}

// Alerter raises operational alerts.
type Alerter interface {
	Send(kind, message string, fields map[string]string)
}

// deliverer sends outbox entries: per lane (a conversation's destination:
// the visitor's channel or the desk) strictly in order, the head entry
// blocking the ones behind it; different lanes in parallel, so a channel
// that is down holds back neither the desk nor other conversations. An
// entry is removed only after its send succeeded.
type deliverer struct {
	cfg      DeliveryConfig
	st       *store.Store
	channels Channels
	metrics  *metrics.Metrics
	log      logrus.FieldLogger

	mu     sync.Mutex
	queues map[store.Lane][]store.OutboxEntry
	busy   map[store.Lane]bool
	// again holds an entry queued anew (a retry asked for) while its
	// attempt ran: it replaces the attempt's version when that ends
	// without delivering it.
	again map[store.Lane]store.OutboxEntry
	wake  chan struct{}
	sem   chan struct{}
	// hookSem bounds the event webhook attempts apart from sem, so a slow
	// receiver never holds back replies to visitors.
	hookSem chan struct{}
	wg      sync.WaitGroup

	// sends is the context of the calls to plugins: it outlives the stop
	// of the deliverer, so a send in flight may finish and be recorded,
	// until abort ends it.
	sends context.Context
	abort context.CancelFunc
}

func newDeliverer(cfg DeliveryConfig, st *store.Store, channels Channels, m *metrics.Metrics, log logrus.FieldLogger) *deliverer {
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Minute
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 32
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = 30 * time.Second
	}
	sends, abort := context.WithCancel(context.Background())
	return &deliverer{
		cfg: cfg, st: st, channels: channels, metrics: m, log: log, sends: sends, abort: abort,
		queues: map[store.Lane][]store.OutboxEntry{},
		busy:   map[store.Lane]bool{},
		again:  map[store.Lane]store.OutboxEntry{},
		wake:   make(chan struct{}, 1),
		sem:    make(chan struct{}, cfg.Concurrency),
		// Webhooks get a pool of their own.
		hookSem: make(chan struct{}, cfg.Concurrency),
	}
}

// start loads the pending entries and begins delivering.
func (d *deliverer) start(ctx context.Context) error {
	// Entries queued by writes other than the engine's (event webhooks)
	// come through the store; add ignores the ones it loads twice.
	d.st.OnOutbox(d.add)
	pending, err := d.st.Outbox()
	if err != nil {
		return fmt.Errorf("load outbox: %w", err)
	}
	d.add(pending)
	d.wg.Add(1)
	go func() { defer d.wg.Done(); d.loop(ctx) }()
	return nil
}

// wait waits for the sends in flight to finish and be recorded, until ctx
// ends; then it cuts them short (their outcome is unknown, recorded as
// such) and waits for that to be recorded.
func (d *deliverer) wait(ctx context.Context) {
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		d.abort()
		<-done
	}
	d.abort()
}

// add queues entries that were just committed, each in its lane's Seq
// order. An entry already queued is replaced by the new copy (made due
// again), unless it is being attempted.
func (d *deliverer) add(entries []store.OutboxEntry) {
	if len(entries) == 0 {
		return
	}
	d.mu.Lock()
	for _, e := range entries {
		lane := e.Lane()
		q := d.queues[lane]
		i := len(q)
		for i > 0 && q[i-1].Seq >= e.Seq {
			i--
		}
		busyHead := d.busy[lane] && len(q) > 0
		switch {
		case i < len(q) && q[i].Seq == e.Seq:
			if i > 0 || !busyHead {
				q[i] = e
			} else {
				d.again[lane] = e
			}
		case i == 0 && busyHead:
			// Older than the entry being attempted: right after it.
			q = slices.Insert(q, 1, e)
		default:
			q = slices.Insert(q, i, e)
		}
		d.queues[lane] = q
	}
	d.mu.Unlock()
	d.poke()
}

func (d *deliverer) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *deliverer) loop(ctx context.Context) {
	for {
		next := d.startDue(ctx)
		timer := time.NewTimer(next)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-d.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// startDue starts an attempt for every due queue head and returns how long
// until the next one is due.
func (d *deliverer) startDue(ctx context.Context) time.Duration {
	now := d.st.Now()
	next := time.Minute
	d.mu.Lock()
	defer d.mu.Unlock()
	for lane, q := range d.queues {
		if d.busy[lane] {
			continue
		}
		if len(q) == 0 {
			delete(d.queues, lane)
			continue
		}
		head := q[0]
		if wait := head.NextAttempt.Sub(now); wait > 0 {
			next = min(next, wait)
			continue
		}
		sem := d.sem
		if _, hook := store.WebhookOfInstance(lane.Instance); hook {
			sem = d.hookSem
		}
		select {
		case sem <- struct{}{}:
		default:
			if sem == d.hookSem {
				next = min(next, 10*time.Millisecond)
				continue // webhook senders busy; the other lanes go on
			}
			return 10 * time.Millisecond // all senders busy; look again soon
		}
		d.busy[lane] = true
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			var once sync.Once
			free := func() { once.Do(func() { <-sem; d.poke() }) }
			defer free()
			d.attempt(ctx, head, free)
		}()
	}
	return next
}

// attempt sends one entry and records the outcome. It calls sent once
// the plugin's call has returned: the sender's slot is free for another
// lane while the outcome is committed (the lane itself stays busy until
// release, so its order holds).
func (d *deliverer) attempt(ctx context.Context, e store.OutboxEntry, sent func()) {
	if e.Op() == store.OpWebhook {
		d.attemptWebhook(ctx, e)
		return
	}
	log := func() logrus.FieldLogger { // built only when a line is written
		return d.log.WithFields(logrus.Fields{"conversation_id": e.ConversationID, "channel": e.Instance, "outbox": e.ID(), "kind": e.Op().String()})
	}
	// The send does not end with ctx (the deliverer stopping): a call that
	// completes during the stop is recorded, not sent again after a
	// restart.
	sctx, cancel := context.WithTimeout(d.sends, d.cfg.SendTimeout)
	deskRef, err := d.send(sctx, e)
	timedOut := errors.Is(sctx.Err(), context.DeadlineExceeded)
	aborted := d.sends.Err() != nil
	cancel()
	sent()
	switch {
	case err != nil && timedOut:
		// Cut short while the plugin was still at it: the call may have
		// reached the platform.
		err = sdk.NewError(sdk.OutcomeUnknown, fmt.Errorf("no answer within %v: %w", d.cfg.SendTimeout, err))
	case err != nil && aborted:
		err = sdk.NewError(sdk.OutcomeUnknown, fmt.Errorf("cut short by the shutdown: %w", err))
	}
	now := d.st.Now()
	if err == nil {
		err = d.st.Update(context.Background(), func(tx *store.Tx) error {
			if e.Op() == store.OpOpenHandoff && deskRef != "" {
				if err := store.MapDeskRefTx(tx, e.Instance, deskRef, e.ConversationID); err != nil {
					return err
				}
			}
			if e.Op() == store.OpCloseHandoff {
				if err := store.UnmapDeskTx(tx, e.ConversationID); err != nil {
					return err
				}
			}
			if err := store.RecordDeliveryTx(tx, now, 1, 0); err != nil {
				return err
			}
			if err := store.DeleteOutboxTx(tx, e.Seq); err != nil {
				return err
			}
			return d.cfg.Hooks.delivered(tx, e, deskRef)
		})
		if err != nil {
			log().WithError(err).Error("record delivery")
			d.release(e, false)
			return
		}
		d.metrics.OutboundSend(e.Instance, "sent")
		if debugEnabled(d.log) {
			log().Debug("delivered")
		}
		d.release(e, true)
		return
	}

	kind := sdk.KindOf(err)
	e.Attempts++
	e.LastError = err.Error()
	if kind == sdk.OutcomeUnknown && !d.idempotent(e) {
		// The platform may have delivered it and would not notice a
		// second copy: record it instead of risking a duplicate.
		log().WithError(err).Warn("send outcome unknown; recorded as possibly delivered, not retried")
		cause := err.Error()
		if uerr := d.st.Update(context.Background(), func(tx *store.Tx) error {
			if err := store.PossiblyDeliveredTx(tx, &e, cause, now); err != nil {
				return err
			}
			return d.cfg.Hooks.undelivered(tx, e, DeliveryFailure{Reason: cause, PossiblyDelivered: true})
		}); uerr != nil {
			log().WithError(uerr).Error("record possibly delivered")
			d.release(e, false)
			return
		}
		d.metrics.OutboundSend(e.Instance, "possibly_delivered")
		d.release(e, true)
		return
	}
	dead := ""
	switch {
	case kind == sdk.Permanent || kind == sdk.Blocked:
		dead = fmt.Sprintf("permanent error: %v", err)
	case e.Attempts >= d.cfg.MaxAttempts:
		dead = fmt.Sprintf("gave up after %d attempts: %v", e.Attempts, err)
	case now.Sub(e.CreatedAt) > d.cfg.MaxAge:
		dead = fmt.Sprintf("gave up after %v: %v", d.cfg.MaxAge, err)
	}
	if dead != "" {
		log().WithError(err).Error("delivery failed for good; moved to dead letters")
		if d.cfg.Alerts != nil {
			d.cfg.Alerts.Send("dead_letter", "a message could not be delivered: "+dead, map[string]string{
				"conversation_id": e.ConversationID, "channel": e.Instance, "outbox": e.ID(), "kind": e.Op().String(),
			})
		}
		uerr := d.st.Update(context.Background(), func(tx *store.Tx) error {
			if kind == sdk.Blocked {
				c, err := store.GetConversationTx(tx, e.ConversationID)
				if err == nil {
					c.Unreachable = true
					if err := store.PutConversationTx(tx, &c); err != nil {
						return err
					}
				}
			}
			if err := store.RecordDeliveryTx(tx, now, 0, 1); err != nil {
				return err
			}
			if err := store.DeadLetterTx(tx, &e, dead, now); err != nil {
				return err
			}
			return d.cfg.Hooks.undelivered(tx, e, DeliveryFailure{Reason: dead})
		})
		if uerr != nil {
			log().WithError(uerr).Error("record dead letter")
			d.release(e, false)
			return
		}
		d.metrics.OutboundSend(e.Instance, "dead_letter")
		d.release(e, true)
		return
	}
	delay := sdk.Backoff{Base: d.cfg.BaseBackoff, Max: d.cfg.MaxBackoff, Jitter: true}.Delay(e.Attempts)
	if ra := sdk.RetryAfterOf(err); ra > 0 {
		delay = ra
	}
	e.NextAttempt = now.Add(delay)
	log().WithError(err).WithFields(logrus.Fields{"attempt": e.Attempts, "retry_in": delay.String()}).Warn("delivery failed; will retry")
	if uerr := d.st.Update(context.Background(), func(tx *store.Tx) error { return store.UpdateOutboxTx(tx, &e) }); uerr != nil {
		log().WithError(uerr).Error("record failed attempt")
	}
	d.metrics.OutboundSend(e.Instance, "retry")
	d.release(e, false)
}

// release ends an attempt: done drops the head of the lane's queue,
// otherwise e replaces it (with its new attempt count and time).
func (d *deliverer) release(e store.OutboxEntry, done bool) {
	lane := e.Lane()
	d.mu.Lock()
	if a, ok := d.again[lane]; ok {
		delete(d.again, lane)
		if !done && a.Seq == e.Seq {
			e = a
		}
	}
	q := d.queues[lane]
	if len(q) > 0 && q[0].Seq == e.Seq {
		if done {
			q = q[1:]
		} else {
			q[0] = e
		}
	}
	if len(q) == 0 {
		delete(d.queues, lane)
	} else {
		d.queues[lane] = q
	}
	delete(d.busy, lane)
	d.mu.Unlock()
	d.poke()
}

// idempotent reports whether the destination's platform drops repeats of
// the entry's operation with the same delivery id, as its plugin declared:
// only then is retrying an unknown outcome safe.
func (d *deliverer) idempotent(e store.OutboxEntry) bool {
	caps, ok := d.channels.Capabilities(e.Instance)
	if !ok {
		return false
	}
	switch e.Op() {
	case store.OpSendText:
		return caps.Idempotent.SendText
	case store.OpNativeHandoff:
		return caps.Idempotent.NativeHandoff
	case store.OpOpenHandoff:
		return caps.Idempotent.OpenHandoff
	case store.OpRelayToDesk:
		return caps.Idempotent.RelayToDesk
	case store.OpCloseHandoff:
		return caps.Idempotent.CloseHandoff
	}
	return false
}

// choices are the conversation's choices as a channel takes them.
func choices(cs []conversation.Choice) []sdk.Choice {
	if len(cs) == 0 {
		return nil
	}
	out := make([]sdk.Choice, len(cs))
	for i, c := range cs {
		out[i] = sdk.Choice{Label: c.Label, Text: c.Text, Data: c.Data}
	}
	return out
}

// send performs one delivery; for a desk open it returns the desk reference.
func (d *deliverer) send(ctx context.Context, e store.OutboxEntry) (string, error) {
	switch p := e.Payload.(type) {
	case store.SendText:
		return "", d.sendChannel(ctx, e.Instance, sdk.Outbound{
			ID: e.ID(), Kind: sdk.OutText, Conversation: p.Ref, User: p.User, Text: p.Text, Role: string(p.Role), Context: p.Context,
			Choices: choices(p.Choices),
		})
	case store.NativeHandoff:
		return "", d.sendChannel(ctx, e.Instance, sdk.Outbound{
			ID: e.ID(), Kind: sdk.OutHandoff, Conversation: p.Ref, User: p.User, Text: p.Text, Reason: p.Reason, Context: p.Context,
			Department: p.Department,
		})
	case store.OpenHandoff:
		desk, err := d.desk(e.Instance)
		if err != nil {
			return "", err
		}
		return desk.OpenHandoff(ctx, sdk.Handoff{
			ID: e.ID(), ConversationID: e.ConversationID, Channel: p.Channel, User: p.User,
			Transcript: p.Transcript, Summary: p.Summary, Reason: p.Reason, Department: p.Department,
		})
	case store.RelayToDesk:
		ref, ok := d.deskRef(e)
		if !ok {
			return "", sdk.Errorf(sdk.Permanent, "conversation %s has no open handoff on desk %q", e.ConversationID, e.Instance)
		}
		desk, err := d.desk(e.Instance)
		if err != nil {
			return "", err
		}
		return "", desk.RelayToDesk(ctx, ref, sdk.DeskMessage{ID: e.ID(), User: p.User, Text: p.Text})
	case store.CloseHandoff:
		ref, ok := d.deskRef(e)
		if !ok {
			return "", nil // never opened, or already closed: nothing to do
		}
		desk, err := d.desk(e.Instance)
		if err != nil {
			return "", err
		}
		return "", desk.CloseHandoff(ctx, ref, sdk.DeskClose{ID: e.ID(), Reason: p.Reason})
	}
	return "", sdk.Errorf(sdk.Permanent, "outbox entry %s has no known operation (%s)", e.ID(), e.Op())
}

func (d *deliverer) sendChannel(ctx context.Context, instance string, out sdk.Outbound) error {
	ch, ok, err := d.channels.Channel(instance)
	if !ok {
		return sdk.Errorf(sdk.Permanent, "no channel instance named %q", instance)
	}
	if err != nil {
		return err
	}
	_, err = ch.Send(ctx, out)
	return err
}

func (d *deliverer) desk(instance string) (sdk.Desk, error) {
	desk, ok, err := d.channels.Desk(instance)
	if !ok {
		return nil, sdk.Errorf(sdk.Permanent, "channel instance %q serves no desk", instance)
	}
	return desk, err
}

// deskRef is the reference of the conversation's open handoff on the
// entry's desk.
func (d *deliverer) deskRef(e store.OutboxEntry) (string, bool) {
	desk, ref, ok := d.st.DeskRef(e.ConversationID)
	return ref, ok && desk == e.Instance
}

// debugEnabled reports whether log writes debug lines, so a line on every
// delivery costs nothing when it would be dropped.
func debugEnabled(log logrus.FieldLogger) bool {
	switch l := log.(type) {
	case *logrus.Logger:
		return l.IsLevelEnabled(logrus.DebugLevel)
	case *logrus.Entry:
		return l.Logger.IsLevelEnabled(logrus.DebugLevel)
	}
	return true
}
