package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-chat/switchboard/core/events"
)

// The event log: bucket events holds every event by its global sequence
// number (the order they were committed in), and each conversation's last
// sequence number of its events is kept beside its transcript (convSeqKey
// in bucket messages). An event is written
// by EmitTx in the transaction of the change it describes, with one
// outbox entry per webhook subscription that wants it; old events are
// removed by PurgeEvents.

// keyEventsPurgedThrough (meta) is the highest sequence number purged from
// the log: a reader that has seen less than it has missed events.
var keyEventsPurgedThrough = []byte("events_purged_through")

// ErrEventsPurged is returned to a reader resuming after an event that is
// no longer in the log: the events after it were purged (events.retention).
var ErrEventsPurged = errors.New("the events after it have been purged")

// eventRecord is an event as stored.
type eventRecord struct {
	ID              string          `json:"id"`
	Type            events.Type     `json:"type"`
	Time            time.Time       `json:"time"`
	ConversationID  string          `json:"conversation_id,omitempty"`
	ConversationSeq uint64          `json:"conversation_seq,omitempty"`
	Channel         string          `json:"channel,omitempty"`
	Data            json.RawMessage `json:"data"`
}

func decodeEvent(seq uint64, data []byte) (events.Event, error) {
	var r eventRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return events.Event{}, fmt.Errorf("decode event %d: %w", seq, err)
	}
	return events.Event{
		Seq: seq, ID: r.ID, Type: r.Type, Time: r.Time, ConversationID: r.ConversationID,
		ConversationSeq: r.ConversationSeq, Channel: r.Channel, Payload: r.Data,
	}, nil
}

// eventState is the store's part of the event log that is not on disk.
type eventState struct {
	// watch wakes the readers of the log after commits that add to it.
	watch *watchers
	// listener is told about outbox entries queued outside the engine's
	// own commits (webhook deliveries), after their commit.
	listener atomic.Pointer[func([]OutboxEntry)]

	// The active webhook subscriptions, decoded, as of subsVersion (the
	// random token written with every change to them).
	mu          sync.Mutex
	subsLoaded  bool
	subsVersion []byte
	subs        []Webhook
}

func newEventState() *eventState { return &eventState{watch: newWatchers()} }

// txEvents is what one write did in the event log; it is reset when the
// write runs again.
type txEvents struct {
	// subjects are the conversations the write read or wrote, by id.
	subjects map[string]events.Subject
	// queued are the outbox entries for the listener.
	queued []OutboxEntry
	hooked bool
}

// Subject is what events about the conversation are about.
func (c *Conversation) Subject() events.Subject {
	return events.Subject{ConversationID: c.ID, Channel: c.Channel}
}

// remember notes a conversation the transaction has, so events about it
// need not read it again.
func (tx *Tx) remember(c *Conversation) {
	if tx.ev.subjects == nil {
		tx.ev.subjects = make(map[string]events.Subject, 1)
	}
	tx.ev.subjects[c.ID] = c.Subject()
}

// subject is the subject of events about conversation id.
func (tx *Tx) subject(id string) (events.Subject, error) {
	if s, ok := tx.ev.subjects[id]; ok {
		return s, nil
	}
	c, err := tx.st.conversationAt(tx.Tx, id)
	if err != nil {
		return events.Subject{}, err
	}
	tx.remember(&c)
	return c.Subject(), nil
}

// afterCommit arranges, once per write, for the log's readers to be woken
// and the listener told about queued deliveries when the write is durable.
func (tx *Tx) afterCommit() {
	if tx.ev.hooked {
		return
	}
	tx.ev.hooked = true
	ev := tx.st.ev
	tx.OnCommit(func() {
		ev.watch.notify("")
		if f := ev.listener.Load(); f != nil && len(tx.ev.queued) > 0 {
			(*f)(tx.ev.queued)
		}
	})
}

// queued hands entries to the listener once the write commits.
func (tx *Tx) queued(entries ...OutboxEntry) {
	tx.ev.queued = append(tx.ev.queued, entries...)
	tx.afterCommit()
}

// OnOutbox sets the function told, after their commit, about outbox entries
// that writes other than the engine's queued: webhook deliveries of new
// events, resumed subscriptions and retried deliveries. The deliverer sets
// it before it loads the pending entries, so it may hear of an entry it
// also loads.
func (s *Store) OnOutbox(f func([]OutboxEntry)) { s.ev.listener.Store(&f) }

// EmitTx records an event about on in the log, inside the write
// transaction of the change it describes, and queues a delivery of it for
// every active webhook subscription that wants its type. It is the one way
// events are made:
//
//	store.EmitTx(tx, conv.Subject(), events.ConversationAssigned{To: op})
func EmitTx(tx *Tx, on events.Subject, p events.Payload) (events.Event, error) {
	data, err := json.Marshal(p)
	if err != nil {
		return events.Event{}, fmt.Errorf("encode %s event: %w", p.EventType(), err)
	}
	b := appending(tx.Tx, bucketEvents)
	seq, err := b.NextSequence()
	if err != nil {
		return events.Event{}, err
	}
	ev := events.Event{
		Seq: seq, ID: NewID("evt_"), Type: p.EventType(), Time: tx.st.opts.Now().UTC(),
		ConversationID: on.ConversationID, Channel: on.Channel, Payload: data,
	}
	if on.ConversationID != "" {
		if ev.ConversationSeq, err = nextConversationSeq(tx.Tx, on.ConversationID); err != nil {
			return events.Event{}, err
		}
	}
	rec, err := json.Marshal(eventRecord{
		ID: ev.ID, Type: ev.Type, Time: ev.Time, ConversationID: ev.ConversationID,
		ConversationSeq: ev.ConversationSeq, Channel: ev.Channel, Data: data,
	})
	if err != nil {
		return events.Event{}, fmt.Errorf("encode event %d: %w", seq, err)
	}
	if err := b.Put(u64(seq), rec); err != nil {
		return events.Event{}, err
	}
	subs, err := tx.st.ev.subscriptions(tx.Tx)
	if err != nil {
		return events.Event{}, err
	}
	var body []byte
	for i := range subs {
		if !subs[i].Wants(ev.Type) {
			continue
		}
		if body == nil {
			if body, err = ev.Body(); err != nil {
				return events.Event{}, fmt.Errorf("encode event %d: %w", seq, err)
			}
		}
		if _, err := queueWebhookTx(tx, subs[i].ID, ev, body); err != nil {
			return events.Event{}, err
		}
	}
	tx.afterCommit()
	return ev, nil
}

// nextConversationSeq counts an event of conversation id and returns its
// number. The counter is kept in the transcripts' bucket, just after the
// conversation's lines (convSeqKey), so the event of a new line changes the
// page the line itself changed rather than a page of its own.
func nextConversationSeq(tx *bolt.Tx, id string) (uint64, error) {
	b, key := appending(tx, bucketMessages), convSeqKey(id)
	v := b.Get(key)
	if v == nil {
		if old := tx.Bucket(bucketEventConvSeq); old != nil {
			// Upgraded from schema 2, and the first event since.
			v = old.Get([]byte(id))
		}
	}
	var n uint64
	if v != nil {
		n = readU64(v)
	}
	n++
	return n, b.Put(key, u64(n))
}

// subscriptions returns the active webhook subscriptions as tx sees them,
// decoding them again only after they changed.
func (e *eventState) subscriptions(tx *bolt.Tx) ([]Webhook, error) {
	version := tx.Bucket(bucketMeta).Get(keyWebhooksVersion)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.subsLoaded && bytes.Equal(version, e.subsVersion) {
		return e.subs, nil
	}
	var active []Webhook
	err := tx.Bucket(bucketWebhooks).ForEach(func(k, v []byte) error {
		var w Webhook
		if err := json.Unmarshal(v, &w); err != nil {
			return fmt.Errorf("decode webhook %s: %w", k, err)
		}
		if w.State == WebhookActive {
			active = append(active, w)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// A version read in a write that is later rolled back is a random
	// token no committed state has: the next reader loads again.
	e.subs, e.subsVersion, e.subsLoaded = active, bytes.Clone(version), true
	return active, nil
}

// EventBounds says what the log holds.
type EventBounds struct {
	// Last is the sequence number of the newest event ever recorded
	// (0: none).
	Last uint64
	// PurgedThrough is the highest sequence number purged: a reader that
	// has seen less has missed events.
	PurgedThrough uint64
}

// EventBounds returns what the log holds.
func (s *Store) EventBounds() (EventBounds, error) {
	var b EventBounds
	err := s.db.View(func(tx *bolt.Tx) error {
		b = eventBounds(tx)
		return nil
	})
	return b, err
}

func eventBounds(tx *bolt.Tx) EventBounds {
	b := EventBounds{Last: tx.Bucket(bucketEvents).Sequence()}
	if v := tx.Bucket(bucketMeta).Get(keyEventsPurgedThrough); v != nil {
		b.PurgedThrough = readU64(v)
	}
	return b
}

// eventScanLimit bounds the events one EventsAfter call looks at, so a
// filter that matches little does not hold a read transaction over the
// whole log.
const eventScanLimit = 5000

// EventsAfter returns up to limit events with sequence numbers after
// after that match (nil matches all), oldest first, and the sequence
// number it has looked through: every event up to it that matches was
// returned. A reader resumes from that number. It fails with
// ErrEventsPurged when events after after were purged.
func (s *Store) EventsAfter(after uint64, limit int, match func(*events.Event) bool) ([]events.Event, uint64, error) {
	var out []events.Event
	through := after
	err := s.db.View(func(tx *bolt.Tx) error {
		if after < eventBounds(tx).PurgedThrough {
			return fmt.Errorf("event %d: %w", after, ErrEventsPurged)
		}
		c := tx.Bucket(bucketEvents).Cursor()
		scanned := 0
		for k, v := c.Seek(u64(after + 1)); k != nil; k, v = c.Next() {
			seq := readU64(k)
			ev, err := decodeEvent(seq, v)
			if err != nil {
				return err
			}
			through = seq
			if match == nil || match(&ev) {
				out = append(out, ev)
				if limit > 0 && len(out) >= limit {
					break
				}
			}
			if scanned++; scanned >= eventScanLimit {
				break
			}
		}
		return nil
	})
	return out, through, err
}

// Event returns the event with sequence number seq.
func (s *Store) Event(seq uint64) (events.Event, error) {
	var ev events.Event
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		ev, err = getEvent(tx, seq)
		return err
	})
	return ev, err
}

func getEvent(tx *bolt.Tx, seq uint64) (events.Event, error) {
	v := tx.Bucket(bucketEvents).Get(u64(seq))
	if v == nil {
		if seq <= eventBounds(tx).PurgedThrough {
			return events.Event{}, fmt.Errorf("event %d: %w", seq, ErrEventsPurged)
		}
		return events.Event{}, fmt.Errorf("event %d: %w", seq, ErrNotFound)
	}
	return decodeEvent(seq, v)
}

// WatchEvents returns a channel that receives after the next commit that
// adds to the log, and a func to stop watching. Read the log after
// subscribing, so an event committed in between is not missed.
func (s *Store) WatchEvents() (<-chan struct{}, func()) { return s.ev.watch.watch("") }

// PurgeEvents removes the events recorded before before, oldest first, and
// the webhook attempts made before it, and returns how many events it
// removed. Pending webhook deliveries keep their copy of the event.
func (s *Store) PurgeEvents(ctx context.Context, before time.Time) (int, error) {
	total := 0
	for {
		n := 0
		err := s.Update(ctx, func(tx *Tx) error {
			n = 0
			b := tx.Bucket(bucketEvents)
			var old [][]byte
			c := b.Cursor()
			for k, v := c.First(); k != nil && len(old) < 1000; k, v = c.Next() {
				var r struct {
					Time time.Time `json:"time"`
				}
				if err := json.Unmarshal(v, &r); err != nil {
					return fmt.Errorf("decode event %d: %w", readU64(k), err)
				}
				if !r.Time.Before(before) {
					break
				}
				old = append(old, bytes.Clone(k))
			}
			for _, k := range old {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			if len(old) > 0 {
				last := old[len(old)-1]
				if err := tx.Bucket(bucketMeta).Put(keyEventsPurgedThrough, bytes.Clone(last)); err != nil {
					return err
				}
			}
			n = len(old)
			return nil
		})
		total += n
		if err != nil {
			return total, err
		}
		if n < 1000 {
			break
		}
	}
	return total, s.purgeWebhookAttempts(ctx, before)
}
