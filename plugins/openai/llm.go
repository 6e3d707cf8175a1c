package main

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-chat/switchboard/sdk"
)

// healthTimeout bounds one health check, whatever the caller's deadline.
const healthTimeout = 5 * time.Second

// maxModelList bounds the answer of GET /models.
const maxModelList = 4 << 20

// shownModels is how many of the server's model ids an error lists.
const shownModels = 10

// LLM is the backend for any server that speaks the OpenAI Chat
// Completions API: it implements [sdk.LLM] and [sdk.HealthChecker].
// Configure it before use. It is safe for concurrent use, and a new
// Configure does not disturb turns already running.
type LLM struct {
	// Log receives the plugin's log lines; nil discards them.
	Log *slog.Logger
	// Now is the clock, used to turn a Retry-After date into a delay; nil
	// means time.Now.
	Now func() time.Time

	mu sync.RWMutex
	b  *backend
}

// backend is one configuration: the options and the client built from
// them. It is never changed once built.
type backend struct {
	opts Options
	http *http.Client
	now  func() time.Time
}

var (
	_ sdk.LLM           = (*LLM)(nil)
	_ sdk.HealthChecker = (*LLM)(nil)
)

// Configure validates the options and builds the client. It does not contact
// the server: the daemon must start while the model server is down, and
// Health reports that.
func (l *LLM) Configure(_ context.Context, req sdk.ConfigureRequest) (sdk.LLMInfo, error) {
	opts, err := ParseOptions(req.Options)
	if err != nil {
		return sdk.LLMInfo{}, sdk.NewError(sdk.Permanent, err)
	}
	now := l.Now
	if now == nil {
		now = time.Now
	}
	// No client-wide timeout: a turn streams for as long as its context
	// allows, and cancelling the context aborts the request.
	b := &backend{opts: opts, http: sdk.NewHTTPClient(0), now: now}

	l.mu.Lock()
	old := l.b
	l.b = b
	l.mu.Unlock()
	if old != nil {
		old.http.CloseIdleConnections() // turns in flight keep theirs
	}
	l.logger().Info("openai-compatible backend configured", "instance", req.Instance, "base_url", opts.BaseURL,
		"model", opts.Model, "api_key_set", opts.APIKey != "", "timeout", opts.Timeout.String())
	return sdk.LLMInfo{Model: opts.Model}, nil
}

// backend returns the current configuration.
func (l *LLM) backend() (*backend, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.b == nil {
		return nil, sdk.Errorf(sdk.Permanent, "openai-compatible backend used before Configure")
	}
	return l.b, nil
}

func (l *LLM) logger() *slog.Logger {
	if l.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l.Log
}

// Chat streams one turn from /chat/completions: each piece of text is
// passed to stream as it arrives; tool calls, whose arguments arrive in
// pieces, are passed once complete, just before the last chunk, which has
// Done set. The configured timeout bounds the whole turn.
func (l *LLM) Chat(ctx context.Context, req sdk.ChatRequest, stream sdk.ChatStream) error {
	b, err := l.backend()
	if err != nil {
		return err
	}
	creq, err := b.chatRequest(req)
	if err != nil {
		return sdk.NewError(sdk.Permanent, fmt.Errorf("chat: build the request: %w", err))
	}
	ctx, cancel := context.WithTimeoutCause(ctx, b.opts.Timeout, errTurnTimeout)
	defer cancel()

	start := b.now()
	t := &turn{stream: stream, log: l.logger()}
	err = b.chat(ctx, creq, t)
	var refused *sendError
	switch {
	case errors.As(err, &refused):
		return fmt.Errorf("chat: pass a chunk on: %w", refused.err)
	case err != nil:
		return b.classify(ctx, "chat", err)
	}
	l.logTurn(b, t, b.now().Sub(start))
	return nil
}

// logTurn logs the end of a turn, warning when the answer was cut short.
func (l *LLM) logTurn(b *backend, t *turn, took time.Duration) {
	log := l.logger()
	attrs := []any{"model", b.opts.Model, "finish_reason", t.reason, "took", took.String()}
	if t.usage != nil {
		attrs = append(attrs, "prompt_tokens", t.usage.PromptTokens, "answer_tokens", t.usage.CompletionTokens)
	}
	switch t.reason {
	case "length":
		log.Warn("answer cut at the token limit; consider a larger context on the model server", attrs...)
	case "content_filter":
		log.Warn("answer cut by the server's content filter", attrs...)
	default:
		log.Debug("turn done", attrs...)
	}
}

// turn is the state of one streamed answer.
type turn struct {
	stream   sdk.ChatStream
	log      *slog.Logger
	calls    toolCalls
	finished bool   // a finish_reason came
	reason   string // the finish_reason
	usage    *tokenUsage
}

// event handles the data of one event: a chunk, or an error object in its
// place.
func (t *turn) event(data []byte) error {
	var c streamChunk
	if err := json.Unmarshal(data, &c); err != nil {
		return fmt.Errorf("a chunk of the stream is not JSON (%q): %w", truncate(string(data), 200), err)
	}
	if len(c.Error) > 0 && string(c.Error) != "null" {
		api, ok := parseAPIError(data)
		if !ok {
			api = apiError{Message: truncate(string(c.Error), 300)}
		}
		return &streamError{API: api}
	}
	if c.Usage != nil {
		t.usage = c.Usage
	}
	for _, ch := range c.Choices {
		if ch.Index != 0 {
			continue // only one choice is asked for
		}
		if ch.Delta.Content != "" {
			if err := t.text(ch.Delta.Content); err != nil {
				return err
			}
		}
		for _, d := range ch.Delta.ToolCalls {
			t.calls.add(d)
		}
		if ch.FinishReason != "" {
			t.finished, t.reason = true, ch.FinishReason
		}
	}
	return nil
}

// text passes a piece of the answer on.
func (t *turn) text(s string) error {
	if err := t.stream.Send(sdk.ChatChunk{Text: s}); err != nil {
		return &sendError{err: err}
	}
	return nil
}

// end passes the complete tool calls on, then the last chunk.
func (t *turn) end() error {
	if calls := t.calls.done(t.log); len(calls) > 0 {
		if err := t.stream.Send(sdk.ChatChunk{ToolCalls: calls}); err != nil {
			return &sendError{err: err}
		}
	}
	if err := t.stream.Send(sdk.ChatChunk{Done: true}); err != nil {
		return &sendError{err: err}
	}
	return nil
}

// embeddingRequest is the body of POST /embeddings.
type embeddingRequest struct {
	Model string   `json:"model"`
	Input []string `json:"input"`
}

// embeddingList is the answer of POST /embeddings. Each vector is a list of
// numbers or, from servers that default to it, a base64 string of
// little-endian float32s.
type embeddingList struct {
	Data []struct {
		Index     int             `json:"index"`
		Embedding json.RawMessage `json:"embedding"`
	} `json:"data"`
}

// Embed returns one vector per text from /embeddings, with the configured
// model.
func (l *LLM) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	b, err := l.backend()
	if err != nil {
		return nil, err
	}
	if len(texts) == 0 {
		return [][]float32{}, nil
	}
	ctx, cancel := context.WithTimeoutCause(ctx, b.opts.Timeout, errTurnTimeout)
	defer cancel()
	vectors, err := b.embed(ctx, texts)
	if err != nil {
		return nil, b.classify(ctx, "embeddings", err)
	}
	return vectors, nil
}

func (b *backend) embed(ctx context.Context, texts []string) ([][]float32, error) {
	resp, err := b.send(ctx, http.MethodPost, "/embeddings", embeddingRequest{Model: b.opts.Model, Input: texts}, "application/json")
	if err != nil {
		return nil, err
	}
	defer drain(resp.Body)
	var list embeddingList
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return nil, fmt.Errorf("decode the answer: %w", err)
	}
	out := make([][]float32, len(texts))
	for _, d := range list.Data {
		if d.Index < 0 || d.Index >= len(texts) || out[d.Index] != nil {
			return nil, fmt.Errorf("the answer has a vector with index %d for %d texts", d.Index, len(texts))
		}
		v, err := decodeVector(d.Embedding)
		if err != nil {
			return nil, fmt.Errorf("vector %d: %w", d.Index, err)
		}
		out[d.Index] = v
	}
	if len(list.Data) != len(texts) {
		return nil, fmt.Errorf("got %d vectors for %d texts", len(list.Data), len(texts))
	}
	return out, nil
}

// decodeVector reads one embedding: a list of numbers or a base64 string.
func decodeVector(raw json.RawMessage) ([]float32, error) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		var v []float32
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("not a list of numbers: %w", err)
		}
		return v, nil
	}
	data, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(data)%4 != 0 {
		return nil, fmt.Errorf("not a list of numbers nor base64 float32s (%d bytes): %v", len(data), err)
	}
	v := make([]float32, len(data)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	return v, nil
}

// Health checks that the server answers GET /models and lists the
// configured model, within healthTimeout.
func (l *LLM) Health(ctx context.Context) error {
	b, err := l.backend()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	base, model := b.opts.BaseURL, b.opts.Model

	ids, err := b.models(ctx)
	var status *statusError
	switch {
	case err == nil:
	case errors.As(err, &status) && (status.Status == http.StatusUnauthorized || status.Status == http.StatusForbidden):
		return sdk.NewError(sdk.Permanent, b.unauthorized(status))
	case errors.As(err, &status) && status.Status == http.StatusNotFound:
		return sdk.NewError(sdk.Unavailable, fmt.Errorf("server at %s has no /models (%w): check base_url, the server's OpenAI-compatible API root (usually ending in /v1)", base, err))
	case errors.As(err, &status):
		return sdk.NewError(sdk.Unavailable, fmt.Errorf("server at %s: list models: %w", base, err))
	case errors.Is(err, errNotModelList):
		return sdk.NewError(sdk.Unavailable, fmt.Errorf("server at %s: %w", base, err))
	case ctx.Err() != nil:
		return sdk.NewError(sdk.Unavailable, fmt.Errorf("server at %s is unreachable: no answer to GET /models within %s", base, healthTimeout))
	default:
		return sdk.NewError(sdk.Unavailable, fmt.Errorf("server at %s is unreachable: %w", base, err))
	}
	if slices.Contains(ids, model) {
		return nil
	}
	return sdk.NewError(sdk.ModelMissing, &messageError{
		msg: fmt.Sprintf("model %q is not available on %s: GET %s/models lists %s; set model to one of them or load it on the server",
			model, base, base, listIDs(ids)),
		err: errModelNotListed,
	})
}

var (
	errModelNotListed = errors.New("the model is not listed")
	errNotModelList   = errors.New("GET /models did not answer a model list")
)

// models returns the ids of the models the server lists.
func (b *backend) models(ctx context.Context) ([]string, error) {
	resp, err := b.send(ctx, http.MethodGet, "/models", nil, "application/json")
	if err != nil {
		return nil, err
	}
	defer drain(resp.Body)
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxModelList)).Decode(&list); err != nil {
		return nil, fmt.Errorf("%w (is base_url the OpenAI-compatible API root?): %w", errNotModelList, err)
	}
	ids := make([]string, 0, len(list.Data))
	for _, m := range list.Data {
		ids = append(ids, m.ID)
	}
	return ids, nil
}

// listIDs formats model ids for a message: quoted, at most shownModels.
func listIDs(ids []string) string {
	if len(ids) == 0 {
		return "no models"
	}
	quoted := make([]string, 0, min(len(ids), shownModels))
	for _, id := range ids[:min(len(ids), shownModels)] {
		quoted = append(quoted, fmt.Sprintf("%q", id))
	}
	s := strings.Join(quoted, ", ")
	if len(ids) > shownModels {
		s += fmt.Sprintf(" and %d more", len(ids)-shownModels)
	}
	return s
}
