package console

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/switchboard-chat/switchboard/core/accounts"
	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/engine"
	"github.com/switchboard-chat/switchboard/core/httpapi"
	"github.com/switchboard-chat/switchboard/core/internal/routes"
	"github.com/switchboard-chat/switchboard/core/live"
	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

func (s *Server) routes(mux *routes.Table) {
	mux.HandleFunc("POST /op/v1/login", s.login)
	mux.HandleFunc("POST /op/v1/logout", s.logout)
	mux.HandleFunc("POST /op/v1/setup", s.setup)
	mux.HandleFunc("GET /op/v1/me", s.authed(s.me))
	mux.HandleFunc("PUT /op/v1/me/presence", s.authed(s.setPresence))
	mux.HandleFunc("GET /op/v1/operators", s.authed(s.listOperators))
	mux.HandleFunc("POST /op/v1/operators", s.authed(s.admin("the team", s.addOperator)))
	mux.HandleFunc("POST /op/v1/operators/{id}/disable", s.authed(s.admin("the team", s.setDisabled(true))))
	mux.HandleFunc("POST /op/v1/operators/{id}/enable", s.authed(s.admin("the team", s.setDisabled(false))))
	mux.HandleFunc("GET /op/v1/events", s.authed(s.events))
	mux.HandleFunc("GET /op/v1/conversations", s.authed(s.listConversations))
	mux.HandleFunc("GET /op/v1/conversations/{id}", s.authed(s.getConversation))
	mux.HandleFunc("GET /op/v1/conversations/{id}/messages", s.authed(s.listMessages))
	mux.HandleFunc("POST /op/v1/conversations/{id}/messages", s.authed(s.postMessage))
	mux.HandleFunc("POST /op/v1/conversations/{id}/typing", s.authed(s.typing))
	mux.HandleFunc("POST /op/v1/conversations/{id}/claim", s.authed(s.action("claim", claim)))
	mux.HandleFunc("POST /op/v1/conversations/{id}/release", s.authed(s.action("release", release)))
	mux.HandleFunc("POST /op/v1/conversations/{id}/transfer", s.authed(s.transfer))
	mux.HandleFunc("POST /op/v1/conversations/{id}/close", s.authed(s.action("close", closeConv)))
	mux.HandleFunc("POST /op/v1/conversations/{id}/takeover", s.authed(s.action("takeover", takeover)))
	mux.HandleFunc("POST /op/v1/conversations/{id}/return-to-bot", s.authed(s.action("return_to_bot", returnToBot)))
	mux.HandleFunc("GET /op/v1/canned", s.authed(s.listCanned))
	mux.HandleFunc("POST /op/v1/canned", s.authed(s.saveCanned))
	mux.HandleFunc("PUT /op/v1/canned/{id}", s.authed(s.saveCanned))
	mux.HandleFunc("DELETE /op/v1/canned/{id}", s.authed(s.deleteCanned))
	mux.HandleFunc("GET /op/v1/kb/gaps", s.authed(s.admin(kbWhat, s.listGaps)))
	mux.HandleFunc("POST /op/v1/kb/gaps/dismiss", s.authed(s.admin(kbWhat, s.dismissGap)))
	mux.HandleFunc("POST /op/v1/kb/entries", s.authed(s.admin(kbWhat, s.saveEntry)))
	mux.HandleFunc("/op/", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteError(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
}

// ConversationView is a conversation as the console shows it, in lists
// and in the event stream.
type ConversationView struct {
	ID          string             `json:"id"`
	Channel     string             `json:"channel"`
	User        sdk.User           `json:"user"`
	State       conversation.State `json:"state"`
	CreatedAt   time.Time          `json:"created_at"`
	UpdatedAt   time.Time          `json:"updated_at"`
	Unreachable bool               `json:"unreachable,omitempty"`
	// Console says the console's operators serve it (waiting or served on
	// the console desk).
	Console bool `json:"console"`
	// WaitingSince is when it started waiting for a person, while it does.
	WaitingSince *time.Time   `json:"waiting_since,omitempty"`
	Handoff      *HandoffView `json:"handoff,omitempty"`
	LastMessage  *MessageView `json:"last_message,omitempty"`
	// ActivityAt is the later of its last change and its last message:
	// of two views of one conversation, the one with the later ActivityAt
	// is current.
	ActivityAt time.Time `json:"activity_at"`
	// Profile is what the customer lookup said about the visitor.
	Profile *store.Profile `json:"profile,omitempty"`
}

// TicketCard is a ticket linked to a conversation, as its details show it.
type TicketCard struct {
	ID        uint64    `json:"id"`
	Subject   string    `json:"subject"`
	Status    string    `json:"status"`
	Priority  string    `json:"priority"`
	CreatedAt time.Time `json:"created_at"`
}

// HandoffView is the current or last handoff of a conversation.
type HandoffView struct {
	Cause       conversation.Cause `json:"cause"`
	Reason      string             `json:"reason,omitempty"`
	RequestedAt time.Time          `json:"requested_at"`
	Desk        string             `json:"desk,omitempty"`
	Native      bool               `json:"native,omitempty"`
	Operator    string             `json:"operator,omitempty"`
	Assignee    string             `json:"assignee,omitempty"`
	JoinedAt    *time.Time         `json:"joined_at,omitempty"`
	// Summary is what a desk would be told: who, where, why, last words.
	Summary string `json:"summary,omitempty"`
	// Route is the department, priority and tags the handoff was given,
	// and what chose them.
	Route *conversation.Route `json:"route,omitempty"`
}

// MessageView is a transcript line as the console shows it.
type MessageView struct {
	ID          uint64                 `json:"id"`
	Role        conversation.Role      `json:"role"`
	Text        string                 `json:"text"`
	Attachments []sdk.Attachment       `json:"attachments,omitempty"`
	Private     bool                   `json:"private,omitempty"`
	Author      *conversation.Operator `json:"author,omitempty"`
	// Sources are the knowledge-base entries a bot answer was drawn from.
	Sources   []conversation.Source `json:"sources,omitempty"`
	CreatedAt time.Time             `json:"created_at"`
}

func viewMessage(m store.Message) MessageView {
	return MessageView{ID: m.ID, Role: m.Role, Text: m.Text, Attachments: m.Attachments, Private: m.Private, Author: m.Author,
		Sources: m.Sources, CreatedAt: m.CreatedAt}
}

// servedHere says whether the console's operators serve c.
func servedHere(c store.Conversation) bool {
	h := c.Handoff
	return (c.State == conversation.WaitingHuman || c.State == conversation.Human) && h != nil && !h.Native && h.Desk == conversation.ConsoleDesk
}

// view builds a conversation's view; last is its latest message, if any,
// and lastVisitor the visitor's latest line (for the summary).
func view(c store.Conversation, last *store.Message, lastVisitor string) ConversationView {
	v := ConversationView{
		ID: c.ID, Channel: c.Channel, User: c.User, State: c.State, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		Unreachable: c.Unreachable, Console: servedHere(c), ActivityAt: c.UpdatedAt, Profile: c.Profile,
	}
	if h := c.Handoff; h != nil {
		reason := h.Reason
		if reason == "" {
			reason = "handoff (" + string(h.Cause) + ")"
		}
		v.Handoff = &HandoffView{
			Cause: h.Cause, Reason: h.Reason, RequestedAt: h.RequestedAt, Desk: h.Desk, Native: h.Native,
			Operator: h.Operator, Assignee: h.Assignee, Summary: engine.HandoffSummary(c.User, c.Channel, reason, lastVisitor),
			Route: h.Route,
		}
		if !h.JoinedAt.IsZero() {
			v.Handoff.JoinedAt = &h.JoinedAt
		}
		if c.State == conversation.WaitingHuman {
			v.WaitingSince = &h.RequestedAt
		}
	}
	if last != nil {
		m := viewMessage(*last)
		v.LastMessage = &m
		if m.CreatedAt.After(v.ActivityAt) {
			v.ActivityAt = m.CreatedAt
		}
	}
	// A line leaves the record as it was (store.ActivityTimes): updated_at
	// is the same time as in the REST API.
	v.UpdatedAt = v.ActivityAt
	return v
}

// recentLines is how many of a conversation's latest lines are read to
// find the visitor's last words for its summary.
const recentLines = 20

// viewOf reads what a conversation's view needs besides the conversation.
func (s *Server) viewOf(c store.Conversation) (ConversationView, error) {
	msgs, err := s.st.LastMessages(c.ID, recentLines)
	if err != nil {
		return ConversationView{}, err
	}
	return viewWith(c, msgs), nil
}

// viewWith builds a view from a conversation and its latest messages.
func viewWith(c store.Conversation, recent []store.Message) ConversationView {
	var last *store.Message
	lastVisitor := ""
	if n := len(recent); n > 0 {
		last = &recent[n-1]
	}
	for i := len(recent) - 1; i >= 0; i-- {
		if recent[i].Role == conversation.RoleVisitor {
			lastVisitor = recent[i].Text
			break
		}
	}
	return view(c, last, lastVisitor)
}

// listLimit bounds the bot and closed lists: they show the newest.
const listLimit = 200

// listConversations serves ?state= (empty: the console's queue, waiting
// and served; bot and closed: the newest) and ?assignee=me|none.
func (s *Server) listConversations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := conversation.State(q.Get("state"))
	if state != "" && !state.Valid() {
		httpapi.WriteError(w, http.StatusBadRequest, "bad_request", "unknown state "+strconv.Quote(string(state))+"; one of bot, waiting_human, human, closed")
		return
	}
	assignee := q.Get("assignee")
	if assignee != "" && assignee != "me" && assignee != "none" {
		httpapi.WriteError(w, http.StatusBadRequest, "bad_request", `assignee: "me" or "none"`)
		return
	}
	limit := listLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			httpapi.WriteError(w, http.StatusBadRequest, "bad_request", "limit: must be a number from 1 to 1000")
			return
		}
		limit = n
	}
	var convs []store.Conversation
	var err error
	switch state {
	case "":
		for _, st := range []conversation.State{conversation.WaitingHuman, conversation.Human} {
			var list []store.Conversation
			if list, err = s.st.ListConversations(st, 0); err != nil {
				break
			}
			convs = append(convs, list...)
		}
	case conversation.WaitingHuman, conversation.Human:
		convs, err = s.st.ListConversations(state, 0)
	default:
		convs, err = s.st.RecentConversations(state, limit)
	}
	if err != nil {
		s.internalError(w, "list conversations", err)
		return
	}
	me := operatorOf(r.Context()).op.ID
	out := []ConversationView{}
	for _, c := range convs {
		if (state == "" || state == conversation.WaitingHuman || state == conversation.Human) && !servedHere(c) {
			continue
		}
		held := ""
		if c.Handoff != nil {
			held = c.Handoff.Assignee
		}
		if (assignee == "me" && held != me) || (assignee == "none" && held != "") {
			continue
		}
		v, err := s.viewOf(c)
		if err != nil {
			s.internalError(w, "read conversation "+c.ID, err)
			return
		}
		out = append(out, v)
	}
	// Waiting first, highest priority then longest wait first; then the
	// most recently active.
	slices.SortStableFunc(out, func(a, b ConversationView) int {
		if (a.WaitingSince == nil) != (b.WaitingSince == nil) {
			if a.WaitingSince != nil {
				return -1
			}
			return 1
		}
		if a.WaitingSince != nil {
			if pa, pb := priorityOf(a), priorityOf(b); pa != pb {
				return cmp.Compare(pb, pa)
			}
			return a.WaitingSince.Compare(*b.WaitingSince)
		}
		return b.ActivityAt.Compare(a.ActivityAt)
	})
	if len(out) > limit {
		out = out[:limit]
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"conversations": out})
}

// priorityOf is a view's priority: normal when it was not routed.
func priorityOf(v ConversationView) conversation.Priority {
	if v.Handoff != nil && v.Handoff.Route != nil {
		return v.Handoff.Route.Priority
	}
	return conversation.PriorityNormal
}

// conversation loads the {id} of the path, answering 404 itself.
func (s *Server) conversation(w http.ResponseWriter, r *http.Request) (store.Conversation, bool) {
	id := r.PathValue("id")
	c, err := s.st.Conversation(id)
	if errors.Is(err, store.ErrNotFound) {
		httpapi.WriteError(w, http.StatusNotFound, "not_found", "conversation "+id+" not found")
		return c, false
	}
	if err != nil {
		s.internalError(w, "read conversation "+id, err)
		return c, false
	}
	return c, true
}

// detail is a conversation with what its page shows besides the
// transcript.
type detail struct {
	ConversationView
	Transitions []conversation.Transition `json:"transitions"`
	// Tickets are the tickets opened for the conversation.
	Tickets []TicketCard `json:"tickets"`
}

func (s *Server) getConversation(w http.ResponseWriter, r *http.Request) {
	c, ok := s.conversation(w, r)
	if !ok {
		return
	}
	v, err := s.viewOf(c)
	if err != nil {
		s.internalError(w, "read conversation "+c.ID, err)
		return
	}
	ts, err := s.st.Transitions(c.ID)
	if err != nil {
		s.internalError(w, "read transitions of "+c.ID, err)
		return
	}
	if ts == nil {
		ts = []conversation.Transition{}
	}
	tickets, err := s.st.TicketsOf(c.ID)
	if err != nil {
		s.internalError(w, "read tickets of "+c.ID, err)
		return
	}
	cards := make([]TicketCard, len(tickets))
	for i, t := range tickets {
		cards[i] = TicketCard{ID: t.ID, Subject: t.Subject, Status: t.Status, Priority: t.Priority, CreatedAt: t.CreatedAt}
	}
	httpapi.WriteJSON(w, http.StatusOK, detail{ConversationView: v, Transitions: ts, Tickets: cards})
}

// listMessages serves the whole transcript, bot turns and private notes
// included, after ?after= (a message id), at most ?limit= (default 500).
func (s *Server) listMessages(w http.ResponseWriter, r *http.Request) {
	c, ok := s.conversation(w, r)
	if !ok {
		return
	}
	var after uint64
	if v := r.URL.Query().Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			httpapi.WriteError(w, http.StatusBadRequest, "bad_request", "after: not a message id: "+strconv.Quote(v))
			return
		}
		after = n
	}
	limit := 500
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 5000 {
			httpapi.WriteError(w, http.StatusBadRequest, "bad_request", "limit: must be a number from 1 to 5000")
			return
		}
		limit = n
	}
	msgs, err := s.st.Messages(c.ID, after, limit)
	if err != nil {
		s.internalError(w, "read messages of "+c.ID, err)
		return
	}
	out := make([]MessageView, len(msgs))
	for i, m := range msgs {
		out[i] = viewMessage(m)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"messages": out})
}

// actionTimeout bounds how long a request waits for the conversation's
// lane to apply it.
const actionTimeout = 30 * time.Second

// me is the signed-in operator as the conversation rules name them.
func me(r *http.Request) (conversation.Operator, bool) {
	op := operatorOf(r.Context()).op
	return conversation.Operator{ID: op.ID, Name: op.Name}, op.Role == accounts.RoleAdmin
}

func claim(op conversation.Operator, _ bool) conversation.Event {
	return conversation.Claimed{Operator: op}
}
func release(op conversation.Operator, admin bool) conversation.Event {
	return conversation.Released{Operator: op, Force: admin}
}
func closeConv(op conversation.Operator, admin bool) conversation.Event {
	return conversation.OperatorClosed{Operator: op, Force: admin}
}
func takeover(op conversation.Operator, _ bool) conversation.Event {
	return conversation.TakenOver{Operator: op}
}
func returnToBot(op conversation.Operator, admin bool) conversation.Event {
	return conversation.ReturnedToBot{Operator: op, Force: admin}
}

// action serves an operator's request on a conversation: 200 with the
// conversation after it, 409 when the rules refused it.
func (s *Server) action(name string, event func(op conversation.Operator, admin bool) conversation.Event) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, ok := s.conversation(w, r)
		if !ok {
			return
		}
		op, admin := me(r)
		s.do(w, r, c, "conversation."+name, "", event(op, admin))
	}
}

// do runs an operator's request, audits it and answers with the
// conversation after it (or a conflict).
func (s *Server) do(w http.ResponseWriter, r *http.Request, c store.Conversation, action, detail string, ev conversation.Event) {
	ctx, cancel := context.WithTimeout(r.Context(), actionTimeout)
	defer cancel()
	updated, err := s.eng.Do(ctx, c.ID, ev)
	s.kickRouting() // a close, release or transfer may free a place
	result := "ok"
	if err != nil {
		result = "refused: " + err.Error()
	}
	if action != "" {
		me := operatorOf(r.Context()).op
		target := c.ID
		if detail != "" {
			target += " " + detail
		}
		s.audit(r.Context(), store.AuditEntry{
			Actor: "operator:" + me.Email, Action: action, Target: target,
			SourceIP: httpapi.ClientIP(r, s.cfg.TrustedProxies).String(), Result: result,
		})
	}
	switch {
	case errors.Is(err, engine.ErrConflict):
		httpapi.WriteError(w, http.StatusConflict, "conflict", strings.TrimPrefix(err.Error(), engine.ErrConflict.Error()+": "))
		return
	case err != nil:
		s.internalError(w, "update conversation "+c.ID, err)
		return
	}
	v, err := s.viewOf(updated)
	if err != nil {
		s.internalError(w, "read conversation "+c.ID, err)
		return
	}
	status := http.StatusOK
	if _, ok := ev.(conversation.OperatorMessage); ok {
		status = http.StatusAccepted
	}
	httpapi.WriteJSON(w, status, map[string]any{"conversation": v})
}

func (s *Server) transfer(w http.ResponseWriter, r *http.Request) {
	c, ok := s.conversation(w, r)
	if !ok {
		return
	}
	var req struct {
		OperatorID string `json:"operator_id"`
	}
	if !httpapi.DecodeJSON(w, r, &req) {
		return
	}
	to, err := s.accounts.Get(req.OperatorID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && to.Disabled) || req.OperatorID == "" {
		httpapi.WriteError(w, http.StatusBadRequest, "bad_request", "no active operator "+strconv.Quote(req.OperatorID))
		return
	}
	if err != nil {
		s.internalError(w, "read operator", err)
		return
	}
	from, admin := me(r)
	ev := conversation.Transferred{From: from, To: conversation.Operator{ID: to.ID, Name: to.Name}, Force: admin}
	s.do(w, r, c, "conversation.transfer", "to "+to.Email, ev)
}

// postMessage sends an operator's reply to the visitor (through the
// conversation's own channel) or, private, writes a note for colleagues.
func (s *Server) postMessage(w http.ResponseWriter, r *http.Request) {
	c, ok := s.conversation(w, r)
	if !ok {
		return
	}
	var req struct {
		Text    string `json:"text"`
		Private bool   `json:"private"`
	}
	if !httpapi.DecodeJSON(w, r, &req) {
		return
	}
	text := strings.TrimSpace(req.Text)
	switch n := utf8.RuneCountInString(text); {
	case n == 0:
		httpapi.WriteError(w, http.StatusBadRequest, "bad_request", `"text" is required`)
		return
	case n > MaxMessage:
		httpapi.WriteError(w, http.StatusBadRequest, "too_long", "the message has "+strconv.Itoa(n)+" characters; the limit is "+strconv.Itoa(MaxMessage))
		return
	}
	if !req.Private {
		if msg := replyRefusal(c); msg != "" {
			httpapi.WriteError(w, http.StatusConflict, "conflict", msg)
			return
		}
	}
	op, _ := me(r)
	ev := conversation.OperatorMessage{Operator: op, Text: text, Private: req.Private}
	s.do(w, r, c, "", "", ev)
}

// replyRefusal says why an operator cannot answer the visitor of c now,
// or returns "".
func replyRefusal(c store.Conversation) string {
	switch {
	case c.State == conversation.Bot:
		return "the bot is answering this conversation; take it over first"
	case c.State == conversation.Closed:
		return "the conversation is closed"
	case !servedHere(c):
		return "the conversation is served on another desk"
	}
	return ""
}

// typing tells the visitor (and colleagues) that the operator is typing.
func (s *Server) typing(w http.ResponseWriter, r *http.Request) {
	c, ok := s.conversation(w, r)
	if !ok {
		return
	}
	op, _ := me(r)
	s.live.Publish(live.Signal{Kind: live.Typing, ConversationID: c.ID, From: "operator", Data: op})
	w.WriteHeader(http.StatusNoContent)
}

// listCanned lists the saved replies.
func (s *Server) listCanned(w http.ResponseWriter, _ *http.Request) {
	list, err := s.st.CannedReplies()
	if err != nil {
		s.internalError(w, "list saved replies", err)
		return
	}
	if list == nil {
		list = []store.CannedReply{}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"canned": list})
}

// maxShortcut is the longest shortcut of a saved reply, in characters.
const maxShortcut = 32

// saveCanned creates (POST) or replaces (PUT …/{id}) a saved reply.
func (s *Server) saveCanned(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Shortcut string `json:"shortcut"`
		Text     string `json:"text"`
	}
	if !httpapi.DecodeJSON(w, r, &req) {
		return
	}
	short := strings.TrimPrefix(strings.TrimSpace(req.Shortcut), "/")
	text := strings.TrimSpace(req.Text)
	if msg := checkShortcut(short); msg != "" {
		httpapi.WriteError(w, http.StatusBadRequest, "bad_request", msg)
		return
	}
	if n := utf8.RuneCountInString(text); n == 0 || n > MaxMessage {
		httpapi.WriteError(w, http.StatusBadRequest, "bad_request", `"text" is required, up to `+strconv.Itoa(MaxMessage)+" characters")
		return
	}
	me := operatorOf(r.Context()).op
	now := s.cfg.Now().UTC()
	c := store.CannedReply{ID: r.PathValue("id"), Shortcut: short, Text: text, CreatedBy: me.Name, CreatedAt: now, UpdatedAt: now}
	err := s.st.Update(r.Context(), func(tx *store.Tx) error {
		c.CreatedAt, c.CreatedBy = now, me.Name
		if c.ID != "" {
			old, err := store.CannedReplyTx(tx, c.ID)
			if err != nil {
				return err
			}
			c.CreatedAt, c.CreatedBy = old.CreatedAt, old.CreatedBy
		}
		return store.PutCannedReplyTx(tx, &c)
	})
	switch {
	case errors.Is(err, store.ErrExists):
		httpapi.WriteError(w, http.StatusConflict, "conflict", "a saved reply with the shortcut /"+short+" exists")
		return
	case errors.Is(err, store.ErrNotFound):
		httpapi.WriteError(w, http.StatusNotFound, "not_found", "no saved reply "+strconv.Quote(c.ID))
		return
	case err != nil:
		s.internalError(w, "save the reply", err)
		return
	}
	status := http.StatusOK
	if r.Method == http.MethodPost {
		status = http.StatusCreated
	}
	httpapi.WriteJSON(w, status, c)
}

// checkShortcut explains what is wrong with a shortcut, or returns "".
func checkShortcut(short string) string {
	n := utf8.RuneCountInString(short)
	if n == 0 || n > maxShortcut {
		return `"shortcut" is required, up to ` + strconv.Itoa(maxShortcut) + " characters"
	}
	for _, c := range short {
		if !(c == '-' || c == '_' || c == '.' || unicode.IsLetter(c) || unicode.IsDigit(c)) {
			return `"shortcut" may hold letters, digits, "-", "_" and "." only, no spaces`
		}
	}
	return ""
}

func (s *Server) deleteCanned(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	err := s.st.Update(r.Context(), func(tx *store.Tx) error { return store.DeleteCannedReplyTx(tx, id) })
	if errors.Is(err, store.ErrNotFound) {
		httpapi.WriteError(w, http.StatusNotFound, "not_found", "no saved reply "+strconv.Quote(id))
		return
	}
	if err != nil {
		s.internalError(w, "delete the reply", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
