package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-chat/switchboard/sdk"
)

// Zoho Accounts lets one refresh token mint at most ten access tokens in ten
// minutes; the cache stays below that even when Zoho keeps rejecting tokens.
const (
	refreshWindow = 10 * time.Minute
	refreshBudget = 8
)

// tokenSource caches the OAuth access token and refreshes it once for all
// concurrent callers, shortly before it expires or when Zoho rejected it.
type tokenSource struct {
	tokenURL string
	form     url.Values
	client   *http.Client
	now      func() time.Time

	mu       sync.Mutex
	token    string
	expiry   time.Time
	inflight *refreshCall
	recent   []time.Time // start times of refreshes within refreshWindow
}

// refreshCall is one refresh that every waiting caller shares.
type refreshCall struct {
	done  chan struct{}
	token string
	err   error
}

func newTokenSource(opts Options, client *http.Client) *tokenSource {
	return &tokenSource{
		tokenURL: opts.AccountsBase + "/oauth/v2/token",
		form: url.Values{
			"grant_type":    {"refresh_token"},
			"client_id":     {opts.ClientID},
			"client_secret": {opts.ClientSecret},
			"refresh_token": {opts.RefreshToken},
		},
		client: client,
		now:    time.Now,
	}
}

// Token returns a valid access token, refreshing it when needed.
func (s *tokenSource) Token(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", sdk.NewError(sdk.Temporary, err)
	}
	s.mu.Lock()
	now := s.now()
	if s.token != "" && now.Before(s.expiry) {
		t := s.token
		s.mu.Unlock()
		return t, nil
	}
	call := s.inflight
	if call == nil {
		if wait := s.throttle(now); wait > 0 {
			s.mu.Unlock()
			return "", sdk.RetryAfter(wait, fmt.Errorf("zoho token: %d refreshes in %v, waiting to stay under Zoho's limit", refreshBudget, refreshWindow))
		}
		call = &refreshCall{done: make(chan struct{})}
		s.inflight = call
		s.recent = append(s.recent, now)
		go s.refresh(call)
	}
	s.mu.Unlock()
	select {
	case <-call.done:
		return call.token, call.err
	case <-ctx.Done():
		return "", sdk.NewError(sdk.Temporary, fmt.Errorf("zoho token: %w", ctx.Err()))
	}
}

// Invalidate drops tok if it is still the cached token (Zoho rejected it);
// the next Token call refreshes.
func (s *tokenSource) Invalidate(tok string) {
	s.mu.Lock()
	if s.token == tok {
		s.token = ""
	}
	s.mu.Unlock()
}

// throttle returns how long to wait before the next refresh is allowed.
func (s *tokenSource) throttle(now time.Time) time.Duration {
	kept := s.recent[:0]
	for _, t := range s.recent {
		if now.Sub(t) < refreshWindow {
			kept = append(kept, t)
		}
	}
	s.recent = kept
	if len(kept) < refreshBudget {
		return 0
	}
	return kept[0].Add(refreshWindow).Sub(now)
}

// refresh runs one refresh detached from any caller's context, so a caller
// giving up does not fail the others.
func (s *tokenSource) refresh(call *refreshCall) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := s.now()
	tok, lifetime, err := s.fetch(ctx)
	s.mu.Lock()
	if err == nil {
		s.token = tok
		s.expiry = start.Add(lifetime - refreshMargin(lifetime))
	}
	s.inflight = nil
	s.mu.Unlock()
	call.token, call.err = tok, err
	close(call.done)
}

// refreshMargin is how long before expiry the token is renewed.
func refreshMargin(lifetime time.Duration) time.Duration {
	return min(5*time.Minute, lifetime/10)
}

// tokenResponse is Zoho Accounts' answer. expires_in is documented in
// seconds, but some Zoho services answer it in milliseconds next to
// expires_in_sec.
type tokenResponse struct {
	AccessToken      string     `json:"access_token"`
	ExpiresIn        flexString `json:"expires_in"`
	ExpiresInSec     flexString `json:"expires_in_sec"`
	Error            string     `json:"error"`
	ErrorDescription string     `json:"error_description"`
}

func (r tokenResponse) lifetime() time.Duration {
	if secs, err := strconv.ParseFloat(string(r.ExpiresInSec), 64); err == nil && secs > 0 {
		return time.Duration(secs * float64(time.Second))
	}
	if v, err := strconv.ParseFloat(string(r.ExpiresIn), 64); err == nil && v > 0 {
		if v > 24*3600 { // more than a day in seconds: milliseconds
			return time.Duration(v * float64(time.Millisecond))
		}
		return time.Duration(v * float64(time.Second))
	}
	return time.Hour
}

func (s *tokenSource) fetch(ctx context.Context) (string, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.tokenURL, strings.NewReader(s.form.Encode()))
	if err != nil {
		return "", 0, sdk.NewError(sdk.Permanent, fmt.Errorf("zoho token: %w", err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.client.Do(req)
	if err != nil {
		// Temporary even when the refresh went out: a second refresh does
		// no harm, and the call that needed the token was not made.
		return "", 0, sdk.NewError(sdk.Temporary, fmt.Errorf("zoho token: %w", err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var tr tokenResponse
	jsonErr := json.Unmarshal(body, &tr)
	switch {
	case resp.StatusCode >= 500:
		return "", 0, sdk.Errorf(sdk.Temporary, "zoho token: accounts server answered %d", resp.StatusCode)
	case resp.StatusCode == http.StatusTooManyRequests || isAccessDenied(tr.Error):
		return "", 0, sdk.RetryAfter(time.Minute, fmt.Errorf("zoho token: refresh limit reached (%s %s)", tr.Error, tr.ErrorDescription))
	case tr.Error != "":
		return "", 0, sdk.Errorf(sdk.Permanent, "zoho token: %s %s (check client_id, client_secret, refresh_token and accounts_base)", tr.Error, tr.ErrorDescription)
	case resp.StatusCode >= 300 || jsonErr != nil || tr.AccessToken == "":
		return "", 0, sdk.Errorf(sdk.Temporary, "zoho token: unexpected answer %d: %.200s", resp.StatusCode, body)
	}
	return tr.AccessToken, tr.lifetime(), nil
}

// isAccessDenied matches Zoho Accounts' answer to too many refreshes.
func isAccessDenied(code string) bool {
	c := strings.ToLower(strings.ReplaceAll(code, "_", " "))
	return c == "access denied"
}

// errAuth marks an answer that rejected the access token.
var errAuth = errors.New("zoho rejected the access token")
