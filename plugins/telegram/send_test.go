package main

import (
	"context"
	"strings"
	"testing"
	"time"

	tt "github.com/switchboard-chat/switchboard/plugins/telegram/telegramtest"
	"github.com/switchboard-chat/switchboard/sdk"
)

func TestSendText(t *testing.T) {
	fake := tt.NewServer(t, testToken)
	c := configured(t, options(fake, nil))
	res, err := c.Send(context.Background(), sdk.Outbound{ID: "o1", Kind: sdk.OutText, Conversation: "777", Text: "Hello *Ann* <b>", Role: "bot"})
	if err != nil {
		t.Fatal(err)
	}
	got := fake.Sent(777)
	if len(got) != 1 || got[0].Text != "Hello *Ann* <b>" || got[0].ParseMode != "" || got[0].ReplyTo != 0 {
		t.Fatalf("sent %+v", got)
	}
	if res.NativeID != "1" {
		t.Errorf("native id %q", res.NativeID)
	}
	if _, ok := got[0].Params["parse_mode"]; ok {
		t.Error("parse_mode was sent")
	}
}

// Choices with data are an inline keyboard under the last part; others a
// one-time reply keyboard; none, no markup.
func TestSendChoicesAsButtons(t *testing.T) {
	fake := tt.NewServer(t, testToken)
	c := configured(t, options(fake, nil))
	stars := []sdk.Choice{{Label: "★", Text: "1", Data: "rating:1"}, {Label: "★★", Text: "2", Data: "rating:2"}}
	questions := []sdk.Choice{{Label: "Where is my parcel?", Text: "Where is my parcel?"}, {Label: "Returns", Text: "How do returns work?"}}
	long := strings.Repeat("A line of text that is long enough. ", 200) // two messages
	for i, out := range []sdk.Outbound{
		{ID: "c1", Text: "Rate us", Choices: stars},
		{ID: "c2", Text: "Did you mean:", Choices: questions},
		{ID: "c3", Text: long, Choices: stars},
		{ID: "c4", Text: "plain"},
	} {
		out.Kind, out.Conversation, out.Role = sdk.OutText, "777", "bot"
		if _, err := c.Send(context.Background(), out); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	got := fake.Sent(777)
	if len(got) != 5 {
		t.Fatalf("%d messages, want 5", len(got))
	}
	if m := got[0].Markup; m == nil || len(m.InlineKeyboard) != 1 || len(m.InlineKeyboard[0]) != 2 ||
		m.InlineKeyboard[0][1] != (tt.InlineKeyboardButton{Text: "★★", CallbackData: "rating:2"}) {
		t.Errorf("stars: %+v", got[0].Markup)
	}
	if m := got[1].Markup; m == nil || len(m.Keyboard) != 2 || m.Keyboard[1][0].Text != "How do returns work?" || !m.OneTimeKeyboard {
		t.Errorf("questions: %+v", got[1].Markup)
	}
	if got[2].Markup != nil || got[3].Markup == nil || len(got[3].Markup.InlineKeyboard) != 1 {
		t.Errorf("long text: markup %+v then %+v, want it on the last part only", got[2].Markup, got[3].Markup)
	}
	if got[4].Markup != nil {
		t.Errorf("plain text has markup %+v", got[4].Markup)
	}
}

func TestSendInGroupRepliesInThread(t *testing.T) {
	fake := tt.NewServer(t, testToken)
	c := configured(t, options(fake, nil))
	ctx := map[string]string{"chat_type": "supergroup", "message_id": "42", "thread_id": "9"}
	if _, err := c.Send(context.Background(), sdk.Outbound{ID: "o1", Kind: sdk.OutText, Conversation: "-100200", Text: "on it", Context: ctx}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(context.Background(), sdk.Outbound{Kind: sdk.OutTyping, Conversation: "-100200", Context: ctx}); err != nil {
		t.Fatal(err)
	}
	got := fake.Sent(-100200)
	if len(got) != 1 || got[0].ReplyTo != 42 || got[0].ThreadID != 9 {
		t.Fatalf("sent %+v", got)
	}
	if a := fake.Actions(-100200); len(a) != 1 || a[0].Action != "typing" {
		t.Fatalf("actions %+v", a)
	}
}

func TestSendTyping(t *testing.T) {
	fake := tt.NewServer(t, testToken)
	c := configured(t, options(fake, nil))
	if _, err := c.Send(context.Background(), sdk.Outbound{Kind: sdk.OutTyping, Conversation: "777"}); err != nil {
		t.Fatal(err)
	}
	if a := fake.Actions(777); len(a) != 1 || a[0].Action != "typing" {
		t.Fatalf("actions %+v", a)
	}
	if len(fake.Sent(777)) != 0 {
		t.Error("typing sent a message")
	}
}

func TestSendErrorClassification(t *testing.T) {
	tests := []struct {
		name       string
		fail       tt.Failure
		kind       sdk.ErrorKind
		retryAfter time.Duration
	}{
		{"429 with retry_after 2", tt.TooManyRequests, sdk.Temporary, 2 * time.Second},
		{"429 retry_after only in JSON", tt.Failure{Status: 429, RetryAfter: 7, NoRetryAfterHeader: true}, sdk.Temporary, 7 * time.Second},
		{"403 blocked", tt.BlockedByUser, sdk.Blocked, 0},
		{"403 kicked", tt.Failure{Status: 403, Description: "Forbidden: bot was kicked from the group chat"}, sdk.Blocked, 0},
		{"403 deactivated", tt.Failure{Status: 403, Description: "Forbidden: user is deactivated"}, sdk.Blocked, 0},
		{"400", tt.ChatNotFound, sdk.Permanent, 0},
		{"401 token revoked", tt.Failure{Status: 401}, sdk.Permanent, 0},
		{"500", tt.InternalError, sdk.Temporary, 0},
		{"502", tt.BadGateway, sdk.Temporary, 0},
		{"dropped before handling", tt.Dropped, sdk.OutcomeUnknown, 0},
		{"dropped after sending", tt.AcceptedThenDropped, sdk.OutcomeUnknown, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := tt.NewServer(t, testToken)
			c := configured(t, options(fake, nil))
			fake.FailNext(tt.MethodSendMessage, 1, tc.fail)
			_, err := c.Send(context.Background(), sdk.Outbound{ID: "o1", Kind: sdk.OutText, Conversation: "777", Text: "hi"})
			if err == nil {
				t.Fatal("no error")
			}
			if sdk.KindOf(err) != tc.kind || sdk.RetryAfterOf(err) != tc.retryAfter {
				t.Fatalf("kind %s retry %v, want %s %v (%v)", sdk.KindOf(err), sdk.RetryAfterOf(err), tc.kind, tc.retryAfter, err)
			}
			if !strings.Contains(err.Error(), "sendMessage to chat 777") || strings.Contains(err.Error(), testToken) {
				t.Errorf("message %q", err)
			}
		})
	}
	t.Run("typing errors are classified too", func(t *testing.T) {
		fake := tt.NewServer(t, testToken)
		c := configured(t, options(fake, nil))
		fake.Block(777, "")
		_, err := c.Send(context.Background(), sdk.Outbound{Kind: sdk.OutTyping, Conversation: "777"})
		if sdk.KindOf(err) != sdk.Blocked {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("bad conversation and kind are permanent", func(t *testing.T) {
		fake := tt.NewServer(t, testToken)
		c := configured(t, options(fake, nil))
		for _, out := range []sdk.Outbound{
			{Kind: sdk.OutText, Conversation: "@channel", Text: "x"},
			{Kind: sdk.OutHandoff, Conversation: "777", Text: "x"},
			{Kind: sdk.OutText, Conversation: "777", Text: "  "},
		} {
			if _, err := c.Send(context.Background(), out); sdk.KindOf(err) != sdk.Permanent {
				t.Errorf("%+v: %v", out, err)
			}
		}
	})
}

func TestSendMigratedGroup(t *testing.T) {
	fake := tt.NewServer(t, testToken)
	c := configured(t, options(fake, nil))
	fake.FailNext(tt.MethodSendMessage, 1, tt.Failure{Status: 400, Description: "Bad Request: group chat was upgraded to a supergroup chat", MigrateToChatID: -1009})
	if _, err := c.Send(context.Background(), sdk.Outbound{ID: "o1", Kind: sdk.OutText, Conversation: "-9", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if got := fake.Sent(-1009); len(got) != 1 {
		t.Fatalf("supergroup got %+v", got)
	}
}

func TestLongTextIsSplitAndResumed(t *testing.T) {
	fake := tt.NewServer(t, testToken)
	c := configured(t, options(fake, nil))
	para := strings.TrimSpace(strings.Repeat("All work and no play makes Jack a dull boy. ", 60)) // ~2.6k
	text := para + "\n\n" + para + "\n\n" + para
	out := sdk.Outbound{ID: "long-1", Kind: sdk.OutText, Conversation: "777", Text: text}

	sendParts := func() error { _, err := c.Send(context.Background(), out); return err }

	// Part 2 fails with a 500: part 1 is delivered, the error is temporary.
	fake.FailNext(tt.MethodSendMessage, 1, tt.Failure{Delay: time.Millisecond}) // part 1 passes
	fake.FailNext(tt.MethodSendMessage, 1, tt.InternalError)
	err := sendParts()
	if sdk.KindOf(err) != sdk.Temporary || !strings.Contains(err.Error(), "part 2 of 3") {
		t.Fatalf("err %v", err)
	}
	if got := fake.Sent(777); len(got) != 1 {
		t.Fatalf("after the failure %d parts delivered, want 1", len(got))
	}
	// The daemon's retry resumes at part 2.
	if err := sendParts(); err != nil {
		t.Fatal(err)
	}
	got := fake.Sent(777)
	if len(got) != 3 {
		t.Fatalf("%d messages, want 3 (no repeated part)", len(got))
	}
	var joined []string
	for _, m := range got {
		if n := sdk.TextLen(m.Text, sdk.UTF16Units); n > 4096 || n == 0 {
			t.Errorf("part of %d UTF-16 units", n)
		}
		joined = append(joined, m.Text)
	}
	if strings.Join(joined, "\n\n") != text {
		t.Error("parts do not add up to the text")
	}
	// A new send of the same ID after success starts over (the memo is gone).
	if c.progress.delivered("long-1") != 0 {
		t.Error("progress kept after success")
	}
}
