package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/plugins/openai/openaitest"
	"github.com/switchboard-chat/switchboard/sdk"
	"github.com/switchboard-chat/switchboard/sdk/plugintest"
)

const testModel = "qwen2.5-7b-instruct"

func mustOptions(t *testing.T, values map[string]any) sdk.Options {
	t.Helper()
	opts, err := sdk.NewOptions(values)
	if err != nil {
		t.Fatal(err)
	}
	return opts
}

// closedURL is the base URL of a port where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/v1"
}

// client serves llm behind the gRPC glue and configures it with base, the
// test model and extra options.
func client(t *testing.T, llm *LLM, base string, extra map[string]any) *sdk.LLMClient {
	t.Helper()
	values := map[string]any{"base_url": base, "model": testModel}
	for k, v := range extra {
		values[k] = v
	}
	c := plugintest.LLM(t, llm)
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

// collect joins the text and gathers the tool calls of a turn.
func collect(chunks []sdk.ChatChunk) (string, []sdk.ToolCall) {
	var text strings.Builder
	var calls []sdk.ToolCall
	for _, ch := range chunks {
		text.WriteString(ch.Text)
		calls = append(calls, ch.ToolCalls...)
	}
	return text.String(), calls
}

func TestChatStreamsText(t *testing.T) {
	tests := []struct {
		name  string
		reply openaitest.Response
		want  []string // the text of each chunk before the final one
	}{
		{"explicit chunks", openaitest.Response{Chunks: []string{"Hel", "lo", ", how can ", "I help?"}},
			[]string{"Hel", "lo", ", how can ", "I help?"}},
		{"words", openaitest.Text("Sure, one moment."), []string{"Sure, ", "one ", "moment."}},
		{"slow pieces", openaitest.Response{Chunks: []string{"a", "b", "c"}, ChunkDelay: 20 * time.Millisecond}, []string{"a", "b", "c"}},
		{"a chunk longer than the read buffer", openaitest.Response{Chunks: []string{"x", strings.Repeat("é", 100_000), "y"}},
			[]string{"x", strings.Repeat("é", 100_000), "y"}},
		{"an empty answer", openaitest.Text(""), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := openaitest.New(testModel)
			fake.Reply = func(openaitest.ChatRequest) openaitest.Response { return tt.reply }
			c := client(t, &LLM{}, fake.Start(t), nil)

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
	type call struct {
		name string
		args string // JSON
	}
	tests := []struct {
		name  string
		reply openaitest.Response
		text  string
		calls []call
	}{
		{
			name:  "transfer_to_human, arguments a character at a time",
			reply: withPiece(openaitest.Call("transfer_to_human", map[string]any{"reason": "customer asks for a refund", "urgent": true}), 1),
			calls: []call{{"transfer_to_human", `{"reason":"customer asks for a refund","urgent":true}`}},
		},
		{
			name: "text, then the call with non-ASCII arguments in pieces",
			reply: func() openaitest.Response {
				r := withPiece(openaitest.Call("transfer_to_human", map[string]any{"reason": "顧客が返金を希望 — €500"}), 3)
				r.Text = "Let me get someone."
				return r
			}(),
			text:  "Let me get someone.",
			calls: []call{{"transfer_to_human", `{"reason":"顧客が返金を希望 — €500"}`}},
		},
		{
			name: "two calls in one answer",
			reply: openaitest.Response{ToolCalls: []openaitest.ToolCall{
				{Function: openaitest.FunctionCall{Name: "lookup_order", Arguments: `{"order":"A-17"}`}},
				{Function: openaitest.FunctionCall{Name: "transfer_to_human", Arguments: `{"reason":"late parcel"}`}},
			}},
			calls: []call{{"lookup_order", `{"order":"A-17"}`}, {"transfer_to_human", `{"reason":"late parcel"}`}},
		},
		{
			name: "no arguments",
			reply: openaitest.Response{ToolCalls: []openaitest.ToolCall{
				{Function: openaitest.FunctionCall{Name: "transfer_to_human", Arguments: ""}},
			}},
			calls: []call{{"transfer_to_human", `{}`}},
		},
		{
			name: "broken arguments still make the call",
			reply: openaitest.Response{ToolCalls: []openaitest.ToolCall{
				{Function: openaitest.FunctionCall{Name: "transfer_to_human", Arguments: `{"reason": "refu`}},
			}},
			calls: []call{{"transfer_to_human", `{}`}},
		},
		{
			name: "finish_reason stop with a call, as some servers send",
			reply: func() openaitest.Response {
				r := openaitest.Call("transfer_to_human", nil)
				r.FinishReason = "stop"
				return r
			}(),
			calls: []call{{"transfer_to_human", `{}`}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := openaitest.New(testModel)
			fake.Reply = func(openaitest.ChatRequest) openaitest.Response { return tt.reply }
			c := client(t, &LLM{}, fake.Start(t), nil)

			chunks, err := chat(context.Background(), c, hello())
			if err != nil {
				t.Fatalf("Chat: %v", err)
			}
			checkDoneOnce(t, chunks)
			text, calls := collect(chunks)
			if text != tt.text {
				t.Errorf("text %q, want %q", text, tt.text)
			}
			if len(calls) != len(tt.calls) {
				t.Fatalf("tool calls %+v, want %d", calls, len(tt.calls))
			}
			for i, want := range tt.calls {
				if calls[i].Name != want.name || !jsonEqual(t, calls[i].Arguments, want.args) {
					t.Errorf("call %d: %s %s, want %s %s", i, calls[i].Name, calls[i].Arguments, want.name, want.args)
				}
			}
		})
	}
}

// withPiece sets how many characters of arguments each chunk carries.
func withPiece(r openaitest.Response, n int) openaitest.Response {
	r.ArgumentsPiece = n
	return r
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

func TestChatSendsConversationAndTools(t *testing.T) {
	schema := `{"type":"object","properties":{"reason":{"type":"string","description":"why a human is needed"},` +
		`"priority":{"type":"string","enum":["low","high"]}},"required":["reason"]}`
	req := sdk.ChatRequest{
		Messages: []sdk.ChatMessage{
			{Role: sdk.RoleSystem, Content: "You are a helpful agent."},
			{Role: sdk.RoleUser, Content: "Where is order A-17? I want a human"},
			{Role: sdk.RoleAssistant, ToolCalls: []sdk.ToolCall{
				{Name: "lookup_order", Arguments: json.RawMessage(`{"order": "A-17"}`)},
				{Name: "transfer_to_human", Arguments: json.RawMessage(`{"reason":"asked"}`)},
			}},
			{Role: sdk.RoleTool, ToolName: "transfer_to_human", Content: "queued"},
			{Role: sdk.RoleTool, ToolName: "lookup_order", Content: "shipped"},
			{Role: sdk.RoleAssistant, Content: "It shipped; a colleague will join."},
			{Role: sdk.RoleUser, Content: "thanks"},
		},
		Tools: []sdk.Tool{
			{Name: "transfer_to_human", Description: "Hand the chat to a person", Parameters: json.RawMessage(schema)},
			{Name: "ping"},
		},
	}

	for _, key := range []string{"", "sk-local-123"} {
		t.Run("api_key "+key, func(t *testing.T) {
			fake := openaitest.New(testModel)
			fake.APIKey = key
			c := client(t, &LLM{}, fake.Start(t), map[string]any{"api_key": key})
			// The fake refuses tool results that answer no call, and
			// calls left without a result.
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
			if want := map[string]string{"": "", "sk-local-123": "Bearer sk-local-123"}[key]; got.Authorization != want {
				t.Errorf("Authorization %q, want %q", got.Authorization, want)
			}

			if len(got.Messages) != 7 {
				t.Fatalf("messages %+v", got.Messages)
			}
			for i, want := range []struct{ role, text string }{
				{"system", "You are a helpful agent."}, {"user", "Where is order A-17? I want a human"}, {"assistant", ""},
				{"tool", "queued"}, {"tool", "shipped"}, {"assistant", "It shipped; a colleague will join."}, {"user", "thanks"},
			} {
				if got.Messages[i].Role != want.role || got.Messages[i].Text() != want.text {
					t.Errorf("message %d: %s %q, want %s %q", i, got.Messages[i].Role, got.Messages[i].Text(), want.role, want.text)
				}
			}
			if string(got.Messages[2].Content) != "null" {
				t.Errorf("content of an assistant message with only tool calls: %s, want null", got.Messages[2].Content)
			}
			tc := got.Messages[2].ToolCalls
			if len(tc) != 2 || tc[0].Function.Name != "lookup_order" || tc[0].Function.Arguments != `{"order":"A-17"}` ||
				tc[1].Function.Name != "transfer_to_human" || tc[1].Function.Arguments != `{"reason":"asked"}` {
				t.Fatalf("assistant tool calls %+v", tc)
			}
			if got.Messages[3].ToolCallID != tc[1].ID || got.Messages[4].ToolCallID != tc[0].ID || tc[0].ID == tc[1].ID {
				t.Errorf("tool results answer %q and %q, calls are %q and %q",
					got.Messages[3].ToolCallID, got.Messages[4].ToolCallID, tc[0].ID, tc[1].ID)
			}

			tool, ok := got.Tool("transfer_to_human")
			if !ok || tool.Type != "function" || tool.Function.Description != "Hand the chat to a person" {
				t.Fatalf("tools %+v", got.Tools)
			}
			if !jsonEqual(t, tool.Function.Parameters, schema) {
				t.Errorf("schema sent as %s, want %s", tool.Function.Parameters, schema)
			}
			if ping, _ := got.Tool("ping"); !jsonEqual(t, ping.Function.Parameters, `{"type":"object","properties":{}}`) {
				t.Errorf("a tool without parameters is sent with %s", ping.Function.Parameters)
			}
		})
	}
}

func TestChatErrors(t *testing.T) {
	clock := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	tests := []struct {
		name       string
		models     []string // served by the fake
		fakeKey    string   // the key the fake wants
		reply      openaitest.Response
		options    map[string]any
		noPrefix   bool // base_url without the /v1 the API lives under
		kind       sdk.ErrorKind
		retryAfter time.Duration
		contains   []string
	}{
		{name: "model not served", models: []string{"llama-3.1-8b"}, kind: sdk.ModelMissing,
			contains: []string{`model "qwen2.5-7b-instruct" is not available on http://127.0.0.1:`, "does not exist", "GET http://127.0.0.1:"}},
		{name: "404 model_not_found", reply: openaitest.ModelNotFound(testModel), kind: sdk.ModelMissing,
			contains: []string{"/v1/models lists"}},
		{name: "no key", fakeKey: "sk-right", kind: sdk.Permanent, contains: []string{"401", "set api_key"}},
		{name: "wrong key", fakeKey: "sk-right", options: map[string]any{"api_key": "sk-wrong-123456"}, kind: sdk.Permanent,
			contains: []string{"401", "Incorrect API key", "check api_key"}},
		{name: "rate limited with a delay in seconds", reply: openaitest.RateLimited("7"), kind: sdk.Temporary, retryAfter: 7 * time.Second,
			contains: []string{"rate limited", "429", "Rate limit reached"}},
		{name: "rate limited with a date", reply: openaitest.RateLimited(clock.Add(90 * time.Second).Format(http.TimeFormat)),
			kind: sdk.Temporary, retryAfter: 90 * time.Second},
		{name: "rate limited without Retry-After", reply: openaitest.RateLimited(""), kind: sdk.Temporary},
		{name: "quota used up", reply: openaitest.Fail(429, "insufficient_quota", "insufficient_quota", "You exceeded your current quota."),
			kind: sdk.Permanent, contains: []string{"quota"}},
		{name: "bad request", reply: openaitest.Fail(400, "invalid_request_error", "", `"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set`),
			kind: sdk.Permanent, contains: []string{"--enable-auto-tool-choice", "400"}},
		{name: "server error", reply: openaitest.ServerError(500, "CUDA out of memory"), kind: sdk.Temporary,
			contains: []string{"CUDA out of memory", "500"}},
		{name: "loading, come back later", reply: func() openaitest.Response {
			r := openaitest.ServerError(503, "Loading model")
			r.RetryAfter = "3"
			return r
		}(), kind: sdk.Temporary, retryAfter: 3 * time.Second, contains: []string{"Loading model"}},
		{name: "error mid-stream", reply: openaitest.Response{Text: "Hello there", Error: openaitest.APIError{Message: "the model crashed", Type: "server_error"}},
			kind: sdk.Temporary, contains: []string{"the model crashed"}},
		{name: "connection dropped mid-stream", reply: openaitest.Response{Text: "Hello there", Abort: true}, kind: sdk.Unavailable,
			contains: []string{"http://127.0.0.1:"}},
		{name: "turn timeout before the answer", reply: openaitest.Response{Text: "late", Delay: 10 * time.Second},
			options: map[string]any{"timeout": "200ms"}, kind: sdk.Timeout, contains: []string{"200ms"}},
		{name: "turn timeout mid-stream", reply: openaitest.Response{Chunks: []string{"a", "b", "c"}, ChunkDelay: 150 * time.Millisecond},
			options: map[string]any{"timeout": "200ms"}, kind: sdk.Timeout},
		{name: "base_url without /v1", noPrefix: true, kind: sdk.Permanent, contains: []string{"404", "check base_url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := openaitest.New(tt.models...)
			fake.APIKey = tt.fakeKey
			fake.Reply = func(openaitest.ChatRequest) openaitest.Response { return tt.reply }
			base := fake.Start(t)
			if tt.noPrefix {
				base = strings.TrimSuffix(base, "/v1")
			}
			c := client(t, &LLM{Now: func() time.Time { return clock }}, base, tt.options)

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
			if got := sdk.RetryAfterOf(err); got != tt.retryAfter {
				t.Errorf("retry after %s, want %s", got, tt.retryAfter)
			}
			for _, s := range tt.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			if strings.Contains(err.Error(), "sk-wrong-123456") {
				t.Errorf("error %q shows the key", err)
			}
		})
	}
}

func TestChatAnswerThatIsNotTheAPI(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<html><body>Welcome to nginx!</body></html>")
	}))
	t.Cleanup(srv.Close)
	c := client(t, &LLM{}, srv.URL, nil)
	_, err := chat(context.Background(), c, hello())
	t.Logf("%s: %v", sdk.KindOf(err), err)
	if sdk.KindOf(err) != sdk.Permanent || !strings.Contains(err.Error(), "text/html") || !strings.Contains(err.Error(), "check base_url") {
		t.Errorf("got %v (%s)", err, sdk.KindOf(err))
	}
}

// A server that ignores "stream": true and sends one chat.completion object
// is understood.
func TestChatUnstreamedAnswer(t *testing.T) {
	fake := openaitest.New(testModel)
	fake.Reply = func(openaitest.ChatRequest) openaitest.Response {
		r := openaitest.Call("transfer_to_human", map[string]string{"reason": "refund"})
		r.Text = "One moment."
		return r
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		body = bytes.Replace(body, []byte(`"stream":true`), []byte(`"stream":false`), 1)
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c := client(t, &LLM{}, srv.URL+"/v1", nil)

	chunks, err := chat(context.Background(), c, hello())
	if err != nil {
		t.Fatalf("Chat: %v", err)
	}
	checkDoneOnce(t, chunks)
	text, calls := collect(chunks)
	if text != "One moment." || len(calls) != 1 || calls[0].Name != "transfer_to_human" || !jsonEqual(t, calls[0].Arguments, `{"reason":"refund"}`) {
		t.Errorf("text %q, calls %+v", text, calls)
	}
	if got, _ := fake.LastRequest(); got.Streaming() {
		t.Fatal("the request reached the fake still streaming; the test checks nothing")
	}
}

func TestChatServerDown(t *testing.T) {
	for name, base := range map[string]string{
		"closed port":    closedURL(t),
		"unknown domain": "http://llm.invalid:8000/v1",
	} {
		t.Run(name, func(t *testing.T) {
			c := client(t, &LLM{}, base, map[string]any{"timeout": "10s"})
			_, err := chat(context.Background(), c, hello())
			t.Logf("%s: %v", sdk.KindOf(err), err)
			if sdk.KindOf(err) == sdk.Timeout && name == "unknown domain" {
				t.Skip("the DNS resolver does not answer here")
			}
			if sdk.KindOf(err) != sdk.Unavailable || !strings.Contains(err.Error(), base) || !strings.Contains(err.Error(), "unreachable") {
				t.Fatalf("got %q (%s), want an unavailable error naming %s", err, sdk.KindOf(err), base)
			}
		})
	}
}

func TestChatStopsWhenTheCallerCancels(t *testing.T) {
	fake := openaitest.New(testModel)
	fake.Reply = func(openaitest.ChatRequest) openaitest.Response {
		return openaitest.Response{Chunks: []string{"one", "two", "three"}, ChunkDelay: 10 * time.Second}
	}
	c := client(t, &LLM{}, fake.Start(t), nil)

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
	fake := openaitest.New(testModel)
	fake.Reply = func(openaitest.ChatRequest) openaitest.Response {
		return openaitest.Response{Chunks: []string{"one", "two", "three"}, ChunkDelay: 10 * time.Millisecond}
	}
	c := client(t, &LLM{}, fake.Start(t), nil)
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
	fake := openaitest.New(testModel)
	fake.Reply = func(req openaitest.ChatRequest) openaitest.Response { return openaitest.Text("re: " + req.LastUser()) }
	c := client(t, &LLM{}, fake.Start(t), nil)

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := fmt.Sprintf("question %d", i)
			chunks, err := chat(context.Background(), c, sdk.ChatRequest{Messages: []sdk.ChatMessage{{Role: sdk.RoleUser, Content: msg}}})
			if text, _ := collect(chunks); err == nil && text != "re: "+msg {
				err = fmt.Errorf("turn %d got %q", i, text)
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

func TestChatRejectsBadInput(t *testing.T) {
	fake := openaitest.New(testModel)
	c := client(t, &LLM{}, fake.Start(t), nil)
	tests := map[string]sdk.ChatRequest{
		"schema not an object": {Messages: hello().Messages, Tools: []sdk.Tool{{Name: "t", Parameters: json.RawMessage(`"nope"`)}}},
		"arguments not an object": {Messages: []sdk.ChatMessage{
			{Role: sdk.RoleAssistant, ToolCalls: []sdk.ToolCall{{Name: "t", Arguments: json.RawMessage(`[1]`)}}},
		}},
		"tool result without a call": {Messages: []sdk.ChatMessage{
			{Role: sdk.RoleUser, Content: "hi"}, {Role: sdk.RoleTool, ToolName: "t", Content: "done"},
		}},
		"tool calls from the user": {Messages: []sdk.ChatMessage{
			{Role: sdk.RoleUser, ToolCalls: []sdk.ToolCall{{Name: "t"}}},
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
	fake := openaitest.New(testModel)
	fake.APIKey = "sk-emb"
	fake.Embedder = func(text string) []float32 { return []float32{float32(len(text)), 1} }
	c := client(t, &LLM{}, fake.Start(t), map[string]any{"api_key": "sk-emb"})

	got, err := c.Embed(context.Background(), []string{"a", "bcd"})
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}
	if want := [][]float32{{1, 1}, {3, 1}}; !reflect.DeepEqual(got, want) {
		t.Errorf("vectors %v, want %v", got, want)
	}
	reqs := fake.Embeds()
	if len(reqs) != 1 || reqs[0].Model != testModel || !reflect.DeepEqual(reqs[0].Inputs(), []string{"a", "bcd"}) || reqs[0].Authorization != "Bearer sk-emb" {
		t.Errorf("requests %+v", reqs)
	}

	if got, err := c.Embed(context.Background(), nil); err != nil || len(got) != 0 || len(fake.Embeds()) != 1 {
		t.Errorf("empty Embed: %v, %v, %d requests", got, err, len(fake.Embeds()))
	}

	fake.SetModels("nomic-embed-text-v1.5")
	if _, err := c.Embed(context.Background(), []string{"a"}); sdk.KindOf(err) != sdk.ModelMissing || !strings.Contains(err.Error(), "/models") {
		t.Errorf("missing model: %v (%s)", err, sdk.KindOf(err))
	}
	fake.Close()
	if _, err := c.Embed(context.Background(), []string{"a"}); sdk.KindOf(err) != sdk.Unavailable {
		t.Errorf("server down: %v (%s)", err, sdk.KindOf(err))
	}
}

// Vectors come back by their index, in either documented encoding.
func TestEmbedEncodingsAndOrder(t *testing.T) {
	fake := openaitest.New(testModel)
	fake.Embedder = func(text string) []float32 { return []float32{float32(len(text)), -0.5} }
	for _, format := range []string{"float", "base64"} {
		t.Run(format, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// Ask the fake for this encoding, and hand its list back
				// in reverse order.
				var body map[string]any
				json.NewDecoder(r.Body).Decode(&body)
				body["encoding_format"] = format
				data, _ := json.Marshal(body)
				r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(data)), int64(len(data))
				rec := httptest.NewRecorder()
				fake.ServeHTTP(rec, r)
				var list map[string]any
				json.Unmarshal(rec.Body.Bytes(), &list)
				items := list["data"].([]any)
				for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
					items[i], items[j] = items[j], items[i]
				}
				json.NewEncoder(w).Encode(list)
			}))
			t.Cleanup(srv.Close)
			c := client(t, &LLM{}, srv.URL+"/v1", nil)
			got, err := c.Embed(context.Background(), []string{"a", "bb", "ccc"})
			if err != nil {
				t.Fatalf("Embed: %v", err)
			}
			if want := [][]float32{{1, -0.5}, {2, -0.5}, {3, -0.5}}; !reflect.DeepEqual(got, want) {
				t.Errorf("vectors %v, want %v", got, want)
			}
		})
	}
}

func TestHealth(t *testing.T) {
	fake := openaitest.New("llama-3.1-8b", testModel)
	base := fake.Start(t)
	c := client(t, &LLM{}, base, nil)

	if err := c.Health(context.Background()); err != nil {
		t.Errorf("Health with the model served: %v", err)
	}
	if fake.Hits("/v1/models") != 1 {
		t.Errorf("/v1/models hit %d times", fake.Hits("/v1/models"))
	}

	fake.SetModels("llama-3.1-8b", "nomic-embed-text-v1.5")
	err := c.Health(context.Background())
	t.Logf("no model: %v", err)
	if sdk.KindOf(err) != sdk.ModelMissing || !strings.Contains(err.Error(), `model "qwen2.5-7b-instruct" is not available`) ||
		!strings.Contains(err.Error(), `"llama-3.1-8b", "nomic-embed-text-v1.5"`) {
		t.Errorf("Health without the model: %v (%s)", err, sdk.KindOf(err))
	}
	fake.SetModels()
	if err := c.Health(context.Background()); sdk.KindOf(err) != sdk.ModelMissing || !strings.Contains(err.Error(), "lists no models") {
		t.Errorf("Health with no models: %v", err)
	}
	fake.SetModels(testModel)

	fake.SetAPIKey("sk-needed")
	err = c.Health(context.Background())
	t.Logf("no key: %v", err)
	if err == nil || !strings.Contains(err.Error(), "set api_key") {
		t.Errorf("Health without the key the server wants: %v", err)
	}
	fake.SetAPIKey("")

	wrongBase := client(t, &LLM{}, strings.TrimSuffix(base, "/v1"), nil)
	err = wrongBase.Health(context.Background())
	t.Logf("wrong base: %v", err)
	if err == nil || !strings.Contains(err.Error(), "check base_url") {
		t.Errorf("Health with base_url missing /v1: %v", err)
	}

	fake.Close()
	start := time.Now()
	err = c.Health(context.Background())
	t.Logf("down: %v", err)
	if sdk.KindOf(err) != sdk.Unavailable || !strings.Contains(err.Error(), base) || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("Health with the server down: %v, want an unavailable error naming %s", err, base)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("Health took %s", time.Since(start))
	}
}

func TestEventReader(t *testing.T) {
	tests := []struct {
		name   string
		stream string
		want   []string
	}{
		{"one line each", "data: {\"a\":1}\n\ndata: [DONE]\n\n", []string{`{"a":1}`, "[DONE]"}},
		{"CRLF line endings", "data: x\r\n\r\ndata: y\r\n\r\n", []string{"x", "y"}},
		{"no space after the colon", "data:x\n\n", []string{"x"}},
		{"comments and other fields", ": keep-alive\n\nevent: message\nid: 7\nretry: 100\ndata: x\n\n", []string{"x"}},
		{"data on two lines", "data: {\"a\":\ndata: 1}\n\n", []string{"{\"a\":\n1}"}},
		{"a last event without its blank line", "data: x\n\ndata: [DONE]\n", []string{"x", "[DONE]"}},
		{"a last line without its newline", "data: x\n\ndata: [DONE]", []string{"x", "[DONE]"}},
		{"a line longer than the buffer", "data: " + strings.Repeat("z", 3*readBuffer) + "\n\n", []string{strings.Repeat("z", 3*readBuffer)}},
		{"blank lines only", "\n\n\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newEventReader(strings.NewReader(tt.stream))
			var got []string
			for {
				data, err := r.next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, string(data))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("events %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseAPIError(t *testing.T) {
	tests := []struct {
		name string
		body string
		want apiError
		ok   bool
	}{
		{"OpenAI", `{"error":{"message":"The model ` + "`x`" + ` does not exist","type":"invalid_request_error","param":"model","code":"model_not_found"}}`,
			apiError{Message: "The model `x` does not exist", Type: "invalid_request_error", Param: "model", Code: "model_not_found"}, true},
		{"numeric code", `{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}`,
			apiError{Message: "Loading model", Type: "unavailable_error", Code: "503"}, true},
		{"fields at the top level", `{"object":"error","message":"bad","type":"BadRequestError","param":null,"code":400}`,
			apiError{Message: "bad", Type: "BadRequestError", Code: "400"}, true},
		{"a plain string", `{"error":"model not loaded"}`, apiError{Message: "model not loaded"}, true},
		{"detail", `{"detail":"Not Found"}`, apiError{Message: "Not Found"}, true},
		{"not JSON", `<html>`, apiError{}, false},
		{"no error", `{"choices":[]}`, apiError{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseAPIError([]byte(tt.body))
			if got != tt.want || ok != tt.ok {
				t.Errorf("got %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	tests := map[string]time.Duration{
		"":   0,
		"7":  7 * time.Second,
		"0":  0,
		"-3": 0,
		now.Add(2 * time.Minute).Format(http.TimeFormat):  2 * time.Minute,
		now.Add(-2 * time.Minute).Format(http.TimeFormat): 0,
		"soon":       0,
		"9999999999": 24 * time.Hour,
	}
	for header, want := range tests {
		if got := parseRetryAfter(header, now); got != want {
			t.Errorf("Retry-After %q: %s, want %s", header, got, want)
		}
	}
}

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	mu sync.Mutex
	n  int
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.n++
		l.mu.Unlock()
	}
	return c, err
}

func (l *countingListener) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// Turns one after another reuse one connection: a finished stream is read
// to its end, not cut off.
func TestChatReusesTheConnection(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &countingListener{Listener: inner}
	fake := openaitest.New(testModel)
	c := client(t, &LLM{}, fake.StartListener(t, l), nil)
	for i := range 5 {
		if _, err := chat(context.Background(), c, hello()); err != nil {
			t.Fatalf("turn %d: %v", i, err)
		}
	}
	if l.count() != 1 {
		t.Errorf("5 turns opened %d connections", l.count())
	}
}

// A server that keeps the stream open after [DONE] does not hold the turn.
func TestChatEndsAtDone(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, `data: {"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}`+"\n\n")
		io.WriteString(w, `data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\ndata: [DONE]\n\n")
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	c := client(t, &LLM{}, srv.URL+"/v1", map[string]any{"timeout": "10s"})
	start := time.Now()
	chunks, err := chat(context.Background(), c, hello())
	if err != nil {
		t.Fatalf("Chat: %v", err)
	}
	if text, _ := collect(chunks); text != "hi" {
		t.Errorf("text %q", text)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Chat took %s", took)
	}
}
