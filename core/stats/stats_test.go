package stats

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"

	"github.com/switchboard-chat/switchboard/core/conversation"
)

// at is a time in March 2025, UTC.
func at(day, h, m int, sec float64) time.Time {
	return time.Date(2025, 3, day, h, m, 0, 0, time.UTC).Add(time.Duration(sec * float64(time.Second)))
}

// clock is a fixed store clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

// script is one conversation to write: the conversation, its transitions
// and its transcript.
type script struct {
	conv  store.Conversation
	trans []conversation.Transition
	msgs  []store.Message
}

func msg(role conversation.Role, t time.Time) store.Message {
	return store.Message{Role: role, Text: string(role) + " says something", CreatedAt: t}
}

func tr(from, to conversation.State, cause conversation.Cause, t time.Time) conversation.Transition {
	return conversation.Transition{From: from, To: to, Cause: cause, At: t}
}

const (
	bot     = conversation.Bot
	waiting = conversation.WaitingHuman
	human   = conversation.Human
	closed  = conversation.Closed
)

// scriptedStore builds the scenario every test reads. The main window is
// [1 March, 8 March).
//
//	c1 (via CommitEvents) 2 Mar: visitor, bot +2s; no handoff
//	c2 3 Mar: visitor, bot +4s; tool handoff, operator joins +30s, closed
//	c3 4 Mar: visitor "human", handoff notice +1s; keyword handoff, queue_timeout
//	c4 5 Mar: greeting only, no visitor message; no handoff
//	c5 27 Feb (before): api handoff at 1 Mar 00:00 exactly, joined +120s
//	c6 7 Mar 23:59:59: visitor, bot +4s; llm_down handoff at 8 Mar 00:00 (after)
//	c7 8 Mar 00:00 (after): keyword handoff
//	c8 6 Mar: visitor, operator +20s; keyword handoff joined +10s, closed;
//	   tool handoff, missed
//	c9 2 Mar, api channel: closed through the API; no messages
//
// Deliveries: 50 on 28 Feb, 10 on 1 Mar, 1 dead on 3 Mar, 5 on 7 Mar,
// 100 and 2 dead on 8 Mar.
func scriptedStore(t *testing.T) *store.Store {
	t.Helper()
	clk := &clock{now: at(2, 10, 0, 0)}
	st, err := store.Open(filepath.Join(t.TempDir(), "switchboard.db"), store.Options{NoSync: true, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()

	// c1 arrives like a real visitor message.
	res, err := st.CommitEvents(ctx, "tg", []sdk.Event{{
		ID: "e1", Kind: sdk.KindMessage, Conversation: "chat-1", User: sdk.User{ID: "u1"}, Text: "hi", Time: at(2, 10, 0, 0),
	}})
	if err != nil || len(res.Accepted) != 1 {
		t.Fatalf("commit c1: %+v %v", res, err)
	}
	c1 := res.Accepted[0].ConversationID
	err = st.Update(ctx, func(tx *store.Tx) error {
		m := msg(conversation.RoleBot, at(2, 10, 0, 2))
		m.ConversationID = c1
		return st.AppendMessageTx(tx, &m)
	})
	if err != nil {
		t.Fatal(err)
	}

	scripts := []script{
		{
			conv: store.Conversation{Channel: "tg", Status: conversation.Status{State: bot}, CreatedAt: at(3, 9, 0, 0)},
			msgs: []store.Message{msg(conversation.RoleVisitor, at(3, 9, 0, 0)), msg(conversation.RoleBot, at(3, 9, 0, 4)), msg(conversation.RoleVisitor, at(3, 9, 0, 30))},
			trans: []conversation.Transition{
				tr(bot, waiting, "tool", at(3, 9, 1, 0)),
				tr(waiting, human, "operator", at(3, 9, 1, 30)),
				tr(human, bot, "closed", at(3, 9, 10, 0)),
			},
		},
		{
			conv: store.Conversation{Channel: "tg", Status: conversation.Status{State: bot}, CreatedAt: at(4, 12, 0, 0)},
			msgs: []store.Message{msg(conversation.RoleVisitor, at(4, 12, 0, 0)), msg(conversation.RoleBot, at(4, 12, 0, 1))},
			trans: []conversation.Transition{
				tr(bot, waiting, "keyword", at(4, 12, 0, 0.5)),
				tr(waiting, bot, "queue_timeout", at(4, 12, 10, 0)),
			},
		},
		{
			conv: store.Conversation{Channel: "line", Status: conversation.Status{State: bot}, CreatedAt: at(5, 8, 0, 0)},
			msgs: []store.Message{msg(conversation.RoleBot, at(5, 8, 0, 0)), msg(conversation.RoleSystem, at(5, 8, 5, 0))},
		},
		{
			conv: store.Conversation{Channel: "tg", Status: conversation.Status{State: human}, CreatedAt: time.Date(2025, 2, 27, 15, 0, 0, 0, time.UTC)},
			trans: []conversation.Transition{
				tr(bot, waiting, "api", at(1, 0, 0, 0)),
				tr(waiting, human, "operator", at(1, 0, 2, 0)),
			},
		},
		{
			conv: store.Conversation{Channel: "tg", Status: conversation.Status{State: waiting}, CreatedAt: at(7, 23, 59, 59)},
			msgs: []store.Message{msg(conversation.RoleVisitor, at(7, 23, 59, 59)), msg(conversation.RoleBot, at(8, 0, 0, 3))},
			trans: []conversation.Transition{
				tr(bot, waiting, "llm_down", at(8, 0, 0, 0)),
			},
		},
		{
			conv:  store.Conversation{Channel: "tg", Status: conversation.Status{State: waiting}, CreatedAt: at(8, 0, 0, 0)},
			msgs:  []store.Message{msg(conversation.RoleVisitor, at(8, 0, 0, 0)), msg(conversation.RoleBot, at(8, 0, 0, 1))},
			trans: []conversation.Transition{tr(bot, waiting, "keyword", at(8, 1, 0, 0))},
		},
		{
			conv: store.Conversation{Channel: "tg", Status: conversation.Status{State: bot}, CreatedAt: at(6, 10, 0, 0)},
			msgs: []store.Message{
				msg(conversation.RoleVisitor, at(6, 10, 0, 0)), msg(conversation.RoleSystem, at(6, 10, 0, 10)),
				msg(conversation.RoleOperator, at(6, 10, 0, 20)), msg(conversation.RoleBot, at(6, 11, 0, 0)),
			},
			trans: []conversation.Transition{
				tr(bot, waiting, "keyword", at(6, 10, 0, 0)),
				tr(waiting, human, "operator", at(6, 10, 0, 10)),
				tr(human, bot, "closed", at(6, 10, 5, 0)),
				tr(bot, waiting, "tool", at(6, 11, 0, 0)),
				tr(waiting, bot, "missed", at(6, 11, 3, 0)),
			},
		},
		{
			conv:  store.Conversation{Channel: "api", Status: conversation.Status{State: closed}, CreatedAt: at(2, 12, 0, 0)},
			trans: []conversation.Transition{tr(bot, closed, "api", at(2, 12, 30, 0))},
		},
	}
	convs := make([]store.Conversation, len(scripts))
	for i, s := range scripts {
		s.conv.ID = store.NewID("c_")
		convs[i] = s.conv
		s.conv.Ref = s.conv.ID
		s.conv.UpdatedAt = s.conv.CreatedAt
		err := st.Update(ctx, func(tx *store.Tx) error {
			if err := store.PutConversationTx(tx, &s.conv); err != nil {
				return err
			}
			for _, t := range s.trans {
				if err := store.AddTransitionTx(tx, s.conv.ID, t); err != nil {
					return err
				}
			}
			for _, m := range s.msgs {
				m.ConversationID = s.conv.ID
				if err := st.AppendMessageTx(tx, &m); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("script %d: %v", i, err)
		}
	}

	// Ratings: c2's handoff (Ann) asked 3 Mar, rated 4; c8's first
	// (Bob) asked 6 Mar, unanswered; c4 rated 2 for Ann on 5 Mar before
	// the daemon asked; c7 asked 8 Mar (after), rated 5 for Ann.
	ann, bob := conversation.Operator{ID: "op-ann", Name: "Ann"}, conversation.Operator{Name: "Bob"}
	ratings := []struct {
		conv       store.Conversation
		req        conversation.RatingRequest
		ratedAt    time.Time
		score      int
		notAskedAt bool
	}{
		{convs[0], conversation.RatingRequest{HandoffAt: at(3, 9, 1, 0), Operator: ann, AskedAt: at(3, 9, 10, 0)}, at(3, 9, 11, 0), 4, false},
		{convs[6], conversation.RatingRequest{HandoffAt: at(6, 10, 0, 0), Operator: bob, AskedAt: at(6, 10, 5, 0)}, time.Time{}, 0, false},
		{convs[2], conversation.RatingRequest{HandoffAt: at(5, 7, 0, 0), Operator: ann}, at(5, 9, 0, 0), 2, true},
		{convs[5], conversation.RatingRequest{HandoffAt: at(8, 1, 0, 0), Operator: ann, AskedAt: at(8, 2, 0, 0)}, at(8, 2, 30, 0), 5, false},
	}
	for _, r := range ratings {
		err := st.Update(ctx, func(tx *store.Tx) error {
			if !r.notAskedAt {
				if err := store.AskRatingTx(tx, &r.conv, r.req); err != nil {
					return err
				}
			}
			if r.score == 0 {
				return nil
			}
			clk.mu.Lock()
			clk.now = r.ratedAt
			clk.mu.Unlock()
			_, err := store.RateTx(tx, &r.conv, r.req, r.score, "")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	deliveries := []struct {
		day             time.Time
		delivered, dead int
	}{
		{time.Date(2025, 2, 28, 12, 0, 0, 0, time.UTC), 50, 0},
		{at(1, 9, 0, 0), 4, 0},
		{at(1, 18, 0, 0), 6, 0},
		{at(3, 9, 0, 0), 0, 1},
		{at(7, 23, 0, 0), 5, 0},
		{at(8, 0, 0, 0), 100, 2},
	}
	for _, d := range deliveries {
		err := st.Update(ctx, func(tx *store.Tx) error { return store.RecordDeliveryTx(tx, d.day, d.delivered, d.dead) })
		if err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func f(v float64) *float64 { return &v }

func TestCompute(t *testing.T) {
	st := scriptedStore(t)
	tests := []struct {
		name     string
		from, to time.Time
		want     Report
	}{
		{
			name: "the week",
			from: at(1, 0, 0, 0), to: at(8, 0, 0, 0),
			want: Report{
				Conversations: 7, AIResolved: 3, AIResolvedShare: 0.4286,
				Handoffs: Handoffs{Total: 5, Rate: 0.7143, ByCause: map[conversation.Cause]int{"tool": 2, "keyword": 2, "api": 1}},
				// samples 2, 4, 1, 4, 20
				FirstResponse: Durations{Median: f(4), P90: f(13.6), Count: 5},
				// samples 30, 120, 10
				OperatorJoin:   Durations{Median: f(30), P90: f(102), Count: 3},
				MissedHandoffs: 2,
				Deliveries:     Deliveries{Delivered: 15, DeadLetters: 1, ErrorRate: 0.0625},
				CSAT: CSAT{
					Ratings: Ratings{Requests: 3, Ratings: 2, ResponseRate: 0.6667, Average: f(3)},
					Scores:  map[int]int{1: 0, 2: 1, 3: 0, 4: 1, 5: 0},
					ByOperator: []OperatorRatings{
						{Operator: conversation.Operator{ID: "op-ann", Name: "Ann"}, Ratings: Ratings{Requests: 2, Ratings: 2, ResponseRate: 1, Average: f(3)}},
						{Operator: conversation.Operator{Name: "Bob"}, Ratings: Ratings{Requests: 1}},
					},
				},
			},
		},
		{
			name: "one day with two handoffs of one conversation",
			from: at(6, 0, 0, 0), to: at(7, 0, 0, 0),
			want: Report{
				Conversations: 1, AIResolved: 0, AIResolvedShare: 0,
				Handoffs:       Handoffs{Total: 2, Rate: 2, ByCause: map[conversation.Cause]int{"keyword": 1, "tool": 1}},
				FirstResponse:  Durations{Median: f(20), P90: f(20), Count: 1},
				OperatorJoin:   Durations{Median: f(10), P90: f(10), Count: 1},
				MissedHandoffs: 1,
				Deliveries:     Deliveries{},
				CSAT: CSAT{
					Ratings:    Ratings{Requests: 1},
					Scores:     map[int]int{1: 0, 2: 0, 3: 0, 4: 0, 5: 0},
					ByOperator: []OperatorRatings{{Operator: conversation.Operator{Name: "Bob"}, Ratings: Ratings{Requests: 1}}},
				},
			},
		},
		{
			name: "one second holding only an older conversation's handoff",
			from: at(1, 0, 0, 0), to: at(1, 0, 0, 1),
			want: Report{
				Handoffs:     Handoffs{Total: 1, Rate: 0, ByCause: map[conversation.Cause]int{"api": 1}},
				OperatorJoin: Durations{Median: f(120), P90: f(120), Count: 1},
				Deliveries:   Deliveries{Delivered: 10},
			},
		},
		{
			name: "the end is exclusive, the next day holds it",
			from: at(8, 0, 0, 0), to: at(9, 0, 0, 0),
			want: Report{
				Conversations: 1, AIResolved: 0,
				Handoffs:      Handoffs{Total: 2, Rate: 2, ByCause: map[conversation.Cause]int{"llm_down": 1, "keyword": 1}},
				FirstResponse: Durations{Median: f(1), P90: f(1), Count: 1},
				Deliveries:    Deliveries{Delivered: 100, DeadLetters: 2, ErrorRate: 0.0196},
				CSAT: CSAT{
					Ratings: Ratings{Requests: 1, Ratings: 1, ResponseRate: 1, Average: f(5)},
					Scores:  map[int]int{1: 0, 2: 0, 3: 0, 4: 0, 5: 1},
					ByOperator: []OperatorRatings{
						{Operator: conversation.Operator{ID: "op-ann", Name: "Ann"}, Ratings: Ratings{Requests: 1, Ratings: 1, ResponseRate: 1, Average: f(5)}},
					},
				},
			},
		},
		{
			name: "nothing happened",
			from: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), to: time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC),
			want: Report{Handoffs: Handoffs{ByCause: map[conversation.Cause]int{}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Compute(st, tt.from, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			tt.want.From, tt.want.To = tt.from, tt.to
			// Nothing is routed: every handoff is the default department's,
			// where the two conversations waiting now are.
			tt.want.Departments = map[string]*Department{"default": {Waiting: 2, Handoffs: tt.want.Handoffs.Total, OperatorJoin: tt.want.OperatorJoin}}
			if tt.want.CSAT.Scores == nil { // no ratings asked for in the window
				tt.want.CSAT = CSAT{Scores: map[int]int{1: 0, 2: 0, 3: 0, 4: 0, 5: 0}, ByOperator: []OperatorRatings{}}
			}
			if !reflect.DeepEqual(got, tt.want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(tt.want)
				t.Errorf("report\n got %s\nwant %s", g, w)
			}
		})
	}
}

func TestComputeRejectsEmptyWindow(t *testing.T) {
	st := scriptedStore(t)
	_, err := Compute(st, at(2, 0, 0, 0), at(2, 0, 0, 0))
	if !errors.Is(err, ErrBadWindow) {
		t.Fatalf("err = %v, want ErrBadWindow", err)
	}
}

func TestReportJSON(t *testing.T) {
	st := scriptedStore(t)
	rep, err := Compute(st, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"from":"2024-01-01T00:00:00Z","to":"2024-01-02T00:00:00Z","conversations":0,"ai_resolved":0,` +
		`"ai_resolved_share":0,"handoffs":{"total":0,"rate":0,"by_cause":{}},` +
		`"first_response_seconds":{"median":null,"p90":null,"count":0},` +
		`"operator_join_seconds":{"median":null,"p90":null,"count":0},"missed_handoffs":0,` +
		`"deliveries":{"delivered":0,"dead_letters":0,"error_rate":0},` +
		`"csat":{"requests":0,"ratings":0,"response_rate":0,"average":null,"scores":{"1":0,"2":0,"3":0,"4":0,"5":0},"by_operator":[]},` +
		`"departments":{"default":{"waiting":2,"handoffs":0,"operator_join_seconds":{"median":null,"p90":null,"count":0},"sla_breaches":0}}}`
	if string(data) != want {
		t.Errorf("JSON\n got %s\nwant %s", data, want)
	}
}

func TestParseWindow(t *testing.T) {
	now := time.Date(2025, 3, 10, 15, 30, 0, 0, time.UTC)
	tests := []struct {
		name     string
		query    string
		from, to time.Time
		bad      string // part of the error; "" for none
	}{
		{name: "default last 7 days", query: "", from: now.Add(-7 * 24 * time.Hour), to: now},
		{name: "dates cover whole days", query: "from=2025-03-01&to=2025-03-07", from: at(1, 0, 0, 0), to: at(8, 0, 0, 0)},
		{name: "one date as both ends is that day", query: "from=2025-03-05&to=2025-03-05", from: at(5, 0, 0, 0), to: at(6, 0, 0, 0)},
		{name: "rfc 3339 with offset", query: "from=" + url.QueryEscape("2025-03-01T09:30:00+01:00") + "&to=2025-03-02T00:00:00Z",
			from: at(1, 8, 30, 0), to: at(2, 0, 0, 0)},
		{name: "fractional seconds", query: "from=2025-03-01T00:00:00.5Z", from: at(1, 0, 0, 0.5), to: now},
		{name: "only to", query: "to=2025-03-05", from: at(6, 0, 0, 0).Add(-7 * 24 * time.Hour), to: at(6, 0, 0, 0)},
		{name: "only from", query: "from=2025-03-09", from: at(9, 0, 0, 0), to: now},
		{name: "garbage from", query: "from=yesterday", bad: "parameter from"},
		{name: "garbage to", query: "to=2025-13-01", bad: "parameter to"},
		{name: "from after to", query: "from=2025-03-05&to=2025-03-01", bad: "not before"},
		{name: "from in the future", query: "from=2025-04-01", bad: "not before"},
		{name: "to past the last representable day", query: "to=9999-12-31", bad: "parameter to"},
		{name: "to past year 9999", query: "to=9999-12-31T23:00:00-05:00", bad: "parameter to"},
		{name: "from before year 1", query: "from=0000-06-01", bad: "parameter from"},
		{name: "default window before year 1", query: "to=0001-01-02", bad: "parameter from"},
		{name: "equal instants", query: "from=2025-03-01T00:00:00Z&to=2025-03-01T00:00:00Z", bad: "not before"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			from, to, err := ParseWindow(q, now)
			if tt.bad != "" {
				if !errors.Is(err, ErrBadWindow) || !strings.Contains(err.Error(), tt.bad) {
					t.Fatalf("err = %v, want ErrBadWindow mentioning %q", err, tt.bad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !from.Equal(tt.from) || !to.Equal(tt.to) {
				t.Errorf("window [%s, %s), want [%s, %s)", from, to, tt.from, tt.to)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	tests := []struct {
		samples []float64
		p, want float64
	}{
		{[]float64{5}, 0.5, 5},
		{[]float64{1, 2, 3, 4}, 0.5, 2.5},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.9, 9.1},
		{[]float64{1, 2}, 1, 2},
		{[]float64{1, 2}, 0, 1},
	}
	for _, tt := range tests {
		if got := round(percentile(tt.samples, tt.p), 6); got != tt.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", tt.samples, tt.p, got, tt.want)
		}
	}
}

// BenchmarkCompute measures a report over a store of benchConversations
// conversations, each with a short transcript and a handoff.
func BenchmarkCompute(b *testing.B) {
	const benchConversations = 10000
	st, err := store.Open(filepath.Join(b.TempDir(), "switchboard.db"), store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	for i := 0; i < benchConversations; i += 500 {
		err := st.Update(ctx, func(tx *store.Tx) error {
			for j := i; j < i+500; j++ {
				t0 := at(1+j%7, 0, 0, float64(j))
				c := store.Conversation{ID: store.NewID("c_"), Channel: "tg", Status: conversation.Status{State: bot}, CreatedAt: t0}
				c.Ref = c.ID
				if err := store.PutConversationTx(tx, &c); err != nil {
					return err
				}
				for k, role := range []conversation.Role{conversation.RoleVisitor, conversation.RoleBot, conversation.RoleVisitor, conversation.RoleBot} {
					m := msg(role, t0.Add(time.Duration(k)*time.Second))
					m.ConversationID = c.ID
					if err := st.AppendMessageTx(tx, &m); err != nil {
						return err
					}
				}
				if j%3 == 0 {
					if err := store.AddTransitionTx(tx, c.ID, tr(bot, waiting, "tool", t0.Add(5*time.Second))); err != nil {
						return err
					}
					if err := store.AddTransitionTx(tx, c.ID, tr(waiting, human, "operator", t0.Add(time.Minute))); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Compute(st, at(1, 0, 0, 0), at(8, 0, 0, 0)); err != nil {
			b.Fatal(err)
		}
	}
}

// Handoffs count in the department of their route; an unrouted one and a
// conversation's earlier handoffs in the default department.
func TestComputeDepartments(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	billing := func(breached bool) *conversation.Handoff {
		h := &conversation.Handoff{Cause: "tool", Route: &conversation.Route{Department: "billing", Priority: conversation.PriorityHigh, By: "model"}}
		if breached {
			h.Route.BreachedAt = at(2, 9, 10, 0)
		}
		return h
	}
	scripts := []script{
		{conv: store.Conversation{Status: conversation.Status{State: waiting, Handoff: billing(true)}},
			trans: []conversation.Transition{tr(bot, waiting, "tool", at(2, 9, 0, 0))}},
		{conv: store.Conversation{Status: conversation.Status{State: human, Handoff: billing(false)}},
			trans: []conversation.Transition{tr(bot, waiting, "keyword", at(1, 9, 0, 0)), tr(waiting, bot, "missed", at(1, 9, 5, 0)),
				tr(bot, waiting, "tool", at(2, 9, 0, 0)), tr(waiting, human, "operator", at(2, 9, 0, 30))}},
		{conv: store.Conversation{Status: conversation.Status{State: waiting, Handoff: &conversation.Handoff{Cause: "api"}}},
			trans: []conversation.Transition{tr(bot, waiting, "api", at(3, 9, 0, 0))}},
	}
	for _, s := range scripts {
		s.conv.ID = store.NewID("c_")
		s.conv.Ref, s.conv.Channel, s.conv.CreatedAt = s.conv.ID, "tg", at(1, 0, 0, 0)
		err := st.Update(context.Background(), func(tx *store.Tx) error {
			if err := store.PutConversationTx(tx, &s.conv); err != nil {
				return err
			}
			for _, tr := range s.trans {
				if err := store.AddTransitionTx(tx, s.conv.ID, tr); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	r, err := ComputeFor(st, at(1, 0, 0, 0), at(8, 0, 0, 0), "general")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*Department{
		"billing": {Waiting: 1, Handoffs: 2, ServiceLevelBreaches: 1, OperatorJoin: Durations{Median: f(30), P90: f(30), Count: 1}},
		"general": {Waiting: 1, Handoffs: 2},
	}
	if !reflect.DeepEqual(r.Departments, want) {
		g, _ := json.Marshal(r.Departments)
		w, _ := json.Marshal(want)
		t.Errorf("departments\n got %s\nwant %s", g, w)
	}
}
