package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/switchboard-chat/switchboard/sdk"
)

// secretHeader carries setWebhook's secret_token on every webhook request.
const secretHeader = "X-Telegram-Bot-Api-Secret-Token"

// identityWait bounds the getMe a webhook may make when a group message
// mentions someone before the bot's username is known.
const identityWait = 2 * time.Second

// HandleWebhook verifies the secret token header and turns the update into
// events. A missing or wrong secret is 401, a body that is not an update
// 400, both without events. Everything else is 200: updates the plugin does
// not handle (edits, channel posts, group messages not addressed to the
// bot) give no events, so Telegram does not redeliver them. A button press
// is answered in the response body (answerCallbackQuery). A polling
// instance refuses webhooks with 409.
func (c *Channel) HandleWebhook(ctx context.Context, req sdk.WebhookRequest) (sdk.WebhookResponse, error) {
	st, err := c.state()
	if err != nil {
		return answer(http.StatusServiceUnavailable, "not configured"), nil
	}
	if st.opts.Mode != modeWebhook {
		return answer(http.StatusConflict, "this instance reads Telegram by polling"), nil
	}
	if req.Method != "" && req.Method != http.MethodPost {
		return answer(http.StatusMethodNotAllowed, "POST only"), nil
	}
	if !secretMatches(req.Header.Get(secretHeader), st.opts.SecretToken) {
		return answer(http.StatusUnauthorized, "missing or wrong "+secretHeader), nil
	}
	events, err := parseUpdate(req.Body, st.identity())
	if errors.Is(err, errNeedIdentity) {
		if rerr := c.refreshIdentity(ctx, st, identityWait); rerr == nil {
			events, err = parseUpdate(req.Body, st.identity())
		}
	}
	switch {
	case errors.Is(err, errMalformed):
		return answer(http.StatusBadRequest, err.Error()), nil
	case errors.Is(err, errNeedIdentity):
		// Telegram redelivers; by then getMe may answer.
		resp := answer(http.StatusServiceUnavailable, "bot username not known yet")
		resp.Header.Set("Retry-After", "10")
		return resp, nil
	case err != nil:
		return answer(http.StatusBadRequest, err.Error()), nil
	}
	resp := sdk.WebhookResponse{Status: http.StatusOK, Events: events}
	if id := callbackQueryID(req.Body, events); id != "" {
		// Telegram carries out a method given in the answer to a webhook:
		// the button press is answered, without a call of its own, once
		// the daemon has committed the event and writes this response.
		resp.Header = http.Header{"Content-Type": {"application/json"}}
		resp.Body, _ = json.Marshal(map[string]string{"method": "answerCallbackQuery", "callback_query_id": id})
	}
	return resp, nil
}

// secretMatches compares in constant time (over hashes, so the length of
// the secret does not show either).
func secretMatches(got, want string) bool {
	if got == "" || want == "" {
		return false
	}
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// answer is a response without events; the body is JSON for people
// debugging with curl (Telegram ignores it, and it has no "method" field
// that Telegram would execute).
func answer(status int, msg string) sdk.WebhookResponse {
	b, _ := json.Marshal(map[string]any{"ok": status < 300, "description": msg})
	return sdk.WebhookResponse{Status: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: b}
}
