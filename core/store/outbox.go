package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-chat/switchboard/sdk"
)

// Outbox entry kinds beyond the sdk.Outbound kinds ("text", "typing",
// "handoff"): calls to the human desk.
const (
	OutDeskOpen  = "desk.open"
	OutDeskRelay = "desk.relay"
	OutDeskClose = "desk.close"
)

// OutboxEntry is one pending delivery. Entries of one conversation are
// delivered strictly in Seq order.
type OutboxEntry struct {
	Seq uint64 `json:"seq"`
	// ConversationID orders deliveries: the head entry of a conversation
	// blocks the ones after it.
	ConversationID string `json:"conversation_id"`
	// Instance is the channel instance that delivers it (the visitor's
	// channel, or the desk).
	Instance string `json:"instance"`
	Kind     string `json:"kind"`
	// Ref is the native conversation reference on Instance; desk relays
	// and closes take the handoff's desk reference at delivery time.
	Ref     string            `json:"ref,omitempty"`
	User    sdk.User          `json:"user"`
	Text    string            `json:"text,omitempty"`
	Role    string            `json:"role,omitempty"`
	Reason  string            `json:"reason,omitempty"`
	Context map[string]string `json:"context,omitempty"`
	// Desk open payload.
	Channel    string                `json:"channel,omitempty"`
	Summary    string                `json:"summary,omitempty"`
	Transcript []sdk.TranscriptEntry `json:"transcript,omitempty"`

	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt"`
	LastError   string    `json:"last_error,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// ID is the entry's stable delivery id, the same on every attempt.
func (e *OutboxEntry) ID() string { return "o" + strconv.FormatUint(e.Seq, 10) }

// DeadLetter is an entry that could not be delivered.
type DeadLetter struct {
	Entry    OutboxEntry `json:"entry"`
	Error    string      `json:"error"`
	FailedAt time.Time   `json:"failed_at"`
}

// PutOutboxTx queues an entry inside a write transaction and sets its Seq.
func PutOutboxTx(tx *Tx, e *OutboxEntry) error {
	b := tx.Bucket(bucketOutbox)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	e.Seq = seq
	return putOutbox(tx.Tx, e)
}

func putOutbox(tx *bolt.Tx, e *OutboxEntry) error {
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode outbox entry %d: %w", e.Seq, err)
	}
	return appending(tx, bucketOutbox).Put(u64(e.Seq), data)
}

// Outbox returns every pending entry in Seq order.
func (s *Store) Outbox() ([]OutboxEntry, error) {
	var out []OutboxEntry
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOutbox).ForEach(func(k, v []byte) error {
			var e OutboxEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode outbox entry %d: %w", readU64(k), err)
			}
			out = append(out, e)
			return nil
		})
	})
	return out, err
}

// UpdateOutboxTx rewrites an entry (after a failed attempt).
func UpdateOutboxTx(tx *Tx, e *OutboxEntry) error { return putOutbox(tx.Tx, e) }

// DeleteOutboxTx removes a delivered entry.
func DeleteOutboxTx(tx *Tx, seq uint64) error { return tx.Bucket(bucketOutbox).Delete(u64(seq)) }

// DeadLetterTx moves an entry from the outbox to the dead letters.
func DeadLetterTx(tx *Tx, e *OutboxEntry, cause string, at time.Time) error {
	data, err := json.Marshal(DeadLetter{Entry: *e, Error: cause, FailedAt: at})
	if err != nil {
		return err
	}
	if err := appending(tx.Tx, bucketDeadLetters).Put(u64(e.Seq), data); err != nil {
		return err
	}
	return tx.Bucket(bucketOutbox).Delete(u64(e.Seq))
}

// DeadLetters returns the dead letters in Seq order.
func (s *Store) DeadLetters() ([]DeadLetter, error) {
	var out []DeadLetter
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDeadLetters).ForEach(func(k, v []byte) error {
			var d DeadLetter
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("decode dead letter %d: %w", readU64(k), err)
			}
			out = append(out, d)
			return nil
		})
	})
	return out, err
}

// EnqueueInboxTx queues an internal event for a known conversation (a
// timer firing, an API action) so it is handled in order with the
// conversation's other events.
func (s *Store) EnqueueInboxTx(tx *Tx, convID, channel string, e sdk.Event) (InboxItem, error) {
	now := s.opts.Now().UTC()
	if e.Time.IsZero() {
		e.Time = now
	}
	item := InboxItem{Channel: channel, ConversationID: convID, Event: e, ReceivedAt: now}
	if err := putInbox(tx.Tx, &item); err != nil {
		return InboxItem{}, err
	}
	tx.OnCommit(s.signalInbox)
	return item, nil
}

// Enqueue is EnqueueInboxTx in a transaction of its own.
func (s *Store) Enqueue(ctx context.Context, convID, channel string, e sdk.Event) (InboxItem, error) {
	var item InboxItem
	err := s.Update(ctx, func(tx *Tx) error {
		if _, err := getConversation(tx.Tx, convID); err != nil {
			return err
		}
		var err error
		item, err = s.EnqueueInboxTx(tx, convID, channel, e)
		return err
	})
	return item, err
}

// Now returns the store's clock reading.
func (s *Store) Now() time.Time { return s.opts.Now().UTC() }
