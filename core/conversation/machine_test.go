package conversation

import (
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"strings"
	"testing"
	"time"
)

var (
	t0  = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC) // when the fixtures' handoff started
	now = t0.Add(time.Hour)                           // when each step runs
)

var messages = Messages{
	Handoff: "connecting you", Fallback: "sorry", Greeting: "hello!", Unsupported: "text only",
	Cancel: "back to the bot", Timeout: "nobody came", Closed: "the operator left", Missed: "missed you",
}

// policy is the desk setup most rows use; variants change one field.
func policy(change ...func(*Policy)) Policy {
	p := Policy{
		Model: true, Desk: "desk", Keywords: []string{"human", "人工"}, CancelKeywords: []string{"bot", "cancel"},
		MaxBotFailures: 2, QueueTimeout: 10 * time.Minute, ReturnToBot: true, Messages: messages,
	}
	for _, f := range change {
		f(&p)
	}
	return p
}

// Conversations the rows start from.
func bot() Conversation { return Conversation{Status: Status{State: Bot}} }

func closed() Conversation {
	c := human()
	c.State = Closed
	return c
}

// waiting has a desk handoff whose queue timeout is still ahead of now.
func waiting() Conversation {
	return Conversation{Status: Status{State: WaitingHuman, Handoff: &Handoff{
		Cause: CauseKeyword, Reason: "the visitor asked for a human", RequestedAt: t0, Desk: "desk",
		Deadline: now.Add(time.Minute),
	}}}
}

func human() Conversation {
	c := waiting()
	c.State = Human
	c.Handoff.JoinedAt, c.Handoff.Operator = t0.Add(time.Minute), "Ann"
	return c
}

// overdue is waiting past its deadline.
func overdue() Conversation {
	c := waiting()
	c.Handoff.Deadline = now.Add(-time.Second)
	return c
}

func native(c Conversation) Conversation {
	c.NativeHandoff = true
	c.Handoff.Native, c.Handoff.Desk = true, ""
	return c
}

func failures(c Conversation, n int) Conversation {
	c.Failures = n
	return c
}

func with(c Conversation, f func(*Conversation)) Conversation {
	f(&c)
	return c
}

// handedOff is c after a desk handoff at now.
func handedOff(c Conversation, cause Cause, reason string) Conversation {
	c.State, c.Failures = WaitingHuman, 0
	c.Handoff = &Handoff{Cause: cause, Reason: reason, RequestedAt: now, Desk: "desk", Deadline: now.Add(10 * time.Minute)}
	return c
}

func changed(from, to State, cause Cause, reason string) Action {
	return Changed{Transition{From: from, To: to, Cause: cause, Reason: reason, At: now}}
}

// deskHandoff is what a desk handoff from state from does: the visitor is
// told once the desk confirms (DeskOpened).
func deskHandoff(from State, cause Cause, reason, note string) []Action {
	return []Action{
		changed(from, WaitingHuman, cause, reason),
		OpenDesk{Desk: "desk", Reason: note},
		StartQueueTimer{At: now.Add(10 * time.Minute)},
	}
}

func joined(c Conversation, name string) Conversation {
	c.State = Human
	c.Handoff.JoinedAt, c.Handoff.Operator = now, name
	return c
}

func toState(c Conversation, s State) Conversation {
	c.State = s
	return c
}

var (
	ann  = Operator{ID: "op-ann", Name: "Ann"}
	bob  = Operator{ID: "op-bob", Name: "Bob"}
	carl = Operator{ID: "op-carl", Name: "Carl"}
)

// console is the policy with the built-in console as the desk.
func console(p *Policy) { p.Desk = ConsoleDesk }

// onConsole moves a fixture's handoff to the console, held by Ann if an
// operator joined.
func onConsole(c Conversation) Conversation {
	c.Handoff.Desk = ConsoleDesk
	if c.State == Human || !c.Handoff.JoinedAt.IsZero() {
		c.Handoff.Assignee = ann.ID
	}
	return c
}

func heldBy(c Conversation, op Operator) Conversation {
	c.State = Human
	c.Handoff.Assignee, c.Handoff.Operator, c.Handoff.JoinedAt = op.ID, op.Name, now
	return c
}

var offers = []Offer{{ID: "k7", Question: "Where is my parcel?"}, {ID: "k9", Question: "How do returns work?"}}

// rating is the policy that asks for ratings, open for a day.
func rating(change ...func(*Policy)) Policy {
	return policy(append([]func(*Policy){func(p *Policy) {
		p.Rating = RatingPolicy{Ask: true, Window: 24 * time.Hour}
		p.Messages.RateAsk, p.Messages.RateThanks = "rate us", "thanks!"
	}}, change...)...)
}

// asked is c with a rating of its handoff (served by Ann) asked at at.
func asked(c Conversation, at time.Time) Conversation {
	c = clone(c)
	c.Rating = &RatingRequest{HandoffAt: t0, Operator: Operator{Name: "Ann"}, AskedAt: at, Until: at.Add(24 * time.Hour), Reply: true}
	return c
}

// answered is the request of asked(…, at) as a rating records it.
func answered(at time.Time) RatingRequest {
	r := *asked(human(), at).Rating
	r.Reply = false
	return r
}

func notWithAPerson() []Action { return []Action{Refused{"the conversation is not with a person"}} }

// The table: every state with every event, then the policy variants. A row
// with no want.actions and want equal to from is a refused event.
var rows = []struct {
	name    string
	policy  Policy
	from    Conversation
	event   Event
	want    Conversation
	actions []Action
}{
	// bot
	{"bot: a line goes to the model", policy(), bot(), VisitorMessages{[]string{"where is my order?"}}, bot(), []Action{AskModel{}}},
	{"bot: a keyword hands off without the model", policy(), bot(), VisitorMessages{[]string{"hi", "I want a human!"}},
		handedOff(bot(), CauseKeyword, "the visitor asked for a human"),
		deskHandoff(Bot, CauseKeyword, "the visitor asked for a human", "the visitor asked for a human")},
	{"bot: a CJK keyword matches inside a word", policy(), bot(), VisitorMessages{[]string{"我要人工服务"}},
		handedOff(bot(), CauseKeyword, "the visitor asked for a human"),
		deskHandoff(Bot, CauseKeyword, "the visitor asked for a human", "the visitor asked for a human")},
	{"bot: an answer is said, trimmed", policy(), failures(bot(), 1), ModelAnswered{Text: "  Tomorrow.\n"}, bot(), []Action{Say{Role: RoleBot, Text: "Tomorrow."}}},
	{"bot: an empty answer counts as a failure", policy(), bot(), ModelAnswered{Text: "  "}, failures(bot(), 1), []Action{Say{Role: RoleBot, Text: "sorry"}}},
	{"bot: the last allowed failure hands off", policy(), failures(bot(), 1), ModelAnswered{Text: ""},
		handedOff(bot(), CauseFailures, "2 failed bot turns in a row"),
		deskHandoff(Bot, CauseFailures, "2 failed bot turns in a row", "2 failed bot turns in a row")},
	{"bot: the model transfers", policy(), bot(), ModelTransferred{Reason: "wants a refund"},
		handedOff(bot(), CauseTool, "wants a refund"), deskHandoff(Bot, CauseTool, "wants a refund", "wants a refund")},
	{"bot: the model is down", policy(), bot(), ModelFailed{Down: true, Err: "connection refused"},
		handedOff(bot(), CauseModelDown, "connection refused"), deskHandoff(Bot, CauseModelDown, "connection refused", "connection refused")},
	{"bot: a failed turn", policy(), bot(), ModelFailed{Err: "bad output"}, failures(bot(), 1), []Action{Say{Role: RoleBot, Text: "sorry"}}},
	{"bot: unsupported content", policy(), bot(), Unsupported{}, bot(), []Action{Say{Role: RoleBot, Text: "text only"}}},
	{"bot: follow is greeted", policy(), bot(), Followed{}, bot(), []Action{Say{Role: RoleBot, Text: "hello!"}}},
	{"bot: unfollow is noted", policy(), bot(), Unfollowed{}, bot(), []Action{Note{Role: RoleSystem, Text: noteLeft}}},
	{"bot: a late operator joined is refused", policy(), bot(), OperatorJoined{Operator: Operator{Name: "Ann"}, At: now}, bot(), nil},
	{"bot: a late operator line still reaches the visitor", policy(), bot(), OperatorMessage{Operator: Operator{Name: "Ann"}, Text: "one more thing", At: now},
		bot(), []Action{Say{Role: RoleOperator, Text: "one more thing", Author: Operator{Name: "Ann"}}}},
	{"bot: desk closed is refused", policy(), bot(), DeskClosed{"done"}, bot(), nil},
	{"bot: desk missed is refused", policy(), bot(), DeskMissed{"nobody"}, bot(), nil},
	{"bot: a stale queue timeout is refused", policy(), bot(), QueueTimeoutFired{}, bot(), nil},
	{"bot: the API hands off", policy(), bot(), HandoffRequested{Cause: CauseAPI, Reason: "VIP"}, handedOff(bot(), CauseAPI, "VIP"), deskHandoff(Bot, CauseAPI, "VIP", "VIP")},
	{"bot: the API closes", policy(), bot(), CloseRequested{}, toState(bot(), Closed), []Action{changed(Bot, Closed, CauseAPI, "")}},

	// waiting_human (desk)
	{"waiting: lines are relayed", policy(), waiting(), VisitorMessages{[]string{"hello?", "anyone?"}}, waiting(),
		[]Action{RelayToDesk{"hello?"}, RelayToDesk{"anyone?"}}},
	{"waiting: a lone cancel keyword returns to the bot", policy(), waiting(), VisitorMessages{[]string{"ok", "Cancel!"}},
		toState(waiting(), Bot), []Action{
			RelayToDesk{"ok"}, CloseDesk{"the visitor went back to the bot"},
			changed(WaitingHuman, Bot, CauseVisitor, ""), Say{Role: RoleBot, Text: "back to the bot"},
		}},
	{"waiting: a cancel keyword inside a sentence is relayed", policy(), waiting(), VisitorMessages{[]string{"cancel my order"}},
		waiting(), []Action{RelayToDesk{"cancel my order"}}},
	{"waiting: a handoff keyword is only relayed", policy(), waiting(), VisitorMessages{[]string{"human please"}},
		waiting(), []Action{RelayToDesk{"human please"}}},
	{"waiting: model answered is refused", policy(), waiting(), ModelAnswered{Text: "late"}, waiting(), nil},
	{"waiting: model transferred is refused", policy(), waiting(), ModelTransferred{Reason: "again"}, waiting(), nil},
	{"waiting: model failed is refused", policy(), waiting(), ModelFailed{Down: true}, waiting(), nil},
	{"waiting: unsupported content is described to the desk", policy(), waiting(), Unsupported{}, waiting(), []Action{RelayToDesk{noteUnshowable}}},
	{"waiting: follow is refused", policy(), waiting(), Followed{}, waiting(), nil},
	{"waiting: unfollow is noted", policy(), waiting(), Unfollowed{}, waiting(), []Action{Note{Role: RoleSystem, Text: noteLeft}}},
	{"waiting: an operator joins", policy(), waiting(), OperatorJoined{Operator: Operator{Name: "Bob"}, At: now}, joined(waiting(), "Bob"),
		[]Action{changed(WaitingHuman, Human, CauseOperator, "Bob"), Note{Role: RoleSystem, Text: "Bob joined the conversation."}}},
	{"waiting: an operator without a name joins", policy(), waiting(), OperatorJoined{Operator: Operator{}, At: now}, joined(waiting(), ""),
		[]Action{changed(WaitingHuman, Human, CauseOperator, ""), Note{Role: RoleSystem, Text: "An operator joined the conversation."}}},
	{"waiting: an operator's first line joins too", policy(), waiting(), OperatorMessage{Operator: Operator{Name: "Bob"}, Text: "Hi, Bob here", At: now},
		joined(waiting(), "Bob"), []Action{changed(WaitingHuman, Human, CauseOperator, "Bob"), Say{Role: RoleOperator, Text: "Hi, Bob here", Author: Operator{Name: "Bob"}}}},
	{"waiting: the desk closes", policy(), waiting(), DeskClosed{"solved"}, toState(waiting(), Bot),
		[]Action{ForgetDesk{}, changed(WaitingHuman, Bot, CauseClosed, "solved"), Say{Role: RoleBot, Text: "the operator left"}}},
	{"waiting: the desk missed it", policy(), waiting(), DeskMissed{"nobody online"}, toState(waiting(), Bot),
		[]Action{ForgetDesk{}, changed(WaitingHuman, Bot, CauseMissed, "nobody online"), Say{Role: RoleBot, Text: "missed you"}}},
	{"waiting: the queue timeout before its deadline is stale", policy(), waiting(), QueueTimeoutFired{}, waiting(), nil},
	{"waiting: the queue timeout", policy(), overdue(), QueueTimeoutFired{}, toState(overdue(), Bot), []Action{
		CloseDesk{"no operator joined in time"}, changed(WaitingHuman, Bot, CauseQueueTimeout, ""), Say{Role: RoleBot, Text: "nobody came"},
	}},
	{"waiting: the API cannot hand off again", policy(), waiting(), HandoffRequested{Cause: CauseAPI, Reason: "again"}, waiting(), nil},
	{"waiting: the API closes", policy(), waiting(), CloseRequested{}, toState(waiting(), Closed),
		[]Action{CloseDesk{"closed through the API"}, changed(WaitingHuman, Closed, CauseAPI, "")}},

	// human (desk)
	{"human: lines are relayed, a cancel keyword too", policy(), human(), VisitorMessages{[]string{"thanks", "cancel"}}, human(),
		[]Action{RelayToDesk{"thanks"}, RelayToDesk{"cancel"}}},
	{"human: model answered is refused", policy(), human(), ModelAnswered{Text: "late"}, human(), nil},
	{"human: model transferred is refused", policy(), human(), ModelTransferred{Reason: "again"}, human(), nil},
	{"human: model failed is refused", policy(), human(), ModelFailed{}, human(), nil},
	{"human: unsupported content is described to the desk", policy(), human(), Unsupported{}, human(), []Action{RelayToDesk{noteUnshowable}}},
	{"human: follow is refused", policy(), human(), Followed{}, human(), nil},
	{"human: unfollow is noted", policy(), human(), Unfollowed{}, human(), []Action{Note{Role: RoleSystem, Text: noteLeft}}},
	{"human: a second operator joining is noted, the first stays", policy(), human(), OperatorJoined{Operator: Operator{Name: "Bob"}, At: now}, human(),
		[]Action{Note{Role: RoleSystem, Text: "Bob joined the conversation."}}},
	{"human: an operator line is said", policy(), human(), OperatorMessage{Operator: Operator{Name: "Ann"}, Text: "Anything else?", At: now}, human(),
		[]Action{Say{Role: RoleOperator, Text: "Anything else?", Author: Operator{Name: "Ann"}}}},
	{"human: the desk closes", policy(), human(), DeskClosed{"solved"}, toState(human(), Bot),
		[]Action{ForgetDesk{}, changed(Human, Bot, CauseClosed, "solved"), Say{Role: RoleBot, Text: "the operator left"}}},
	{"human: the desk missed it", policy(), human(), DeskMissed{""}, toState(human(), Bot),
		[]Action{ForgetDesk{}, changed(Human, Bot, CauseMissed, ""), Say{Role: RoleBot, Text: "missed you"}}},
	{"human: a queue timeout is stale", policy(), with(human(), func(c *Conversation) { c.Handoff.Deadline = now.Add(-time.Hour) }),
		QueueTimeoutFired{}, with(human(), func(c *Conversation) { c.Handoff.Deadline = now.Add(-time.Hour) }), nil},
	{"human: the API cannot hand off again", policy(), human(), HandoffRequested{Cause: CauseAPI, Reason: ""}, human(), nil},
	{"human: the API closes", policy(), human(), CloseRequested{}, toState(human(), Closed),
		[]Action{CloseDesk{"closed through the API"}, changed(Human, Closed, CauseAPI, "")}},

	// closed
	{"closed: a line reopens it with the bot", policy(), closed(), VisitorMessages{[]string{"hello again"}}, toState(closed(), Bot),
		[]Action{changed(Closed, Bot, CauseVisitor, "reopened by a new message"), AskModel{}}},
	{"closed: a keyword reopens and hands off", policy(), closed(), VisitorMessages{[]string{"human"}},
		handedOff(closed(), CauseKeyword, "the visitor asked for a human"), append([]Action{
			changed(Closed, Bot, CauseVisitor, "reopened by a new message"),
		}, deskHandoff(Bot, CauseKeyword, "the visitor asked for a human", "the visitor asked for a human")...)},
	{"closed: model answered is refused", policy(), closed(), ModelAnswered{Text: "late"}, closed(), nil},
	{"closed: model transferred is refused", policy(), closed(), ModelTransferred{Reason: ""}, closed(), nil},
	{"closed: model failed is refused", policy(), closed(), ModelFailed{}, closed(), nil},
	{"closed: unsupported content is answered", policy(), closed(), Unsupported{}, closed(), []Action{Say{Role: RoleBot, Text: "text only"}}},
	{"closed: follow is refused", policy(), closed(), Followed{}, closed(), nil},
	{"closed: unfollow is noted", policy(), closed(), Unfollowed{}, closed(), []Action{Note{Role: RoleSystem, Text: noteLeft}}},
	{"closed: a late operator joined is refused", policy(), closed(), OperatorJoined{Operator: Operator{Name: "Bob"}, At: now}, closed(), nil},
	{"closed: a late operator line still reaches the visitor", policy(), closed(), OperatorMessage{Operator: Operator{Name: "Ann"}, Text: "bye", At: now},
		closed(), []Action{Say{Role: RoleOperator, Text: "bye", Author: Operator{Name: "Ann"}}}},
	{"closed: desk closed is refused", policy(), closed(), DeskClosed{}, closed(), nil},
	{"closed: desk missed is refused", policy(), closed(), DeskMissed{}, closed(), nil},
	{"closed: a queue timeout is refused", policy(), closed(), QueueTimeoutFired{}, closed(), nil},
	{"closed: the API hands off", policy(), closed(), HandoffRequested{Cause: CauseAPI, Reason: "follow-up"},
		handedOff(closed(), CauseAPI, "follow-up"), deskHandoff(Closed, CauseAPI, "follow-up", "follow-up")},
	{"closed: closing again is refused", policy(), closed(), CloseRequested{}, closed(), nil},

	// policy variants
	{"native: the channel hands off itself", policy(), with(bot(), func(c *Conversation) { c.NativeHandoff = true }),
		VisitorMessages{[]string{"human"}},
		with(bot(), func(c *Conversation) {
			c.NativeHandoff, c.State = true, WaitingHuman
			c.Handoff = &Handoff{Cause: CauseKeyword, Reason: "the visitor asked for a human", RequestedAt: now, Native: true, Deadline: now.Add(10 * time.Minute), Announced: true}
		}),
		[]Action{
			changed(Bot, WaitingHuman, CauseKeyword, "the visitor asked for a human"),
			HandOffNatively{Text: "connecting you", Reason: "the visitor asked for a human"},
			StartQueueTimer{At: now.Add(10 * time.Minute)},
		}},
	{"native: visitor lines are not relayed", policy(), native(waiting()), VisitorMessages{[]string{"hello?"}}, native(waiting()), nil},
	{"native: cancel returns to the bot without a desk to close", policy(), native(waiting()), VisitorMessages{[]string{"bot"}},
		toState(native(waiting()), Bot), []Action{changed(WaitingHuman, Bot, CauseVisitor, ""), Say{Role: RoleBot, Text: "back to the bot"}}},
	{"native: an operator line is only written down", policy(), native(waiting()), OperatorMessage{Operator: Operator{Name: "Zoe"}, Text: "Hi", At: now},
		joined(native(waiting()), "Zoe"), []Action{changed(WaitingHuman, Human, CauseOperator, "Zoe"), Note{Role: RoleOperator, Text: "Hi", Author: Operator{Name: "Zoe"}}}},
	{"native: the channel's close is not announced again", policy(), native(human()), DeskClosed{"ended"}, toState(native(human()), Bot),
		[]Action{changed(Human, Bot, CauseClosed, "ended")}},
	{"no desk: the visitor gets the fallback and waits", policy(func(p *Policy) { p.Desk = "" }), bot(), ModelTransferred{Reason: "refund"},
		with(handedOff(bot(), CauseTool, "refund"), func(c *Conversation) { c.Handoff.Desk = "" }),
		[]Action{changed(Bot, WaitingHuman, CauseTool, "refund"), Say{Role: RoleBot, Text: "sorry"}, StartQueueTimer{At: now.Add(10 * time.Minute)}}},
	{"no desk: lines have nowhere to go", policy(func(p *Policy) { p.Desk = "" }),
		with(waiting(), func(c *Conversation) { c.Handoff.Desk = "" }), VisitorMessages{[]string{"hello?"}},
		with(waiting(), func(c *Conversation) { c.Handoff.Desk = "" }), nil},
	{"no model: every conversation goes to a person", policy(func(p *Policy) { p.Model = false }), bot(), VisitorMessages{[]string{"hello"}},
		handedOff(bot(), CauseNoModel, ""), deskHandoff(Bot, CauseNoModel, "", "handoff (no_model)")},
	{"no queue timeout: the handoff waits for ever", policy(func(p *Policy) { p.QueueTimeout = 0 }), bot(), HandoffRequested{Cause: CauseAPI, Reason: "x"},
		with(handedOff(bot(), CauseAPI, "x"), func(c *Conversation) { c.Handoff.Deadline = time.Time{} }),
		deskHandoff(Bot, CauseAPI, "x", "x")[:2]},
	{"no cancel keywords: cancel is relayed", policy(func(p *Policy) { p.CancelKeywords = nil }), waiting(), VisitorMessages{[]string{"cancel"}},
		waiting(), []Action{RelayToDesk{"cancel"}}},
	{"no return to the bot: the desk's close closes", policy(func(p *Policy) { p.ReturnToBot = false }), human(), DeskClosed{"solved"},
		toState(human(), Closed), []Action{ForgetDesk{}, changed(Human, Closed, CauseClosed, "solved"), Say{Role: RoleBot, Text: "the operator left"}}},
	{"no greeting: follow says nothing", policy(func(p *Policy) { p.Messages.Greeting = "" }), bot(), Followed{}, bot(), nil},
	{"failures are forgotten when the bot takes over again", policy(), failures(waiting(), 1), DeskMissed{""}, toState(waiting(), Bot),
		[]Action{ForgetDesk{}, changed(WaitingHuman, Bot, CauseMissed, ""), Say{Role: RoleBot, Text: "missed you"}}},

	// console operators
	{"bot: claiming is refused", policy(console), bot(), Claimed{Operator: ann, At: now}, bot(), notWithAPerson()},
	{"bot: releasing is refused", policy(console), bot(), Released{Operator: ann}, bot(), notWithAPerson()},
	{"bot: transferring is refused", policy(console), bot(), Transferred{From: ann, To: bob, At: now}, bot(), notWithAPerson()},
	{"bot: an operator takes over from the bot", policy(console), failures(bot(), 1), TakenOver{Operator: ann, At: now},
		Conversation{Status: Status{State: Human, Handoff: &Handoff{
			Cause: CauseTakeover, Reason: "taken over by Ann", RequestedAt: now, Desk: ConsoleDesk,
			JoinedAt: now, Operator: "Ann", Assignee: ann.ID,
		}}},
		[]Action{changed(Bot, Human, CauseTakeover, "Ann"), Note{Role: RoleSystem, Text: "Ann joined the conversation."}, Assigned{To: ann}}},
	{"bot: returning to the bot changes nothing", policy(console), bot(), ReturnedToBot{Operator: ann}, bot(), nil},

	{"waiting: an operator claims", policy(console), onConsole(waiting()), Claimed{Operator: ann, At: now}, heldBy(onConsole(waiting()), ann),
		[]Action{changed(WaitingHuman, Human, CauseOperator, "Ann"), Note{Role: RoleSystem, Text: "Ann joined the conversation."}, Assigned{To: ann}}},
	{"waiting: claiming a conversation on another desk is refused", policy(console), waiting(), Claimed{Operator: ann, At: now}, waiting(),
		[]Action{Refused{"the conversation is served on another desk"}}},
	{"waiting: claiming a native handoff is refused", policy(console), native(waiting()), Claimed{Operator: ann, At: now}, native(waiting()),
		[]Action{Refused{"the conversation is served on another desk"}}},
	{"waiting: releasing is refused", policy(console), onConsole(waiting()), Released{Operator: ann}, onConsole(waiting()),
		[]Action{Refused{"nobody holds the conversation"}}},
	{"waiting: a transfer assigns it", policy(console), onConsole(waiting()), Transferred{From: ann, To: bob, At: now}, heldBy(onConsole(waiting()), bob),
		[]Action{changed(WaitingHuman, Human, CauseOperator, "Bob"), Note{Role: RoleSystem, Text: "Bob joined the conversation."}, Assigned{To: bob}}},
	{"waiting: taking over is claiming", policy(console), onConsole(waiting()), TakenOver{Operator: bob, At: now}, heldBy(onConsole(waiting()), bob),
		[]Action{changed(WaitingHuman, Human, CauseOperator, "Bob"), Note{Role: RoleSystem, Text: "Bob joined the conversation."}, Assigned{To: bob}}},
	{"waiting: an operator returns it to the bot", policy(console), onConsole(waiting()), ReturnedToBot{Operator: ann}, toState(onConsole(waiting()), Bot),
		[]Action{CloseDesk{"returned to the bot by Ann"}, changed(WaitingHuman, Bot, CauseOperator, "returned to the bot by Ann"), Say{Role: RoleBot, Text: "back to the bot"}}},

	{"human: claiming one's own conversation changes nothing", policy(console), onConsole(human()), Claimed{Operator: ann, At: now}, onConsole(human()), nil},
	{"human: claiming someone else's is refused", policy(console), onConsole(human()), Claimed{Operator: bob, At: now}, onConsole(human()),
		[]Action{Refused{"Ann holds the conversation"}}},
	{"human: the holder releases it to the queue", policy(console), onConsole(human()), Released{Operator: ann},
		with(onConsole(human()), func(c *Conversation) {
			c.State = WaitingHuman
			c.Handoff.Assignee, c.Handoff.Operator, c.Handoff.JoinedAt = "", "", time.Time{}
			c.Handoff.Deadline = now.Add(10 * time.Minute)
		}),
		[]Action{
			changed(Human, WaitingHuman, CauseReleased, "Ann"), Note{Role: RoleSystem, Text: "Ann put the conversation back in the queue."},
			Assigned{From: ann}, StartQueueTimer{At: now.Add(10 * time.Minute)},
		}},
	{"human: someone else cannot release it", policy(console), onConsole(human()), Released{Operator: bob}, onConsole(human()),
		[]Action{Refused{"Ann holds the conversation"}}},
	{"human: the holder transfers it", policy(console), onConsole(human()), Transferred{From: ann, To: bob, At: now},
		with(onConsole(human()), func(c *Conversation) { c.Handoff.Assignee, c.Handoff.Operator = bob.ID, bob.Name }),
		[]Action{Note{Role: RoleSystem, Text: "Ann transferred the conversation to Bob."}, Assigned{From: ann, To: bob}}},
	{"human: someone else cannot transfer it", policy(console), onConsole(human()), Transferred{From: bob, To: carl, At: now}, onConsole(human()),
		[]Action{Refused{"Ann holds the conversation"}}},
	{"human: an administrator can", policy(console), onConsole(human()), Transferred{From: bob, To: carl, At: now, Force: true},
		with(onConsole(human()), func(c *Conversation) { c.Handoff.Assignee, c.Handoff.Operator = carl.ID, carl.Name }),
		[]Action{Note{Role: RoleSystem, Text: "Bob transferred the conversation to Carl."}, Assigned{From: bob, To: carl}}},
	{"human: a transfer to the holder is refused", policy(console), onConsole(human()), Transferred{From: ann, To: ann, At: now}, onConsole(human()),
		[]Action{Refused{"the conversation is already with Ann"}}},
	{"human: taking over someone else's is refused", policy(console), onConsole(human()), TakenOver{Operator: bob, At: now}, onConsole(human()),
		[]Action{Refused{"Ann holds the conversation"}}},
	{"human: the holder returns it to the bot", policy(console), onConsole(human()), ReturnedToBot{Operator: ann}, toState(onConsole(human()), Bot),
		[]Action{CloseDesk{"returned to the bot by Ann"}, changed(Human, Bot, CauseOperator, "returned to the bot by Ann"), Say{Role: RoleBot, Text: "back to the bot"}}},
	{"human: a private note stays among operators", policy(console), onConsole(human()), OperatorMessage{Operator: Operator{Name: "Ann"}, Text: "VIP, be nice", At: now, Private: true},
		onConsole(human()), []Action{Note{Role: RoleOperator, Text: "VIP, be nice", Private: true, Author: Operator{Name: "Ann"}}}},

	{"closed: claiming is refused", policy(console), closed(), Claimed{Operator: ann, At: now}, closed(), notWithAPerson()},
	{"closed: releasing is refused", policy(console), closed(), Released{Operator: ann}, closed(), notWithAPerson()},
	{"closed: transferring is refused", policy(console), closed(), Transferred{From: ann, To: bob, At: now}, closed(), notWithAPerson()},
	{"closed: taking over is refused", policy(console), closed(), TakenOver{Operator: ann, At: now}, closed(), []Action{Refused{"the conversation is closed"}}},
	{"closed: returning to the bot is refused", policy(console), closed(), ReturnedToBot{Operator: ann}, closed(), notWithAPerson()},
	{"human: an operator closes", policy(console), onConsole(human()), OperatorClosed{Operator: ann}, toState(onConsole(human()), Bot),
		[]Action{changed(Human, Bot, CauseClosed, "closed by Ann"), Say{Role: RoleBot, Text: "the operator left"}}},
	{"human: someone else cannot close it", policy(console), onConsole(human()), OperatorClosed{Operator: bob}, onConsole(human()),
		[]Action{Refused{"Ann holds the conversation"}}},
	{"human: someone else's line is refused", policy(console), onConsole(human()), OperatorMessage{Operator: bob, Text: "hi", At: now}, onConsole(human()),
		[]Action{Refused{"Ann holds the conversation"}}},
	{"waiting: a console operator's first line claims it", policy(console), onConsole(waiting()), OperatorMessage{Operator: bob, Text: "Hi, Bob here", At: now},
		heldBy(onConsole(waiting()), bob), []Action{changed(WaitingHuman, Human, CauseOperator, "Bob"), Assigned{To: bob}, Say{Role: RoleOperator, Text: "Hi, Bob here", Author: bob}}},
	{"waiting: an operator closes", policy(console), onConsole(waiting()), OperatorClosed{Operator: ann}, toState(onConsole(waiting()), Bot),
		[]Action{changed(WaitingHuman, Bot, CauseClosed, "closed by Ann"), Say{Role: RoleBot, Text: "the operator left"}}},
	{"bot: closing as an operator is refused", policy(console), bot(), OperatorClosed{Operator: ann}, bot(), notWithAPerson()},
	{"closed: closing as an operator is refused", policy(console), closed(), OperatorClosed{Operator: ann}, closed(), notWithAPerson()},
	{"visitor button: the visitor asks for a person", policy(console), bot(), HandoffRequested{Cause: CauseVisitor, Reason: "the visitor asked for a person"},
		with(handedOff(bot(), CauseVisitor, "the visitor asked for a person"), func(c *Conversation) { c.Handoff.Desk, c.Handoff.Announced = ConsoleDesk, true }),
		[]Action{
			changed(Bot, WaitingHuman, CauseVisitor, "the visitor asked for a person"), Say{Role: RoleBot, Text: "connecting you"},
			StartQueueTimer{At: now.Add(10 * time.Minute)},
		}},

	// the desk's answer to the open call
	{"bot: a late desk confirmation is refused", policy(), bot(), DeskOpened{}, bot(), nil},
	{"bot: a late desk failure is refused", policy(), bot(), DeskFailed{"500"}, bot(), nil},
	{"waiting: the desk has it: the visitor is told", policy(), waiting(), DeskOpened{},
		with(waiting(), func(c *Conversation) { c.Handoff.Announced = true }), []Action{Say{Role: RoleBot, Text: "connecting you"}}},
	{"waiting: told once only", policy(), with(waiting(), func(c *Conversation) { c.Handoff.Announced = true }), DeskOpened{},
		with(waiting(), func(c *Conversation) { c.Handoff.Announced = true }), nil},
	{"waiting: the desk could not be reached", policy(), waiting(), DeskFailed{"gave up after 12 attempts"}, toState(waiting(), Bot),
		[]Action{changed(WaitingHuman, Bot, CauseDeskFailed, "gave up after 12 attempts"), Say{Role: RoleBot, Text: "missed you"}}},
	{"human: an operator is already there: no announcement", policy(), human(), DeskOpened{}, human(), nil},
	{"human: an operator is already there: a failure changes nothing", policy(), human(), DeskFailed{"500"}, human(), nil},
	{"closed: a late desk confirmation is refused", policy(), closed(), DeskOpened{}, closed(), nil},
	{"closed: a late desk failure is refused", policy(), closed(), DeskFailed{"500"}, closed(), nil},
	{"no desk: nothing to confirm", policy(), with(waiting(), func(c *Conversation) { c.Handoff.Desk = "" }), DeskOpened{},
		with(waiting(), func(c *Conversation) { c.Handoff.Desk = "" }), nil},

	// the knowledge base, without a model
	{"no model: the knowledge base is asked", policy(func(p *Policy) { p.Model, p.Knowledge = false, true }), bot(),
		VisitorMessages{[]string{"how long is shipping?"}}, bot(), []Action{AskKnowledge{Cause: CauseNoModel}}},
	{"model down: the knowledge base is asked", policy(func(p *Policy) { p.Knowledge = true }), bot(),
		ModelFailed{Down: true, Err: "connection refused"}, bot(), []Action{AskKnowledge{Cause: CauseModelDown, Reason: "connection refused"}}},
	{"bot: the knowledge base answers", policy(), with(failures(bot(), 1), func(c *Conversation) { c.Offered = offers }),
		KnowledgeAnswered{Text: "Three to five days.", Sources: []Source{{ID: "k1", Title: "Shipping times"}}}, bot(),
		[]Action{Say{Role: RoleBot, Text: "Three to five days.", Sources: []Source{{ID: "k1", Title: "Shipping times"}}}}},
	{"bot: the knowledge base offers questions", policy(), bot(), KnowledgeSuggested{Text: "Did you mean:\n1. Where is my parcel?\n2. How do returns work?", Offers: offers},
		with(bot(), func(c *Conversation) { c.Offered = offers }),
		[]Action{Say{Role: RoleBot, Text: "Did you mean:\n1. Where is my parcel?\n2. How do returns work?", Choices: []Choice{
			{Label: "Where is my parcel?", Text: "Where is my parcel?"}, {Label: "How do returns work?", Text: "How do returns work?"}}}}},
	{"bot: nothing in the knowledge base: a person", policy(), with(bot(), func(c *Conversation) { c.Offered = offers }),
		KnowledgeNoMatch{Cause: CauseModelDown, Reason: "connection refused"},
		handedOff(bot(), CauseModelDown, "connection refused"), deskHandoff(Bot, CauseModelDown, "connection refused", "connection refused")},
	{"bot: a model answer forgets the offers", policy(), with(bot(), func(c *Conversation) { c.Offered = offers }), ModelAnswered{Text: "Sure."},
		bot(), []Action{Say{Role: RoleBot, Text: "Sure."}}},
	{"waiting: a late knowledge answer is refused", policy(), waiting(), KnowledgeAnswered{Text: "x"}, waiting(), nil},
	{"waiting: late suggestions are refused", policy(), waiting(), KnowledgeSuggested{Text: "x", Offers: offers}, waiting(), nil},
	{"waiting: a late no-match is refused", policy(), waiting(), KnowledgeNoMatch{Cause: CauseNoModel}, waiting(), nil},
	{"human: a late knowledge answer is refused", policy(), human(), KnowledgeAnswered{Text: "x"}, human(), nil},
	{"human: late suggestions are refused", policy(), human(), KnowledgeSuggested{Text: "x", Offers: offers}, human(), nil},
	{"human: a late no-match is refused", policy(), human(), KnowledgeNoMatch{Cause: CauseNoModel}, human(), nil},
	{"closed: a late knowledge answer is refused", policy(), closed(), KnowledgeAnswered{Text: "x"}, closed(), nil},
	{"closed: late suggestions are refused", policy(), closed(), KnowledgeSuggested{Text: "x", Offers: offers}, closed(), nil},
	{"closed: a late no-match is refused", policy(), closed(), KnowledgeNoMatch{Cause: CauseNoModel}, closed(), nil},

	// satisfaction ratings ([csat])
	{"rating: the desk's close asks for a rating", rating(), human(), DeskClosed{"solved"}, asked(toState(human(), Bot), now),
		[]Action{ForgetDesk{}, changed(Human, Bot, CauseClosed, "solved"), Say{Role: RoleBot, Text: "the operator left"},
			AskRating{Text: "rate us", Choices: RatingChoices(), Request: *asked(human(), now).Rating}}},
	{"rating: an operator's close on the console asks about them", rating(console), onConsole(human()), OperatorClosed{Operator: ann},
		with(asked(toState(onConsole(human()), Bot), now), func(c *Conversation) { c.Rating.Operator.ID = ann.ID }),
		[]Action{changed(Human, Bot, CauseClosed, "closed by Ann"), Say{Role: RoleBot, Text: "the operator left"},
			AskRating{Text: "rate us", Choices: RatingChoices(), Request: RatingRequest{HandoffAt: t0, Operator: Operator{ID: ann.ID, Name: "Ann"}, AskedAt: now, Until: now.Add(24 * time.Hour), Reply: true}}}},
	{"rating: the API's close of a served conversation asks", rating(), human(), CloseRequested{}, asked(toState(human(), Closed), now),
		[]Action{CloseDesk{"closed through the API"}, changed(Human, Closed, CauseAPI, ""),
			AskRating{Text: "rate us", Choices: RatingChoices(), Request: *asked(human(), now).Rating}}},
	{"rating: nobody joined: nothing to rate", rating(), waiting(), DeskClosed{"solved"}, toState(waiting(), Bot),
		[]Action{ForgetDesk{}, changed(WaitingHuman, Bot, CauseClosed, "solved"), Say{Role: RoleBot, Text: "the operator left"}}},
	{"rating: a native channel rates its own chats", rating(), native(human()), DeskClosed{"ended"}, toState(native(human()), Bot),
		[]Action{changed(Human, Bot, CauseClosed, "ended")}},
	{"rating: a button rates in the bot state", rating(), asked(toState(human(), Bot), t0), Rated{Score: 4}, toState(human(), Bot),
		[]Action{RecordRating{Score: 4, Request: answered(t0)}, Say{Role: RoleBot, Text: "thanks!"}}},
	{"rating: the web chat's stars rate a closed one, with a comment", rating(), asked(closed(), t0), Rated{Score: 5, Comment: "quick"}, closed(),
		[]Action{RecordRating{Score: 5, Comment: "quick", Request: answered(t0)}, Say{Role: RoleBot, Text: "thanks!"}}},
	{"rating: a lone digit right after the question rates", rating(), asked(closed(), t0), VisitorMessages{[]string{" 3 "}}, closed(),
		[]Action{RecordRating{Score: 3, Request: answered(t0)}, Say{Role: RoleBot, Text: "thanks!"}}},
	{"rating: a full-width digit rates too, the next line goes on", rating(), asked(toState(human(), Bot), t0), VisitorMessages{[]string{"５", "one more question"}},
		toState(human(), Bot), []Action{RecordRating{Score: 5, Request: answered(t0)}, Say{Role: RoleBot, Text: "thanks!"}, AskModel{}}},
	{"rating: another line ends typed answers, the buttons stay", rating(), asked(toState(human(), Bot), t0), VisitorMessages{[]string{"where is my refund?"}},
		with(asked(toState(human(), Bot), t0), func(c *Conversation) { c.Rating.Reply = false }), []Action{AskModel{}}},
	{"rating: a digit after another line is just a line", rating(), with(asked(toState(human(), Bot), t0), func(c *Conversation) { c.Rating.Reply = false }),
		VisitorMessages{[]string{"4"}}, with(asked(toState(human(), Bot), t0), func(c *Conversation) { c.Rating.Reply = false }), []Action{AskModel{}}},
	{"rating: a second rating is refused", rating(), closed(), Rated{Score: 5}, closed(), []Action{Refused{"there is nothing to rate"}}},
	{"rating: a lapsed question is refused", rating(), asked(closed(), now.Add(-25*time.Hour)), Rated{Score: 2}, asked(closed(), now.Add(-25*time.Hour)),
		[]Action{Refused{"the rating question has lapsed"}}},
	{"rating: a score out of range is refused", rating(), asked(closed(), t0), Rated{Score: 6}, asked(closed(), t0), []Action{Refused{"a rating is 1 to 5"}}},
	{"rating: a lapsed typed answer is a line again", rating(), asked(closed(), now.Add(-25*time.Hour)), VisitorMessages{[]string{"5"}},
		with(asked(toState(closed(), Bot), now.Add(-25*time.Hour)), func(c *Conversation) { c.Rating.Reply = false }),
		[]Action{changed(Closed, Bot, CauseVisitor, "reopened by a new message"), AskModel{}}},
	{"rating: a new handoff drops the question", rating(), asked(toState(human(), Bot), t0), HandoffRequested{Cause: CauseAPI, Reason: "again"},
		handedOff(toState(human(), Bot), CauseAPI, "again"), deskHandoff(Bot, CauseAPI, "again", "again")},
	{"rating: waiting for a person, there is nothing to rate", rating(), waiting(), Rated{Score: 5}, waiting(), []Action{Refused{"there is nothing to rate"}}},
	{"rating: while served, there is nothing to rate", rating(), human(), Rated{Score: 5}, human(), []Action{Refused{"there is nothing to rate"}}},
	{"rating: the web chat's stars ask and thank themselves", rating(), with(human(), func(c *Conversation) { c.RatingWidget = true }), DeskClosed{"solved"},
		with(asked(toState(human(), Bot), now), func(c *Conversation) { c.RatingWidget = true }),
		[]Action{ForgetDesk{}, changed(Human, Bot, CauseClosed, "solved"), Say{Role: RoleBot, Text: "the operator left"},
			AskRating{Request: *asked(human(), now).Rating}}},
	{"rating: the web chat's stars are not thanked in the transcript", rating(), with(asked(closed(), t0), func(c *Conversation) { c.RatingWidget = true }),
		Rated{Score: 5}, with(closed(), func(c *Conversation) { c.RatingWidget = true }), []Action{RecordRating{Score: 5, Request: answered(t0)}}},
	{"rating: off, a close asks nothing", policy(), human(), DeskClosed{"solved"}, toState(human(), Bot),
		[]Action{ForgetDesk{}, changed(Human, Bot, CauseClosed, "solved"), Say{Role: RoleBot, Text: "the operator left"}}},
	// Tickets: a handoff that cannot reach a person.
	{"bot: off hours: a ticket instead of the queue", policy(tickets), away(bot(), CauseOffHours),
		VisitorMessages{[]string{"a human please"}}, away(bot(), CauseOffHours),
		[]Action{OpenTicket{Cause: CauseOffHours, Reason: "the visitor asked for a human", Text: "ticket {ticket}, back Monday 09:00"}}},
	{"bot: nobody on the console: a ticket", policy(tickets, console), away(failures(bot(), 1), CauseNoOperator),
		ModelTransferred{Reason: "refund"}, away(bot(), CauseNoOperator),
		[]Action{OpenTicket{Cause: CauseNoOperator, Reason: "refund", Text: "ticket {ticket}"}}},
	{"bot: off hours, waiting is the policy: the queue", policy(), away(bot(), CauseOffHours),
		ModelTransferred{Reason: "refund"}, away(handedOff(bot(), CauseTool, "refund"), CauseOffHours), deskHandoff(Bot, CauseTool, "refund", "refund")},
	{"waiting off hours: the desk has it: the visitor is told when the team is back", policy(offHours), away(waiting(), CauseOffHours),
		DeskOpened{}, away(with(waiting(), func(c *Conversation) { c.Handoff.Announced = true }), CauseOffHours),
		[]Action{Say{Role: RoleBot, Text: "away until Monday 09:00"}}},
	{"bot off hours, console, waiting is the policy: told when the team is back", policy(console, offHours), away(bot(), CauseOffHours),
		ModelTransferred{Reason: "refund"}, away(with(handedOff(bot(), CauseTool, "refund"), func(c *Conversation) {
			c.Handoff.Desk, c.Handoff.Announced = ConsoleDesk, true
		}), CauseOffHours),
		[]Action{changed(Bot, WaitingHuman, CauseTool, "refund"), Say{Role: RoleBot, Text: "away until Monday 09:00"}, StartQueueTimer{At: now.Add(10 * time.Minute)}}},
	{"bot off hours, native channel: told when the team is back", policy(offHours), away(with(bot(), func(c *Conversation) { c.NativeHandoff = true }), CauseOffHours),
		HandoffRequested{Cause: CauseAPI, Reason: "vip"},
		away(with(bot(), func(c *Conversation) {
			c.NativeHandoff, c.State = true, WaitingHuman
			c.Handoff = &Handoff{Cause: CauseAPI, Reason: "vip", RequestedAt: now, Native: true, Deadline: now.Add(10 * time.Minute), Announced: true}
		}), CauseOffHours),
		[]Action{
			changed(Bot, WaitingHuman, CauseAPI, "vip"),
			HandOffNatively{Text: "away until Monday 09:00", Reason: "vip"},
			StartQueueTimer{At: now.Add(10 * time.Minute)},
		}},
	{"bot: people in, tickets on: the queue", policy(tickets), bot(),
		ModelTransferred{Reason: "refund"}, handedOff(bot(), CauseTool, "refund"), deskHandoff(Bot, CauseTool, "refund", "refund")},
	{"closed: an API handoff off hours: a ticket, and the bot", policy(tickets), away(closed(), CauseOffHours),
		HandoffRequested{Cause: CauseAPI}, away(toState(closed(), Bot), CauseOffHours),
		[]Action{changed(Closed, Bot, CauseOffHours, "handoff (api)"), OpenTicket{Cause: CauseOffHours, Reason: "handoff (api)", Text: "ticket {ticket}, back Monday 09:00"}}},
	{"waiting: the desk could not be reached: a ticket", policy(tickets), waiting(), DeskFailed{"gave up"}, toState(waiting(), Bot),
		[]Action{changed(WaitingHuman, Bot, CauseDeskFailed, "gave up"), OpenTicket{Cause: CauseDeskFailed, Reason: "gave up", Text: "ticket {ticket}"}}},
	{"waiting: the queue timeout: a ticket", policy(tickets), overdue(), QueueTimeoutFired{}, toState(overdue(), Bot), []Action{
		CloseDesk{Reason: "no operator joined in time"}, changed(WaitingHuman, Bot, CauseQueueTimeout, "no operator joined in time"),
		OpenTicket{Cause: CauseQueueTimeout, Reason: "no operator joined in time", Text: "ticket {ticket}"}}},
	{"waiting: the desk missed it: a ticket", policy(tickets), waiting(), DeskMissed{"nobody online"}, toState(waiting(), Bot), []Action{
		ForgetDesk{}, changed(WaitingHuman, Bot, CauseMissed, "nobody online"), OpenTicket{Cause: CauseMissed, Reason: "nobody online", Text: "ticket {ticket}"}}},
	{"waiting: tickets off hours only: the queue timeout apologises", policy(ticketsFor(CauseOffHours)), overdue(), QueueTimeoutFired{}, toState(overdue(), Bot), []Action{
		CloseDesk{"no operator joined in time"}, changed(WaitingHuman, Bot, CauseQueueTimeout, ""), Say{Role: RoleBot, Text: "nobody came"},
	}},
	{"waiting: tickets on a timeout only: the desk's failure apologises", policy(ticketsFor(CauseQueueTimeout)), waiting(), DeskMissed{"nobody online"}, toState(waiting(), Bot),
		[]Action{ForgetDesk{}, changed(WaitingHuman, Bot, CauseMissed, "nobody online"), Say{Role: RoleBot, Text: "missed you"}}},
	{"bot: tickets when nobody is online, off hours: the queue", policy(ticketsFor(CauseNoOperator)), away(bot(), CauseOffHours),
		ModelTransferred{Reason: "refund"}, away(handedOff(bot(), CauseTool, "refund"), CauseOffHours), deskHandoff(Bot, CauseTool, "refund", "refund")},
	{"bot: a ticket comment reaches the visitor", policy(), bot(), TicketCommented{Author: ann, Text: "Your refund is on its way."}, bot(),
		[]Action{Say{Role: RoleOperator, Text: "Your refund is on its way.", Author: ann}}},
	{"waiting: a ticket comment does not take the conversation", policy(), waiting(), TicketCommented{Author: bob, Text: "Noted."}, waiting(),
		[]Action{Say{Role: RoleOperator, Text: "Noted.", Author: bob}}},
	{"human: a ticket comment reaches the visitor", policy(), human(), TicketCommented{Author: bob, Text: "Update."}, human(),
		[]Action{Say{Role: RoleOperator, Text: "Update.", Author: bob}}},
	{"closed: a ticket comment reaches the visitor and reopens nothing", policy(), closed(), TicketCommented{Text: "Solved."}, closed(),
		[]Action{Say{Role: RoleOperator, Text: "Solved."}}},
	{"bot: an empty ticket comment says nothing", policy(), bot(), TicketCommented{Author: ann}, bot(), nil},
	{"bot: off hours, but never back: the plain ticket text", policy(tickets), with(bot(), func(c *Conversation) { c.PeopleAway = CauseOffHours }),
		HandoffRequested{Cause: CauseAPI, Reason: "x"}, with(bot(), func(c *Conversation) { c.PeopleAway = CauseOffHours }),
		[]Action{OpenTicket{Cause: CauseOffHours, Reason: "x", Text: "ticket {ticket}"}}},
}

// tickets turns tickets on for every cause, with texts that show which
// was used.
func tickets(p *Policy) {
	ticketsFor(CauseOffHours, CauseNoOperator, CauseMissed, CauseDeskFailed, CauseQueueTimeout)(p)
}

// ticketsFor turns tickets on for some causes only.
func ticketsFor(causes ...Cause) func(*Policy) {
	return func(p *Policy) {
		p.Tickets = map[Cause]bool{}
		for _, c := range causes {
			p.Tickets[c] = true
		}
		p.Messages.Ticket, p.Messages.OffHoursTicket = "ticket {ticket}", "ticket {ticket}, back {back}"
	}
}

// offHours sets the text of a handoff that waits outside the hours.
func offHours(p *Policy) { p.Messages.OffHours = "away until {back}" }

// away is c while a handoff would reach nobody, for cause.
func away(c Conversation, cause Cause) Conversation {
	c.PeopleAway = cause
	if cause == CauseOffHours {
		c.Back = "Monday 09:00"
	}
	return c
}

func TestStep(t *testing.T) {
	for _, tt := range rows {
		t.Run(tt.name, func(t *testing.T) {
			from := tt.from
			before := clone(from)
			got, actions := NewMachine(tt.policy).Step(from, tt.event, now)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("conversation:\n got %s\nwant %s", show(got), show(tt.want))
			}
			if !reflect.DeepEqual(actions, tt.actions) {
				t.Errorf("actions:\n got %#v\nwant %#v", actions, tt.actions)
			}
			if !reflect.DeepEqual(from, before) {
				t.Errorf("Step changed its input: %s, was %s", show(from), show(before))
			}
		})
	}
}

// TestEveryStateMeetsEveryEvent keeps the table complete: each event type
// declared in this package must have a row starting in each state.
func TestEveryStateMeetsEveryEvent(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "events.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == "isEvent" && fn.Recv != nil {
			events = append(events, fn.Recv.List[0].Type.(*ast.Ident).Name)
		}
	}
	if len(events) < 14 {
		t.Fatalf("found only %d event types in events.go: %v", len(events), events)
	}
	seen := map[State]map[string]bool{}
	for _, r := range rows {
		if seen[r.from.State] == nil {
			seen[r.from.State] = map[string]bool{}
		}
		seen[r.from.State][reflect.TypeOf(r.event).Name()] = true
	}
	for _, s := range States {
		for _, e := range events {
			if !seen[s][e] {
				t.Errorf("no row for %s in state %s", e, s)
			}
		}
	}
}

func TestStepRefusesNothingSilently(t *testing.T) {
	// An event type the rules do not know is a programming error, not a
	// quiet no-op.
	defer func() {
		if recover() == nil {
			t.Error("an unknown event did not panic")
		}
	}()
	NewMachine(policy()).Step(bot(), nil, now)
}

func clone(c Conversation) Conversation {
	if c.Handoff != nil {
		h := *c.Handoff
		c.Handoff = &h
	}
	if c.Rating != nil {
		r := *c.Rating
		c.Rating = &r
	}
	return c
}

func show(c Conversation) string {
	var b strings.Builder
	b.WriteString(string(c.State))
	if c.Failures > 0 {
		b.WriteString(" failures=" + string(rune('0'+c.Failures)))
	}
	if c.NativeHandoff {
		b.WriteString(" native-channel")
	}
	if c.RatingWidget {
		b.WriteString(" rating-widget")
	}
	if h := c.Handoff; h != nil {
		b.WriteString(" handoff{" + string(h.Cause) + " " + h.Reason + " desk=" + h.Desk)
		b.WriteString(" requested=" + h.RequestedAt.Format(time.TimeOnly) + " deadline=" + h.Deadline.Format(time.TimeOnly))
		b.WriteString(" joined=" + h.JoinedAt.Format(time.TimeOnly) + " by " + h.Operator)
		if h.Native {
			b.WriteString(" native")
		}
		b.WriteString("}")
	}
	if r := c.Rating; r != nil {
		b.WriteString(" rating{" + r.Operator.ID + "/" + r.Operator.Name + " handoff=" + r.HandoffAt.Format(time.TimeOnly))
		b.WriteString(" asked=" + r.AskedAt.Format(time.DateTime) + " until=" + r.Until.Format(time.DateTime))
		if r.Reply {
			b.WriteString(" reply")
		}
		b.WriteString("}")
	}
	return b.String()
}
