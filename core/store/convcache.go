package store

import (
	"bytes"
	"fmt"
	"maps"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// convCacheSize bounds the decoded conversations kept in memory.
const convCacheSize = 2048

// newConvCache keeps decoded conversation records.
func newConvCache() *decodedCache[Conversation] {
	return newDecodedCache(convCacheSize, Conversation.clone, func(id string) string { return "conversation " + id })
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
