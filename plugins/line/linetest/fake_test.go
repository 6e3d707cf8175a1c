package linetest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"
)

// post sends a JSON body and returns the status, headers and decoded body.
func post(t *testing.T, url, token, key, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		req.Header.Set("X-Line-Retry-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, resp.Header, out
}

func TestFakeFollowsTheReference(t *testing.T) {
	now := time.Now()
	f := New("tok")
	f.Now = func() time.Time { return now }
	base := f.Start(t)
	reply, push, loading := base+"/v2/bot/message/reply", base+"/v2/bot/message/push", base+"/v2/bot/chat/loading/start"
	tok1, tok2 := f.NewReplyToken("U1"), f.NewReplyToken("U1")
	msg := `[{"type":"text","text":"hi"}]`
	key := "123e4567-e89b-12d3-a456-426614174000"

	tests := []struct {
		name, url, token, key, body string
		advance                     time.Duration
		want                        int
		wantMsg                     string
	}{
		{name: "no token", url: push, body: `{"to":"U1","messages":` + msg + `}`, want: 401},
		{name: "reply", url: reply, token: "tok", body: `{"replyToken":"` + tok1 + `","messages":` + msg + `}`, want: 200},
		{name: "reply token used twice", url: reply, token: "tok", body: `{"replyToken":"` + tok1 + `","messages":` + msg + `}`, want: 400, wantMsg: "Invalid reply token"},
		{name: "reply with retry key", url: reply, token: "tok", key: key, body: `{"replyToken":"` + tok2 + `","messages":` + msg + `}`, want: 400},
		{name: "expired reply token", url: reply, token: "tok", advance: 61 * time.Second, body: `{"replyToken":"` + tok2 + `","messages":` + msg + `}`, want: 400, wantMsg: "Invalid reply token"},
		{name: "six messages", url: push, token: "tok", body: `{"to":"U1","messages":[` + repeatMsg(6) + `]}`, want: 400},
		{name: "push with key", url: push, token: "tok", key: key, body: `{"to":"U1","messages":` + msg + `}`, want: 200},
		{name: "push again with key", url: push, token: "tok", key: key, body: `{"to":"U1","messages":` + msg + `}`, want: 409, wantMsg: "The retry key is already accepted"},
		{name: "retry key not a UUID", url: push, token: "tok", key: "abc", body: `{"to":"U1","messages":` + msg + `}`, want: 400},
		{name: "loading in a group", url: loading, token: "tok", body: `{"chatId":"C1","loadingSeconds":5}`, want: 400},
		{name: "loading 7 seconds", url: loading, token: "tok", body: `{"chatId":"U1","loadingSeconds":7}`, want: 400},
		{name: "loading", url: loading, token: "tok", body: `{"chatId":"U1","loadingSeconds":10}`, want: 202},
		{name: "quick reply with a postback", url: push, token: "tok", body: `{"to":"U1","messages":[{"type":"text","text":"rate us","quickReply":{"items":[` +
			`{"type":"action","action":{"type":"postback","label":"★","data":"rating:1","displayText":"★"}},` +
			`{"type":"action","action":{"type":"message","label":"Five","text":"5"}}]}}]}`, want: 200},
		{name: "quick reply label over 20", url: push, token: "tok", body: `{"to":"U1","messages":[{"type":"text","text":"x","quickReply":{"items":[` +
			`{"type":"action","action":{"type":"message","label":"123456789012345678901","text":"x"}}]}}]}`, want: 400},
		{name: "quick reply postback without data", url: push, token: "tok", body: `{"to":"U1","messages":[{"type":"text","text":"x","quickReply":{"items":[` +
			`{"type":"action","action":{"type":"postback","label":"a"}}]}}]}`, want: 400},
		{name: "quick reply without items", url: push, token: "tok", body: `{"to":"U1","messages":[{"type":"text","text":"x","quickReply":{"items":[]}}]}`, want: 400},
	}
	for _, tt := range tests {
		now = now.Add(tt.advance)
		code, h, body := post(t, tt.url, tt.token, tt.key, tt.body)
		if code != tt.want || (tt.wantMsg != "" && body["message"] != tt.wantMsg) {
			t.Errorf("%s: %d %v, want %d %q", tt.name, code, body, tt.want, tt.wantMsg)
		}
		if h.Get("X-Line-Request-Id") == "" {
			t.Errorf("%s: no x-line-request-id", tt.name)
		}
		if tt.want == 409 && (h.Get("X-Line-Accepted-Request-Id") == "" || body["sentMessages"] == nil) {
			t.Errorf("%s: 409 without x-line-accepted-request-id or sentMessages", tt.name)
		}
	}
	if got := f.DeliveredTexts("U1"); len(got) != 3 {
		t.Errorf("delivered %q, want the reply and two pushes", got)
	}
	if d := f.Delivered(); d[len(d)-1].QuickReply == nil || d[len(d)-1].QuickReply.Items[0].Action.Data != "rating:1" {
		t.Errorf("quick reply not recorded: %+v", d[len(d)-1])
	}
}

func TestFakeScriptedFailures(t *testing.T) {
	f := New("tok")
	base := f.Start(t)
	f.FailNext(EndpointPush, 2, RateLimited)
	f.FailNext(EndpointPush, 1, Failure{Status: 429, RetryAfter: "3"})
	body := `{"to":"U1","messages":[{"type":"text","text":"hi"}]}`
	for i, want := range []int{429, 429, 429, 200} {
		code, h, _ := post(t, base+"/v2/bot/message/push", "tok", "", body)
		if code != want {
			t.Errorf("call %d: %d, want %d", i, code, want)
		}
		if i == 2 && h.Get("Retry-After") != "3" {
			t.Errorf("call %d: Retry-After %q", i, h.Get("Retry-After"))
		}
	}
	if body := string(Body(Event{ID: "e"})); !json.Valid([]byte(body)) {
		t.Errorf("Body is not JSON: %s", body)
	}
	if Sign("test_secret", []byte(`{"hello":"world"}`)) != "t7Hn4ZDHqs6e+wdvI5TyQIvzie0DmMUmuXEBqyyE/tM=" {
		t.Error("Sign does not match LINE's published vector")
	}
}

func repeatMsg(n int) string {
	s := ""
	for i := range n {
		if i > 0 {
			s += ","
		}
		s += `{"type":"text","text":"m"}`
	}
	return s
}
