package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/sdk"
)

// Rate-limit waits used when LINE's 429 carries no Retry-After header (LINE
// documents none).
const (
	defaultRateLimitWait = 5 * time.Second
	monthlyLimitWait     = time.Hour
)

// apiError is LINE's error body: {"message":…,"details":[{"message","property"}]}.
type apiError struct {
	Message string `json:"message"`
	Details []struct {
		Message  string `json:"message"`
		Property string `json:"property"`
	} `json:"details"`
}

// sentMessage is one entry of a reply's or push's "sentMessages". LINE
// documents the id as a number but sends it as a string; both decode.
type sentMessage struct {
	ID json.RawMessage `json:"id"`
}

// result is the outcome of one API call.
type result struct {
	status    int
	header    http.Header
	body      []byte
	apiErr    apiError
	err       error // transport failure: no status
	requestID string
}

// describe sums up a failed answer for error messages.
func (r result) describe() string {
	s := fmt.Sprintf("%d %s", r.status, http.StatusText(r.status))
	if r.apiErr.Message != "" {
		s += ": " + r.apiErr.Message
	}
	for _, d := range r.apiErr.Details {
		s += fmt.Sprintf(" [%s: %s]", d.Property, d.Message)
	}
	if r.requestID != "" {
		s += " (x-line-request-id " + r.requestID + ")"
	}
	return s
}

// sentIDs returns the ids of the messages LINE reports as sent.
func (r result) sentIDs() string {
	var body struct {
		SentMessages []sentMessage `json:"sentMessages"`
	}
	if json.Unmarshal(r.body, &body) != nil {
		return ""
	}
	ids := make([]string, 0, len(body.SentMessages))
	for _, m := range body.SentMessages {
		ids = append(ids, strings.Trim(string(m.ID), `"`))
	}
	return strings.Join(ids, ",")
}

// call performs one API request with a JSON body (nil for none).
func (c *Channel) call(ctx context.Context, cfg *config, method, path string, payload any, header http.Header) result {
	var body io.Reader
	if payload != nil {
		raw, err := json.Marshal(payload)
		if err != nil {
			return result{err: fmt.Errorf("encode request: %w", err)}
		}
		body = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, cfg.apiBase+path, body)
	if err != nil {
		return result{err: fmt.Errorf("build request: %w", err)}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+cfg.token)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	res := result{status: resp.StatusCode, header: resp.Header, body: raw, requestID: resp.Header.Get("X-Line-Request-Id")}
	// A body cut off after a 2xx is still a success: LINE accepted the
	// request; only the sent message ids are lost.
	_ = err
	if resp.StatusCode >= 300 {
		_ = json.Unmarshal(raw, &res.apiErr)
	}
	return res
}

// classify turns a failed call into an [sdk.Error]. idempotent says a
// retry of the call cannot duplicate (a push with a retry key, a reply
// whose token LINE accepts once): a request that left without an answer is
// then simply temporary, otherwise its outcome is unknown. A 429 without
// Retry-After (LINE documents none) waits a default time, longer for the
// monthly quota. Other statuses are classified as sdk.StatusError has them:
// LINE has no "blocked" answer, as pushes to users who blocked the account
// return 200.
func (c *Channel) classify(what string, r result, idempotent bool) error {
	if r.err != nil {
		err := sdk.TransportError(fmt.Errorf("%s: %w", what, r.err))
		if idempotent && sdk.KindOf(err) == sdk.OutcomeUnknown {
			return sdk.NewError(sdk.Temporary, err)
		}
		return err
	}
	err := fmt.Errorf("%s: LINE answered %s", what, r.describe())
	wait := sdk.ParseRetryAfter(r.header.Get("Retry-After"), c.now())
	if r.status == http.StatusTooManyRequests && wait == 0 {
		wait = defaultRateLimitWait
		if strings.Contains(strings.ToLower(r.apiErr.Message), "monthly limit") {
			wait = monthlyLimitWait
		}
	}
	return sdk.StatusError(r.status, wait, err)
}
