// Package stats computes the support KPIs served by GET /v1/stats?from=&to=
// from the store: how many conversations started, how many the bot handled
// alone, how often and why conversations went to humans, how fast visitors
// got a first answer and operators joined, how many handoffs were missed,
// and how many deliveries failed.
//
// The window is half-open, [from, to). Compute reads one consistent
// snapshot: a single pass over the conversations, seeking each one's
// transitions by key prefix and reading only the first few transcript
// messages of conversations started in the window. BenchmarkCompute puts it
// at about 10 µs per conversation started in the window (about one second
// for 100,000), and less for conversations outside it; it is meant for an
// occasional dashboard or report request, not a per-second poll.
//
// # JSON
//
// Report marshals to:
//
//	{
//	  "from": "2025-03-01T00:00:00Z",   // window start, inclusive, UTC
//	  "to":   "2025-03-08T00:00:00Z",   // window end, exclusive, UTC
//	  "conversations": 120,             // conversations created in the window
//	  "ai_resolved": 90,                // of those, never handed to a human
//	  "ai_resolved_share": 0.75,        // ai_resolved / conversations (0 when none)
//	  "handoffs": {
//	    "total": 32,                    // transitions into waiting_human in the window
//	    "rate": 0.2667,                 // total / conversations (0 when none)
//	    "by_cause": {"tool": 20, "keyword": 10, "api": 2}
//	  },
//	  "first_response_seconds": {"median": 1.84, "p90": 6.2, "count": 118},
//	  "operator_join_seconds":  {"median": 45.5, "p90": 300, "count": 25},
//	  "missed_handoffs": 4,             // transitions with cause missed or queue_timeout in the window
//	  "deliveries": {"delivered": 900, "dead_letters": 3, "error_rate": 0.0033},
//	  "csat": {
//	    "requests": 20,                 // rating questions asked in the window
//	    "ratings": 15,                  // of those, answered (whenever)
//	    "response_rate": 0.75,          // ratings / requests (0 when none)
//	    "average": 4.2,                 // mean score, 2 decimals; null without ratings
//	    "scores": {"1": 1, "2": 0, "3": 2, "4": 3, "5": 9},
//	    "by_operator": [                // most requests first, then by name
//	      {"operator": {"id": "op_…", "name": "Ann"}, "requests": 12, "ratings": 10,
//	       "response_rate": 0.8333, "average": 4.5}
//	    ]
//	  },
//	  "departments": {                  // handoffs by the department they were routed to
//	    "billing": {"waiting": 2, "handoffs": 12, "operator_join_seconds": {"median": 40, "p90": 280, "count": 10}, "sla_breaches": 1}
//	  }
//	}
//
// Durations are seconds rounded to the millisecond; shares and rates are
// rounded to 4 decimals. A median or p90 with no samples is null, and its
// count is 0.
//
// # Definitions
//
// Conversations, AI-resolved and first response are about conversations
// created in the window. Handoffs, operator joins and missed handoffs are
// about transitions that happened in the window, whichever conversation they
// belong to; so ai_resolved_share and handoffs.rate need not add up to 1 (a
// conversation may hand off twice, or start before the window).
//
//   - AI-resolved: a conversation with no transition into waiting_human at
//     any time up to the computation. Conversations still open with the bot
//     count as AI-resolved: bot chats are rarely closed explicitly (visitors
//     just leave), so waiting for a close would leave nearly all of them
//     out. The share for a window that ends near now is therefore
//     provisional: it drops if one of those conversations hands off later.
//     A conversation that is reopened and handed off after the window no
//     longer counts.
//   - Handoff: any transition whose To is waiting_human (from bot; from
//     closed for an API handoff of a closed conversation), counted by
//     cause.
//   - First response: for a conversation created in the window, from its
//     first visitor message to the first bot or operator message after it
//     in the transcript (the handoff notice is a bot message and counts).
//     Conversations without a visitor message, or not answered yet, have
//     no sample. Negative spans (platform clocks ahead of ours) count as 0.
//   - Operator join: for each handoff in the window, from the transition
//     into waiting_human to the transition that immediately follows it
//     when that one goes to human (an operator joined or wrote). These
//     are the same instants as Handoff.RequestedAt and Handoff.JoinedAt,
//     but read from the transitions because Handoff holds only a
//     conversation's last handoff (and its JoinedAt is overwritten by a
//     later operator_joined, e.g. a transfer between operators). Handoffs
//     nobody joined have no sample.
//   - Missed handoffs: transitions in the window with cause missed (the
//     desk or channel reported it) or queue_timeout (nobody joined in
//     time).
//   - Deliveries: the store's daily counters (store.RecordDeliveryTx) of
//     the UTC days from from's date to the last day starting before to, so
//     the window is widened to whole UTC days. error_rate is
//     dead_letters / (delivered + dead_letters), 0 when both are 0.
//   - CSAT: the rating questions asked in the window ([csat]; a rating
//     given before the daemon asked counts as asked when it was given),
//     with the answers they got up to the computation, per operator who
//     served the rated handoff. A question is answered at most once, so
//     ratings never exceed requests. For a trend, ask for one window per
//     period (a week, a month).
package stats

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"time"

	"github.com/switchboard-chat/switchboard/core/store"

	"github.com/switchboard-chat/switchboard/core/conversation"
)

// DefaultWindow is the window when the request names neither from nor to:
// the last 7 days up to now.
const DefaultWindow = 7 * 24 * time.Hour

// ErrBadWindow marks a from/to the client got wrong; answer it with 400.
var ErrBadWindow = errors.New("bad stats window")

// Report is the KPI report of one window; see the package comment for its
// JSON and the definitions.
type Report struct {
	// From and To bound the window [From, To), in UTC.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Conversations is how many conversations were created in the window.
	Conversations int `json:"conversations"`
	// AIResolved is how many of them never went to a human.
	AIResolved int `json:"ai_resolved"`
	// AIResolvedShare is AIResolved / Conversations (0 when there are none).
	AIResolvedShare float64 `json:"ai_resolved_share"`
	// Handoffs counts transitions into waiting_human in the window.
	Handoffs Handoffs `json:"handoffs"`
	// FirstResponse is the time from a visitor's first message to the first
	// answer, over conversations created in the window.
	FirstResponse Durations `json:"first_response_seconds"`
	// OperatorJoin is the time from a handoff in the window to an operator
	// joining it.
	OperatorJoin Durations `json:"operator_join_seconds"`
	// MissedHandoffs counts transitions with cause missed or queue_timeout
	// in the window.
	MissedHandoffs int `json:"missed_handoffs"`
	// Deliveries are the outbox outcomes of the window's UTC days.
	Deliveries Deliveries `json:"deliveries"`
	// CSAT are the satisfaction ratings asked for in the window.
	CSAT CSAT `json:"csat"`
	// Departments are the handoffs per department; never nil.
	Departments map[string]*Department `json:"departments"`
}

// Department is one department's part of the report.
type Department struct {
	// Waiting is how many conversations wait for a person in it now
	// (whatever the window).
	Waiting int `json:"waiting"`
	// Handoffs counts the window's handoffs routed to it.
	Handoffs int `json:"handoffs"`
	// OperatorJoin is the time from those handoffs to an operator
	// joining.
	OperatorJoin Durations `json:"operator_join_seconds"`
	// ServiceLevelBreaches counts those handoffs that waited past their
	// first-response target.
	ServiceLevelBreaches int `json:"sla_breaches"`

	joins []float64
}

// Handoffs are the window's handoffs.
type Handoffs struct {
	// Total is the number of handoffs.
	Total int `json:"total"`
	// Rate is Total / Report.Conversations (0 when there are none).
	Rate float64 `json:"rate"`
	// ByCause counts handoffs per cause; never nil.
	ByCause map[conversation.Cause]int `json:"by_cause"`
}

// Durations summarises a set of durations in seconds.
type Durations struct {
	// Median and P90 are nil when Count is 0.
	Median *float64 `json:"median"`
	P90    *float64 `json:"p90"`
	// Count is the number of samples.
	Count int `json:"count"`
}

// Deliveries are the outbox outcomes of the window's UTC days.
type Deliveries struct {
	// Delivered counts entries sent successfully.
	Delivered int64 `json:"delivered"`
	// DeadLetters counts entries moved to the dead letters.
	DeadLetters int64 `json:"dead_letters"`
	// ErrorRate is DeadLetters / (Delivered + DeadLetters), 0 when both are 0.
	ErrorRate float64 `json:"error_rate"`
}

// Compute builds the report of [from, to) from the store, with unrouted
// handoffs in the department "default".
func Compute(st *store.Store, from, to time.Time) (Report, error) {
	return ComputeFor(st, from, to, "default")
}

// ComputeFor builds the report of [from, to) from the store; handoffs
// without a route count in defaultDept. A handoff's department is its
// route's, which the conversation keeps for its latest handoff only:
// earlier handoffs of the same conversation count in defaultDept.
func ComputeFor(st *store.Store, from, to time.Time, defaultDept string) (Report, error) {
	from, to = from.UTC(), to.UTC()
	if !from.Before(to) {
		return Report{}, fmt.Errorf("compute stats: from %s is not before to %s: %w",
			from.Format(time.RFC3339), to.Format(time.RFC3339), ErrBadWindow)
	}
	in := func(t time.Time) bool { return !t.Before(from) && t.Before(to) }
	r := Report{From: from, To: to, Handoffs: Handoffs{ByCause: map[conversation.Cause]int{}}, Departments: map[string]*Department{}}
	dept := func(name string) *Department {
		d := r.Departments[name]
		if d == nil {
			d = &Department{}
			r.Departments[name] = d
		}
		return d
	}
	var firstResponse, join []float64

	err := st.ScanConversations(func(sc *store.ScannedConversation) error {
		ts := sc.Transitions
		handedOff := false
		lastHandoff := -1
		for i, t := range ts {
			if t.To == conversation.WaitingHuman && t.From != conversation.Human {
				lastHandoff = i
			}
		}
		h := sc.Conversation.Handoff
		if sc.Conversation.State == conversation.WaitingHuman {
			name := defaultDept
			if h != nil && h.Route != nil {
				name = h.Route.Department
			}
			dept(name).Waiting++
		}
		for i, t := range ts {
			if t.To == conversation.WaitingHuman {
				handedOff = true
			}
			if !in(t.At) {
				continue
			}
			if t.Cause == conversation.CauseMissed || t.Cause == conversation.CauseQueueTimeout {
				r.MissedHandoffs++
			}
			if t.To != conversation.WaitingHuman {
				continue
			}
			r.Handoffs.Total++
			r.Handoffs.ByCause[t.Cause]++
			d := dept(defaultDept)
			if i == lastHandoff && h != nil && h.Route != nil {
				d = dept(h.Route.Department)
				if !h.Route.BreachedAt.IsZero() {
					d.ServiceLevelBreaches++
				}
			}
			d.Handoffs++
			if i+1 < len(ts) && ts[i+1].From == conversation.WaitingHuman && ts[i+1].To == conversation.Human {
				join = append(join, seconds(ts[i+1].At.Sub(t.At)))
				d.joins = append(d.joins, seconds(ts[i+1].At.Sub(t.At)))
			}
		}

		c := sc.Conversation
		if !in(c.CreatedAt) {
			return nil
		}
		r.Conversations++
		if !handedOff {
			r.AIResolved++
		}
		if d, ok, err := firstResponseTime(sc); err != nil {
			return err
		} else if ok {
			firstResponse = append(firstResponse, seconds(d))
		}
		return nil
	})
	if err != nil {
		return Report{}, fmt.Errorf("compute stats: scan conversations: %w", err)
	}

	delivered, dead, err := st.DeliveryTotals(from, to)
	if err != nil {
		return Report{}, fmt.Errorf("compute stats: %w", err)
	}
	r.Deliveries = Deliveries{Delivered: delivered, DeadLetters: dead, ErrorRate: ratio(float64(dead), float64(delivered+dead))}
	if r.CSAT, err = computeCSAT(st, in); err != nil {
		return Report{}, fmt.Errorf("compute stats: ratings: %w", err)
	}
	r.AIResolvedShare = ratio(float64(r.AIResolved), float64(r.Conversations))
	r.Handoffs.Rate = ratio(float64(r.Handoffs.Total), float64(r.Conversations))
	r.FirstResponse = summarise(firstResponse)
	r.OperatorJoin = summarise(join)
	for _, d := range r.Departments {
		d.OperatorJoin, d.joins = summarise(d.joins), nil
	}
	return r, nil
}

// CSAT are the satisfaction ratings asked for in a window.
type CSAT struct {
	Ratings
	// Scores counts the ratings by score, 1 to 5; all five are present.
	Scores map[int]int `json:"scores"`
	// ByOperator are the same figures per operator who served the rated
	// handoffs, most requests first; never nil.
	ByOperator []OperatorRatings `json:"by_operator"`
}

// Ratings are the figures of a set of rating questions.
type Ratings struct {
	// Requests is how many questions were asked, Ratings how many of them
	// were answered.
	Requests int `json:"requests"`
	Ratings  int `json:"ratings"`
	// ResponseRate is Ratings / Requests (0 when none were asked).
	ResponseRate float64 `json:"response_rate"`
	// Average is the mean score, rounded to 2 decimals; nil without
	// ratings.
	Average *float64 `json:"average"`
}

// OperatorRatings are the ratings of one operator's handoffs.
type OperatorRatings struct {
	Operator conversation.Operator `json:"operator"`
	Ratings
}

// tally counts questions, answers and their scores.
type tally struct{ requests, ratings, sum int }

// add counts one question and its answer (score 0: none yet).
func (t *tally) add(score int) {
	t.requests++
	if score > 0 {
		t.ratings++
		t.sum += score
	}
}

// figures are the tally's rate and average.
func (t tally) figures() Ratings {
	r := Ratings{Requests: t.requests, Ratings: t.ratings, ResponseRate: ratio(float64(t.ratings), float64(t.requests))}
	if t.ratings > 0 {
		avg := round(float64(t.sum)/float64(t.ratings), 2)
		r.Average = &avg
	}
	return r
}

// computeCSAT summarises the ratings asked for in the window.
func computeCSAT(st *store.Store, in func(time.Time) bool) (CSAT, error) {
	c := CSAT{Scores: map[int]int{1: 0, 2: 0, 3: 0, 4: 0, 5: 0}, ByOperator: []OperatorRatings{}}
	var all tally
	ops := map[conversation.Operator]*tally{}
	err := st.ScanRatings(func(r store.Rating) error {
		if !in(r.Asked()) {
			return nil
		}
		all.add(r.Score)
		if r.Score >= 1 && r.Score <= 5 {
			c.Scores[r.Score]++
		}
		if ops[r.Operator] == nil {
			ops[r.Operator] = &tally{}
		}
		ops[r.Operator].add(r.Score)
		return nil
	})
	if err != nil {
		return CSAT{}, err
	}
	c.Ratings = all.figures()
	for op, t := range ops {
		c.ByOperator = append(c.ByOperator, OperatorRatings{Operator: op, Ratings: t.figures()})
	}
	slices.SortFunc(c.ByOperator, func(a, b OperatorRatings) int {
		return cmp.Or(cmp.Compare(b.Requests, a.Requests), cmp.Compare(a.Operator.Name, b.Operator.Name), cmp.Compare(a.Operator.ID, b.Operator.ID))
	})
	return c, nil
}

// firstResponseTime finds the span from the first visitor message to the
// first bot or operator message after it.
func firstResponseTime(sc *store.ScannedConversation) (time.Duration, bool, error) {
	var asked, answered time.Time
	err := sc.EachMessage(func(m store.Message) bool {
		switch {
		case asked.IsZero():
			if m.Role == conversation.RoleVisitor {
				asked = m.CreatedAt
			}
		case m.Role == conversation.RoleBot || m.Role == conversation.RoleOperator:
			answered = m.CreatedAt
			return false
		}
		return true
	})
	if err != nil {
		return 0, false, err
	}
	if asked.IsZero() || answered.IsZero() {
		return 0, false, nil
	}
	return max(answered.Sub(asked), 0), true, nil
}

func seconds(d time.Duration) float64 { return max(d, 0).Seconds() }

// ratio is n/d rounded to 4 decimals, 0 when d is 0.
func ratio(n, d float64) float64 {
	if d == 0 {
		return 0
	}
	return round(n/d, 4)
}

func round(v float64, decimals int) float64 {
	p := math.Pow(10, float64(decimals))
	return math.Round(v*p) / p
}

// summarise returns the median and p90 of samples (seconds, rounded to the
// millisecond).
func summarise(samples []float64) Durations {
	d := Durations{Count: len(samples)}
	if len(samples) == 0 {
		return d
	}
	slices.Sort(samples)
	med, p90 := round(percentile(samples, 0.5), 3), round(percentile(samples, 0.9), 3)
	d.Median, d.P90 = &med, &p90
	return d
}

// percentile interpolates linearly between the closest ranks of sorted
// (the method of Excel's PERCENTILE.INC and NumPy's default): the median of
// an even count is the mean of the middle two.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 1 {
		return sorted[0]
	}
	pos := p * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	if lo >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	frac := pos - float64(lo)
	return sorted[lo] + frac*(sorted[lo+1]-sorted[lo])
}

// ParseWindow reads the from and to query parameters, each RFC 3339
// ("2025-03-01T09:30:00+01:00") or a date ("2025-03-01", UTC). A date as
// from means the start of that day, a date as to its end, so
// from=2025-03-01&to=2025-03-07 covers seven whole days. Without to the
// window ends now; without from it starts DefaultWindow before to. Errors
// wrap ErrBadWindow and name the parameter: answer them with 400.
func ParseWindow(q url.Values, now time.Time) (from, to time.Time, err error) {
	to = now.UTC()
	if s := q.Get("to"); s != "" {
		t, date, err := parseTime(s)
		if err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("parameter to: %w", err)
		}
		if date {
			t = t.AddDate(0, 0, 1)
		}
		if !representable(t) {
			return time.Time{}, time.Time{}, fmt.Errorf("parameter to: %q is past the last day a report can end, 9999-12-30: %w", s, ErrBadWindow)
		}
		to = t
	}
	from = to.Add(-DefaultWindow)
	if s := q.Get("from"); s != "" {
		t, _, err := parseTime(s)
		if err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("parameter from: %w", err)
		}
		from = t
	}
	if !representable(from) {
		return time.Time{}, time.Time{}, fmt.Errorf("parameter from: the window would start at %s, outside the years 1 to 9999: %w", from.Format(time.DateOnly), ErrBadWindow)
	}
	if !from.Before(to) {
		return time.Time{}, time.Time{}, fmt.Errorf("from %s is not before to %s: %w",
			from.Format(time.RFC3339), to.Format(time.RFC3339), ErrBadWindow)
	}
	return from, to, nil
}

// representable reports whether t is a time the report can show: RFC
// 3339 (and JSON) has four-digit years.
func representable(t time.Time) bool { return t.Year() >= 1 && t.Year() <= 9999 }

// parseTime parses RFC 3339 or YYYY-MM-DD (UTC); date reports the latter.
func parseTime(s string) (t time.Time, date bool, err error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, true, nil
	}
	t, err = time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("%q is neither RFC 3339 nor YYYY-MM-DD: %w", s, ErrBadWindow)
	}
	return t.UTC(), false, nil
}
