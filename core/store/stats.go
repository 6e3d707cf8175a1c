package store

import (
	"bytes"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-chat/switchboard/core/conversation"
)

// This file holds read-only queries for reporting (core/stats) and metrics
// (core/metrics). None of them writes.

// ScannedConversation is one conversation as seen by ScanConversations: the
// conversation, its state changes, and access to its transcript within the
// same read transaction. The *ScannedConversation is reused and valid only
// during the callback; its Transitions slice and Conversation value may be
// kept.
type ScannedConversation struct {
	Conversation Conversation
	// Transitions are the conversation's state changes, oldest first.
	Transitions []conversation.Transition

	tx *bolt.Tx
}

// EachMessage calls fn with the conversation's transcript messages, oldest
// first, until fn returns false or the transcript ends. It reads lazily, so
// a caller that only needs the first few messages pays for those only.
func (sc *ScannedConversation) EachMessage(fn func(m Message) bool) error {
	if sc.tx == nil {
		return fmt.Errorf("messages of %s: read after the scan ended", sc.Conversation.ID)
	}
	prefix := messagePrefix(sc.Conversation.ID)
	c := sc.tx.Bucket(bucketMessages).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var m Message
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("decode message %x of %s: %w", k, sc.Conversation.ID, err)
		}
		if !fn(m) {
			return nil
		}
	}
	return nil
}

// ScanConversations calls fn for every conversation, in ID order, with its
// transitions, all in one read transaction (a consistent snapshot that does
// not block writers). Transitions are found by seeking the conversation's
// key prefix, so the scan is one pass over conversations plus one seek per
// conversation. An error from fn stops the scan and is returned as is.
func (s *Store) ScanConversations(fn func(sc *ScannedConversation) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		trans := tx.Bucket(bucketTransitions).Cursor()
		sc := &ScannedConversation{tx: tx}
		defer func() { sc.tx = nil }()
		err := tx.Bucket(bucketConversations).ForEach(func(k, v []byte) error {
			var c Conversation
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("decode conversation %s: %w", k, err)
			}
			var ts []conversation.Transition // fresh per conversation: fn may keep it
			prefix := messagePrefix(c.ID)
			for tk, tv := trans.Seek(prefix); tk != nil && bytes.HasPrefix(tk, prefix); tk, tv = trans.Next() {
				var t conversation.Transition
				if err := json.Unmarshal(tv, &t); err != nil {
					return fmt.Errorf("decode transition of %s: %w", c.ID, err)
				}
				ts = append(ts, t)
			}
			sc.Conversation, sc.Transitions = c, ts
			return fn(sc)
		})
		return err
	})
}

// CountConversationsByState returns how many conversations are in each
// state, from the counters the state index keeps (no scan). It is what the
// conversations gauge of core/metrics calls on each scrape.
func (s *Store) CountConversationsByState() (map[conversation.State]int, error) {
	counts := map[conversation.State]int{}
	err := s.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		for _, st := range conversation.States {
			if v := meta.Get(stateCountKey(st)); v != nil && readU64(v) > 0 {
				counts[st] = int(readU64(v))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count conversations by state: %w", err)
	}
	return counts, nil
}

// CountOutbox returns how many entries wait in the outbox, without decoding
// them.
func (s *Store) CountOutbox() (int, error) {
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count outbox: %w", err)
	}
	return n, nil
}

// WaitingByDepartment counts the conversations waiting for a person per
// department of their handoff's route; an unrouted one counts in
// defaultDept.
func (s *Store) WaitingByDepartment(defaultDept string) (map[string]int, error) {
	out := map[string]int{}
	err := s.EachInState(conversation.WaitingHuman, func(c *Conversation) error {
		d := defaultDept
		if c.Handoff != nil && c.Handoff.Route != nil {
			d = c.Handoff.Route.Department
		}
		out[d]++
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count waiting conversations: %w", err)
	}
	return out, nil
}
