package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
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

	"github.com/switchboard-chat/switchboard/core/conversation"
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
		if name == "gone" {
			return nil, true, fmt.Errorf("%w: %w", sdk.ErrPluginUnavailable, sdk.ErrPluginFailed)
		}
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
	s, err := New(Config{MaxBodyBytes: 1024, APIKeys: []string{"k1", "k2"}}, st, channels, nil,
		func() (bool, any) { return true, nil }, log)
	if err != nil {
		t.Fatal(err)
	}
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
	resp, err := checked(t).Do(req)
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
		st.AppendMessage(context.Background(), store.Message{ConversationID: id, Role: conversation.RoleBot, Text: "on its way"})
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

	// updated_at follows the transcript: a line leaves the record as it
	// was, and the conversation still reads as updated when the line came.
	rec, err := st.Conversation(id)
	if err != nil {
		t.Fatal(err)
	}
	later := rec.UpdatedAt.Add(time.Hour)
	if _, err := st.AppendMessage(context.Background(), store.Message{ConversationID: id, Role: conversation.RoleVisitor, Text: "still there?", CreatedAt: later}); err != nil {
		t.Fatal(err)
	}
	want := later.UTC().Format(time.RFC3339Nano)
	if _, got := call(t, srv, "GET", "/v1/conversations/"+id, "k1", ""); got["updated_at"] != want {
		t.Errorf("get: updated_at %v, want the last line's %s", got["updated_at"], want)
	}
	_, all := call(t, srv, "GET", "/v1/conversations", "k1", "")
	if cs := all["conversations"].([]any); len(cs) != 1 || cs[0].(map[string]any)["updated_at"] != want {
		t.Errorf("list: %v, want updated_at %s", cs, want)
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
		{"trailing bracket", "POST", "/v1/conversations", `{"user":{"id":"u"}}]`, 400, "bad_request"},
		{"too large", "POST", "/v1/conversations", `{"user":{"id":"` + strings.Repeat("x", 2000) + `"}}`, 413, "too_large"},
		{"empty text", "POST", "/v1/conversations/" + id + "/messages", `{"text":"  "}`, 400, "bad_request"},
		{"unknown conversation", "GET", "/v1/conversations/c_nope", "", 404, "not_found"},
		{"post to unknown", "POST", "/v1/conversations/c_nope/messages", `{"text":"x"}`, 404, "not_found"},
		{"not an api conversation", "POST", "/v1/conversations/" + tgConv + "/messages", `{"text":"x"}`, 409, "wrong_channel"},
		{"bad after", "GET", "/v1/conversations/" + id + "/messages?after=abc", "", 400, "bad_request"},
		{"bad wait", "GET", "/v1/conversations/" + id + "/messages?wait=forever", "", 400, "bad_request"},
		{"bad limit", "GET", "/v1/conversations?limit=0", "", 400, "bad_request"},
		{"after past the largest id", "GET", "/v1/conversations/" + id + "/messages?after=18446744073709551615", "", 400, "bad_request"},
		{"negative after", "GET", "/v1/conversations/" + id + "/messages?after=-1", "", 400, "bad_request"},
		{"after and cursor", "GET", "/v1/conversations/" + id + "/messages?after=1&cursor=YQAAAAAAAAAB", "", 400, "bad_request"},
		{"bad cursor", "GET", "/v1/conversations?cursor=!!", "", 400, "bad_request"},
		{"cursor of the other order", "GET", "/v1/conversations?order=desc&cursor=YWJj", "", 400, "bad_request"},
		{"bad order", "GET", "/v1/conversations?order=newest", "", 400, "bad_request"},
		{"wait with desc", "GET", "/v1/conversations/" + id + "/messages?wait=1s&order=desc", "", 400, "bad_request"},
		{"audit after past the largest number", "GET", "/v1/admin/audit?after=18446744073709551615", "", 400, "bad_request"},
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

func TestAccessRules(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "switchboard.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	keys := map[string]string{}
	for _, k := range []struct {
		name, rate string
		scopes     []string
		allow      []string
	}{
		{"reader", "", []string{store.ScopeRead}, nil},
		{"writer", "", []string{store.ScopeRead, store.ScopeWrite}, nil},
		{"office", "", []string{store.ScopeRead}, []string{"10.1.0.0/16"}},
		{"slow", "2/s", []string{store.ScopeRead}, nil},
		{"revoked", "", []string{store.ScopeAdmin}, nil},
	} {
		secret := store.NewKeySecret()
		keys[k.name] = secret
		rate, _ := ParseRate(k.rate)
		if err := st.CreateAPIKey(context.Background(), &store.APIKey{Name: k.name, Hash: store.HashKey(secret), Scopes: k.scopes, AllowIPs: k.allow, Rate: rate}); err != nil {
			t.Fatal(err)
		}
	}
	st.Update(context.Background(), func(tx *store.Tx) error {
		_, err := store.RevokeAPIKeyTx(tx, "revoked", time.Now())
		return err
	})
	log := logrus.New()
	log.SetOutput(io.Discard)
	s, err := New(Config{MaxBodyBytes: 1024, TrustedProxies: []string{"192.0.2.1"}}, st, stubChannels{}, nil,
		func() (bool, any) { return true, nil }, log)
	if err != nil {
		t.Fatal(err)
	}

	do := func(method, path, key, remote, xff string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(`{"user":{"id":"u"}}`))
		req.RemoteAddr = remote
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		return serveChecked(t, s, req)
	}
	tests := []struct {
		name, method, path, key, remote, xff string
		want                                 int
	}{
		{"unknown key", "GET", "/v1/conversations", "sb_nope", "127.0.0.1:1", "", 401},
		{"revoked key", "GET", "/v1/admin/audit", keys["revoked"], "127.0.0.1:1", "", 401},
		{"read scope reads", "GET", "/v1/conversations", keys["reader"], "127.0.0.1:1", "", 200},
		{"read scope cannot write", "POST", "/v1/conversations", keys["reader"], "127.0.0.1:1", "", 403},
		{"write scope writes", "POST", "/v1/conversations", keys["writer"], "127.0.0.1:1", "", 201},
		{"no admin scope", "GET", "/v1/admin/apikeys", keys["writer"], "127.0.0.1:1", "", 403},
		{"inside allowlist", "GET", "/v1/conversations", keys["office"], "10.1.2.3:5", "", 200},
		{"outside allowlist", "GET", "/v1/conversations", keys["office"], "10.2.0.1:5", "", 403},
		{"untrusted proxy header ignored", "GET", "/v1/conversations", keys["office"], "10.2.0.1:5", "10.1.2.3", 403},
		{"spoofed header from outside", "GET", "/v1/conversations", keys["office"], "203.0.113.9:5", "10.1.2.3", 403},
		{"trusted proxy header believed", "GET", "/v1/conversations", keys["office"], "192.0.2.1:5", "10.1.2.3", 200},
		{"trusted proxy, client outside", "GET", "/v1/conversations", keys["office"], "192.0.2.1:5", "10.1.2.3, 10.9.9.9", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if rec := do(tt.method, tt.path, tt.key, tt.remote, tt.xff); rec.Code != tt.want {
				t.Errorf("status %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
		})
	}

	t.Run("rate limit", func(t *testing.T) {
		codes := []int{}
		for i := 0; i < 3; i++ {
			codes = append(codes, do("GET", "/v1/conversations", keys["slow"], "127.0.0.1:1", "").Code)
		}
		rec := do("GET", "/v1/conversations", keys["slow"], "127.0.0.1:1", "")
		if codes[0] != 200 || codes[1] != 200 || rec.Code != 429 || rec.Header().Get("Retry-After") == "" {
			t.Fatalf("codes %v then %d (Retry-After %q)", codes, rec.Code, rec.Header().Get("Retry-After"))
		}
	})

	t.Run("global allowlist", func(t *testing.T) {
		g, _ := New(Config{MaxBodyBytes: 1024, AllowIPs: []string{"127.0.0.1"}, APIKeys: []string{"static"}}, st, stubChannels{}, nil,
			func() (bool, any) { return true, nil }, log)
		req := httptest.NewRequest("GET", "/v1/conversations", nil)
		req.RemoteAddr = "198.51.100.4:9"
		req.Header.Set("Authorization", "Bearer static")
		rec := serveChecked(t, g, req)
		if rec.Code != 403 {
			t.Fatalf("status %d from outside the global allowlist", rec.Code)
		}
	})
}

func TestAdminKeysAndAudit(t *testing.T) {
	srv, st := newTestServer(t, stubChannels{})
	code, created := call(t, srv, "POST", "/v1/admin/apikeys", "k1", `{"name":"crm","scopes":["conversations:read"],"allow_ips":["10.0.0.0/8"],"rate":"20/s"}`)
	if code != 201 || !strings.HasPrefix(created["key"].(string), "sb_") || created["rate_per_second"] != 20.0 {
		t.Fatalf("create: %d %v", code, created)
	}
	for _, bad := range []string{
		`{"name":"","scopes":["admin"]}`,
		`{"name":"x","scopes":["root"]}`,
		`{"name":"x","scopes":["admin"],"allow_ips":["ten"]}`,
		`{"name":"x","scopes":["admin"],"rate":"fast"}`,
	} {
		if code, _ := call(t, srv, "POST", "/v1/admin/apikeys", "k1", bad); code != 400 {
			t.Errorf("%s: status %d, want 400", bad, code)
		}
	}
	if code, _ := call(t, srv, "POST", "/v1/admin/apikeys", "k1", `{"name":"crm","scopes":["admin"]}`); code != 409 {
		t.Errorf("duplicate name: %d", code)
	}
	id := created["id"].(string)
	if code, _ := call(t, srv, "POST", "/v1/admin/apikeys/"+id+"/revoke", "k1", ""); code != 200 {
		t.Fatalf("revoke: %d", code)
	}
	code, audit := call(t, srv, "GET", "/v1/admin/audit", "k1", "")
	entries := audit["entries"].([]any)
	if code != 200 || len(entries) != 2 {
		t.Fatalf("audit: %d %v", code, audit)
	}
	first := entries[0].(map[string]any)
	if first["action"] != "apikey.create" || first["actor"] != "config key 1" || first["source_ip"] != "127.0.0.1" || first["result"] != "ok" {
		t.Errorf("entry %v", first)
	}
	if code, v := call(t, srv, "GET", "/v1/admin/audit/verify", "k1", ""); code != 200 || v["entries"] != 2.0 {
		t.Errorf("verify: %d %v", code, v)
	}
	if _, err := st.VerifyAudit(); err != nil {
		t.Fatal(err)
	}
}
