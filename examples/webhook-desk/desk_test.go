package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"

	"github.com/switchboard-chat/switchboard/sdk"
	"github.com/switchboard-chat/switchboard/sdk/plugintest"
)

// fakeDesk is a desk system: it opens tickets and records calls.
type fakeDesk struct {
	mu    sync.Mutex
	calls map[string][]map[string]any
	keys  map[string][]string // Idempotency-Key headers by path
}

func (f *fakeDesk) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Desk-Secret") != "s3cret" {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	if f.calls == nil {
		f.calls, f.keys = map[string][]map[string]any{}, map[string][]string{}
	}
	f.calls[r.URL.Path] = append(f.calls[r.URL.Path], body)
	f.keys[r.URL.Path] = append(f.keys[r.URL.Path], r.Header.Get("Idempotency-Key"))
	f.mu.Unlock()
	if r.URL.Path == "/handoffs" {
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]string{"ref": "T-1"})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeDesk) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls[path])
}

func hook(body string, secret string) sdk.WebhookRequest {
	h := http.Header{}
	if secret != "" {
		h.Set("X-Desk-Secret", secret)
	}
	return sdk.WebhookRequest{Method: "POST", Header: h, Body: []byte(body)}
}

func TestConformance(t *testing.T) {
	desk := &fakeDesk{}
	srv := httptest.NewServer(desk)
	defer srv.Close()
	plugintest.RunChannelSuite(t, plugintest.ChannelSuite{
		New:     func() sdk.Channel { return &Desk{} },
		Options: map[string]any{"desk_url": srv.URL, "secret": "s3cret"},
		BadOptions: map[string]map[string]any{
			"no url":    {"secret": "x"},
			"no secret": {"desk_url": srv.URL},
			"bad url":   {"desk_url": "desk.local", "secret": "x"},
		},
		Webhook: func() sdk.WebhookRequest {
			return hook(`{"id":"e1","type":"operator_message","ref":"T-1","operator":"Bob","text":"hi"}`, "s3cret")
		},
		BadWebhooks: map[string]sdk.WebhookRequest{
			"no secret":    hook(`{"id":"e1","type":"closed","ref":"T-1"}`, ""),
			"wrong secret": hook(`{"id":"e1","type":"closed","ref":"T-1"}`, "guess"),
			"malformed":    hook(`{`, "s3cret"),
			"unknown type": hook(`{"id":"e1","type":"party","ref":"T-1"}`, "s3cret"),
			"no text":      hook(`{"id":"e1","type":"operator_message","ref":"T-1"}`, "s3cret"),
		},
		Handoff: &sdk.Handoff{
			ID: "o7", ConversationID: "c_1", Channel: "tg", User: sdk.User{ID: "42", Name: "Ann"},
			Transcript: []sdk.TranscriptEntry{{Role: "visitor", Text: "human please"}},
			Summary:    "Ann needs a human", Reason: "keyword", Department: "billing-queue",
		},
		DeskReceived: func() bool {
			return desk.count("/handoffs") == 1 && desk.count("/handoffs/T-1/messages") == 1 && desk.count("/handoffs/T-1/close") == 1
		},
	})
	open := desk.calls["/handoffs"][0]
	if open["summary"] != "Ann needs a human" || len(open["transcript"].([]any)) != 1 || open["department"] != "billing-queue" {
		t.Errorf("the desk got %v", open)
	}
}

// Every call carries its delivery id as the Idempotency-Key, the same on
// every attempt, so the desk can drop repeats.
func TestEveryCallCarriesItsDeliveryID(t *testing.T) {
	desk := &fakeDesk{}
	srv := httptest.NewServer(desk)
	defer srv.Close()
	ch, c := plugintest.ChannelDesk(t, &Desk{})
	opts, _ := sdk.NewOptions(map[string]any{"desk_url": srv.URL, "secret": "s3cret"})
	ctx := context.Background()
	caps, err := ch.Configure(ctx, sdk.ConfigureRequest{Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	if want := (sdk.Idempotency{OpenHandoff: true, RelayToDesk: true, CloseHandoff: true}); caps.Idempotent != want {
		t.Errorf("declared %+v, want %+v: the desk drops repeated Idempotency-Keys", caps.Idempotent, want)
	}
	for range 2 { // a retry sends the same key
		if _, err := c.OpenHandoff(ctx, sdk.Handoff{ID: "o7", Channel: "tg", User: sdk.User{ID: "42"}}); err != nil {
			t.Fatal(err)
		}
		if err := c.RelayToDesk(ctx, "T-1", sdk.DeskMessage{ID: "o8", Text: "hello?"}); err != nil {
			t.Fatal(err)
		}
		if err := c.CloseHandoff(ctx, "T-1", sdk.DeskClose{ID: "o9", Reason: "back to the bot"}); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string][]string{
		"/handoffs":              {"o7", "o7"},
		"/handoffs/T-1/messages": {"o8", "o8"},
		"/handoffs/T-1/close":    {"o9", "o9"},
	}
	if !reflect.DeepEqual(desk.keys, want) {
		t.Errorf("Idempotency-Key headers %v, want %v", desk.keys, want)
	}
	if got := desk.calls["/handoffs/T-1/close"][0]; got["id"] != "o9" || got["reason"] != "back to the bot" {
		t.Errorf("close body %v", got)
	}
}
