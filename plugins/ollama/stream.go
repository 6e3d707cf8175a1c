package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/ollama/ollama/api"
)

// maxLine bounds one line of Ollama's NDJSON stream, as its own client does.
const maxLine = 8 << 20

// chat posts req to /api/chat and passes each streamed chunk to fn. It
// answers errors in the forms api.Client does (api.StatusError,
// api.AuthorizationError, an error object inside the stream as a plain
// error), so classify treats both alike; unlike api.Client it does not
// allocate its 8 MB line buffer for every call, which under a flood of short
// turns costs more CPU and memory than everything else the plugin does.
func (b *backend) chat(ctx context.Context, req chatTurn, fn func(api.ChatResponse) error) error {
	body, err := req.body()
	if err != nil {
		return err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, b.base.JoinPath("/api/chat").String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/x-ndjson")
	resp, err := b.http.Do(hreq)
	if err != nil {
		return err
	}
	defer resp.Body.Close()

	r := bufio.NewReaderSize(resp.Body, 4096)
	for {
		line, err := readLine(r)
		if len(bytes.TrimSpace(line)) > 0 {
			if lerr := b.chatLine(resp, line, fn); lerr != nil {
				return lerr
			}
		}
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			// The body broke off: the same as a stream without its end.
			return fmt.Errorf("%w: %w", errNoFinalChunk, err)
		}
	}
}

// chatLine handles one line of the stream, decoded once: a chunk, or an
// error object in its place.
func (b *backend) chatLine(resp *http.Response, line []byte, fn func(api.ChatResponse) error) error {
	var chunk struct {
		api.ChatResponse
		Error     string `json:"error,omitempty"`
		SigninURL string `json:"signin_url,omitempty"`
	}
	if err := json.Unmarshal(line, &chunk); err != nil {
		if resp.StatusCode >= http.StatusBadRequest {
			return api.StatusError{StatusCode: resp.StatusCode, Status: resp.Status, ErrorMessage: string(line)}
		}
		return errors.New(string(line))
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return api.AuthorizationError{StatusCode: resp.StatusCode, Status: resp.Status, SigninURL: chunk.SigninURL}
	case resp.StatusCode >= http.StatusBadRequest:
		return api.StatusError{StatusCode: resp.StatusCode, Status: resp.Status, ErrorMessage: chunk.Error}
	case chunk.Error != "":
		return errors.New(chunk.Error)
	}
	return fn(chunk.ChatResponse)
}

// readLine returns the next line without its newline; at the end of the
// body it returns the last bytes with io.EOF.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if !errors.Is(err, bufio.ErrBufferFull) {
		return bytes.TrimSuffix(line, []byte("\n")), err
	}
	// A line longer than the buffer: collect it, within maxLine.
	long := append([]byte(nil), line...)
	for errors.Is(err, bufio.ErrBufferFull) {
		line, err = r.ReadSlice('\n')
		long = append(long, line...)
		if len(long) > maxLine {
			return nil, fmt.Errorf("a line of the answer is longer than %d bytes", maxLine)
		}
	}
	return bytes.TrimSuffix(long, []byte("\n")), err
}
