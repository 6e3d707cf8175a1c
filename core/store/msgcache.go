package store

import (
	"fmt"
	"slices"
)

// msgCacheSize bounds the decoded transcript lines kept in memory: the
// model's history (its last 20 lines) of about 1,600 busy conversations,
// at most about 25 MB. When a flood reads more lines than that, turns
// decode their history again.
const msgCacheSize = 32768

// newMsgCache keeps decoded transcript lines, keyed by their messages key.
func newMsgCache() *decodedCache[Message] {
	return newDecodedCache(msgCacheSize, Message.clone, func(key string) string { return fmt.Sprintf("message %x", key) })
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
