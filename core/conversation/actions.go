package conversation

import "time"

// Action is something that has to happen because of a step: a line for the
// transcript, a delivery, a call to the desk, a model turn, a timer. The
// engine performs them in order, and commits the durable ones together
// with the step's state. The set is closed.
type Action interface{ isAction() }

// Changed records a change of state (the Transition is also stored in the
// conversation's history).
type Changed struct{ Transition }

// Say writes a line to the transcript and delivers it on the visitor's
// channel.
type Say struct {
	Role Role
	Text string
	// Author is the operator who wrote an operator's line.
	Author Operator
	// Sources are the knowledge-base entries a bot answer was drawn from.
	Sources []Source
	// Choices are offered with the line as buttons, where the channel
	// has them.
	Choices []Choice
}

// Note writes a line to the transcript only: a system note, an operator's
// line the visitor's channel already showed, or (Private) an operator's
// note that visitors, desks and the model never see.
type Note struct {
	Role    Role
	Text    string
	Private bool
	// Author is the operator who wrote an operator's line or note.
	Author Operator
}

// Assigned records that the operator holding the conversation changed
// (To is zero when it went back to the queue).
type Assigned struct{ From, To Operator }

// Refused says an operator's request does not apply in the
// conversation's state (someone else holds it, it is not waiting); the
// conversation is unchanged and the request is answered with a conflict.
type Refused struct{ Reason string }

// AskModel runs a model turn over the transcript; its outcome comes back as
// [ModelAnswered], [ModelTransferred] or [ModelFailed].
type AskModel struct{}

// AskKnowledge answers the visitor's lines from the knowledge base alone
// (no model configured, or it is down); the outcome comes back as
// [KnowledgeAnswered], [KnowledgeSuggested] or [KnowledgeNoMatch], the
// last with Cause and Reason for the handoff that follows.
type AskKnowledge struct {
	Cause  Cause
	Reason string
}

// OpenDesk opens a handoff on the desk, with the transcript so far.
type OpenDesk struct {
	Desk string
	// Reason is what the operator is told about why.
	Reason string
}

// RelayToDesk passes a visitor line to the desk of the open handoff.
type RelayToDesk struct{ Text string }

// CloseDesk ends the desk side of the handoff.
type CloseDesk struct{ Reason string }

// ForgetDesk drops the mapping from the desk's reference to the
// conversation: the desk ended the handoff itself.
type ForgetDesk struct{}

// HandOffNatively asks the visitor's own channel to transfer the
// conversation to its operators, showing Text to the visitor.
type HandOffNatively struct {
	Text   string
	Reason string
}

// StartQueueTimer arms the queue timeout of a handoff: at At, a
// [QueueTimeoutFired] event is due.
type StartQueueTimer struct{ At time.Time }

// AskRating asks the visitor to rate the operator who served them: Text,
// with Choices as buttons where the channel has them (postbacks whose
// Data [ParseRatingData] reads); no Text where the channel asks with a
// control of its own. Request is the rating now pending.
type AskRating struct {
	Text    string
	Choices []Choice
	Request RatingRequest
}

// RecordRating stores the visitor's rating of a handoff, with the operator
// who served it.
type RecordRating struct {
	Score   int
	Comment string
	// Request is the rating request answered.
	Request RatingRequest
}

// OpenTicket opens a ticket for the conversation, which could not reach a
// person (or, when one is still open or pending, keeps that one), and
// tells the visitor Text with "{ticket}" replaced by the ticket's number.
type OpenTicket struct {
	Cause  Cause
	Reason string
	Text   string
}

func (Changed) isAction()         {}
func (Say) isAction()             {}
func (Note) isAction()            {}
func (AskModel) isAction()        {}
func (AskKnowledge) isAction()    {}
func (OpenDesk) isAction()        {}
func (RelayToDesk) isAction()     {}
func (CloseDesk) isAction()       {}
func (ForgetDesk) isAction()      {}
func (HandOffNatively) isAction() {}
func (StartQueueTimer) isAction() {}
func (Assigned) isAction()        {}
func (Refused) isAction()         {}
func (AskRating) isAction()       {}
func (RecordRating) isAction()    {}
func (OpenTicket) isAction()      {}
