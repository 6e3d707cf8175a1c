package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/plugins/salesiq/siqtest"
	"github.com/switchboard-chat/switchboard/sdk"
)

// Failed API calls get the kind that tells the daemon whether and when to
// retry. The answers are SalesIQ's documented shapes: errors as
// {"error":{"code","message"}}, usually with status 200.
func TestAPIErrorClassification(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	hangUp := func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
	}
	answer := func(status int, header, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if k, v, ok := strings.Cut(header, ": "); ok {
				w.Header().Set(k, v)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			io.WriteString(w, body)
		}
	}
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + closed.Addr().String()
	closed.Close()

	tests := []struct {
		name      string
		handler   http.HandlerFunc // nil: nothing listens
		wantKind  sdk.ErrorKind
		wantAfter time.Duration
	}{
		{"connection refused", nil, sdk.Temporary, 0},
		{"no answer after the request", hangUp, sdk.OutcomeUnknown, 0},
		{"429 with seconds", answer(429, "Retry-After: 30", `{}`), sdk.Temporary, 30 * time.Second},
		{"429 with a date", answer(429, "Retry-After: Sun, 01 Mar 2026 12:02:00 GMT", `{}`), sdk.Temporary, 2 * time.Minute},
		{"429 without Retry-After", answer(429, "", `{}`), sdk.Temporary, defaultRateLimitWait},
		{"503", answer(503, "", `upstream down`), sdk.Temporary, 0},
		{"408", answer(408, "", ``), sdk.Temporary, 0},
		{"400 with an error object", answer(400, "", `{"error":{"code":1015,"message":"Invalid input"}}`), sdk.Permanent, 0},
		{"200 with an error object", answer(200, "", `{"error":{"code":1006,"message":"Invalid URL"}}`), sdk.Permanent, 0},
		{"404", answer(404, "", `not found`), sdk.Permanent, 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			accounts := siqtest.New(t)
			base := refused
			if tt.handler != nil {
				srv := httptest.NewServer(tt.handler)
				defer srv.Close()
				base = srv.URL
			}
			c := configured(t, accounts, map[string]any{"api_base": base, "accounts_base": accounts.URL})
			c.state().api.tokens.now = func() time.Time { return now }
			err := c.RelayToDesk(context.Background(), "42", sdk.DeskMessage{ID: "m" + string(rune('a'+i)), Text: "hello"})
			if err == nil {
				t.Fatal("relay succeeded")
			}
			if sdk.KindOf(err) != tt.wantKind || sdk.RetryAfterOf(err) != tt.wantAfter {
				t.Errorf("%v: kind %s after %v, want %s after %v", err, sdk.KindOf(err), sdk.RetryAfterOf(err), tt.wantKind, tt.wantAfter)
			}
		})
	}
}
