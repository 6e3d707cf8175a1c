package main

import "sync"

// memo is a bounded, concurrency-safe map that forgets its oldest entries.
// It lives in memory only and is empty after a restart, so it never stands
// in for the platform's deduplication (see the idempotency declared in
// Configure): it only steers which Zobot request an answer goes to.
type memo struct {
	mu    sync.Mutex
	max   int
	m     map[string]string
	order []string
}

func newMemo(max int) *memo { return &memo{max: max, m: map[string]string{}} }

// get returns the value stored under key.
func (m *memo) get(key string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.m[key]
	return v, ok
}

// put stores value under key, evicting the oldest entry when full.
func (m *memo) put(key, value string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.m[key]; !ok {
		m.order = append(m.order, key)
		if len(m.order) > m.max {
			delete(m.m, m.order[0])
			m.order = m.order[1:]
		}
	}
	m.m[key] = value
}
