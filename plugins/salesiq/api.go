package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/sdk"
)

// apiClient calls SalesIQ's REST API with the cached OAuth token.
type apiClient struct {
	base   string // https://salesiq.zoho.com
	screen string
	client *http.Client
	tokens *tokenSource
}

// apiError is SalesIQ's error object: {"error":{"code":1006,"message":"Invalid URL"}}.
type apiError struct {
	Code    flexString `json:"code"`
	Message string     `json:"message"`
}

// envelope is SalesIQ's answer to every call, success or error, usually
// with HTTP status 200.
type envelope struct {
	Data  json.RawMessage `json:"data"`
	Error *apiError       `json:"error"`
}

// authCodes are SalesIQ's "basic authorization errors": 1001 unknown
// authentication error, 1002 invalid authorization header.
var authCodes = map[string]bool{"1001": true, "1002": true}

// isAuthError tells a rejected token from other errors.
func (e *apiError) isAuthError() bool {
	if authCodes[string(e.Code)] {
		return true
	}
	m := strings.ToLower(e.Message)
	for _, w := range []string{"oauth", "token", "authoriz", "unauthori", "authenticat"} {
		if strings.Contains(m, w) {
			return true
		}
	}
	return false
}

// call sends body (JSON, may be nil) to path under the API base and decodes
// the envelope's data into out (may be nil). A rejected token is refreshed
// and the call retried once.
func (c *apiClient) call(ctx context.Context, method, path string, body, out any) error {
	var data []byte
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			return sdk.NewError(sdk.Permanent, fmt.Errorf("salesiq %s: encode: %w", path, err))
		}
	}
	for attempt := 0; ; attempt++ {
		tok, err := c.tokens.Token(ctx)
		if err != nil {
			return err
		}
		err = c.once(ctx, method, path, tok, data, out)
		if !errors.Is(err, errAuth) {
			return err
		}
		if attempt > 0 {
			return sdk.NewError(sdk.Permanent, fmt.Errorf("salesiq %s %s: a fresh access token was rejected too (check the OAuth scopes): %w", method, path, err))
		}
		c.tokens.Invalidate(tok)
	}
}

func (c *apiClient) once(ctx context.Context, method, path, tok string, data []byte, out any) error {
	var rd io.Reader
	if data != nil {
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return sdk.NewError(sdk.Permanent, fmt.Errorf("salesiq %s: %w", path, err))
	}
	req.Header.Set("Authorization", "Zoho-oauthtoken "+tok)
	req.Header.Set("Accept", "application/json")
	if data != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		// A refused connection is retried; a call whose answer was lost
		// may have been done, and SalesIQ takes no idempotency key.
		return sdk.TransportError(fmt.Errorf("salesiq %s %s: %w", method, path, err))
	}
	defer resp.Body.Close()
	payload, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var env envelope
	jsonErr := json.Unmarshal(payload, &env)
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("salesiq %s %s answered 401: %w", method, path, errAuth)
	case env.Error != nil && env.Error.isAuthError():
		return fmt.Errorf("salesiq %s %s: %s (%s): %w", method, path, env.Error.Message, env.Error.Code, errAuth)
	case resp.StatusCode >= 300 || env.Error != nil:
		return c.failure(method, path, resp, env.Error, payload)
	}
	if out == nil {
		return nil
	}
	if jsonErr != nil || len(env.Data) == 0 {
		return sdk.Errorf(sdk.Permanent, "salesiq %s %s: unreadable answer: %.200s", method, path, payload)
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return sdk.Errorf(sdk.Permanent, "salesiq %s %s: unexpected data: %w", method, path, err)
	}
	return nil
}

// defaultRateLimitWait is the wait after a 429 without Retry-After.
const defaultRateLimitWait = time.Minute

// failure classifies an error answer: an error object that came with
// status 200 (SalesIQ answers most errors so) is Permanent; an error status
// is classified by sdk.StatusError.
func (c *apiClient) failure(method, path string, resp *http.Response, apiErr *apiError, payload []byte) error {
	var err error
	if apiErr != nil {
		err = fmt.Errorf("salesiq %s %s answered %d: %s (code %s)", method, path, resp.StatusCode, apiErr.Message, apiErr.Code)
	} else {
		err = fmt.Errorf("salesiq %s %s answered %d: %.200s", method, path, resp.StatusCode, payload)
	}
	if resp.StatusCode < 300 {
		return sdk.NewError(sdk.Permanent, err)
	}
	wait := sdk.ParseRetryAfter(resp.Header.Get("Retry-After"), c.tokens.now())
	if resp.StatusCode == http.StatusTooManyRequests && wait == 0 {
		wait = defaultRateLimitWait
	}
	return sdk.StatusError(resp.StatusCode, wait, err)
}
