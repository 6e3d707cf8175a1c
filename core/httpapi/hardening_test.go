package httpapi

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"

	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

func do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestAGivenUpPluginSaysSoWithoutRetryAfter(t *testing.T) {
	srv, _ := newTestServer(t, stubChannels{"gone": nil, "down": nil})
	tests := []struct {
		instance   string
		retryAfter bool
		says       string
	}{
		{"down", true, "restarting"},
		{"gone", false, "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.instance, func(t *testing.T) {
			req, _ := http.NewRequest("POST", srv.URL+"/webhooks/"+tt.instance, strings.NewReader("{}"))
			resp, body := do(t, req)
			if resp.StatusCode != 503 || !strings.Contains(body, tt.says) {
				t.Errorf("got %d %s, want 503 saying %q", resp.StatusCode, body, tt.says)
			}
			if got := resp.Header.Get("Retry-After") != ""; got != tt.retryAfter {
				t.Errorf("Retry-After present %v, want %v", got, tt.retryAfter)
			}
		})
	}
}

func TestNotFoundEchoesOnlyAShortPrefix(t *testing.T) {
	srv, _ := newTestServer(t, stubChannels{})
	long := strings.Repeat("a", 100_000)
	for _, path := range []string{"/v1/" + long, "/webhooks/" + long, "/v1/conversations/" + long} {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer k1")
		resp, body := do(t, req)
		if resp.StatusCode != 404 || len(body) > 1024 {
			t.Errorf("GET %.20s…: %d with a body of %d bytes, want 404 with at most 1 KiB", path, resp.StatusCode, len(body))
		}
	}
}

func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	srv, _ := newTestServer(t, stubChannels{})
	tests := []struct {
		header string
		want   int
	}{
		{"Bearer k1", 200},
		{"bearer k1", 200},
		{"BEARER k1", 200},
		{"bEaReR  k1", 200},
		{"Basic k1", 401},
		{"Bearerk1", 401},
		{"Bearer ", 401},
		{"k1", 401},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest("GET", srv.URL+"/v1/conversations", nil)
		req.Header.Set("Authorization", tt.header)
		if resp, body := do(t, req); resp.StatusCode != tt.want {
			t.Errorf("Authorization %q: %d %s, want %d", tt.header, resp.StatusCode, body, tt.want)
		}
	}
}

func TestStatsRangesAreValidated(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "switchboard.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log, hook := test.NewNullLogger()
	s, err := New(Config{MaxBodyBytes: 1024, APIKeys: []string{"k1"}, Stats: func(from, to time.Time) (any, error) {
		return map[string]any{"from": from, "to": to, "score": math.NaN()}, nil
	}}, st, stubChannels{}, nil, func() (bool, any) { return true, nil }, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	for _, tt := range []struct {
		query, names string
	}{
		{"to=9999-12-31", "to"},
		{"from=0000-01-01", "from"},
		{"to=tomorrow", "to"},
	} {
		code, body := call(t, srv, "GET", "/v1/stats?"+tt.query, "k1", "")
		msg, _ := body["error"].(map[string]any)["message"].(string)
		if code != 400 || !strings.Contains(msg, "parameter "+tt.names) {
			t.Errorf("%s: %d %v, want 400 naming %s", tt.query, code, body, tt.names)
		}
	}
	// A report that cannot be encoded is a 500, and the log says why.
	code, body := call(t, srv, "GET", "/v1/stats", "k1", "")
	if code != 500 || errorCode(body) != "internal" {
		t.Errorf("unencodable report: %d %v, want 500", code, body)
	}
	if e := hook.LastEntry(); e == nil || e.Level != logrus.ErrorLevel {
		t.Errorf("the failed answer was not logged at error level: %v", e)
	}
}

func TestRejectedWebhooksAreLoggedSampled(t *testing.T) {
	log, hook := test.NewNullLogger()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	l := newRejectionLog(log, clock)
	for range 25 {
		l.reject("tg", "plugin_status_401", nil)
	}
	l.reject("tg", "too_large", nil) // another kind has its own quota
	if n := len(hook.AllEntries()); n != rejectionsLogged+1 {
		t.Fatalf("%d lines for 26 rejections, want %d", n, rejectionsLogged+1)
	}
	hook.Reset()
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	l.reject("tg", "plugin_status_401", nil)
	entries := hook.AllEntries()
	if len(entries) != 2 || entries[0].Data["count"] != 15 {
		t.Errorf("next minute: %d lines, first %v; want the count of 15 unlogged and the new one", len(entries), entries[0].Data)
	}
}

// blockingChannel's HandleWebhook returns only when its call is cancelled.
type blockingChannel struct {
	stubChannel
	called chan struct{}
}

func (b *blockingChannel) HandleWebhook(ctx context.Context, _ sdk.WebhookRequest) (sdk.WebhookResponse, error) {
	close(b.called)
	<-ctx.Done()
	return sdk.WebhookResponse{}, sdk.NewError(sdk.Temporary, ctx.Err())
}

func TestAClientThatHangsUpIsLoggedAtDebug(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "switchboard.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log, hook := test.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	ch := &blockingChannel{called: make(chan struct{})}
	s, err := New(Config{MaxBodyBytes: 1024}, st, oneChannel{ch}, nil, func() (bool, any) { return true, nil }, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/webhooks/tg", strings.NewReader("{}"))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-ch.called
	cancel()
	<-done
	srv.Close() // waits for the handler
	for _, e := range hook.AllEntries() {
		if e.Level < logrus.DebugLevel {
			t.Errorf("a client hanging up was logged at %s: %s", e.Level, e.Message)
		}
	}
	if len(hook.AllEntries()) == 0 {
		t.Error("the hang-up was not logged at debug level")
	}
}
