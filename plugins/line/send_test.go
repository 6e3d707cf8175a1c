package main

import (
	"context"
	"reflect"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/plugins/line/linetest"
	"github.com/switchboard-chat/switchboard/sdk"
)

// replyContext is the context an event with this token at this time leaves.
func replyContext(token string, at time.Time) map[string]string {
	return map[string]string{
		ctxSourceType: "user", ctxReplyToken: token,
		ctxReplyTokenAt: strconv.FormatInt(at.UnixMilli(), 10), ctxRedelivery: "false",
	}
}

func TestReplyOrPush(t *testing.T) {
	tests := []struct {
		name      string
		role      string
		age       time.Duration
		issued    bool // the fake issued the token (else LINE calls it invalid)
		extra     map[string]any
		wantCalls []string // endpoints in order
		wantVia   string
	}{
		{name: "fresh token: reply", role: "bot", age: 2 * time.Second, issued: true, wantCalls: []string{"reply"}, wantVia: "reply"},
		{name: "old token: push", role: "bot", age: 55 * time.Second, issued: true, wantCalls: []string{"push"}, wantVia: "push"},
		{name: "operator: push", role: "operator", age: time.Second, issued: true, wantCalls: []string{"push"}, wantVia: "push"},
		{name: "reply_window 0s: push", role: "bot", age: time.Second, issued: true, extra: map[string]any{"reply_window": "0s"}, wantCalls: []string{"push"}, wantVia: "push"},
		{name: "short reply_window: push", role: "bot", age: 2 * time.Second, issued: true, extra: map[string]any{"reply_window": "1s"}, wantCalls: []string{"push"}, wantVia: "push"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, base := startFake(t)
			c := configured(t, base, tt.extra)
			token := "0123456789abcdef0123456789abcdef"
			if tt.issued {
				token = fake.NewReplyToken(testUser)
			}
			out := sdk.Outbound{ID: "out-1", Kind: sdk.OutText, Conversation: testUser, Text: "Your order ships today.", Role: tt.role,
				Context: replyContext(token, time.Now().Add(-tt.age))}
			if _, err := c.Send(context.Background(), out); err != nil {
				t.Fatalf("Send: %v", err)
			}
			calls := fake.Calls()
			var got []string
			for _, call := range calls {
				got = append(got, call.Endpoint)
			}
			if len(got) != len(tt.wantCalls) {
				t.Fatalf("calls %v, want %v", got, tt.wantCalls)
			}
			for i := range got {
				if got[i] != tt.wantCalls[i] {
					t.Fatalf("calls %v, want %v", got, tt.wantCalls)
				}
			}
			for _, call := range calls {
				switch call.Endpoint {
				case linetest.EndpointReply:
					if call.ReplyToken != token || call.RetryKey != "" {
						t.Errorf("reply with token %q and retry key %q", call.ReplyToken, call.RetryKey)
					}
				case linetest.EndpointPush:
					if call.RetryKey != retryKey("out-1", 0) || call.To != testUser {
						t.Errorf("push to %q with retry key %q, want %q", call.To, call.RetryKey, retryKey("out-1", 0))
					}
				}
			}
			d := fake.Delivered()
			if len(d) != 1 || d[0].Via != tt.wantVia || d[0].Text != "Your order ships today." {
				t.Errorf("delivered %+v, want one message via %s", d, tt.wantVia)
			}
		})
	}
}

func TestUsedReplyTokenGoesStraightToPush(t *testing.T) {
	fake, base := startFake(t)
	c := configured(t, base, nil)
	ctx := replyContext(fake.NewReplyToken(testUser), time.Now())
	for _, id := range []string{"a", "b"} {
		if _, err := c.Send(context.Background(), sdk.Outbound{ID: id, Kind: sdk.OutText, Conversation: testUser, Text: "msg " + id, Role: "bot", Context: ctx}); err != nil {
			t.Fatal(err)
		}
	}
	calls := fake.Calls()
	if len(calls) != 2 || calls[0].Endpoint != linetest.EndpointReply || calls[1].Endpoint != linetest.EndpointPush {
		t.Fatalf("calls %+v, want a reply then a push", calls)
	}
}

func TestRetryKeyStableAcrossAttemptsAndRestarts(t *testing.T) {
	fake, base := startFake(t)
	fake.FailNext(linetest.EndpointPush, 1, linetest.ServerError)
	out := sdk.Outbound{ID: "outbox-42", Kind: sdk.OutText, Conversation: testUser, Text: "An operator will call you.", Role: "operator"}

	first := configured(t, base, nil)
	_, err := first.Send(context.Background(), out)
	if sdk.KindOf(err) != sdk.Temporary {
		t.Fatalf("first attempt: %v (%s), want a temporary error", err, sdk.KindOf(err))
	}
	// The plugin restarts: a new instance sends the same outbound.
	restarted := configured(t, base, nil)
	if _, err := restarted.Send(context.Background(), out); err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	// The daemon lost the success and tries once more: LINE answers 409.
	if _, err := restarted.Send(context.Background(), out); err != nil {
		t.Fatalf("third attempt (409): %v", err)
	}
	calls := fake.Calls(linetest.EndpointPush)
	if len(calls) != 3 {
		t.Fatalf("%d push calls, want 3", len(calls))
	}
	want := retryKey("outbox-42", 0)
	for i, c := range calls {
		if c.RetryKey != want {
			t.Errorf("attempt %d: retry key %q, want %q", i+1, c.RetryKey, want)
		}
	}
	if calls[0].Status != 500 || calls[1].Status != 200 || calls[2].Status != 409 {
		t.Errorf("statuses %d %d %d, want 500 200 409", calls[0].Status, calls[1].Status, calls[2].Status)
	}
	if got := fake.DeliveredTexts(testUser); len(got) != 1 {
		t.Errorf("delivered %q, want exactly one message", got)
	}
}

func TestAcceptedThenDroppedIsDeliveredOnce(t *testing.T) {
	fake, base := startFake(t)
	fake.FailNext(linetest.EndpointPush, 1, linetest.AcceptedThenDropped)
	c := configured(t, base, nil)
	out := sdk.Outbound{ID: "o-7", Kind: sdk.OutText, Conversation: testUser, Text: "hello", Role: "operator"}
	if _, err := c.Send(context.Background(), out); sdk.KindOf(err) != sdk.Temporary {
		t.Fatalf("dropped push: %v (%s), want temporary", err, sdk.KindOf(err))
	}
	res, err := c.Send(context.Background(), out)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	d := fake.Delivered()
	if len(d) != 1 || res.NativeID != d[0].MessageID {
		t.Errorf("delivered %+v, native id %q: want one message reported by the 409", d, res.NativeID)
	}
}

func TestErrorClassification(t *testing.T) {
	tests := []struct {
		name       string
		endpoint   string
		fail       linetest.Failure
		token      string
		reqTimeout string
		wantKind   sdk.ErrorKind
		wantAfter  time.Duration
	}{
		{name: "push 429 with Retry-After", endpoint: "push", fail: linetest.Failure{Status: 429, RetryAfter: "7"}, wantKind: sdk.Temporary, wantAfter: 7 * time.Second},
		{name: "push 429 without Retry-After", endpoint: "push", fail: linetest.RateLimited, wantKind: sdk.Temporary, wantAfter: defaultRateLimitWait},
		{name: "push 429 monthly limit", endpoint: "push", fail: linetest.MonthlyLimit, wantKind: sdk.Temporary, wantAfter: monthlyLimitWait},
		{name: "push 500", endpoint: "push", fail: linetest.ServerError, wantKind: sdk.Temporary},
		{name: "push 400", endpoint: "push", fail: linetest.BadRequest, wantKind: sdk.Permanent},
		{name: "push 403", endpoint: "push", fail: linetest.Failure{Status: 403, Message: "Access to this API is not available for your account"}, wantKind: sdk.Permanent},
		{name: "push with a bad token: 401", endpoint: "push", token: "wrong", wantKind: sdk.Permanent},
		{name: "push dropped connection", endpoint: "push", fail: linetest.Dropped, wantKind: sdk.Temporary},
		{name: "push timeout", endpoint: "push", fail: linetest.Failure{Delay: 400 * time.Millisecond}, reqTimeout: "100ms", wantKind: sdk.Temporary},
		{name: "reply 500", endpoint: "reply", fail: linetest.ServerError, wantKind: sdk.Temporary},
		{name: "reply 429", endpoint: "reply", fail: linetest.RateLimited, wantKind: sdk.Temporary, wantAfter: defaultRateLimitWait},
		// A lost reply answer is retried: the retry finds the token used
		// if LINE took the first attempt (TestRefusedFreshTokenIsNotPushed).
		{name: "reply dropped connection", endpoint: "reply", fail: linetest.Dropped, wantKind: sdk.Temporary},
		{name: "reply timeout", endpoint: "reply", fail: linetest.Failure{Delay: 400 * time.Millisecond}, reqTimeout: "100ms", wantKind: sdk.Temporary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, base := startFake(t)
			extra := map[string]any{}
			if tt.token != "" {
				extra["access_token"] = tt.token
			}
			if tt.reqTimeout != "" {
				extra["request_timeout"] = tt.reqTimeout
			}
			c := configured(t, base, extra)
			out := sdk.Outbound{ID: "e-1", Kind: sdk.OutText, Conversation: testUser, Text: "hi", Role: "operator"}
			if tt.endpoint == "reply" {
				out.Role, out.Context = "bot", replyContext(fake.NewReplyToken(testUser), time.Now())
			}
			fake.FailNext(tt.endpoint, 1, tt.fail)
			_, err := c.Send(context.Background(), out)
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if sdk.KindOf(err) != tt.wantKind || sdk.RetryAfterOf(err) != tt.wantAfter {
				t.Errorf("%v: kind %s retry after %v, want %s %v", err, sdk.KindOf(err), sdk.RetryAfterOf(err), tt.wantKind, tt.wantAfter)
			}
		})
	}
}

func TestNetworkErrorBeforeSendingIsTemporary(t *testing.T) {
	c := configured(t, "http://127.0.0.1:1", nil)
	out := sdk.Outbound{ID: "n-1", Kind: sdk.OutText, Conversation: testUser, Text: "hi", Role: "bot",
		Context: replyContext("0123456789abcdef0123456789abcdef", time.Now())}
	_, err := c.Send(context.Background(), out)
	if sdk.KindOf(err) != sdk.Temporary {
		t.Errorf("connection refused: %v (%s), want temporary", err, sdk.KindOf(err))
	}
}

func TestLongTextsAreSplit(t *testing.T) {
	sentence := "This sentence is exactly fifty characters long ok. " // 51 with the space
	tests := []struct {
		name      string
		text      string
		fresh     bool
		wantCalls []string
		wantParts []int // messages per call
	}{
		{name: "12000 characters: one reply of 3", text: repeat(sentence, 235), fresh: true, wantCalls: []string{"reply"}, wantParts: []int{3}},
		{name: "6 parts: two pushes even with a fresh token", text: repeat(repeat(sentence, 90)+"\n\n", 6), fresh: true, wantCalls: []string{"push", "push"}, wantParts: []int{5, 1}},
		{name: "11 parts: three pushes", text: repeat(repeat(sentence, 90)+"\n\n", 11), wantCalls: []string{"push", "push", "push"}, wantParts: []int{5, 5, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, base := startFake(t)
			c := configured(t, base, nil)
			out := sdk.Outbound{ID: "long-1", Kind: sdk.OutText, Conversation: testUser, Text: tt.text, Role: "bot"}
			if tt.fresh {
				out.Context = replyContext(fake.NewReplyToken(testUser), time.Now())
			}
			if _, err := c.Send(context.Background(), out); err != nil {
				t.Fatal(err)
			}
			calls := fake.Calls()
			if len(calls) != len(tt.wantCalls) {
				t.Fatalf("%d calls, want %d", len(calls), len(tt.wantCalls))
			}
			for i, call := range calls {
				if call.Endpoint != tt.wantCalls[i] || len(call.Texts) != tt.wantParts[i] || call.Status != 200 {
					t.Errorf("call %d: %s of %d messages (status %d), want %s of %d", i, call.Endpoint, len(call.Texts), call.Status, tt.wantCalls[i], tt.wantParts[i])
				}
				if call.Endpoint == linetest.EndpointPush && call.RetryKey != retryKey("long-1", i) {
					t.Errorf("call %d: retry key %q, want retryKey(id, %d)", i, call.RetryKey, i)
				}
				for _, text := range call.Texts {
					if n := sdk.TextLen(text, sdk.UTF16Units); n > TextLimit {
						t.Errorf("call %d: a message of %d UTF-16 units", i, n)
					}
				}
			}
			if got, want := squash(joinTexts(fake.DeliveredTexts(testUser))), squash(tt.text); got != want {
				t.Error("the parts do not add up to the text")
			}
		})
	}
}

func TestTyping(t *testing.T) {
	tests := []struct {
		name     string
		conv     string
		source   string
		wantCall bool
	}{
		{"1:1 chat", testUser, "user", true},
		{"group", testGroup, "group", false},
		{"room", "Ra8dbf4673c", "room", false},
		{"no context, user id", testUser, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, base := startFake(t)
			c := configured(t, base, nil)
			out := sdk.Outbound{Kind: sdk.OutTyping, Conversation: tt.conv}
			if tt.source != "" {
				out.Context = map[string]string{ctxSourceType: tt.source}
			}
			if _, err := c.Send(context.Background(), out); err != nil {
				t.Fatal(err)
			}
			calls := fake.Calls(linetest.EndpointLoading)
			if !tt.wantCall {
				if len(calls) != 0 {
					t.Errorf("loading animation requested for a %s", tt.source)
				}
				return
			}
			if len(calls) != 1 || calls[0].To != tt.conv || calls[0].LoadingSeconds != defaultLoadingSeconds || calls[0].Status != 202 {
				t.Errorf("loading calls %+v", calls)
			}
		})
	}
}

// The keys are those of every earlier release, so a message retried
// across an upgrade keeps its key; the vectors are also what any RFC 9562
// version 5 implementation gives for the namespace and "<id>#<part>".
func TestRetryKeyKnownVectors(t *testing.T) {
	tests := []struct {
		id   string
		part int
		want string
	}{
		{"out-1", 0, "94beff77-7e3b-5d52-9581-60571e2a72b4"},
		{"outbox-42", 0, "7246f6e6-0c79-5ba8-84b1-4bbaec3f52ae"},
		{"long-1", 3, "e39cdfe9-242a-5d26-9c60-8ddf4b2ddad4"},
		{"o17", 12, "ba6c5226-5138-5674-80b5-54550a90e8ee"},
		{"", 0, "058e463f-04aa-5e28-98c2-958f91437ffe"},
		{"会話-é#x", 1, "6c38436d-4608-5878-8879-b93b8bdf78dc"},
	}
	for _, tt := range tests {
		if got := retryKey(tt.id, tt.part); got != tt.want {
			t.Errorf("retryKey(%q, %d) = %s, want %s", tt.id, tt.part, got, tt.want)
		}
	}
}

func TestRetryKeyFormat(t *testing.T) {
	uuidV5 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	keys := map[string]bool{}
	for _, id := range []string{"a", "b", "outbox-1"} {
		for part := range 3 {
			k := retryKey(id, part)
			if !uuidV5.MatchString(k) {
				t.Errorf("retryKey(%q, %d) = %q is not a version 5 UUID", id, part, k)
			}
			if retryKey(id, part) != k {
				t.Errorf("retryKey(%q, %d) is not deterministic", id, part)
			}
			keys[k] = true
		}
	}
	if len(keys) != 9 {
		t.Errorf("%d distinct keys for 9 (id, part) pairs", len(keys))
	}
}

func TestHealth(t *testing.T) {
	_, base := startFake(t)
	if err := configured(t, base, nil).Health(context.Background()); err != nil {
		t.Errorf("healthy: %v", err)
	}
	if err := configured(t, base, map[string]any{"access_token": "revoked"}).Health(context.Background()); err == nil {
		t.Error("a rejected token reported healthy")
	}
	if err := configured(t, "http://127.0.0.1:1", nil).Health(context.Background()); sdk.KindOf(err) != sdk.Unavailable {
		t.Errorf("unreachable: %v (%s), want unavailable", err, sdk.KindOf(err))
	}
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

func joinTexts(parts []string) string {
	out := ""
	for _, p := range parts {
		out += p
	}
	return out
}

// squash drops all whitespace, which splitting may move.
func squash(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r != ' ' && r != '\n' && r != '\t' {
			out = append(out, r)
		}
	}
	return string(out)
}

// A fresh reply token that LINE refuses was used by an earlier attempt of
// the same delivery (only one delivery ever gets it): the message is not
// pushed a second time but reported as possibly delivered.
func TestRefusedFreshTokenIsNotPushed(t *testing.T) {
	fake, base := startFake(t)
	c := configured(t, base, nil)
	token := fake.NewReplyToken(testUser)
	out := sdk.Outbound{ID: "out-1", Kind: sdk.OutText, Conversation: testUser, Text: "Once.", Role: "bot",
		Context: replyContext(token, time.Now().Add(-time.Second))}
	if _, err := c.Send(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	// The daemon retries the same delivery, e.g. after a restart that lost
	// the first answer: a fresh plugin has no memory of the token.
	again := configured(t, base, nil)
	_, err := again.Send(context.Background(), out)
	if sdk.KindOf(err) != sdk.OutcomeUnknown {
		t.Fatalf("retry: %v (%s), want outcome_unknown", err, sdk.KindOf(err))
	}
	// And the same plugin remembers it without asking LINE.
	if _, err := c.Send(context.Background(), out); sdk.KindOf(err) != sdk.OutcomeUnknown {
		t.Fatalf("retry in the same process: %v", err)
	}
	pushes := 0
	for _, call := range fake.Calls() {
		if call.Endpoint == linetest.EndpointPush {
			pushes++
		}
	}
	if pushes != 0 {
		t.Fatalf("%d pushes: the message was sent twice", pushes)
	}
}

func TestBatches(t *testing.T) {
	parts := []string{"1", "2", "3", "4", "5", "6", "7"}
	got := batches(parts, 5)
	want := [][]string{{"1", "2", "3", "4", "5"}, {"6", "7"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("batches = %q, want %q", got, want)
	}
	if got := batches(nil, 5); got != nil {
		t.Errorf("batches(nil) = %q", got)
	}
}

// Retry-After may also be an HTTP date, read against the plugin's clock.
func TestRateLimitUntilAnHTTPDate(t *testing.T) {
	fake, base := startFake(t)
	c := configured(t, base, nil)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	fake.FailNext(linetest.EndpointPush, 1, linetest.Failure{Status: 429, RetryAfter: "Sun, 01 Mar 2026 12:01:30 GMT"})
	out := sdk.Outbound{ID: "d-1", Kind: sdk.OutText, Conversation: testUser, Text: "hi", Role: "operator"}
	_, err := c.Send(context.Background(), out)
	if sdk.KindOf(err) != sdk.Temporary || sdk.RetryAfterOf(err) != 90*time.Second {
		t.Errorf("%v: kind %s after %v, want temporary after 1m30s", err, sdk.KindOf(err), sdk.RetryAfterOf(err))
	}
}

func TestChoicesAreQuickReplies(t *testing.T) {
	long := "How long does shipping take to the outer islands?"
	tests := []struct {
		name  string
		text  string
		fresh bool
		// want are the quick reply actions of the last message delivered:
		// type, label, text or data.
		want [][3]string
	}{
		{name: "rating stars are postbacks, in a reply", text: "Rate us", fresh: true, want: [][3]string{
			{"postback", "★", "rating:1"}, {"postback", "★★", "rating:2"}, {"postback", "★★★★★", "rating:5"},
		}},
		{name: "questions are message actions with cut labels, in a push", text: "Did you mean:", want: [][3]string{
			{"message", "How long does shipp…", long},
		}},
		{name: "only the last part of a long text has them", text: repeat(repeat("Fifty characters of text in one sentence, more or less. ", 90)+"\n\n", 7), want: [][3]string{
			{"postback", "★", "rating:1"}, {"postback", "★★", "rating:2"}, {"postback", "★★★★★", "rating:5"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, base := startFake(t)
			c := configured(t, base, nil)
			choices := []sdk.Choice{{Label: "★", Text: "1", Data: "rating:1"}, {Label: "★★", Text: "2", Data: "rating:2"}, {Label: "★★★★★", Text: "5", Data: "rating:5"}}
			if tt.want[0][0] == "message" {
				choices = []sdk.Choice{{Label: long, Text: long}}
			}
			out := sdk.Outbound{ID: "q-1", Kind: sdk.OutText, Conversation: testUser, Text: tt.text, Role: "bot", Choices: choices}
			if tt.fresh {
				out.Context = replyContext(fake.NewReplyToken(testUser), time.Now())
			}
			if _, err := c.Send(context.Background(), out); err != nil {
				t.Fatal(err)
			}
			d := fake.Delivered()
			for i, m := range d[:len(d)-1] {
				if m.QuickReply != nil {
					t.Errorf("message %d of %d has quick replies", i, len(d))
				}
			}
			q := d[len(d)-1].QuickReply
			if q == nil {
				t.Fatal("no quick replies")
			}
			var got [][3]string
			for _, it := range q.Items {
				a := it.Action
				got = append(got, [3]string{a.Type, a.Label, a.Text + a.Data})
				if a.Type == "postback" && a.DisplayText != a.Label {
					t.Errorf("postback shows %q, want its label", a.DisplayText)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("quick replies %v, want %v", got, tt.want)
			}
		})
	}
}
