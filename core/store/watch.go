package store

import "sync"

// watchers wakes readers waiting for a conversation to change (a message,
// a new state). A watch of the empty key is woken by every change.
type watchers struct {
	mu    sync.Mutex
	subs  map[string]map[chan struct{}]struct{}
	feeds map[*ChangeFeed]struct{}
}

func newWatchers() *watchers {
	return &watchers{subs: make(map[string]map[chan struct{}]struct{})}
}

// watch returns a channel that receives once after the next notify of key.
func (w *watchers) watch(key string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	set := w.subs[key]
	if set == nil {
		set = make(map[chan struct{}]struct{})
		w.subs[key] = set
	}
	set[ch] = struct{}{}
	w.mu.Unlock()
	return ch, func() {
		w.mu.Lock()
		delete(set, ch)
		if len(set) == 0 && w.subs[key] != nil && len(w.subs[key]) == 0 {
			delete(w.subs, key)
		}
		w.mu.Unlock()
	}
}

func (w *watchers) notify(key string) {
	w.mu.Lock()
	for _, k := range [2]string{key, ""} {
		for ch := range w.subs[k] {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
	for f := range w.feeds {
		f.add(key)
	}
	w.mu.Unlock()
}

// Watch returns a channel that receives after the next change of the
// conversation (a message, a new state, a new handoff), or of any
// conversation for the empty id, and a func to stop watching. Read the
// store after subscribing: a change between the read and the subscription
// is then not missed.
func (s *Store) Watch(convID string) (<-chan struct{}, func()) { return s.watchers.watch(convID) }
