package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/plugins/ollama/ollamatest"
	"github.com/switchboard-chat/switchboard/sdk"
	"github.com/switchboard-chat/switchboard/sdk/plugintest"
)

const testModel = "qwen2.5:1.5b"

func mustOptions(t *testing.T, values map[string]any) sdk.Options {
	t.Helper()
	opts, err := sdk.NewOptions(values)
	if err != nil {
		t.Fatal(err)
	}
	return opts
}

// closedURL is the URL of a port where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// client serves a fresh plugin behind the gRPC glue and configures it with
// host, the test model and extra options.
func client(t *testing.T, host string, extra map[string]any) *sdk.LLMClient {
	t.Helper()
	values := map[string]any{"host": host, "model": testModel}
	for k, v := range extra {
		values[k] = v
	}
	c := plugintest.LLM(t, &LLM{})
	if _, err := c.Configure(context.Background(), sdk.ConfigureRequest{Instance: "test", Options: mustOptions(t, values)}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return c
}

// chat runs one turn and collects its chunks.
func chat(ctx context.Context, c sdk.LLM, req sdk.ChatRequest) ([]sdk.ChatChunk, error) {
	var chunks []sdk.ChatChunk
	err := c.Chat(ctx, req, sdk.ChatStreamFunc(func(ch sdk.ChatChunk) error {
		chunks = append(chunks, ch)
		return nil
	}))
	return chunks, err
}

func hello() sdk.ChatRequest {
	return sdk.ChatRequest{Messages: []sdk.ChatMessage{{Role: sdk.RoleUser, Content: "hello"}}}
}

// checkDoneOnce fails unless exactly the last chunk is Done.
func checkDoneOnce(t *testing.T, chunks []sdk.ChatChunk) {
	t.Helper()
	if len(chunks) == 0 {
		t.Fatal("no chunks")
	}
	for i, ch := range chunks {
		if ch.Done != (i == len(chunks)-1) {
			t.Errorf("chunk %d of %d has Done=%v", i, len(chunks), ch.Done)
		}
	}
}

func TestChatStreamsText(t *testing.T) {
	tests := []struct {
		name  string
		reply ollamatest.Response
		want  []string // the text of each chunk before the final one
	}{
		{"explicit chunks", ollamatest.Response{Chunks: []string{"Hel", "lo", ", how can ", "I help?"}},
			[]string{"Hel", "lo", ", how can ", "I help?"}},
		{"words", ollamatest.Text("Sure, one moment."), []string{"Sure, ", "one ", "moment."}},
		{"slow pieces", ollamatest.Response{Chunks: []string{"a", "b", "c"}, ChunkDelay: 20 * time.Millisecond}, []string{"a", "b", "c"}},
		{"a chunk longer than the read buffer", ollamatest.Response{Chunks: []string{"x", strings.Repeat("é", 100_000), "y"}},
			[]string{"x", strings.Repeat("é", 100_000), "y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := ollamatest.New(testModel)
			fake.Reply = func(ollamatest.ChatRequest) ollamatest.Response { return tt.reply }
			c := client(t, fake.Start(t), nil)

			chunks, err := chat(context.Background(), c, hello())
			if err != nil {
				t.Fatalf("Chat: %v", err)
			}
			checkDoneOnce(t, chunks)
			var got []string
			for _, ch := range chunks[:len(chunks)-1] {
				got = append(got, ch.Text)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("chunks %q, want %q", got, tt.want)
			}
			if last := chunks[len(chunks)-1]; last.Text != "" || len(last.ToolCalls) != 0 {
				t.Errorf("final chunk %+v", last)
			}
		})
	}
}

func TestChatToolCalls(t *testing.T) {
	fake := ollamatest.New(testModel)
	fake.Reply = func(ollamatest.ChatRequest) ollamatest.Response {
		r := ollamatest.Call("transfer_to_human", map[string]any{"reason": "customer asks for a refund", "urgent": true})
		r.Text = "Let me get someone."
		return r
	}
	c := client(t, fake.Start(t), nil)

	chunks, err := chat(context.Background(), c, hello())
	if err != nil {
		t.Fatalf("Chat: %v", err)
	}
	checkDoneOnce(t, chunks)
	var text strings.Builder
	var calls []sdk.ToolCall
	for _, ch := range chunks {
		text.WriteString(ch.Text)
		calls = append(calls, ch.ToolCalls...)
	}
	if text.String() != "Let me get someone." {
		t.Errorf("text %q", text.String())
	}
	if len(calls) != 1 || calls[0].Name != "transfer_to_human" {
		t.Fatalf("tool calls %+v", calls)
	}
	var args map[string]any
	if err := json.Unmarshal(calls[0].Arguments, &args); err != nil {
		t.Fatalf("arguments %s: %v", calls[0].Arguments, err)
	}
	if !reflect.DeepEqual(args, map[string]any{"reason": "customer asks for a refund", "urgent": true}) {
		t.Errorf("arguments %v", args)
	}
}

func TestChatSendsConversationToolsAndOptions(t *testing.T) {
	schema := `{"type":"object","properties":{"reason":{"type":"string","description":"why a human is needed"},` +
		`"priority":{"type":"string","enum":["low","high"]}},"required":["reason"]}`
	req := sdk.ChatRequest{
		Messages: []sdk.ChatMessage{
			{Role: sdk.RoleSystem, Content: "You are a helpful agent."},
			{Role: sdk.RoleUser, Content: "I want a human"},
			{Role: sdk.RoleAssistant, ToolCalls: []sdk.ToolCall{{Name: "transfer_to_human", Arguments: json.RawMessage(`{"reason":"asked"}`)}}},
			{Role: sdk.RoleTool, ToolName: "transfer_to_human", Content: "queued"},
		},
		Tools: []sdk.Tool{{Name: "transfer_to_human", Description: "Hand the chat to a person", Parameters: json.RawMessage(schema)}},
	}

	t.Run("configured options", func(t *testing.T) {
		fake := ollamatest.New(testModel)
		c := client(t, fake.Start(t), map[string]any{"temperature": 0.3, "num_ctx": 4096, "keep_alive": "5m"})
		if _, err := chat(context.Background(), c, req); err != nil {
			t.Fatalf("Chat: %v", err)
		}
		got, ok := fake.LastRequest()
		if !ok || fake.Calls() != 1 {
			t.Fatalf("%d requests", fake.Calls())
		}
		if got.Model != testModel || !got.Streaming() {
			t.Errorf("model %q, streaming %v", got.Model, got.Streaming())
		}

		if len(got.Messages) != 4 {
			t.Fatalf("messages %+v", got.Messages)
		}
		for i, want := range []struct{ role, content string }{
			{"system", "You are a helpful agent."}, {"user", "I want a human"}, {"assistant", ""}, {"tool", "queued"},
		} {
			if got.Messages[i].Role != want.role || got.Messages[i].Content != want.content {
				t.Errorf("message %d: %+v, want %+v", i, got.Messages[i], want)
			}
		}
		if tc := got.Messages[2].ToolCalls; len(tc) != 1 || tc[0].Function.Name != "transfer_to_human" || !jsonEqual(t, tc[0].Function.Arguments, `{"reason":"asked"}`) {
			t.Errorf("assistant tool calls %+v", tc)
		}
		if got.Messages[3].ToolName != "transfer_to_human" {
			t.Errorf("tool message names %q", got.Messages[3].ToolName)
		}

		tool, ok := got.Tool("transfer_to_human")
		if !ok || tool.Type != "function" || tool.Function.Description != "Hand the chat to a person" {
			t.Fatalf("tools %+v", got.Tools)
		}
		if !jsonEqual(t, tool.Function.Parameters, schema) {
			t.Errorf("schema sent as %s, want %s", tool.Function.Parameters, schema)
		}

		if got.Option("temperature") != 0.3 || got.Option("num_ctx") != 4096.0 {
			t.Errorf("options %v", got.Options)
		}
		if d, err := time.ParseDuration(got.KeepAliveString()); err != nil || d != 5*time.Minute {
			t.Errorf("keep_alive %s", got.KeepAlive)
		}
	})

	t.Run("defaults leave the model's own settings", func(t *testing.T) {
		fake := ollamatest.New(testModel)
		c := client(t, fake.Start(t), nil)
		if _, err := chat(context.Background(), c, req); err != nil {
			t.Fatalf("Chat: %v", err)
		}
		got, _ := fake.LastRequest()
		if len(got.Options) != 0 || got.KeepAlive != nil {
			t.Errorf("options %v, keep_alive %s", got.Options, got.KeepAlive)
		}
	})
}

func jsonEqual(t *testing.T, got json.RawMessage, want string) bool {
	t.Helper()
	var a, b any
	if err := json.Unmarshal(got, &a); err != nil {
		t.Errorf("%s: %v", got, err)
		return false
	}
	if err := json.Unmarshal([]byte(want), &b); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(a, b)
}

func TestChatErrors(t *testing.T) {
	tests := []struct {
		name     string
		models   []string // installed in the fake
		reply    ollamatest.Response
		options  map[string]any
		kind     sdk.ErrorKind
		contains []string
	}{
		{name: "model not pulled", models: []string{"llama3.2"}, kind: sdk.ModelMissing,
			contains: []string{`model "qwen2.5:1.5b" is not available on http://127.0.0.1:`, "run: ollama pull qwen2.5:1.5b"}},
		{name: "404 for the model", reply: ollamatest.ModelNotFound(testModel), kind: sdk.ModelMissing,
			contains: []string{"ollama pull qwen2.5:1.5b"}},
		{name: "bad request", reply: ollamatest.Fail(400, "registry.ollama.ai/library/qwen2.5:1.5b does not support tools"), kind: sdk.Permanent,
			contains: []string{"does not support tools", "400"}},
		{name: "404 without a model", reply: ollamatest.Fail(404, "404 page not found"), kind: sdk.Permanent},
		{name: "rate limited", reply: ollamatest.Fail(429, "too many requests"), kind: sdk.Temporary},
		{name: "server error", reply: ollamatest.Fail(500, "llama runner process has terminated"), kind: sdk.Temporary,
			contains: []string{"llama runner process has terminated"}},
		{name: "bad gateway", reply: ollamatest.Fail(502, "cloud model unreachable"), kind: sdk.Temporary},
		{name: "error mid-stream", reply: ollamatest.Response{Text: "Hello there", Error: "an error was encountered while running the model"},
			kind: sdk.Temporary, contains: []string{"an error was encountered while running the model"}},
		{name: "connection dropped mid-stream", reply: ollamatest.Response{Text: "Hello there", Abort: true}, kind: sdk.Unavailable,
			contains: []string{"http://127.0.0.1:"}},
		{name: "turn timeout before the answer", reply: ollamatest.Response{Text: "late", Delay: 10 * time.Second},
			options: map[string]any{"timeout": "200ms"}, kind: sdk.Timeout, contains: []string{"200ms"}},
		{name: "turn timeout mid-stream", reply: ollamatest.Response{Chunks: []string{"a", "b", "c"}, ChunkDelay: 150 * time.Millisecond},
			options: map[string]any{"timeout": "200ms"}, kind: sdk.Timeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := ollamatest.New(tt.models...)
			fake.Reply = func(ollamatest.ChatRequest) ollamatest.Response { return tt.reply }
			c := client(t, fake.Start(t), tt.options)

			start := time.Now()
			_, err := chat(context.Background(), c, hello())
			if err == nil {
				t.Fatal("Chat succeeded")
			}
			t.Logf("%s: %v", sdk.KindOf(err), err)
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("Chat took %s", took)
			}
			if sdk.KindOf(err) != tt.kind {
				t.Errorf("kind %s, want %s (error %q)", sdk.KindOf(err), tt.kind, err)
			}
			for _, s := range tt.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
		})
	}
}

func TestChatServerDown(t *testing.T) {
	for name, host := range map[string]string{
		"closed port":    closedURL(t),
		"unknown domain": "http://ollama.invalid:11434",
	} {
		t.Run(name, func(t *testing.T) {
			c := client(t, host, map[string]any{"timeout": "10s"})
			_, err := chat(context.Background(), c, hello())
			t.Logf("%s: %v", sdk.KindOf(err), err)
			if sdk.KindOf(err) == sdk.Timeout && name == "unknown domain" {
				t.Skip("the DNS resolver does not answer here")
			}
			if sdk.KindOf(err) != sdk.Unavailable || !strings.Contains(err.Error(), host) {
				t.Fatalf("got %q (%s), want an unavailable error naming %s", err, sdk.KindOf(err), host)
			}
		})
	}
}

func TestChatStopsWhenTheCallerCancels(t *testing.T) {
	fake := ollamatest.New(testModel)
	fake.Reply = func(ollamatest.ChatRequest) ollamatest.Response {
		return ollamatest.Response{Chunks: []string{"one", "two", "three"}, ChunkDelay: 10 * time.Second}
	}
	c := client(t, fake.Start(t), nil)

	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	go func() {
		done <- c.Chat(ctx, hello(), sdk.ChatStreamFunc(func(sdk.ChatChunk) error {
			once.Do(func() { close(first) })
			return nil
		}))
	}()
	select {
	case <-first:
	case <-time.After(5 * time.Second):
		t.Fatal("no first chunk")
	}
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Chat returned nil after cancellation")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Chat ignored the cancellation")
	}
	// The HTTP request must be abandoned, not left streaming.
	deadline := time.Now().Add(3 * time.Second)
	for fake.Canceled() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the fake never saw the client go away")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestChatStreamErrorStopsTurn(t *testing.T) {
	fake := ollamatest.New(testModel)
	fake.Reply = func(ollamatest.ChatRequest) ollamatest.Response {
		return ollamatest.Response{Chunks: []string{"one", "two", "three"}, ChunkDelay: 10 * time.Millisecond}
	}
	c := client(t, fake.Start(t), nil)
	boom := errors.New("engine gave up")
	n := 0
	err := c.Chat(context.Background(), hello(), sdk.ChatStreamFunc(func(sdk.ChatChunk) error {
		n++
		return boom
	}))
	if !errors.Is(err, boom) || n != 1 {
		t.Errorf("err %v after %d chunks, want the stream's error after 1", err, n)
	}
}

func TestChatConcurrentTurns(t *testing.T) {
	fake := ollamatest.New(testModel)
	fake.Reply = func(req ollamatest.ChatRequest) ollamatest.Response { return ollamatest.Text("re: " + req.LastUser()) }
	c := client(t, fake.Start(t), nil)

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := fmt.Sprintf("question %d", i)
			chunks, err := chat(context.Background(), c, sdk.ChatRequest{Messages: []sdk.ChatMessage{{Role: sdk.RoleUser, Content: msg}}})
			var text strings.Builder
			for _, ch := range chunks {
				text.WriteString(ch.Text)
			}
			if err == nil && text.String() != "re: "+msg {
				err = fmt.Errorf("turn %d got %q", i, text.String())
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if fake.Calls() != 8 {
		t.Errorf("%d calls", fake.Calls())
	}
}

func TestChatBeforeConfigure(t *testing.T) {
	c := plugintest.LLM(t, &LLM{})
	if _, err := chat(context.Background(), c, hello()); sdk.KindOf(err) != sdk.Permanent {
		t.Errorf("got %v (%s), want a permanent error", err, sdk.KindOf(err))
	}
}

func TestChatRejectsBadToolInput(t *testing.T) {
	fake := ollamatest.New(testModel)
	c := client(t, fake.Start(t), nil)
	tests := map[string]sdk.ChatRequest{
		"schema not an object": {Messages: hello().Messages, Tools: []sdk.Tool{{Name: "t", Parameters: json.RawMessage(`"nope"`)}}},
		"arguments not an object": {Messages: []sdk.ChatMessage{
			{Role: sdk.RoleAssistant, ToolCalls: []sdk.ToolCall{{Name: "t", Arguments: json.RawMessage(`[1]`)}}},
		}},
	}
	for name, req := range tests {
		if _, err := chat(context.Background(), c, req); sdk.KindOf(err) != sdk.Permanent {
			t.Errorf("%s: got %v (%s), want a permanent error", name, err, sdk.KindOf(err))
		}
	}
	if fake.Calls() != 0 {
		t.Errorf("%d requests reached the server", fake.Calls())
	}
}

func TestEmbed(t *testing.T) {
	fake := ollamatest.New(testModel)
	fake.Embedder = func(text string) []float32 { return []float32{float32(len(text)), 1} }
	c := client(t, fake.Start(t), map[string]any{"keep_alive": "10m"})

	got, err := c.Embed(context.Background(), []string{"a", "bcd"})
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}
	if want := [][]float32{{1, 1}, {3, 1}}; !reflect.DeepEqual(got, want) {
		t.Errorf("vectors %v, want %v", got, want)
	}
	reqs := fake.Embeds()
	if len(reqs) != 1 || reqs[0].Model != testModel || !reflect.DeepEqual(reqs[0].Inputs(), []string{"a", "bcd"}) {
		t.Errorf("requests %+v", reqs)
	}

	if got, err := c.Embed(context.Background(), nil); err != nil || len(got) != 0 || len(fake.Embeds()) != 1 {
		t.Errorf("empty Embed: %v, %v, %d requests", got, err, len(fake.Embeds()))
	}

	fake.SetModels("nomic-embed-text")
	if _, err := c.Embed(context.Background(), []string{"a"}); sdk.KindOf(err) != sdk.ModelMissing || !strings.Contains(err.Error(), "ollama pull") {
		t.Errorf("missing model: %v (%s)", err, sdk.KindOf(err))
	}
	fake.Close()
	if _, err := c.Embed(context.Background(), []string{"a"}); sdk.KindOf(err) != sdk.Unavailable {
		t.Errorf("server down: %v (%s)", err, sdk.KindOf(err))
	}
}

func TestEmbedModelOption(t *testing.T) {
	fake := ollamatest.New(testModel, "nomic-embed-text")
	fake.Embedder = func(text string) []float32 { return []float32{1, 2} }
	c := client(t, fake.Start(t), map[string]any{"embed_model": "nomic-embed-text"})
	if _, err := c.Embed(context.Background(), []string{"a"}); err != nil {
		t.Fatalf("Embed: %v", err)
	}
	if reqs := fake.Embeds(); len(reqs) != 1 || reqs[0].Model != "nomic-embed-text" {
		t.Errorf("requests %+v, want the embed model", reqs)
	}
	fake.SetModels(testModel)
	_, err := c.Embed(context.Background(), []string{"a"})
	if sdk.KindOf(err) != sdk.ModelMissing || !strings.Contains(err.Error(), "nomic-embed-text") {
		t.Errorf("missing embed model: %v (%s), want it named", err, sdk.KindOf(err))
	}
}

func TestHealth(t *testing.T) {
	fake := ollamatest.New("llama3.2", testModel)
	url := fake.Start(t)
	c := client(t, url, nil)

	if err := c.Health(context.Background()); err != nil {
		t.Errorf("Health with the model installed: %v", err)
	}
	if fake.Hits("/api/version") != 1 {
		t.Errorf("/api/version hit %d times", fake.Hits("/api/version"))
	}

	fake.SetModels("llama3.2")
	err := c.Health(context.Background())
	t.Logf("no model: %v", err)
	if err == nil || !strings.Contains(err.Error(), "ollama pull "+testModel) {
		t.Errorf("Health without the model: %v", err)
	}

	fake.Close()
	start := time.Now()
	err = c.Health(context.Background())
	t.Logf("down: %v", err)
	if err == nil || !strings.Contains(err.Error(), url) {
		t.Errorf("Health with the server down: %v, want an error naming %s", err, url)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("Health took %s", time.Since(start))
	}
}

func TestSameModel(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"llama3.2:latest", "llama3.2", true},
		{"qwen2.5:1.5b", "qwen2.5:1.5b", true},
		{"qwen2.5:1.5b", "qwen2.5:7b", false},
		{"registry.ollama.ai/library/llama3.2:latest", "llama3.2", true},
		{"someone/model:latest", "someone/model", true},
		{"", "x", false},
	}
	for _, tt := range tests {
		if got := sameModel(tt.a, tt.b); got != tt.same {
			t.Errorf("sameModel(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}
