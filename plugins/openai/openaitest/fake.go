// Package openaitest is a fake OpenAI-compatible server for tests, written
// from the OpenAI API reference. Under /v1 it answers POST
// /chat/completions (server-sent events with "stream": true, else one
// chat.completion object), POST /embeddings, GET /models and GET
// /models/{id}, with the documented error bodies
// {"error":{"message","type","param","code"}}. Each test scripts the
// answers ([Fake.Reply]) and inspects what the client sent
// ([Fake.Requests]).
//
//	f := openaitest.New("qwen2.5-7b-instruct")
//	f.Reply = func(req openaitest.ChatRequest) openaitest.Response {
//		return openaitest.Text("Hello there!")
//	}
//	baseURL := f.Start(t) // http://127.0.0.1:port/v1
//
// The package needs only the standard library.
package openaitest

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// Prefix is the path under which the fake serves the API; the base URL a
// client is given ends with it.
const Prefix = "/v1"

// DefaultEmbedDim is the size of the vectors of the default embedder.
const DefaultEmbedDim = 8

// DefaultArgumentsPiece is how many characters of a tool call's arguments
// each streamed chunk carries unless [Response.ArgumentsPiece] says
// otherwise: models write arguments a token at a time, so a client must
// join the pieces.
const DefaultArgumentsPiece = 4

// created is the fixed creation time the fake reports for models.
const created = 1715367049

// Response scripts the fake's answer to one chat request.
type Response struct {
	// Text is the answer. A streamed answer sends it in pieces of one word
	// each (with the space that follows it), unless Chunks is set.
	Text string
	// Chunks, when set, are the streamed pieces of the answer, sent as they
	// are; Text is then ignored.
	Chunks []string
	// ToolCalls are called after the text. Streamed, each call's first
	// chunk carries its id, type and name, and its arguments follow in
	// pieces of ArgumentsPiece characters. An empty ID gets a fresh one.
	ToolCalls []ToolCall
	// ArgumentsPiece is the length in characters of each streamed piece of
	// tool-call arguments; 0 means DefaultArgumentsPiece.
	ArgumentsPiece int
	// FinishReason is the final chunk's finish_reason; default
	// "tool_calls" when there are tool calls, else "stop".
	FinishReason string

	// Status, when 400 or more, makes the answer an error: this HTTP status
	// with {"error": Error} (Error.Message defaults to the status text).
	Status int
	// Error is the error object of an error answer (see Status) or, with
	// Status 0 and a Message, an error sent in the stream after the pieces
	// instead of the final chunk, as servers do when generation fails
	// half-way. A request that is not streamed gets status 500 instead.
	Error APIError
	// RetryAfter, when set, is sent as the Retry-After header of an error
	// answer: a number of seconds or an HTTP date.
	RetryAfter string

	// Delay is the wait before the answer starts, headers included. The
	// fake gives up waiting if the client goes away or the fake is closed.
	Delay time.Duration
	// ChunkDelay is the wait before each streamed chunk after the first
	// piece of text or tool call.
	ChunkDelay time.Duration
	// Abort drops the connection after the pieces, without the final chunk
	// or [DONE], as a server that crashed mid-answer would.
	Abort bool
}

// Text is an answer with the given text.
func Text(s string) Response { return Response{Text: s} }

// Call is an answer calling one function with the given arguments
// (anything that encodes as a JSON object; nil means {}).
func Call(name string, args any) Response {
	if args == nil {
		args = map[string]any{}
	}
	raw, err := json.Marshal(args)
	if err != nil {
		panic(fmt.Sprintf("openaitest.Call(%q): encode arguments: %v", name, err))
	}
	return Response{ToolCalls: []ToolCall{{Type: "function", Function: FunctionCall{Name: name, Arguments: string(raw)}}}}
}

// Fail is an error answer with the given HTTP status, error type, code
// ("" for null) and message.
func Fail(status int, errType, code, msg string) Response {
	e := APIError{Message: msg, Type: errType}
	if code != "" {
		e.Code = &code
	}
	return Response{Status: status, Error: e}
}

// ModelNotFound is the answer for a model the server does not have.
func ModelNotFound(model string) Response {
	r := Fail(http.StatusNotFound, "invalid_request_error", "model_not_found",
		fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", model))
	param := "model"
	r.Error.Param = &param
	return r
}

// RateLimited is a 429 answer with the given Retry-After header ("" for
// none).
func RateLimited(retryAfter string) Response {
	r := Fail(http.StatusTooManyRequests, "requests", "rate_limit_exceeded",
		"Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.")
	r.RetryAfter = retryAfter
	return r
}

// ServerError is a 5xx answer with the given status and message.
func ServerError(status int, msg string) Response {
	return Fail(status, "server_error", "", msg)
}

// Fake is a fake OpenAI-compatible server. Set its fields before Start;
// once it runs, change them only through SetReply, SetModels and SetAPIKey.
// Its methods are safe for concurrent use. It is also an [http.Handler],
// for tests that run their own server.
type Fake struct {
	// Reply scripts the answer to each chat request. Nil answers
	// "You said: <last user message>". It runs without the fake's lock
	// held, so it may call the fake's methods.
	Reply func(req ChatRequest) Response
	// Models are the served model ids, listed by GET /v1/models. A chat
	// or embeddings request for another model gets 404 model_not_found.
	// When empty, every model is accepted and none is listed.
	Models []string
	// APIKey, when set, must come as "Authorization: Bearer <APIKey>" on
	// every request; others get 401.
	APIKey string
	// Embedder returns the vector for one text. Nil gives deterministic unit
	// vectors of DefaultEmbedDim numbers derived from the text.
	Embedder func(text string) []float32

	mu       sync.Mutex
	chats    []ChatRequest
	embeds   []EmbeddingRequest
	hits     map[string]int
	canceled int
	ids      int
	srv      *httptest.Server
	stop     chan struct{}
}

// New returns a fake that serves the given models.
func New(models ...string) *Fake { return &Fake{Models: models} }

// SetReply replaces the chat script while the fake runs.
func (f *Fake) SetReply(reply func(req ChatRequest) Response) {
	f.mu.Lock()
	f.Reply = reply
	f.mu.Unlock()
}

// SetModels replaces the served models while the fake runs, for example to
// simulate a model being unloaded.
func (f *Fake) SetModels(models ...string) {
	f.mu.Lock()
	f.Models = models
	f.mu.Unlock()
}

// SetAPIKey replaces the required API key while the fake runs; "" accepts
// any request.
func (f *Fake) SetAPIKey(key string) {
	f.mu.Lock()
	f.APIKey = key
	f.mu.Unlock()
}

// Start serves the fake on a free port of 127.0.0.1 and returns its base
// URL, http://127.0.0.1:port/v1. The fake is closed when the test ends; t
// may be nil, and then the caller must Close it.
func (f *Fake) Start(t testing.TB) string { return f.StartAt(t, "127.0.0.1:0") }

// StartAt serves the fake on addr (host:port), for example the address of a
// fake that was closed, to simulate the server coming back. It fails the
// test (or panics when t is nil) if addr cannot be listened on.
func (f *Fake) StartAt(t testing.TB, addr string) string {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		if t == nil {
			panic(fmt.Sprintf("openaitest: listen on %s: %v", addr, err))
		}
		t.Helper()
		t.Fatalf("openaitest: listen on %s: %v", addr, err)
	}
	return f.StartListener(t, l)
}

// StartListener serves the fake on l and returns its base URL. It panics if
// the fake is already running.
func (f *Fake) StartListener(t testing.TB, l net.Listener) string {
	srv := httptest.NewUnstartedServer(f)
	srv.Listener.Close()
	srv.Listener = l
	f.mu.Lock()
	if f.srv != nil {
		f.mu.Unlock()
		l.Close()
		panic("openaitest: Start on a fake that is already running")
	}
	f.srv, f.stop = srv, make(chan struct{})
	f.mu.Unlock()
	srv.Start()
	if t != nil {
		t.Cleanup(f.Close)
	}
	return srv.URL + Prefix
}

// URL returns the base URL of the running fake (ending in /v1), or "" when
// it is stopped.
func (f *Fake) URL() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.srv == nil {
		return ""
	}
	return f.srv.URL + Prefix
}

// Close stops the fake, dropping the connections of answers in progress, as
// a server that went down would. Requests recorded so far are kept, and the
// fake may be started again. Close on a stopped fake does nothing.
func (f *Fake) Close() {
	f.mu.Lock()
	srv, stop := f.srv, f.stop
	f.srv, f.stop = nil, nil
	f.mu.Unlock()
	if srv == nil {
		return
	}
	close(stop)
	srv.CloseClientConnections()
	srv.Close()
}

// Requests returns the chat requests received so far, in order, including
// those answered with an error (but not those without a model or with a
// body that is not JSON).
func (f *Fake) Requests() []ChatRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ChatRequest(nil), f.chats...)
}

// LastRequest returns the latest chat request; ok is false if none came.
func (f *Fake) LastRequest() (req ChatRequest, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.chats) == 0 {
		return ChatRequest{}, false
	}
	return f.chats[len(f.chats)-1], true
}

// Calls returns the number of chat requests recorded so far.
func (f *Fake) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.chats)
}

// Embeds returns the embeddings requests recorded so far, in order.
func (f *Fake) Embeds() []EmbeddingRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]EmbeddingRequest(nil), f.embeds...)
}

// Hits returns how many requests of any method reached path
// ("/v1/chat/completions", "/v1/models", …), rejected ones included.
func (f *Fake) Hits(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[path]
}

// Canceled returns how many chat answers were cut short because the client
// went away (or the fake was closed) before they were complete.
func (f *Fake) Canceled() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.canceled
}

// Reset forgets the recorded requests and counters.
func (f *Fake) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.chats, f.embeds, f.hits, f.canceled = nil, nil, nil, 0
}

// ServeHTTP answers one request like an OpenAI-compatible server.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	if f.hits == nil {
		f.hits = map[string]int{}
	}
	f.hits[r.URL.Path]++
	key := f.APIKey
	f.mu.Unlock()

	if key != "" && !f.authorized(w, r, key) {
		return
	}
	path, under := strings.CutPrefix(r.URL.Path, Prefix+"/")
	switch {
	case !under: // not the API: the documented 404 below
	case r.Method == http.MethodPost && path == "chat/completions":
		f.chat(w, r)
		return
	case r.Method == http.MethodPost && path == "embeddings":
		f.embed(w, r)
		return
	case r.Method == http.MethodGet && path == "models":
		f.models(w)
		return
	case r.Method == http.MethodGet && strings.HasPrefix(path, "models/"):
		f.model(w, strings.TrimPrefix(path, "models/"))
		return
	}
	writeError(w, http.StatusNotFound, APIError{
		Message: fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path), Type: "invalid_request_error",
	})
}

// authorized checks the bearer token, answering 401 as documented when it
// is missing or wrong.
func (f *Fake) authorized(w http.ResponseWriter, r *http.Request, key string) bool {
	auth := r.Header.Get("Authorization")
	token, bearer := strings.CutPrefix(auth, "Bearer ")
	switch {
	case bearer && token == key:
		return true
	case auth == "":
		writeError(w, http.StatusUnauthorized, APIError{
			Message: "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
			Type:    "invalid_request_error",
		})
	default:
		code := "invalid_api_key"
		writeError(w, http.StatusUnauthorized, APIError{
			Message: fmt.Sprintf("Incorrect API key provided: %s. You can find your API key at https://platform.openai.com/account/api-keys.", mask(token)),
			Type:    "invalid_request_error", Code: &code,
		})
	}
	return false
}

// mask shows only the ends of a key, as the API does in its messages.
func mask(key string) string {
	if len(key) <= 8 {
		return strings.Repeat("*", len(key))
	}
	return key[:3] + strings.Repeat("*", len(key)-7) + key[len(key)-4:]
}

func (f *Fake) servedModels() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.Models...)
}

// hasModel reports whether model is served (always, when Models is empty).
func (f *Fake) hasModel(id string) bool {
	models := f.servedModels()
	if len(models) == 0 {
		return true
	}
	for _, m := range models {
		if m == id {
			return true
		}
	}
	return false
}

func modelObject(id string) model {
	return model{ID: id, Object: "model", Created: created, OwnedBy: "organization-owner"}
}

func (f *Fake) models(w http.ResponseWriter) {
	out := modelList{Object: "list", Data: []model{}}
	for _, id := range f.servedModels() {
		out.Data = append(out.Data, modelObject(id))
	}
	writeJSON(w, http.StatusOK, out)
}

func (f *Fake) model(w http.ResponseWriter, id string) {
	if len(f.servedModels()) == 0 || !f.hasModel(id) {
		r := ModelNotFound(id)
		writeError(w, r.Status, r.Error)
		return
	}
	writeJSON(w, http.StatusOK, modelObject(id))
}

// nextID returns a fresh id with the given prefix ("chatcmpl-", "call_").
func (f *Fake) nextID(prefix string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids++
	return fmt.Sprintf("%s%016x", prefix, hash(fmt.Sprint(f.ids)))
}

// badRequest answers 400 invalid_request_error about param ("" for null).
func badRequest(w http.ResponseWriter, param, msg string) {
	e := APIError{Message: msg, Type: "invalid_request_error"}
	if param != "" {
		e.Param = &param
	}
	writeError(w, http.StatusBadRequest, e)
}

// readJSON decodes the body into v, answering 400 when it is not JSON.
func readJSON(w http.ResponseWriter, r *http.Request, v any) ([]byte, bool) {
	body, err := io.ReadAll(r.Body)
	if err == nil {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		badRequest(w, "", "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)")
		return nil, false
	}
	return body, true
}

// checkMessages applies the documented rules for tool calls: a "tool"
// message answers a call of an earlier assistant message by its id, and
// every call is answered before the next assistant or user message.
func checkMessages(msgs []Message) (param, msg string, ok bool) {
	open := map[string]bool{} // calls not answered yet
	for i, m := range msgs {
		switch m.Role {
		case "tool":
			if !open[m.ToolCallID] {
				return fmt.Sprintf("messages.[%d].role", i), "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.", false
			}
			delete(open, m.ToolCallID)
			continue
		case "system", "developer", "user", "assistant":
		default:
			return fmt.Sprintf("messages.[%d].role", i), fmt.Sprintf("Invalid value: '%s'. Supported values are: 'system', 'assistant', 'user', 'tool', and 'developer'.", m.Role), false
		}
		if len(open) > 0 {
			var ids []string
			for id := range open {
				ids = append(ids, id)
			}
			return "messages", "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: " + strings.Join(ids, ", "), false
		}
		for j, c := range m.ToolCalls {
			if m.Role != "assistant" || c.ID == "" || c.Type != "function" || c.Function.Name == "" {
				return fmt.Sprintf("messages.[%d].tool_calls.[%d]", i, j), "Invalid tool call: an assistant tool call needs an id, type 'function' and a function name.", false
			}
			open[c.ID] = true
		}
	}
	return "", "", true
}

func (f *Fake) chat(w http.ResponseWriter, r *http.Request) {
	var req ChatRequest
	body, ok := readJSON(w, r, &req)
	if !ok {
		return
	}
	req.Body, req.Authorization = body, r.Header.Get("Authorization")
	if req.Model == "" {
		badRequest(w, "", "you must provide a model parameter")
		return
	}
	f.mu.Lock()
	f.chats = append(f.chats, req)
	reply, stop := f.Reply, f.stop
	f.mu.Unlock()

	switch param, msg, ok := checkMessages(req.Messages); {
	case len(req.Messages) == 0:
		badRequest(w, "messages", "[] is too short - 'messages'")
		return
	case !ok:
		badRequest(w, param, msg)
		return
	case req.N != nil && *req.N != 1:
		badRequest(w, "n", "this server generates one choice only")
		return
	}
	for i, t := range req.Tools {
		if t.Type != "function" || t.Function.Name == "" {
			badRequest(w, fmt.Sprintf("tools[%d]", i), "Invalid tool: type must be 'function' and the function needs a name.")
			return
		}
	}
	if !f.hasModel(req.Model) {
		resp := ModelNotFound(req.Model)
		writeError(w, resp.Status, resp.Error)
		return
	}

	var resp Response
	if reply != nil {
		resp = reply(req)
	} else {
		resp = Text("You said: " + req.LastUser())
	}
	if !f.wait(r, stop, resp.Delay) {
		return
	}
	if resp.Status >= 400 {
		if resp.RetryAfter != "" {
			w.Header().Set("Retry-After", resp.RetryAfter)
		}
		if resp.Error.Message == "" {
			resp.Error.Message = http.StatusText(resp.Status)
		}
		writeError(w, resp.Status, resp.Error)
		return
	}

	pieces := resp.Chunks
	if pieces == nil && resp.Text != "" {
		pieces = strings.SplitAfter(resp.Text, " ")
	}
	calls := make([]ToolCall, len(resp.ToolCalls))
	for i, c := range resp.ToolCalls {
		if c.ID == "" {
			c.ID = f.nextID("call_")
		}
		if c.Type == "" {
			c.Type = "function"
		}
		calls[i] = c
	}
	reason := resp.FinishReason
	switch {
	case reason != "":
	case len(calls) > 0:
		reason = "tool_calls"
	default:
		reason = "stop"
	}
	id := f.nextID("chatcmpl-")
	use := usage{PromptTokens: 19, CompletionTokens: len(pieces) + len(calls)}
	use.TotalTokens = use.PromptTokens + use.CompletionTokens

	if !req.Streaming() {
		if resp.Abort {
			panic(http.ErrAbortHandler)
		}
		if resp.Error.Message != "" {
			writeError(w, http.StatusInternalServerError, resp.Error)
			return
		}
		msg := completionMessage{Role: "assistant", ToolCalls: calls}
		if text := strings.Join(pieces, ""); text != "" || len(calls) == 0 {
			msg.Content = &text
		}
		writeJSON(w, http.StatusOK, completion{
			ID: id, Object: "chat.completion", Created: time.Now().Unix(), Model: req.Model,
			SystemFingerprint: "fp_fake", Usage: use,
			Choices: []completionChoice{{Index: 0, Message: msg, FinishReason: reason}},
		})
		return
	}

	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	send := func(data []byte) bool {
		if _, err := fmt.Fprintf(w, "data: %s\n\n", data); err != nil {
			f.cancel()
			return false
		}
		http.NewResponseController(w).Flush()
		return true
	}
	sendChunk := func(d delta, finish *string) bool {
		data, _ := json.Marshal(chunk{
			ID: id, Object: "chat.completion.chunk", Created: time.Now().Unix(), Model: req.Model,
			SystemFingerprint: "fp_fake", Choices: []chunkChoice{{Index: 0, Delta: d, FinishReason: finish}},
		})
		return send(data)
	}
	empty := ""
	if !sendChunk(delta{Role: "assistant", Content: &empty}, nil) {
		return
	}
	first := true
	pace := func() bool {
		if first {
			first = false
			return true
		}
		return f.wait(r, stop, resp.ChunkDelay)
	}
	for _, p := range pieces {
		if !pace() || !sendChunk(delta{Content: &p}, nil) {
			return
		}
	}
	for i, c := range calls {
		head := toolCallDelta{Index: i, ID: c.ID, Type: c.Type, Function: functionDelta{Name: c.Function.Name}}
		if !pace() || !sendChunk(delta{ToolCalls: []toolCallDelta{head}}, nil) {
			return
		}
		for _, piece := range split(c.Function.Arguments, resp.ArgumentsPiece) {
			more := toolCallDelta{Index: i, Function: functionDelta{Arguments: piece}}
			if !pace() || !sendChunk(delta{ToolCalls: []toolCallDelta{more}}, nil) {
				return
			}
		}
	}
	switch {
	case resp.Abort:
		panic(http.ErrAbortHandler)
	case resp.Error.Message != "":
		data, _ := json.Marshal(errorBody{Error: resp.Error})
		send(data)
		return
	}
	if !sendChunk(delta{}, &reason) {
		return
	}
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		data, _ := json.Marshal(chunk{
			ID: id, Object: "chat.completion.chunk", Created: time.Now().Unix(), Model: req.Model,
			SystemFingerprint: "fp_fake", Choices: []chunkChoice{}, Usage: &use,
		})
		if !send(data) {
			return
		}
	}
	send([]byte("[DONE]"))
}

// split cuts s into pieces of n characters (DefaultArgumentsPiece when n
// is not positive), never inside a UTF-8 sequence.
func split(s string, n int) []string {
	if n <= 0 {
		n = DefaultArgumentsPiece
	}
	var out []string
	for s != "" {
		end, count := 0, 0
		for end < len(s) && count < n {
			_, size := utf8.DecodeRuneInString(s[end:])
			end += size
			count++
		}
		out = append(out, s[:end])
		s = s[end:]
	}
	return out
}

// wait sleeps for d; it returns false, counting a cancelled answer, if the
// client went away or the fake was closed first.
func (f *Fake) wait(r *http.Request, stop <-chan struct{}, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-r.Context().Done():
	case <-stop:
	}
	f.cancel()
	return false
}

func (f *Fake) cancel() {
	f.mu.Lock()
	f.canceled++
	f.mu.Unlock()
}

func (f *Fake) embed(w http.ResponseWriter, r *http.Request) {
	var req EmbeddingRequest
	body, ok := readJSON(w, r, &req)
	if !ok {
		return
	}
	req.Body, req.Authorization = body, r.Header.Get("Authorization")
	if req.Model == "" {
		badRequest(w, "", "you must provide a model parameter")
		return
	}
	f.mu.Lock()
	f.embeds = append(f.embeds, req)
	embedder := f.Embedder
	f.mu.Unlock()

	inputs := req.Inputs()
	switch {
	case len(inputs) == 0:
		badRequest(w, "input", "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.")
		return
	case req.EncodingFormat != "" && req.EncodingFormat != "float" && req.EncodingFormat != "base64":
		badRequest(w, "encoding_format", fmt.Sprintf("Invalid value: '%s'. Supported values are: 'float' and 'base64'.", req.EncodingFormat))
		return
	}
	if !f.hasModel(req.Model) {
		resp := ModelNotFound(req.Model)
		writeError(w, resp.Status, resp.Error)
		return
	}
	if embedder == nil {
		embedder = defaultEmbedding
	}
	out := embeddingList{Object: "list", Data: []embedding{}, Model: req.Model}
	for i, text := range inputs {
		var v any = embedder(text)
		if req.EncodingFormat == "base64" {
			v = encodeBase64(embedder(text))
		}
		out.Data = append(out.Data, embedding{Object: "embedding", Index: i, Embedding: v})
		out.Usage.PromptTokens += len(strings.Fields(text))
	}
	out.Usage.TotalTokens = out.Usage.PromptTokens
	writeJSON(w, http.StatusOK, out)
}

// encodeBase64 is the "base64" encoding of a vector: its float32s, little
// endian.
func encodeBase64(v []float32) string {
	buf := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(x))
	}
	return base64.StdEncoding.EncodeToString(buf)
}

// defaultEmbedding derives a unit vector from the text, the same every time.
func defaultEmbedding(text string) []float32 {
	v := make([]float32, DefaultEmbedDim)
	var norm float64
	for i := range v {
		x := float64(hash(fmt.Sprintf("%d:%s", i, text))%2001)/1000 - 1
		v[i] = float32(x)
		norm += x * x
	}
	if norm == 0 {
		v[0] = 1
		return v
	}
	for i := range v {
		v[i] = float32(float64(v[i]) / math.Sqrt(norm))
	}
	return v
}

func hash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // a client that went away is not the fake's concern
}

func writeError(w http.ResponseWriter, status int, e APIError) {
	writeJSON(w, status, errorBody{Error: e})
}
