package store

import (
	"bytes"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/events"
)

func transitionKey(convID string, seq uint64) []byte { return messageKey(convID, seq) }

// GetConversationTx reads a conversation inside a write transaction.
func GetConversationTx(tx *Tx, id string) (Conversation, error) {
	c, err := tx.st.conversationAt(tx.Tx, id)
	if err == nil {
		tx.remember(&c)
	}
	return c, err
}

// PutConversationTx writes a conversation inside a write transaction;
// watchers of it are woken after the commit.
func PutConversationTx(tx *Tx, c *Conversation) error {
	if err := tx.putConversation(c); err != nil {
		return err
	}
	tx.remember(c)
	id, w := c.ID, tx.watchers
	tx.OnCommit(func() { w.notify(id) })
	return nil
}

// AppendMessageTx adds a transcript message inside a write transaction;
// readers waiting on the conversation are woken after the commit.
func (s *Store) AppendMessageTx(tx *Tx, m *Message) error {
	if m.CreatedAt.IsZero() {
		m.CreatedAt = s.opts.Now().UTC()
	}
	if err := appendMessage(tx, m); err != nil {
		return err
	}
	convID := m.ConversationID
	tx.OnCommit(func() { s.watchers.notify(convID) })
	return nil
}

// AddTransitionTx records a state change inside a write transaction, with
// its conversation.state_changed event.
func AddTransitionTx(tx *Tx, convID string, t conversation.Transition) error {
	b := appending(tx.Tx, bucketTransitions)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	data, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if err := b.Put(transitionKey(convID, seq), data); err != nil {
		return err
	}
	on, err := tx.subject(convID)
	if err != nil {
		return err
	}
	_, err = EmitTx(tx, on, events.ConversationStateChanged{From: t.From, To: t.To, Cause: t.Cause, Reason: t.Reason})
	return err
}

// Transitions returns a conversation's state changes, oldest first.
func (s *Store) Transitions(convID string) ([]conversation.Transition, error) {
	var out []conversation.Transition
	err := s.db.View(func(tx *bolt.Tx) error {
		if _, err := getConversation(tx, convID); err != nil {
			return err
		}
		prefix := messagePrefix(convID)
		c := tx.Bucket(bucketTransitions).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var t conversation.Transition
			if err := json.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("decode transition of %s: %w", convID, err)
			}
			out = append(out, t)
		}
		return nil
	})
	return out, err
}

// MapDeskRefTx remembers that a conversation's handoff is open on a desk
// under ref, in both directions.
func MapDeskRefTx(tx *Tx, desk, ref, convID string) error {
	if err := tx.Bucket(bucketDeskRefs).Put(refKey(desk, ref), []byte(convID)); err != nil {
		return err
	}
	return tx.Bucket(bucketConvDesk).Put([]byte(convID), refKey(desk, ref))
}

// UnmapDeskTx forgets a conversation's desk reference, if any.
func UnmapDeskTx(tx *Tx, convID string) error {
	v := tx.Bucket(bucketConvDesk).Get([]byte(convID))
	if v == nil {
		return nil
	}
	if err := tx.Bucket(bucketDeskRefs).Delete(v); err != nil {
		return err
	}
	return tx.Bucket(bucketConvDesk).Delete([]byte(convID))
}

// DeskRef returns the desk instance and reference of a conversation's open
// handoff; ok is false when it has none.
func (s *Store) DeskRef(convID string) (desk, ref string, ok bool) {
	s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketConvDesk).Get([]byte(convID))
		if v == nil {
			return nil
		}
		d, r, found := bytes.Cut(v, []byte{0})
		desk, ref, ok = string(d), string(r), found
		return nil
	})
	return desk, ref, ok
}

// ConversationByDeskRef finds the conversation a desk reference belongs to.
func (s *Store) ConversationByDeskRef(desk, ref string) (string, error) {
	var id string
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketDeskRefs).Get(refKey(desk, ref))
		if v == nil {
			return fmt.Errorf("desk %s reference %s: %w", desk, ref, ErrNotFound)
		}
		id = string(v)
		return nil
	})
	return id, err
}
