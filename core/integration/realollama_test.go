//go:build e2e

package integration

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// The daemon with each real model plugin binary and a real Ollama server
// (started by make e2e), the openai plugin through Ollama's
// OpenAI-compatible API: a visitor's message gets the model's answer.
func TestRealOllamaAnswersThroughTheDaemon(t *testing.T) {
	host := os.Getenv("OLLAMA_HOST")
	if host == "" {
		t.Skip("OLLAMA_HOST not set; run make e2e")
	}
	ollama := strings.Replace(llmConfig(host), `model = "qwen2.5:1.5b"`, `model = "switchboard-tiny"`, 1)
	ollama = strings.Replace(ollama, `timeout = "5s"`, `timeout = "60s"`, 1)
	configs := []struct{ plugin, config string }{
		{"ollama", ollama},
		{"openai", fmt.Sprintf(`
[llm]
plugin = "openai"
[llm.options]
base_url = %q
model = "switchboard-tiny:latest"
timeout = "60s"

[bot]
gather_window = "0s"
`, strings.TrimRight(host, "/")+"/v1")},
	}
	for _, c := range configs {
		t.Run(c.plugin, func(t *testing.T) {
			d := startDaemon(t, c.config) // ready: /readyz waits for the model server
			id := apiConversation(t, d)
			post(t, d, id, "where is my order?")
			msgs := waitMessages(t, d, id, 2)
			if msgs[1].Role != "bot" {
				t.Fatalf("transcript %q", texts(msgs))
			}
			var conv convState
			d.do("GET", "/v1/conversations/"+id, nil, &conv)
			if conv.State == "waiting_human" && conv.Handoff != nil && conv.Handoff.Cause == "llm_down" {
				t.Fatalf("the real server was treated as down: %+v", conv.Handoff)
			}
		})
	}
}
