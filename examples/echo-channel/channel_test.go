package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/switchboard-chat/switchboard/sdk"
	"github.com/switchboard-chat/switchboard/sdk/plugintest"
)

// fakeTarget records the replies POSTed to it.
type fakeTarget struct {
	mu      sync.Mutex
	replies []map[string]string
}

func (f *fakeTarget) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]string
	if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&body) != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.replies = append(f.replies, body)
	f.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeTarget) got(text string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.replies {
		if r["text"] == text {
			return true
		}
	}
	return false
}

func webhook(body string, header http.Header) sdk.WebhookRequest {
	if header == nil {
		header = http.Header{}
	}
	return sdk.WebhookRequest{Method: http.MethodPost, Path: "/webhooks/demo", Header: header, Body: []byte(body)}
}

func TestConformance(t *testing.T) {
	target := &fakeTarget{}
	srv := httptest.NewServer(target)
	defer srv.Close()
	signed := http.Header{"X-Echo-Secret": {"s3cret"}}

	plugintest.RunChannelSuite(t, plugintest.ChannelSuite{
		New:     func() sdk.Channel { return &Channel{} },
		Options: map[string]any{"reply_url": srv.URL, "secret": "s3cret"},
		BadOptions: map[string]map[string]any{
			"missing reply_url": {},
			"not a URL":         {"reply_url": "ftp:/nope"},
			"wrong type":        {"reply_url": srv.URL, "secret": 42},
			"bad duration":      {"reply_url": srv.URL, "timeout": "soon"},
		},
		Webhook: func() sdk.WebhookRequest {
			return webhook(`{"id":"e1","chat":"room-1","user":"u1","text":"hello"}`, signed)
		},
		BadWebhooks: map[string]sdk.WebhookRequest{
			"no secret":     webhook(`{"id":"e1","chat":"room-1","text":"hello"}`, nil),
			"wrong secret":  webhook(`{"id":"e1","chat":"room-1","text":"hello"}`, http.Header{"X-Echo-Secret": {"guess"}}),
			"malformed":     webhook(`{"id":`, signed),
			"missing id":    webhook(`{"chat":"room-1","text":"hello"}`, signed),
			"unknown field": webhook(`{"id":"e1","chat":"room-1","text":"x","extra":1}`, signed),
			"trailing data": webhook(`{"id":"e1","chat":"room-1","text":"x"} {"id":"e2"}`, signed),
			"trailing junk": webhook(`{"id":"e1","chat":"room-1","text":"x"}]`, signed),
		},
		Outbound:  sdk.Outbound{ID: "o1", Kind: sdk.OutText, Conversation: "room-1", Text: "hello"},
		Delivered: func() bool { return target.got("echo: hello") },
	})
}
