package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/alerts"
	"github.com/switchboard-chat/switchboard/core/metrics"
	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/core/webhooks"
	"github.com/switchboard-chat/switchboard/sdk"
)

// WebhookDelivery tunes the deliveries of events to webhook subscriptions
// (outbox entries of store.OpWebhook). Each conversation's events go to a
// subscription in order, in a lane of their own; they are retried with the
// deliverer's backoff (BaseBackoff to MaxBackoff, with jitter), or after
// the receiver's Retry-After, whatever the number of attempts.
type WebhookDelivery struct {
	// Client makes the attempts; nil fails them.
	Client *webhooks.Client
	// RetryFor is how long a delivery is retried before it becomes a dead
	// letter (events.retry_for); 0: for as long as it takes.
	RetryFor time.Duration
	// PauseAfter pauses a subscription whose deliveries have failed for
	// this long, with an alert (events.pause_after); 0: never.
	PauseAfter time.Duration
}

// Outcomes of webhook attempts, as their history shows them.
const (
	webhookDelivered = "delivered"
	webhookRetrying  = "retrying"
	webhookGivenUp   = "given_up"
	webhookGone      = "gone"
	webhookPaused    = "paused"
)

// attemptWebhook makes one attempt to deliver an event to a subscription
// and records it with its outcome: delivered; retried later; a dead
// letter after RetryFor; the subscription disabled by a 410 Gone, or
// paused after failing for PauseAfter. A paused or disabled subscription's
// entries leave memory (they stay in the store) until it is active again.
func (d *deliverer) attemptWebhook(ctx context.Context, e store.OutboxEntry) {
	p := e.Payload.(store.WebhookEvent)
	cfg := d.cfg.Webhooks
	log := d.log.WithFields(logrus.Fields{"conversation_id": e.ConversationID, "webhook": p.Subscription, "outbox": e.ID(), "event": p.EventID})
	sub, err := d.st.Webhook(p.Subscription)
	if errors.Is(err, store.ErrNotFound) {
		// Deleted: its deliveries went with it.
		if err := d.st.Update(context.Background(), func(tx *store.Tx) error { return store.DeleteOutboxTx(tx, e.Seq) }); err != nil {
			log.WithError(err).Error("drop the delivery of a deleted webhook")
		}
		d.release(e, true)
		return
	}
	if err != nil {
		log.WithError(err).Error("read webhook subscription")
		e.NextAttempt = d.st.Now().Add(d.cfg.BaseBackoff)
		d.release(e, false)
		return
	}
	if sub.State != store.WebhookActive {
		d.hold(e.Lane())
		return
	}

	res := webhooks.Result{Err: errors.New("no webhook client is configured")}
	if cfg.Client != nil {
		sctx, cancel := context.WithTimeout(ctx, d.cfg.SendTimeout)
		res = cfg.Client.Post(sctx, webhooks.Request{URL: sub.URL, ID: p.EventID, Body: p.Body, Secrets: sub.Secrets(d.st.Now())})
		cancel()
	}
	if ctx.Err() != nil {
		d.release(e, false) // shutting down: not an attempt
		return
	}
	now := d.st.Now()
	a := store.WebhookAttempt{
		Delivery: e.ID(), EventID: p.EventID, EventSeq: p.EventSeq, Type: p.Type, Attempt: e.Attempts + 1,
		Status: res.Status, Duration: res.Duration, At: now,
	}
	record := func(tx *store.Tx) error { return store.RecordWebhookAttemptTx(tx, sub.ID, a) }

	switch {
	case res.Err == nil:
		a.Outcome = webhookDelivered
		err := d.st.Update(context.Background(), func(tx *store.Tx) error {
			if err := store.DeleteOutboxTx(tx, e.Seq); err != nil {
				return err
			}
			if err := store.WebhookSucceededTx(tx, sub.ID); err != nil {
				return err
			}
			return record(tx)
		})
		if err != nil {
			log.WithError(err).Error("record webhook delivery")
			d.release(e, false)
			return
		}
		d.metrics.OutboundSend(e.Instance, metrics.OutboundSent)
		d.release(e, true)
		return

	case res.Gone():
		a.Outcome, a.Error = webhookGone, res.Err.Error()
		reason := "the receiver answered 410 Gone"
		err := d.st.Update(context.Background(), func(tx *store.Tx) error {
			if err := record(tx); err != nil {
				return err
			}
			_, err := store.SetWebhookStateTx(tx, sub.ID, store.WebhookDisabled, reason)
			return err
		})
		if err != nil {
			log.WithError(err).Error("disable webhook")
			d.release(e, false)
			return
		}
		log.Warn("webhook disabled: " + reason)
		d.alert(alerts.WebhookDisabled, "webhook "+sub.ID+" ("+sub.URL+") was disabled: "+reason, sub, e)
		d.hold(e.Lane())
		return
	}

	e.Attempts++
	e.LastError = res.Err.Error()
	a.Error = e.LastError
	if cfg.RetryFor > 0 && now.Sub(e.CreatedAt) >= cfg.RetryFor {
		a.Outcome = webhookGivenUp
		dead := fmt.Sprintf("gave up after %v: %v", cfg.RetryFor, res.Err)
		err := d.st.Update(context.Background(), func(tx *store.Tx) error {
			if !store.InOutboxTx(tx, e.Seq) {
				return nil // dropped meanwhile (disabled)
			}
			if _, err := store.WebhookFailedTx(tx, sub.ID, now); err != nil {
				return err
			}
			if err := record(tx); err != nil {
				return err
			}
			return store.DeadLetterTx(tx, &e, dead, now)
		})
		if err != nil {
			log.WithError(err).Error("record dead letter")
			d.release(e, false)
			return
		}
		log.WithError(res.Err).Error("webhook delivery failed for good; moved to dead letters")
		d.alert(alerts.DeadLetter, "an event could not be delivered to webhook "+sub.ID+": "+dead, sub, e)
		d.metrics.OutboundSend(e.Instance, metrics.OutboundDeadLetter)
		d.release(e, true)
		return
	}

	delay := sdk.Backoff{Base: d.cfg.BaseBackoff, Max: d.cfg.MaxBackoff, Jitter: true}.Delay(e.Attempts)
	if res.RetryAfter > 0 {
		delay = res.RetryAfter
	}
	e.NextAttempt = d.st.Now().Add(delay)
	paused, dropped := false, false
	err = d.st.Update(context.Background(), func(tx *store.Tx) error {
		paused, dropped = false, false
		a.Outcome, a.NextAttempt = webhookRetrying, e.NextAttempt.UTC()
		if !store.InOutboxTx(tx, e.Seq) {
			// Disabled meanwhile, which dropped it: not to be revived.
			dropped = true
			return nil
		}
		if err := store.UpdateOutboxTx(tx, &e); err != nil {
			return err
		}
		w, err := store.WebhookFailedTx(tx, sub.ID, now)
		if err != nil {
			return err
		}
		if cfg.PauseAfter > 0 && now.Sub(w.FailingSince) >= cfg.PauseAfter {
			paused = true
			a.Outcome, a.NextAttempt = webhookPaused, time.Time{}
			reason := fmt.Sprintf("deliveries have failed since %s; last error: %v", w.FailingSince.Format(time.RFC3339), res.Err)
			if _, err := store.SetWebhookStateTx(tx, sub.ID, store.WebhookPaused, reason); err != nil {
				return err
			}
		}
		return record(tx)
	})
	if err != nil {
		log.WithError(err).Error("record failed webhook attempt")
		d.release(e, false)
		return
	}
	if dropped {
		d.release(e, true)
		return
	}
	if paused {
		log.WithError(res.Err).Error("webhook paused: its deliveries keep failing")
		d.alert(alerts.WebhookPaused, fmt.Sprintf("webhook %s (%s) was paused: its deliveries have failed for %v; resume it with PATCH /v1/webhooks/%s {\"state\":\"active\"}: %v",
			sub.ID, sub.URL, cfg.PauseAfter, sub.ID, res.Err), sub, e)
		d.metrics.OutboundSend(e.Instance, metrics.OutboundRetry) // tried again once resumed
		d.hold(e.Lane())
		return
	}
	log.WithError(res.Err).WithFields(logrus.Fields{"attempt": e.Attempts, "retry_in": delay.String()}).Warn("webhook delivery failed; will retry")
	d.metrics.OutboundSend(e.Instance, metrics.OutboundRetry)
	d.release(e, false)
}

func (d *deliverer) alert(kind, message string, sub store.Webhook, e store.OutboxEntry) {
	if d.cfg.Alerts == nil {
		return
	}
	d.cfg.Alerts.Send(kind, message, map[string]string{
		"webhook": sub.ID, "url": sub.URL, "conversation_id": e.ConversationID, "outbox": e.ID(),
	})
}

// hold ends an attempt in lane for a subscription that takes no
// deliveries now: every entry of its lanes leaves memory (they stay in the
// store, and come back through the store when it is resumed). Lanes of it
// with an attempt in flight are dropped when that attempt ends.
func (d *deliverer) hold(lane store.Lane) {
	d.mu.Lock()
	for l := range d.queues {
		if l.Instance == lane.Instance && (l == lane || !d.busy[l]) {
			delete(d.queues, l)
		}
	}
	delete(d.busy, lane)
	d.mu.Unlock()
	d.poke()
}
