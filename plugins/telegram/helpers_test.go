package main

import (
	"context"
	"net/http"
	"testing"

	"github.com/switchboard-chat/switchboard/plugins/telegram/telegramtest"
	"github.com/switchboard-chat/switchboard/sdk"
)

const (
	testToken  = "123456:ABC-def_ghiJKL"
	testSecret = "s3cret_Token-1"
	botName    = "switchboard_test_bot"
	botID      = 123456
)

// options are valid webhook options for fake, with overrides (a nil value
// deletes the key).
func options(fake *telegramtest.Server, over map[string]any) map[string]any {
	o := map[string]any{"token": testToken, "api_base": fake.URL(), "secret_token": testSecret}
	for k, v := range over {
		if v == nil {
			delete(o, k)
		} else {
			o[k] = v
		}
	}
	return o
}

// configured returns a channel configured with opts.
func configured(t *testing.T, opts map[string]any) *Channel {
	t.Helper()
	c := newChannel(nil)
	if err := configure(c, opts); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return c
}

func configure(c *Channel, opts map[string]any) error {
	o, err := sdk.NewOptions(opts)
	if err != nil {
		return err
	}
	_, err = c.Configure(context.Background(), sdk.ConfigureRequest{Instance: "tg", Options: o})
	return err
}

// hook builds the sdk request Telegram's webhook POST becomes.
func hook(secret string, body []byte) sdk.WebhookRequest {
	h := http.Header{"Content-Type": {"application/json"}}
	if secret != "" {
		h.Set(telegramtest.SecretHeader, secret)
	}
	return sdk.WebhookRequest{Method: http.MethodPost, Path: "/webhooks/tg", Header: h, Body: body}
}
