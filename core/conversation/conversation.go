// Package conversation holds the rules of a support conversation: the
// states it can be in, what each event does to it, and what has to happen
// as a result.
//
// The rules are one pure function, [Machine.Step]: given a conversation, an
// event and the time, it returns the changed conversation and a list of
// [Action]s. Step reads no clock, store or network and starts nothing; the
// engine persists what it returns, performs the actions, and feeds the
// outcome of slow work (a model turn) back in as another event. Every rule
// lives in machine.go.
package conversation

import "time"

// State is where a conversation is in its life.
type State string

// Conversation states.
const (
	// Bot: the bot answers the visitor.
	Bot State = "bot"
	// WaitingHuman: handed off; no operator has joined yet.
	WaitingHuman State = "waiting_human"
	// Human: an operator is serving the visitor.
	Human State = "human"
	// Closed: finished; a new visitor message reopens it with the bot.
	Closed State = "closed"
)

// States lists every state, in the order they are shown.
var States = []State{Bot, WaitingHuman, Human, Closed}

// Valid reports whether s is one of the states.
func (s State) Valid() bool {
	for _, v := range States {
		if s == v {
			return true
		}
	}
	return false
}

// Cause says why a conversation changed state. It is stored with every
// transition and with the handoff it started.
type Cause string

// Causes of state changes.
const (
	// CauseTool: the model called transfer_to_human.
	CauseTool Cause = "tool"
	// CauseKeyword: a visitor line contained a handoff keyword.
	CauseKeyword Cause = "keyword"
	// CauseFailures: too many failed or empty model turns in a row.
	CauseFailures Cause = "failures"
	// CauseModelDown: the model server could not be reached.
	CauseModelDown Cause = "llm_down"
	// CauseNoModel: no model is configured, so every conversation goes to
	// a person.
	CauseNoModel Cause = "no_model"
	// CauseAPI: an API client asked for it.
	CauseAPI Cause = "api"
	// CauseOperator: an operator joined or answered.
	CauseOperator Cause = "operator"
	// CauseVisitor: the visitor went back to the bot, or wrote again after
	// the conversation was closed.
	CauseVisitor Cause = "visitor"
	// CauseQueueTimeout: nobody joined within handoff.queue_timeout.
	CauseQueueTimeout Cause = "queue_timeout"
	// CauseMissed: the desk reported that no operator took the handoff.
	CauseMissed Cause = "missed"
	// CauseClosed: the operator closed the conversation.
	CauseClosed Cause = "closed"
	// CauseReleased: the operator gave the conversation back to the queue.
	CauseReleased Cause = "released"
	// CauseTakeover: an operator took a conversation from the bot.
	CauseTakeover Cause = "takeover"
	// CauseDeskFailed: the handoff could not be opened on the desk.
	CauseDeskFailed Cause = "desk_failed"
	// CauseOffHours: a handoff outside the opening hours.
	CauseOffHours Cause = "off_hours"
	// CauseNoOperator: a handoff to the console while no operator was
	// online.
	CauseNoOperator Cause = "no_operator"
)

// Operator is a person answering visitors: a console account (ID set) or
// an operator of an external desk (often a name only).
type Operator struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// Role says who wrote a transcript line.
type Role string

// Transcript roles.
const (
	RoleVisitor  Role = "visitor"
	RoleBot      Role = "bot"
	RoleOperator Role = "operator"
	RoleSystem   Role = "system"
)

// Status is the part of a conversation the rules read and change. It is
// stored with the conversation.
type Status struct {
	// State is the current state.
	State State `json:"state"`
	// Failures counts consecutive failed or empty bot turns.
	Failures int `json:"failures,omitempty"`
	// Handoff is the current or last handoff; nil if there never was one.
	Handoff *Handoff `json:"handoff,omitempty"`
	// Offered are the knowledge-base questions the bot last offered as
	// "did you mean": the visitor's next line may pick one.
	Offered []Offer `json:"offered,omitempty"`
	// Rating is the satisfaction rating the visitor was asked for and has
	// not given yet; nil when none is pending.
	Rating *RatingRequest `json:"rating,omitempty"`
}

// RatingRequest is a satisfaction rating the visitor was asked for after
// an operator served them.
type RatingRequest struct {
	// HandoffAt is when the rated handoff started (its RequestedAt); it
	// names the rating, so a later handoff is rated afresh.
	HandoffAt time.Time `json:"handoff_at"`
	// Operator served the rated handoff.
	Operator Operator `json:"operator"`
	// AskedAt is when the visitor was asked; Until is when the request
	// lapses (zero: never).
	AskedAt time.Time `json:"asked_at"`
	Until   time.Time `json:"until,omitempty"`
	// Reply says the visitor has not written since the question, so
	// their next line, if it is a lone 1 to 5, is the answer.
	Reply bool `json:"reply,omitempty"`
}

// Open reports whether the request still takes a rating at now; a nil
// request takes none.
func (r *RatingRequest) Open(now time.Time) bool {
	return r != nil && (r.Until.IsZero() || now.Before(r.Until))
}

// Offer is a knowledge-base entry offered to the visitor as a question.
type Offer struct {
	// ID is the entry's id in the knowledge base.
	ID string `json:"id"`
	// Question is the entry's question, as shown.
	Question string `json:"question"`
}

// Source is a knowledge-base entry a bot answer was drawn from.
type Source struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// Choice is an answer offered to the visitor with a line, picked with one
// tap where the channel has buttons: picking it sends Text as the
// visitor's next line.
type Choice struct {
	Label string `json:"label"`
	Text  string `json:"text"`
	// Data, when set, makes picking the choice a postback carrying Data
	// (on channels with buttons) instead of a line saying Text.
	Data string `json:"data,omitempty"`
}

// Conversation is what Step sees of a conversation: its stored status and
// the facts about its channel that the rules depend on.
type Conversation struct {
	Status
	// NativeHandoff says the visitor's own channel hands conversations to
	// its operators (the channel plugin's capability), so no desk is used.
	NativeHandoff bool
	// RatingWidget says the visitor's channel shows a rating control of
	// its own, and its own thanks (the web chat's stars), so the rating
	// question and thanks are not said.
	RatingWidget bool
	// PeopleAway says why a handoff now would reach nobody
	// (CauseOffHours, CauseNoOperator); "" when someone can be reached.
	PeopleAway Cause
	// Back is when the team is back, as visitors are told it, while
	// PeopleAway is CauseOffHours.
	Back string
}

// Handoff is the state of a conversation's current or last handoff.
type Handoff struct {
	// Cause is why the conversation was handed off, Reason the free-text
	// explanation, if any.
	Cause  Cause  `json:"cause"`
	Reason string `json:"reason,omitempty"`
	// RequestedAt is when the conversation left the bot.
	RequestedAt time.Time `json:"requested_at"`
	// Desk is the desk instance that has the handoff ("" when the
	// visitor's channel handles it natively, or when there is no desk).
	Desk string `json:"desk,omitempty"`
	// Native says the visitor's own channel took the conversation.
	Native bool `json:"native,omitempty"`
	// Deadline is when the visitor stops waiting for an operator; zero
	// means no limit.
	Deadline time.Time `json:"deadline,omitempty"`
	// JoinedAt is when an operator took the conversation.
	JoinedAt time.Time `json:"joined_at,omitempty"`
	// Operator names the operator who took it.
	Operator string `json:"operator,omitempty"`
	// Assignee is the console account holding the conversation ("" when
	// nobody holds it, or the desk is not the console).
	Assignee string `json:"assignee,omitempty"`
	// Announced says the visitor was told a person is on the way (for a
	// desk, once it confirmed it has the handoff).
	Announced bool `json:"announced,omitempty"`
	// Route is the department and priority the handoff was given (see
	// routing.go); nil before routing existed or for a takeover.
	Route *Route `json:"route,omitempty"`
	// LastAssignee is the console account that held the conversation's
	// previous handoff, to give a returning customer back to them.
	LastAssignee string `json:"last_assignee,omitempty"`
}

// Transition is one change of state, as stored in a conversation's history.
type Transition struct {
	From   State     `json:"from"`
	To     State     `json:"to"`
	Cause  Cause     `json:"cause"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}
