package engine

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/routing"
	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

// The model's transfer_to_human offers the departments and priorities;
// its choice is the handoff's route, and the desk is opened in the
// department's desk id. A rule on the visitor's line beats it.
func TestHandoffRouting(t *testing.T) {
	tbl := &routing.Table{Default: "general",
		Departments: []routing.Department{{Name: "general"}, {Name: "billing"}, {Name: "technical"}},
		Rules:       []routing.Rule{{Name: "outage", Match: regexp.MustCompile(`(?i)outage`), Department: "technical", Priority: conversation.PriorityUrgent}},
	}
	for _, tc := range []struct {
		line, dept, by, desk string
		priority             conversation.Priority
	}{
		{"I was charged twice", "billing", "model", "siq-billing", conversation.PriorityHigh},
		{"there is an outage", "technical", "rule:outage", "", conversation.PriorityUrgent},
	} {
		t.Run(tc.dept, func(t *testing.T) {
			var schema string
			llm := &model{turn: func(_ int, req sdk.ChatRequest) (string, []sdk.ToolCall, error) {
				schema = string(req.Tools[0].Parameters)
				return "", []sdk.ToolCall{{Name: "transfer_to_human", Arguments: json.RawMessage(`{"reason":"payment","department":"billing","priority":"high"}`)}}, nil
			}}
			cfg := testConfig()
			cfg.Rules.Desk = "desk"
			cfg.Routing = tbl
			cfg.DeskIDs = map[string]string{"billing": "siq-billing"}
			h := newHarness(t, cfg, llm)
			id := h.visitor("a", tc.line)
			h.eventually("the desk to get the handoff", func() bool {
				h.ch["desk"].mu.Lock()
				defer h.ch["desk"].mu.Unlock()
				return len(h.ch["desk"].opened) == 1
			})
			r := h.conv(id).Handoff.Route
			if r == nil || r.Department != tc.dept || r.By != tc.by || r.Priority != tc.priority || r.Language != "en" {
				t.Fatalf("route %+v", r)
			}
			h.ch["desk"].mu.Lock()
			got := h.ch["desk"].opened[0].Department
			h.ch["desk"].mu.Unlock()
			if got != tc.desk {
				t.Errorf("desk department %q, want %q", got, tc.desk)
			}
			if !strings.Contains(schema, `"enum":["general","billing","technical"]`) || !strings.Contains(schema, `"enum":["low","normal","high","urgent"]`) {
				t.Errorf("tool schema %s", schema)
			}
		})
	}
}

// The customer's tier comes from the customer lookup's profile, else
// the conversation's "tier" context value; without either a tier rule
// does not match.
func TestRouteTier(t *testing.T) {
	cfg := testConfig()
	cfg.Routing = &routing.Table{Default: "general",
		Departments: []routing.Department{{Name: "general"}, {Name: "vip"}},
		Rules:       []routing.Rule{{Name: "gold", Tier: "gold", Department: "vip", Priority: conversation.PriorityUrgent}},
	}
	h := newHarness(t, cfg, nil)
	for _, tc := range []struct {
		name    string
		profile *store.Profile
		context map[string]string
		want    string
	}{
		{"profile", &store.Profile{Tier: "gold"}, map[string]string{"tier": "silver"}, "vip"},
		{"context", nil, map[string]string{"tier": "gold"}, "vip"},
		{"profile without a tier", &store.Profile{Name: "Ann"}, nil, "general"},
		{"absent", nil, nil, "general"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ef := &effects{conv: store.Conversation{ID: "c_none", Channel: "tg", Profile: tc.profile, Context: tc.context,
				Status: conversation.Status{State: conversation.WaitingHuman, Handoff: &conversation.Handoff{Cause: conversation.CauseAPI}}}}
			h.eng.route(context.Background(), ef, conversation.HandoffRequested{Cause: conversation.CauseAPI})
			if r := ef.conv.Handoff.Route; r == nil || r.Department != tc.want {
				t.Errorf("route %+v, want department %s", r, tc.want)
			}
		})
	}
}
