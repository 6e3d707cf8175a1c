package console

import (
	"net/http"
	"slices"
	"sync"

	"github.com/switchboard-chat/switchboard/core/accounts"
	"github.com/switchboard-chat/switchboard/core/httpapi"
	"github.com/switchboard-chat/switchboard/core/live"
)

// Operator statuses.
const (
	StatusOnline  = "online"
	StatusAway    = "away"
	StatusOffline = "offline"
)

var statuses = []string{StatusOnline, StatusAway, StatusOffline}

// Presence is the payload of a live.Presence signal: an operator's status
// as colleagues see it.
type Presence struct {
	OperatorID string `json:"operator_id"`
	Name       string `json:"name"`
	Status     string `json:"status"`
}

// presence keeps each operator's chosen status and open consoles in
// memory: an operator with no console open is offline whatever they chose.
type presence struct {
	mu  sync.Mutex
	ops map[string]*opPresence
}

type opPresence struct {
	chosen string
	conns  int
}

func newPresence() *presence { return &presence{ops: map[string]*opPresence{}} }

func (p *presence) get(id string) *opPresence {
	o := p.ops[id]
	if o == nil {
		o = &opPresence{chosen: StatusOnline}
		p.ops[id] = o
	}
	return o
}

func (o *opPresence) effective() string {
	if o.conns == 0 {
		return StatusOffline
	}
	return o.chosen
}

// change applies f to an operator's presence and reports the status
// colleagues see, and whether it changed.
func (p *presence) change(id string, f func(*opPresence)) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	o := p.get(id)
	before := o.effective()
	f(o)
	return o.effective(), o.effective() != before
}

// status is what colleagues see of an operator.
func (p *presence) status(id string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.get(id).effective()
}

// chosen is the status an operator chose for themselves.
func (p *presence) chosen(id string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.get(id).chosen
}

// connected counts a console stream of the operator in (+1) or out (-1).
func (s *Server) connected(me signedIn, delta int) {
	if st, changed := s.presence.change(me.op.ID, func(o *opPresence) { o.conns += delta }); changed {
		s.kickRouting()
		s.live.Publish(live.Signal{Kind: live.Presence, From: "operator", Data: Presence{OperatorID: me.op.ID, Name: me.op.Name, Status: st}})
	}
}

func (s *Server) setPresence(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Status string `json:"status"`
	}
	if !httpapi.DecodeJSON(w, r, &req) {
		return
	}
	if !slices.Contains(statuses, req.Status) {
		httpapi.WriteError(w, http.StatusBadRequest, "bad_request", `"status" must be one of online, away, offline`)
		return
	}
	me := operatorOf(r.Context())
	st, changed := s.presence.change(me.op.ID, func(o *opPresence) { o.chosen = req.Status })
	if changed {
		s.kickRouting()
		s.live.Publish(live.Signal{Kind: live.Presence, From: "operator", Data: Presence{OperatorID: me.op.ID, Name: me.op.Name, Status: st}})
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]string{"status": req.Status})
}

// listOperators lists the active operators with their status, for
// transfers and the team's presence; ?all=1 adds the disabled ones for an
// admin.
func (s *Server) listOperators(w http.ResponseWriter, r *http.Request) {
	ops, err := s.accounts.List()
	if err != nil {
		s.internalError(w, "list operators", err)
		return
	}
	all := r.URL.Query().Get("all") == "1" && operatorOf(r.Context()).op.Role == accounts.RoleAdmin
	out := []operatorView{}
	for _, op := range ops {
		if op.Disabled && !all {
			continue
		}
		v := viewOperator(op)
		v.Status = s.presence.status(op.ID)
		v.Disabled = op.Disabled
		out = append(out, v)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"operators": out})
}

// AnyoneOnline reports whether an operator is online: a console open and
// the status "online" (not away).
func (s *Server) AnyoneOnline() bool {
	s.presence.mu.Lock()
	defer s.presence.mu.Unlock()
	for _, o := range s.presence.ops {
		if o.effective() == StatusOnline {
			return true
		}
	}
	return false
}
