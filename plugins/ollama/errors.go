package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/ollama/ollama/api"

	"github.com/switchboard-chat/switchboard/sdk"
)

// errTurnTimeout is the cause of a turn's context when the per-turn timeout
// fired (as opposed to the caller cancelling).
var errTurnTimeout = errors.New("turn timeout")

// errNoFinalChunk reports a chat stream that ended without its final chunk:
// the connection broke, or the server is not Ollama.
var errNoFinalChunk = errors.New("the stream ended before the final chunk")

// messageError is an error with its own message that still unwraps to its
// cause, for messages a user should read as they are.
type messageError struct {
	msg string
	err error
}

func (e *messageError) Error() string { return e.msg }
func (e *messageError) Unwrap() error { return e.err }

// classify turns an error from a call to Ollama into an [sdk.Error] whose
// kind tells the daemon what to do. what names the call ("chat",
// "embed"); ctx is the call's context, whose cause tells a turn timeout
// from a caller's cancellation.
func (b *backend) classify(ctx context.Context, what string, err error) error {
	host, model := b.opts.Host, b.modelFor(what)

	// The context first: a cancelled request surfaces as a transport error.
	if ctx.Err() != nil {
		cause := context.Cause(ctx)
		switch {
		case errors.Is(cause, errTurnTimeout):
			return sdk.NewError(sdk.Timeout, fmt.Errorf("ollama %s with model %q on %s: no complete answer within the %s timeout: %w",
				what, model, host, b.opts.Timeout, context.DeadlineExceeded))
		case errors.Is(cause, context.DeadlineExceeded):
			return sdk.NewError(sdk.Timeout, fmt.Errorf("ollama %s with model %q on %s: %w", what, model, host, cause))
		default:
			return sdk.NewError(sdk.Temporary, fmt.Errorf("ollama %s with model %q on %s: %w", what, model, host, ctx.Err()))
		}
	}

	var statusErr api.StatusError
	var authErr api.AuthorizationError
	var urlErr *url.Error
	var netErr net.Error
	switch {
	case errors.As(err, &statusErr):
		return b.classifyStatus(what, statusErr)
	case errors.As(err, &authErr):
		return sdk.NewError(sdk.Permanent, fmt.Errorf("ollama %s on %s: unauthorized (%d): %w", what, host, authErr.StatusCode, err))
	case errors.Is(err, errNoFinalChunk):
		// The connection broke off mid-answer: the server went away.
		return sdk.NewError(sdk.Unavailable, fmt.Errorf("ollama at %s: %s with model %q: %w", host, what, model, err))
	case errors.As(err, &urlErr), errors.As(err, &netErr):
		// Refused, DNS, reset, TLS: the server cannot be reached.
		return sdk.NewError(sdk.Unavailable, fmt.Errorf("ollama at %s cannot be reached (%s): %w", host, what, err))
	default:
		// An error object in the middle of a stream, or an answer that is
		// not Ollama's JSON.
		return sdk.NewError(sdk.Temporary, fmt.Errorf("ollama %s with model %q on %s: %w", what, model, host, err))
	}
}

// classifyStatus maps an HTTP error answer from Ollama to an error kind: a
// 404 about the model is ModelMissing, other statuses as sdk.StatusError
// has them (Ollama's answers carry no Retry-After).
func (b *backend) classifyStatus(what string, err api.StatusError) error {
	host, model := b.opts.Host, b.modelFor(what)
	if err.StatusCode == http.StatusNotFound && strings.Contains(strings.ToLower(err.ErrorMessage), "model") {
		return sdk.NewError(sdk.ModelMissing, modelMissing(model, host, err))
	}
	return sdk.StatusError(err.StatusCode, 0, fmt.Errorf("ollama %s with model %q on %s answered %d: %w", what, model, host, err.StatusCode, err))
}

// modelMissing is the error for a model the server does not have, telling
// the operator how to get it.
func modelMissing(model, host string, cause error) error {
	return &messageError{
		msg: fmt.Sprintf("model %q is not available on %s: run: ollama pull %s", model, host, model),
		err: cause,
	}
}

// modelFor is the model a request of kind what ("chat", "embed") uses.
func (b *backend) modelFor(what string) string {
	if what == "embed" && b.opts.EmbedModel != "" {
		return b.opts.EmbedModel
	}
	return b.opts.Model
}
