package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
)

// decodedCache keeps recently decoded records with the bytes they were
// decoded from. A record is used only while the stored bytes are the same,
// so the cache never answers with a stale record, whatever wrote it or
// rolled back meanwhile. Conversations (one decode per message instead of
// one per read: intake, the engine's read, its commit) and transcript
// lines (a model turn reads its conversation's last lines every time) go
// through one each.
type decodedCache[T any] struct {
	// size bounds the entries; when full, an arbitrary one makes room.
	size int
	// clone copies a record so that the copy shares nothing with it.
	clone func(T) T
	// name says which record a key is, for errors.
	name func(key string) string

	mu      sync.Mutex
	entries map[string]decodedEntry[T]
}

type decodedEntry[T any] struct {
	raw []byte
	// v is never changed once cached, so readers may share it.
	v *T
}

func newDecodedCache[T any](size int, clone func(T) T, name func(string) string) *decodedCache[T] {
	return &decodedCache[T]{size: size, clone: clone, name: name, entries: make(map[string]decodedEntry[T], size)}
}

// get returns the record decoded from data, the stored value of key.
func (dc *decodedCache[T]) get(key string, data []byte) (T, error) {
	dc.mu.Lock()
	e, ok := dc.entries[key]
	dc.mu.Unlock()
	if ok && bytes.Equal(e.raw, data) {
		return dc.clone(*e.v), nil
	}
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		var zero T
		return zero, fmt.Errorf("decode %s: %w", dc.name(key), err)
	}
	dc.keep(key, data, dc.clone(v))
	return v, nil
}

// peek calls fn with the record decoded from data, the stored value of
// key, without copying a cached one: cached records are never changed (put
// and get store copies), so fn may read it after the lock is let go, but
// must neither keep nor change it.
func (dc *decodedCache[T]) peek(key string, data []byte, fn func(*T) error) error {
	dc.mu.Lock()
	e, ok := dc.entries[key]
	dc.mu.Unlock()
	if ok && bytes.Equal(e.raw, data) {
		return fn(e.v)
	}
	v, err := dc.get(key, data)
	if err != nil {
		return err
	}
	return fn(&v)
}

// put keeps v, just encoded as data, for the next read of key.
func (dc *decodedCache[T]) put(key string, data []byte, v *T) {
	dc.keep(key, data, dc.clone(*v))
}

// keep stores a record the caller no longer shares.
func (dc *decodedCache[T]) keep(key string, data []byte, v T) {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	if _, ok := dc.entries[key]; !ok && len(dc.entries) >= dc.size {
		for k := range dc.entries { // any one: map order is arbitrary
			delete(dc.entries, k)
			break
		}
	}
	// data may belong to the transaction (bbolt's memory map): keep a copy.
	dc.entries[key] = decodedEntry[T]{raw: bytes.Clone(data), v: &v}
}
