package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/sdk"
)

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// errTurnTimeout is the cause of a turn's context when the per-turn timeout
// fired (as opposed to the caller cancelling).
var errTurnTimeout = errors.New("turn timeout")

// errNoFinalChunk reports a stream that ended before the answer was
// complete: the connection broke, or the server went away.
var errNoFinalChunk = errors.New("the stream ended before the answer was complete")

// apiError is the error object of an error answer. Servers differ in
// details: OpenAI sends {"error":{"message","type","param","code"}} with a
// string code, llama.cpp a numeric code, some older servers the fields at
// the top level or "error" as a plain string.
type apiError struct {
	Message string
	Type    string
	Param   string
	Code    string
}

// String formats the error for a message: the text, then the code.
func (e apiError) String() string {
	msg := e.Message
	if msg == "" {
		msg = e.Type
	}
	if e.Code != "" && e.Code != msg {
		msg += " (code " + e.Code + ")"
	}
	return msg
}

// parseAPIError reads an error object from an error answer's body or a
// stream event; ok is false when body holds none.
func parseAPIError(body []byte) (e apiError, ok bool) {
	var env struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Type    string          `json:"type"`
		Param   json.RawMessage `json:"param"`
		Code    json.RawMessage `json:"code"`
		Detail  json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &env) != nil {
		return apiError{}, false
	}
	var text string
	switch {
	case json.Unmarshal(env.Error, &text) == nil && text != "":
		return apiError{Message: text}, true
	case len(env.Error) > 0 && env.Error[0] == '{':
		var inner struct {
			Message string          `json:"message"`
			Type    string          `json:"type"`
			Param   json.RawMessage `json:"param"`
			Code    json.RawMessage `json:"code"`
		}
		if json.Unmarshal(env.Error, &inner) != nil {
			return apiError{}, false
		}
		return apiError{Message: inner.Message, Type: inner.Type, Param: scalar(inner.Param), Code: scalar(inner.Code)}, true
	case env.Message != "":
		return apiError{Message: env.Message, Type: env.Type, Param: scalar(env.Param), Code: scalar(env.Code)}, true
	case json.Unmarshal(env.Detail, &text) == nil && text != "":
		return apiError{Message: text}, true // FastAPI's {"detail": "Not Found"}
	}
	return apiError{}, false
}

// scalar returns a JSON string or number as text; "" for null, absent or
// anything else.
func scalar(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// statusError is an HTTP error answer.
type statusError struct {
	Status     int
	API        apiError
	RetryAfter time.Duration // from the Retry-After header; 0 when absent
}

func (e *statusError) Error() string {
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, http.StatusText(e.Status), e.API)
}

// readStatusError reads an error answer. now is the clock for a Retry-After
// date.
func readStatusError(resp *http.Response, now time.Time) *statusError {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &statusError{Status: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), now)}
	if api, ok := parseAPIError(body); ok {
		e.API = api
	} else if text := strings.TrimSpace(string(body)); text != "" {
		e.API.Message = truncate(text, 300)
	} else {
		e.API.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// parseRetryAfter reads a Retry-After header (RFC 9110 §10.2.3): a number
// of seconds or an HTTP date. It returns 0 when the header is absent,
// malformed or in the past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// streamError is an error object sent with status 200: in the stream
// instead of the rest of the answer, or as the whole answer.
type streamError struct{ API apiError }

func (e *streamError) Error() string { return "the server reported an error: " + e.API.String() }

// notStreamError is a successful answer that is neither an event stream nor
// JSON: base_url points at something other than the API.
type notStreamError struct{ ContentType string }

func (e *notStreamError) Error() string {
	return fmt.Sprintf("the answer is %s, not an event stream", e.ContentType)
}

// sendError is the turn's stream refusing a chunk; it is passed back as it
// is.
type sendError struct{ err error }

func (e *sendError) Error() string { return e.err.Error() }
func (e *sendError) Unwrap() error { return e.err }

// messageError is an error with its own message that still unwraps to its
// cause, for messages a user should read as they are.
type messageError struct {
	msg string
	err error
}

func (e *messageError) Error() string { return e.msg }
func (e *messageError) Unwrap() error { return e.err }

// classify turns an error from a call to the server into an [sdk.Error]
// whose kind tells the daemon what to do. what names the call ("chat",
// "embeddings"); ctx is the call's context, whose cause tells a turn
// timeout from a caller's cancellation.
func (b *backend) classify(ctx context.Context, what string, err error) error {
	base, model := b.opts.BaseURL, b.opts.Model

	// The context first: a cancelled request surfaces as a transport error.
	if ctx.Err() != nil {
		cause := context.Cause(ctx)
		switch {
		case errors.Is(cause, errTurnTimeout):
			return sdk.NewError(sdk.Timeout, fmt.Errorf("%s with model %q on %s: no complete answer within the %s timeout: %w",
				what, model, base, b.opts.Timeout, context.DeadlineExceeded))
		case errors.Is(cause, context.DeadlineExceeded):
			return sdk.NewError(sdk.Timeout, fmt.Errorf("%s with model %q on %s: %w", what, model, base, cause))
		default:
			return sdk.NewError(sdk.Temporary, fmt.Errorf("%s with model %q on %s: %w", what, model, base, ctx.Err()))
		}
	}

	var status *statusError
	var inStream *streamError
	var notStream *notStreamError
	var urlErr *url.Error
	var netErr net.Error
	switch {
	case errors.As(err, &status):
		return b.classifyStatus(what, status)
	case errors.As(err, &inStream):
		return sdk.NewError(sdk.Temporary, fmt.Errorf("%s with model %q on %s failed: %w", what, model, base, err))
	case errors.As(err, &notStream):
		return sdk.NewError(sdk.Permanent, fmt.Errorf("%s on %s: %w: check base_url, the server's OpenAI-compatible API root (usually ending in /v1)", what, base, err))
	case errors.Is(err, errNoFinalChunk):
		return sdk.NewError(sdk.Unavailable, fmt.Errorf("server at %s: %s with model %q: %w", base, what, model, err))
	case errors.As(err, &urlErr), errors.As(err, &netErr):
		// Refused, DNS, reset, TLS: the server cannot be reached.
		return sdk.NewError(sdk.Unavailable, fmt.Errorf("server at %s is unreachable (%s): %w", base, what, err))
	default:
		// An answer that is not the API's JSON.
		return sdk.NewError(sdk.Temporary, fmt.Errorf("%s with model %q on %s: %w", what, model, base, err))
	}
}

// classifyStatus maps an HTTP error answer to an error kind.
func (b *backend) classifyStatus(what string, err *statusError) error {
	base, model := b.opts.BaseURL, b.opts.Model
	switch {
	case err.Status == http.StatusUnauthorized || err.Status == http.StatusForbidden:
		return sdk.NewError(sdk.Permanent, b.unauthorized(err))
	case isModelMissing(err, model):
		return sdk.NewError(sdk.ModelMissing, modelMissing(model, base, err))
	case err.Status == http.StatusNotFound:
		return sdk.NewError(sdk.Permanent, fmt.Errorf("%s on %s: no such endpoint (%w): check base_url, the server's OpenAI-compatible API root (usually ending in /v1)", what, base, err))
	case err.Status == http.StatusTooManyRequests && err.API.Code == "insufficient_quota":
		return sdk.NewError(sdk.Permanent, fmt.Errorf("%s on %s: the account's quota is used up: %w", what, base, err))
	case err.Status == http.StatusTooManyRequests && err.RetryAfter > 0:
		return sdk.RetryAfter(err.RetryAfter, fmt.Errorf("%s on %s is rate limited (retry after %s): %w", what, base, err.RetryAfter, err))
	case err.Status == http.StatusTooManyRequests:
		return sdk.NewError(sdk.Temporary, fmt.Errorf("%s on %s is rate limited: %w", what, base, err))
	case err.Status >= 400 && err.Status < 500 && err.Status != http.StatusRequestTimeout:
		return sdk.NewError(sdk.Permanent, fmt.Errorf("%s with model %q on %s refused the request: %w", what, model, base, err))
	default:
		// 5xx and 408: the server is busy, loading or failing; try later,
		// not before its Retry-After.
		return sdk.RetryAfter(err.RetryAfter, fmt.Errorf("%s with model %q on %s failed: %w", what, model, base, err))
	}
}

// unauthorized is the error for a refused key, saying what to change.
func (b *backend) unauthorized(err *statusError) error {
	if b.opts.APIKey == "" {
		return fmt.Errorf("server at %s wants an API key (%w): set api_key", b.opts.BaseURL, err)
	}
	return fmt.Errorf("server at %s refused the API key (%w): check api_key", b.opts.BaseURL, err)
}

// isModelMissing reports whether an error answer says the model does not
// exist: OpenAI's code model_not_found, or a 404 about the model.
func isModelMissing(err *statusError, model string) bool {
	if err.API.Code == "model_not_found" {
		return true
	}
	if err.Status != http.StatusNotFound {
		return false
	}
	msg := strings.ToLower(err.API.Message)
	return err.API.Param == "model" || strings.Contains(msg, strings.ToLower(model)) || strings.Contains(msg, "model")
}

// modelMissing is the error for a model the server does not serve, telling
// the operator where to look.
func modelMissing(model, base string, cause error) error {
	return &messageError{
		msg: fmt.Sprintf("model %q is not available on %s: %v; set model to an id that GET %s/models lists", model, base, cause, base),
		err: cause,
	}
}

// drain reads a little of what is left of a body before it is closed, so
// that its connection can be reused.
func drain(body io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, body, 4<<10)
	body.Close()
}
