package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"
)

// maxEvent bounds the data of one server-sent event (one chunk of the
// answer).
const maxEvent = 8 << 20

// readBuffer is the size of the buffer a stream is read through: one per
// turn, whatever the length of the answer.
const readBuffer = 4 << 10

// doneGrace is how long the rest of a stream after [DONE] is waited for.
const doneGrace = time.Second

// doneMarker is the data of the event that ends a stream.
var doneMarker = []byte("[DONE]")

// send makes one request to path under the base URL, with the API key
// when there is one. An error answer (status 400 or more) is read, closed
// and returned as a *statusError.
func (b *backend) send(ctx context.Context, method, path string, body any, accept string) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.opts.BaseURL+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", accept)
	if b.opts.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+b.opts.APIKey)
	}
	resp, err := b.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= http.StatusBadRequest {
		defer drain(resp.Body)
		return nil, readStatusError(resp, b.now())
	}
	return resp, nil
}

// chat posts a turn to /chat/completions and passes its answer to t as it
// streams in. A server that answers with one JSON object instead of a
// stream is understood too.
func (b *backend) chat(ctx context.Context, req *chatRequest, t *turn) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	resp, err := b.send(ctx, http.MethodPost, "/chat/completions", req, "text/event-stream")
	if err != nil {
		return err
	}
	defer resp.Body.Close()

	switch mt := mediaType(resp.Header); mt {
	case "text/event-stream", "":
	case "application/json":
		return b.whole(resp.Body, t)
	default:
		return &notStreamError{ContentType: mt}
	}

	events := newEventReader(resp.Body)
	for {
		data, err := events.next()
		switch {
		case errors.Is(err, io.EOF) && t.finished:
			return t.end() // a server that does not send [DONE]
		case errors.Is(err, io.EOF):
			return errNoFinalChunk
		case err != nil && t.finished:
			return t.end()
		case err != nil:
			// The body broke off: the same as a stream without its end.
			return fmt.Errorf("%w: %w", errNoFinalChunk, err)
		case bytes.Equal(bytes.TrimSpace(data), doneMarker):
			if err := t.end(); err != nil {
				return err
			}
			finish(resp.Body, cancel)
			return nil
		}
		if err := t.event(data); err != nil {
			return err
		}
	}
}

// finish reads what is left of a stream after [DONE], normally only the
// end of the body, so that its connection can be reused. A server that
// keeps the stream open is cut off after doneGrace.
func finish(body io.Reader, cancel context.CancelFunc) {
	t := time.AfterFunc(doneGrace, cancel)
	defer t.Stop()
	_, _ = io.CopyN(io.Discard, body, readBuffer)
}

// whole handles an answer that came as one chat.completion object.
func (b *backend) whole(body io.Reader, t *turn) error {
	data, err := io.ReadAll(io.LimitReader(body, maxEvent))
	if err != nil {
		return fmt.Errorf("%w: %w", errNoFinalChunk, err)
	}
	if api, ok := parseAPIError(data); ok {
		return &streamError{API: api}
	}
	var c completion
	if err := json.Unmarshal(data, &c); err != nil {
		return fmt.Errorf("the answer is not a chat completion (%q): %w", truncate(string(data), 200), err)
	}
	if len(c.Choices) == 0 {
		return errors.New("the answer has no choices")
	}
	ch := c.Choices[0]
	if ch.Message.Content != nil && *ch.Message.Content != "" {
		if err := t.text(*ch.Message.Content); err != nil {
			return err
		}
	}
	for i, call := range ch.Message.ToolCalls {
		d := toolCallDelta{Index: &i, ID: call.ID}
		d.Function.Name, d.Function.Arguments = call.Function.Name, call.Function.Arguments
		t.calls.add(d)
	}
	t.finished, t.reason, t.usage = true, ch.FinishReason, c.Usage
	return t.end()
}

// mediaType returns the response's media type without parameters, "" when
// it has none.
func mediaType(h http.Header) string {
	ct := h.Get("Content-Type")
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ct
	}
	return mt
}

// eventReader reads server-sent events (the WHATWG HTML "server-sent
// events" format) and returns the data of each: the values of its "data"
// lines joined by newlines. Comments and other fields are skipped. It reads
// through one small buffer and reuses one slice for the data, so a turn
// costs the same memory however long its answer is.
type eventReader struct {
	r    *bufio.Reader
	data []byte
}

func newEventReader(r io.Reader) *eventReader {
	return &eventReader{r: bufio.NewReaderSize(r, readBuffer)}
}

// next returns the data of the next event, valid until the following call.
// At the end of the body it returns io.EOF; an event the body ended in the
// middle of is returned first.
func (e *eventReader) next() ([]byte, error) {
	e.data = e.data[:0]
	seen := false // a data line of this event was read
	for {
		line, err := e.readLine()
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		if len(line) == 0 {
			if seen {
				return e.data, nil
			}
			if err != nil {
				return nil, err // io.EOF
			}
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		if string(field) == "data" {
			value = bytes.TrimPrefix(value, []byte(" "))
			if seen {
				e.data = append(e.data, '\n')
			}
			if len(e.data)+len(value) > maxEvent {
				return nil, fmt.Errorf("an event of the stream is longer than %d bytes", maxEvent)
			}
			e.data = append(e.data, value...)
			seen = true
		}
		// Empty field: a comment (": keep-alive"). "event", "id", "retry":
		// not used by this API.
		if err != nil { // io.EOF after a last line without its newline
			if seen {
				return e.data, nil
			}
			return nil, err
		}
	}
}

// readLine returns the next line without its line ending (LF or CRLF); at
// the end of the body it returns the last bytes with io.EOF.
func (e *eventReader) readLine() ([]byte, error) {
	line, err := e.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		// A line longer than the buffer: collect it, within maxEvent.
		long := append([]byte(nil), line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = e.r.ReadSlice('\n')
			long = append(long, line...)
			if len(long) > maxEvent {
				return nil, fmt.Errorf("a line of the stream is longer than %d bytes", maxEvent)
			}
		}
		line = long
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r")), err
}
