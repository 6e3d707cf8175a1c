package sdk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// EventKind says what happened on the platform.
type EventKind string

// Event kinds understood by the daemon. Channels may emit only the ones that
// apply to them.
const (
	// KindMessage is a message written by the visitor (the customer).
	KindMessage EventKind = "message"
	// KindUnsupported is something the visitor sent that the channel cannot
	// represent as text (a sticker, a voice note); the daemon answers it
	// politely instead of staying silent.
	KindUnsupported EventKind = "unsupported"
	// KindFollow is a visitor adding the bot (LINE follow, Telegram /start).
	KindFollow EventKind = "follow"
	// KindUnfollow is a visitor removing or blocking the bot.
	KindUnfollow EventKind = "unfollow"
	// KindPostback is a visitor pressing a button of a [Choice] with Data
	// (a Telegram inline keyboard button, a LINE postback action); Text
	// is the choice's Data. It is not a line of the transcript.
	KindPostback EventKind = "postback"
	// KindOperatorJoined is a human operator taking a handed-off conversation
	// on a desk.
	KindOperatorJoined EventKind = "operator_joined"
	// KindOperatorMessage is a human operator's reply on a desk.
	KindOperatorMessage EventKind = "operator_message"
	// KindClosed is a desk conversation that the operator completed.
	KindClosed EventKind = "closed"
	// KindMissed is a handoff that no operator took.
	KindMissed EventKind = "missed"
)

// User is a person on a platform.
type User struct {
	// ID is the platform's stable identifier of the person.
	ID string `json:"id"`
	// Name is a display name; it may be empty.
	Name string `json:"name,omitempty"`
}

// Attachment is a reference to a file the visitor sent. The daemon stores the
// reference, never the file itself.
type Attachment struct {
	Type     string `json:"type"` // "photo", "document", "audio", …
	ID       string `json:"id,omitempty"`
	URL      string `json:"url,omitempty"`
	Name     string `json:"name,omitempty"`
	MIMEType string `json:"mime_type,omitempty"`
	Size     int64  `json:"size,omitempty"`
}

// Event is one normalized thing that happened on a platform.
type Event struct {
	// ID is unique within the channel and stable across the platform's
	// redeliveries of the same event; the daemon drops repeated IDs.
	ID string `json:"id"`
	// Kind says what happened.
	Kind EventKind `json:"kind"`
	// Conversation is the platform's native reference of the chat or thread
	// (a Telegram chat id, a LINE userId or groupId, a desk conversation id).
	Conversation string `json:"conversation"`
	// User is who wrote or acted.
	User User `json:"user"`
	// Text is the message text, if any.
	Text string `json:"text,omitempty"`
	// Attachments lists files sent with the message.
	Attachments []Attachment `json:"attachments,omitempty"`
	// Time is when the platform says it happened; zero means "now".
	Time time.Time `json:"time"`
	// Context is opaque per-channel data (reply tokens, request ids) that the
	// daemon keeps with the conversation and hands back on the next
	// [Outbound] for it. Keys starting with [OnceContextPrefix] are handed
	// to one outbound text only (a single-use reply token): the first one
	// queued after the event, on every attempt of that delivery.
	Context map[string]string `json:"context,omitempty"`
}

// OnceContextPrefix marks [Event].Context keys that go to one outbound text
// only, e.g. "once.reply_token".
const OnceContextPrefix = "once."

// OutboundKind says what an [Outbound] asks the channel to do.
type OutboundKind string

// Outbound kinds.
const (
	// OutText sends Text to the visitor.
	OutText OutboundKind = "text"
	// OutTyping shows a typing indicator; it is best effort and never
	// retried.
	OutTyping OutboundKind = "typing"
	// OutHandoff transfers the conversation to a human inside the channel
	// itself (channels whose capabilities have NativeHandoff), with Text as
	// the message the visitor sees and Reason as the operator's note.
	OutHandoff OutboundKind = "handoff"
)

// Outbound is one thing the daemon asks a channel to deliver.
type Outbound struct {
	// ID is the daemon's id of this delivery. It stays the same on every
	// retry, so a channel whose platform accepts an idempotency key should
	// use it as that key.
	ID string
	// Kind says what to do.
	Kind OutboundKind
	// Conversation is the native conversation reference from the events.
	Conversation string
	// User is the visitor of the conversation.
	User User
	// Text is the message.
	Text string
	// Role says who wrote Text: "bot", or "operator" for a human's reply
	// relayed from the desk (some platforms need a different API for those).
	Role string
	// Reason explains a handoff.
	Reason string
	// Department is, for a native handoff, the platform's id of the
	// department it goes to ("" for the channel's own default).
	Department string
	// Context is the latest context map of the conversation's events.
	Context map[string]string
	// Choices are answers the visitor can pick with one tap, offered with
	// Text ("did you mean…", a rating). A channel whose platform has
	// buttons or quick replies shows them, each sending its Choice.Text
	// back as the visitor's message, or for a choice with Data a
	// [KindPostback] event carrying it; any other channel ignores them
	// (Text already says what to answer).
	Choices []Choice
}

// Choice is one answer offered with an [Outbound].
type Choice struct {
	// Label is what the button shows; platforms cut long labels (LINE
	// quick replies show 20 characters).
	Label string
	// Text is what picking it sends, as if the visitor typed it.
	Text string
	// Data, when set, is sent back instead as a [KindPostback] event's
	// Text, where the platform has postback buttons. At most 64 bytes
	// (Telegram's limit for callback data).
	Data string
}

// SendResult is what a successful delivery returns.
type SendResult struct {
	// NativeID is the platform's id of the delivered message, if it has one.
	NativeID string
}

// Capabilities is what a channel tells the daemon about itself when it is
// configured.
type Capabilities struct {
	// TextLimit is the longest text the platform takes in one message, in
	// characters; 0 means no limit. Longer texts are the channel's to split.
	TextLimit int
	// Typing says the channel can show a typing indicator.
	Typing bool
	// NativeHandoff says the channel transfers its own visitors to humans
	// (an [OutHandoff] outbound) instead of opening a desk conversation.
	NativeHandoff bool
	// Desk says the plugin serves a [Desk] beside the channel and can be
	// the human desk. [Serve] sets it when [Plugins].Desk is given; what
	// Configure returns here is ignored.
	Desk bool
	// Polling says the channel implements [Poller] and must be polled.
	Polling bool
	// Idempotent says, per operation, where the platform drops repeats.
	Idempotent Idempotency
}

// Idempotency says, per operation, whether the platform drops repeats of a
// call carrying the same delivery id ([Outbound].ID, [Handoff].ID,
// [DeskMessage].ID, [DeskClose].ID), typically because the plugin passes
// the id as the platform's idempotency key. Only for these operations does
// the daemon retry a call that failed with [OutcomeUnknown]; for the
// others it records the delivery as possibly delivered instead of risking
// a duplicate.
//
// Declare only what the platform itself guarantees: a plugin keeps no
// state across restarts, so a memory of ids it already handled does not
// count. The zero value claims nothing.
type Idempotency struct {
	// SendText is Send of an [OutText].
	SendText bool
	// NativeHandoff is Send of an [OutHandoff].
	NativeHandoff bool
	// OpenHandoff, RelayToDesk and CloseHandoff are the [Desk] calls.
	OpenHandoff  bool
	RelayToDesk  bool
	CloseHandoff bool
}

// ConfigureRequest is what a plugin gets when it is (re)started.
type ConfigureRequest struct {
	// Instance is the configured name, e.g. "tg" for [channels.tg].
	Instance string
	// Options is the instance's options table from the daemon's config.
	Options Options
	// HostVersion is the daemon's version.
	HostVersion string
	// DryRun asks only whether the options are valid (switchboard
	// check-config): validate them as for a real start, but change nothing
	// outside the process (register no webhook, send nothing). The process
	// is stopped right after.
	DryRun bool
}

// Options is an instance's options table, as JSON.
type Options struct {
	raw []byte
}

// NewOptions encodes a map of option values.
func NewOptions(values map[string]any) (Options, error) {
	if values == nil {
		values = map[string]any{}
	}
	raw, err := json.Marshal(values)
	if err != nil {
		return Options{}, fmt.Errorf("encode options: %w", err)
	}
	return Options{raw: raw}, nil
}

// OptionsFromJSON wraps options already encoded as a JSON object.
func OptionsFromJSON(raw []byte) Options { return Options{raw: raw} }

// JSON returns the options as a JSON object.
func (o Options) JSON() []byte {
	if len(o.raw) == 0 {
		return []byte("{}")
	}
	return o.raw
}

// Decode fills v (a pointer to a struct with json tags) from the options.
// Unknown keys and wrong types are errors that name the key, so a typo in the
// config is reported instead of silently ignored.
func (o Options) Decode(v any) error {
	dec := json.NewDecoder(bytes.NewReader(o.JSON()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr):
			return &OptionError{Key: typeErr.Field, Err: fmt.Errorf("expected %s, got %s", typeErr.Type, typeErr.Value)}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return fmt.Errorf("unknown option %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
		default:
			return fmt.Errorf("options: %w", err)
		}
	}
	return nil
}

// Duration is a time.Duration that decodes from option strings like "60s".
type Duration time.Duration

// UnmarshalJSON parses "1m30s" style strings (and plain numbers of seconds).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var secs float64
		if err2 := json.Unmarshal(b, &secs); err2 != nil {
			return fmt.Errorf("duration must be a string like \"30s\": %s", b)
		}
		*d = Duration(secs * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q", s)
	}
	*d = Duration(v)
	return nil
}

// WebhookRequest is a raw HTTP request that arrived at the instance's webhook
// URL, handed to the plugin unchanged so it can verify signatures over the
// exact bytes.
type WebhookRequest struct {
	Method     string
	Path       string
	RawQuery   string
	Header     http.Header
	Body       []byte
	RemoteAddr string
}

// WebhookResponse is the plugin's answer to a webhook: the HTTP response the
// platform gets, and the events to commit before it is written.
type WebhookResponse struct {
	// Status is the HTTP status; 0 means 200. With a status of 400 or more
	// the events are ignored.
	Status int
	// Header is extra response headers.
	Header http.Header
	// Body is the response body.
	Body []byte
	// Events are committed durably before the response is written.
	Events []Event
}
