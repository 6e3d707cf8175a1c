//go:build e2e

package integration

import (
	"os"
	"strings"
	"testing"
)

// The daemon with the real ollama plugin binary and a real Ollama server
// (started by make e2e): a visitor's message gets the model's answer.
func TestRealOllamaAnswersThroughTheDaemon(t *testing.T) {
	host := os.Getenv("OLLAMA_HOST")
	if host == "" {
		t.Skip("OLLAMA_HOST not set; run make e2e")
	}
	cfg := strings.Replace(llmConfig(host), `model = "qwen2.5:1.5b"`, `model = "switchboard-tiny"`, 1)
	cfg = strings.Replace(cfg, `timeout = "5s"`, `timeout = "60s"`, 1)
	d := startDaemon(t, cfg) // ready: /readyz waits for the model server
	id := apiConversation(t, d)
	post(t, d, id, "where is my order?")
	msgs := waitMessages(t, d, id, 2)
	if msgs[1].Role != "bot" {
		t.Fatalf("transcript %q", texts(msgs))
	}
	var c convState
	d.do("GET", "/v1/conversations/"+id, nil, &c)
	if c.State == "waiting_human" && c.Handoff != nil && c.Handoff.Cause == "llm_down" {
		t.Fatalf("the real server was treated as down: %+v", c.Handoff)
	}
}
