package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-chat/switchboard/sdk"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/events"
)

// Operation is what an outbox entry asks its destination to do.
type Operation uint8

// Operations. The visitor's channel takes OpSendText and OpNativeHandoff;
// the desk takes the other three.
const (
	// OpSendText sends a text to the visitor.
	OpSendText Operation = iota + 1
	// OpNativeHandoff transfers the visitor to a human inside the
	// visitor's own channel.
	OpNativeHandoff
	// OpOpenHandoff opens a handoff on the desk.
	OpOpenHandoff
	// OpRelayToDesk posts a visitor message into an open handoff.
	OpRelayToDesk
	// OpCloseHandoff ends a handoff on the desk.
	OpCloseHandoff
	// OpWebhook delivers an event to a webhook subscription.
	OpWebhook
)

// operationNames are the operations as stored on disk and shown by the
// admin API. They never change: the database depends on them.
var operationNames = map[Operation]string{
	OpSendText:      "text",
	OpNativeHandoff: "handoff",
	OpOpenHandoff:   "desk.open",
	OpRelayToDesk:   "desk.relay",
	OpCloseHandoff:  "desk.close",
	OpWebhook:       "webhook",
}

// String returns the operation's stored name.
func (o Operation) String() string {
	if name, ok := operationNames[o]; ok {
		return name
	}
	return "operation(" + strconv.Itoa(int(o)) + ")"
}

// MarshalText stores the operation by name.
func (o Operation) MarshalText() ([]byte, error) {
	name, ok := operationNames[o]
	if !ok {
		return nil, fmt.Errorf("unknown outbox operation %d", o)
	}
	return []byte(name), nil
}

// operationsByName reverses operationNames.
var operationsByName = func() map[string]Operation {
	m := make(map[string]Operation, len(operationNames))
	for op, name := range operationNames {
		m[name] = op
	}
	return m
}()

// UnmarshalText reads an operation's stored name.
func (o *Operation) UnmarshalText(b []byte) error {
	op, ok := operationsByName[string(b)]
	if !ok {
		return fmt.Errorf("unknown outbox operation %q", b)
	}
	*o = op
	return nil
}

// Payload is the operation's part of an outbox entry: one of [SendText],
// [NativeHandoff], [OpenHandoff], [RelayToDesk], [CloseHandoff] or
// [WebhookEvent].
type Payload interface {
	// Operation says which one it is.
	Operation() Operation
}

// SendText is a text for the visitor.
type SendText struct {
	// Ref is the visitor's conversation reference on the channel.
	Ref  string   `json:"ref"`
	User sdk.User `json:"user"`
	Text string   `json:"text"`
	// Role says who wrote it: RoleBot or RoleOperator.
	Role conversation.Role `json:"role,omitempty"`
	// Context is the conversation's channel context when it was queued.
	Context map[string]string `json:"context,omitempty"`
	// Choices are offered with the text, as buttons where the channel has
	// them.
	Choices []conversation.Choice `json:"choices,omitempty"`
}

// NativeHandoff transfers the visitor inside the channel, with Text as
// what the visitor sees and Reason as the operator's note.
type NativeHandoff struct {
	Ref     string            `json:"ref"`
	User    sdk.User          `json:"user"`
	Text    string            `json:"text,omitempty"`
	Reason  string            `json:"reason,omitempty"`
	Context map[string]string `json:"context,omitempty"`
	// Department is the platform's id of the routed department; "" for
	// the channel's own default.
	Department string `json:"department,omitempty"`
}

// OpenHandoff opens a handoff on the desk. The desk's reference for it is
// mapped to the conversation once the desk returned it.
type OpenHandoff struct {
	User sdk.User `json:"user"`
	// Channel is the instance the visitor writes on.
	Channel    string                `json:"channel"`
	Reason     string                `json:"reason,omitempty"`
	Summary    string                `json:"summary,omitempty"`
	Transcript []sdk.TranscriptEntry `json:"transcript,omitempty"`
	// Department is the desk's id of the routed department; "" for the
	// desk's own default.
	Department string `json:"department,omitempty"`
}

// RelayToDesk posts a visitor message into the conversation's open
// handoff; the desk reference is looked up when it is delivered.
type RelayToDesk struct {
	User sdk.User `json:"user"`
	Text string   `json:"text"`
}

// CloseHandoff ends the conversation's open handoff on the desk, if it
// has one when it is delivered.
type CloseHandoff struct {
	Reason string `json:"reason,omitempty"`
}

// WebhookEvent is an event for a webhook subscription, with the body every
// attempt sends: the event as it was when recorded, whatever the log keeps.
type WebhookEvent struct {
	Subscription string `json:"subscription"`
	// EventSeq is the event's place in the log, EventID its webhook-id.
	EventSeq uint64      `json:"event_seq"`
	EventID  string      `json:"event_id"`
	Type     events.Type `json:"type"`
	// Body is the webhook body ({"type","timestamp","data"}), sent as is.
	Body json.RawMessage `json:"body"`
}

// Operation implements [Payload].
func (SendText) Operation() Operation { return OpSendText }

// Operation implements [Payload].
func (NativeHandoff) Operation() Operation { return OpNativeHandoff }

// Operation implements [Payload].
func (OpenHandoff) Operation() Operation { return OpOpenHandoff }

// Operation implements [Payload].
func (RelayToDesk) Operation() Operation { return OpRelayToDesk }

// Operation implements [Payload].
func (CloseHandoff) Operation() Operation { return OpCloseHandoff }

// Operation implements [Payload].
func (WebhookEvent) Operation() Operation { return OpWebhook }

// Lane orders deliveries: the entries of one lane go out one at a time in
// Seq order, and lanes do not wait for each other. A conversation has a
// lane per destination (its visitor's channel, the desk), so a destination
// that fails holds back neither the other one nor other conversations.
type Lane struct {
	ConversationID string
	// Instance is the destination.
	Instance string
}

// OutboxEntry is one pending delivery.
type OutboxEntry struct {
	Seq            uint64
	ConversationID string
	// Instance is the channel instance that delivers it (the visitor's
	// channel, or the desk).
	Instance string
	// Payload is what to deliver; its type is the operation.
	Payload Payload

	Attempts    int
	NextAttempt time.Time
	LastError   string
	CreatedAt   time.Time
}

// outboxRecord is an entry as stored: its operation by name, and the
// payload under the field of that operation (one pass to decode).
type outboxRecord struct {
	Seq            uint64         `json:"seq"`
	ConversationID string         `json:"conversation_id"`
	Instance       string         `json:"instance"`
	Op             Operation      `json:"op"`
	SendText       *SendText      `json:"send_text,omitempty"`
	NativeHandoff  *NativeHandoff `json:"native_handoff,omitempty"`
	OpenHandoff    *OpenHandoff   `json:"open_handoff,omitempty"`
	RelayToDesk    *RelayToDesk   `json:"relay_to_desk,omitempty"`
	CloseHandoff   *CloseHandoff  `json:"close_handoff,omitempty"`
	Webhook        *WebhookEvent  `json:"webhook,omitempty"`
	Attempts       int            `json:"attempts"`
	NextAttempt    time.Time      `json:"next_attempt"`
	LastError      string         `json:"last_error,omitempty"`
	CreatedAt      time.Time      `json:"created_at"`
}

// record is the entry as stored.
func (e *OutboxEntry) record() (outboxRecord, error) {
	r := outboxRecord{
		Seq: e.Seq, ConversationID: e.ConversationID, Instance: e.Instance,
		Attempts: e.Attempts, NextAttempt: e.NextAttempt, LastError: e.LastError, CreatedAt: e.CreatedAt,
	}
	switch p := e.Payload.(type) {
	case SendText:
		r.SendText = &p
	case NativeHandoff:
		r.NativeHandoff = &p
	case OpenHandoff:
		r.OpenHandoff = &p
	case RelayToDesk:
		r.RelayToDesk = &p
	case CloseHandoff:
		r.CloseHandoff = &p
	case WebhookEvent:
		r.Webhook = &p
	default:
		return outboxRecord{}, fmt.Errorf("outbox entry %d has no payload", e.Seq)
	}
	r.Op = e.Payload.Operation()
	return r, nil
}

// entry is the stored entry, with the payload its operation names.
func (r *outboxRecord) entry() (OutboxEntry, error) {
	var p Payload
	switch {
	case r.Op == OpSendText && r.SendText != nil:
		p = *r.SendText
	case r.Op == OpNativeHandoff && r.NativeHandoff != nil:
		p = *r.NativeHandoff
	case r.Op == OpOpenHandoff && r.OpenHandoff != nil:
		p = *r.OpenHandoff
	case r.Op == OpRelayToDesk && r.RelayToDesk != nil:
		p = *r.RelayToDesk
	case r.Op == OpCloseHandoff && r.CloseHandoff != nil:
		p = *r.CloseHandoff
	case r.Op == OpWebhook && r.Webhook != nil:
		p = *r.Webhook
	default:
		return OutboxEntry{}, fmt.Errorf("no payload for its operation %s", r.Op)
	}
	return OutboxEntry{
		Seq: r.Seq, ConversationID: r.ConversationID, Instance: r.Instance, Payload: p,
		Attempts: r.Attempts, NextAttempt: r.NextAttempt, LastError: r.LastError, CreatedAt: r.CreatedAt,
	}, nil
}

func encodeEntry(e *OutboxEntry) ([]byte, error) {
	r, err := e.record()
	if err != nil {
		return nil, err
	}
	return json.Marshal(r)
}

func decodeEntry(data []byte) (OutboxEntry, error) {
	var r outboxRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return OutboxEntry{}, err
	}
	return r.entry()
}

// deadLetterRecord is a dead letter (or a possibly delivered record) as
// stored.
type deadLetterRecord struct {
	Entry    outboxRecord `json:"entry"`
	Error    string       `json:"error"`
	FailedAt time.Time    `json:"failed_at"`
}

func encodeDeadLetter(d DeadLetter) ([]byte, error) {
	r, err := d.Entry.record()
	if err != nil {
		return nil, err
	}
	return json.Marshal(deadLetterRecord{Entry: r, Error: d.Error, FailedAt: d.FailedAt})
}

func decodeDeadLetter(data []byte) (DeadLetter, error) {
	var r deadLetterRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return DeadLetter{}, err
	}
	e, err := r.Entry.entry()
	return DeadLetter{Entry: e, Error: r.Error, FailedAt: r.FailedAt}, err
}

// ID is the entry's stable delivery id, the same on every attempt.
func (e *OutboxEntry) ID() string { return "o" + strconv.FormatUint(e.Seq, 10) }

// Op is the entry's operation.
func (e *OutboxEntry) Op() Operation {
	if e.Payload == nil {
		return 0
	}
	return e.Payload.Operation()
}

// Lane is the lane the entry is delivered in: its conversation and
// destination.
func (e *OutboxEntry) Lane() Lane {
	return Lane{ConversationID: e.ConversationID, Instance: e.Instance}
}

// Text is the message the entry carries, if any.
func (e *OutboxEntry) Text() string {
	switch p := e.Payload.(type) {
	case SendText:
		return p.Text
	case NativeHandoff:
		return p.Text
	case RelayToDesk:
		return p.Text
	}
	return ""
}

// DeadLetter is an entry that could not be delivered.
type DeadLetter struct {
	Entry    OutboxEntry
	Error    string
	FailedAt time.Time
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
	data, err := encodeEntry(e)
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
			e, err := decodeEntry(v)
			if err != nil {
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

// InOutboxTx reports whether entry seq is pending in the outbox.
func InOutboxTx(tx *Tx, seq uint64) bool { return tx.Bucket(bucketOutbox).Get(u64(seq)) != nil }

// DeleteOutboxTx removes a delivered entry.
func DeleteOutboxTx(tx *Tx, seq uint64) error { return tx.Bucket(bucketOutbox).Delete(u64(seq)) }

// DeadLetterTx moves an entry from the outbox to the dead letters.
func DeadLetterTx(tx *Tx, e *OutboxEntry, cause string, at time.Time) error {
	data, err := encodeDeadLetter(DeadLetter{Entry: *e, Error: cause, FailedAt: at})
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
			d, err := decodeDeadLetter(v)
			if err != nil {
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
	tx.OnCommit(func() { s.feedInbox([]InboxItem{item}) })
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
