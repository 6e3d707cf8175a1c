package store

import (
	"bytes"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-chat/switchboard/core/conversation"
)

// ChangeFeed collects the ids of the conversations that changed (a
// message, a new state or handoff) since it was last read. Changes to one
// conversation between two reads are reported once, and none is ever
// dropped: the set holds each changed conversation until it is taken.
type ChangeFeed struct {
	mu    sync.Mutex
	ids   map[string]struct{}
	ready chan struct{}
}

// Ready receives after a change is waiting to be taken.
func (f *ChangeFeed) Ready() <-chan struct{} { return f.ready }

// Take returns the ids of the conversations changed since the last Take,
// in no particular order, and empties the set.
func (f *ChangeFeed) Take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, 0, len(f.ids))
	for id := range f.ids {
		out = append(out, id)
	}
	clear(f.ids)
	return out
}

func (f *ChangeFeed) add(id string) {
	f.mu.Lock()
	f.ids[id] = struct{}{}
	f.mu.Unlock()
	select {
	case f.ready <- struct{}{}:
	default:
	}
}

// Changes returns a feed of the conversations that change from now on, and
// a func to stop it.
func (s *Store) Changes() (*ChangeFeed, func()) {
	f := &ChangeFeed{ids: map[string]struct{}{}, ready: make(chan struct{}, 1)}
	w := s.watchers
	w.mu.Lock()
	if w.feeds == nil {
		w.feeds = map[*ChangeFeed]struct{}{}
	}
	w.feeds[f] = struct{}{}
	w.mu.Unlock()
	return f, func() {
		w.mu.Lock()
		delete(w.feeds, f)
		w.mu.Unlock()
	}
}

// RecentConversations returns up to limit conversations in state, the
// newest first (by creation), reading only that state's index.
func (s *Store) RecentConversations(state conversation.State, limit int) ([]Conversation, error) {
	var out []Conversation
	err := s.db.View(func(tx *bolt.Tx) error {
		prefix := stateKey(state, "")
		c := tx.Bucket(bucketConvStates).Cursor()
		// Position after the state's last key, then walk back.
		end := append(bytes.Clone(prefix[:len(prefix)-1]), 1)
		k, _ := c.Seek(end)
		if k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix) && (limit <= 0 || len(out) < limit); k, _ = c.Prev() {
			conv, err := getConversation(tx, string(k[len(prefix):]))
			if err != nil {
				return err
			}
			out = append(out, conv)
		}
		return nil
	})
	return out, err
}

// LastMessageID is the id of the newest message of any conversation: every
// message stored later has a greater id.
func (s *Store) LastMessageID() uint64 {
	var id uint64
	s.db.View(func(tx *bolt.Tx) error {
		id = tx.Bucket(bucketMessages).Sequence()
		return nil
	})
	return id
}
