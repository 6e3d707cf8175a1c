package webchat

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/engine"
	"github.com/switchboard-chat/switchboard/core/httpapi"
	"github.com/switchboard-chat/switchboard/core/live"
	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

// Limits of visitor input that have no config key.
const (
	maxClientID       = 64
	maxIdentifier     = 200
	maxName           = 100
	maxCommentChars   = 1000
	maxMessagesListed = 1000
)

// tokenPrefix starts every visitor token, so one found in a log is
// recognizable.
const tokenPrefix = "wv_"

// newToken returns a random visitor token (256 bits).
func newToken() string {
	var b [32]byte
	rand.Read(b[:])
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// newVisitorID names an anonymous visitor for the operators.
func newVisitorID() string {
	var b [4]byte
	rand.Read(b[:])
	return "visitor-" + hex.EncodeToString(b[:])
}

// identifiedRef is the conversation reference of a visitor the embedding
// site signed in: the same on every device.
func identifiedRef(identifier string) string { return "user:" + identifier }

// sessionView answers POST /w/v1/session.
type sessionView struct {
	VisitorToken   string             `json:"visitor_token"`
	ConversationID string             `json:"conversation_id"`
	State          conversation.State `json:"state"`
}

// session starts a visitor's chat or resumes it. With a known token it
// answers the same token and conversation; with identifier and
// identifier_hash (verified against webchat.identity_secret) it opens the
// identified visitor's conversation, the same on every device, under a new
// token unless the given one already opens it.
func (s *Server) session(w http.ResponseWriter, r *http.Request) {
	var req struct {
		VisitorToken   string `json:"visitor_token"`
		ConversationID string `json:"conversation_id"`
		Identifier     string `json:"identifier"`
		IdentifierHash string `json:"identifier_hash"`
		Name           string `json:"name"`
	}
	if !httpapi.DecodeJSON(w, r, &req) {
		return
	}
	if req.Identifier != "" || req.IdentifierHash != "" {
		if msg := s.checkIdentity(req.Identifier, req.IdentifierHash); msg != "" {
			httpapi.WriteError(w, http.StatusUnauthorized, "bad_identity", msg)
			return
		}
	}
	if !utf8.ValidString(req.Name) || utf8.RuneCountInString(req.Name) > maxName {
		httpapi.WriteError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf(`"name" must be at most %d characters`, maxName))
		return
	}
	if req.VisitorToken != "" {
		c, err := s.st.VisitorConversation(hashToken(req.VisitorToken))
		switch {
		case errors.Is(err, store.ErrNotFound):
			httpapi.WriteError(w, http.StatusUnauthorized, "invalid_token", "unknown visitor token: start a new session without one")
			return
		case err != nil:
			s.internalError(w, "resume session", err)
			return
		case req.ConversationID != "" && req.ConversationID != c.ID:
			notFound(w, req.ConversationID)
			return
		case req.Identifier == "" || c.Ref == identifiedRef(req.Identifier):
			httpapi.WriteJSON(w, http.StatusOK, sessionView{VisitorToken: req.VisitorToken, ConversationID: c.ID, State: c.State})
			return
		}
		// Another person signed in on this browser: their own chat.
	} else if req.ConversationID != "" {
		notFound(w, req.ConversationID)
		return
	}
	if !allow(w, "new chats", check{s.addresses, s.clientIP(r), "from this address"}) {
		return
	}
	token := newToken()
	ref, user := "", sdk.User{ID: newVisitorID(), Name: strings.TrimSpace(req.Name)}
	if req.Identifier != "" {
		ref, user.ID = identifiedRef(req.Identifier), req.Identifier
	}
	c, err := s.st.OpenVisitorConversation(r.Context(), Channel, ref, user, hashToken(token))
	if err != nil {
		s.internalError(w, "open session", err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, sessionView{VisitorToken: token, ConversationID: c.ID, State: c.State})
}

// checkIdentity explains why an identified session is refused, or returns
// "".
func (s *Server) checkIdentity(identifier, hash string) string {
	switch {
	case s.cfg.IdentitySecret == "":
		return "identified visitors are not accepted: webchat.identity_secret is not set"
	case identifier == "" || hash == "":
		return `"identifier" and "identifier_hash" go together`
	case len(identifier) > maxIdentifier || !utf8.ValidString(identifier):
		return fmt.Sprintf(`"identifier" must be at most %d bytes of text`, maxIdentifier)
	}
	got, err := hex.DecodeString(hash)
	mac := hmac.New(sha256.New, []byte(s.cfg.IdentitySecret))
	mac.Write([]byte(identifier))
	if err != nil || !hmac.Equal(got, mac.Sum(nil)) {
		return `"identifier_hash" is not the HMAC-SHA256 of "identifier" under the identity secret`
	}
	return ""
}

func (s *Server) clientIP(r *http.Request) string {
	return httpapi.ClientIP(r, s.cfg.TrustedProxies).String()
}

// messageView is a transcript message as a visitor sees it.
type messageView struct {
	ID   string            `json:"id"`
	Seq  uint64            `json:"seq"`
	Role conversation.Role `json:"role"`
	Text string            `json:"text"`
	// CreatedAt is when the message was written.
	CreatedAt time.Time `json:"created_at"`
	// Author names an operator who wrote the line ("" for the bot, the
	// system and the visitor).
	Author string `json:"author"`
	// ClientID is the client_id the visitor sent the message with.
	ClientID string `json:"client_id,omitempty"`
}

func viewMessage(m store.Message) messageView {
	v := messageView{ID: strconv.FormatUint(m.ID, 10), Seq: m.ID, Role: m.Role, Text: m.Text, CreatedAt: m.CreatedAt}
	if m.Role == conversation.RoleOperator {
		v.Author = m.Author.Name
	}
	if m.Role == conversation.RoleVisitor {
		_, v.ClientID, _ = strings.Cut(m.EventID, "/")
	}
	return v
}

// eventID is the inbox event ID of a visitor's message: the channel's
// seen-ID set drops the second send of one client_id.
func eventID(convID, clientID string) string { return convID + "/" + clientID }

// validClientID reports whether a client_id is 1 to maxClientID letters,
// digits and "-_.:".
func validClientID(id string) bool {
	if id == "" || len(id) > maxClientID {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.:", c)) {
			return false
		}
	}
	return true
}

// postMessage commits a visitor's line to the inbox (the engine answers
// it) and answers 202 with its id. The same client_id again stores nothing
// and answers the first one's id.
func (s *Server) postMessage(w http.ResponseWriter, r *http.Request, c store.Conversation) {
	var req struct {
		ClientID string `json:"client_id"`
		Text     string `json:"text"`
	}
	if !httpapi.DecodeJSON(w, r, &req) {
		return
	}
	if !validClientID(req.ClientID) {
		httpapi.WriteError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf(`"client_id" is required: 1 to %d letters, digits or "-_.:", new for each message`, maxClientID))
		return
	}
	text := strings.TrimSpace(req.Text)
	if text == "" {
		httpapi.WriteError(w, http.StatusBadRequest, "bad_request", `"text" is required`)
		return
	}
	if n := utf8.RuneCountInString(text); n > s.cfg.MaxMessageChars {
		httpapi.WriteError(w, http.StatusBadRequest, "too_long",
			fmt.Sprintf("the message has %d characters; at most %d are accepted", n, s.cfg.MaxMessageChars))
		return
	}
	if !allow(w, "messages",
		check{s.visitors, c.ID, "from this visitor"},
		check{s.addresses, s.clientIP(r), "from this address"}) {
		return
	}
	ev := sdk.Event{ID: eventID(c.ID, req.ClientID), Kind: sdk.KindMessage, Conversation: c.Ref, User: c.User, Text: text}
	res, err := s.st.CommitEvents(r.Context(), Channel, []sdk.Event{ev})
	if err != nil {
		s.internalError(w, "commit message", err)
		return
	}
	var id uint64
	if len(res.Accepted) > 0 {
		id = res.Accepted[0].MessageID
	} else if m, err := s.st.MessageByEventID(c.ID, ev.ID); err == nil {
		id = m.ID // a retry: the first attempt's message
	} else if !errors.Is(err, store.ErrNotFound) {
		s.internalError(w, "find message", err)
		return
	}
	httpapi.WriteJSON(w, http.StatusAccepted, struct {
		ID  string `json:"id"`
		Seq uint64 `json:"seq"`
	}{strconv.FormatUint(id, 10), id})
}

// listMessages answers the transcript after ?after_seq, oldest first,
// without the operators' private notes.
func (s *Server) listMessages(w http.ResponseWriter, r *http.Request, c store.Conversation) {
	q := r.URL.Query()
	after, err := uintParam(q.Get("after_seq"), 0)
	if err != nil {
		httpapi.WriteError(w, http.StatusBadRequest, "bad_request", `"after_seq" must be a message's seq (a whole number)`)
		return
	}
	limit, err := uintParam(q.Get("limit"), maxMessagesListed)
	if err != nil || limit < 1 || limit > maxMessagesListed {
		httpapi.WriteError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf(`"limit" must be 1 to %d`, maxMessagesListed))
		return
	}
	out := []messageView{}
	for len(out) < int(limit) {
		msgs, err := s.st.Messages(c.ID, after, int(limit))
		if err != nil {
			s.internalError(w, "list messages", err)
			return
		}
		for _, m := range msgs {
			if !m.Private && len(out) < int(limit) {
				out = append(out, viewMessage(m))
			}
		}
		if len(msgs) < int(limit) {
			break
		}
		after = msgs[len(msgs)-1].ID
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"messages": out})
}

func uintParam(v string, def uint64) (uint64, error) {
	if v == "" {
		return def, nil
	}
	return strconv.ParseUint(v, 10, 64)
}

// postTyping tells the operators whether the visitor is typing:
// {"typing": true|false}, true when the body is empty.
func (s *Server) postTyping(w http.ResponseWriter, r *http.Request, c store.Conversation) {
	req := struct {
		Typing *bool `json:"typing"`
	}{}
	if r.ContentLength != 0 && !httpapi.DecodeJSON(w, r, &req) {
		return
	}
	typing := req.Typing == nil || *req.Typing
	if !allow(w, "typing notices", check{s.typing, c.ID, "from this visitor"}) {
		return
	}
	s.signals.Publish(live.Signal{Kind: live.Typing, ConversationID: c.ID, From: live.FromVisitor, Data: typing})
	w.WriteHeader(http.StatusNoContent)
}

// handoff is the visitor's "talk to a person" button.
func (s *Server) handoff(w http.ResponseWriter, r *http.Request, c store.Conversation) {
	if r.ContentLength != 0 {
		var req struct{}
		if !httpapi.DecodeJSON(w, r, &req) {
			return
		}
	}
	if !allow(w, "requests", check{s.visitors, c.ID, "from this visitor"}) {
		return
	}
	c, err := s.eng.Do(r.Context(), c.ID, conversation.HandoffRequested{Cause: conversation.CauseVisitor, Reason: "the visitor asked for a person"})
	if err != nil {
		if r.Context().Err() != nil {
			return // the visitor went away; the request stays queued
		}
		s.internalError(w, "hand off", err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, s.stateOf(c))
}

// rate gives the visitor's answer to the rating question ([csat]) to the
// conversation's rules: 201 with the rating, 409 not_ratable when nothing
// is asked (or the question lapsed), already_rated when it was answered.
func (s *Server) rate(w http.ResponseWriter, r *http.Request, c store.Conversation) {
	var req struct {
		Score   int    `json:"score"`
		Comment string `json:"comment"`
	}
	if !httpapi.DecodeJSON(w, r, &req) {
		return
	}
	if req.Score < 1 || req.Score > 5 {
		httpapi.WriteError(w, http.StatusBadRequest, "bad_request", `"score" must be 1 to 5`)
		return
	}
	comment := strings.TrimSpace(req.Comment)
	if n := utf8.RuneCountInString(comment); n > maxCommentChars {
		httpapi.WriteError(w, http.StatusBadRequest, "too_long", fmt.Sprintf("the comment has %d characters; at most %d are accepted", n, maxCommentChars))
		return
	}
	if !allow(w, "requests", check{s.visitors, c.ID, "from this visitor"}) {
		return
	}
	_, err := s.eng.Do(r.Context(), c.ID, conversation.Rated{Score: req.Score, Comment: comment})
	switch {
	case errors.Is(err, engine.ErrConflict):
		if after, err := s.st.Conversation(c.ID); err == nil && after.Handoff != nil && s.ratedAlready(c.ID, after.Handoff.RequestedAt) {
			httpapi.WriteError(w, http.StatusConflict, "already_rated", "this conversation was already rated")
		} else {
			httpapi.WriteError(w, http.StatusConflict, "not_ratable", "nothing to rate: no operator's service is waiting for a rating")
		}
		return
	case err != nil:
		if r.Context().Err() != nil {
			return
		}
		s.internalError(w, "rate", err)
		return
	}
	rating, err := s.latestRating(c.ID)
	if err != nil {
		s.internalError(w, "read the rating", err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, struct {
		Score    int    `json:"score"`
		Comment  string `json:"comment"`
		Operator string `json:"operator"`
	}{rating.Score, rating.Comment, rating.Operator.Name})
}

// ratedAlready reports whether the handoff that started at handoffAt has a
// rating.
func (s *Server) ratedAlready(convID string, handoffAt time.Time) bool {
	ratings, _ := s.st.Ratings(convID)
	for _, r := range ratings {
		if r.HandoffAt.Equal(handoffAt) && r.Score > 0 {
			return true
		}
	}
	return false
}

// latestRating is the conversation's rating given last.
func (s *Server) latestRating(convID string) (store.Rating, error) {
	ratings, err := s.st.Ratings(convID)
	if err != nil {
		return store.Rating{}, err
	}
	var last store.Rating
	for _, r := range ratings {
		if r.Score > 0 && !r.At.Before(last.At) {
			last = r
		}
	}
	return last, nil
}
