package main

import "sync"

// memo is a bounded, concurrency-safe map that forgets its oldest entries.
// It remembers what this process already did (answered requests, opened
// handoffs) so a retried delivery does not do it twice.
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
