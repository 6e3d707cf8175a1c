package linetest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"
)

// Sign returns the x-line-signature of a webhook body: the Base64 of its
// HMAC-SHA256 keyed with the channel secret.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Event describes a webhook event object for [Body]: a text message event
// unless Type says otherwise.
type Event struct {
	// ID is the webhookEventId; [NewEventID] makes one.
	ID string
	// Type is the event type; default "message".
	Type string
	// UserID is the user who acted; GroupID or RoomID make the source a
	// group or multi-person chat.
	UserID, GroupID, RoomID string
	// ReplyToken of the event ([Fake.NewReplyToken]); none when empty.
	ReplyToken string
	// MessageID and Text of a text message.
	MessageID, Text string
	// Data is a postback event's postback.data (Type "postback"): what
	// LINE sends when the user taps a postback action.
	Data string
	// Time of the event; default now.
	Time time.Time
	// Redelivery sets deliveryContext.isRedelivery.
	Redelivery bool
}

// Object returns the event as LINE's JSON object.
func (e Event) Object() map[string]any {
	typ := e.Type
	if typ == "" {
		typ = "message"
	}
	at := e.Time
	if at.IsZero() {
		at = time.Now()
	}
	source := map[string]any{"type": "user", "userId": e.UserID}
	switch {
	case e.GroupID != "":
		source = map[string]any{"type": "group", "groupId": e.GroupID}
	case e.RoomID != "":
		source = map[string]any{"type": "room", "roomId": e.RoomID}
	}
	if e.UserID != "" {
		source["userId"] = e.UserID
	}
	obj := map[string]any{
		"type":            typ,
		"mode":            "active",
		"timestamp":       at.UnixMilli(),
		"source":          source,
		"webhookEventId":  e.ID,
		"deliveryContext": map[string]any{"isRedelivery": e.Redelivery},
	}
	if e.ReplyToken != "" {
		obj["replyToken"] = e.ReplyToken
	}
	if typ == "message" {
		id := e.MessageID
		if id == "" {
			id = "14353798921116"
		}
		obj["message"] = map[string]any{"type": "text", "id": id, "text": e.Text, "quoteToken": "q3Plxr4AgKd"}
	}
	if typ == "postback" {
		obj["postback"] = map[string]any{"data": e.Data}
	}
	return obj
}

// Body returns a webhook request body carrying the events.
func Body(events ...Event) []byte {
	objs := make([]map[string]any, len(events))
	for i, e := range events {
		objs[i] = e.Object()
	}
	b, _ := json.Marshal(map[string]any{"destination": BotUserID, "events": objs})
	return b
}

// NewWebhookRequest returns a POST of body to url signed with secret, as
// the LINE Platform sends it.
func NewWebhookRequest(url, secret string, body []byte) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("x-line-signature", Sign(secret, body))
	return req, nil
}

// crockford is the ULID alphabet.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewEventID returns a fresh webhookEventId (a ULID-shaped string).
func NewEventID() string {
	b := make([]byte, 26)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = crockford[int(b[i])%len(crockford)]
	}
	b[0] = '0'
	return string(b)
}
