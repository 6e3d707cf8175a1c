//go:build e2e

// Tests of the plugin against a real server that speaks the protocol:
// Ollama's OpenAI-compatible API (under /v1) with the tiny generated model
// of plugins/ollama/e2e. `make e2e` starts the server and runs them:
//
//	OLLAMA_HOST=http://127.0.0.1:11500 go test -tags e2e ./plugins/openai/ -run Real
//
// The model answers random text, so they check plumbing, not content.

package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/sdk"
	"github.com/switchboard-chat/switchboard/sdk/plugintest"
)

// realModel is the tiny model's id as Ollama's /v1/models lists it.
const realModel = "switchboard-tiny:latest"

func realLLM(t *testing.T, options map[string]any) *sdk.LLMClient {
	t.Helper()
	host := os.Getenv("OLLAMA_HOST")
	if host == "" {
		t.Skip("OLLAMA_HOST not set; run make e2e")
	}
	opts := map[string]any{"base_url": strings.TrimRight(host, "/") + "/v1", "model": realModel, "timeout": "60s"}
	for k, v := range options {
		opts[k] = v
	}
	c := plugintest.LLM(t, &LLM{})
	o, _ := sdk.NewOptions(opts)
	if _, err := c.Configure(context.Background(), sdk.ConfigureRequest{Instance: "llm", Options: o}); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRealHealthAndModelListing(t *testing.T) {
	if err := realLLM(t, nil).Health(context.Background()); err != nil {
		t.Fatalf("health with the model served: %v", err)
	}
	err := realLLM(t, map[string]any{"model": "qwen2.5:1.5b"}).Health(context.Background())
	if sdk.KindOf(err) != sdk.ModelMissing || !strings.Contains(err.Error(), `"`+realModel+`"`) {
		t.Fatalf("health with a missing model: %v (%s), want model_missing listing %s", err, sdk.KindOf(err), realModel)
	}
}

func TestRealChatStreamsWithTools(t *testing.T) {
	var chunks []sdk.ChatChunk
	err := realLLM(t, nil).Chat(context.Background(), sdk.ChatRequest{
		Messages: []sdk.ChatMessage{
			{Role: sdk.RoleSystem, Content: "You are a support assistant."},
			{Role: sdk.RoleUser, Content: "where is my order?"},
		},
		Tools: []sdk.Tool{{
			Name: "transfer_to_human", Description: "hand over",
			Parameters: []byte(`{"type":"object","properties":{"reason":{"type":"string"}},"required":["reason"]}`),
		}},
	}, sdk.ChatStreamFunc(func(ch sdk.ChatChunk) error {
		chunks = append(chunks, ch)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(chunks) < 3 || !chunks[len(chunks)-1].Done {
		t.Fatalf("%d chunks, last done=%v: want a stream ending in done", len(chunks), len(chunks) > 0 && chunks[len(chunks)-1].Done)
	}
	text, calls := collect(chunks)
	if strings.TrimSpace(text) == "" && len(calls) == 0 {
		t.Fatal("neither text nor a tool call came back")
	}
}

func TestRealEmbed(t *testing.T) {
	vectors, err := realLLM(t, nil).Embed(context.Background(), []string{"refund", "delivery"})
	if err != nil {
		t.Fatal(err)
	}
	if len(vectors) != 2 || len(vectors[0]) == 0 || len(vectors[0]) != len(vectors[1]) {
		t.Fatalf("vectors: %d of sizes %d", len(vectors), len(vectors[0]))
	}
}

func TestRealMissingModel(t *testing.T) {
	_, err := chat(context.Background(), realLLM(t, map[string]any{"model": "qwen2.5:1.5b"}), hello())
	if sdk.KindOf(err) != sdk.ModelMissing || !strings.Contains(err.Error(), `model "qwen2.5:1.5b" is not available`) {
		t.Fatalf("error %v (%s), want model_missing", err, sdk.KindOf(err))
	}
}

// Last on purpose: a client that gives up mid-stream can leave Ollama 0.17.4
// holding a request slot (ollama/ollama#17131).
func TestRealTimeout(t *testing.T) {
	start := time.Now()
	_, err := chat(context.Background(), realLLM(t, map[string]any{"timeout": "1ms"}), hello())
	if sdk.KindOf(err) != sdk.Timeout {
		t.Fatalf("error %v (%s), want timeout", err, sdk.KindOf(err))
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("the timeout took %v", time.Since(start))
	}
}
