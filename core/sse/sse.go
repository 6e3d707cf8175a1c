// Package sse writes server-sent event streams (the text/event-stream
// format of the HTML standard) for the daemon's push connections: the web
// chat, the operator console and the integrators' event stream.
//
// A stream is long-lived: Start clears the server's write deadline for the
// response (http.ResponseController), so ordinary routes keep theirs.
// Clients resume with the Last-Event-ID header; LastEventID reads it.
package sse

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Heartbeat is how often an idle stream sends a comment line, so proxies
// and browsers keep the connection open and a dead client is noticed.
const Heartbeat = 25 * time.Second

// Stream is one open event stream. It writes to the response, which
// buffers until Flush: a stream holds no buffer of its own, since a server
// may hold thousands of streams open.
type Stream struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

// ErrNoFlush is returned by Start when the response cannot be flushed, so
// events would never reach the client.
var ErrNoFlush = errors.New("sse: the response writer cannot flush")

// Start answers the request with an event stream. retry, if positive, tells
// the browser how long to wait before reconnecting.
func Start(w http.ResponseWriter, retry time.Duration) (*Stream, error) {
	rc := http.NewResponseController(w)
	// No write deadline for a stream; errors mean the server set none.
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	s := &Stream{w: w, rc: rc}
	if retry > 0 {
		fmt.Fprintf(w, "retry: %d\n\n", retry.Milliseconds())
	}
	if err := s.Flush(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoFlush, err)
	}
	return s, nil
}

// Send writes one event: id may be empty (the client's last id then stays
// what it was), typ empty means "message", data is encoded as JSON. Call
// Flush to push what was sent.
//
// A json.RawMessage on one line (as json.Marshal makes it) is written as
// it is: an event encoded once can go to many streams without being
// encoded, or checked, again for each. One with line breaks is compacted.
func (s *Stream) Send(id, typ string, data any) error {
	if id != "" && strings.ContainsAny(id, "\r\n\x00") {
		return fmt.Errorf("sse: event id %q has a line break or NUL", id)
	}
	raw, ok := data.(json.RawMessage)
	if !ok || len(raw) == 0 || bytes.ContainsAny(raw, "\r\n") {
		b, err := json.Marshal(data)
		if err != nil {
			return fmt.Errorf("sse: encode %s event: %w", typ, err)
		}
		raw = b
	}
	// JSON has no raw line breaks, so the data is one line.
	b := make([]byte, 0, len("id: \nevent: \ndata: \n\n")+len(id)+len(typ)+len(raw))
	if id != "" {
		b = append(append(append(b, "id: "...), id...), '\n')
	}
	if typ != "" {
		b = append(append(append(b, "event: "...), typ...), '\n')
	}
	b = append(append(append(b, "data: "...), raw...), "\n\n"...)
	_, err := s.w.Write(b)
	return err
}

// Checkpoint writes an event id without an event: the client dispatches
// nothing but remembers id as its last event id, and sends it when it
// reconnects. A filtered stream uses it to move a client past events it
// did not want.
func (s *Stream) Checkpoint(id string) error {
	if id == "" || strings.ContainsAny(id, "\r\n\x00") {
		return fmt.Errorf("sse: bad checkpoint id %q", id)
	}
	_, err := io.WriteString(s.w, "id: "+id+"\n\n")
	return err
}

// Comment writes a comment line, which clients ignore (a heartbeat).
func (s *Stream) Comment(text string) error {
	_, err := io.WriteString(s.w, ": "+strings.ReplaceAll(text, "\n", " ")+"\n\n")
	return err
}

// Flush pushes what was written to the client.
func (s *Stream) Flush() error { return s.rc.Flush() }

// LastEventID is the id the client saw last: the Last-Event-ID header a
// browser sends when it reconnects, or the named query parameter (for a
// first connection that resumes, which cannot set headers from
// EventSource). ok is false when neither is present; a present value that
// is not a decimal number is an error.
func LastEventID(r *http.Request, param string) (id uint64, ok bool, err error) {
	v := r.Header.Get("Last-Event-ID")
	if v == "" && param != "" {
		v = r.URL.Query().Get(param)
	}
	if v == "" {
		return 0, false, nil
	}
	id, err = strconv.ParseUint(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("the last event id %q is not a decimal number below 2^64", v)
	}
	return id, true, nil
}
