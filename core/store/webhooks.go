package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-chat/switchboard/core/events"
)

// Webhook subscriptions: bucket webhooks holds them by id; every change
// writes a new random token under keyWebhooksVersion (meta), which tells
// EmitTx to read them again. Bucket webhook_attempts holds the attempts of
// their deliveries under id\0seq, oldest first.

var keyWebhooksVersion = []byte("webhooks_version")

// WebhookState says whether a subscription gets deliveries.
type WebhookState string

// Subscription states.
const (
	// WebhookActive: events are queued and delivered.
	WebhookActive WebhookState = "active"
	// WebhookPaused: its deliveries failed for events.pause_after. Nothing
	// is sent; pending deliveries wait, and resuming queues the events
	// recorded meanwhile (those still in the log).
	WebhookPaused WebhookState = "paused"
	// WebhookDisabled: the receiver answered 410 Gone, or an administrator
	// disabled it. Pending deliveries were dropped; enabling it again
	// delivers new events only.
	WebhookDisabled WebhookState = "disabled"
)

// Valid reports whether s is a state.
func (s WebhookState) Valid() bool {
	return s == WebhookActive || s == WebhookPaused || s == WebhookDisabled
}

// Webhook is an event webhook subscription.
type Webhook struct {
	ID  string `json:"id"`
	URL string `json:"url"`
	// Events are the event types it wants; empty: all.
	Events []events.Type `json:"events,omitempty"`
	// Secret signs its deliveries ("whsec_…"); PreviousSecret, while set
	// and until PreviousUntil (zero: until removed), signs them too, so a
	// receiver can switch to the new secret without losing any.
	Secret         string    `json:"secret"`
	PreviousSecret string    `json:"previous_secret,omitempty"`
	PreviousUntil  time.Time `json:"previous_until,omitzero"`
	Description    string    `json:"description,omitempty"`
	// FromConfig marks a subscription of the config file's [[webhooks]]:
	// only its state can be changed over the API.
	FromConfig bool         `json:"from_config,omitempty"`
	State      WebhookState `json:"state"`
	// Reason says why it is paused or disabled.
	Reason     string    `json:"reason,omitempty"`
	StateSince time.Time `json:"state_since"`
	// FailingSince is when its deliveries started failing (zero: the last
	// attempt succeeded).
	FailingSince time.Time `json:"failing_since,omitzero"`
	// PausedAfter is the newest event in the log when it was paused:
	// resuming queues the wanted events after it.
	PausedAfter uint64    `json:"paused_after,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Wants reports whether the subscription wants events of type t.
func (w *Webhook) Wants(t events.Type) bool {
	return len(w.Events) == 0 || slices.Contains(w.Events, t)
}

// Secrets are the secrets that sign a delivery at now: the current one and,
// during a rotation, the previous one.
func (w *Webhook) Secrets(now time.Time) []string {
	out := []string{w.Secret}
	if w.PreviousSecret != "" && (w.PreviousUntil.IsZero() || now.Before(w.PreviousUntil)) {
		out = append(out, w.PreviousSecret)
	}
	return out
}

// webhookInstancePrefix starts the outbox destination of a subscription's
// deliveries; channel instance names cannot contain its colon.
const webhookInstancePrefix = "webhook:"

// WebhookInstance is the outbox destination (the Instance of its entries)
// of subscription id: each conversation's events go to it in order, in a
// lane of their own.
func WebhookInstance(id string) string { return webhookInstancePrefix + id }

// WebhookOfInstance is the subscription an outbox destination is, if it is
// one.
func WebhookOfInstance(instance string) (string, bool) {
	return strings.CutPrefix(instance, webhookInstancePrefix)
}

// ConfigWebhookID is the id of the config file's subscription to url:
// stable across restarts and edits of its other keys.
func ConfigWebhookID(url string) string {
	sum := sha256.Sum256([]byte(url))
	return "whc_" + hex.EncodeToString(sum[:10])
}

func putWebhook(tx *Tx, w *Webhook) error {
	data, err := json.Marshal(w)
	if err != nil {
		return fmt.Errorf("encode webhook %s: %w", w.ID, err)
	}
	if err := tx.Bucket(bucketWebhooks).Put([]byte(w.ID), data); err != nil {
		return err
	}
	return touchWebhooks(tx)
}

// touchWebhooks marks the subscriptions as changed.
func touchWebhooks(tx *Tx) error {
	var token [8]byte
	if _, err := rand.Read(token[:]); err != nil {
		return fmt.Errorf("crypto/rand: %w", err)
	}
	return tx.Bucket(bucketMeta).Put(keyWebhooksVersion, token[:])
}

func getWebhook(tx *bolt.Tx, id string) (Webhook, error) {
	v := tx.Bucket(bucketWebhooks).Get([]byte(id))
	if v == nil {
		return Webhook{}, fmt.Errorf("webhook %s: %w", id, ErrNotFound)
	}
	var w Webhook
	if err := json.Unmarshal(v, &w); err != nil {
		return Webhook{}, fmt.Errorf("decode webhook %s: %w", id, err)
	}
	return w, nil
}

// CreateWebhookTx stores a new active subscription, giving it an id
// unless it has one.
func CreateWebhookTx(tx *Tx, w *Webhook) error {
	if w.ID == "" {
		w.ID = NewID("wh_")
	} else if tx.Bucket(bucketWebhooks).Get([]byte(w.ID)) != nil {
		return fmt.Errorf("webhook %s: %w", w.ID, ErrExists)
	}
	now := tx.st.opts.Now().UTC()
	w.State, w.Reason, w.StateSince, w.CreatedAt, w.UpdatedAt = WebhookActive, "", now, now, now
	return putWebhook(tx, w)
}

// GetWebhookTx reads a subscription inside a write transaction.
func GetWebhookTx(tx *Tx, id string) (Webhook, error) { return getWebhook(tx.Tx, id) }

// PutWebhookTx writes a subscription changed by its owner (URL, events,
// secrets, description) inside a write transaction. Its state changes
// through SetWebhookStateTx.
func PutWebhookTx(tx *Tx, w *Webhook) error {
	old, err := getWebhook(tx.Tx, w.ID)
	if err != nil {
		return err
	}
	w.State, w.Reason, w.StateSince = old.State, old.Reason, old.StateSince
	w.FailingSince, w.PausedAfter, w.CreatedAt = old.FailingSince, old.PausedAfter, old.CreatedAt
	w.UpdatedAt = tx.st.opts.Now().UTC()
	return putWebhook(tx, w)
}

// Webhook returns a subscription.
func (s *Store) Webhook(id string) (Webhook, error) {
	var w Webhook
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		w, err = getWebhook(tx, id)
		return err
	})
	return w, err
}

// Webhooks returns every subscription, oldest first.
func (s *Store) Webhooks() ([]Webhook, error) {
	var out []Webhook
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketWebhooks).ForEach(func(k, v []byte) error {
			var w Webhook
			if err := json.Unmarshal(v, &w); err != nil {
				return fmt.Errorf("decode webhook %s: %w", k, err)
			}
			out = append(out, w)
			return nil
		})
	})
	slices.SortFunc(out, func(a, b Webhook) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, err
}

// DeleteWebhookTx removes a subscription with its pending deliveries and
// its attempts.
func DeleteWebhookTx(tx *Tx, id string) error {
	if tx.Bucket(bucketWebhooks).Get([]byte(id)) == nil {
		return fmt.Errorf("webhook %s: %w", id, ErrNotFound)
	}
	if _, err := dropWebhookDeliveries(tx, id); err != nil {
		return err
	}
	if err := deletePrefix(tx.Bucket(bucketWebhookAttempts), messagePrefix(id)); err != nil {
		return err
	}
	if err := tx.Bucket(bucketWebhooks).Delete([]byte(id)); err != nil {
		return err
	}
	return touchWebhooks(tx)
}

func deletePrefix(b *bolt.Bucket, prefix []byte) error {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// webhookDeliveries returns the subscription's pending deliveries, in
// order.
func webhookDeliveries(tx *bolt.Tx, id string) ([]OutboxEntry, error) {
	instance := WebhookInstance(id)
	var out []OutboxEntry
	err := tx.Bucket(bucketOutbox).ForEach(func(k, v []byte) error {
		// Only the webhook's own entries are decoded in full.
		if !bytes.Contains(v, []byte(strconv.Quote(instance))) {
			return nil
		}
		e, err := decodeEntry(v)
		if err != nil {
			return fmt.Errorf("decode outbox entry %d: %w", readU64(k), err)
		}
		if e.Instance == instance {
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// dropWebhookDeliveries removes the subscription's pending deliveries and
// returns how many there were.
func dropWebhookDeliveries(tx *Tx, id string) (int, error) {
	pending, err := webhookDeliveries(tx.Tx, id)
	if err != nil {
		return 0, err
	}
	for _, e := range pending {
		if err := DeleteOutboxTx(tx, e.Seq); err != nil {
			return 0, err
		}
	}
	return len(pending), nil
}

// SetWebhookStateTx moves a subscription to state, with reason, and
// returns it: pausing keeps its pending deliveries and remembers the
// newest event; disabling drops them; resuming a paused one queues the
// events it wants that were recorded while it was paused (those still in
// the log) after the ones it kept, and hands all of them to the
// deliverer. Setting the state it has changes nothing.
func SetWebhookStateTx(tx *Tx, id string, state WebhookState, reason string) (Webhook, error) {
	w, err := getWebhook(tx.Tx, id)
	if err != nil {
		return Webhook{}, err
	}
	if !state.Valid() {
		return Webhook{}, fmt.Errorf("unknown webhook state %q", state)
	}
	if w.State == state {
		return w, nil
	}
	now := tx.st.opts.Now().UTC()
	was := w.State
	w.State, w.Reason, w.StateSince, w.UpdatedAt = state, reason, now, now
	switch state {
	case WebhookPaused:
		w.PausedAfter = tx.Bucket(bucketEvents).Sequence()
	case WebhookDisabled:
		if _, err := dropWebhookDeliveries(tx, id); err != nil {
			return Webhook{}, err
		}
	case WebhookActive:
		w.FailingSince = time.Time{}
		if was == WebhookPaused {
			if err := resumeWebhook(tx, &w); err != nil {
				return Webhook{}, err
			}
		}
		w.PausedAfter = 0
	}
	return w, putWebhook(tx, &w)
}

// resumeWebhook hands a paused subscription's kept deliveries to the
// deliverer and queues the events recorded since it was paused.
func resumeWebhook(tx *Tx, w *Webhook) error {
	kept, err := webhookDeliveries(tx.Tx, w.ID)
	if err != nil {
		return err
	}
	now := tx.st.opts.Now().UTC()
	for i := range kept {
		kept[i].NextAttempt = now
		if err := UpdateOutboxTx(tx, &kept[i]); err != nil {
			return err
		}
	}
	tx.queued(kept...)
	after := w.PausedAfter
	if purged := eventBounds(tx.Tx).PurgedThrough; after < purged {
		after = purged
	}
	c := tx.Bucket(bucketEvents).Cursor()
	for k, v := c.Seek(u64(after + 1)); k != nil; k, v = c.Next() {
		ev, err := decodeEvent(readU64(k), v)
		if err != nil {
			return err
		}
		if !w.Wants(ev.Type) {
			continue
		}
		body, err := ev.Body()
		if err != nil {
			return fmt.Errorf("encode event %d: %w", ev.Seq, err)
		}
		if _, err := queueWebhookTx(tx, w.ID, ev, body); err != nil {
			return err
		}
	}
	return nil
}

// queueWebhookTx queues a delivery of ev (whose webhook body is body) to
// subscription id.
func queueWebhookTx(tx *Tx, id string, ev events.Event, body []byte) (OutboxEntry, error) {
	now := tx.st.opts.Now().UTC()
	e := OutboxEntry{
		ConversationID: ev.ConversationID, Instance: WebhookInstance(id),
		Payload:   WebhookEvent{Subscription: id, EventSeq: ev.Seq, EventID: ev.ID, Type: ev.Type, Body: body},
		CreatedAt: now, NextAttempt: now,
	}
	if err := PutOutboxTx(tx, &e); err != nil {
		return OutboxEntry{}, err
	}
	tx.queued(e)
	return e, nil
}

// SyncConfigWebhooks makes the subscriptions of the config file what ws
// says: new ones are created, changed ones updated (keeping their state),
// and those no longer in the file removed with their pending deliveries.
// Each w carries URL, Events, Secret and PreviousSecret.
func (s *Store) SyncConfigWebhooks(ctx context.Context, ws []Webhook) error {
	return s.Update(ctx, func(tx *Tx) error {
		keep := map[string]bool{}
		for _, w := range ws {
			w.ID, w.FromConfig = ConfigWebhookID(w.URL), true
			keep[w.ID] = true
			old, err := getWebhook(tx.Tx, w.ID)
			switch {
			case errors.Is(err, ErrNotFound):
				if err := CreateWebhookTx(tx, &w); err != nil {
					return err
				}
				continue
			case err != nil:
				return err
			}
			if old.URL == w.URL && slices.Equal(old.Events, w.Events) && old.Secret == w.Secret &&
				old.PreviousSecret == w.PreviousSecret && old.FromConfig {
				continue
			}
			if err := PutWebhookTx(tx, &w); err != nil {
				return err
			}
		}
		var gone []string
		err := tx.Bucket(bucketWebhooks).ForEach(func(k, v []byte) error {
			var w Webhook
			if err := json.Unmarshal(v, &w); err != nil {
				return fmt.Errorf("decode webhook %s: %w", k, err)
			}
			if w.FromConfig && !keep[w.ID] {
				gone = append(gone, w.ID)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, id := range gone {
			if err := DeleteWebhookTx(tx, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// WebhookAttempt is one attempt to deliver an event to a subscription.
type WebhookAttempt struct {
	// Delivery is the delivery's id (its outbox entry's, "o42"): the same
	// on every attempt of it.
	Delivery string      `json:"delivery_id"`
	EventID  string      `json:"event_id"`
	EventSeq uint64      `json:"event_seq"`
	Type     events.Type `json:"type"`
	// Attempt counts the delivery's attempts, from 1.
	Attempt int `json:"attempt"`
	// Status is the receiver's HTTP status; 0 when none came.
	Status int `json:"status,omitempty"`
	// Outcome is what became of the delivery: delivered, retrying,
	// given_up, gone (410: the subscription was disabled) or paused.
	Outcome string `json:"outcome"`
	// Error says why it failed.
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"duration"`
	At       time.Time     `json:"at"`
	// NextAttempt is when it is tried again, for outcome retrying.
	NextAttempt time.Time `json:"next_attempt,omitzero"`
}

// RecordWebhookAttemptTx appends an attempt to subscription id's history.
func RecordWebhookAttemptTx(tx *Tx, id string, a WebhookAttempt) error {
	b := appending(tx.Tx, bucketWebhookAttempts)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	data, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encode webhook attempt: %w", err)
	}
	return b.Put(messageKey(id, seq), data)
}

// WebhookAttempts returns up to limit of subscription id's latest
// attempts, newest first.
func (s *Store) WebhookAttempts(id string, limit int) ([]WebhookAttempt, error) {
	var out []WebhookAttempt
	err := s.db.View(func(tx *bolt.Tx) error {
		if _, err := getWebhook(tx, id); err != nil {
			return err
		}
		return eachAttemptBackwards(tx, id, func(a WebhookAttempt) bool {
			out = append(out, a)
			return limit <= 0 || len(out) < limit
		})
	})
	return out, err
}

// eachAttemptBackwards calls f with subscription id's attempts, newest
// first, while it returns true.
func eachAttemptBackwards(tx *bolt.Tx, id string, f func(WebhookAttempt) bool) error {
	prefix := messagePrefix(id)
	c := tx.Bucket(bucketWebhookAttempts).Cursor()
	k, v := seekLast(c, id)
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Prev() {
		var a WebhookAttempt
		if err := json.Unmarshal(v, &a); err != nil {
			return fmt.Errorf("decode webhook attempt %x: %w", k, err)
		}
		if !f(a) {
			return nil
		}
	}
	return nil
}

// purgeWebhookAttempts removes the attempts made before before.
func (s *Store) purgeWebhookAttempts(ctx context.Context, before time.Time) error {
	subs, err := s.Webhooks()
	if err != nil {
		return err
	}
	for _, w := range subs {
		for {
			n := 0
			err := s.Update(ctx, func(tx *Tx) error {
				var old [][]byte
				prefix := messagePrefix(w.ID)
				b := tx.Bucket(bucketWebhookAttempts)
				c := b.Cursor()
				for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(old) < 1000; k, v = c.Next() {
					var a struct {
						At time.Time `json:"at"`
					}
					if err := json.Unmarshal(v, &a); err != nil {
						return fmt.Errorf("decode webhook attempt %x: %w", k, err)
					}
					if !a.At.Before(before) {
						break
					}
					old = append(old, bytes.Clone(k))
				}
				for _, k := range old {
					if err := b.Delete(k); err != nil {
						return err
					}
				}
				n = len(old)
				return nil
			})
			if err != nil {
				return err
			}
			if n < 1000 {
				break
			}
		}
	}
	return nil
}

// RetryWebhookDeliveryTx sends delivery seq of subscription id again: a
// pending one is made due now, a dead letter goes back to the outbox, and
// a finished one is queued anew from the log (with the same webhook-id)
// while its event is still there (ErrEventsPurged otherwise). It returns
// the queued entry, handed to the deliverer when the write commits.
func RetryWebhookDeliveryTx(tx *Tx, id string, seq uint64) (OutboxEntry, error) {
	w, err := getWebhook(tx.Tx, id)
	if err != nil {
		return OutboxEntry{}, err
	}
	instance := WebhookInstance(w.ID)
	now := tx.st.opts.Now().UTC()
	if v := tx.Bucket(bucketOutbox).Get(u64(seq)); v != nil {
		e, err := decodeEntry(v)
		if err != nil {
			return OutboxEntry{}, fmt.Errorf("decode outbox entry %d: %w", seq, err)
		}
		if e.Instance != instance {
			return OutboxEntry{}, fmt.Errorf("delivery o%d of webhook %s: %w", seq, id, ErrNotFound)
		}
		e.NextAttempt = now
		if err := UpdateOutboxTx(tx, &e); err != nil {
			return OutboxEntry{}, err
		}
		tx.queued(e)
		return e, nil
	}
	if v := tx.Bucket(bucketDeadLetters).Get(u64(seq)); v != nil {
		d, err := decodeDeadLetter(v)
		if err != nil {
			return OutboxEntry{}, fmt.Errorf("decode dead letter %d: %w", seq, err)
		}
		if d.Entry.Instance == instance {
			e, err := RetryDeadLetterTx(tx, seq, now)
			if err != nil {
				return OutboxEntry{}, err
			}
			tx.queued(e)
			return e, nil
		}
	}
	delivery := "o" + strconv.FormatUint(seq, 10)
	var eventSeq uint64
	err = eachAttemptBackwards(tx.Tx, id, func(a WebhookAttempt) bool {
		if a.Delivery == delivery {
			eventSeq = a.EventSeq
			return false
		}
		return true
	})
	if err != nil {
		return OutboxEntry{}, err
	}
	if eventSeq == 0 {
		return OutboxEntry{}, fmt.Errorf("delivery %s of webhook %s: %w", delivery, id, ErrNotFound)
	}
	ev, err := getEvent(tx.Tx, eventSeq)
	if err != nil {
		return OutboxEntry{}, err
	}
	body, err := ev.Body()
	if err != nil {
		return OutboxEntry{}, fmt.Errorf("encode event %d: %w", ev.Seq, err)
	}
	return queueWebhookTx(tx, id, ev, body)
}

// WebhookFailedTx notes that a delivery to subscription id failed at at
// and returns the subscription, whose FailingSince says since when its
// deliveries have been failing.
func WebhookFailedTx(tx *Tx, id string, at time.Time) (Webhook, error) {
	w, err := getWebhook(tx.Tx, id)
	if err != nil || !w.FailingSince.IsZero() {
		return w, err
	}
	w.FailingSince = at.UTC()
	return w, putWebhook(tx, &w)
}

// WebhookSucceededTx notes that a delivery to subscription id succeeded:
// it is no longer failing.
func WebhookSucceededTx(tx *Tx, id string) error {
	w, err := getWebhook(tx.Tx, id)
	if err != nil || w.FailingSince.IsZero() {
		return err
	}
	w.FailingSince = time.Time{}
	return putWebhook(tx, &w)
}
