package conversation

// Routing: which department a handoff goes to, how urgent it is, and
// the service-level breach that raises it. The classification itself is
// done outside the rules (core/routing); the rules keep its result with
// the handoff and apply the breach.

import (
	"fmt"
	"time"
)

// Priority orders waiting conversations: a higher one is served first.
type Priority int

// Priorities, lowest first.
const (
	PriorityLow Priority = iota
	PriorityNormal
	PriorityHigh
	PriorityUrgent
)

// Priorities lists every priority, lowest first.
var Priorities = []Priority{PriorityLow, PriorityNormal, PriorityHigh, PriorityUrgent}

var priorityNames = [...]string{"low", "normal", "high", "urgent"}

// String is the priority's name: low, normal, high or urgent.
func (p Priority) String() string {
	if p < PriorityLow || p > PriorityUrgent {
		return fmt.Sprintf("priority(%d)", int(p))
	}
	return priorityNames[p]
}

// ParsePriority reads a priority's name.
func ParsePriority(s string) (Priority, error) {
	for i, n := range priorityNames {
		if n == s {
			return Priority(i), nil
		}
	}
	return 0, fmt.Errorf("unknown priority %q; one of low, normal, high, urgent", s)
}

// PriorityNames lists the names of the priorities, lowest first.
func PriorityNames() []string { return priorityNames[:] }

// MarshalText writes the priority's name.
func (p Priority) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads a priority's name.
func (p *Priority) UnmarshalText(b []byte) error {
	v, err := ParsePriority(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// Route is where a handoff was sent and why: kept with the handoff.
type Route struct {
	// Department is the name of the department that serves it.
	Department string `json:"department"`
	// Priority orders the department's queue.
	Priority Priority `json:"priority"`
	// Tags are labels for the operators (from the rule that matched).
	Tags []string `json:"tags,omitempty"`
	// By says what chose the department: "rule:<name>", "model",
	// "language", "channel" or "default".
	By string `json:"by"`
	// Language is the visitor's detected language (ISO 639-1), if any.
	Language string `json:"language,omitempty"`
	// Raised says why the priority is above what the department choice
	// gave: "sentiment", "model" or "service_level".
	Raised string `json:"raised,omitempty"`
	// BreachedAt is when the first-response target passed with nobody
	// answering; zero if it has not.
	BreachedAt time.Time `json:"breached_at,omitzero"`
}

// RouteHint is what the model said about the handoff in its
// transfer_to_human call.
type RouteHint struct {
	Department string
	Priority   string
}

// ServiceLevelBreached is the first-response target of a waiting
// conversation passing: its priority goes up one level.
type ServiceLevelBreached struct{}

// Escalated records a service-level breach of the handoff (the engine
// emits the event and the alert).
type Escalated struct {
	Department string
	From, To   Priority
}

func (ServiceLevelBreached) isEvent() {}
func (Escalated) isAction()           {}

// breach applies a [ServiceLevelBreached]: only to a conversation still
// waiting that has not breached before.
func (s *step) breach() {
	h := s.c.Handoff
	if s.c.State != WaitingHuman || h == nil || h.Route == nil || !h.Route.BreachedAt.IsZero() {
		return
	}
	r := *h.Route
	r.Tags = append([]string(nil), r.Tags...)
	from := r.Priority
	r.BreachedAt = s.now
	if r.Priority < PriorityUrgent {
		r.Priority++
		r.Raised = "service_level"
	}
	h.Route = &r
	s.emit(Escalated{Department: r.Department, From: from, To: r.Priority})
}

// lastAssignee is who held the previous handoff, or before it.
func lastAssignee(prev *Handoff) string {
	if prev == nil {
		return ""
	}
	if prev.Assignee != "" {
		return prev.Assignee
	}
	return prev.LastAssignee
}
