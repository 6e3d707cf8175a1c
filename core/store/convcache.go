package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// convCacheSize bounds the decoded conversations kept in memory.
const convCacheSize = 2048

// convCache keeps recently decoded conversation records with the bytes
// they were decoded from. A record is used only while the stored bytes
// are the same, so the cache never answers with a stale conversation,
// whatever wrote the record or rolled back meanwhile: a message costs one
// decode of its conversation (at intake) instead of one per read (intake,
// the engine's read, the engine's commit).
type convCache struct {
	mu      sync.Mutex
	entries map[string]convEntry
}

type convEntry struct {
	raw []byte
	// conv is never changed once cached, so readers may share it.
	conv *Conversation
}

func newConvCache() *convCache { return &convCache{entries: make(map[string]convEntry, convCacheSize)} }

// get returns the conversation decoded from data, the stored record of id.
func (cc *convCache) get(id string, data []byte) (Conversation, error) {
	cc.mu.Lock()
	e, ok := cc.entries[id]
	cc.mu.Unlock()
	if ok && bytes.Equal(e.raw, data) {
		return e.conv.clone(), nil
	}
	var c Conversation
	if err := json.Unmarshal(data, &c); err != nil {
		return Conversation{}, fmt.Errorf("decode conversation %s: %w", id, err)
	}
	cc.keep(id, data, c.clone())
	return c, nil
}

// peek calls fn with the conversation decoded from data, the stored record
// of id, without copying a cached one: cached records are never changed
// (put and get store copies), so fn may read it after the lock is let go,
// but must neither keep nor change it.
func (cc *convCache) peek(id string, data []byte, fn func(*Conversation) error) error {
	cc.mu.Lock()
	e, ok := cc.entries[id]
	cc.mu.Unlock()
	if ok && bytes.Equal(e.raw, data) {
		return fn(e.conv)
	}
	c, err := cc.get(id, data)
	if err != nil {
		return err
	}
	return fn(&c)
}

// put keeps c, just encoded as data, for the next read of id.
func (cc *convCache) put(id string, data []byte, c *Conversation) {
	cc.keep(id, data, c.clone())
}

// keep stores an entry the caller no longer shares, evicting another when
// the cache is full.
func (cc *convCache) keep(id string, data []byte, c Conversation) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if _, ok := cc.entries[id]; !ok && len(cc.entries) >= convCacheSize {
		for k := range cc.entries { // any one: map order is arbitrary
			delete(cc.entries, k)
			break
		}
	}
	// data may belong to the transaction (bbolt's memory map): keep a copy.
	cc.entries[id] = convEntry{raw: bytes.Clone(data), conv: &c}
}

// clone copies c so that nothing of the copy is shared with c: callers
// change the conversations they get.
func (c Conversation) clone() Conversation {
	out := c
	out.Context = maps.Clone(c.Context)
	if c.Handoff != nil {
		h := *c.Handoff
		if h.Route != nil {
			r := *h.Route
			r.Tags = slices.Clone(r.Tags)
			h.Route = &r
		}
		out.Handoff = &h
	}
	if c.Rating != nil {
		r := *c.Rating
		out.Rating = &r
	}
	out.Offered = slices.Clone(c.Offered)
	if c.Profile != nil {
		p := *c.Profile
		p.Fields = bytes.Clone(p.Fields)
		out.Profile = &p
	}
	return out
}

// conversationAt reads conversation id in tx through the cache.
func (s *Store) conversationAt(tx *bolt.Tx, id string) (Conversation, error) {
	data := tx.Bucket(bucketConversations).Get([]byte(id))
	if data == nil {
		return Conversation{}, fmt.Errorf("conversation %s: %w", id, ErrNotFound)
	}
	return s.convs.get(id, data)
}
