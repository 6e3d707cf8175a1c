package main

import (
	"context"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/plugins/telegram/telegramtest"
	"github.com/switchboard-chat/switchboard/sdk"
	"github.com/switchboard-chat/switchboard/sdk/plugintest"
)

func TestConformance(t *testing.T) {
	fake := telegramtest.NewServer(t, testToken)
	ann := telegramtest.Visitor(777, "Ann")
	update := telegramtest.TextUpdate(5001, ann, "hello")
	plugintest.RunChannelSuite(t, plugintest.ChannelSuite{
		New:     func() sdk.Channel { return newChannel(nil) },
		Options: options(fake, nil),
		BadOptions: map[string]map[string]any{
			"missing token":          options(fake, map[string]any{"token": nil}),
			"token without colon":    options(fake, map[string]any{"token": "123456ABC"}),
			"token id not digits":    options(fake, map[string]any{"token": "abc:DEF"}),
			"token with slash":       options(fake, map[string]any{"token": "123:AB/C"}),
			"bad mode":               options(fake, map[string]any{"mode": "push"}),
			"webhook without secret": options(fake, map[string]any{"secret_token": nil}),
			"secret bad characters":  options(fake, map[string]any{"secret_token": "no spaces!"}),
			"secret too long":        options(fake, map[string]any{"secret_token": strings.Repeat("a", 257)}),
			"api_base not a URL":     options(fake, map[string]any{"api_base": "ftp:/x"}),
			"public_url not a URL":   options(fake, map[string]any{"public_url": "bot.example.com"}),
			"public_url in polling":  options(fake, map[string]any{"mode": "polling", "public_url": "https://bot.example.com"}),
			"wrong type":             options(fake, map[string]any{"token": 42}),
			"token rejected":         options(fake, map[string]any{"token": "999:wrong"}),
		},
		Webhook: func() sdk.WebhookRequest { return hook(testSecret, update.JSON()) },
		BadWebhooks: map[string]sdk.WebhookRequest{
			"no secret":       hook("", update.JSON()),
			"wrong secret":    hook("guess", update.JSON()),
			"malformed":       hook(testSecret, []byte(`{"update_id":`)),
			"not an update":   hook(testSecret, []byte(`{"message":{"text":"hi"}}`)),
			"wrong type":      hook(testSecret, []byte(`{"update_id":"5"}`)),
			"array":           hook(testSecret, []byte(`[1,2]`)),
			"message no chat": hook(testSecret, []byte(`{"update_id":5,"message":{"message_id":1,"text":"x"}}`)),
		},
		Outbound: sdk.Outbound{ID: "o1", Kind: sdk.OutText, Conversation: "777", Text: "hello Ann"},
		Delivered: func() bool {
			got := fake.Sent(777)
			return len(got) > 0 && got[len(got)-1].Text == "hello Ann"
		},
	})
}

func TestConfigure(t *testing.T) {
	t.Run("capabilities", func(t *testing.T) {
		fake := telegramtest.NewServer(t, testToken)
		for mode, polling := range map[string]bool{"webhook": false, "polling": true} {
			c := newChannel(nil)
			o, _ := sdk.NewOptions(options(fake, map[string]any{"mode": mode}))
			caps, err := c.Configure(context.Background(), sdk.ConfigureRequest{Instance: "tg", Options: o})
			if err != nil {
				t.Fatal(err)
			}
			want := sdk.Capabilities{TextLimit: 4096, Typing: true, Polling: polling}
			if caps != want {
				t.Errorf("%s: capabilities %+v, want %+v", mode, caps, want)
			}
		}
	})
	t.Run("public_url registers the webhook", func(t *testing.T) {
		fake := telegramtest.NewServer(t, testToken)
		configured(t, options(fake, map[string]any{"public_url": "https://bot.example.com/"}))
		w := fake.Webhook()
		if w.URL != "https://bot.example.com/webhooks/tg" || w.SecretToken != testSecret {
			t.Fatalf("webhook %+v", w)
		}
		if strings.Join(w.AllowedUpdates, ",") != "message,callback_query,my_chat_member" {
			t.Errorf("allowed_updates %v", w.AllowedUpdates)
		}
	})
	t.Run("a dry run registers no webhook", func(t *testing.T) {
		fake := telegramtest.NewServer(t, testToken)
		o, _ := sdk.NewOptions(options(fake, map[string]any{"public_url": "https://bot.example.com/"}))
		if _, err := newChannel(nil).Configure(context.Background(), sdk.ConfigureRequest{Instance: "tg", Options: o, DryRun: true}); err != nil {
			t.Fatal(err)
		}
		if w := fake.Webhook(); w.URL != "" {
			t.Errorf("a dry run registered the webhook %q", w.URL)
		}
	})
	t.Run("setWebhook failure is a Configure error", func(t *testing.T) {
		fake := telegramtest.NewServer(t, testToken)
		fake.FailNext(telegramtest.MethodSetWebhook, 1, telegramtest.Failure{Status: 400, Description: "Bad Request: bad webhook: Failed to resolve host"})
		o, _ := sdk.NewOptions(options(fake, map[string]any{"public_url": "https://bot.example.com"}))
		_, err := newChannel(nil).Configure(context.Background(), sdk.ConfigureRequest{Instance: "tg", Options: o})
		if err == nil || !strings.Contains(err.Error(), "setWebhook") || !strings.Contains(err.Error(), "public_url") {
			t.Fatalf("error %v", err)
		}
		if strings.Contains(err.Error(), testToken) {
			t.Fatalf("error leaks the token: %v", err)
		}
	})
	t.Run("Telegram unreachable does not fail Configure", func(t *testing.T) {
		fake := telegramtest.NewServer(t, testToken)
		fake.Close()
		c := configured(t, options(fake, nil))
		if err := c.Health(context.Background()); err == nil || sdk.KindOf(err) != sdk.Unavailable {
			t.Fatalf("Health: %v (%s)", err, sdk.KindOf(err))
		}
	})
	t.Run("health", func(t *testing.T) {
		fake := telegramtest.NewServer(t, testToken)
		c := configured(t, options(fake, nil))
		if err := c.Health(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := c.st.Load().identity(); got.Username != botName || got.ID != botID {
			t.Errorf("identity %+v", got)
		}
	})
}

func TestTokenIsNeverInErrors(t *testing.T) {
	fake := telegramtest.NewServer(t, testToken)
	fake.Close() // connection refused: the URL with the token is in the *url.Error
	c := configured(t, options(fake, nil))
	out := sdk.Outbound{ID: "o1", Kind: sdk.OutText, Conversation: "777", Text: "hi"}
	_, err := c.Send(context.Background(), out)
	if err == nil {
		t.Fatal("send to a closed server succeeded")
	}
	if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "ABC-def") {
		t.Fatalf("error leaks the token: %v", err)
	}
	if !strings.Contains(err.Error(), "<token>") || !strings.Contains(err.Error(), "chat 777") {
		t.Errorf("error should name the redacted URL and the chat: %v", err)
	}
	if sdk.KindOf(err) != sdk.Temporary {
		t.Errorf("refused connection: kind %s, want temporary: %v", sdk.KindOf(err), err)
	}
	if err := c.Health(context.Background()); err == nil || strings.Contains(err.Error(), testToken) {
		t.Errorf("health error %v", err)
	}
	a := &api{token: testToken}
	if got := a.scrub("Post http://x/bot" + testToken + "/getMe"); strings.Contains(got, testToken) {
		t.Errorf("scrub left the token: %s", got)
	}
}

func TestSendCancelled(t *testing.T) {
	fake := telegramtest.NewServer(t, testToken)
	c := configured(t, options(fake, nil))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Send(ctx, sdk.Outbound{ID: "o1", Kind: sdk.OutText, Conversation: "1", Text: "x"})
	if err == nil || sdk.KindOf(err) != sdk.Temporary || fake.Calls(telegramtest.MethodSendMessage) != 0 {
		t.Fatalf("err %v kind %s calls %d", err, sdk.KindOf(err), fake.Calls(telegramtest.MethodSendMessage))
	}
}
