package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/switchboard-chat/switchboard/sdk"
)

// webhookBody is LINE's webhook request body. Events are decoded one by
// one, so an event this plugin cannot read does not lose the others.
type webhookBody struct {
	Destination string            `json:"destination"`
	Events      []json.RawMessage `json:"events"`
}

// HandleWebhook verifies the signature over the raw body, then parses the
// events. A missing or wrong signature is a 401, a body that is not a LINE
// webhook a 400; an empty events array (LINE's connectivity check) is a
// 200 without events.
func (c *Channel) HandleWebhook(_ context.Context, req sdk.WebhookRequest) (sdk.WebhookResponse, error) {
	cfg, err := c.config()
	if err != nil {
		return sdk.WebhookResponse{}, err
	}
	if req.Method != "" && req.Method != http.MethodPost {
		return answer(http.StatusMethodNotAllowed, "webhooks must be POSTed"), nil
	}
	if !validSignature(cfg.secret, req.Body, req.Header.Get(signatureHeader)) {
		return answer(http.StatusUnauthorized, "missing or invalid x-line-signature"), nil
	}
	var body webhookBody
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return answer(http.StatusBadRequest, "malformed webhook body: "+err.Error()), nil
	}
	if body.Events == nil {
		return answer(http.StatusBadRequest, `webhook body has no "events" array`), nil
	}
	events := make([]sdk.Event, 0, len(body.Events))
	for i, raw := range body.Events {
		ev, ok, reason := parseEvent(raw)
		if !ok {
			c.log.Debug("line webhook event skipped", "index", i, "reason", reason)
			continue
		}
		events = append(events, ev)
	}
	resp := answer(http.StatusOK, "")
	resp.Events = events
	return resp, nil
}

// answer is a JSON response: {} for success, {"message":…} otherwise.
func answer(status int, msg string) sdk.WebhookResponse {
	body := []byte("{}")
	if msg != "" {
		var buf bytes.Buffer
		_ = json.NewEncoder(&buf).Encode(map[string]string{"message": msg})
		body = bytes.TrimSpace(buf.Bytes())
	}
	return sdk.WebhookResponse{
		Status: status,
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   body,
	}
}
