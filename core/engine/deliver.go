package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/metrics"
	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

// DeliveryConfig tunes retries of outbox entries.
type DeliveryConfig struct {
	// MaxAttempts before an entry becomes a dead letter. Default 12.
	MaxAttempts int
	// MaxAge of an entry before it becomes a dead letter. Default 24h.
	MaxAge time.Duration
	// BaseBackoff is the first retry delay, doubled per attempt up to
	// MaxBackoff, with jitter. Defaults 1s and 5m.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// Concurrency bounds simultaneous sends. Default 32.
	Concurrency int
	// SendTimeout bounds one attempt. Default 30s.
	SendTimeout time.Duration
	// Alerts is told about dead letters; nil: none.
	Alerts Alerter
}

// Alerter raises operational alerts.
type Alerter interface {
	Send(kind, message string, fields map[string]string)
}

// deliverer sends outbox entries: per conversation strictly in order (the
// head entry blocks the ones behind it), different conversations in
// parallel. An entry is removed only after its send succeeded.
type deliverer struct {
	cfg      DeliveryConfig
	st       *store.Store
	channels Channels
	metrics  *metrics.Metrics
	log      logrus.FieldLogger

	mu     sync.Mutex
	queues map[string][]store.OutboxEntry
	busy   map[string]bool
	wake   chan struct{}
	sem    chan struct{}
	wg     sync.WaitGroup
}

func newDeliverer(cfg DeliveryConfig, st *store.Store, channels Channels, m *metrics.Metrics, log logrus.FieldLogger) *deliverer {
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 12
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 24 * time.Hour
	}
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
	return &deliverer{
		cfg: cfg, st: st, channels: channels, metrics: m, log: log,
		queues: map[string][]store.OutboxEntry{},
		busy:   map[string]bool{},
		wake:   make(chan struct{}, 1),
		sem:    make(chan struct{}, cfg.Concurrency),
	}
}

// start loads the pending entries and begins delivering.
func (d *deliverer) start(ctx context.Context) error {
	pending, err := d.st.Outbox()
	if err != nil {
		return fmt.Errorf("load outbox: %w", err)
	}
	d.add(pending)
	d.wg.Add(1)
	go func() { defer d.wg.Done(); d.loop(ctx) }()
	return nil
}

func (d *deliverer) wait() { d.wg.Wait() }

// add queues entries that were just committed.
func (d *deliverer) add(entries []store.OutboxEntry) {
	if len(entries) == 0 {
		return
	}
	d.mu.Lock()
	for _, e := range entries {
		d.queues[e.ConversationID] = append(d.queues[e.ConversationID], e)
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
	now := time.Now()
	next := time.Minute
	d.mu.Lock()
	defer d.mu.Unlock()
	for conv, q := range d.queues {
		if d.busy[conv] {
			continue
		}
		if len(q) == 0 {
			delete(d.queues, conv)
			continue
		}
		head := q[0]
		if wait := head.NextAttempt.Sub(now); wait > 0 {
			next = min(next, wait)
			continue
		}
		select {
		case d.sem <- struct{}{}:
		default:
			return 10 * time.Millisecond // all senders busy; look again soon
		}
		d.busy[conv] = true
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			defer func() { <-d.sem }()
			d.attempt(ctx, head)
		}()
	}
	return next
}

// attempt sends one entry and records the outcome.
func (d *deliverer) attempt(ctx context.Context, e store.OutboxEntry) {
	log := d.log.WithFields(logrus.Fields{"conversation_id": e.ConversationID, "channel": e.Instance, "outbox": e.ID(), "kind": e.Kind})
	sctx, cancel := context.WithTimeout(ctx, d.cfg.SendTimeout)
	deskRef, err := d.send(sctx, e)
	cancel()
	if ctx.Err() != nil {
		d.release(e, false)
		return
	}
	now := time.Now()
	if err == nil {
		err = d.st.Update(context.Background(), func(tx *store.Tx) error {
			if e.Kind == store.OutDeskOpen && deskRef != "" {
				if err := store.MapDeskRefTx(tx, e.Instance, deskRef, e.ConversationID); err != nil {
					return err
				}
			}
			if e.Kind == store.OutDeskClose {
				if err := store.UnmapDeskTx(tx, e.ConversationID); err != nil {
					return err
				}
			}
			if err := store.RecordDeliveryTx(tx, now, 1, 0); err != nil {
				return err
			}
			return store.DeleteOutboxTx(tx, e.Seq)
		})
		if err != nil {
			log.WithError(err).Error("record delivery")
			d.release(e, false)
			return
		}
		d.metrics.OutboundSend(e.Instance, "sent")
		log.Debug("delivered")
		d.release(e, true)
		return
	}

	kind := sdk.KindOf(err)
	e.Attempts++
	e.LastError = err.Error()
	if kind == sdk.OutcomeUnknown && !d.idempotent(e.Instance) {
		// The platform may have delivered it and would not notice a
		// second copy: record it instead of risking a duplicate.
		log.WithError(err).Warn("send outcome unknown; recorded as possibly delivered, not retried")
		if uerr := d.st.Update(context.Background(), func(tx *store.Tx) error {
			return store.PossiblyDeliveredTx(tx, &e, err.Error(), now)
		}); uerr != nil {
			log.WithError(uerr).Error("record possibly delivered")
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
		log.WithError(err).Error("delivery failed for good; moved to dead letters")
		if d.cfg.Alerts != nil {
			d.cfg.Alerts.Send("dead_letter", "a message could not be delivered: "+dead, map[string]string{
				"conversation_id": e.ConversationID, "channel": e.Instance, "outbox": e.ID(), "kind": e.Kind,
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
			return store.DeadLetterTx(tx, &e, dead, now)
		})
		if uerr != nil {
			log.WithError(uerr).Error("record dead letter")
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
	log.WithError(err).WithFields(logrus.Fields{"attempt": e.Attempts, "retry_in": delay.String()}).Warn("delivery failed; will retry")
	if uerr := d.st.Update(context.Background(), func(tx *store.Tx) error { return store.UpdateOutboxTx(tx, &e) }); uerr != nil {
		log.WithError(uerr).Error("record failed attempt")
	}
	d.metrics.OutboundSend(e.Instance, "retry")
	d.release(e, false)
}

// release ends an attempt: done drops the head of the conversation's queue,
// otherwise e replaces it (with its new attempt count and time).
func (d *deliverer) release(e store.OutboxEntry, done bool) {
	d.mu.Lock()
	q := d.queues[e.ConversationID]
	if len(q) > 0 && q[0].Seq == e.Seq {
		if done {
			q = q[1:]
		} else {
			q[0] = e
		}
	}
	if len(q) == 0 {
		delete(d.queues, e.ConversationID)
	} else {
		d.queues[e.ConversationID] = q
	}
	delete(d.busy, e.ConversationID)
	d.mu.Unlock()
	d.poke()
}

// idempotent reports whether the channel's platform drops repeated sends of
// one delivery id, which makes retrying an unknown outcome safe. Desk calls
// carry the id as an idempotency key as well.
func (d *deliverer) idempotent(instance string) bool {
	caps, ok := d.channels.Capabilities(instance)
	return ok && (caps.Idempotent || caps.Desk)
}

// send performs one delivery; for a desk open it returns the desk reference.
func (d *deliverer) send(ctx context.Context, e store.OutboxEntry) (string, error) {
	ch, ok, err := d.channels.Channel(e.Instance)
	if !ok {
		return "", sdk.Errorf(sdk.Permanent, "no channel instance named %q", e.Instance)
	}
	if err != nil {
		return "", err
	}
	switch e.Kind {
	case store.OutDeskOpen, store.OutDeskRelay, store.OutDeskClose:
		desk, ok := ch.(sdk.Desk)
		if !ok {
			return "", sdk.Errorf(sdk.Permanent, "channel %q is not a desk", e.Instance)
		}
		return d.sendDesk(ctx, desk, e)
	}
	_, err = ch.Send(ctx, sdk.Outbound{
		ID: e.ID(), Kind: sdk.OutboundKind(e.Kind), Conversation: e.Ref, User: e.User,
		Text: e.Text, Role: e.Role, Reason: e.Reason, Context: e.Context,
	})
	return "", err
}

func (d *deliverer) sendDesk(ctx context.Context, desk sdk.Desk, e store.OutboxEntry) (string, error) {
	if e.Kind == store.OutDeskOpen {
		return desk.OpenHandoff(ctx, sdk.Handoff{
			ID: e.ID(), ConversationID: e.ConversationID, Channel: e.Channel, User: e.User,
			Transcript: e.Transcript, Summary: e.Summary, Reason: e.Reason,
		})
	}
	_, ref, ok := d.st.DeskRef(e.ConversationID)
	if !ok {
		if e.Kind == store.OutDeskClose {
			return "", nil // never opened, or already closed: nothing to do
		}
		return "", sdk.Errorf(sdk.Permanent, "conversation %s has no open desk handoff", e.ConversationID)
	}
	if e.Kind == store.OutDeskClose {
		return "", desk.CloseHandoff(ctx, ref, e.Reason)
	}
	return "", desk.RelayToDesk(ctx, ref, sdk.DeskMessage{ID: e.ID(), User: e.User, Text: e.Text})
}
