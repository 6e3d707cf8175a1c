package console

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-chat/switchboard/core/accounts"
	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/live"
	"github.com/switchboard-chat/switchboard/core/routing"
	"github.com/switchboard-chat/switchboard/core/store"
)

// Routing is how the console hands out its queue, from [[departments]]
// and [routing].
type Routing struct {
	// AutoAssign gives waiting conversations to operators.
	AutoAssign bool
	// Departments and their operators' emails (none: every operator).
	Departments []Department
	// Default is the department of a conversation routed nowhere.
	Default string
	// MaxChats is an operator's capacity; OperatorMaxChats overrides it
	// by email.
	MaxChats         int
	OperatorMaxChats map[string]int
	// FirstResponse is the service-level target of a priority; 0: none.
	FirstResponse func(conversation.Priority) time.Duration
	// Alert raises an operational alert (core/alerts); nil: none.
	Alert func(kind, message string, fields map[string]string)
}

// Department is a department as the console assigns it.
type Department struct {
	Name      string
	Operators []string
}

// AlertServiceLevel is the kind of the alert a service-level breach
// raises.
const AlertServiceLevel = "sla_breached"

// EventServiceLevel is the operators' stream event telling a
// department's administrators of a breach.
const EventServiceLevel = "sla_breached"

// ServiceLevelNotice is the data of an EventServiceLevel event.
type ServiceLevelNotice struct {
	ConversationID string                `json:"conversation_id"`
	Department     string                `json:"department"`
	Priority       conversation.Priority `json:"priority"`
	WaitingSince   time.Time             `json:"waiting_since"`
	// recipients are the operator ids told.
	recipients []string
}

// routingPause is the least time between two passes over the queue: a
// busy daemon changes conversations many times a second.
const routingPause = 100 * time.Millisecond

// assigner runs the console's queue: service-level checks, and when
// auto_assign is on, assignment.
type assigner struct {
	kick chan struct{}

	mu  sync.Mutex
	rr  map[string]uint64 // operator id → sequence number of their last assignment
	seq uint64
	// breached are the conversations whose breach is being recorded.
	breached map[string]bool
}

func newAssigner() *assigner {
	return &assigner{kick: make(chan struct{}, 1), rr: map[string]uint64{}, breached: map[string]bool{}}
}

// kickRouting asks for a pass over the queue soon.
func (s *Server) kickRouting() {
	select {
	case s.assign.kick <- struct{}{}:
	default:
	}
}

// runRouting passes over the queue after changes (for automatic
// assignment) and every second (for the service-level targets, too)
// until ctx ends.
func (s *Server) runRouting(ctx context.Context) {
	changes, stop := s.st.Watch("")
	defer stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		timed := false
		select {
		case <-ctx.Done():
			return
		case <-changes:
		case <-s.assign.kick:
		case <-tick.C:
			timed = true
		}
		s.routePass(ctx, timed)
		select {
		case <-ctx.Done():
			return
		case <-time.After(routingPause):
		}
	}
}

// routePass checks the service levels of the waiting conversations and
// assigns what can be assigned. It reads the queue only when it can act
// on it: with automatic assignment and an operator online, or, on the
// timed passes, with a service-level target to check (the targets are
// minutes; a second's delay is nothing to them, and a busy daemon
// changes conversations thousands of times a second).
func (s *Server) routePass(ctx context.Context, timed bool) {
	r := s.cfg.Routing
	accts, err := s.accounts.List()
	if err != nil {
		s.log.WithError(err).Warn("console: read the operators")
		return
	}
	assign := r.AutoAssign && s.anyoneOnline(accts)
	if !assign && !(timed && s.hasServiceLevels()) {
		return
	}
	now := s.cfg.Now()
	var waiting []routing.Waiting
	var breached []string
	err = s.st.EachInState(conversation.WaitingHuman, func(c *store.Conversation) error {
		if !servedHere(*c) {
			return nil
		}
		w := routing.Waiting{ID: c.ID, Department: r.Default, Priority: conversation.PriorityNormal, Since: c.Handoff.RequestedAt, LastOperator: c.Handoff.LastAssignee}
		if rt := c.Handoff.Route; rt != nil {
			w.Department, w.Priority = rt.Department, rt.Priority
			if target := r.FirstResponse(rt.Priority); target > 0 && rt.BreachedAt.IsZero() && now.Sub(c.Handoff.RequestedAt) >= target {
				breached = append(breached, c.ID)
			}
		}
		waiting = append(waiting, w)
		return nil
	})
	if err != nil {
		s.log.WithError(err).Warn("console: read the queue")
		return
	}
	for _, id := range breached {
		s.breach(ctx, id, accts)
	}
	if !assign {
		return
	}
	// Assignment: the operators' load is what they serve now.
	active := map[string]int{}
	err = s.st.EachInState(conversation.Human, func(c *store.Conversation) error {
		if servedHere(*c) && c.Handoff.Assignee != "" {
			active[c.Handoff.Assignee]++
		}
		return nil
	})
	if err != nil {
		s.log.WithError(err).Warn("console: read the served conversations")
		return
	}
	ops := make([]routing.Operator, 0, len(accts))
	for _, a := range accts {
		if a.Disabled {
			continue
		}
		capacity := r.MaxChats
		if n, ok := r.OperatorMaxChats[a.Email]; ok {
			capacity = n
		}
		s.assign.mu.Lock()
		last := s.assign.rr[a.ID]
		s.assign.mu.Unlock()
		ops = append(ops, routing.Operator{
			ID: a.ID, Departments: s.departmentsOf(a.Email), Online: s.presence.status(a.ID) == StatusOnline,
			Capacity: capacity, Active: active[a.ID], LastAssigned: last,
		})
	}
	after := slices.Clone(ops)
	s.assign.mu.Lock()
	out, seq := routing.Assign(waiting, after, s.assign.seq)
	s.assign.seq = seq
	s.assign.mu.Unlock()
	stamp := map[string]uint64{}
	for _, op := range after {
		stamp[op.ID] = op.LastAssigned
	}
	names, emails := map[string]string{}, map[string]string{}
	for _, a := range accts {
		names[a.ID], emails[a.ID] = a.Name, a.Email
	}
	for _, a := range out {
		dctx, cancel := context.WithTimeout(ctx, actionTimeout)
		_, err := s.eng.Do(dctx, a.Conversation, conversation.Claimed{Operator: conversation.Operator{ID: a.Operator, Name: names[a.Operator]}, At: now})
		cancel()
		if err != nil {
			// Claimed, closed or returned meanwhile: the next pass sees it.
			s.log.WithError(err).WithField("conversation_id", a.Conversation).Debug("console: automatic assignment not applied")
			continue
		}
		s.assign.mu.Lock()
		s.assign.rr[a.Operator] = stamp[a.Operator]
		s.assign.mu.Unlock()
		s.log.WithField("conversation_id", a.Conversation).WithField("operator_id", a.Operator).Info("conversation assigned automatically")
		s.audit(ctx, store.AuditEntry{Actor: "routing", Action: "conversation.assign", Target: a.Conversation + " to " + emails[a.Operator], Result: "ok"})
	}
}

// hasServiceLevels reports whether any priority has a first-response
// target.
func (s *Server) hasServiceLevels() bool {
	for _, p := range conversation.Priorities {
		if s.cfg.Routing.FirstResponse(p) > 0 {
			return true
		}
	}
	return false
}

// anyoneOnline reports whether an enabled operator is online, the only
// ones automatic assignment gives conversations to.
func (s *Server) anyoneOnline(accts []store.Operator) bool {
	for _, a := range accts {
		if !a.Disabled && s.presence.status(a.ID) == StatusOnline {
			return true
		}
	}
	return false
}

// departmentsOf lists the departments of an operator.
func (s *Server) departmentsOf(email string) []string {
	var out []string
	for _, d := range s.cfg.Routing.Departments {
		if len(d.Operators) == 0 || slices.Contains(d.Operators, email) {
			out = append(out, d.Name)
		}
	}
	return out
}

// breach records a conversation's service-level breach (which raises
// its priority), alerts, and tells the department's administrators.
func (s *Server) breach(ctx context.Context, id string, accts []store.Operator) {
	s.assign.mu.Lock()
	if s.assign.breached[id] {
		s.assign.mu.Unlock()
		return
	}
	s.assign.breached[id] = true
	s.assign.mu.Unlock()
	defer func() {
		s.assign.mu.Lock()
		delete(s.assign.breached, id)
		s.assign.mu.Unlock()
	}()
	dctx, cancel := context.WithTimeout(ctx, actionTimeout)
	updated, err := s.eng.Do(dctx, id, conversation.ServiceLevelBreached{})
	cancel()
	if err != nil || updated.Handoff == nil || updated.Handoff.Route == nil || updated.Handoff.Route.BreachedAt.IsZero() {
		return
	}
	rt := updated.Handoff.Route
	if s.cfg.Routing.Alert != nil {
		s.cfg.Routing.Alert(AlertServiceLevel, "conversation "+id+" in "+rt.Department+" waited past its first-response target",
			map[string]string{"conversation_id": id, "department": rt.Department, "priority": rt.Priority.String()})
	}
	notice := ServiceLevelNotice{ConversationID: id, Department: rt.Department, Priority: rt.Priority, WaitingSince: updated.Handoff.RequestedAt}
	var dept *Department
	for i, d := range s.cfg.Routing.Departments {
		if d.Name == rt.Department {
			dept = &s.cfg.Routing.Departments[i]
		}
	}
	for _, a := range accts {
		if a.Disabled || a.Role != accounts.RoleAdmin {
			continue
		}
		if dept == nil || len(dept.Operators) == 0 || slices.Contains(dept.Operators, a.Email) {
			notice.recipients = append(notice.recipients, a.ID)
		}
	}
	if len(notice.recipients) == 0 { // a department without its own admins: every admin
		for _, a := range accts {
			if !a.Disabled && a.Role == accounts.RoleAdmin {
				notice.recipients = append(notice.recipients, a.ID)
			}
		}
	}
	s.live.Publish(live.Signal{Kind: live.Alert, ConversationID: id, From: live.FromBot, Data: notice})
}
