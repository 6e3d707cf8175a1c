// Package httplimit bounds what one HTTP client can hold of the daemon: a
// request body must arrive within a read timeout (408 and the connection
// closed otherwise), and the number of open connections is capped, with a
// few kept for health checks.
//
// Write deadlines are the server's (http.Server.WriteTimeout); long-lived
// responses (long polls, event streams) clear theirs with [KeepOpen].
package httplimit

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

// Bodies bounds the time request bodies take to arrive.
type Bodies struct {
	timeout time.Duration

	mu      sync.Mutex
	reading map[*http.ResponseController]struct{}
	expired bool
}

// NewBodies returns the bound of bodies that must arrive within timeout.
func NewBodies(timeout time.Duration) *Bodies {
	return &Bodies{timeout: timeout, reading: map[*http.ResponseController]struct{}{}}
}

// ReadBodies answers, for h, every request whose body does not arrive
// within timeout from the start of the handler with 408 Request Timeout
// and closes its connection. The deadline ends once the body is read, so
// a handler may take longer than timeout to answer.
func ReadBodies(h http.Handler, timeout time.Duration) http.Handler {
	return NewBodies(timeout).Handler(h)
}

// Handler bounds the bodies of h's requests.
func (b *Bodies) Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			h.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		deadline := time.Now().Add(b.timeout)
		b.mu.Lock()
		if b.expired {
			deadline = time.Now()
		}
		b.mu.Unlock()
		if err := rc.SetReadDeadline(deadline); err != nil {
			// A connection without deadlines (a test recorder): nothing
			// to bound.
			h.ServeHTTP(w, r)
			return
		}
		b.mu.Lock()
		b.reading[rc] = struct{}{}
		b.mu.Unlock()
		defer b.done(rc)
		tw := &timeoutWriter{ResponseWriter: w, rc: rc}
		r.Body = &timedBody{ReadCloser: r.Body, rc: rc, w: tw, done: func() { b.done(rc) }}
		h.ServeHTTP(tw, r)
	})
}

// Expire ends the wait for every body still arriving, and for those of
// requests to come: they get 408 at once. It is meant for shutdown
// (http.Server.RegisterOnShutdown), so slow clients do not hold it up.
func (b *Bodies) Expire() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.expired = true
	now := time.Now()
	for rc := range b.reading {
		_ = rc.SetReadDeadline(now)
	}
}

// done forgets a request whose body is in, or that was answered.
func (b *Bodies) done(rc *http.ResponseController) {
	b.mu.Lock()
	delete(b.reading, rc)
	b.mu.Unlock()
}

// answerTimeout bounds the writing of a 408.
const answerTimeout = 5 * time.Second

// KeepOpen clears the write deadline of a long-lived response, such as a
// long poll or an event stream, so it is not cut off at the server's write
// timeout.
func KeepOpen(w http.ResponseWriter) {
	// An error means the writer has no deadlines to clear.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
}

// timedBody is a request body read against a deadline.
type timedBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	w    *timeoutWriter
	done func() // the body is in, or timed out
	over bool
}

func (b *timedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	switch {
	case err == nil || b.over:
	case errors.Is(err, io.EOF):
		// The whole body is in: the handler's own time is not bounded
		// by the read timeout.
		b.over = true
		b.done()
		_ = b.rc.SetReadDeadline(time.Time{})
	case errors.Is(err, os.ErrDeadlineExceeded):
		b.over = true
		b.done()
		b.w.timeout()
	}
	return n, err
}

// timeoutWriter is the response of a request with a timed body: once the
// body timed out, it holds the 408 and drops what the handler writes.
type timeoutWriter struct {
	http.ResponseWriter
	rc       *http.ResponseController
	mu       sync.Mutex
	wrote    bool // the handler wrote its header
	timedOut bool // the 408 was written
}

// timeout answers 408 unless the handler already answered.
func (w *timeoutWriter) timeout() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.wrote || w.timedOut {
		return
	}
	w.timedOut = true
	// The server's write deadline may be close or past by now.
	_ = w.rc.SetWriteDeadline(time.Now().Add(answerTimeout))
	h := w.ResponseWriter.Header()
	for k := range h {
		delete(h, k)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Connection", "close")
	w.ResponseWriter.WriteHeader(http.StatusRequestTimeout)
	_ = json.NewEncoder(w.ResponseWriter).Encode(map[string]map[string]string{
		"error": {"code": "timeout", "message": "the request body did not arrive in time"},
	})
}

// WriteHeader implements http.ResponseWriter.
func (w *timeoutWriter) WriteHeader(status int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timedOut {
		return
	}
	w.wrote = true
	w.ResponseWriter.WriteHeader(status)
}

// Write implements http.ResponseWriter.
func (w *timeoutWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timedOut {
		return len(p), nil
	}
	w.wrote = true
	return w.ResponseWriter.Write(p)
}

// Unwrap gives http.ResponseController the server's writer.
func (w *timeoutWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
