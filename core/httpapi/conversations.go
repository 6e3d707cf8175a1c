package httpapi

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/core/httplimit"
	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"

	"github.com/switchboard-chat/switchboard/core/conversation"
)

// conversationView is a conversation as the API shows it.
type conversationView struct {
	ID        string             `json:"id"`
	Channel   string             `json:"channel"`
	User      sdk.User           `json:"user"`
	State     conversation.State `json:"state"`
	CreatedAt time.Time          `json:"created_at"`
	UpdatedAt time.Time          `json:"updated_at"`
	// Handoff describes the current or last handoff to humans.
	Handoff *handoffView `json:"handoff,omitempty"`
	// Unreachable is true when the visitor blocked the bot.
	Unreachable bool `json:"unreachable,omitempty"`
	// Profile is what the customer lookup said about the visitor.
	Profile *store.Profile `json:"profile,omitempty"`
}

type handoffView struct {
	Cause       conversation.Cause `json:"cause"`
	Reason      string             `json:"reason,omitempty"`
	RequestedAt time.Time          `json:"requested_at"`
	Desk        string             `json:"desk,omitempty"`
	Operator    string             `json:"operator,omitempty"`
	JoinedAt    *time.Time         `json:"joined_at,omitempty"`
}

// viewConversation builds c's view; activity is when anything last
// happened in it (store.ActivityTimes), its updated_at.
func viewConversation(c store.Conversation, activity time.Time) conversationView {
	v := conversationView{ID: c.ID, Channel: c.Channel, User: c.User, State: c.State, CreatedAt: c.CreatedAt, UpdatedAt: activity, Unreachable: c.Unreachable, Profile: c.Profile}
	if h := c.Handoff; h != nil {
		v.Handoff = &handoffView{Cause: h.Cause, Reason: h.Reason, RequestedAt: h.RequestedAt, Desk: h.Desk, Operator: h.Operator}
		if !h.JoinedAt.IsZero() {
			v.Handoff.JoinedAt = &h.JoinedAt
		}
	}
	return v
}

// messageView is a transcript message as the API shows it.
type messageView struct {
	ID          string            `json:"id"`
	Role        conversation.Role `json:"role"`
	Text        string            `json:"text"`
	Attachments []sdk.Attachment  `json:"attachments,omitempty"`
	// Private marks an operator's note, which the visitor never sees.
	Private bool `json:"private,omitempty"`
	// Sources are the knowledge-base entries a bot answer was drawn from.
	Sources   []conversation.Source `json:"sources,omitempty"`
	CreatedAt time.Time             `json:"created_at"`
}

func viewMessage(m store.Message) messageView {
	return messageView{ID: strconv.FormatUint(m.ID, 10), Role: m.Role, Text: m.Text, Attachments: m.Attachments, Private: m.Private, Sources: m.Sources, CreatedAt: m.CreatedAt}
}

func (s *Server) createConversation(w http.ResponseWriter, r *http.Request) {
	var req struct {
		User sdk.User `json:"user"`
	}
	if !decodeJSON(w, r, &req) {
		return
	}
	if strings.TrimSpace(req.User.ID) == "" {
		writeError(w, http.StatusBadRequest, "bad_request", `"user.id" is required`)
		return
	}
	c, err := s.store.CreateConversation(r.Context(), store.Conversation{Channel: APIChannel, User: req.User})
	if err != nil {
		s.internalError(w, "create conversation", err)
		return
	}
	w.Header().Set("Location", "/v1/conversations/"+c.ID)
	s.writeConversation(w, http.StatusCreated, c)
}

func (s *Server) listConversations(w http.ResponseWriter, r *http.Request) {
	state := conversation.State(r.URL.Query().Get("state"))
	if state != "" && !state.Valid() {
		writeError(w, http.StatusBadRequest, "bad_request", "unknown state "+strconv.Quote(string(state))+"; one of bot, waiting_human, human, closed")
		return
	}
	p, ok := pageParams(w, r, orderAsc)
	if !ok {
		return
	}
	convs, err := s.store.ConversationPage(state, p.Page)
	if err != nil {
		s.internalError(w, "list conversations", err)
		return
	}
	convs, next := finish(p, convs, func(c store.Conversation) []byte { return []byte(c.ID) })
	out, err := s.viewConversations(convs)
	if err != nil {
		s.internalError(w, "list conversations", err)
		return
	}
	s.writeJSON(w, http.StatusOK, listBody("conversations", out, next))
}

// viewConversations builds the views of cs, reading when each last had a
// line.
func (s *Server) viewConversations(cs []store.Conversation) ([]conversationView, error) {
	at, err := s.store.ActivityTimes(cs)
	if err != nil {
		return nil, err
	}
	out := make([]conversationView, len(cs))
	for i, c := range cs {
		out[i] = viewConversation(c, at[i])
	}
	return out, nil
}

// writeConversation answers with c's view.
func (s *Server) writeConversation(w http.ResponseWriter, status int, c store.Conversation) {
	v, err := s.viewConversations([]store.Conversation{c})
	if err != nil {
		s.internalError(w, "view conversation "+c.ID, err)
		return
	}
	s.writeJSON(w, status, v[0])
}

// conversation loads the {id} of the path, answering 404 itself.
func (s *Server) conversation(w http.ResponseWriter, r *http.Request) (store.Conversation, bool) {
	id := r.PathValue("id")
	c, err := s.store.Conversation(id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "conversation "+id+" not found")
		return c, false
	}
	if err != nil {
		s.internalError(w, "get conversation "+id, err)
		return c, false
	}
	return c, true
}

func (s *Server) getConversation(w http.ResponseWriter, r *http.Request) {
	if c, ok := s.conversation(w, r); ok {
		s.writeConversation(w, http.StatusOK, c)
	}
}

func (s *Server) postMessage(w http.ResponseWriter, r *http.Request) {
	c, ok := s.conversation(w, r)
	if !ok {
		return
	}
	var req struct {
		Text string `json:"text"`
	}
	if !decodeJSON(w, r, &req) {
		return
	}
	if strings.TrimSpace(req.Text) == "" {
		writeError(w, http.StatusBadRequest, "bad_request", `"text" is required`)
		return
	}
	if c.Channel != APIChannel {
		writeError(w, http.StatusConflict, "wrong_channel", "conversation "+c.ID+" belongs to channel "+c.Channel+"; only api conversations take visitor messages here")
		return
	}
	res, err := s.store.CommitEvents(r.Context(), APIChannel, []sdk.Event{{
		ID: store.NewID("e_"), Kind: sdk.KindMessage, Conversation: c.Ref, User: c.User, Text: req.Text,
	}})
	if err != nil || len(res.Accepted) != 1 {
		s.internalError(w, "store message for "+c.ID, err)
		return
	}
	s.writeJSON(w, http.StatusAccepted, map[string]string{"id": strconv.FormatUint(res.Accepted[0].MessageID, 10)})
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request) {
	c, ok := s.conversation(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	p, ok := seqPageParams(w, r, "a message id")
	if !ok {
		return
	}
	var wait time.Duration
	if v := q.Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			writeError(w, http.StatusBadRequest, "bad_request", "wait: not a duration like \"10s\": "+strconv.Quote(truncateParam(v)))
			return
		}
		wait = min(d, s.cfg.MaxWait)
	}
	if wait > 0 && p.Desc {
		writeError(w, http.StatusBadRequest, "bad_request", "wait: waits for newer messages, so only with order=asc")
		return
	}
	var msgs []store.Message
	var err error
	if wait > 0 {
		// A long poll may outlast the server's write timeout.
		httplimit.KeepOpen(w)
		ctx, cancel := context.WithTimeout(r.Context(), wait)
		msgs, err = s.store.WaitMessages(ctx, c.ID, seqOfKey(p.After), p.Limit)
		cancel()
	} else {
		msgs, err = s.store.MessagePage(c.ID, p.Page)
	}
	if err != nil {
		s.internalError(w, "list messages of "+c.ID, err)
		return
	}
	msgs, next := finish(p, msgs, func(m store.Message) []byte { return seqKey(m.ID) })
	out := make([]messageView, len(msgs))
	for i, m := range msgs {
		out[i] = viewMessage(m)
	}
	s.writeJSON(w, http.StatusOK, listBody("messages", out, next))
}

// afterParam reads the ?after= number (0 when absent), answering 400
// itself when it is not one from 0 to the largest id the store hands out.
func afterParam(w http.ResponseWriter, r *http.Request, what string) (uint64, bool) {
	v := r.URL.Query().Get("after")
	if v == "" {
		return 0, true
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		writeError(w, http.StatusBadRequest, "bad_request", "after: not "+what+" (0 to "+strconv.FormatInt(math.MaxInt64, 10)+"): "+strconv.Quote(truncateParam(v)))
		return 0, false
	}
	return uint64(n), true
}

// seqPageParams reads the paging of a list numbered in order (messages,
// audit entries), where ?after=<number> is the older form of ?cursor=.
func seqPageParams(w http.ResponseWriter, r *http.Request, what string) (listPage, bool) {
	p, ok := pageParams(w, r, orderAsc)
	if !ok {
		return p, false
	}
	if p.After != nil && len(p.After) != 8 {
		writeError(w, http.StatusBadRequest, "bad_request", "cursor: not a cursor this API gave")
		return p, false
	}
	if r.URL.Query().Has("after") {
		after, ok := afterParam(w, r, what)
		if !ok {
			return p, false
		}
		if p.After != nil {
			writeError(w, http.StatusBadRequest, "bad_request", "after: give after or cursor, not both")
			return p, false
		}
		p.After = seqKey(after)
	}
	return p, true
}

// seqOfKey is the number of a seqKey; 0 for none.
func seqOfKey(k []byte) uint64 {
	if len(k) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(k)
}

func intParam(w http.ResponseWriter, r *http.Request, name string, def, max int) (int, bool) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		writeError(w, http.StatusBadRequest, "bad_request", name+": must be a number from 1 to "+strconv.Itoa(max))
		return 0, false
	}
	return n, true
}

func (s *Server) internalError(w http.ResponseWriter, what string, err error) {
	s.log.WithError(err).Error(what)
	writeError(w, http.StatusInternalServerError, "internal", what+" failed")
}

// actionTimeout bounds how long a handoff or close request waits for the
// conversation's lane to apply it.
const actionTimeout = 30 * time.Second

func (s *Server) handoff(w http.ResponseWriter, r *http.Request) {
	c, ok := s.conversation(w, r)
	if !ok {
		return
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if r.ContentLength != 0 && !decodeJSON(w, r, &req) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), actionTimeout)
	defer cancel()
	updated, err := s.actions.RequestHandoff(ctx, c.ID, req.Reason)
	s.audit(r, "conversation.handoff", c.ID, err)
	if err != nil {
		s.internalError(w, "hand off "+c.ID, err)
		return
	}
	s.writeConversation(w, http.StatusOK, updated)
}

func (s *Server) close(w http.ResponseWriter, r *http.Request) {
	c, ok := s.conversation(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), actionTimeout)
	defer cancel()
	updated, err := s.actions.Close(ctx, c.ID)
	s.audit(r, "conversation.close", c.ID, err)
	if err != nil {
		s.internalError(w, "close "+c.ID, err)
		return
	}
	s.writeConversation(w, http.StatusOK, updated)
}

// conversationList reads the conversation of the path and the paging of
// one of its lists (oldest first unless asked), answering itself when
// either cannot be had.
func (s *Server) conversationList(w http.ResponseWriter, r *http.Request) (store.Conversation, listPage, bool) {
	c, ok := s.conversation(w, r)
	if !ok {
		return c, listPage{}, false
	}
	p, ok := pageParams(w, r, orderAsc)
	return c, p, ok
}

// transitionView is a state change as the API shows it.
type transitionView struct {
	From   conversation.State `json:"from"`
	To     conversation.State `json:"to"`
	Cause  conversation.Cause `json:"cause"`
	Reason string             `json:"reason,omitempty"`
	At     time.Time          `json:"at"`
}

func (s *Server) listTransitions(w http.ResponseWriter, r *http.Request) {
	c, p, ok := s.conversationList(w, r)
	if !ok {
		return
	}
	ts, err := s.store.Transitions(c.ID)
	if err != nil {
		s.internalError(w, "list transitions of "+c.ID, err)
		return
	}
	// A transition's place in the conversation's history never changes:
	// new ones are appended.
	type numbered struct {
		n int
		t conversation.Transition
	}
	all := make([]numbered, len(ts))
	for i, t := range ts {
		all[i] = numbered{i, t}
	}
	page, next := pageOf(p, all, func(e numbered) []byte { return seqKey(uint64(e.n)) })
	out := make([]transitionView, len(page))
	for i, e := range page {
		t := e.t
		out[i] = transitionView{From: t.From, To: t.To, Cause: t.Cause, Reason: t.Reason, At: t.At}
	}
	s.writeJSON(w, http.StatusOK, listBody("transitions", out, next))
}

// ratingView is a satisfaction rating question, with its answer, as the
// API shows it.
type ratingView struct {
	// Score is nil while the question is unanswered.
	Score     *int                  `json:"score"`
	Comment   string                `json:"comment,omitempty"`
	Operator  conversation.Operator `json:"operator"`
	HandoffAt time.Time             `json:"handoff_at"`
	AskedAt   time.Time             `json:"asked_at"`
	RatedAt   *time.Time            `json:"rated_at"`
}

func (s *Server) listRatings(w http.ResponseWriter, r *http.Request) {
	c, p, ok := s.conversationList(w, r)
	if !ok {
		return
	}
	rs, err := s.store.Ratings(c.ID)
	if err != nil {
		s.internalError(w, "list ratings of "+c.ID, err)
		return
	}
	// A conversation has one rating per handoff, stored under its time.
	rs, next := pageOf(p, rs, func(rt store.Rating) []byte { return timeKey(rt.HandoffAt, "") })
	out := make([]ratingView, len(rs))
	for i, rt := range rs {
		out[i] = ratingView{Comment: rt.Comment, Operator: rt.Operator, HandoffAt: rt.HandoffAt, AskedAt: rt.Asked()}
		if rt.Score > 0 {
			score, at := rt.Score, rt.At
			out[i].Score, out[i].RatedAt = &score, &at
		}
	}
	s.writeJSON(w, http.StatusOK, listBody("ratings", out, next))
}
