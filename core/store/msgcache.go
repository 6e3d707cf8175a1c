package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
)

// msgCacheSize bounds the decoded transcript lines kept in memory: the
// recent history of a few hundred busy conversations.
const msgCacheSize = 8192

// msgCache keeps recently written or read transcript lines decoded, with
// the bytes they were decoded from, like convCache: an entry is used only
// while the stored bytes are the same. A model turn reads the last lines of
// its conversation every time; without it each turn decoded them all again.
type msgCache struct {
	mu      sync.Mutex
	entries map[string]msgEntry
}

type msgEntry struct {
	raw []byte
	// msg is never changed once cached; readers get copies.
	msg *Message
}

func newMsgCache() *msgCache { return &msgCache{entries: make(map[string]msgEntry, msgCacheSize)} }

// get returns the message decoded from data, the stored value of key.
func (mc *msgCache) get(key, data []byte) (Message, error) {
	mc.mu.Lock()
	e, ok := mc.entries[string(key)]
	mc.mu.Unlock()
	if ok && bytes.Equal(e.raw, data) {
		return e.msg.clone(), nil
	}
	var m Message
	if err := json.Unmarshal(data, &m); err != nil {
		return Message{}, fmt.Errorf("decode message %x: %w", key, err)
	}
	mc.put(key, data, &m)
	return m, nil
}

// put keeps m, stored as data under key, for later reads.
func (mc *msgCache) put(key, data []byte, m *Message) {
	c := m.clone()
	mc.mu.Lock()
	defer mc.mu.Unlock()
	if _, ok := mc.entries[string(key)]; !ok && len(mc.entries) >= msgCacheSize {
		for k := range mc.entries { // any one: map order is arbitrary
			delete(mc.entries, k)
			break
		}
	}
	// data may belong to the transaction (bbolt's memory map): keep a copy.
	mc.entries[string(key)] = msgEntry{raw: bytes.Clone(data), msg: &c}
}

// clone copies m so that nothing of the copy is shared with m.
func (m Message) clone() Message {
	out := m
	out.Attachments = slices.Clone(m.Attachments)
	out.Sources = slices.Clone(m.Sources)
	if m.Author != nil {
		a := *m.Author
		out.Author = &a
	}
	return out
}
