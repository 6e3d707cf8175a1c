package main

import (
	"sync"
	"time"
)

// Telegram has no idempotency key, so a retried sendMessage is a second
// message. For a text split into several messages, progress remembers how
// many parts of each delivery (by Outbound.ID, stable across the daemon's
// retries) already went out, so a retry after part k failed resumes at
// part k instead of repeating the earlier ones. It lives in memory only: if
// the plugin process restarts between the failure and the retry, the
// earlier parts are sent again.
type progress struct {
	mu   sync.Mutex
	done map[string]progressEntry
}

type progressEntry struct {
	parts int
	at    time.Time
}

// Bounds of the memo: the daemon retries for hours at most.
const (
	progressTTL = 24 * time.Hour
	maxProgress = 10000
)

func newProgress() *progress { return &progress{done: map[string]progressEntry{}} }

// delivered is how many parts of delivery id are already sent.
func (p *progress) delivered(id string) int {
	if p == nil || id == "" {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done[id].parts
}

// record notes that parts parts of delivery id are sent.
func (p *progress) record(id string, parts int) {
	if p == nil || id == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if len(p.done) >= maxProgress {
		for k, e := range p.done {
			if now.Sub(e.at) > progressTTL || len(p.done) >= maxProgress {
				delete(p.done, k)
			}
		}
	}
	p.done[id] = progressEntry{parts: parts, at: now}
}

// forget drops a delivery that completed.
func (p *progress) forget(id string) {
	if p == nil || id == "" {
		return
	}
	p.mu.Lock()
	delete(p.done, id)
	p.mu.Unlock()
}
