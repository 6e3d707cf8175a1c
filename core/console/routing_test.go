package console

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/core/accounts"
	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/routing"
)

// priorities routes "urgent" and "whenever" lines to those priorities.
func priorities() *routing.Table {
	return &routing.Table{Default: "general", Departments: []routing.Department{{Name: "general"}},
		Rules: []routing.Rule{
			{Name: "urgent", Match: regexp.MustCompile(`urgent`), Priority: conversation.PriorityUrgent, Tags: []string{"hot"}},
			{Name: "later", Match: regexp.MustCompile(`whenever`), Priority: conversation.PriorityLow},
		}}
}

func targets(p conversation.Priority) time.Duration {
	if p == conversation.PriorityLow {
		return 30 * time.Minute
	}
	return 5 * time.Minute
}

// The queue is full; the operator closes a chat and the highest-priority,
// oldest waiting conversation is given to them at once.
func TestDrainOnClose(t *testing.T) {
	e := newRoutedEnv(t, priorities(), Routing{AutoAssign: true, Default: "general",
		Departments: []Department{{Name: "general"}}, MaxChats: 1, FirstResponse: targets})
	ann := e.operator("ann@example.com", "Ann", accounts.RoleAgent)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := ann.stream(ctx, "") // online while a console is open
	next(t, events, EventReady, nil)

	first := e.waiting("1", "hello")
	e.eventually("the first conversation to go to Ann", func() bool {
		c, _ := e.st.Conversation(first)
		return c.State == conversation.Human && c.Handoff.Assignee == ann.id
	})
	low := e.waiting("2", "whenever you can")
	normal := e.waiting("3", "a question")
	urgent := e.waiting("4", "this is urgent")
	urgentLater := e.waiting("5", "urgent too")
	// Ann is full: they all wait, shown highest priority first.
	var list struct {
		Conversations []ConversationView `json:"conversations"`
	}
	ann.do("GET", "/op/v1/conversations?assignee=none", nil, &list)
	var order []string
	for _, c := range list.Conversations {
		order = append(order, c.ID)
	}
	if want := []string{urgent, urgentLater, normal, low}; strings.Join(order, ",") != strings.Join(want, ",") {
		t.Fatalf("queue %v, want %v", order, want)
	}
	if r := list.Conversations[0].Handoff.Route; r == nil || r.Priority != conversation.PriorityUrgent || r.By != "rule:urgent" || r.Tags[0] != "hot" {
		t.Errorf("the console shows the route %+v", r)
	}

	if code := ann.do("POST", "/op/v1/conversations/"+first+"/close", nil, nil); code != 200 {
		t.Fatalf("close: %d", code)
	}
	closed := time.Now()
	e.eventually("the urgent conversation to go to Ann", func() bool {
		c, _ := e.st.Conversation(urgent)
		return c.State == conversation.Human && c.Handoff.Assignee == ann.id
	})
	t.Logf("assigned %s after the close", time.Since(closed))
	for _, id := range []string{low, normal, urgentLater} {
		if c, _ := e.st.Conversation(id); c.State != conversation.WaitingHuman {
			t.Errorf("%s is %s: Ann has room for one", id, c.State)
		}
	}
	// Manual claims keep working beside automatic assignment.
	bob := e.operator("bob@example.com", "Bob", accounts.RoleAgent)
	if code := bob.do("POST", "/op/v1/conversations/"+low+"/claim", nil, nil); code != 200 {
		t.Errorf("manual claim: %d", code)
	}
}

// A conversation waiting past its first-response target is raised one
// priority, recorded, and its department's admins are told.
func TestServiceLevelBreach(t *testing.T) {
	alerts := make(chan map[string]string, 4)
	e := newRoutedEnv(t, priorities(), Routing{Default: "general", Departments: []Department{{Name: "general"}}, MaxChats: 1,
		FirstResponse: targets, Alert: func(kind, _ string, fields map[string]string) {
			if kind == AlertServiceLevel {
				alerts <- fields
			}
		}})
	boss := e.operator("boss@example.com", "Boss", accounts.RoleAdmin)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := boss.stream(ctx, "")
	next(t, events, EventReady, nil)
	id := e.waiting("9", "a question")
	e.clock.add(6 * time.Minute)
	ev := next(t, events, EventServiceLevel, nil)
	var n ServiceLevelNotice
	json.Unmarshal([]byte(ev.data), &n)
	if n.ConversationID != id || n.Priority != conversation.PriorityHigh || n.Department != "general" {
		t.Errorf("notice %s", ev.data)
	}
	if f := <-alerts; f["conversation_id"] != id || f["priority"] != "high" {
		t.Errorf("alert %v", f)
	}
	c, _ := e.st.Conversation(id)
	if r := c.Handoff.Route; r.Priority != conversation.PriorityHigh || r.BreachedAt.IsZero() || r.Raised != "service_level" {
		t.Errorf("route after the breach %+v", r)
	}
	evs, _, err := e.st.EventsAfter(0, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range evs {
		found = found || ev.Type == "handoff.sla_breached"
	}
	if !found {
		t.Error("no handoff.sla_breached event")
	}
}
