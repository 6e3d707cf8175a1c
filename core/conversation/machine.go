package conversation

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Policy is the configured behaviour the rules follow (the [bot] and
// [handoff] sections of the config).
type Policy struct {
	// Model says a model is configured.
	Model bool
	// Knowledge says a knowledge base can answer without the model (none
	// configured, or it is down); without both, every conversation goes to
	// a person.
	Knowledge bool
	// Desk is the desk instance handoffs go to; "" means none.
	Desk string
	// Keywords hand a conversation off when a visitor line contains one.
	Keywords []string
	// CancelKeywords, typed alone while waiting for a person, return the
	// conversation to the bot.
	CancelKeywords []string
	// MaxBotFailures is how many failed or empty turns in a row hand off.
	MaxBotFailures int
	// QueueTimeout is how long a handoff waits for an operator; 0 waits
	// for ever.
	QueueTimeout time.Duration
	// ReturnToBot gives the conversation back to the bot when the operator
	// closes it, instead of closing it.
	ReturnToBot bool
	// Rating asks visitors to rate the operator after a close ([csat]).
	Rating RatingPolicy
	// Tickets are the causes for which a handoff that cannot reach a
	// person opens a ticket instead of waiting or going back to the bot
	// with an apology: CauseOffHours and CauseNoOperator (people away),
	// CauseMissed (the desk without operators), CauseDeskFailed,
	// CauseQueueTimeout.
	Tickets map[Cause]bool
	// Messages are what the visitor is told.
	Messages Messages
}

// Messages are the texts the rules send to visitors. An empty text is not
// sent.
type Messages struct {
	Handoff     string // a person is on the way
	Fallback    string // the bot failed, or there is nobody to hand off to
	Greeting    string // the visitor started the chat
	Unsupported string // the visitor sent something that is not text
	Cancel      string // back to the bot at the visitor's request
	Timeout     string // nobody joined in time
	Closed      string // the operator closed the conversation
	Missed      string // the desk says nobody took it
	// Ticket and OffHoursTicket tell the visitor about the ticket opened
	// for them ({ticket}, {back}); OffHoursTicket outside opening hours.
	Ticket, OffHoursTicket string
	// OffHours replaces Handoff for a handoff that waits outside the
	// opening hours; {back} is when the team is back.
	OffHours   string
	RateAsk    string // the rating question, after an operator's close
	RateThanks string // the visitor gave a rating
}

// RatingPolicy is when visitors are asked to rate the operator.
type RatingPolicy struct {
	// Ask asks after every close of a conversation an operator joined
	// (unless the visitor's own channel served it natively).
	Ask bool
	// Window is how long the question takes an answer; 0 for ever.
	Window time.Duration
}

// ConsoleDesk is the name of the built-in desk: the operator console.
const ConsoleDesk = "console"

// Machine applies the rules of a Policy.
type Machine struct {
	p        Policy
	keywords *matcher
	cancels  *matcher
}

// NewMachine returns the rules for p.
func NewMachine(p Policy) *Machine {
	return &Machine{p: p, keywords: newMatcher(p.Keywords), cancels: newMatcher(p.CancelKeywords)}
}

// Notes written to the transcript or sent to the desk by the rules.
const (
	noteUnshowable = "(the visitor sent something that cannot be shown as text)"
	noteLeft       = "The visitor left the chat."
)

// Step applies ev to c at time now and returns the conversation after it
// and what has to happen, in order. Events that do not apply in c's state
// change nothing and return no actions.
func (m *Machine) Step(c Conversation, ev Event, now time.Time) (Conversation, []Action) {
	s := step{m: m, c: c, now: now}
	if c.Handoff != nil {
		h := *c.Handoff // the caller's copy stays as it was
		s.c.Handoff = &h
	}
	if c.Rating != nil {
		r := *c.Rating
		s.c.Rating = &r
	}
	s.apply(ev)
	return s.c, s.out
}

// step is one application of the rules.
type step struct {
	m   *Machine
	c   Conversation
	now time.Time
	out []Action
}

func (s *step) apply(ev Event) {
	switch ev := ev.(type) {
	case VisitorMessages:
		s.visitorMessages(ev.Lines)
	case ModelAnswered:
		if s.c.State != Bot {
			return
		}
		s.c.Offered = nil
		if text := strings.TrimSpace(ev.Text); text != "" {
			s.c.Failures = 0
			s.emit(Say{Role: RoleBot, Text: text, Sources: ev.Sources})
			return
		}
		s.botFailed()
	case KnowledgeAnswered:
		if s.c.State != Bot {
			return
		}
		s.c.Offered, s.c.Failures = nil, 0
		s.emit(Say{Role: RoleBot, Text: ev.Text, Sources: ev.Sources})
	case KnowledgeSuggested:
		if s.c.State != Bot || len(ev.Offers) == 0 {
			return
		}
		s.c.Offered = ev.Offers
		choices := make([]Choice, len(ev.Offers))
		for i, o := range ev.Offers {
			choices[i] = Choice{Label: o.Question, Text: o.Question}
		}
		s.emit(Say{Role: RoleBot, Text: ev.Text, Choices: choices})
	case KnowledgeNoMatch:
		if s.c.State == Bot {
			s.handoff(ev.Cause, ev.Reason)
		}
	case ModelTransferred:
		if s.c.State == Bot {
			s.handoff(CauseTool, ev.Reason)
		}
	case ModelFailed:
		switch {
		case s.c.State != Bot:
		case ev.Down && s.m.p.Knowledge:
			s.emit(AskKnowledge{Cause: CauseModelDown, Reason: ev.Err})
		case ev.Down:
			s.handoff(CauseModelDown, ev.Err)
		default:
			s.botFailed()
		}
	case Unsupported:
		if s.c.State == Bot || s.c.State == Closed {
			s.say(RoleBot, s.m.p.Messages.Unsupported)
		} else {
			s.relay(noteUnshowable)
		}
	case Followed:
		if s.c.State == Bot {
			s.say(RoleBot, s.m.p.Messages.Greeting)
		}
	case Unfollowed:
		s.note(RoleSystem, noteLeft)
	case OperatorJoined:
		if !s.withHuman() {
			return // a late report about a handoff that is over
		}
		s.join(ev.Operator, ev.At)
		s.note(RoleSystem, joinedText(ev.Operator.Name))
	case OperatorMessage:
		author := ev.Operator
		if ev.Private {
			s.emit(Note{Role: RoleOperator, Text: ev.Text, Private: true, Author: author})
			return
		}
		if h := s.c.Handoff; ev.Operator.ID != "" && s.c.State == Human && h != nil &&
			h.Desk == ConsoleDesk && h.Assignee != "" && h.Assignee != ev.Operator.ID {
			s.refuse(name(Operator{ID: h.Assignee, Name: h.Operator}) + " holds the conversation")
			return
		}
		// An operator's line reaches the visitor whatever the state: one
		// written just before the handoff ended is not dropped.
		s.join(ev.Operator, ev.At)
		if ev.Text == "" {
			return
		}
		if h := s.c.Handoff; h != nil && h.Native {
			// The channel showed the operator's line to the visitor itself.
			s.emit(Note{Role: RoleOperator, Text: ev.Text, Author: author})
		} else {
			s.emit(Say{Role: RoleOperator, Text: ev.Text, Author: author})
		}
	case DeskOpened:
		if s.c.State == WaitingHuman && s.withHuman() && s.c.Handoff.Desk != "" && !s.c.Handoff.Announced {
			s.announce()
		}
	case DeskFailed:
		if s.c.State != WaitingHuman || !s.withHuman() || s.c.Handoff.Desk == "" {
			return // an operator joined after all, or the handoff is over
		}
		if s.m.p.Tickets[CauseDeskFailed] {
			s.ticket(CauseDeskFailed, ev.Reason)
			return
		}
		s.transition(Bot, CauseDeskFailed, ev.Reason)
		s.say(RoleBot, s.m.p.Messages.Missed)
	case DeskClosed:
		if s.withHuman() {
			s.closed(ev.Reason)
		}
	case OperatorClosed:
		if !s.refuseUnlessConsole(ev.Operator, ev.Force) {
			s.closed("closed by " + name(ev.Operator))
		}
	case DeskMissed:
		if !s.withHuman() {
			return
		}
		s.forgetDesk()
		if s.m.p.Tickets[CauseMissed] {
			s.ticket(CauseMissed, ev.Reason)
			return
		}
		s.transition(Bot, CauseMissed, ev.Reason)
		s.say(RoleBot, s.m.p.Messages.Missed)
	case QueueTimeoutFired:
		h := s.c.Handoff
		if s.c.State != WaitingHuman || h == nil || h.Deadline.IsZero() || s.now.Before(h.Deadline) {
			return // stale: an operator joined, or a newer handoff started
		}
		s.closeDesk("no operator joined in time")
		if s.m.p.Tickets[CauseQueueTimeout] {
			s.ticket(CauseQueueTimeout, "no operator joined in time")
			return
		}
		s.transition(Bot, CauseQueueTimeout, "")
		s.say(RoleBot, s.m.p.Messages.Timeout)
	case HandoffRequested:
		if s.c.State == Bot || s.c.State == Closed {
			s.handoff(ev.Cause, ev.Reason)
		}
	case CloseRequested:
		if s.c.State == Closed {
			return
		}
		served := s.withHuman()
		if served {
			s.closeDesk("closed through the API")
		}
		s.transition(Closed, CauseAPI, "")
		if served {
			s.askRating()
		}
	case Claimed:
		if s.refuseUnlessConsole(ev.Operator, false) {
			return
		}
		if s.c.State == Human {
			return // already theirs
		}
		s.assign(ev.Operator, ev.At)
	case Released:
		if s.refuseUnlessConsole(ev.Operator, ev.Force) {
			return
		}
		if s.c.State != Human {
			s.refuse("nobody holds the conversation")
			return
		}
		h := s.c.Handoff
		s.transition(WaitingHuman, CauseReleased, ev.Operator.Name)
		h.Assignee, h.Operator, h.JoinedAt = "", "", time.Time{}
		s.note(RoleSystem, name(ev.Operator)+" put the conversation back in the queue.")
		s.emit(Assigned{From: ev.Operator})
		s.restartQueueTimer()
	case Transferred:
		if s.refuseUnlessConsole(ev.From, ev.Force) {
			return
		}
		if ev.To.ID == "" || ev.To.ID == s.c.Handoff.Assignee {
			s.refuse("the conversation is already with " + name(ev.To))
			return
		}
		if s.c.State == Human {
			h := s.c.Handoff
			h.Assignee, h.Operator = ev.To.ID, ev.To.Name
			s.note(RoleSystem, name(ev.From)+" transferred the conversation to "+name(ev.To)+".")
			s.emit(Assigned{From: ev.From, To: ev.To})
			return
		}
		s.assign(ev.To, ev.At)
	case TakenOver:
		switch s.c.State {
		case Bot:
			s.transition(Human, CauseTakeover, ev.Operator.Name)
			s.c.Failures = 0
			s.c.Handoff = &Handoff{Cause: CauseTakeover, Reason: "taken over by " + name(ev.Operator), RequestedAt: s.now}
			if s.m.p.Desk == ConsoleDesk {
				s.c.Handoff.Desk = ConsoleDesk
			}
			h := s.c.Handoff
			h.Assignee, h.Operator, h.JoinedAt = ev.Operator.ID, ev.Operator.Name, ev.At
			s.note(RoleSystem, joinedText(ev.Operator.Name))
			s.emit(Assigned{To: ev.Operator})
		case WaitingHuman, Human:
			if s.refuseUnlessConsole(ev.Operator, false) || s.c.State == Human {
				return
			}
			s.assign(ev.Operator, ev.At)
		default:
			s.refuse("the conversation is closed")
		}
	case ServiceLevelBreached:
		s.breach()
	case Rated:
		s.rated(ev.Score, ev.Comment)
	case ReturnedToBot:
		if s.c.State == Bot {
			return
		}
		if s.refuseUnlessConsole(ev.Operator, ev.Force) {
			return
		}
		s.closeDesk("returned to the bot by " + name(ev.Operator))
		s.transition(Bot, CauseOperator, "returned to the bot by "+name(ev.Operator))
		s.say(RoleBot, s.m.p.Messages.Cancel)
	// Tickets.
	case TicketCommented:
		if ev.Text != "" {
			s.emit(Say{Role: RoleOperator, Text: ev.Text, Author: ev.Author})
		}
	// End of tickets.
	default:
		panic(fmt.Sprintf("conversation: unknown event %T", ev))
	}
}

// visitorMessages: while a person has the conversation the lines go to the
// desk (a lone cancel keyword while waiting returns to the bot); otherwise
// a handoff keyword goes to a person at once, and anything else is for the
// model.
func (s *step) visitorMessages(lines []string) {
	if lines = s.ratingReply(lines); len(lines) == 0 {
		return
	}
	if s.withHuman() {
		last := lines[len(lines)-1]
		cancel := s.c.State == WaitingHuman && s.m.cancels.exact(last)
		if cancel {
			lines = lines[:len(lines)-1]
		}
		for _, l := range lines {
			s.relay(l)
		}
		if cancel {
			s.closeDesk("the visitor went back to the bot")
			s.transition(Bot, CauseVisitor, "")
			s.say(RoleBot, s.m.p.Messages.Cancel)
		}
		return
	}
	if s.c.State == Closed {
		s.transition(Bot, CauseVisitor, "reopened by a new message")
	}
	for _, l := range lines {
		if s.m.keywords.match(l) {
			s.handoff(CauseKeyword, "the visitor asked for a human")
			return
		}
	}
	switch {
	case s.m.p.Model:
		s.emit(AskModel{})
	case s.m.p.Knowledge:
		s.emit(AskKnowledge{Cause: CauseNoModel})
	default:
		s.handoff(CauseNoModel, "")
	}
}

// botFailed counts a failed or empty bot turn: the visitor gets the
// fallback message, or a person after too many in a row.
func (s *step) botFailed() {
	s.c.Failures++
	if s.c.Failures >= s.m.p.MaxBotFailures {
		s.handoff(CauseFailures, fmt.Sprintf("%d failed bot turns in a row", s.c.Failures))
		return
	}
	s.say(RoleBot, s.m.p.Messages.Fallback)
}

// handoff moves the conversation to the people: inside its own channel when
// the channel can, else on the desk, else (no desk) it waits for staff to
// pick it up over the API and the visitor gets the fallback message.
func (s *step) handoff(cause Cause, reason string) {
	if s.c.PeopleAway != "" && s.m.p.Tickets[s.c.PeopleAway] {
		if reason == "" {
			reason = "handoff (" + string(cause) + ")"
		}
		s.ticket(s.c.PeopleAway, reason)
		return
	}
	s.transition(WaitingHuman, cause, reason)
	s.c.Failures, s.c.Offered = 0, nil
	h := &Handoff{Cause: cause, Reason: reason, RequestedAt: s.now, LastAssignee: lastAssignee(s.c.Handoff)}
	if s.m.p.QueueTimeout > 0 {
		h.Deadline = s.now.Add(s.m.p.QueueTimeout)
	}
	s.c.Handoff = h
	note := reason
	if note == "" {
		note = "handoff (" + string(cause) + ")"
	}
	switch {
	case s.c.NativeHandoff:
		h.Native, h.Announced = true, true
		s.emit(HandOffNatively{Text: s.handoffText(), Reason: note})
	case s.m.p.Desk == ConsoleDesk:
		h.Desk = ConsoleDesk // the console has it as soon as it is stored
		s.announce()
	case s.m.p.Desk != "":
		// The visitor is told a person is coming once the desk has the
		// handoff (DeskOpened), or that none could be reached.
		h.Desk = s.m.p.Desk
		s.emit(OpenDesk{Desk: h.Desk, Reason: note})
	default:
		s.say(RoleBot, s.m.p.Messages.Fallback)
	}
	if !h.Deadline.IsZero() {
		s.emit(StartQueueTimer{At: h.Deadline})
	}
}

// ticket opens a ticket for a visitor no person could be reached for;
// the bot keeps (or takes back) the conversation meanwhile.
func (s *step) ticket(cause Cause, reason string) {
	s.transition(Bot, cause, reason)
	s.c.Failures, s.c.Offered = 0, nil
	text := s.m.p.Messages.Ticket
	if cause == CauseOffHours && s.c.Back != "" {
		text = strings.ReplaceAll(s.m.p.Messages.OffHoursTicket, "{back}", s.c.Back)
	}
	s.emit(OpenTicket{Cause: cause, Reason: reason, Text: text})
}

// closed ends the people's part of the conversation: back to the bot, or
// closed.
func (s *step) closed(reason string) {
	s.forgetDesk()
	to := Closed
	if s.m.p.ReturnToBot {
		to = Bot
	}
	s.transition(to, CauseClosed, reason)
	if !s.c.Handoff.Native { // a native chat was ended inside the channel
		s.say(RoleBot, s.m.p.Messages.Closed)
	}
	s.askRating()
}

// assign gives a waiting conversation to a console operator.
func (s *step) assign(op Operator, at time.Time) {
	h := s.c.Handoff
	h.Assignee, h.Operator, h.JoinedAt = op.ID, op.Name, at
	s.transition(Human, CauseOperator, op.Name)
	s.note(RoleSystem, joinedText(op.Name))
	s.emit(Assigned{To: op})
}

// refuseUnlessConsole refuses a console operator's request about a
// conversation that is not with the console's people, or that another
// operator holds (unless force), and reports whether it did.
func (s *step) refuseUnlessConsole(op Operator, force bool) bool {
	h := s.c.Handoff
	switch {
	case s.c.State != WaitingHuman && s.c.State != Human:
		s.refuse("the conversation is not with a person")
	case h == nil || h.Native || (h.Desk != "" && h.Desk != ConsoleDesk):
		s.refuse("the conversation is served on another desk")
	case s.c.State == Human && h.Assignee != "" && h.Assignee != op.ID && !force:
		s.refuse(name(Operator{Name: h.Operator, ID: h.Assignee}) + " holds the conversation")
	default:
		return false
	}
	return true
}

func (s *step) refuse(reason string) { s.emit(Refused{Reason: reason}) }

// restartQueueTimer gives a conversation back in the queue a fresh queue
// timeout.
func (s *step) restartQueueTimer() {
	h := s.c.Handoff
	h.Deadline = time.Time{}
	if s.m.p.QueueTimeout > 0 {
		h.Deadline = s.now.Add(s.m.p.QueueTimeout)
		s.emit(StartQueueTimer{At: h.Deadline})
	}
}

// announce tells the visitor a person is on the way.
func (s *step) announce() {
	s.c.Handoff.Announced = true
	s.say(RoleBot, s.handoffText())
}

// handoffText is what the visitor is told about a handoff: outside the
// opening hours, when the team is back.
func (s *step) handoffText() string {
	if s.c.PeopleAway == CauseOffHours && s.c.Back != "" && s.m.p.Messages.OffHours != "" {
		return strings.ReplaceAll(s.m.p.Messages.OffHours, "{back}", s.c.Back)
	}
	return s.m.p.Messages.Handoff
}

// join records the operator who took a waiting conversation (on the
// console, as the one holding it).
func (s *step) join(op Operator, at time.Time) {
	if s.c.State != WaitingHuman || s.c.Handoff == nil {
		return
	}
	if h := s.c.Handoff; h.JoinedAt.IsZero() {
		h.JoinedAt, h.Operator = at, op.Name
		if h.Desk == ConsoleDesk {
			h.Assignee = op.ID
		}
	}
	s.transition(Human, CauseOperator, op.Name)
	if s.c.Handoff.Desk == ConsoleDesk {
		s.emit(Assigned{To: op})
	}
}

// withHuman reports whether the conversation is with the people (waiting
// or served) and has a handoff.
func (s *step) withHuman() bool {
	return (s.c.State == WaitingHuman || s.c.State == Human) && s.c.Handoff != nil
}

// transition moves the conversation to state to; moving to the state it is
// in changes nothing.
func (s *step) transition(to State, cause Cause, reason string) {
	if s.c.State == to {
		return
	}
	s.emit(Changed{Transition{From: s.c.State, To: to, Cause: cause, Reason: reason, At: s.now}})
	s.c.State = to
	if to == Bot {
		s.c.Failures = 0
	}
	if to == WaitingHuman || to == Human {
		s.c.Rating = nil // a new handoff: the last one is no longer asked about
	}
}

func (s *step) say(role Role, text string) {
	if text != "" {
		s.emit(Say{Role: role, Text: text})
	}
}

func (s *step) note(role Role, text string) {
	if text != "" {
		s.emit(Note{Role: role, Text: text})
	}
}

// relay passes a line to the desk; a native handoff sees the visitor
// directly, and without a desk there is nowhere to pass it.
func (s *step) relay(text string) {
	if h := s.c.Handoff; h != nil && h.Desk != "" && text != "" {
		s.emit(RelayToDesk{Text: text})
	}
}

func (s *step) closeDesk(reason string) {
	if h := s.c.Handoff; h != nil && h.Desk != "" {
		s.emit(CloseDesk{Reason: reason})
	}
}

func (s *step) forgetDesk() {
	if h := s.c.Handoff; h != nil && h.Desk != "" && h.Desk != ConsoleDesk {
		s.emit(ForgetDesk{})
	}
}

func (s *step) emit(a Action) { s.out = append(s.out, a) }

// name is how an operator is called in notes.
func name(op Operator) string {
	if op.Name != "" {
		return op.Name
	}
	if op.ID != "" {
		return op.ID
	}
	return "An operator"
}

func joinedText(name string) string {
	if name == "" {
		return "An operator joined the conversation."
	}
	return name + " joined the conversation."
}

// ---- Satisfaction ratings ([csat]) ----------------------------------------

// ratingData prefixes the postback data of the rating buttons.
const ratingData = "rating:"

// RatingChoices are the buttons of the rating question: one to five
// stars, each a postback of its score.
func RatingChoices() []Choice {
	out := make([]Choice, 5)
	for i := range out {
		n := strconv.Itoa(i + 1)
		out[i] = Choice{Label: strings.Repeat("★", i+1), Text: n, Data: ratingData + n}
	}
	return out
}

// ParseRatingData reads the score of a rating button's postback data.
func ParseRatingData(data string) (int, bool) {
	n, ok := strings.CutPrefix(data, ratingData)
	if !ok {
		return 0, false
	}
	return parseScore(n)
}

// parseScore reads a lone 1 to 5 (ASCII or full-width digit), allowing
// spaces and a final full stop or exclamation mark around it.
func parseScore(text string) (int, bool) {
	t := strings.TrimRight(strings.TrimSpace(text), ".!。！ ")
	if r := []rune(t); len(r) == 1 {
		switch {
		case r[0] >= '1' && r[0] <= '5':
			return int(r[0] - '0'), true
		case r[0] >= '１' && r[0] <= '５':
			return int(r[0]-'１') + 1, true
		}
	}
	return 0, false
}

// askRating asks the visitor to rate the operator who served the handoff
// that just ended, if the policy asks and an operator joined it.
func (s *step) askRating() {
	h, text := s.c.Handoff, s.m.p.Messages.RateAsk
	if !s.m.p.Rating.Ask || text == "" || h == nil || h.Native || h.JoinedAt.IsZero() {
		return
	}
	r := RatingRequest{
		HandoffAt: h.RequestedAt, Operator: Operator{ID: h.Assignee, Name: h.Operator},
		AskedAt: s.now, Reply: true,
	}
	if w := s.m.p.Rating.Window; w > 0 {
		r.Until = s.now.Add(w)
	}
	s.c.Rating = &r
	if s.c.RatingWidget {
		s.emit(AskRating{Request: r})
		return
	}
	s.emit(AskRating{Text: text, Choices: RatingChoices(), Request: r})
}

// ratingReply takes a lone 1 to 5 as the visitor's first line after the
// rating question as the rating, and returns the lines left for the usual
// rules. Any line ends the chance to answer by typing.
func (s *step) ratingReply(lines []string) []string {
	r := s.c.Rating
	if r == nil || !r.Reply || len(lines) == 0 {
		return lines
	}
	r.Reply = false
	if score, ok := parseScore(lines[0]); ok && r.Open(s.now) {
		s.rated(score, "")
		return lines[1:]
	}
	return lines
}

// rated records the visitor's answer to the pending rating question;
// anything else (none pending, lapsed, a score out of range) is refused
// and changes nothing, so a rating never counts twice.
func (s *step) rated(score int, comment string) {
	r := s.c.Rating
	switch {
	case score < 1 || score > 5:
		s.refuse("a rating is 1 to 5")
	case r == nil:
		s.refuse("there is nothing to rate")
	case !r.Open(s.now):
		s.refuse("the rating question has lapsed")
	default:
		answered := *r
		answered.Reply, s.c.Rating = false, nil
		s.emit(RecordRating{Score: score, Comment: comment, Request: answered})
		if !s.c.RatingWidget {
			s.say(RoleBot, s.m.p.Messages.RateThanks)
		}
	}
}
