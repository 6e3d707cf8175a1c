package main

import (
	"context"
	"log/slog"
	"net/http"
	"testing"

	"github.com/switchboard-chat/switchboard/plugins/line/linetest"
	"github.com/switchboard-chat/switchboard/sdk"
)

const (
	testSecret = "test_secret"
	testToken  = "test-access-token"
	testUser   = "U4af4980629aaaaaaaaaaaaaaaaaaaaaa"
	testGroup  = "Ca56f94637caaaaaaaaaaaaaaaaaaaaaa"
)

// newTestChannel returns a channel that logs nowhere.
func newTestChannel() *Channel {
	return NewChannel(slog.New(slog.DiscardHandler))
}

// testOptions are valid options pointing at apiBase, with extra keys.
func testOptions(apiBase string, extra map[string]any) map[string]any {
	opts := map[string]any{"channel_secret": testSecret, "access_token": testToken, "api_base": apiBase}
	for k, v := range extra {
		opts[k] = v
	}
	return opts
}

// configured returns a channel configured with testOptions.
func configured(t *testing.T, apiBase string, extra map[string]any) *Channel {
	t.Helper()
	c := newTestChannel()
	opts, err := sdk.NewOptions(testOptions(apiBase, extra))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Configure(context.Background(), sdk.ConfigureRequest{Instance: "line", Options: opts}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return c
}

// signed is a webhook request with a valid signature.
func signed(body string) sdk.WebhookRequest {
	return withSignature(body, linetest.Sign(testSecret, []byte(body)))
}

// withSignature is a webhook request with the given x-line-signature ("" for none).
func withSignature(body, sig string) sdk.WebhookRequest {
	h := http.Header{"Content-Type": {"application/json"}}
	if sig != "" {
		h.Set("x-line-signature", sig)
	}
	return sdk.WebhookRequest{Method: http.MethodPost, Path: "/webhooks/line", Header: h, Body: []byte(body)}
}

// startFake starts a fake LINE API that takes testToken.
func startFake(t *testing.T) (*linetest.Fake, string) {
	t.Helper()
	f := linetest.New(testToken)
	return f, f.Start(t)
}

// configureForFuzz configures c with the test secret (no API calls).
func configureForFuzz(c *Channel) error {
	opts, err := sdk.NewOptions(testOptions("http://127.0.0.1:1", nil))
	if err != nil {
		return err
	}
	_, err = c.Configure(context.Background(), sdk.ConfigureRequest{Instance: "line", Options: opts})
	return err
}
