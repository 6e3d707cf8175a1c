package integration

import (
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/plugins/line/linetest"
	"github.com/switchboard-chat/switchboard/plugins/ollama/ollamatest"
)

const (
	lineSecret = "line-channel-secret"
	lineToken  = "line-access-token"
	lineUser   = "U4af4980629aaaaaaaaaaaaaaaaaaaaaa"
)

// lineChannel configures the LINE plugin against a fake LINE API; extra
// option lines are appended.
func lineChannel(apiBase, extra string) string {
	return fmt.Sprintf(`
[channels.line]
plugin = "line"
[channels.line.options]
channel_secret = %q
access_token = %q
api_base = %q
%s
`, lineSecret, lineToken, apiBase, extra)
}

// postLine delivers a webhook body signed as the LINE Platform does.
func postLine(t *testing.T, d *daemon, body []byte) int {
	t.Helper()
	req, err := linetest.NewWebhookRequest(d.URL+"/webhooks/line", lineSecret, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("LINE webhook: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// eventually waits up to 15s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestLineAnswerUsesTheReplyTokenOnce(t *testing.T) {
	model := ollamatest.New(model)
	model.Reply = func(ollamatest.ChatRequest) ollamatest.Response { return ollamatest.Text("Your parcel ships today.") }
	line := linetest.New(lineToken)
	d := startDaemon(t, llmConfig(model.Start(t))+lineChannel(line.Start(t), ""))

	ev := linetest.Event{ID: linetest.NewEventID(), UserID: lineUser, ReplyToken: line.NewReplyToken(lineUser), Text: "where is my parcel?"}
	if code := postLine(t, d, linetest.Body(ev)); code != http.StatusOK {
		t.Fatalf("webhook: %d", code)
	}
	eventually(t, "the reply", func() bool { return len(line.Delivered()) > 0 })

	// LINE redelivers the same event (same webhookEventId and reply token).
	ev.Redelivery = true
	if code := postLine(t, d, linetest.Body(ev)); code != http.StatusOK {
		t.Fatalf("redelivered webhook: %d", code)
	}
	time.Sleep(1500 * time.Millisecond)

	replies := line.Calls(linetest.EndpointReply)
	if len(replies) != 1 {
		t.Fatalf("%d reply calls, want 1: %+v", len(replies), replies)
	}
	if r := replies[0]; r.ReplyToken != ev.ReplyToken || len(r.Texts) != 1 || r.Texts[0] != "Your parcel ships today." || r.Status != http.StatusOK {
		t.Errorf("reply %+v", r)
	}
	if pushes := line.Calls(linetest.EndpointPush); len(pushes) != 0 {
		t.Errorf("%d pushes, want none", len(pushes))
	}
	if got := line.DeliveredTexts(lineUser); len(got) != 1 {
		t.Errorf("delivered %q, want one answer", got)
	}
	if model.Calls() != 1 {
		t.Errorf("%d model calls, want 1", model.Calls())
	}
}

func TestLineLateAnswerIsPushedWithARetryKey(t *testing.T) {
	model := ollamatest.New(model)
	model.Reply = func(ollamatest.ChatRequest) ollamatest.Response {
		return ollamatest.Response{Text: "Sorry for the wait.", Delay: 2 * time.Second}
	}
	line := linetest.New(lineToken)
	d := startDaemon(t, llmConfig(model.Start(t))+lineChannel(line.Start(t), `reply_window = "1s"`))

	ev := linetest.Event{ID: linetest.NewEventID(), UserID: lineUser, ReplyToken: line.NewReplyToken(lineUser), Text: "hello?"}
	if code := postLine(t, d, linetest.Body(ev)); code != http.StatusOK {
		t.Fatalf("webhook: %d", code)
	}
	eventually(t, "the push", func() bool { return len(line.Delivered()) > 0 })

	pushes := line.Calls(linetest.EndpointPush)
	if len(pushes) != 1 {
		t.Fatalf("%d pushes, want 1", len(pushes))
	}
	if p := pushes[0]; p.RetryKey == "" || p.To != lineUser || len(p.Texts) != 1 || p.Texts[0] != "Sorry for the wait." {
		t.Errorf("push %+v", p)
	}
	if replies := line.Calls(linetest.EndpointReply); len(replies) != 0 {
		t.Errorf("%d reply calls with a stale token, want none", len(replies))
	}
	if loading := line.Calls(linetest.EndpointLoading); len(loading) == 0 || loading[0].To != lineUser {
		t.Errorf("no loading animation while the model worked: %+v", loading)
	}
}

func TestLineFailedPushIsRetriedWithTheSameKey(t *testing.T) {
	model := ollamatest.New(model)
	model.Reply = func(ollamatest.ChatRequest) ollamatest.Response { return ollamatest.Text("We are on it.") }
	line := linetest.New(lineToken)
	line.FailNext(linetest.EndpointPush, 1, linetest.ServerError)
	d := startDaemon(t, llmConfig(model.Start(t))+lineChannel(line.Start(t), `reply_window = "0s"`))

	ev := linetest.Event{ID: linetest.NewEventID(), UserID: lineUser, ReplyToken: line.NewReplyToken(lineUser), Text: "my order is late"}
	if code := postLine(t, d, linetest.Body(ev)); code != http.StatusOK {
		t.Fatalf("webhook: %d", code)
	}
	eventually(t, "the retried push", func() bool { return len(line.Delivered()) > 0 })
	time.Sleep(500 * time.Millisecond)

	pushes := line.Calls(linetest.EndpointPush)
	if len(pushes) != 2 {
		t.Fatalf("%d pushes, want 2 (a 500, then the retry)", len(pushes))
	}
	if pushes[0].Status != http.StatusInternalServerError || pushes[1].Status != http.StatusOK {
		t.Errorf("statuses %d, %d; want 500, 200", pushes[0].Status, pushes[1].Status)
	}
	if pushes[0].RetryKey == "" || pushes[0].RetryKey != pushes[1].RetryKey {
		t.Errorf("retry keys %q and %q, want the same", pushes[0].RetryKey, pushes[1].RetryKey)
	}
	if got := line.DeliveredTexts(lineUser); len(got) != 1 || got[0] != "We are on it." {
		t.Errorf("delivered %q, want exactly one message", got)
	}
}
