package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/events"

	"github.com/switchboard-chat/switchboard/sdk"
)

// Conversation is one visitor's chat on one channel instance.
type Conversation struct {
	ID      string   `json:"id"`
	Channel string   `json:"channel"`
	Ref     string   `json:"ref"` // the channel's native conversation reference
	User    sdk.User `json:"user"`
	// Status is the state, the failed-turn count and the handoff, as the
	// conversation rules see them; its fields are stored inline.
	conversation.Status
	// Context is the latest per-channel context of the visitor's events
	// (reply tokens and the like), handed back to the channel on sends.
	Context map[string]string `json:"context,omitempty"`
	// Unreachable is set when the channel said the visitor blocked the bot.
	Unreachable bool `json:"unreachable,omitempty"`
	// Profile is what the customer lookup said about the visitor; nil
	// before the first answer.
	Profile *Profile `json:"profile,omitempty"`
	// LookupAt is when the customer lookup was last tried; zero: never.
	LookupAt  time.Time `json:"lookup_at,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Message is one transcript entry.
type Message struct {
	ID             uint64            `json:"id"`
	ConversationID string            `json:"conversation_id"`
	Role           conversation.Role `json:"role"`
	Text           string            `json:"text"`
	Attachments    []sdk.Attachment  `json:"attachments,omitempty"`
	EventID        string            `json:"event_id,omitempty"`
	// Private marks an operator's note for the other operators: never
	// shown to the visitor, a desk or the model.
	Private bool `json:"private,omitempty"`
	// Author is the operator who wrote an operator's line or note (nil
	// for other roles, and when the desk did not say).
	Author *conversation.Operator `json:"author,omitempty"`
	// Sources are the knowledge-base entries a bot answer was drawn from.
	Sources   []conversation.Source `json:"sources,omitempty"`
	CreatedAt time.Time             `json:"created_at"`
}

// NewID returns an identifier with the given prefix, e.g. "c_0193a4…": 24
// hex digits, the first 12 the creation time in milliseconds and the rest
// random. Time first makes new records land at the end of their bucket,
// where a flood of new conversations touches a few pages per commit instead
// of one random page per record.
func NewID(prefix string) string {
	var b [12]byte
	ms := uint64(time.Now().UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	if _, err := rand.Read(b[6:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return prefix + hex.EncodeToString(b[:])
}

func refKey(channel, ref string) []byte {
	k := make([]byte, 0, len(channel)+1+len(ref))
	k = append(k, channel...)
	k = append(k, 0)
	return append(k, ref...)
}

func messageKey(convID string, id uint64) []byte {
	k := make([]byte, 0, len(convID)+1+8)
	k = append(k, convID...)
	k = append(k, 0)
	return append(k, u64(id)...)
}

func messagePrefix(convID string) []byte {
	return append([]byte(convID), 0)
}

// seekLast moves c to the last key under id's prefix (messagePrefix) in a
// bucket keyed by messageKey, and returns it; nil when there is none.
func seekLast(c *bolt.Cursor, id string) (k, v []byte) {
	k, v = c.Seek(messageKey(id, ^uint64(0)))
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	if k == nil || !bytes.HasPrefix(k, messagePrefix(id)) {
		return nil, nil
	}
	return k, v
}

// convSeqKey is where the conversation's event counter is kept in the
// transcripts' bucket: the ID and a 1 sorts after every line of the
// conversation (the ID and a 0, then the line's number) and before any
// other conversation's keys, so no scan of a transcript by its prefix
// meets it.
func convSeqKey(convID string) []byte {
	return append([]byte(convID), 1)
}

// isMessageKey tells a transcript line's key from a counter's (convSeqKey)
// in a scan of the whole bucket.
func isMessageKey(k []byte) bool {
	return len(k) > 9 && k[len(k)-9] == 0
}

// CreateConversation stores a new conversation. If Ref is empty the
// conversation's own ID is used as its reference (the REST channel does so).
func (s *Store) CreateConversation(ctx context.Context, c Conversation) (Conversation, error) {
	now := s.opts.Now().UTC()
	c.ID = NewID("c_")
	if c.Ref == "" {
		c.Ref = c.ID
	}
	if c.State == "" {
		c.State = conversation.Bot
	}
	c.CreatedAt, c.UpdatedAt = now, now
	err := s.Update(ctx, func(tx *Tx) error {
		refs := tx.Bucket(bucketConvRefs)
		if refs.Get(refKey(c.Channel, c.Ref)) != nil {
			return fmt.Errorf("conversation %s/%s already exists", c.Channel, c.Ref)
		}
		return createConversation(tx, &c)
	})
	if err != nil {
		return Conversation{}, err
	}
	return c, nil
}

// createConversation stores a new conversation and records that it was
// created.
func createConversation(tx *Tx, c *Conversation) error {
	if err := tx.putConversation(c); err != nil {
		return err
	}
	tx.remember(c)
	_, err := EmitTx(tx, c.Subject(), events.ConversationCreated{
		User: events.User{ID: c.User.ID, Name: c.User.Name}, State: c.State,
	})
	return err
}

func putConversation(tx *bolt.Tx, c *Conversation) error {
	_, err := writeConversation(tx, c)
	return err
}

// putConversation writes c, keeping its decoded form for the next read
// (the cache checks the stored bytes, so a write rolled back later only
// costs that read a decode).
func (tx *Tx) putConversation(c *Conversation) error {
	data, err := writeConversation(tx.Tx, c)
	if err != nil {
		return err
	}
	tx.st.convs.put(c.ID, data, c)
	return nil
}

// writeConversation stores c with its state index and reference and
// returns the bytes stored.
func writeConversation(tx *bolt.Tx, c *Conversation) ([]byte, error) {
	data, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode conversation %s: %w", c.ID, err)
	}
	if err := appending(tx, bucketConversations).Put([]byte(c.ID), data); err != nil {
		return nil, err
	}
	if err := indexState(tx, c.ID, c.State); err != nil {
		return nil, fmt.Errorf("index conversation %s: %w", c.ID, err)
	}
	// The reference never changes once written; putting it again would
	// still rewrite its page.
	refs, key := tx.Bucket(bucketConvRefs), refKey(c.Channel, c.Ref)
	if id := refs.Get(key); id != nil && string(id) == c.ID {
		return data, nil
	}
	return data, refs.Put(key, []byte(c.ID))
}

func getConversation(tx *bolt.Tx, id string) (Conversation, error) {
	data := tx.Bucket(bucketConversations).Get([]byte(id))
	if data == nil {
		return Conversation{}, fmt.Errorf("conversation %s: %w", id, ErrNotFound)
	}
	var c Conversation
	if err := json.Unmarshal(data, &c); err != nil {
		return Conversation{}, fmt.Errorf("decode conversation %s: %w", id, err)
	}
	return c, nil
}

// Conversation returns the conversation with the given ID.
func (s *Store) Conversation(id string) (Conversation, error) {
	var c Conversation
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		c, err = s.conversationAt(tx, id)
		return err
	})
	return c, err
}

// ConversationByRef finds a channel's conversation by its native reference.
func (s *Store) ConversationByRef(channel, ref string) (Conversation, error) {
	var c Conversation
	err := s.db.View(func(tx *bolt.Tx) error {
		id := tx.Bucket(bucketConvRefs).Get(refKey(channel, ref))
		if id == nil {
			return fmt.Errorf("conversation %s/%s: %w", channel, ref, ErrNotFound)
		}
		var err error
		c, err = getConversation(tx, string(id))
		return err
	})
	return c, err
}

// ListConversations returns conversations, optionally only those in state
// (empty: all), in ID order (creation order, to the millisecond), at most
// limit (0: no limit).
// With a state it reads only that state's conversations, through the state
// index.
func (s *Store) ListConversations(state conversation.State, limit int) ([]Conversation, error) {
	return s.ConversationPage(state, Page{Limit: limit})
}

// appendMessage adds m to its conversation's transcript, sets its ID and
// records that it was created (unless it is a private note).
func appendMessage(tx *Tx, m *Message) error {
	b := appending(tx.Tx, bucketMessages)
	id, err := b.NextSequence()
	if err != nil {
		return err
	}
	m.ID = id
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode message of %s: %w", m.ConversationID, err)
	}
	key := messageKey(m.ConversationID, id)
	if err := b.Put(key, data); err != nil {
		return err
	}
	tx.st.msgs.put(string(key), data, m)
	if m.Private {
		return nil
	}
	on, err := tx.subject(m.ConversationID)
	if err != nil {
		return err
	}
	ev := events.MessageCreated{MessageID: strconv.FormatUint(id, 10), Role: m.Role, Text: m.Text}
	for _, a := range m.Attachments {
		ev.Attachments = append(ev.Attachments, events.Attachment{Type: a.Type, Name: a.Name, MIMEType: a.MIMEType, Size: a.Size})
	}
	_, err = EmitTx(tx, on, ev)
	return err
}

// AppendMessage adds a message to a conversation's transcript.
func (s *Store) AppendMessage(ctx context.Context, m Message) (Message, error) {
	if m.CreatedAt.IsZero() {
		m.CreatedAt = s.opts.Now().UTC()
	}
	err := s.Update(ctx, func(tx *Tx) error {
		c, err := getConversation(tx.Tx, m.ConversationID)
		if err != nil {
			return err
		}
		tx.remember(&c)
		if err := appendMessage(tx, &m); err != nil {
			return err
		}
		convID := m.ConversationID
		tx.OnCommit(func() { s.watchers.notify(convID) })
		return nil
	})
	return m, err
}

// Messages returns a conversation's transcript after the message with ID
// after (0: from the start), oldest first, at most limit (0: no limit).
func (s *Store) Messages(convID string, after uint64, limit int) ([]Message, error) {
	return s.MessagePage(convID, Page{After: SeqCursor(after), Limit: limit})
}

// WaitMessages returns the messages after after, waiting up to ctx's end for
// at least one to exist.
func (s *Store) WaitMessages(ctx context.Context, convID string, after uint64, limit int) ([]Message, error) {
	for {
		// Subscribe before reading so a message committed in between is
		// not missed.
		ch, cancel := s.watchers.watch(convID)
		msgs, err := s.Messages(convID, after, limit)
		if err != nil || len(msgs) > 0 {
			cancel()
			return msgs, err
		}
		select {
		case <-ch:
			cancel()
		case <-ctx.Done():
			cancel()
			return nil, nil
		}
	}
}

// ActivityTimes returns, for each conversation, when anything last
// happened in it: the later of its record's UpdatedAt and its last
// transcript line's time. A line relayed to the people or answered without
// a change of state adds to the transcript and leaves the record as it
// was, so this is what an updated_at shown to users must be.
func (s *Store) ActivityTimes(cs []Conversation) ([]time.Time, error) {
	out := make([]time.Time, len(cs))
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketMessages).Cursor()
		for i, conv := range cs {
			out[i] = conv.UpdatedAt
			k, v := seekLast(c, conv.ID)
			if k == nil {
				continue
			}
			m, err := s.msgs.get(string(k), v)
			if err != nil {
				return err
			}
			if m.CreatedAt.After(out[i]) {
				out[i] = m.CreatedAt
			}
		}
		return nil
	})
	return out, err
}

// LastMessages returns up to n of a conversation's latest messages, oldest
// first.
func (s *Store) LastMessages(convID string, n int) ([]Message, error) {
	out := make([]Message, 0, max(0, min(n, 64)))
	err := s.db.View(func(tx *bolt.Tx) error {
		prefix := messagePrefix(convID)
		c := tx.Bucket(bucketMessages).Cursor()
		k, v := seekLast(c, convID)
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < n; k, v = c.Prev() {
			m, err := s.msgs.get(string(k), v)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	slices.Reverse(out)
	return out, err
}
