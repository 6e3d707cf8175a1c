package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/switchboard-chat/switchboard/sdk"
)

// Send answers a SalesIQ visitor. Texts and handoffs go to the Zobot
// request left pending by HandleWebhook (the callback API); a handoff with
// no request left to answer uses the transfer API instead. Typing is not
// shown (see Configure).
func (c *Channel) Send(ctx context.Context, out sdk.Outbound) (sdk.SendResult, error) {
	st := c.state()
	if st == nil {
		return sdk.SendResult{}, sdk.Errorf(sdk.Permanent, "salesiq: not configured")
	}
	if err := ctx.Err(); err != nil {
		return sdk.SendResult{}, sdk.NewError(sdk.Temporary, err)
	}
	switch out.Kind {
	case sdk.OutText, "":
		return sdk.SendResult{}, st.reply(ctx, out)
	case sdk.OutHandoff:
		return sdk.SendResult{}, st.forward(ctx, out)
	case sdk.OutTyping:
		return sdk.SendResult{}, nil
	default:
		return sdk.SendResult{}, sdk.Errorf(sdk.Permanent, "salesiq: cannot send %q", out.Kind)
	}
}

// openRequest returns the Zobot request id an outbound may answer: each
// pending request takes one answer, so a request already answered by another
// delivery is not reused (a retry of the same delivery is).
func (st *state) openRequest(out sdk.Outbound) (string, bool) {
	rid := out.Context[ctxRequestID]
	if rid == "" {
		return "", false
	}
	if by, done := st.answered.get(rid); done && by != out.ID {
		return "", false
	}
	return rid, true
}

// reply answers the pending request with the text.
func (st *state) reply(ctx context.Context, out sdk.Outbound) error {
	rid, ok := st.openRequest(out)
	if !ok {
		return sdk.Errorf(sdk.Permanent, "salesiq: no pending Zobot request left to answer in conversation %s (SalesIQ takes one answer per visitor message)", out.Conversation)
	}
	return st.respond(ctx, rid, out.ID, zobotAnswer{Action: "reply", Replies: []string{out.Text}})
}

// forward hands the visitor to the routed (or configured) department: a "forward"
// answer to the pending request, or, with none left, a chat transfer.
func (st *state) forward(ctx context.Context, out sdk.Outbound) error {
	if rid, ok := st.openRequest(out); ok {
		replies := []string{}
		if out.Text != "" {
			replies = append(replies, out.Text)
		}
		return st.respond(ctx, rid, out.ID, zobotAnswer{
			Action: "forward", Department: st.department(out.Department),
			Operators: st.opts.Operators, Replies: replies,
		})
	}
	conv := out.Context[ctxConversationID]
	if conv == "" {
		return sdk.Errorf(sdk.Permanent, "salesiq: conversation %s has neither a pending Zobot request nor a SalesIQ conversation id to transfer", out.Conversation)
	}
	note := out.Reason
	if note == "" {
		note = "handed off by the assistant"
	}
	path := fmt.Sprintf("/api/v2/%s/conversations/%s/transfer", url.PathEscape(st.opts.ScreenName), url.PathEscape(conv))
	err := st.api.call(ctx, http.MethodPut, path, map[string]string{"department_id": st.department(out.Department), "note": note}, nil)
	if err != nil {
		return fmt.Errorf("transfer conversation %s: %w", conv, err)
	}
	return nil
}

// respond posts the final answer of a pending Zobot request.
func (st *state) respond(ctx context.Context, rid, outID string, answer zobotAnswer) error {
	path := fmt.Sprintf("/api/v2/%s/callbacks/%s/response", url.PathEscape(st.opts.ScreenName), url.PathEscape(rid))
	if err := st.api.call(ctx, http.MethodPost, path, answer, nil); err != nil {
		return fmt.Errorf("answer zobot request %s with %s: %w", rid, answer.Action, err)
	}
	st.answered.put(rid, outID)
	return nil
}
