package engine

import (
	"context"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/routing"
)

// TierContextKey is the conversation context value read as the
// customer's tier when the customer lookup gave none.
const TierContextKey = "tier"

// routeLines is how many of the visitor's latest lines the classifier
// reads.
const routeLines = 10

// route classifies a new handoff and keeps the result with it: ev is the
// event that handed the conversation off (the model's suggestion rides on
// a ModelTransferred).
func (e *Engine) route(ctx context.Context, ef *effects, ev conversation.Event) {
	h := ef.conv.Handoff
	if e.cfg.Routing == nil || h == nil {
		return
	}
	in := routing.Input{Channel: ef.conv.Channel}
	if t, ok := ev.(conversation.ModelTransferred); ok {
		in.Hint = t.Hint
	}
	history, err := e.st.LastMessages(ef.conv.ID, 2*routeLines)
	if err != nil {
		e.logFor(ef.conv).WithError(err).Warn("read transcript for routing")
	}
	for _, m := range append(history, ef.messages...) {
		if m.Role == conversation.RoleVisitor && !m.Private {
			in.Lines = append(in.Lines, m.Text)
		}
	}
	if n := len(in.Lines); n > routeLines {
		in.Lines = in.Lines[n-routeLines:]
	}
	in.Tier = ef.conv.Context[TierContextKey]
	if p := ef.conv.Profile; p != nil && p.Tier != "" {
		in.Tier = p.Tier // the customer lookup's ([crm])
	}
	r := e.cfg.Routing.Classify(in)
	// A new value: the caller's copy of the status stays as it was.
	routed := *h
	routed.Route = &r
	ef.conv.Handoff = &routed
	e.logFor(ef.conv).WithFields(map[string]any{"department": r.Department, "priority": r.Priority.String(), "by": r.By}).Info("handoff routed")
}

// deskDepartment is the desk-side id of the department a handoff was
// routed to; "" for none.
func (e *Engine) deskDepartment(h *conversation.Handoff) string {
	if h == nil || h.Route == nil {
		return ""
	}
	return e.cfg.DeskIDs[h.Route.Department]
}

// departmentOf is the department a handoff is in: its route's, else the
// default department ("" without routing).
func (e *Engine) departmentOf(h *conversation.Handoff) string {
	if h.Route != nil {
		return h.Route.Department
	}
	if e.cfg.Routing != nil {
		return e.cfg.Routing.Default
	}
	return ""
}
