package main

import (
	"net/http"
	"testing"

	"github.com/switchboard-chat/switchboard/plugins/line/linetest"
	"github.com/switchboard-chat/switchboard/sdk"
	"github.com/switchboard-chat/switchboard/sdk/plugintest"
)

func TestConformance(t *testing.T) {
	fake, base := startFake(t)
	body := string(linetest.Body(linetest.Event{ID: "01FZ74A0TDDPYRVKNK77XKC3ZR", UserID: testUser, ReplyToken: "757913772c4646b784d4b7ce46d12671", Text: "hello"}))
	plugintest.RunChannelSuite(t, plugintest.ChannelSuite{
		New:     func() sdk.Channel { return newTestChannel() },
		Options: testOptions(base, nil),
		BadOptions: map[string]map[string]any{
			"missing channel_secret": {"access_token": testToken},
			"missing access_token":   {"channel_secret": testSecret},
			"api_base not a URL":     testOptions("ftp:/nope", nil),
			"reply_window too long":  testOptions(base, map[string]any{"reply_window": "2m"}),
			"reply_window bad":       testOptions(base, map[string]any{"reply_window": "soon"}),
			"loading_seconds odd":    testOptions(base, map[string]any{"loading_seconds": 7}),
			"wrong type":             testOptions(base, map[string]any{"access_token": 42}),
		},
		Webhook: func() sdk.WebhookRequest { return signed(body) },
		BadWebhooks: map[string]sdk.WebhookRequest{
			"no signature":    withSignature(body, ""),
			"wrong signature": withSignature(body, linetest.Sign("other_secret", []byte(body))),
			"not base64":      withSignature(body, "%%%"),
			"malformed JSON":  signed(`{"events":[`),
			"no events array": signed(`{"destination":"U1"}`),
			"GET":             {Method: http.MethodGet, Header: http.Header{"X-Line-Signature": {linetest.Sign(testSecret, nil)}}},
		},
		Outbound:  sdk.Outbound{ID: "conformance-1", Kind: sdk.OutText, Conversation: testUser, Text: "hello from the suite", Role: "bot"},
		Delivered: func() bool { return len(fake.DeliveredTexts(testUser)) == 1 },
	})
}
