package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/sdk"
)

// Keys of Event.Context. The daemon merges them into the conversation's
// context and hands them back on every Outbound.
const (
	// ctxReplyToken is the event's reply token ("" when it has none, so a
	// stale token never survives the merge). It is single use, so it is a
	// once. key: the daemon gives it to one outbound text only, on every
	// attempt of that one.
	ctxReplyToken = sdk.OnceContextPrefix + "reply_token"
	// ctxReplyTokenAt is the event's timestamp in Unix milliseconds.
	ctxReplyTokenAt = sdk.OnceContextPrefix + "reply_token_at"
	// ctxSourceType is "user", "group" or "room".
	ctxSourceType = "source_type"
	// ctxRedelivery is "true" for an event LINE redelivered.
	ctxRedelivery = "redelivery"
)

// lineEvent is the part of a webhook event object this plugin reads.
type lineEvent struct {
	Type            string       `json:"type"`
	Mode            string       `json:"mode"`
	Timestamp       int64        `json:"timestamp"`
	Source          *lineSource  `json:"source"`
	WebhookEventID  string       `json:"webhookEventId"`
	ReplyToken      string       `json:"replyToken"`
	Message         *lineMessage `json:"message"`
	DeliveryContext struct {
		IsRedelivery bool `json:"isRedelivery"`
	} `json:"deliveryContext"`
	Follow *struct {
		IsUnblocked bool `json:"isUnblocked"`
	} `json:"follow"`
	Postback *struct {
		Data string `json:"data"`
	} `json:"postback"`
}

// lineSource is a user, group chat or multi-person chat ("room").
type lineSource struct {
	Type    string `json:"type"`
	UserID  string `json:"userId"`
	GroupID string `json:"groupId"`
	RoomID  string `json:"roomId"`
}

// lineMessage is a webhook message object (text, media, location, sticker).
type lineMessage struct {
	ID              string  `json:"id"`
	Type            string  `json:"type"`
	Text            string  `json:"text"`
	FileName        string  `json:"fileName"`
	FileSize        int64   `json:"fileSize"`
	Title           string  `json:"title"`
	Address         string  `json:"address"`
	Latitude        float64 `json:"latitude"`
	Longitude       float64 `json:"longitude"`
	ContentProvider struct {
		Type               string `json:"type"`
		OriginalContentURL string `json:"originalContentUrl"`
	} `json:"contentProvider"`
}

// parseEvent maps one webhook event object. ok is false for events that
// are ignored or unreadable; reason says why.
//
//   - message: text → KindMessage; image, video, audio, file → KindMessage
//     with an attachment reference (message id; file name and size for
//     files; the URL when the content is external); location → KindMessage
//     with the place as text; sticker and unknown types → KindUnsupported.
//   - messageEdited (a text the user edited) → KindMessage "[edited] …".
//   - follow → KindFollow; unfollow → KindUnfollow.
//   - postback (a quick reply or button with a postback action) →
//     KindPostback with the postback's data as text.
//   - standby mode events (a module owns the chat and the bot must not
//     talk), join, leave, memberJoined, memberLeft, unsend,
//     videoPlayComplete, beacon, accountLink, membership and unknown types
//     are ignored.
func parseEvent(raw json.RawMessage) (ev sdk.Event, ok bool, reason string) {
	var e lineEvent
	if err := json.Unmarshal(raw, &e); err != nil {
		return sdk.Event{}, false, "unreadable event: " + err.Error()
	}
	if e.WebhookEventID == "" {
		return sdk.Event{}, false, "event has no webhookEventId"
	}
	if e.Mode == "standby" {
		return sdk.Event{}, false, "channel is in standby mode for this chat"
	}
	conv, sourceType := conversation(e.Source)
	if conv == "" {
		return sdk.Event{}, false, "event has no user, group or room source"
	}
	ev = sdk.Event{
		ID:           e.WebhookEventID,
		Conversation: conv,
		User:         sdk.User{ID: e.Source.UserID},
		Context: map[string]string{
			ctxSourceType:   sourceType,
			ctxReplyToken:   e.ReplyToken,
			ctxReplyTokenAt: "",
			ctxRedelivery:   strconv.FormatBool(e.DeliveryContext.IsRedelivery),
		},
	}
	if e.Timestamp > 0 {
		ev.Time = time.UnixMilli(e.Timestamp).UTC()
		if e.ReplyToken != "" {
			ev.Context[ctxReplyTokenAt] = strconv.FormatInt(e.Timestamp, 10)
		}
	}
	switch e.Type {
	case "message":
		if e.Message == nil {
			return sdk.Event{}, false, "message event without a message"
		}
		messageEvent(&ev, e.Message)
	case "messageEdited":
		if e.Message == nil || e.Message.Type != "text" {
			return sdk.Event{}, false, "edit event without a text message"
		}
		ev.Kind, ev.Text = sdk.KindMessage, "[edited] "+e.Message.Text
	case "follow":
		ev.Kind = sdk.KindFollow
		if e.Follow != nil && e.Follow.IsUnblocked {
			ev.Context["unblocked"] = "true"
		}
	case "unfollow":
		ev.Kind = sdk.KindUnfollow
	case "postback":
		if e.Postback == nil || e.Postback.Data == "" {
			return sdk.Event{}, false, "postback event without data"
		}
		ev.Kind, ev.Text = sdk.KindPostback, e.Postback.Data
	default:
		return sdk.Event{}, false, "event type " + strconv.Quote(e.Type) + " is not handled"
	}
	return ev, true, ""
}

// conversation returns the chat an event belongs to: the user for 1:1
// chats, the group or room otherwise.
func conversation(s *lineSource) (id, sourceType string) {
	if s == nil {
		return "", ""
	}
	switch s.Type {
	case "user":
		return s.UserID, s.Type
	case "group":
		return s.GroupID, s.Type
	case "room":
		return s.RoomID, s.Type
	}
	return "", ""
}

// messageEvent fills ev from a message object.
func messageEvent(ev *sdk.Event, m *lineMessage) {
	switch m.Type {
	case "text":
		ev.Kind, ev.Text = sdk.KindMessage, m.Text
	case "image", "video", "audio", "file":
		a := sdk.Attachment{Type: m.Type, ID: m.ID, Name: m.FileName, Size: m.FileSize}
		if m.ContentProvider.Type == "external" {
			a.URL = m.ContentProvider.OriginalContentURL
		}
		ev.Kind, ev.Attachments = sdk.KindMessage, []sdk.Attachment{a}
	case "location":
		ev.Kind, ev.Text = sdk.KindMessage, locationText(m)
	default: // sticker and types LINE may add
		ev.Kind = sdk.KindUnsupported
	}
}

// locationText describes a shared location.
func locationText(m *lineMessage) string {
	parts := []string{"[location]"}
	for _, s := range []string{m.Title, m.Address} {
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, s)
		}
	}
	parts = append(parts, fmt.Sprintf("(%.6f, %.6f)", m.Latitude, m.Longitude))
	return strings.Join(parts, " ")
}
