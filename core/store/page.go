package store

import (
	"bytes"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-chat/switchboard/core/conversation"
)

// Page asks for one page of a list ordered by key: the entries after the
// key After (none: from the start) in the order asked, at most Limit of
// them (0: all).
type Page struct {
	// After is the key of the last entry of the previous page; nil starts
	// at the first entry (the last, descending).
	After []byte
	// Desc walks from the newest entry to the oldest.
	Desc bool
	// Limit is the most entries returned; 0 returns all.
	Limit int
}

// scan calls fn with each key and value under prefix in p's order, past
// p.After, until fn returns false, an error, or p.Limit entries were seen.
// Keys are compared without the prefix.
func scan(c *bolt.Cursor, prefix []byte, p Page, fn func(k, v []byte) (bool, error)) error {
	in := func(k []byte) bool { return k != nil && bytes.HasPrefix(k, prefix) }
	var k, v []byte
	switch {
	case !p.Desc && p.After == nil:
		k, v = c.Seek(prefix)
	case !p.Desc:
		from := append(bytes.Clone(prefix), p.After...)
		k, v = c.Seek(from)
		if bytes.Equal(k, from) {
			k, v = c.Next()
		}
	default:
		// Descending: the last key under the prefix, or the last one
		// before After.
		var end []byte
		if p.After != nil {
			end = append(bytes.Clone(prefix), p.After...)
		} else if end = prefixEnd(prefix); end == nil {
			k, v = c.Last()
		}
		if end != nil {
			if k, _ = c.Seek(end); k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
		}
	}
	seen := 0
	for in(k) && (p.Limit <= 0 || seen < p.Limit) {
		more, err := fn(k, v)
		if err != nil || !more {
			return err
		}
		seen++
		if p.Desc {
			k, v = c.Prev()
		} else {
			k, v = c.Next()
		}
	}
	return nil
}

// prefixEnd is the first key after every key that starts with prefix, or
// nil when there is none (an empty prefix, or one of 0xff bytes only).
func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// ConversationPage returns one page of conversations (in one state, or
// all when state is ""), ordered by id, which orders them by creation.
// Conversations created while a client pages are past its cursor or
// before it, so every other one is seen exactly once.
func (s *Store) ConversationPage(state conversation.State, p Page) ([]Conversation, error) {
	var out []Conversation
	err := s.db.View(func(tx *bolt.Tx) error {
		if state == "" {
			return scan(tx.Bucket(bucketConversations).Cursor(), nil, p, func(k, v []byte) (bool, error) {
				var conv Conversation
				if err := json.Unmarshal(v, &conv); err != nil {
					return false, fmt.Errorf("decode conversation %s: %w", k, err)
				}
				out = append(out, conv)
				return true, nil
			})
		}
		prefix := stateKey(state, "")
		return scan(tx.Bucket(bucketConvStates).Cursor(), prefix, p, func(k, _ []byte) (bool, error) {
			conv, err := s.conversationAt(tx, string(k[len(prefix):]))
			if err != nil {
				return false, err
			}
			out = append(out, conv)
			return true, nil
		})
	})
	return out, err
}

// EachInState calls fn with every conversation in state, through the
// state index, reading each in place: a pass over thousands of waiting
// conversations copies none. fn must neither keep nor change what it is
// given, nor write to the store; an error from fn ends the pass.
func (s *Store) EachInState(state conversation.State, fn func(*Conversation) error) error {
	prefix := stateKey(state, "")
	return s.db.View(func(tx *bolt.Tx) error {
		convs := tx.Bucket(bucketConversations)
		c := tx.Bucket(bucketConvStates).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			id := k[len(prefix):]
			data := convs.Get(id)
			if data == nil {
				continue
			}
			if err := s.convs.peek(string(id), data, fn); err != nil {
				return err
			}
		}
		return nil
	})
}

// MessagePage returns one page of a conversation's transcript, ordered by
// message id; Page.After is a message id as [SeqCursor] gives it.
func (s *Store) MessagePage(convID string, p Page) ([]Message, error) {
	var out []Message
	err := s.db.View(func(tx *bolt.Tx) error {
		if _, err := getConversation(tx, convID); err != nil {
			return err
		}
		return scan(tx.Bucket(bucketMessages).Cursor(), messagePrefix(convID), p, func(k, v []byte) (bool, error) {
			var m Message
			if err := json.Unmarshal(v, &m); err != nil {
				return false, fmt.Errorf("decode message %x: %w", k, err)
			}
			out = append(out, m)
			return true, nil
		})
	})
	return out, err
}

// AuditPage returns one page of the audit log, ordered by entry number;
// Page.After is an entry number from [SeqCursor].
func (s *Store) AuditPage(p Page) ([]AuditEntry, error) {
	var out []AuditEntry
	err := s.db.View(func(tx *bolt.Tx) error {
		return scan(tx.Bucket(bucketAudit).Cursor(), nil, p, func(k, v []byte) (bool, error) {
			var e AuditEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return false, fmt.Errorf("decode audit entry %d: %w", readU64(k), err)
			}
			out = append(out, e)
			return true, nil
		})
	})
	return out, err
}

// SeqCursor is the page key of a message id or an audit entry number.
func SeqCursor(seq uint64) []byte { return u64(seq) }

// WebhookAttemptPage returns one page of a subscription's delivery
// attempts, ordered by when they were made, with the key of each for the
// next page's Page.After.
func (s *Store) WebhookAttemptPage(id string, p Page) ([]WebhookAttempt, [][]byte, error) {
	var (
		out  []WebhookAttempt
		keys [][]byte
	)
	prefix := messagePrefix(id)
	err := s.db.View(func(tx *bolt.Tx) error {
		if _, err := getWebhook(tx, id); err != nil {
			return err
		}
		return scan(tx.Bucket(bucketWebhookAttempts).Cursor(), prefix, p, func(k, v []byte) (bool, error) {
			var a WebhookAttempt
			if err := json.Unmarshal(v, &a); err != nil {
				return false, fmt.Errorf("decode webhook attempt %x: %w", k, err)
			}
			out = append(out, a)
			keys = append(keys, bytes.Clone(k[len(prefix):]))
			return true, nil
		})
	})
	return out, keys, err
}
