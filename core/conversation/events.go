package conversation

import "time"

// Event is something that happened to a conversation: a visitor's lines, the
// outcome of a model turn, an operator's action on the desk, a timer, a
// request from the API. Each event type is a small struct; the set is
// closed.
type Event interface{ isEvent() }

// VisitorMessages is one or more lines the visitor wrote in a row. They are
// handled together: one model turn answers them all.
type VisitorMessages struct {
	// Lines are the texts as the transcript shows them (attachments
	// included as labels), oldest first.
	Lines []string
}

// ModelAnswered is a model turn that produced text, grounded in Sources
// from the knowledge base (none when it has nothing on the question).
type ModelAnswered struct {
	Text    string
	Sources []Source
}

// KnowledgeAnswered is the knowledge base answering without a model: an
// FAQ entry's answer, verbatim.
type KnowledgeAnswered struct {
	Text    string
	Sources []Source
}

// KnowledgeSuggested is the knowledge base unsure between a few entries:
// Text asks the visitor which one they mean.
type KnowledgeSuggested struct {
	Text   string
	Offers []Offer
}

// KnowledgeNoMatch is the knowledge base having nothing on the question.
// Cause and Reason are the AskKnowledge's, for the handoff.
type KnowledgeNoMatch struct {
	Cause  Cause
	Reason string
}

// ModelTransferred is a model turn that called transfer_to_human, with
// the department and priority it suggested, if any.
type ModelTransferred struct {
	Reason string
	Hint   RouteHint
}

// ModelFailed is a model turn that did not produce an answer.
type ModelFailed struct {
	// Down says the model server is unreachable or lacks the model, which
	// no retry in the next minute fixes.
	Down bool
	// Err describes the failure.
	Err string
}

// Unsupported is something the visitor sent that cannot be shown as text
// (a sticker, a voice note).
type Unsupported struct{}

// Followed is the visitor starting the chat (LINE follow, Telegram /start).
type Followed struct{}

// Unfollowed is the visitor leaving or blocking the bot.
type Unfollowed struct{}

// OperatorJoined is an operator taking the conversation on the desk.
type OperatorJoined struct {
	Operator Operator
	At       time.Time
}

// OperatorMessage is an operator's reply; a private one is a note for the
// other operators that the visitor never sees.
type OperatorMessage struct {
	Operator Operator
	Text     string
	At       time.Time
	Private  bool
}

// DeskOpened is the desk confirming it has the handoff (its open call
// succeeded).
type DeskOpened struct{}

// DeskFailed is the handoff that could not reach the desk: its open call
// failed for good.
type DeskFailed struct{ Reason string }

// DeskClosed is the operator completing the conversation on the desk.
type DeskClosed struct{ Reason string }

// DeskMissed is the desk reporting that no operator took the handoff.
type DeskMissed struct{ Reason string }

// QueueTimeoutFired is the queue timer of a handoff going off. It may be
// stale (an operator joined meanwhile, or a newer handoff started): the
// rules check the deadline.
type QueueTimeoutFired struct{}

// HandoffRequested is someone asking for a person: an API client
// (CauseAPI) or the visitor pressing a "talk to a person" button
// (CauseVisitor).
type HandoffRequested struct {
	Cause  Cause
	Reason string
}

// CloseRequested is an API client closing the conversation.
type CloseRequested struct{}

// Claimed is a console operator taking a waiting conversation.
type Claimed struct {
	Operator Operator
	At       time.Time
}

// Released is the operator holding a conversation giving it back to the
// queue. Force lets an administrator release a conversation someone else
// holds.
type Released struct {
	Operator Operator
	Force    bool
}

// Transferred hands a conversation to another console operator. Force lets
// an administrator move a conversation someone else holds.
type Transferred struct {
	From, To Operator
	At       time.Time
	Force    bool
}

// TakenOver is a console operator joining a conversation the bot is still
// handling.
type TakenOver struct {
	Operator Operator
	At       time.Time
}

// OperatorClosed is a console operator closing the conversation. Force
// lets an administrator close one someone else holds.
type OperatorClosed struct {
	Operator Operator
	Force    bool
}

// ReturnedToBot is an operator giving the conversation back to the bot.
// Force lets an administrator do it while someone else holds it.
type ReturnedToBot struct {
	Operator Operator
	Force    bool
}

// Rated is the visitor's satisfaction rating, 1 to 5, given with a control
// made for it: a button of the rating question (a postback) or the web
// chat's stars. A lone 1 to 5 typed right after the question is a rating
// too, found among the VisitorMessages.
type Rated struct {
	Score   int
	Comment string
}

// TicketCommented is a public comment on the conversation's ticket: it
// reaches the visitor on their channel whatever the conversation's state.
type TicketCommented struct {
	Author Operator
	Text   string
}

func (VisitorMessages) isEvent()    {}
func (ModelAnswered) isEvent()      {}
func (KnowledgeAnswered) isEvent()  {}
func (KnowledgeSuggested) isEvent() {}
func (KnowledgeNoMatch) isEvent()   {}
func (ModelTransferred) isEvent()   {}
func (ModelFailed) isEvent()        {}
func (Unsupported) isEvent()        {}
func (Followed) isEvent()           {}
func (Unfollowed) isEvent()         {}
func (OperatorJoined) isEvent()     {}
func (OperatorMessage) isEvent()    {}
func (DeskOpened) isEvent()         {}
func (DeskFailed) isEvent()         {}
func (DeskClosed) isEvent()         {}
func (DeskMissed) isEvent()         {}
func (QueueTimeoutFired) isEvent()  {}
func (HandoffRequested) isEvent()   {}
func (CloseRequested) isEvent()     {}
func (Claimed) isEvent()            {}
func (Released) isEvent()           {}
func (Transferred) isEvent()        {}
func (TakenOver) isEvent()          {}
func (ReturnedToBot) isEvent()      {}
func (OperatorClosed) isEvent()     {}
func (Rated) isEvent()              {}
func (TicketCommented) isEvent()    {}
