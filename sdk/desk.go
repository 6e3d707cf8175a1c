package sdk

import (
	"context"
	"time"
)

// Desk is the human desk: a help-desk product where operators work. A
// plugin serves it beside its [Channel] ([Plugins].Desk), as its own
// service. When the daemon hands a conversation from any channel to humans,
// it opens a handoff on the desk, relays the visitor's further messages
// into it, and closes it when the conversation goes back to the bot. The
// plugin reports what operators do as events of its Channel (webhook or
// [Poller]) whose Conversation is the desk reference returned by
// OpenHandoff: [KindOperatorJoined], [KindOperatorMessage], [KindClosed],
// [KindMissed].
//
// Calls come from the daemon's durable outbox and are retried after
// temporary errors. Each carries the id of its delivery, the same on every
// attempt ([Handoff].ID, [DeskMessage].ID, [DeskClose].ID): pass it as the
// idempotency key where the desk takes one, and declare the calls whose
// repeats the desk drops in [Capabilities].Idempotent.
type Desk interface {
	// OpenHandoff opens a desk conversation on the visitor's behalf,
	// carrying the transcript, and returns its desk reference.
	OpenHandoff(ctx context.Context, h Handoff) (ref string, err error)
	// RelayToDesk posts a visitor message into an open handoff.
	RelayToDesk(ctx context.Context, ref string, msg DeskMessage) error
	// CloseHandoff ends a handoff from the daemon's side (the visitor went
	// back to the bot, or the conversation was closed through the API).
	CloseHandoff(ctx context.Context, ref string, c DeskClose) error
}

// Handoff is a conversation handed to humans.
type Handoff struct {
	// ID is the daemon's delivery id, stable across retries.
	ID string
	// ConversationID is the daemon's conversation id.
	ConversationID string
	// Channel is the channel instance the visitor writes on ("tg").
	Channel string
	// User is the visitor.
	User User
	// Transcript is the conversation so far, oldest first.
	Transcript []TranscriptEntry
	// Summary is a short description for the operator.
	Summary string
	// Reason says why the conversation was handed off.
	Reason string
	// Department is the desk's id of the department the handoff goes to
	// (the routed department's desk_id); "" for the desk's own default.
	Department string
}

// TranscriptEntry is one message of a transcript handed to a desk.
type TranscriptEntry struct {
	Role string // visitor, bot, operator, system
	Text string
	Time time.Time
}

// DeskMessage is a visitor message relayed to a desk.
type DeskMessage struct {
	// ID is the daemon's delivery id, stable across retries.
	ID   string
	User User
	Text string
}

// DeskClose ends a handoff.
type DeskClose struct {
	// ID is the daemon's delivery id, stable across retries.
	ID string
	// Reason says why, for the operator.
	Reason string
}
