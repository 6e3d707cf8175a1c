// Package routes is a request multiplexer that remembers the patterns it
// was given, so the API's routes can be listed and checked against the
// OpenAPI document.
package routes

import (
	"net/http"
	"sync"
)

// Table is an http.ServeMux that records every pattern registered on it.
type Table struct {
	*http.ServeMux
	mu       sync.Mutex
	patterns []string
}

// New returns an empty table.
func New() *Table { return &Table{ServeMux: http.NewServeMux()} }

// Handle registers h for pattern.
func (t *Table) Handle(pattern string, h http.Handler) {
	t.record(pattern)
	t.ServeMux.Handle(pattern, h)
}

// HandleFunc registers h for pattern.
func (t *Table) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	t.record(pattern)
	t.ServeMux.HandleFunc(pattern, h)
}

func (t *Table) record(pattern string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.patterns = append(t.patterns, pattern)
}

// Patterns returns the registered patterns in the order they were given,
// such as "GET /v1/conversations/{id}" or "/w/".
func (t *Table) Patterns() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.patterns...)
}
