package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-chat/switchboard/sdk"

	"github.com/switchboard-chat/switchboard/core/conversation"
)

// migrations[v] upgrades a database of schema v to v+1, inside the
// transaction that opens it: an upgrade happens completely or not at all.
var migrations = map[int]func(tx *bolt.Tx) error{
	1: steps(typedOutboxPayloads, announcedHandoffs),
	2: steps(eventCountersBesideTranscripts, seenWithoutExpiryIndex),
}

// eventCountersBesideTranscripts upgrades to the conversations' event
// counters kept beside their transcripts (convSeqKey) without moving them:
// moving every counter at once would rewrite the whole transcripts' bucket
// in one transaction at start, as large as the database. Each stays in
// schema 2's bucket, which is only read, until its conversation's next
// event writes it in its new place (nextConversationSeq). The version
// keeps a previous release, which would number events from its stale
// counters, from opening the database.
func eventCountersBesideTranscripts(*bolt.Tx) error { return nil }

// seenWithoutExpiryIndex drops the index of the dedup entries by expiry:
// schema 3 reads each entry's expiry from the entry itself (PurgeSeen).
// Deleting the bucket frees its pages without reading its entries.
func seenWithoutExpiryIndex(tx *bolt.Tx) error {
	if tx.Bucket(bucketSeenExpiry) == nil {
		return nil
	}
	return tx.DeleteBucket(bucketSeenExpiry)
}

// steps runs several upgrades as one.
func steps(fs ...func(tx *bolt.Tx) error) func(tx *bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		for _, f := range fs {
			if err := f(tx); err != nil {
				return err
			}
		}
		return nil
	}
}

// announcedHandoffs marks the handoffs in progress as announced: schema 1
// told the visitor a person was coming as soon as it handed off, where
// later releases wait for the desk to confirm.
func announcedHandoffs(tx *bolt.Tx) error {
	prefix := stateKey(conversation.WaitingHuman, "")
	c := tx.Bucket(bucketConvStates).Cursor()
	var ids []string
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		ids = append(ids, string(k[len(prefix):]))
	}
	for _, id := range ids {
		conv, err := getConversation(tx, id)
		if err != nil {
			return err
		}
		if conv.Handoff == nil || conv.Handoff.Announced {
			continue
		}
		conv.Handoff.Announced = true
		if err := putConversation(tx, &conv); err != nil {
			return err
		}
	}
	return nil
}

// migrate upgrades a database written with schema have to SchemaVersion.
func migrate(tx *bolt.Tx, have int) error {
	for v := have; v < SchemaVersion; v++ {
		step, ok := migrations[v]
		if !ok {
			return fmt.Errorf("no upgrade from schema version %d", v)
		}
		if err := step(tx); err != nil {
			return fmt.Errorf("upgrade schema %d to %d: %w", v, v+1, err)
		}
	}
	return nil
}

// outboxEntryV1 is an outbox entry of schema 1: one flat record for every
// kind of delivery, the kind a bare string.
type outboxEntryV1 struct {
	Seq            uint64                `json:"seq"`
	ConversationID string                `json:"conversation_id"`
	Instance       string                `json:"instance"`
	Kind           string                `json:"kind"`
	Ref            string                `json:"ref,omitempty"`
	User           sdk.User              `json:"user"`
	Text           string                `json:"text,omitempty"`
	Role           string                `json:"role,omitempty"`
	Reason         string                `json:"reason,omitempty"`
	Context        map[string]string     `json:"context,omitempty"`
	Channel        string                `json:"channel,omitempty"`
	Summary        string                `json:"summary,omitempty"`
	Transcript     []sdk.TranscriptEntry `json:"transcript,omitempty"`
	Attempts       int                   `json:"attempts"`
	NextAttempt    time.Time             `json:"next_attempt"`
	LastError      string                `json:"last_error,omitempty"`
	CreatedAt      time.Time             `json:"created_at"`
}

// upgrade returns the entry with a typed payload. Schema 1 stored its
// kinds under the names the operations still have.
func (v outboxEntryV1) upgrade() (OutboxEntry, error) {
	var op Operation
	if err := op.UnmarshalText([]byte(v.Kind)); err != nil {
		return OutboxEntry{}, err
	}
	var p Payload
	switch op {
	case OpSendText:
		p = SendText{Ref: v.Ref, User: v.User, Text: v.Text, Role: conversation.Role(v.Role), Context: v.Context}
	case OpNativeHandoff:
		p = NativeHandoff{Ref: v.Ref, User: v.User, Text: v.Text, Reason: v.Reason, Context: v.Context}
	case OpOpenHandoff:
		p = OpenHandoff{User: v.User, Channel: v.Channel, Reason: v.Reason, Summary: v.Summary, Transcript: v.Transcript}
	case OpRelayToDesk:
		p = RelayToDesk{User: v.User, Text: v.Text}
	case OpCloseHandoff:
		p = CloseHandoff{Reason: v.Reason}
	}
	return OutboxEntry{
		Seq: v.Seq, ConversationID: v.ConversationID, Instance: v.Instance, Payload: p,
		Attempts: v.Attempts, NextAttempt: v.NextAttempt, LastError: v.LastError, CreatedAt: v.CreatedAt,
	}, nil
}

// typedOutboxPayloads rewrites the pending entries, the dead letters and
// the possibly delivered records of schema 1 with typed payloads. Seqs,
// and so delivery ids, stay.
func typedOutboxPayloads(tx *bolt.Tx) error {
	err := rewrite(tx, bucketOutbox, func(data []byte) ([]byte, error) {
		var v outboxEntryV1
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, err
		}
		e, err := v.upgrade()
		if err != nil {
			return nil, err
		}
		return encodeEntry(&e)
	})
	if err != nil {
		return err
	}
	letter := func(data []byte) ([]byte, error) {
		var d struct {
			Entry    outboxEntryV1 `json:"entry"`
			Error    string        `json:"error"`
			FailedAt time.Time     `json:"failed_at"`
		}
		if err := json.Unmarshal(data, &d); err != nil {
			return nil, err
		}
		e, err := d.Entry.upgrade()
		if err != nil {
			return nil, err
		}
		return encodeDeadLetter(DeadLetter{Entry: e, Error: d.Error, FailedAt: d.FailedAt})
	}
	if err := rewrite(tx, bucketDeadLetters, letter); err != nil {
		return err
	}
	return rewrite(tx, bucketPossiblyDelivered, letter)
}

// rewrite replaces every value of a bucket with conv's result.
func rewrite(tx *bolt.Tx, bucket []byte, conv func([]byte) ([]byte, error)) error {
	b := tx.Bucket(bucket)
	type kv struct{ k, v []byte }
	var out []kv
	err := b.ForEach(func(k, v []byte) error {
		data, err := conv(v)
		if err != nil {
			return fmt.Errorf("%s %d: %w", bucket, readU64(k), err)
		}
		out = append(out, kv{append([]byte(nil), k...), data})
		return nil
	})
	if err != nil {
		return err
	}
	for _, r := range out {
		if err := b.Put(r.k, r.v); err != nil {
			return err
		}
	}
	return nil
}
