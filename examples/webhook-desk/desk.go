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
	"net/url"
	"time"

	"github.com/switchboard-chat/switchboard/sdk"
)

// Options are the [channels.<name>.options] keys of the desk.
type Options struct {
	// DeskURL is the desk system's base URL.
	DeskURL string `json:"desk_url"`
	// Secret is sent as X-Desk-Secret on every call to the desk, and must
	// arrive in the same header on every webhook from it.
	Secret string `json:"secret"`
	// Timeout bounds one call. Default 10s.
	Timeout sdk.Duration `json:"timeout"`
}

// Desk forwards handoffs to an HTTP desk system.
type Desk struct {
	opts   Options
	client *http.Client
}

// Configure validates the options.
func (d *Desk) Configure(_ context.Context, req sdk.ConfigureRequest) (sdk.Capabilities, error) {
	var opts Options
	if err := req.Options.Decode(&opts); err != nil {
		return sdk.Capabilities{}, err
	}
	deskURL, err := sdk.BaseURLOption("desk_url", opts.DeskURL)
	if err != nil {
		return sdk.Capabilities{}, err
	}
	if opts.Secret == "" {
		return sdk.Capabilities{}, errors.New("option \"secret\" is required: the desk's webhooks are verified with it")
	}
	if opts.Timeout == 0 {
		opts.Timeout = sdk.Duration(10 * time.Second)
	}
	opts.DeskURL = deskURL
	d.opts = opts
	d.client = sdk.NewHTTPClient(time.Duration(opts.Timeout))
	// The desk side of the contract (README) drops repeats of an
	// Idempotency-Key, and every call sends its delivery id as one.
	return sdk.Capabilities{Idempotent: sdk.Idempotency{OpenHandoff: true, RelayToDesk: true, CloseHandoff: true}}, nil
}

// deskEvent is what the desk system posts to the webhook.
type deskEvent struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Ref      string `json:"ref"`
	Operator string `json:"operator"`
	Text     string `json:"text"`
}

var eventKinds = map[string]sdk.EventKind{
	"operator_joined":  sdk.KindOperatorJoined,
	"operator_message": sdk.KindOperatorMessage,
	"closed":           sdk.KindClosed,
	"missed":           sdk.KindMissed,
}

// HandleWebhook verifies and parses an operator event.
func (d *Desk) HandleWebhook(_ context.Context, req sdk.WebhookRequest) (sdk.WebhookResponse, error) {
	if subtle.ConstantTimeCompare([]byte(req.Header.Get("X-Desk-Secret")), []byte(d.opts.Secret)) != 1 {
		return errorResponse(http.StatusUnauthorized, "missing or wrong X-Desk-Secret"), nil
	}
	var ev deskEvent
	dec := json.NewDecoder(bytes.NewReader(req.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		return errorResponse(http.StatusBadRequest, "malformed JSON: "+err.Error()), nil
	}
	kind, ok := eventKinds[ev.Type]
	switch {
	case ev.ID == "" || ev.Ref == "":
		return errorResponse(http.StatusBadRequest, `"id" and "ref" are required`), nil
	case !ok:
		return errorResponse(http.StatusBadRequest, fmt.Sprintf("unknown type %q", ev.Type)), nil
	case kind == sdk.KindOperatorMessage && ev.Text == "":
		return errorResponse(http.StatusBadRequest, `"text" is required for operator_message`), nil
	}
	return sdk.WebhookResponse{
		Status: http.StatusOK,
		Events: []sdk.Event{{
			ID: ev.ID, Kind: kind, Conversation: ev.Ref,
			User: sdk.User{ID: ev.Operator, Name: ev.Operator}, Text: ev.Text,
		}},
	}, nil
}

func errorResponse(status int, msg string) sdk.WebhookResponse {
	body, _ := json.Marshal(map[string]string{"error": msg})
	return sdk.WebhookResponse{Status: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: body}
}

// Send is not used: visitors do not write on a desk.
func (d *Desk) Send(context.Context, sdk.Outbound) (sdk.SendResult, error) {
	return sdk.SendResult{}, sdk.Errorf(sdk.Permanent, "the webhook desk has no visitors to send to")
}

type transcriptEntry struct {
	Role string    `json:"role"`
	Text string    `json:"text"`
	Time time.Time `json:"time"`
}

// OpenHandoff creates a ticket on the desk: POST {desk_url}/handoffs.
func (d *Desk) OpenHandoff(ctx context.Context, h sdk.Handoff) (string, error) {
	entries := make([]transcriptEntry, len(h.Transcript))
	for i, e := range h.Transcript {
		entries[i] = transcriptEntry{Role: e.Role, Text: e.Text, Time: e.Time}
	}
	var resp struct {
		Ref string `json:"ref"`
	}
	body := map[string]any{
		"id": h.ID, "conversation_id": h.ConversationID, "channel": h.Channel, "user": h.User,
		"summary": h.Summary, "reason": h.Reason, "transcript": entries,
	}
	if h.Department != "" {
		body["department"] = h.Department // the routed department's desk_id
	}
	err := d.call(ctx, "/handoffs", h.ID, body, &resp)
	if err != nil {
		return "", err
	}
	if resp.Ref == "" {
		return "", sdk.Errorf(sdk.Temporary, "desk answered without a \"ref\"")
	}
	return resp.Ref, nil
}

// RelayToDesk posts a visitor message: POST {desk_url}/handoffs/{ref}/messages.
func (d *Desk) RelayToDesk(ctx context.Context, ref string, msg sdk.DeskMessage) error {
	return d.call(ctx, "/handoffs/"+url.PathEscape(ref)+"/messages", msg.ID,
		map[string]any{"id": msg.ID, "user": msg.User, "text": msg.Text}, nil)
}

// CloseHandoff ends a ticket: POST {desk_url}/handoffs/{ref}/close.
func (d *Desk) CloseHandoff(ctx context.Context, ref string, c sdk.DeskClose) error {
	return d.call(ctx, "/handoffs/"+url.PathEscape(ref)+"/close", c.ID, map[string]any{"id": c.ID, "reason": c.Reason}, nil)
}

// call POSTs JSON with the delivery id as Idempotency-Key and classifies
// the answer for the daemon's retries.
func (d *Desk) call(ctx context.Context, path, id string, body, out any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return sdk.NewError(sdk.Permanent, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.opts.DeskURL+path, bytes.NewReader(data))
	if err != nil {
		return sdk.NewError(sdk.Permanent, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Desk-Secret", d.opts.Secret)
	req.Header.Set("Idempotency-Key", id)
	resp, err := d.client.Do(req)
	if err != nil {
		// A call that went out unanswered may have been carried out; the
		// Idempotency-Key lets the desk drop the retry.
		return sdk.TransportError(fmt.Errorf("desk %s: %w", path, err))
	}
	defer resp.Body.Close()
	payload, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		wait := sdk.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		return sdk.StatusError(resp.StatusCode, wait, fmt.Errorf("desk %s answered %d: %s", path, resp.StatusCode, payload))
	}
	if out != nil {
		if err := json.Unmarshal(payload, out); err != nil {
			return sdk.Errorf(sdk.Temporary, "desk %s: unreadable answer: %w", path, err)
		}
	}
	return nil
}

// compile-time checks of the services the plugin serves.
var (
	_ sdk.Channel = (*Desk)(nil)
	_ sdk.Desk    = (*Desk)(nil)
)
