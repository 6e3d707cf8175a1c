package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/sdk"
)

// maxAnswerBytes bounds a Bot API answer (100 updates of getUpdates fit).
const maxAnswerBytes = 16 << 20

// api calls Bot API methods: POST {base}/bot{token}/{method} with a JSON
// body. The token is part of the URL path, so every error leaving api is
// scrubbed of it.
type api struct {
	base  string
	token string
	http  *http.Client
	now   func() time.Time
}

// apiError is an answer with "ok": false, or an HTTP error without a
// Bot API body.
type apiError struct {
	Method      string
	Code        int
	Description string
	// RetryAfter is parameters.retry_after, or the Retry-After header.
	RetryAfter time.Duration
	// MigrateTo is parameters.migrate_to_chat_id.
	MigrateTo int64
}

// Error implements error.
func (e *apiError) Error() string {
	return fmt.Sprintf("telegram %s answered %d: %s", e.Method, e.Code, e.Description)
}

// errBadAnswer marks a 2xx answer that is not a Bot API envelope: the call
// may have been carried out.
var errBadAnswer = errors.New("undecodable answer")

// envelope is every Bot API answer.
type envelope struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  *struct {
		RetryAfter      int   `json:"retry_after"`
		MigrateToChatID int64 `json:"migrate_to_chat_id"`
	} `json:"parameters"`
}

// call invokes method with params (a JSON-encodable struct or map) and
// decodes the result into result (when non-nil). Errors are an *apiError,
// a transport error (a *url.Error with the token replaced), or wrap
// errBadAnswer.
func (a *api) call(ctx context.Context, method string, params any, result any) error {
	body, err := json.Marshal(params)
	if err != nil {
		return fmt.Errorf("telegram %s: encode parameters: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+"/bot"+a.token+"/"+method, bytes.NewReader(body))
	if err != nil {
		return a.redact(fmt.Errorf("telegram %s: %w", method, err))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return a.redact(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		// The answer started but broke off: whatever was asked may be done.
		return a.redact(&url.Error{Op: "Read answer of", URL: req.URL.String(), Err: err})
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		if resp.StatusCode < 300 {
			return fmt.Errorf("telegram %s: HTTP %d with an %w: %s", method, resp.StatusCode, errBadAnswer, snippet(raw))
		}
		return &apiError{Method: method, Code: resp.StatusCode, Description: strings.TrimSpace(http.StatusText(resp.StatusCode) + " " + snippet(raw)), RetryAfter: sdk.ParseRetryAfter(resp.Header.Get("Retry-After"), a.now())}
	}
	if !env.OK {
		e := &apiError{Method: method, Code: env.ErrorCode, Description: env.Description}
		if e.Code == 0 {
			e.Code = resp.StatusCode
		}
		if env.Parameters != nil {
			e.RetryAfter = time.Duration(env.Parameters.RetryAfter) * time.Second
			e.MigrateTo = env.Parameters.MigrateToChatID
		}
		if e.RetryAfter == 0 {
			e.RetryAfter = sdk.ParseRetryAfter(resp.Header.Get("Retry-After"), a.now())
		}
		e.Description = a.scrub(e.Description)
		return e
	}
	if result != nil {
		if err := json.Unmarshal(env.Result, result); err != nil {
			return fmt.Errorf("telegram %s: %w: result: %v", method, errBadAnswer, err)
		}
	}
	return nil
}

// redact replaces the token in a transport error. A *url.Error is copied
// with its URL scrubbed so the error chain (which sdk.TransportError
// inspects) stays intact; the errors it wraps carry only addresses.
func (a *api) redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		clean := *ue
		clean.URL = a.scrub(ue.URL)
		if strings.Contains(clean.Err.Error(), a.token) {
			clean.Err = errors.New(a.scrub(clean.Err.Error()))
		}
		return &clean
	}
	if strings.Contains(err.Error(), a.token) {
		return errors.New(a.scrub(err.Error()))
	}
	return err
}

// scrub replaces the token in s.
func (a *api) scrub(s string) string {
	if a.token == "" {
		return s
	}
	return strings.ReplaceAll(s, a.token, "<token>")
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// classify gives an error from a sending call its sdk kind: 403 (blocked,
// kicked, deactivated) is Blocked; other statuses as sdk.StatusError has
// them (429 waits for retry_after, 5xx are Temporary, other 4xx
// Permanent); a request that may have reached Telegram without an answer
// is OutcomeUnknown. what names the call for the message.
func classify(what string, err error) error {
	wrapped := fmt.Errorf("%s: %w", what, err)
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		if ae.Code == http.StatusForbidden {
			return sdk.NewError(sdk.Blocked, wrapped)
		}
		return sdk.StatusError(ae.Code, ae.RetryAfter, wrapped)
	case errors.Is(err, errBadAnswer):
		return sdk.NewError(sdk.OutcomeUnknown, wrapped)
	default:
		return sdk.TransportError(wrapped)
	}
}
