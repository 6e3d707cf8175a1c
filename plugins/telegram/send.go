package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/switchboard-chat/switchboard/sdk"
)

// sentMessage is the part of sendMessage's result the plugin reads.
type sentMessage struct {
	MessageID int64 `json:"message_id"`
}

// Send delivers one outbound: text with sendMessage (plain text, no
// parse_mode, split into parts of at most 4096 UTF-16 code units, the
// choices as buttons under the last part), typing with sendChatAction.
//
// A text split into several messages is sent part by part. If part k
// fails, Send returns that part's error; the parts before it are
// delivered and remembered (see progress), so the daemon's retry of the
// same Outbound.ID resumes at part k. A Permanent or Blocked failure of
// part k leaves the earlier parts delivered and the rest in the dead
// letter; an OutcomeUnknown one (no answer) is recorded by the daemon as
// possibly delivered and the remaining parts are not sent.
func (c *Channel) Send(ctx context.Context, out sdk.Outbound) (sdk.SendResult, error) {
	st, err := c.state()
	if err != nil {
		return sdk.SendResult{}, err
	}
	chatID, err := strconv.ParseInt(out.Conversation, 10, 64)
	if err != nil || chatID == 0 {
		return sdk.SendResult{}, sdk.Errorf(sdk.Permanent, "telegram: conversation %q is not a chat id", out.Conversation)
	}
	if err := ctx.Err(); err != nil {
		return sdk.SendResult{}, sdk.NewError(sdk.Temporary, fmt.Errorf("send to chat %d: %w", chatID, err))
	}
	switch out.Kind {
	case sdk.OutTyping:
		return sdk.SendResult{}, c.sendTyping(ctx, st, chatID, out)
	case sdk.OutText, "":
		return c.sendText(ctx, st, chatID, out)
	default:
		return sdk.SendResult{}, sdk.Errorf(sdk.Permanent, "telegram: cannot send a %q outbound to chat %d", out.Kind, chatID)
	}
}

func (c *Channel) sendTyping(ctx context.Context, st *state, chatID int64, out sdk.Outbound) error {
	params := map[string]any{"chat_id": chatID, "action": "typing"}
	if thread := contextInt(out.Context, "thread_id"); thread != 0 {
		params["message_thread_id"] = thread
	}
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	if err := st.api.call(ctx, "sendChatAction", params, nil); err != nil {
		return classify(fmt.Sprintf("sendChatAction to chat %d", chatID), err)
	}
	return nil
}

func (c *Channel) sendText(ctx context.Context, st *state, chatID int64, out sdk.Outbound) (sdk.SendResult, error) {
	parts := sdk.SplitText(out.Text, textLimit, sdk.UTF16Units)
	if len(parts) == 0 {
		return sdk.SendResult{}, sdk.Errorf(sdk.Permanent, "telegram: empty text for chat %d", chatID)
	}
	var last sentMessage
	for i := c.progress.delivered(out.ID); i < len(parts); i++ {
		if err := ctx.Err(); err != nil {
			return sdk.SendResult{}, sdk.NewError(sdk.Temporary, fmt.Errorf("sendMessage to chat %d (part %d of %d): %w", chatID, i+1, len(parts), err))
		}
		params := map[string]any{"chat_id": chatID, "text": parts[i]}
		if thread := contextInt(out.Context, "thread_id"); thread != 0 {
			params["message_thread_id"] = thread
		}
		if i == 0 && isGroup(out.Context) {
			// In a group, answer the visitor's message so it is clear
			// whom the bot talks to.
			if msg := contextInt(out.Context, "message_id"); msg != 0 {
				params["reply_parameters"] = map[string]any{"message_id": msg, "allow_sending_without_reply": true}
			}
		}
		if m := replyMarkup(out.Choices); m != nil && i == len(parts)-1 {
			params["reply_markup"] = m
		}
		msg, err := c.sendMessage(ctx, st, params)
		if err != nil {
			what := fmt.Sprintf("sendMessage to chat %d", chatID)
			if len(parts) > 1 {
				what += fmt.Sprintf(" (part %d of %d)", i+1, len(parts))
			}
			return sdk.SendResult{}, classify(what, err)
		}
		if len(parts) > 1 {
			c.progress.record(out.ID, i+1)
		}
		last = msg
	}
	c.progress.forget(out.ID)
	return sdk.SendResult{NativeID: strconv.FormatInt(last.MessageID, 10)}, nil
}

// sendMessage makes one sendMessage call. When Telegram answers that the
// group became a supergroup (400 with migrate_to_chat_id), it sends to the
// new chat once.
func (c *Channel) sendMessage(ctx context.Context, st *state, params map[string]any) (sentMessage, error) {
	var msg sentMessage
	cctx, cancel := context.WithTimeout(ctx, sendTimeout)
	err := st.api.call(cctx, "sendMessage", params, &msg)
	cancel()
	var ae *apiError
	if errors.As(err, &ae) && ae.Code == http.StatusBadRequest && ae.MigrateTo != 0 {
		st.log.Info("telegram group migrated to a supergroup; sending there", "chat_id", params["chat_id"], "new_chat_id", ae.MigrateTo)
		params["chat_id"] = ae.MigrateTo
		delete(params, "reply_parameters")
		cctx, cancel := context.WithTimeout(ctx, sendTimeout)
		defer cancel()
		err = st.api.call(cctx, "sendMessage", params, &msg)
	}
	return msg, err
}

func contextInt(ctx map[string]string, key string) int64 {
	n, _ := strconv.ParseInt(ctx[key], 10, 64)
	return n
}

func isGroup(ctx map[string]string) bool {
	t := ctx["chat_type"]
	return t == "group" || t == "supergroup"
}

// maxButtonsInRow is how many inline buttons share a row (the five rating
// stars); more choices get a row each.
const maxButtonsInRow = 5

// replyMarkup shows choices as buttons: choices with Data as an inline
// keyboard under the message, whose presses come back as callback queries
// (postbacks); otherwise a one-time reply keyboard whose buttons send
// their text as the visitor's message. nil without choices.
func replyMarkup(choices []sdk.Choice) map[string]any {
	type inlineButton struct {
		Text         string `json:"text"`
		CallbackData string `json:"callback_data"`
	}
	type keyButton struct {
		Text string `json:"text"`
	}
	var inline []inlineButton
	var keys [][]keyButton
	for _, c := range choices {
		switch {
		case c.Data != "":
			label := c.Label
			if label == "" {
				label = c.Text
			}
			inline = append(inline, inlineButton{Text: label, CallbackData: c.Data})
		case c.Text != "":
			keys = append(keys, []keyButton{{Text: c.Text}})
		}
	}
	switch {
	case len(inline) > 0:
		var rows [][]inlineButton
		if len(inline) <= maxButtonsInRow {
			rows = [][]inlineButton{inline}
		} else {
			for _, b := range inline {
				rows = append(rows, []inlineButton{b})
			}
		}
		return map[string]any{"inline_keyboard": rows}
	case len(keys) > 0:
		return map[string]any{"keyboard": keys, "one_time_keyboard": true, "resize_keyboard": true}
	}
	return nil
}
