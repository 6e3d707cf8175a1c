package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/switchboard-chat/switchboard/sdk"
)

// questionLimit bounds the transcript put in a visitor conversation's
// opening question.
const questionLimit = 8000

// OpenHandoff opens a SalesIQ conversation on the visitor's behalf through
// the Visitor API, with the summary and transcript as its question. The
// reference is SalesIQ's numeric conversation id, which data webhooks carry
// as entity_id. SalesIQ takes no idempotency key: a repeated call opens a
// second conversation, so Configure does not declare it idempotent.
func (c *Channel) OpenHandoff(ctx context.Context, h sdk.Handoff) (string, error) {
	st := c.state()
	if st == nil {
		return "", sdk.Errorf(sdk.Permanent, "salesiq: not configured")
	}
	name := h.User.Name
	if name == "" {
		name = h.User.ID
	}
	body := map[string]any{
		"visitor":       map[string]string{"user_id": h.Channel + ":" + h.User.ID, "name": name},
		"app_id":        string(st.opts.AppID),
		"department_id": st.department(h.Department),
		"question":      question(h),
	}
	var data struct {
		ConversationID flexString `json:"conversation_id"`
	}
	path := fmt.Sprintf("/api/visitor/v1/%s/conversations", url.PathEscape(st.opts.ScreenName))
	if err := st.api.call(ctx, http.MethodPost, path, body, &data); err != nil {
		return "", fmt.Errorf("open salesiq conversation for %s:%s: %w", h.Channel, h.User.ID, err)
	}
	if data.ConversationID == "" {
		return "", sdk.Errorf(sdk.Permanent, "open salesiq conversation: the answer has no conversation_id")
	}
	return string(data.ConversationID), nil
}

// department is the SalesIQ department a handoff goes to: the routed
// one's id when the daemon chose one, else the configured department_id.
func (st *state) department(routed string) string {
	if routed != "" {
		return routed
	}
	return string(st.opts.DepartmentID)
}

// question is the opening message operators see: summary, then transcript.
func question(h sdk.Handoff) string {
	var b strings.Builder
	b.WriteString(h.Summary)
	if h.Summary == "" {
		b.WriteString("A visitor on " + h.Channel + " needs a human (" + h.Reason + ")")
	}
	if len(h.Transcript) > 0 {
		b.WriteString("\n\nTranscript:")
		for _, e := range h.Transcript {
			b.WriteString("\n[" + e.Role + "] " + e.Text)
		}
	}
	q := b.String()
	if r := []rune(q); len(r) > questionLimit {
		q = string(r[:questionLimit-1]) + "…"
	}
	return q
}

// RelayToDesk posts the visitor's message into the SalesIQ conversation.
func (c *Channel) RelayToDesk(ctx context.Context, ref string, msg sdk.DeskMessage) error {
	st := c.state()
	if st == nil {
		return sdk.Errorf(sdk.Permanent, "salesiq: not configured")
	}
	path := fmt.Sprintf("/api/visitor/v1/%s/conversations/%s/messages", url.PathEscape(st.opts.ScreenName), url.PathEscape(ref))
	if err := st.api.call(ctx, http.MethodPost, path, map[string]string{"text": msg.Text}, nil); err != nil {
		return fmt.Errorf("relay to salesiq conversation %s: %w", ref, err)
	}
	return nil
}

// CloseHandoff ends the SalesIQ conversation (the visitor went back to the
// bot). A conversation SalesIQ refuses to close, typically because the
// operator already ended it, counts as closed.
func (c *Channel) CloseHandoff(ctx context.Context, ref string, cl sdk.DeskClose) error {
	st := c.state()
	if st == nil {
		return sdk.Errorf(sdk.Permanent, "salesiq: not configured")
	}
	path := fmt.Sprintf("/api/v2/%s/conversations/%s/close", url.PathEscape(st.opts.ScreenName), url.PathEscape(ref))
	err := st.api.call(ctx, http.MethodPut, path, nil, nil)
	var se *sdk.Error
	if err != nil && errors.As(err, &se) && se.Kind == sdk.Permanent && !errors.Is(err, errAuth) {
		st.log.Warn("salesiq refused to close the conversation; treating it as closed",
			"conversation", ref, "reason", cl.Reason, "error", err.Error())
		return nil
	}
	if err != nil {
		return fmt.Errorf("close salesiq conversation %s: %w", ref, err)
	}
	return nil
}
