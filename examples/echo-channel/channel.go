package main

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/switchboard-chat/switchboard/sdk"
)

// Options are the [channels.<name>.options] keys this plugin understands.
type Options struct {
	// ReplyURL receives replies as JSON POSTs.
	ReplyURL string `json:"reply_url"`
	// Secret, when set, must arrive in the X-Echo-Secret header of every
	// webhook; requests without it are refused with 401.
	Secret string `json:"secret"`
	// Timeout bounds one reply POST. Default 10s.
	Timeout sdk.Duration `json:"timeout"`
}

// Channel is the echo channel.
type Channel struct {
	opts   Options
	client *http.Client
}

// Configure validates the options.
func (c *Channel) Configure(_ context.Context, req sdk.ConfigureRequest) (sdk.Capabilities, error) {
	var opts Options
	if err := req.Options.Decode(&opts); err != nil {
		return sdk.Capabilities{}, err
	}
	if opts.ReplyURL == "" {
		return sdk.Capabilities{}, errors.New("option \"reply_url\" is required")
	}
	replyURL, err := sdk.URLOption("reply_url", opts.ReplyURL)
	if err != nil {
		return sdk.Capabilities{}, err
	}
	opts.ReplyURL = replyURL
	if opts.Timeout == 0 {
		opts.Timeout = sdk.Duration(10 * time.Second)
	}
	c.opts = opts
	c.client = sdk.NewHTTPClient(time.Duration(opts.Timeout))
	return sdk.Capabilities{TextLimit: 4096}, nil
}

// webhookBody is what the echo platform posts.
type webhookBody struct {
	ID   string `json:"id"`
	Chat string `json:"chat"`
	User string `json:"user"`
	Name string `json:"name"`
	Text string `json:"text"`
}

// HandleWebhook verifies and parses one webhook.
func (c *Channel) HandleWebhook(_ context.Context, req sdk.WebhookRequest) (sdk.WebhookResponse, error) {
	if c.opts.Secret != "" {
		got := req.Header.Get("X-Echo-Secret")
		if subtle.ConstantTimeCompare([]byte(got), []byte(c.opts.Secret)) != 1 {
			return jsonError(http.StatusUnauthorized, "missing or wrong X-Echo-Secret"), nil
		}
	}
	var body webhookBody
	dec := json.NewDecoder(bytes.NewReader(req.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		return jsonError(http.StatusBadRequest, "malformed JSON: "+err.Error()), nil
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return jsonError(http.StatusBadRequest, "malformed JSON: unexpected data after the object"), nil
	}
	switch {
	case body.ID == "":
		return jsonError(http.StatusBadRequest, `"id" is required`), nil
	case body.Chat == "":
		return jsonError(http.StatusBadRequest, `"chat" is required`), nil
	case body.Text == "":
		return jsonError(http.StatusBadRequest, `"text" is required`), nil
	}
	user := body.User
	if user == "" {
		user = body.Chat
	}
	return sdk.WebhookResponse{
		Status: http.StatusOK,
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   []byte(`{"ok":true}`),
		Events: []sdk.Event{{
			ID:           body.ID,
			Kind:         sdk.KindMessage,
			Conversation: body.Chat,
			User:         sdk.User{ID: user, Name: body.Name},
			Text:         body.Text,
		}},
	}, nil
}

func jsonError(status int, msg string) sdk.WebhookResponse {
	b, _ := json.Marshal(map[string]string{"error": msg})
	return sdk.WebhookResponse{Status: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: b}
}

// Send POSTs "echo: <text>" to the reply URL.
func (c *Channel) Send(ctx context.Context, out sdk.Outbound) (sdk.SendResult, error) {
	if out.Kind != sdk.OutText && out.Kind != "" {
		return sdk.SendResult{}, nil // no typing indicator or native handoff here
	}
	payload, err := json.Marshal(map[string]string{"id": out.ID, "chat": out.Conversation, "text": "echo: " + out.Text})
	if err != nil {
		return sdk.SendResult{}, sdk.NewError(sdk.Permanent, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.opts.ReplyURL, bytes.NewReader(payload))
	if err != nil {
		return sdk.SendResult{}, sdk.NewError(sdk.Permanent, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return sdk.SendResult{}, sdk.TransportError(fmt.Errorf("post reply for %s: %w", out.Conversation, err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode >= 300 {
		// 408, 429 and 5xx are retried (after Retry-After, when given); other
		// statuses are permanent.
		wait := sdk.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		return sdk.SendResult{}, sdk.StatusError(resp.StatusCode, wait, fmt.Errorf("reply target answered %d: %s", resp.StatusCode, body))
	}
	return sdk.SendResult{NativeID: out.ID}, nil
}
