package metrics

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/core/conversation"
)

// scrape fetches the handler's text exposition.
func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body.String())
	}
	body, err := io.ReadAll(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

func TestScrapeShowsRecordedSeries(t *testing.T) {
	var inflight atomic.Int64
	inflight.Store(7)
	m := New(Options{
		Version:  "1.2.3",
		Channels: []string{"tg"},
		ConversationsByState: func() (map[conversation.State]int, error) {
			return map[conversation.State]int{conversation.Bot: 4, conversation.Human: 1}, nil
		},
		EngineInflight:  func() int { return int(inflight.Load()) },
		EngineProcessed: func() uint64 { return 41 },
		OutboxPending:   func() int { return 3 },
		StoreCommits: func() StoreCommits {
			return StoreCommits{Commits: 5, Writes: 12, Pages: 30, Busy: 1500 * time.Millisecond}
		},
	})

	m.InboundCommitted("tg", 2, 1)
	m.InboundRefused("tg", http.StatusUnauthorized)
	m.InboundRefused("tg", http.StatusBadRequest)
	m.InboundRefused("tg", http.StatusTeapot)
	m.InboundRefused("tg", http.StatusOK) // ignored
	m.InboundEvents("line", InboundAccepted, 5)
	m.ObserveWebhook("tg", time.Now().Add(-3*time.Millisecond))
	m.OutboundSend("tg", OutboundSent)
	m.OutboundSend("tg", OutboundRetry)
	m.OutboundSend("tg", OutboundRetry)
	m.OutboundSend("desk", OutboundDeadLetter)
	m.OutboundSend("tg", OutboundPossiblyDelivered)
	m.Transitions([]conversation.Transition{
		{From: conversation.Bot, To: conversation.WaitingHuman, Cause: "tool"},
		{From: conversation.WaitingHuman, To: conversation.Human, Cause: "operator"},
	})
	m.Handoff("keyword")
	turn := m.StartLLMTurn()
	turn.FirstToken()
	turn.FirstToken() // only the first counts
	turn.Done()
	turn.Done()
	m.ObserveLLMTurn(90 * time.Second)
	m.PluginRestart("tg")
	m.PluginRestart("tg")

	out := scrape(t, m.Handler())
	tests := []struct {
		name string
		line string
	}{
		{"accepted", `switchboard_inbound_events_total{channel="tg",outcome="accepted"} 2`},
		{"duplicate", `switchboard_inbound_events_total{channel="tg",outcome="duplicate"} 1`},
		{"bad signature", `switchboard_inbound_events_total{channel="tg",outcome="bad_signature"} 1`},
		{"malformed", `switchboard_inbound_events_total{channel="tg",outcome="malformed"} 1`},
		{"rejected", `switchboard_inbound_events_total{channel="tg",outcome="rejected"} 1`},
		{"other channel", `switchboard_inbound_events_total{channel="line",outcome="accepted"} 5`},
		{"webhook histogram", `switchboard_webhook_duration_seconds_count{channel="tg"} 1`},
		{"webhook small bucket", `switchboard_webhook_duration_seconds_bucket{channel="tg",le="0.0005"} 0`},
		{"webhook bucket", `switchboard_webhook_duration_seconds_bucket{channel="tg",le="0.005"} 1`},
		{"sent", `switchboard_outbound_sends_total{channel="tg",outcome="sent"} 1`},
		{"retry", `switchboard_outbound_sends_total{channel="tg",outcome="retry"} 2`},
		{"possibly delivered", `switchboard_outbound_sends_total{channel="tg",outcome="possibly_delivered"} 1`},
		{"dead letter send", `switchboard_outbound_sends_total{channel="desk",outcome="dead_letter"} 1`},
		{"retries", `switchboard_outbound_retries_total{channel="tg"} 2`},
		{"dead letters", `switchboard_dead_letters_total{channel="desk"} 1`},
		{"preinitialized dead letters", `switchboard_dead_letters_total{channel="tg"} 0`},
		{"handoff from transitions", `switchboard_handoffs_total{cause="tool"} 1`},
		{"handoff direct", `switchboard_handoffs_total{cause="keyword"} 1`},
		{"transition", `switchboard_conversation_transitions_total{cause="operator",from="waiting_human",to="human"} 1`},
		{"conversations bot", `switchboard_conversations{state="bot"} 4`},
		{"conversations human", `switchboard_conversations{state="human"} 1`},
		{"conversations absent state", `switchboard_conversations{state="closed"} 0`},
		{"llm turn", `switchboard_llm_turn_duration_seconds_count 2`},
		{"llm turn slow bucket", `switchboard_llm_turn_duration_seconds_bucket{le="60"} 1`},
		{"llm turn top bucket", `switchboard_llm_turn_duration_seconds_bucket{le="120"} 2`},
		{"ttft", `switchboard_llm_time_to_first_token_seconds_count 1`},
		{"ttft smallest bucket", `switchboard_llm_time_to_first_token_seconds_bucket{le="0.01"} 1`},
		{"plugin restarts", `switchboard_plugin_restarts_total{plugin="tg"} 2`},
		{"inflight", `switchboard_engine_inflight_events 7`},
		{"processed", `switchboard_engine_processed_events_total 41`},
		{"outbox", `switchboard_outbox_pending_entries 3`},
		{"store commits", `switchboard_store_commits_total 5`},
		{"store writes", `switchboard_store_writes_total 12`},
		{"store pages", `switchboard_store_pages_written_total 30`},
		{"store busy", `switchboard_store_busy_seconds_total 1.5`},
		{"build info", `switchboard_build_info{goversion="go`},
		{"go collector", `go_goroutines `},
		{"process collector", `process_start_time_seconds `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(out, tt.line) {
				t.Errorf("scrape lacks %q", tt.line)
			}
		})
	}
	if strings.Contains(out, `outcome="ok"`) || strings.Contains(out, `channel="tg",outcome="rejected"} 2`) {
		t.Error("status 200 was counted as refused")
	}

	// Gauges read their funcs on every scrape.
	inflight.Store(9)
	if out := scrape(t, m.Handler()); !strings.Contains(out, "switchboard_engine_inflight_events 9") {
		t.Error("inflight gauge did not follow its func")
	}
}

func TestRatingsPerOperator(t *testing.T) {
	m := New(Options{Ratings: func() ([]RatingTotals, error) {
		return []RatingTotals{{Operator: "op-ann", Requests: 4, Ratings: 3, ScoreSum: 13}, {Operator: "Bob", Requests: 1}}, nil
	}})
	body := scrape(t, m.Handler())
	for _, want := range []string{
		`switchboard_csat_requests_total{operator="op-ann"} 4`,
		`switchboard_csat_score_sum{operator="op-ann"} 13`,
		`switchboard_csat_score_count{operator="op-ann"} 3`,
		`switchboard_csat_requests_total{operator="Bob"} 1`,
		`switchboard_csat_score_count{operator="Bob"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q:\n%s", want, body)
		}
	}
	failing := New(Options{Ratings: func() ([]RatingTotals, error) { return nil, errors.New("disk on fire") }})
	if body := scrape(t, failing.Handler()); strings.Contains(body, "switchboard_csat_score") || !strings.Contains(body, "switchboard_build_info") {
		t.Errorf("a failing ratings read: %s", body)
	}
}

func TestStateCountErrorKeepsTheRestOfTheScrape(t *testing.T) {
	m := New(Options{
		ConversationsByState: func() (map[conversation.State]int, error) { return nil, errors.New("disk on fire") },
	})
	m.Handoff("api")
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, req)
	out := rec.Body.String()
	if !strings.Contains(out, `switchboard_handoffs_total{cause="api"} 1`) {
		t.Fatalf("a failing collector broke the scrape (%d):\n%s", rec.Code, out)
	}
	if strings.Contains(out, "switchboard_conversations{") {
		t.Error("the failing series was exported")
	}
}

func TestOptionalGaugesAreAbsentWithoutFuncs(t *testing.T) {
	out := scrape(t, New(Options{}).Handler())
	for _, name := range []string{"switchboard_conversations", "switchboard_engine_inflight_events", "switchboard_outbox_pending_entries"} {
		if strings.Contains(out, name+" ") || strings.Contains(out, name+"{") {
			t.Errorf("%s exported without its func", name)
		}
	}
}

func TestSeparateRegistries(t *testing.T) {
	// Two instances in one process must not collide (no global registry).
	a, b := New(Options{}), New(Options{})
	a.PluginRestart("x")
	if strings.Contains(scrape(t, b.Handler()), `switchboard_plugin_restarts_total{plugin="x"}`) {
		t.Error("metrics leaked between instances")
	}
}

func TestNilMetricsIsSafe(t *testing.T) {
	var m *Metrics
	calls := []struct {
		name string
		call func()
	}{
		{"InboundEvents", func() { m.InboundEvents("tg", InboundAccepted, 1) }},
		{"InboundCommitted", func() { m.InboundCommitted("tg", 1, 1) }},
		{"InboundRefused", func() { m.InboundRefused("tg", 401) }},
		{"ObserveWebhook", func() { m.ObserveWebhook("tg", time.Now()) }},
		{"OutboundSend", func() { m.OutboundSend("tg", OutboundSent) }},
		{"Handoff", func() { m.Handoff("tool") }},
		{"Transitions", func() { m.Transitions([]conversation.Transition{{To: conversation.WaitingHuman}}) }},
		{"ObserveLLMTurn", func() { m.ObserveLLMTurn(time.Second) }},
		{"ObserveLLMFirstToken", func() { m.ObserveLLMFirstToken(time.Second) }},
		{"StartLLMTurn", func() { turn := m.StartLLMTurn(); turn.FirstToken(); turn.Done() }},
		{"PluginRestart", func() { m.PluginRestart("tg") }},
		{"ObserveQueueWait", func() { m.ObserveQueueWait("billing", time.Second) }},
		{"ServiceLevelBreach", func() { m.ServiceLevelBreach("billing") }},
		{"Registry", func() { _ = m.Registry() }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) { c.call() })
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("nil handler answered %d, want 404", rec.Code)
	}
}

func TestInboundOutcomeOfStatus(t *testing.T) {
	tests := []struct {
		status int
		want   string
	}{
		{401, InboundBadSignature},
		{403, InboundBadSignature},
		{400, InboundMalformed},
		{422, InboundMalformed},
		{404, InboundRejected},
		{409, InboundRejected},
		{500, InboundRejected},
	}
	for _, tt := range tests {
		if got := InboundOutcomeOfStatus(tt.status); got != tt.want {
			t.Errorf("status %d: %s, want %s", tt.status, got, tt.want)
		}
	}
}

func TestLLMTurnConcurrentUse(t *testing.T) {
	m := New(Options{})
	turn := m.StartLLMTurn()
	done := make(chan struct{})
	for range 8 {
		go func() { turn.FirstToken(); done <- struct{}{} }()
	}
	for range 8 {
		<-done
	}
	turn.Done()
	if out := scrape(t, m.Handler()); !strings.Contains(out, "switchboard_llm_time_to_first_token_seconds_count 1") {
		t.Error("concurrent FirstToken calls counted more than once")
	}
}

func TestDepartmentSeries(t *testing.T) {
	m := New(Options{
		Departments: []string{"billing", "general"},
		QueueByDepartment: func() (map[string]int, error) {
			return map[string]int{"billing": 4, "retired": 1}, nil
		},
	})
	m.ObserveQueueWait("billing", 90*time.Second)
	m.ServiceLevelBreach("billing")
	out := scrape(t, m.Handler())
	for _, want := range []string{
		`switchboard_queue_length{department="billing"} 4`,
		`switchboard_queue_length{department="general"} 0`,
		`switchboard_queue_length{department="retired"} 1`,
		`switchboard_queue_wait_seconds_bucket{department="billing",le="120"} 1`,
		`switchboard_queue_wait_seconds_bucket{department="billing",le="60"} 0`,
		`switchboard_queue_wait_seconds_count{department="general"} 0`,
		`switchboard_sla_breaches_total{department="billing"} 1`,
		`switchboard_sla_breaches_total{department="general"} 0`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
}
