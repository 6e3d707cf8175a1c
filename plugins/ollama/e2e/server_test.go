//go:build e2e

// These tests check the behaviour of a real Ollama server that the Ollama
// plugin relies on. Start one with start-ollama.sh, then:
//
//	OLLAMA_HOST=http://127.0.0.1:11500 go test -tags e2e ./plugins/ollama/e2e/ -v
//
// The model is random-weight gibberish, so the tests check plumbing (status
// codes, stream shape, error text), never the content of replies.

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
)

const (
	model        = "switchboard-tiny"
	missingModel = "switchboard-missing"
	wantVersion  = "0.17.4"
	numPredict   = 24 // PARAMETER num_predict in the Modelfile
)

func client(t *testing.T) *api.Client {
	t.Helper()
	if os.Getenv("OLLAMA_HOST") == "" {
		t.Skip("OLLAMA_HOST not set; start a server with plugins/ollama/e2e/start-ollama.sh")
	}
	c, err := api.ClientFromEnvironment()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func asJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func userMessage(s string) []api.Message {
	return []api.Message{
		{Role: "system", Content: "You are a helpful support agent."},
		{Role: "user", Content: s},
	}
}

func TestVersion(t *testing.T) {
	c := client(t)
	v, err := c.Version(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if v != wantVersion {
		t.Fatalf("version %q, want %q", v, wantVersion)
	}
}

func TestListAndShow(t *testing.T) {
	c := client(t)
	list, err := c.List(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var found *api.ListModelResponse
	for i, m := range list.Models {
		// Listing always uses the full name with the ":latest" tag.
		if m.Name == model+":latest" {
			found = &list.Models[i]
		}
	}
	if found == nil {
		t.Fatalf("%s not listed: %s", model, asJSON(list))
	}
	t.Logf("listed: %s", asJSON(found))

	show, err := c.Show(ctx(t), &api.ShowRequest{Model: model})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("capabilities: %v", show.Capabilities)
	for _, want := range []string{"completion", "tools"} {
		if !strings.Contains(asJSON(show.Capabilities), `"`+want+`"`) {
			t.Errorf("capabilities %v lack %q", show.Capabilities, want)
		}
	}
}

func TestChatStream(t *testing.T) {
	c := client(t)
	var chunks []api.ChatResponse
	start := time.Now()
	var first time.Duration
	err := c.Chat(ctx(t), &api.ChatRequest{
		Model:    model,
		Messages: userMessage("Hello, where is my order?"),
		Options:  map[string]any{"seed": 42},
	}, func(r api.ChatResponse) error {
		if len(chunks) == 0 {
			first = time.Since(start)
		}
		chunks = append(chunks, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d chunks, first after %v, all after %v", len(chunks), first, time.Since(start))
	if len(chunks) < 3 {
		t.Fatalf("got %d chunks, want several", len(chunks))
	}
	t.Logf("first chunk: %s", asJSON(chunks[0]))
	t.Logf("last chunk: %s", asJSON(chunks[len(chunks)-1]))

	var text strings.Builder
	for i, r := range chunks[:len(chunks)-1] {
		if r.Done {
			t.Fatalf("chunk %d is done before the last one", i)
		}
		if r.Message.Role != "assistant" {
			t.Errorf("chunk %d role %q", i, r.Message.Role)
		}
		text.WriteString(r.Message.Content)
	}
	last := chunks[len(chunks)-1]
	if !last.Done {
		t.Fatal("last chunk not done")
	}
	// The random model almost never emits </s>, so replies run to num_predict.
	if last.DoneReason != "length" || last.EvalCount != numPredict {
		t.Errorf("done_reason %q eval_count %d, want length/%d", last.DoneReason, last.EvalCount, numPredict)
	}
	if last.PromptEvalCount == 0 || last.TotalDuration == 0 {
		t.Errorf("final chunk lacks metrics: %s", asJSON(last))
	}
	t.Logf("reply: %q", text.String())
}

func TestChatDeterministicWithSeed(t *testing.T) {
	c := client(t)
	reply := func() string {
		var out string
		stream := false
		err := c.Chat(ctx(t), &api.ChatRequest{
			Model:    model,
			Messages: userMessage("Refund please"),
			Stream:   &stream,
			Options:  map[string]any{"seed": 7, "temperature": 0.8},
		}, func(r api.ChatResponse) error {
			out += r.Message.Content
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	a, b := reply(), reply()
	if a != b {
		t.Errorf("same seed, different replies:\n%q\n%q", a, b)
	}
}

const orderTool = `[{"type": "function", "function": {
	"name": "get_order_status",
	"description": "Look up the shipping status of an order",
	"parameters": {"type": "object", "required": ["order_id"],
		"properties": {"order_id": {"type": "string", "description": "Order number"}}}}}]`

// A request with tools is accepted only because the template uses .Tools.
func TestChatWithTools(t *testing.T) {
	c := client(t)
	var tools api.Tools
	mustUnmarshal(t, orderTool, &tools)
	// A full tool round trip as history: assistant call, then tool result.
	args := api.NewToolCallFunctionArguments()
	args.Set("order_id", "A-17")
	messages := append(userMessage("Where is order A-17?"),
		api.Message{Role: "assistant", ToolCalls: []api.ToolCall{{
			Function: api.ToolCallFunction{Name: "get_order_status", Arguments: args},
		}}},
		api.Message{Role: "tool", ToolName: "get_order_status", Content: `{"status":"shipped"}`},
	)
	stream := false
	var resp api.ChatResponse
	err := c.Chat(ctx(t), &api.ChatRequest{Model: model, Messages: messages, Tools: tools, Stream: &stream, Options: map[string]any{"seed": 42}},
		func(r api.ChatResponse) error { resp = r; return nil })
	if err != nil {
		t.Fatalf("chat with tools refused: %v", err)
	}
	if !resp.Done {
		t.Fatalf("not done: %s", asJSON(resp))
	}
	t.Logf("non-streamed reply with tools: %s", asJSON(resp))
	if len(resp.Message.ToolCalls) > 0 {
		t.Errorf("free-running random model produced tool calls: %s", asJSON(resp.Message.ToolCalls))
	}
}

// The Modelfile's template gives the tool parser no tag, so any JSON object
// in the output is a call; a JSON-schema format with enums makes the random
// model write exactly one call. This is how tests can get a real tool call.
func TestForcedToolCall(t *testing.T) {
	c := client(t)
	var tools api.Tools
	var format json.RawMessage
	mustUnmarshal(t, orderTool, &tools)
	mustUnmarshal(t, `{"type": "object", "required": ["name", "arguments"], "properties": {
		"name": {"enum": ["get_order_status"]},
		"arguments": {"type": "object", "required": ["order_id"],
			"properties": {"order_id": {"enum": ["A-17"]}}}}}`, &format)

	var chunks []api.ChatResponse
	err := c.Chat(ctx(t), &api.ChatRequest{
		Model:    model,
		Messages: userMessage("Where is order A-17?"),
		Tools:    tools,
		Format:   format,
		// The JSON is spelled mostly byte by byte; 24 tokens is too few.
		Options: map[string]any{"num_predict": 200},
	}, func(r api.ChatResponse) error { chunks = append(chunks, r); return nil })
	if err != nil {
		t.Fatal(err)
	}
	var calls []api.ToolCall
	var content strings.Builder
	for _, r := range chunks {
		t.Logf("chunk: %s", asJSON(r))
		calls = append(calls, r.Message.ToolCalls...)
		content.WriteString(r.Message.Content)
	}
	if len(calls) != 1 {
		t.Fatalf("got %d tool calls, want 1", len(calls))
	}
	fn := calls[0].Function
	if fn.Name != "get_order_status" || asJSON(fn.Arguments) != `{"order_id":"A-17"}` {
		t.Errorf("tool call %s", asJSON(calls[0]))
	}
	if calls[0].ID == "" {
		t.Error("tool call has no id")
	}
	if content.Len() != 0 {
		t.Errorf("content beside the tool call: %q", content.String())
	}
	if last := chunks[len(chunks)-1]; !last.Done || last.DoneReason != "stop" {
		t.Errorf("last chunk: %s", asJSON(last))
	}
}

func mustUnmarshal(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatal(err)
	}
}

func TestEmbed(t *testing.T) {
	c := client(t)
	resp, err := c.Embed(ctx(t), &api.EmbedRequest{Model: model, Input: []string{"hello", "where is my refund"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Embeddings) != 2 {
		t.Fatalf("got %d vectors, want 2", len(resp.Embeddings))
	}
	for i, v := range resp.Embeddings {
		if len(v) != 64 { // embedding_length of the generated model
			t.Errorf("vector %d has %d dims, want 64", i, len(v))
		}
		var sum float64
		for _, x := range v {
			sum += float64(x) * float64(x)
		}
		t.Logf("vector %d: dims=%d L2 norm=%.4f first=%v", i, len(v), math.Sqrt(sum), v[:3])
	}
	t.Logf("prompt_eval_count=%d total_duration=%v", resp.PromptEvalCount, resp.TotalDuration)
}

func TestMissingModel(t *testing.T) {
	c := client(t)
	check := func(name string, err error, wantMsg string) {
		t.Helper()
		var se api.StatusError
		if !errors.As(err, &se) {
			t.Fatalf("%s: got %T %v, want api.StatusError", name, err, err)
		}
		t.Logf("%s: StatusCode=%d Status=%q ErrorMessage=%q Error()=%q", name, se.StatusCode, se.Status, se.ErrorMessage, err.Error())
		if se.StatusCode != http.StatusNotFound || se.ErrorMessage != wantMsg {
			t.Errorf("%s: got %d %q, want 404 %q", name, se.StatusCode, se.ErrorMessage, wantMsg)
		}
	}
	noop := func(api.ChatResponse) error { return nil }

	err := c.Chat(ctx(t), &api.ChatRequest{Model: missingModel, Messages: userMessage("hi")}, noop)
	check("chat stream", err, "model '"+missingModel+"' not found")

	stream := false
	err = c.Chat(ctx(t), &api.ChatRequest{Model: missingModel, Messages: userMessage("hi"), Stream: &stream}, noop)
	check("chat", err, "model '"+missingModel+"' not found")

	// /api/embed words it differently.
	_, err = c.Embed(ctx(t), &api.EmbedRequest{Model: missingModel, Input: "hi"})
	check("embed", err, `model "`+missingModel+`" not found, try pulling it first`)
}

func TestClientTimeout(t *testing.T) {
	c := client(t)
	long := map[string]any{"num_predict": 1000, "seed": 1}

	// Load the model first so the 300ms budget below is spent generating.
	stream := false
	warm := &api.ChatRequest{Model: model, Messages: userMessage("hi"), Stream: &stream, Options: map[string]any{"num_predict": 1}}
	if err := c.Chat(ctx(t), warm, func(api.ChatResponse) error { return nil }); err != nil {
		t.Fatal(err)
	}

	// Deadline before the response starts.
	c1, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	err := c.Chat(c1, &api.ChatRequest{Model: model, Messages: userMessage("hi"), Options: long},
		func(api.ChatResponse) error { return nil })
	t.Logf("1ms timeout: %v", err)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want context.DeadlineExceeded", err)
	}

	// Deadline in the middle of a stream: some chunks arrive, none is done.
	// api.Client ignores read errors once the stream has started (it never
	// checks bufio.Scanner.Err), so Chat returns nil here. A caller must treat
	// "no done chunk" or ctx.Err() != nil as the failure.
	c2, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	var n int
	var sawDone bool
	err = c.Chat(c2, &api.ChatRequest{Model: model, Messages: userMessage("hi"), Options: long},
		func(r api.ChatResponse) error { n++; sawDone = sawDone || r.Done; return nil })
	t.Logf("300ms timeout mid-stream after %d chunks: err=%v ctx.Err()=%v", n, err, c2.Err())
	if sawDone {
		t.Fatal("stream finished before the deadline; raise num_predict")
	}
	if n == 0 {
		t.Error("no chunk arrived within 300ms")
	}
	if err != nil {
		t.Errorf("api.Client now reports mid-stream cancellation (%v); update callers that rely on the done chunk", err)
	}
	if !errors.Is(c2.Err(), context.DeadlineExceeded) {
		t.Errorf("ctx.Err() = %v", c2.Err())
	}

	// The server is still usable right after a cancelled request. A
	// mid-stream disconnect can leak one of the model's request slots
	// (ollama/ollama#17131); start-ollama.sh gives it two so this still works.
	if _, err := c.Version(ctx(t)); err != nil {
		t.Fatal(err)
	}
	c3, cancel3 := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel3()
	err = c.Chat(c3, &api.ChatRequest{Model: model, Messages: userMessage("still there?"), Stream: &stream},
		func(r api.ChatResponse) error {
			if !r.Done {
				t.Errorf("not done: %s", asJSON(r))
			}
			return nil
		})
	if err != nil || c3.Err() != nil {
		t.Fatalf("chat after cancel: err=%v ctx=%v (a leaked slot? restart the server)", err, c3.Err())
	}
}
