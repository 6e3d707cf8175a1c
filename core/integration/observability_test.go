package integration

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/plugins/ollama/ollamatest"
)

func scrape(t *testing.T, d *daemon) string {
	t.Helper()
	resp, err := http.Get(d.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// After a scripted conversation the named series are on /metrics, and
// /v1/stats counts it.
func TestMetricsAndStatsAfterAConversation(t *testing.T) {
	fake := ollamatest.New(model)
	fake.Reply = func(ollamatest.ChatRequest) ollamatest.Response { return ollamatest.Text("Happy to help.") }
	target := newFakeTarget(t)
	desk := newFakeDesk(t)
	d := startDaemon(t, llmConfig(fake.Start(t))+echoChannel(target.URL)+deskConfig(desk.URL))

	postWebhook(t, d.URL, "demo", `{"id":"a1","chat":"r1","text":"hello"}`)
	postWebhook(t, d.URL, "demo", `{"id":"a1","chat":"r1","text":"hello"}`) // redelivery
	postWebhook(t, d.URL, "demo", `{"id":`)                                 // malformed
	postWebhook(t, d.URL, "demo", `{"id":"a2","chat":"r2","text":"human please"}`)
	deadline := time.Now().Add(10 * time.Second)
	for desk.openedCount() == 0 || len(target.received()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("conversation did not finish: %d replies, %d handoffs", len(target.received()), desk.openedCount())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)

	body := scrape(t, d)
	for _, series := range []string{
		`switchboard_inbound_events_total{channel="demo",outcome="accepted"} 2`,
		`switchboard_inbound_events_total{channel="demo",outcome="duplicate"} 1`,
		`switchboard_inbound_events_total{channel="demo",outcome="malformed"} 1`,
		`switchboard_outbound_sends_total{channel="demo",outcome="sent"} 2`,
		`switchboard_handoffs_total{cause="keyword"} 1`,
		`switchboard_conversations{state="waiting_human"} 1`,
		`switchboard_llm_turn_duration_seconds_count 1`,
		`switchboard_llm_time_to_first_token_seconds_count 1`,
		`switchboard_webhook_duration_seconds_count{channel="demo"} 4`,
		`switchboard_engine_inflight_events`,
		`switchboard_engine_processed_events_total `,
		`switchboard_outbox_pending_entries`,
		`switchboard_plugin_restarts_total`,
		`switchboard_store_writes_total `,
		`switchboard_store_pages_written_total `,
	} {
		if !strings.Contains(body, series) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
	if strings.Contains(body, "hello") {
		t.Error("/metrics leaks message text")
	}

	var stats struct {
		Conversations int `json:"conversations"`
		Handoffs      struct {
			Total   int            `json:"total"`
			ByCause map[string]int `json:"by_cause"`
		} `json:"handoffs"`
	}
	if code := d.do("GET", "/v1/stats", nil, &stats); code != 200 {
		t.Fatalf("stats: %d", code)
	}
	if stats.Conversations != 2 || stats.Handoffs.Total != 1 || stats.Handoffs.ByCause["keyword"] != 1 {
		raw, _ := json.Marshal(stats)
		t.Errorf("stats %s", raw)
	}
	if code := d.do("GET", "/v1/stats?from=yesterday", nil, nil); code != 400 {
		t.Errorf("bad window: %d", code)
	}
}
