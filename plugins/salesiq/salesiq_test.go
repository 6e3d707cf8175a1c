package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/plugins/salesiq/siqtest"
	"github.com/switchboard-chat/switchboard/sdk"
	"github.com/switchboard-chat/switchboard/sdk/plugintest"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// configured returns a channel configured with the fake's options plus extra.
func configured(t *testing.T, f *siqtest.Fake, extra map[string]any) *Channel {
	t.Helper()
	values := f.Options()
	for k, v := range extra {
		values[k] = v
	}
	opts, err := sdk.NewOptions(values)
	if err != nil {
		t.Fatal(err)
	}
	c := &Channel{Log: quiet()}
	if _, err := c.Configure(context.Background(), sdk.ConfigureRequest{Instance: "siq", Options: opts}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return c
}

func signed(f *siqtest.Fake, body []byte) sdk.WebhookRequest {
	h := http.Header{}
	h.Set("x-siqsignature", f.Signature(body))
	return sdk.WebhookRequest{Method: "POST", Path: "/webhooks/siq", Header: h, Body: body}
}

func without(m map[string]any, key string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}

func with(m map[string]any, key string, v any) map[string]any {
	out := without(m, key)
	out[key] = v
	return out
}

func TestConformance(t *testing.T) {
	f := siqtest.New(t)
	good := f.Options()
	unsigned := siqtest.ZobotMessage("req-1", "11209000000003001", "v1", "hi")
	tampered := signed(f, unsigned)
	tampered.Body = []byte(strings.Replace(string(unsigned), "hi", "HI", 1))
	plugintest.RunChannelSuite(t, plugintest.ChannelSuite{
		New:     func() sdk.Channel { return &Channel{Log: quiet()} },
		Options: good,
		BadOptions: map[string]map[string]any{
			"no screen name":         without(good, "screen_name"),
			"no refresh token":       without(good, "refresh_token"),
			"no department":          without(good, "department_id"),
			"no keys":                without(good, "public_keys"),
			"bad key":                with(good, "public_keys", []string{"bm90IGEga2V5"}),
			"too many keys":          with(good, "public_keys", []string{"a", "b", "c", "d", "e"}),
			"api base not a URL":     with(good, "api_base", "salesiq.zoho.com"),
			"api base with path":     with(good, "api_base", "https://salesiq.zoho.com/api/v2"),
			"accounts not derivable": with(without(good, "accounts_base"), "api_base", "https://siq.example.com"),
		},
		Webhook: func() sdk.WebhookRequest {
			return signed(f, siqtest.ZobotMessage("req-1", "11209000000003001", "v1", "hi"))
		},
		BadWebhooks: map[string]sdk.WebhookRequest{
			"unsigned":      {Method: "POST", Header: http.Header{}, Body: unsigned},
			"tampered":      tampered,
			"malformed":     signed(f, []byte(`{"handler":`)),
			"no handler":    signed(f, []byte(`{"request":{"id":"1"}}`)),
			"no request id": signed(f, []byte(`{"handler":"message","message":{"text":"x"},"visitor":{"id":"v"}}`)),
		},
		Outbound: sdk.Outbound{ID: "o1", Kind: sdk.OutText, Conversation: "11209000000003001", Text: "Hello!",
			Context: map[string]string{ctxRequestID: "req-9"}},
		Delivered: func() bool {
			for _, c := range f.Callbacks() {
				if c.RequestID == "req-9" && c.Action() == "reply" {
					return true
				}
			}
			return false
		},
		Handoff: &sdk.Handoff{
			ID: "h1", ConversationID: "c_1", Channel: "tg", User: sdk.User{ID: "42", Name: "Ann"},
			Transcript: []sdk.TranscriptEntry{{Role: "visitor", Text: "human please"}},
			Summary:    "Ann needs a human", Reason: "keyword",
		},
		DeskReceived: func() bool {
			convs := f.Conversations()
			return len(convs) == 1 && len(convs[0].Messages) == 1 && convs[0].Closed
		},
	})
	convs := f.Conversations()
	visitor, _ := convs[0].Body["visitor"].(map[string]any)
	if q := convs[0].Question(); !strings.Contains(q, "Ann needs a human") || !strings.Contains(q, "[visitor] human please") {
		t.Errorf("question %q lacks the summary and transcript", q)
	}
	if visitor["user_id"] != "tg:42" || visitor["name"] != "Ann" || convs[0].Body["app_id"] != siqtest.AppID || convs[0].Body["department_id"] != siqtest.DepartmentID {
		t.Errorf("visitor conversation %v", convs[0].Body)
	}
}

func TestSignatures(t *testing.T) {
	f := siqtest.New(t)
	other := siqtest.NewKey(t)
	body := siqtest.ZobotMessage("req-1", "11209000000003001", "v1", "hi")
	tests := []struct {
		name   string
		keys   []string
		header string // "" signs with the fake's key; "-" none
		body   []byte
		status int
	}{
		{"good key, DER", []string{siqtest.PublicKeyDER(f.Key)}, "", body, 200},
		{"good key, PEM", []string{siqtest.PublicKeyPEM(f.Key)}, "", body, 200},
		{"second of two keys", []string{siqtest.PublicKeyDER(other), siqtest.PublicKeyPEM(f.Key)}, "", body, 200},
		{"first of two keys", []string{siqtest.PublicKeyDER(f.Key), siqtest.PublicKeyDER(other)}, "", body, 200},
		{"signed by an unknown key", []string{siqtest.PublicKeyDER(f.Key)}, siqtest.Sign(other, body), body, 401},
		{"tampered body", []string{siqtest.PublicKeyDER(f.Key)}, f.Signature(body), []byte(strings.Replace(string(body), `"hi"`, `"hj"`, 1)), 401},
		{"missing header", []string{siqtest.PublicKeyDER(f.Key)}, "-", body, 401},
		{"not base64", []string{siqtest.PublicKeyDER(f.Key)}, "%%%", body, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := configured(t, f, map[string]any{"public_keys": tt.keys})
			h := http.Header{}
			switch tt.header {
			case "":
				h.Set("x-siqsignature", f.Signature(tt.body))
			case "-":
			default:
				h.Set("x-siqsignature", tt.header)
			}
			resp, err := c.HandleWebhook(context.Background(), sdk.WebhookRequest{Method: "POST", Header: h, Body: tt.body})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != tt.status {
				t.Fatalf("status %d, want %d (%s)", resp.Status, tt.status, resp.Body)
			}
			if tt.status != 200 && len(resp.Events) != 0 {
				t.Fatalf("%d events from a rejected request", len(resp.Events))
			}
		})
	}
}

func TestInsecureWithoutKeys(t *testing.T) {
	f := siqtest.New(t)
	c := configured(t, f, map[string]any{"public_keys": []string{}, "insecure_skip_signature": "true"})
	resp, _ := c.HandleWebhook(context.Background(), sdk.WebhookRequest{Method: "POST", Body: siqtest.ZobotMessage("r", "1", "v", "hi")})
	if resp.Status != 200 || len(resp.Events) != 1 {
		t.Fatalf("unsigned webhook with insecure_skip_signature: %d, %d events", resp.Status, len(resp.Events))
	}
}

func TestZobotMessageAnswersPendingAtOnce(t *testing.T) {
	f := siqtest.New(t)
	c := configured(t, f, map[string]any{"pending_reply": "One moment…"})
	start := time.Now()
	resp, err := c.HandleWebhook(context.Background(), signed(f, siqtest.ZobotMessage("4fhgtd-hbnjwj", "11209000000003001", "v1", "where is my order?")))
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > time.Second || f.APICalls() != 0 || f.Refreshes() != 0 {
		t.Errorf("the webhook did slow work: %v, %d API calls, %d refreshes", time.Since(start), f.APICalls(), f.Refreshes())
	}
	var answer zobotAnswer
	if err := json.Unmarshal(resp.Body, &answer); err != nil || resp.Status != 200 || answer.Action != "pending" || len(answer.Replies) != 1 || answer.Replies[0] != "One moment…" {
		t.Fatalf("answer %d %s", resp.Status, resp.Body)
	}
	if len(resp.Events) != 1 {
		t.Fatalf("%d events", len(resp.Events))
	}
	ev := resp.Events[0]
	if ev.Kind != sdk.KindMessage || ev.Conversation != "11209000000003001" || ev.Text != "where is my order?" ||
		ev.Context[ctxRequestID] != "4fhgtd-hbnjwj" || ev.User.ID != "v1" || ev.User.Name != "Ann" || ev.ID != "zobot:4fhgtd-hbnjwj" {
		t.Errorf("event %+v", ev)
	}
}

func TestZobotHandlers(t *testing.T) {
	f := siqtest.New(t)
	c := configured(t, f, nil)
	tests := []struct {
		name   string
		body   []byte
		action string
		kind   sdk.EventKind
	}{
		{"trigger: no conversation yet", siqtest.ZobotTrigger("t1", "v1"), "reply", ""},
		{"failure 1001 offline hours: missed", siqtest.ZobotFailure("f1", "11209000000003001", "v1", 1001), "pending", sdk.KindMissed},
		{"failure 1002 no operators: missed", siqtest.ZobotFailure("f2", "11209000000003001", "v1", 1002), "pending", sdk.KindMissed},
		{"failure 1005 too long: nothing", siqtest.ZobotFailure("f3", "11209000000003001", "v1", 1005), "reply", ""},
		{"failure 1007 execution failure: nothing", siqtest.ZobotFailure("f4", "11209000000003001", "v1", 1007), "reply", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := c.HandleWebhook(context.Background(), signed(f, tt.body))
			if err != nil || resp.Status != 200 {
				t.Fatalf("status %d err %v", resp.Status, err)
			}
			var answer zobotAnswer
			json.Unmarshal(resp.Body, &answer)
			if answer.Action != tt.action {
				t.Errorf("action %q, want %q", answer.Action, tt.action)
			}
			if answer.Action == "forward" {
				t.Fatal("a failure handler was answered with forward: SalesIQ would loop")
			}
			if tt.kind == "" {
				if len(resp.Events) != 0 {
					t.Errorf("events %+v", resp.Events)
				}
				return
			}
			if len(resp.Events) != 1 || resp.Events[0].Kind != tt.kind || resp.Events[0].Conversation != "11209000000003001" ||
				resp.Events[0].Context[ctxRequestID] == "" {
				t.Fatalf("events %+v", resp.Events)
			}
		})
	}
}

func TestSendReplyAndHandoff(t *testing.T) {
	f := siqtest.New(t)
	c := configured(t, f, map[string]any{"operators": []string{"scott@zylker.com"}})
	ctx := context.Background()
	if _, err := c.Send(ctx, sdk.Outbound{ID: "o1", Kind: sdk.OutText, Text: "It ships today.", Context: map[string]string{ctxRequestID: "r1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, sdk.Outbound{ID: "o2", Kind: sdk.OutHandoff, Text: "Connecting you…", Reason: "refund", Context: map[string]string{ctxRequestID: "r2"}}); err != nil {
		t.Fatal(err)
	}
	cbs := f.Callbacks()
	if len(cbs) != 2 {
		t.Fatalf("callbacks %+v", cbs)
	}
	if cbs[0].RequestID != "r1" || cbs[0].Kind != "response" || cbs[0].Action() != "reply" || cbs[0].Replies()[0] != "It ships today." {
		t.Errorf("reply callback %+v", cbs[0])
	}
	if cbs[1].RequestID != "r2" || cbs[1].Action() != "forward" || cbs[1].Body["department"] != siqtest.DepartmentID ||
		cbs[1].Replies()[0] != "Connecting you…" || cbs[1].Body["operators"].([]any)[0] != "scott@zylker.com" {
		t.Errorf("forward callback %+v", cbs[1])
	}

	// A retry of the same delivery answers again; another delivery for an
	// answered request does not.
	if _, err := c.Send(ctx, sdk.Outbound{ID: "o1", Kind: sdk.OutText, Text: "It ships today.", Context: map[string]string{ctxRequestID: "r1"}}); err != nil {
		t.Errorf("retry: %v", err)
	}
	_, err := c.Send(ctx, sdk.Outbound{ID: "o3", Kind: sdk.OutText, Text: "again", Context: map[string]string{ctxRequestID: "r1"}})
	if sdk.KindOf(err) != sdk.Permanent {
		t.Errorf("second answer to one request: %v", err)
	}
	// A handoff with no request left transfers the chat.
	_, err = c.Send(ctx, sdk.Outbound{ID: "o4", Kind: sdk.OutHandoff, Reason: "VIP", Context: map[string]string{ctxRequestID: "r1", ctxConversationID: "11209000000003001"}})
	if err != nil {
		t.Fatal(err)
	}
	tr := f.Transfers()
	if len(tr) != 1 || tr[0]["department_id"] != siqtest.DepartmentID || tr[0]["note"] != "VIP" || tr[0]["conversation_id"] != "11209000000003001" {
		t.Errorf("transfers %+v", tr)
	}
	if _, err := c.Send(ctx, sdk.Outbound{ID: "o5", Kind: sdk.OutTyping, Context: map[string]string{ctxRequestID: "r5"}}); err != nil || len(f.Callbacks()) != 3 {
		t.Errorf("typing: %v, callbacks %d", err, len(f.Callbacks()))
	}
}

func TestFailureMissedThenReply(t *testing.T) {
	f := siqtest.New(t)
	c := configured(t, f, nil)
	resp, _ := c.HandleWebhook(context.Background(), signed(f, siqtest.ZobotFailure("fail-7", "11209000000003001", "v1", 1002)))
	ev := resp.Events[0]
	if _, err := c.Send(context.Background(), sdk.Outbound{ID: "m1", Kind: sdk.OutText, Text: "Nobody is free.", Context: ev.Context}); err != nil {
		t.Fatal(err)
	}
	cbs := f.Callbacks()
	if len(cbs) != 1 || cbs[0].RequestID != "fail-7" || cbs[0].Action() != "reply" {
		t.Fatalf("callbacks %+v", cbs)
	}
}

func TestDataWebhooks(t *testing.T) {
	f := siqtest.New(t)
	c := configured(t, f, nil)
	const conv = "11209000000003001"
	tests := []struct {
		name string
		body []byte
		kind sdk.EventKind // "" means no event
		text string
		user string
	}{
		{"attender updated: operator joined", siqtest.AttenderUpdated(conv, "Bob"), sdk.KindOperatorJoined, "", "Bob"},
		{"operator replied", siqtest.OperatorReplied(conv, "1769112930346", "operator", "Bob", "Hi, Bob here"), sdk.KindOperatorMessage, "Hi, Bob here", "Bob"},
		{"operator replied without a sender type (documented sample)", siqtest.OperatorReplied(conv, "17", "", "Bob", "hello"), sdk.KindOperatorMessage, "hello", "Bob"},
		{"echo: the visitor side relayed by the plugin", siqtest.OperatorReplied(conv, "18", "visitor", "Ann", "thanks"), "", "", ""},
		{"echo: the bot's own reply", siqtest.OperatorReplied(conv, "19", "bot", "Zobot", "It ships today"), "", "", ""},
		{"operator sent no text", siqtest.OperatorReplied(conv, "20", "operator", "Bob", ""), "", "", ""},
		{"completed: closed", siqtest.Completed(conv), sdk.KindClosed, "agent", "Bob"},
		{"missed", siqtest.Missed(conv), sdk.KindMissed, "", ""},
		{"visitor replied: ignored", siqtest.DataEvent("conversation.visitor.replied", conv, time.Now(), nil), "", "", ""},
		{"rated: ignored", siqtest.DataEvent("conversation.rated", conv, time.Now(), nil), "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := c.HandleWebhook(context.Background(), signed(f, tt.body))
			if err != nil || resp.Status != 200 {
				t.Fatalf("status %d err %v", resp.Status, err)
			}
			if tt.kind == "" {
				if len(resp.Events) != 0 {
					t.Fatalf("events %+v", resp.Events)
				}
				return
			}
			if len(resp.Events) != 1 {
				t.Fatalf("%d events", len(resp.Events))
			}
			ev := resp.Events[0]
			if ev.Kind != tt.kind || ev.Conversation != conv || ev.Text != tt.text || ev.User.Name != tt.user || ev.ID == "" || ev.Time.IsZero() {
				t.Errorf("event %+v", ev)
			}
			again, _ := c.HandleWebhook(context.Background(), signed(f, tt.body))
			if again.Events[0].ID != ev.ID {
				t.Errorf("redelivery changed the id: %q vs %q", again.Events[0].ID, ev.ID)
			}
		})
	}
}

func TestConcurrentSendsRefreshOnce(t *testing.T) {
	for _, mode := range []struct {
		name   string
		expire func(f *siqtest.Fake, c *Channel)
	}{
		{"token expired at Zoho", func(f *siqtest.Fake, _ *Channel) { f.ExpireTokens() }},
		{"token past its lifetime", func(_ *siqtest.Fake, c *Channel) {
			// The plugin's clock moves past the cached token's lifetime (an
			// hour at the fake); the refreshed token is good for the next.
			tokens := c.state().api.tokens
			tokens.mu.Lock()
			tokens.now = func() time.Time { return time.Now().Add(time.Hour) }
			tokens.mu.Unlock()
		}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			f := siqtest.New(t)
			c := configured(t, f, nil)
			ctx := context.Background()
			if _, err := c.Send(ctx, sdk.Outbound{ID: "warm", Text: "x", Context: map[string]string{ctxRequestID: "warm"}}); err != nil {
				t.Fatal(err)
			}
			before := f.Refreshes()
			mode.expire(f, c)
			var wg sync.WaitGroup
			errs := make(chan error, 50)
			for i := range 50 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					id := "c" + strings.Repeat("x", i)
					_, err := c.Send(ctx, sdk.Outbound{ID: id, Text: "hi", Context: map[string]string{ctxRequestID: id}})
					errs <- err
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if got := f.Refreshes() - before; got != 1 {
				t.Fatalf("%d refreshes for 50 concurrent sends, want 1", got)
			}
			if len(f.Callbacks()) != 51 {
				t.Fatalf("%d callbacks", len(f.Callbacks()))
			}
		})
	}
}

func TestAuthErrorRefreshesAndRetries(t *testing.T) {
	for _, status := range []int{http.StatusOK, http.StatusUnauthorized} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			f := siqtest.New(t)
			f.SetAuthErrorStatus(status)
			c := configured(t, f, nil)
			ctx := context.Background()
			if _, err := c.Send(ctx, sdk.Outbound{ID: "a", Text: "x", Context: map[string]string{ctxRequestID: "a"}}); err != nil {
				t.Fatal(err)
			}
			f.FailNextAuth(1)
			if _, err := c.Send(ctx, sdk.Outbound{ID: "b", Text: "y", Context: map[string]string{ctxRequestID: "b"}}); err != nil {
				t.Fatalf("send after an auth error: %v", err)
			}
			if f.Refreshes() != 2 || len(f.Callbacks()) != 2 {
				t.Fatalf("%d refreshes (want 1 + 1), %d callbacks", f.Refreshes(), len(f.Callbacks()))
			}
			// Rejected twice: a fresh token does not help; permanent.
			f.FailNextAuth(2)
			_, err := c.Send(ctx, sdk.Outbound{ID: "c", Text: "z", Context: map[string]string{ctxRequestID: "c"}})
			if sdk.KindOf(err) != sdk.Permanent || !errors.Is(err, errAuth) {
				t.Fatalf("twice rejected: %v (%s)", err, sdk.KindOf(err))
			}
			if f.Refreshes() != 3 {
				t.Errorf("%d refreshes, want 3", f.Refreshes())
			}
		})
	}
}

func TestTokenLifetimes(t *testing.T) {
	tests := []struct {
		name string
		resp tokenResponse
		want time.Duration
	}{
		{"documented seconds", tokenResponse{ExpiresIn: "3600"}, time.Hour},
		{"expires_in_sec wins", tokenResponse{ExpiresIn: "3600000", ExpiresInSec: "3600"}, time.Hour},
		{"milliseconds alone", tokenResponse{ExpiresIn: "3600000"}, time.Hour},
		{"missing", tokenResponse{}, time.Hour},
		{"short", tokenResponse{ExpiresIn: "60"}, time.Minute},
	}
	for _, tt := range tests {
		if got := tt.resp.lifetime(); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	f := siqtest.New(t)
	f.SetLegacyExpiry(true)
	c := configured(t, f, nil)
	if err := c.Health(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := c.state()
	if left := time.Until(st.api.tokens.expiry); left < 50*time.Minute || left > time.Hour {
		t.Errorf("token cached for %v", left)
	}
}

func TestBadCredentialsArePermanent(t *testing.T) {
	f := siqtest.New(t)
	c := configured(t, f, map[string]any{"client_secret": "wrong"})
	_, err := c.Send(context.Background(), sdk.Outbound{ID: "a", Text: "x", Context: map[string]string{ctxRequestID: "a"}})
	if sdk.KindOf(err) != sdk.Permanent || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("%v (%s)", err, sdk.KindOf(err))
	}
}

func TestDeskErrors(t *testing.T) {
	f := siqtest.New(t)
	c := configured(t, f, nil)
	ctx := context.Background()
	ref, err := c.OpenHandoff(ctx, sdk.Handoff{ID: "h1", Channel: "tg", User: sdk.User{ID: "42"}, Summary: "help"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RelayToDesk(ctx, "999", sdk.DeskMessage{ID: "m", Text: "x"}); sdk.KindOf(err) != sdk.Permanent {
		t.Errorf("relay to an unknown conversation: %v", err)
	}
	if err := c.CloseHandoff(ctx, ref, sdk.DeskClose{ID: "o9", Reason: "back to bot"}); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseHandoff(ctx, ref, sdk.DeskClose{ID: "o9", Reason: "back to bot"}); err != nil {
		t.Errorf("closing a closed conversation: %v", err)
	}
}

// SalesIQ takes no idempotency key: the plugin claims only the close,
// whose repeat is harmless on the platform itself, and nothing that would
// rest on a memory of its own (which a restart wipes).
func TestDeskIdempotencyIsWhatSalesIQGuarantees(t *testing.T) {
	f := siqtest.New(t)
	opts, err := sdk.NewOptions(f.Options())
	if err != nil {
		t.Fatal(err)
	}
	ch, desk := plugintest.ChannelDesk(t, &Channel{Log: quiet()})
	caps, err := ch.Configure(context.Background(), sdk.ConfigureRequest{Instance: "siq", Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	if want := (sdk.Idempotency{CloseHandoff: true}); caps.Idempotent != want {
		t.Errorf("declared %+v, want %+v", caps.Idempotent, want)
	}
	// A repeated open is not dropped: it opens a second conversation.
	h := sdk.Handoff{ID: "o5", Channel: "tg", User: sdk.User{ID: "42"}, Summary: "help"}
	first, err := desk.OpenHandoff(context.Background(), h)
	if err != nil {
		t.Fatal(err)
	}
	again, err := desk.OpenHandoff(context.Background(), h)
	if err != nil || again == first || len(f.Conversations()) != 2 {
		t.Errorf("a repeated open gave %q after %q (%v), %d conversations; a memory in the plugin would not survive a restart",
			again, first, err, len(f.Conversations()))
	}
}

func TestOptionsFromEnvironmentStrings(t *testing.T) {
	f := siqtest.New(t)
	values := f.Options()
	values["public_keys"] = siqtest.PublicKeyDER(f.Key) + "," + siqtest.PublicKeyDER(siqtest.NewKey(t))
	values["department_id"] = 11209000000002024
	values["insecure_skip_signature"] = "false"
	values["timeout"] = "3s"
	opts, err := parseOptions(must(sdk.NewOptions(values)))
	if err != nil {
		t.Fatal(err)
	}
	if len(opts.PublicKeys) != 2 || opts.DepartmentID != "11209000000002024" || opts.InsecureSkipSignature {
		t.Errorf("options %+v", opts)
	}
	values = without(f.Options(), "accounts_base")
	values["api_base"] = "https://salesiq.zoho.eu/"
	opts, err = parseOptions(must(sdk.NewOptions(values)))
	if err != nil || opts.AccountsBase != "https://accounts.zoho.eu" || opts.APIBase != "https://salesiq.zoho.eu" {
		t.Errorf("derived accounts %q api %q: %v", opts.AccountsBase, opts.APIBase, err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func FuzzWebhook(f *testing.F) {
	fake := siqtest.New(f)
	c := &Channel{Log: quiet()}
	opts := fake.Options()
	opts["public_keys"] = []string{}
	opts["insecure_skip_signature"] = true
	if _, err := c.Configure(context.Background(), sdk.ConfigureRequest{Options: must(sdk.NewOptions(opts))}); err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]byte{
		siqtest.ZobotMessage("r", "1", "v", "hi"), siqtest.ZobotFailure("r", "1", "v", 1002), siqtest.ZobotTrigger("r", "v"),
		siqtest.OperatorReplied("1", "2", "operator", "Bob", "hi"), siqtest.AttenderUpdated("1", "Bob"), siqtest.Completed("1"),
		[]byte(`{"handler":"message","message":"plain","visitor":{"id":5},"request":{"id":7}}`),
		[]byte(`{"handler":"execution","event":"conversation.missed","entity_id":12}`),
		[]byte(`{"handler":"message","attachments":[{"url":"u"},1,null]}`), []byte(`[]`), []byte(`null`),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := c.HandleWebhook(context.Background(), sdk.WebhookRequest{Method: "POST", Body: body})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status >= 400 && len(resp.Events) != 0 {
			t.Fatalf("status %d with %d events", resp.Status, len(resp.Events))
		}
		for _, e := range resp.Events {
			if e.ID == "" || e.Kind == "" || e.Conversation == "" {
				t.Fatalf("incomplete event %+v", e)
			}
		}
	})
}

// A call whose answer was lost may have been done: it is an unknown
// outcome, not a temporary error the daemon would repeat.
func TestLostAnswerIsAnUnknownOutcome(t *testing.T) {
	f := siqtest.New(t)
	var hangUp atomic.Bool
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hangUp.Load() && strings.Contains(r.URL.Path, "/conversations") {
			io.Copy(io.Discard, r.Body) // taken, then no answer
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		proxy := httputil.NewSingleHostReverseProxy(mustURL(t, f.URL))
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	c := configured(t, f, map[string]any{"api_base": front.URL})
	ctx := context.Background()
	hangUp.Store(true)
	_, err := c.OpenHandoff(ctx, sdk.Handoff{ID: "o5", Channel: "tg", User: sdk.User{ID: "42"}, Summary: "help"})
	if sdk.KindOf(err) != sdk.OutcomeUnknown {
		t.Errorf("open with a lost answer: %v (%s), want %s", err, sdk.KindOf(err), sdk.OutcomeUnknown)
	}
	front.Close()
	err = c.RelayToDesk(ctx, "1", sdk.DeskMessage{ID: "o6", Text: "x"})
	if sdk.KindOf(err) != sdk.Temporary {
		t.Errorf("relay to a closed port: %v (%s), want %s", err, sdk.KindOf(err), sdk.Temporary)
	}
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// A routed handoff goes to its department's SalesIQ id, on the desk and
// in a transfer; an unrouted one to the configured department_id.
func TestRoutedDepartment(t *testing.T) {
	f := siqtest.New(t)
	c := configured(t, f, nil)
	ctx := context.Background()
	if _, err := c.OpenHandoff(ctx, sdk.Handoff{ID: "h1", Channel: "tg", User: sdk.User{ID: "42"}, Summary: "help", Department: "777"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.OpenHandoff(ctx, sdk.Handoff{ID: "h2", Channel: "tg", User: sdk.User{ID: "43"}, Summary: "help"}); err != nil {
		t.Fatal(err)
	}
	convs := f.Conversations()
	if len(convs) != 2 || convs[0].Body["department_id"] != "777" || convs[1].Body["department_id"] != siqtest.DepartmentID {
		t.Errorf("departments of the visitor conversations: %v, %v", convs[0].Body["department_id"], convs[1].Body["department_id"])
	}
	_, err := c.Send(ctx, sdk.Outbound{ID: "o4", Kind: sdk.OutHandoff, Reason: "VIP", Department: "888",
		Context: map[string]string{ctxConversationID: "11209000000003001"}})
	if err != nil {
		t.Fatal(err)
	}
	if tr := f.Transfers(); len(tr) != 1 || tr[0]["department_id"] != "888" {
		t.Errorf("transfers %+v", tr)
	}
}
