package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/sdk"
)

// Context keys this channel keeps with a SalesIQ conversation.
const (
	// ctxRequestID is the Zobot request the next answer goes to.
	ctxRequestID = "salesiq_request_id"
	// ctxConversationID is SalesIQ's conversation id of the visitor's chat.
	ctxConversationID = "salesiq_conversation_id"
)

// Zobot failure codes that mean "no human took the chat".
var missedCauses = map[string]bool{
	"1001": true, // offline_hours
	"1002": true, // operators_not_available
	"1003": true, // invalid_operators
}

// payload is one webhook body: a Zobot handler call ("handler" message,
// trigger, context, failure) or a data-webhook execution ("handler"
// execution). Fields are loose: Zoho sends ids as strings or numbers.
type payload struct {
	Handler   string `json:"handler"`
	Operation string `json:"operation"`
	Request   struct {
		ID flexString `json:"id"`
	} `json:"request"`
	Message     json.RawMessage   `json:"message"`
	Visitor     zobotVisitor      `json:"visitor"`
	Attachments []json.RawMessage `json:"attachments"`
	Cause       struct {
		Code flexString `json:"code"`
		Desc string     `json:"desc"`
	} `json:"cause"`

	Event     string     `json:"event"`
	EntityID  flexString `json:"entity_id"`
	EventTime flexString `json:"event_time"`
	Entity    dataEntity `json:"entity"`
}

type zobotVisitor struct {
	ID                   flexString `json:"id"`
	ActiveConversationID flexString `json:"active_conversation_id"`
	Name                 string     `json:"name"`
	Email                string     `json:"email"`
}

type person struct {
	ID    flexString `json:"id"`
	Name  string     `json:"name"`
	Email string     `json:"email"`
	Type  string     `json:"type"`
	IsBot bool       `json:"is_bot"`
}

type dataEntity struct {
	ID      flexString `json:"id"`
	Owner   *person    `json:"owner"`
	Message *struct {
		MsgID  flexString `json:"msgid"`
		Text   string     `json:"text"`
		Sender person     `json:"sender"`
	} `json:"message"`
	EndedBy string `json:"ended_by"`
}

// HandleWebhook verifies the signature and turns the call into events.
func (c *Channel) HandleWebhook(_ context.Context, req sdk.WebhookRequest) (sdk.WebhookResponse, error) {
	st := c.state()
	if st == nil {
		return jsonReply(http.StatusServiceUnavailable, map[string]string{"error": "not configured"}), nil
	}
	if req.Method != "" && req.Method != http.MethodPost {
		return jsonReply(http.StatusMethodNotAllowed, map[string]string{"error": "POST only"}), nil
	}
	if len(st.keys) > 0 {
		if err := verifySignature(st.keys, req.Body, req.Header.Get(signatureHeader)); err != nil {
			return jsonReply(http.StatusUnauthorized, map[string]string{"error": err.Error()}), nil
		}
	}
	var p payload
	if err := json.Unmarshal(req.Body, &p); err != nil {
		return badRequest("malformed JSON: " + err.Error()), nil
	}
	switch p.Handler {
	case "message":
		return st.zobotMessage(p), nil
	case "failure":
		return st.zobotFailure(p), nil
	case "trigger", "context":
		// trigger fires when a visitor lands on the site, before any chat:
		// no conversation to start. context answers questions this bot
		// never asks.
		return jsonReply(http.StatusOK, zobotAnswer{Action: "reply", Replies: []string{}}), nil
	case "execution":
		return st.dataWebhook(p), nil
	case "":
		return badRequest(`"handler" is missing`), nil
	default:
		return badRequest("unknown handler " + strconv.Quote(p.Handler)), nil
	}
}

// zobotAnswer is a Zobot handler response.
type zobotAnswer struct {
	Action     string   `json:"action"`
	Replies    []string `json:"replies"`
	Department string   `json:"department,omitempty"`
	Operators  []string `json:"operators,omitempty"`
}

// pending tells SalesIQ the answer comes later through the callback API.
func (st *state) pending() zobotAnswer {
	replies := []string{}
	if st.opts.PendingReply != "" {
		replies = append(replies, st.opts.PendingReply)
	}
	return zobotAnswer{Action: "pending", Replies: replies}
}

// zobotConversation is the reference of the visitor's chat: SalesIQ's
// conversation id, the entity_id of its data webhooks.
func zobotConversation(v zobotVisitor) string {
	switch {
	case v.ActiveConversationID != "":
		return string(v.ActiveConversationID)
	case v.ID != "":
		return "visitor:" + string(v.ID)
	case v.Email != "":
		return "visitor:" + v.Email
	}
	return ""
}

func zobotUser(v zobotVisitor, conv string) sdk.User {
	id := string(v.ID)
	if id == "" {
		id = v.Email
	}
	if id == "" {
		id = conv
	}
	return sdk.User{ID: id, Name: v.Name}
}

// messageText reads "message" as documented ({"text": …}) or as a plain string.
func messageText(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var m struct {
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &m) == nil {
		return m.Text, true
	}
	return "", false
}

// zobotMessage answers a visitor message with "pending" at once; the engine's
// answer follows through the callback API for the request id.
func (st *state) zobotMessage(p payload) sdk.WebhookResponse {
	rid := string(p.Request.ID)
	conv := zobotConversation(p.Visitor)
	text, ok := messageText(p.Message)
	switch {
	case !ok:
		return badRequest(`"message" must be an object with "text"`)
	case rid == "":
		return badRequest(`"request.id" is missing`)
	case conv == "":
		return badRequest(`"visitor" has neither active_conversation_id nor id`)
	}
	ev := sdk.Event{
		ID: "zobot:" + rid, Kind: sdk.KindMessage, Conversation: conv,
		User: zobotUser(p.Visitor, conv), Text: text,
		Context: map[string]string{ctxRequestID: rid},
	}
	if p.Visitor.ActiveConversationID != "" {
		ev.Context[ctxConversationID] = string(p.Visitor.ActiveConversationID)
	}
	for _, raw := range p.Attachments {
		if a, ok := attachment(raw); ok {
			ev.Attachments = append(ev.Attachments, a)
		}
	}
	if strings.TrimSpace(ev.Text) == "" && len(ev.Attachments) == 0 {
		ev.Kind = sdk.KindUnsupported
	}
	resp := jsonReply(http.StatusOK, st.pending())
	resp.Events = []sdk.Event{ev}
	return resp
}

// attachment reads one entry of "attachments" loosely.
func attachment(raw json.RawMessage) (sdk.Attachment, bool) {
	var a struct {
		Type    string     `json:"type"`
		ID      flexString `json:"id"`
		URL     string     `json:"url"`
		Name    string     `json:"name"`
		Content string     `json:"content_type"`
		Size    flexString `json:"size"`
	}
	if json.Unmarshal(raw, &a) != nil || (a.URL == "" && a.ID == "" && a.Name == "") {
		return sdk.Attachment{}, false
	}
	size, _ := strconv.ParseInt(string(a.Size), 10, 64)
	typ := a.Type
	if typ == "" {
		typ = "file"
	}
	return sdk.Attachment{Type: typ, ID: string(a.ID), URL: a.URL, Name: a.Name, MIMEType: a.Content, Size: size}, true
}

// zobotFailure handles SalesIQ's report that an action failed. A forward
// that found no operator becomes KindMissed, carrying this call's request id
// so the engine's "missed" message answers it. Never answer it with
// "forward": SalesIQ would call the failure handler again, in a loop.
func (st *state) zobotFailure(p payload) sdk.WebhookResponse {
	rid := string(p.Request.ID)
	conv := zobotConversation(p.Visitor)
	if !missedCauses[string(p.Cause.Code)] || rid == "" || conv == "" {
		// Reply too long, execution failure…: nothing the engine can act on.
		return jsonReply(http.StatusOK, zobotAnswer{Action: "reply", Replies: []string{}})
	}
	desc := p.Cause.Desc
	if desc == "" {
		desc = "failure " + string(p.Cause.Code)
	}
	resp := jsonReply(http.StatusOK, st.pending())
	resp.Events = []sdk.Event{{
		ID: "zobot-failure:" + rid, Kind: sdk.KindMissed, Conversation: conv,
		User: zobotUser(p.Visitor, conv), Text: desc,
		Context: map[string]string{ctxRequestID: rid},
	}}
	return resp
}

// dataWebhook maps a data-webhook execution to an operator event. Events
// this channel does not use, and messages it caused itself (visitor-side
// messages it relayed, bot replies), are acknowledged without events.
func (st *state) dataWebhook(p payload) sdk.WebhookResponse {
	ref := string(p.EntityID)
	if ref == "" {
		ref = string(p.Entity.ID)
	}
	if p.Event == "" || ref == "" {
		return badRequest(`a data webhook needs "event" and "entity_id"`)
	}
	ev := sdk.Event{Conversation: ref, Time: epochMillis(string(p.EventTime))}
	suffix := string(p.EventTime)
	switch p.Event {
	case "conversation.attender.updated":
		ev.Kind = sdk.KindOperatorJoined
		if o := p.Entity.Owner; o != nil {
			ev.User = sdk.User{ID: string(o.ID), Name: o.Name}
		}
	case "conversation.operator.replied":
		m := p.Entity.Message
		if m == nil || strings.TrimSpace(m.Text) == "" || !fromOperator(m.Sender) {
			return ack()
		}
		ev.Kind, ev.Text = sdk.KindOperatorMessage, m.Text
		ev.User = sdk.User{ID: string(m.Sender.ID), Name: m.Sender.Name}
		if m.MsgID != "" {
			suffix = string(m.MsgID)
		}
	case "conversation.completed":
		ev.Kind, ev.Text = sdk.KindClosed, p.Entity.EndedBy
		if o := p.Entity.Owner; o != nil {
			ev.User = sdk.User{ID: string(o.ID), Name: o.Name}
		}
	case "conversation.missed":
		ev.Kind = sdk.KindMissed
	default:
		return ack()
	}
	ev.ID = "webhook:" + p.Event + ":" + ref + ":" + suffix
	resp := ack()
	resp.Events = []sdk.Event{ev}
	return resp
}

// fromOperator tells an operator's message from the bot's or the visitor's
// (the visitor side is this plugin's own relays). Captured payloads carry
// sender.type "operator"; documented samples omit it.
func fromOperator(s person) bool {
	if s.IsBot {
		return false
	}
	t := strings.ToLower(s.Type)
	return t == "" || t == "operator"
}

func epochMillis(s string) time.Time {
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func ack() sdk.WebhookResponse { return jsonReply(http.StatusOK, map[string]string{"status": "ok"}) }

func badRequest(msg string) sdk.WebhookResponse {
	return jsonReply(http.StatusBadRequest, map[string]string{"error": msg})
}

func jsonReply(status int, body any) sdk.WebhookResponse {
	b, _ := json.Marshal(body)
	return sdk.WebhookResponse{Status: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: b}
}
