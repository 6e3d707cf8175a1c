package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

// stubChannel answers webhooks as told.
type stubChannel struct {
	resp sdk.WebhookResponse
	err  error
	got  []sdk.WebhookRequest
}

func (s *stubChannel) Configure(context.Context, sdk.ConfigureRequest) (sdk.Capabilities, error) {
	return sdk.Capabilities{}, nil
}

func (s *stubChannel) HandleWebhook(_ context.Context, req sdk.WebhookRequest) (sdk.WebhookResponse, error) {
	s.got = append(s.got, req)
	return s.resp, s.err
}

func (s *stubChannel) Send(context.Context, sdk.Outbound) (sdk.SendResult, error) {
	return sdk.SendResult{}, nil
}

type stubChannels map[string]*stubChannel

func (c stubChannels) Channel(name string) (sdk.Channel, bool, error) {
	ch, ok := c[name]
	if !ok {
		return nil, false, nil
	}
	if ch == nil {
		return nil, true, sdk.ErrPluginUnavailable
	}
	return ch, true, nil
}

func newTestServer(t *testing.T, channels stubChannels) (*httptest.Server, *store.Store) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "switchboard.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := logrus.New()
	log.SetOutput(io.Discard)
	s := New(Config{MaxBodyBytes: 1024, APIKeys: []string{"k1", "k2"}}, st, channels, nil,
		func() (bool, any) { return true, nil }, log)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv, st
}

func call(t *testing.T, srv *httptest.Server, method, path, key, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	json.Unmarshal(data, &out)
	return resp.StatusCode, out
}

func errorCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func TestWebhook(t *testing.T) {
	ok := &stubChannel{resp: sdk.WebhookResponse{
		Status: 200, Body: []byte(`{"ok":true}`), Header: http.Header{"X-Plugin": {"yes"}},
		Events: []sdk.Event{{ID: "1", Kind: sdk.KindMessage, Conversation: "chat", Text: "hi"}},
	}}
	rejected := &stubChannel{resp: sdk.WebhookResponse{
		Status: 401, Events: []sdk.Event{{ID: "x", Kind: sdk.KindMessage, Conversation: "c", Text: "must not be stored"}},
	}}
	failing := &stubChannel{err: sdk.Errorf(sdk.Temporary, "boom")}
	srv, st := newTestServer(t, stubChannels{"ok": ok, "rejected": rejected, "failing": failing, "down": nil})

	tests := []struct {
		name, method, path, body string
		want                     int
	}{
		{"accepted", "POST", "/webhooks/ok", `{}`, 200},
		{"probe GET", "GET", "/webhooks/ok", "", 200},
		{"probe HEAD", "HEAD", "/webhooks/ok", "", 200},
		{"unknown instance", "POST", "/webhooks/nope", `{}`, 404},
		{"unknown instance probe", "GET", "/webhooks/nope", "", 404},
		{"too large", "POST", "/webhooks/ok", strings.Repeat("x", 2000), 413},
		{"plugin says 401", "POST", "/webhooks/rejected", `{}`, 401},
		{"plugin error", "POST", "/webhooks/failing", `{}`, 503},
		{"plugin down", "POST", "/webhooks/down", `{}`, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _ := call(t, srv, tt.method, tt.path, "", tt.body)
			if code != tt.want {
				t.Errorf("status %d, want %d", code, tt.want)
			}
		})
	}

	if len(ok.got) != 1 || string(ok.got[0].Body) != "{}" || ok.got[0].Path != "/webhooks/ok" {
		t.Errorf("plugin got %+v", ok.got)
	}
	if _, err := st.ConversationByRef("rejected", "c"); err == nil {
		t.Error("events of a rejected webhook were stored")
	}
	conv, err := st.ConversationByRef("ok", "chat")
	if err != nil {
		t.Fatal(err)
	}
	if msgs, _ := st.Messages(conv.ID, 0, 0); len(msgs) != 1 || msgs[0].Text != "hi" {
		t.Errorf("stored %+v", msgs)
	}
}

func TestAPIAuthentication(t *testing.T) {
	srv, _ := newTestServer(t, stubChannels{})
	for _, tt := range []struct {
		name, key string
		want      int
	}{
		{"no key", "", 401},
		{"wrong key", "k3", 401},
		{"prefix of a key", "k", 401},
		{"first key", "k1", 200},
		{"second key", "k2", 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, body := call(t, srv, "GET", "/v1/conversations", tt.key, "")
			if code != tt.want {
				t.Fatalf("status %d, want %d", code, tt.want)
			}
			if code == 401 && errorCode(body) != "unauthorized" {
				t.Errorf("401 body %v lacks a JSON error", body)
			}
		})
	}
}

func TestConversationsAPI(t *testing.T) {
	srv, st := newTestServer(t, stubChannels{})
	code, conv := call(t, srv, "POST", "/v1/conversations", "k1", `{"user":{"id":"u1","name":"Ann"}}`)
	if code != 201 || conv["state"] != "bot" || conv["channel"] != "api" {
		t.Fatalf("create: %d %v", code, conv)
	}
	id := conv["id"].(string)

	code, got := call(t, srv, "GET", "/v1/conversations/"+id, "k1", "")
	if code != 200 || got["id"] != id || got["user"].(map[string]any)["name"] != "Ann" {
		t.Fatalf("get: %d %v", code, got)
	}
	code, posted := call(t, srv, "POST", "/v1/conversations/"+id+"/messages", "k1", `{"text":"where is my order?"}`)
	if code != 202 || posted["id"] == "" {
		t.Fatalf("post message: %d %v", code, posted)
	}
	code, list := call(t, srv, "GET", "/v1/conversations/"+id+"/messages", "k1", "")
	msgs := list["messages"].([]any)
	if code != 200 || len(msgs) != 1 {
		t.Fatalf("messages: %d %v", code, list)
	}
	first := msgs[0].(map[string]any)
	if first["id"] != posted["id"] || first["role"] != "visitor" || first["text"] != "where is my order?" || first["created_at"] == "" {
		t.Fatalf("message %v", first)
	}

	// A long poll wakes when the next message is written.
	go func() {
		time.Sleep(100 * time.Millisecond)
		st.AppendMessage(context.Background(), store.Message{ConversationID: id, Role: store.RoleBot, Text: "on its way"})
	}()
	start := time.Now()
	code, list = call(t, srv, "GET", "/v1/conversations/"+id+"/messages?after="+first["id"].(string)+"&wait=10s", "k1", "")
	if code != 200 || len(list["messages"].([]any)) != 1 || time.Since(start) > 5*time.Second {
		t.Fatalf("long poll: %d %v after %v", code, list, time.Since(start))
	}
	if m := list["messages"].([]any)[0].(map[string]any); m["role"] != "bot" || m["text"] != "on its way" {
		t.Fatalf("long poll got %v", m)
	}

	code, byState := call(t, srv, "GET", "/v1/conversations?state=bot", "k1", "")
	if code != 200 || len(byState["conversations"].([]any)) != 1 {
		t.Fatalf("by state: %d %v", code, byState)
	}
}

func TestAPIBadInput(t *testing.T) {
	srv, st := newTestServer(t, stubChannels{})
	_, conv := call(t, srv, "POST", "/v1/conversations", "k1", `{"user":{"id":"u1"}}`)
	id := conv["id"].(string)
	other, _ := st.CommitEvents(context.Background(), "tg", []sdk.Event{{ID: "1", Kind: sdk.KindMessage, Conversation: "42", Text: "hi"}})
	tgConv := other.Accepted[0].ConversationID

	tests := []struct {
		name, method, path, body string
		want                     int
		code                     string
	}{
		{"malformed JSON", "POST", "/v1/conversations", `{"user":`, 400, "bad_request"},
		{"unknown field", "POST", "/v1/conversations", `{"user":{"id":"u"},"x":1}`, 400, "bad_request"},
		{"missing user id", "POST", "/v1/conversations", `{"user":{"name":"Ann"}}`, 400, "bad_request"},
		{"trailing data", "POST", "/v1/conversations", `{"user":{"id":"u"}} {}`, 400, "bad_request"},
		{"too large", "POST", "/v1/conversations", `{"user":{"id":"` + strings.Repeat("x", 2000) + `"}}`, 413, "too_large"},
		{"empty text", "POST", "/v1/conversations/" + id + "/messages", `{"text":"  "}`, 400, "bad_request"},
		{"unknown conversation", "GET", "/v1/conversations/c_nope", "", 404, "not_found"},
		{"post to unknown", "POST", "/v1/conversations/c_nope/messages", `{"text":"x"}`, 404, "not_found"},
		{"not an api conversation", "POST", "/v1/conversations/" + tgConv + "/messages", `{"text":"x"}`, 409, "wrong_channel"},
		{"bad after", "GET", "/v1/conversations/" + id + "/messages?after=abc", "", 400, "bad_request"},
		{"bad wait", "GET", "/v1/conversations/" + id + "/messages?wait=forever", "", 400, "bad_request"},
		{"bad limit", "GET", "/v1/conversations?limit=0", "", 400, "bad_request"},
		{"bad state", "GET", "/v1/conversations?state=sleeping", "", 400, "bad_request"},
		{"unknown endpoint", "GET", "/v1/nothing", "", 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := call(t, srv, tt.method, tt.path, "k1", tt.body)
			if code != tt.want || errorCode(body) != tt.code {
				t.Errorf("got %d %v, want %d %s", code, body, tt.want, tt.code)
			}
		})
	}
	if msgs, _ := st.Messages(id, 0, 0); len(msgs) != 0 {
		t.Errorf("bad input stored messages: %+v", msgs)
	}
}
