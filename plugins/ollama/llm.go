package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/switchboard-chat/switchboard/sdk"
)

// healthTimeout bounds one health check, whatever the caller's deadline.
const healthTimeout = 5 * time.Second

// LLM is the Ollama backend: it implements [sdk.LLM] and
// [sdk.HealthChecker]. Configure it before use. It is safe for concurrent
// use, and a new Configure does not disturb turns already running.
type LLM struct {
	// Log receives the plugin's log lines; nil discards them.
	Log *slog.Logger

	mu sync.RWMutex
	b  *backend
}

// backend is one configuration: the options and the client built from
// them, which are never changed once built, and the tools converted for it.
type backend struct {
	opts   Options
	client *api.Client
	http   *http.Client
	base   *url.URL
	// tools keeps converted tools: the daemon sends the same few with
	// every turn.
	tools toolCache
}

var (
	_ sdk.LLM           = (*LLM)(nil)
	_ sdk.HealthChecker = (*LLM)(nil)
)

// Configure validates the options and builds the client. It does not contact
// the server: the daemon must start while Ollama is down, and Health reports
// that.
func (l *LLM) Configure(_ context.Context, req sdk.ConfigureRequest) (sdk.LLMInfo, error) {
	opts, err := ParseOptions(req.Options)
	if err != nil {
		return sdk.LLMInfo{}, sdk.NewError(sdk.Permanent, err)
	}
	base, err := url.Parse(opts.Host)
	if err != nil { // ParseOptions has checked it already
		return sdk.LLMInfo{}, sdk.NewError(sdk.Permanent, fmt.Errorf("option \"host\": %w", err))
	}
	// No client-wide timeout: a turn streams for as long as its context
	// allows, and cancelling the context aborts the request.
	httpClient := sdk.NewHTTPClient(0)
	b := &backend{opts: opts, client: api.NewClient(base, httpClient), http: httpClient, base: base}

	l.mu.Lock()
	old := l.b
	l.b = b
	l.mu.Unlock()
	if old != nil {
		old.http.CloseIdleConnections() // turns in flight keep theirs
	}
	l.logger().Info("ollama backend configured", "instance", req.Instance, "host", opts.Host, "model", opts.Model, "timeout", opts.Timeout.String())
	return sdk.LLMInfo{Model: opts.Model}, nil
}

// backend returns the current configuration.
func (l *LLM) backend() (*backend, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.b == nil {
		return nil, sdk.Errorf(sdk.Permanent, "ollama backend used before Configure")
	}
	return l.b, nil
}

func (l *LLM) logger() *slog.Logger {
	if l.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l.Log
}

// Chat streams one turn from /api/chat: each piece of text and each tool
// call is passed to stream as it arrives, and the last chunk has Done set.
// The configured timeout bounds the whole turn.
func (l *LLM) Chat(ctx context.Context, req sdk.ChatRequest, stream sdk.ChatStream) error {
	b, err := l.backend()
	if err != nil {
		return err
	}
	areq, err := b.chatRequest(req)
	if err != nil {
		return sdk.NewError(sdk.Permanent, fmt.Errorf("ollama chat: build the request: %w", err))
	}
	ctx, cancel := context.WithTimeoutCause(ctx, b.opts.Timeout, errTurnTimeout)
	defer cancel()

	start := time.Now()
	var done bool
	var sendErr error
	err = b.chat(ctx, areq, func(r api.ChatResponse) error {
		if done {
			return nil
		}
		calls, err := toolCallsFromAPI(r.Message.ToolCalls)
		if err != nil {
			return err
		}
		if r.Message.Content == "" && len(calls) == 0 && !r.Done {
			return nil // a thinking-only or empty piece
		}
		if err := stream.Send(sdk.ChatChunk{Text: r.Message.Content, ToolCalls: calls, Done: r.Done}); err != nil {
			sendErr = err
			return err
		}
		if r.Done {
			done = true
			l.logTurn(b, r, time.Since(start))
		}
		return nil
	})
	switch {
	case sendErr != nil:
		return fmt.Errorf("ollama chat: pass a chunk on: %w", sendErr)
	case err != nil:
		return b.classify(ctx, "chat", err)
	case !done:
		// The client ends quietly when the body breaks off; a cancelled
		// context is one reason, a dropped connection another.
		return b.classify(ctx, "chat", errNoFinalChunk)
	}
	return nil
}

// logTurn logs the end of a turn, warning when the answer was cut short.
func (l *LLM) logTurn(b *backend, r api.ChatResponse, took time.Duration) {
	log := l.logger()
	attrs := []any{"model", b.opts.Model, "done_reason", r.DoneReason, "took", took.String(),
		"prompt_tokens", r.PromptEvalCount, "answer_tokens", r.EvalCount}
	if r.DoneReason == "length" {
		log.Warn("ollama answer cut at the token limit; consider a larger num_ctx", attrs...)
		return
	}
	log.Debug("ollama turn done", attrs...)
}

// Embed returns one vector per text from /api/embed, with the configured
// embed_model, or else the chat model.
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
	model := b.modelFor("embed")
	req := &api.EmbedRequest{Model: model, Input: texts, Options: b.modelOptions()}
	if b.opts.KeepAlive != nil {
		req.KeepAlive = &api.Duration{Duration: *b.opts.KeepAlive}
	}
	resp, err := b.client.Embed(ctx, req)
	if err != nil {
		return nil, b.classify(ctx, "embed", err)
	}
	if len(resp.Embeddings) != len(texts) {
		return nil, sdk.Errorf(sdk.Temporary, "ollama embed with model %q on %s: got %d vectors for %d texts",
			model, b.opts.Host, len(resp.Embeddings), len(texts))
	}
	return resp.Embeddings, nil
}

// Health checks that the server answers (/api/version) and has the
// configured model (/api/tags), within healthTimeout.
func (l *LLM) Health(ctx context.Context) error {
	b, err := l.backend()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	host, model := b.opts.Host, b.opts.Model

	if _, err := b.client.Version(ctx); err != nil {
		var statusErr api.StatusError
		if errors.As(err, &statusErr) {
			return sdk.NewError(sdk.Unavailable, fmt.Errorf("ollama at %s: version check failed (is it an Ollama server?): %w", host, err))
		}
		return sdk.NewError(sdk.Unavailable, fmt.Errorf("ollama at %s is unreachable: %w", host, err))
	}
	list, err := b.client.List(ctx)
	if err != nil {
		return sdk.NewError(sdk.Unavailable, fmt.Errorf("ollama at %s: list models: %w", host, err))
	}
	for _, m := range list.Models {
		if sameModel(m.Name, model) || sameModel(m.Model, model) {
			return nil
		}
	}
	return sdk.NewError(sdk.ModelMissing, modelMissing(model, host, fmt.Errorf("%d models listed by /api/tags, none is %q", len(list.Models), model)))
}

// sameModel reports whether two model names are the same model: the tag
// defaults to "latest" and the default registry prefix is optional.
func sameModel(a, b string) bool {
	return a != "" && strings.EqualFold(canonicalModel(a), canonicalModel(b))
}

func canonicalModel(name string) string {
	name = strings.TrimPrefix(name, "registry.ollama.ai/")
	name = strings.TrimPrefix(name, "library/")
	if i := strings.LastIndex(name, "/"); !strings.Contains(name[i+1:], ":") {
		name += ":latest"
	}
	return name
}
