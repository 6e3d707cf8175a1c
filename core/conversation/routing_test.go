package conversation

import (
	"reflect"
	"testing"
)

// routed is a waiting console conversation routed to billing.
func routed(p Priority, breached bool) Conversation {
	c := waiting()
	c.Handoff.Desk = ConsoleDesk
	c.Handoff.Route = &Route{Department: "billing", Priority: p, By: "default"}
	if breached {
		c.Handoff.Route.BreachedAt = t0
	}
	return c
}

func TestServiceLevelBreached(t *testing.T) {
	raised := routed(PriorityHigh, false)
	raised.Handoff.Route = &Route{Department: "billing", Priority: PriorityHigh, By: "default", BreachedAt: now, Raised: "service_level"}
	urgent := routed(PriorityUrgent, false)
	urgent.Handoff.Route = &Route{Department: "billing", Priority: PriorityUrgent, By: "default", BreachedAt: now}
	served := routed(PriorityNormal, false)
	served.State = Human
	for _, tc := range []struct {
		name    string
		from    Conversation
		want    Conversation
		actions []Action
	}{
		{"raises the priority once", routed(PriorityNormal, false), raised, []Action{Escalated{Department: "billing", From: PriorityNormal, To: PriorityHigh}}},
		{"urgent stays urgent", routed(PriorityUrgent, false), urgent, []Action{Escalated{Department: "billing", From: PriorityUrgent, To: PriorityUrgent}}},
		{"a second breach is stale", routed(PriorityNormal, true), routed(PriorityNormal, true), nil},
		{"served meanwhile", served, served, nil},
		{"unrouted", waiting(), waiting(), nil},
		{"bot", bot(), bot(), nil},
		{"closed", closed(), closed(), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := clone(tc.from)
			got, actions := NewMachine(policy()).Step(tc.from, ServiceLevelBreached{}, now)
			if !reflect.DeepEqual(got, tc.want) || !reflect.DeepEqual(actions, tc.actions) {
				t.Errorf("got %+v %+v, want %+v %+v", got.Handoff, actions, tc.want.Handoff, tc.actions)
			}
			if !reflect.DeepEqual(tc.from, before) || (tc.from.Handoff != nil && tc.from.Handoff.Route != nil && !tc.from.Handoff.Route.BreachedAt.Equal(before.Handoff.Route.BreachedAt)) {
				t.Errorf("Step changed its input")
			}
		})
	}
}

// A new handoff remembers who held the last one, for a returning
// customer.
func TestHandoffRemembersTheLastAssignee(t *testing.T) {
	c := closed()
	c.Handoff.Assignee = "op-1"
	got, _ := NewMachine(policy()).Step(c, HandoffRequested{Cause: CauseAPI}, now)
	if got.Handoff.LastAssignee != "op-1" || got.Handoff.Assignee != "" {
		t.Errorf("handoff %+v", got.Handoff)
	}
	got.State = Closed
	again, _ := NewMachine(policy()).Step(got, HandoffRequested{Cause: CauseAPI}, now)
	if again.Handoff.LastAssignee != "op-1" {
		t.Errorf("an unserved handoff forgot the last assignee: %+v", again.Handoff)
	}
}
