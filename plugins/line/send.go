package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/sdk"
)

// roleOperator is the Outbound.Role of a human operator's reply.
const roleOperator = "operator"

// textMessage is a LINE text message object, with quick reply buttons on
// the last one of a delivery.
type textMessage struct {
	Type       string      `json:"type"`
	Text       string      `json:"text"`
	QuickReply *quickReply `json:"quickReply,omitempty"`
}

// quickReply is a message's quick reply buttons: up to 13 items, each an
// action (message: sends its text as the user's message; postback: sends
// a postback event with its data, showing displayText as the user's
// message).
type quickReply struct {
	Items []quickReplyItem `json:"items"`
}

type quickReplyItem struct {
	Type   string      `json:"type"` // always "action"
	Action replyAction `json:"action"`
}

type replyAction struct {
	Type        string `json:"type"` // "message" or "postback"
	Label       string `json:"label"`
	Text        string `json:"text,omitempty"`
	Data        string `json:"data,omitempty"`
	DisplayText string `json:"displayText,omitempty"`
}

// Limits of quick replies: 13 items, labels of 20 characters, texts and
// postback data of 300.
const (
	maxQuickReplies = 13
	maxLabelChars   = 20
	maxActionChars  = 300
)

// textMessages are the message objects of the parts, with choices as the
// last one's quick replies.
func textMessages(parts []string, choices []sdk.Choice) []textMessage {
	out := make([]textMessage, len(parts))
	for i, p := range parts {
		out[i] = textMessage{Type: "text", Text: p}
	}
	if len(out) > 0 {
		out[len(out)-1].QuickReply = quickReplies(choices)
	}
	return out
}

// quickReplies turns choices into quick reply buttons: a postback action
// for a choice with Data, a message action otherwise. Choices past 13, and
// ones whose text or data LINE would refuse, are left out; nil for none.
func quickReplies(choices []sdk.Choice) *quickReply {
	var items []quickReplyItem
	for _, c := range choices {
		label := cut(c.Label, maxLabelChars)
		if label == "" {
			label = cut(c.Text, maxLabelChars)
		}
		a := replyAction{Type: "message", Label: label, Text: c.Text}
		if c.Data != "" {
			a = replyAction{Type: "postback", Label: label, Data: c.Data, DisplayText: cut(c.Label, maxActionChars)}
		}
		if label == "" || len([]rune(a.Text+a.Data)) > maxActionChars || a.Text+a.Data == "" {
			continue
		}
		items = append(items, quickReplyItem{Type: "action", Action: a})
		if len(items) == maxQuickReplies {
			break
		}
	}
	if len(items) == 0 {
		return nil
	}
	return &quickReply{Items: items}
}

// cut shortens s to at most n characters, marking a cut with "…".
func cut(s string, n int) string {
	r := []rune(strings.TrimSpace(s))
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n-1]) + "…"
}

// errInvalidReplyToken marks a reply refused because its token is used or
// expired; the message then goes out as a push.
var errInvalidReplyToken = errors.New("invalid reply token")

// Send delivers a text (OutText) or shows the loading animation (OutTyping).
//
// A bot answer goes out with the Reply API when the conversation's latest
// reply token is younger than reply_window, unused, and the whole text fits
// one call (at most 5 messages of at most 5000 UTF-16 units); if LINE
// refuses the young token, an earlier attempt of this delivery used it and
// the message is reported as possibly delivered. Operator messages, late answers
// and longer texts use the Push API, one call per 5 messages, each with the
// retry key [retryKey](Outbound.ID, call index), so retries of a message
// never duplicate a call LINE already accepted (409 counts as success).
func (c *Channel) Send(ctx context.Context, out sdk.Outbound) (sdk.SendResult, error) {
	cfg, err := c.config()
	if err != nil {
		return sdk.SendResult{}, err
	}
	switch out.Kind {
	case sdk.OutText, "":
		return c.sendText(ctx, cfg, out)
	case sdk.OutTyping:
		return sdk.SendResult{}, c.showLoading(ctx, cfg, out)
	default:
		return sdk.SendResult{}, sdk.Errorf(sdk.Permanent, "line: outbound kind %q is not supported", out.Kind)
	}
}

func (c *Channel) sendText(ctx context.Context, cfg *config, out sdk.Outbound) (sdk.SendResult, error) {
	if out.Conversation == "" {
		return sdk.SendResult{}, sdk.Errorf(sdk.Permanent, "line: outbound %s has no conversation", out.ID)
	}
	calls := batches(sdk.SplitText(out.Text, TextLimit, sdk.UTF16Units), maxMessagesPerCall)
	if len(calls) == 0 {
		return sdk.SendResult{}, sdk.Errorf(sdk.Permanent, "line: outbound %s has no text", out.ID)
	}
	token, ok := c.replyToken(cfg, out)
	if by, used := c.tokens.usedBy(token); ok && used {
		if by == out.ID {
			// An earlier attempt of this delivery used the token: LINE has
			// the message.
			return sdk.SendResult{}, sdk.Errorf(sdk.OutcomeUnknown, "line reply for %s: an earlier attempt already used its reply token; not sending it again", out.ID)
		}
		ok = false // another delivery used it: push
	}
	if ok && len(calls) == 1 {
		ids, err := c.reply(ctx, cfg, token, out.ID, textMessages(calls[0], out.Choices))
		switch {
		case err == nil:
			return sdk.SendResult{NativeID: ids}, nil
		case errors.Is(err, errInvalidReplyToken):
			// The token is young and ours alone: an earlier attempt whose
			// answer was lost (a dropped connection, a restart) used it.
			// Pushing now would show the message twice.
			return sdk.SendResult{}, sdk.NewError(sdk.OutcomeUnknown, fmt.Errorf("line reply for %s: %w; most likely delivered by an earlier attempt", out.ID, err))
		}
		return sdk.SendResult{}, err
	}
	if out.ID == "" {
		c.log.Warn("line outbound has no ID; pushing without a retry key", "conversation", out.Conversation)
	}
	var ids []string
	for i, parts := range calls {
		key := ""
		if out.ID != "" {
			key = retryKey(out.ID, i)
		}
		var choices []sdk.Choice
		if i == len(calls)-1 {
			choices = out.Choices
		}
		got, err := c.push(ctx, cfg, out.Conversation, textMessages(parts, choices), key)
		if err != nil {
			return sdk.SendResult{}, fmt.Errorf("push %d of %d: %w", i+1, len(calls), err)
		}
		if got != "" {
			ids = append(ids, got)
		}
	}
	return sdk.SendResult{NativeID: strings.Join(ids, ",")}, nil
}

// replyToken returns the delivery's reply token when a bot answer may use
// it: not an operator message, younger than the reply window.
func (c *Channel) replyToken(cfg *config, out sdk.Outbound) (string, bool) {
	token := out.Context[ctxReplyToken]
	if out.Role == roleOperator || token == "" || cfg.replyWindow <= 0 {
		return "", false
	}
	ms, err := strconv.ParseInt(out.Context[ctxReplyTokenAt], 10, 64)
	if err != nil {
		return "", false
	}
	age := c.now().Sub(time.UnixMilli(ms))
	return token, age < cfg.replyWindow
}

// reply sends one Reply API call. The token is remembered as used after a
// success or when LINE refuses it; after other errors LINE has sent nothing
// and the token may still serve a retry.
func (c *Channel) reply(ctx context.Context, cfg *config, token, outID string, msgs []textMessage) (string, error) {
	res := c.call(ctx, cfg, http.MethodPost, "/v2/bot/message/reply", map[string]any{
		"replyToken": token,
		"messages":   msgs,
	}, nil)
	switch {
	case res.err == nil && res.status < 300:
		c.tokens.add(token, outID, c.now())
		return res.sentIDs(), nil
	case res.status == http.StatusBadRequest && strings.Contains(strings.ToLower(res.apiErr.Message), "reply token"):
		c.tokens.add(token, outID, c.now())
		return "", fmt.Errorf("line reply: %w: %s", errInvalidReplyToken, res.describe())
	}
	// A reply whose answer was lost is safe to retry: if LINE took it, the
	// token is used up and the retry is refused (see sendText).
	return "", c.classify("line reply", res, true)
}

// push sends one Push API call with the retry key (none when key is "").
// A 409 for an accepted retry key is a success.
func (c *Channel) push(ctx context.Context, cfg *config, to string, msgs []textMessage, key string) (string, error) {
	var header http.Header
	if key != "" {
		header = http.Header{"X-Line-Retry-Key": {key}}
	}
	res := c.call(ctx, cfg, http.MethodPost, "/v2/bot/message/push", map[string]any{
		"to":       to,
		"messages": msgs,
	}, header)
	switch {
	case res.err == nil && res.status < 300:
		return res.sentIDs(), nil
	case res.status == http.StatusConflict && key != "" && alreadyAccepted(res):
		c.log.Debug("line push already accepted", "retry_key", key, "accepted_request_id", res.header.Get("X-Line-Accepted-Request-Id"))
		return res.sentIDs(), nil
	}
	return "", c.classify("line push to "+to, res, key != "")
}

// alreadyAccepted reports whether a 409 says the retry key was accepted.
func alreadyAccepted(res result) bool {
	return res.header.Get("X-Line-Accepted-Request-Id") != "" ||
		strings.Contains(strings.ToLower(res.apiErr.Message), "already accepted")
}

// showLoading shows the loading animation, which LINE offers in 1:1 chats
// only; groups and rooms are skipped.
func (c *Channel) showLoading(ctx context.Context, cfg *config, out sdk.Outbound) error {
	if !isUserChat(out) {
		return nil
	}
	res := c.call(ctx, cfg, http.MethodPost, "/v2/bot/chat/loading/start", map[string]any{
		"chatId":         out.Conversation,
		"loadingSeconds": cfg.loadingSeconds,
	}, nil)
	if res.err == nil && res.status < 300 {
		return nil
	}
	return c.classify("line loading animation", res, true)
}

// isUserChat reports whether the outbound goes to a 1:1 chat: by the
// source type its events recorded, else by LINE's user id prefix "U".
func isUserChat(out sdk.Outbound) bool {
	if st := out.Context[ctxSourceType]; st != "" {
		return st == "user"
	}
	return strings.HasPrefix(out.Conversation, "U")
}

// batches groups messages into calls of at most n.
func batches(parts []string, n int) [][]string {
	var out [][]string
	for len(parts) > n {
		out = append(out, parts[:n])
		parts = parts[n:]
	}
	if len(parts) > 0 {
		out = append(out, parts)
	}
	return out
}
