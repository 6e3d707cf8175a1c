package store

import "sync"

// watchers wakes long-polling readers when a conversation gets a message.
type watchers struct {
	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
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
	for ch := range w.subs[key] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	w.mu.Unlock()
}
