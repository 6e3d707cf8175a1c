// Package ollamatest is a fake Ollama server for tests, written from Ollama's
// API documentation. It answers POST /api/chat (streamed NDJSON, or one
// object with "stream": false), POST /api/embed, GET /api/version,
// GET /api/tags and GET or HEAD / ("Ollama is running"). Each test scripts
// the answers ([Fake.Reply]) and inspects what the client sent
// ([Fake.Requests]).
//
//	f := ollamatest.New("qwen2.5:1.5b")
//	f.Reply = func(req ollamatest.ChatRequest) ollamatest.Response {
//		return ollamatest.Text("Hello there!")
//	}
//	url := f.Start(t)
//
// The package needs only the standard library.
package ollamatest

import (
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
)

// DefaultVersion is what /api/version reports unless [Fake.Version] is set.
const DefaultVersion = "0.17.4"

// DefaultEmbedDim is the size of the vectors of the default embedder.
const DefaultEmbedDim = 8

// Response scripts the fake's answer to one chat request.
type Response struct {
	// Text is the answer. A streamed answer sends it in pieces of one word
	// each (with the space that follows it), unless Chunks is set.
	Text string
	// Chunks, when set, are the streamed pieces of the answer, sent as they
	// are; Text is then ignored.
	Chunks []string
	// ToolCalls are sent in one chunk after the text (in the message itself
	// when the request is not streamed).
	ToolCalls []ToolCall
	// DoneReason is the final chunk's done_reason; default "stop".
	DoneReason string

	// Status, when 400 or more, makes the answer an error: this HTTP status
	// with {"error": Error} (Error defaults to the status text).
	Status int
	// Error, with Status 0, is an error in the middle of the answer: the
	// pieces are sent, then {"error": Error} instead of the final chunk,
	// with status 200 as documented. A request that is not streamed gets
	// status 500 instead.
	Error string

	// Delay is the wait before the answer starts, headers included. The
	// fake gives up waiting if the client goes away or the fake is closed.
	Delay time.Duration
	// ChunkDelay is the wait before each streamed piece after the first.
	ChunkDelay time.Duration
	// Abort drops the connection after the pieces, without the final
	// chunk, as a server that crashed mid-answer would.
	Abort bool
}

// Text is an answer with the given text.
func Text(s string) Response { return Response{Text: s} }

// Call is an answer calling one tool with the given arguments (anything
// that encodes as a JSON object; nil means {}).
func Call(name string, args any) Response {
	if args == nil {
		args = map[string]any{}
	}
	raw, err := json.Marshal(args)
	if err != nil {
		panic(fmt.Sprintf("ollamatest.Call(%q): encode arguments: %v", name, err))
	}
	return Response{ToolCalls: []ToolCall{{Function: ToolCallFunction{Name: name, Arguments: raw}}}}
}

// Fail is an error answer with the given HTTP status and message.
func Fail(status int, msg string) Response { return Response{Status: status, Error: msg} }

// ModelNotFound is the answer Ollama gives for a model it does not have.
func ModelNotFound(model string) Response {
	return Fail(http.StatusNotFound, fmt.Sprintf("model '%s' not found", model))
}

// Fake is a fake Ollama server. Set its fields before Start; once it runs,
// change them only through SetReply and SetModels. Its methods are safe for
// concurrent use. It is also an [http.Handler], for tests that run their
// own server.
type Fake struct {
	// Reply scripts the answer to each chat request. Nil answers
	// "You said: <last user message>". It runs without the fake's lock
	// held, so it may call the fake's methods.
	Reply func(req ChatRequest) Response
	// Models are the installed models, listed by /api/tags ("name" without
	// a tag means "name:latest"). A chat or embed request for another model
	// gets 404 {"error":"model '…' not found"}. When empty, every model is
	// accepted and /api/tags lists none.
	Models []string
	// Embedder returns the vector for one text. Nil gives deterministic unit
	// vectors of DefaultEmbedDim numbers derived from the text.
	Embedder func(text string) []float32
	// Version is what /api/version reports; default DefaultVersion.
	Version string

	mu       sync.Mutex
	chats    []ChatRequest
	embeds   []EmbedRequest
	hits     map[string]int
	canceled int
	srv      *httptest.Server
	stop     chan struct{}
}

// New returns a fake that has the given models installed.
func New(models ...string) *Fake { return &Fake{Models: models} }

// SetReply replaces the chat script while the fake runs.
func (f *Fake) SetReply(reply func(req ChatRequest) Response) {
	f.mu.Lock()
	f.Reply = reply
	f.mu.Unlock()
}

// SetModels replaces the installed models while the fake runs, for example
// to simulate "ollama pull" or "ollama rm".
func (f *Fake) SetModels(models ...string) {
	f.mu.Lock()
	f.Models = models
	f.mu.Unlock()
}

// Start serves the fake on a free port of 127.0.0.1 and returns its base
// URL (http://127.0.0.1:port). The fake is closed when the test ends; t may
// be nil, and then the caller must Close it.
func (f *Fake) Start(t testing.TB) string { return f.StartAt(t, "127.0.0.1:0") }

// StartAt serves the fake on addr (host:port), for example the address of a
// fake that was closed, to simulate Ollama coming back. It fails the test
// (or panics when t is nil) if addr cannot be listened on.
func (f *Fake) StartAt(t testing.TB, addr string) string {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		if t == nil {
			panic(fmt.Sprintf("ollamatest: listen on %s: %v", addr, err))
		}
		t.Helper()
		t.Fatalf("ollamatest: listen on %s: %v", addr, err)
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
		panic("ollamatest: Start on a fake that is already running")
	}
	f.srv, f.stop = srv, make(chan struct{})
	f.mu.Unlock()
	srv.Start()
	if t != nil {
		t.Cleanup(f.Close)
	}
	return srv.URL
}

// URL returns the base URL of the running fake, or "" when it is stopped.
func (f *Fake) URL() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.srv == nil {
		return ""
	}
	return f.srv.URL
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
// those that were answered with an error.
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

// Calls returns the number of chat requests received so far.
func (f *Fake) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.chats)
}

// Embeds returns the embed requests received so far, in order.
func (f *Fake) Embeds() []EmbedRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]EmbedRequest(nil), f.embeds...)
}

// Hits returns how many requests of any method reached path ("/api/chat",
// "/api/version", "/", …).
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

// ServeHTTP answers one request like Ollama.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	if f.hits == nil {
		f.hits = map[string]int{}
	}
	f.hits[r.URL.Path]++
	f.mu.Unlock()

	route := func(methods ...string) bool {
		for _, m := range methods {
			if r.Method == m {
				return true
			}
		}
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
		return false
	}
	switch r.URL.Path {
	case "/":
		if route(http.MethodGet, http.MethodHead) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusOK)
			if r.Method == http.MethodGet {
				io.WriteString(w, "Ollama is running")
			}
		}
	case "/api/version":
		if route(http.MethodGet, http.MethodHead) {
			writeJSON(w, http.StatusOK, map[string]string{"version": f.version()})
		}
	case "/api/tags":
		if route(http.MethodGet, http.MethodHead) {
			writeJSON(w, http.StatusOK, f.tags())
		}
	case "/api/chat":
		if route(http.MethodPost) {
			f.chat(w, r)
		}
	case "/api/embed":
		if route(http.MethodPost) {
			f.embed(w, r)
		}
	default:
		http.Error(w, "404 page not found", http.StatusNotFound)
	}
}

func (f *Fake) version() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Version == "" {
		return DefaultVersion
	}
	return f.Version
}

func (f *Fake) tags() tagsResponse {
	f.mu.Lock()
	models := append([]string(nil), f.Models...)
	f.mu.Unlock()
	out := tagsResponse{Models: []tagsModel{}}
	for _, m := range models {
		name := canonical(m)
		family, _, _ := strings.Cut(name, ":")
		out.Models = append(out.Models, tagsModel{
			Name:       name,
			Model:      name,
			ModifiedAt: "2025-05-10T08:06:48.639712648-07:00",
			Size:       986061892,
			Digest:     fmt.Sprintf("%064x", hash(name)),
			Details: modelDetails{
				Format: "gguf", Family: family, Families: []string{family},
				ParameterSize: "1.5B", QuantizationLevel: "Q4_K_M",
			},
		})
	}
	return out
}

// hasModel reports whether model is installed (always, when Models is
// empty).
func (f *Fake) hasModel(model string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.Models) == 0 {
		return true
	}
	for _, m := range f.Models {
		if canonical(m) == canonical(model) {
			return true
		}
	}
	return false
}

// canonical gives a model name its default tag.
func canonical(name string) string {
	if i := strings.LastIndex(name, "/"); !strings.Contains(name[i+1:], ":") {
		return name + ":latest"
	}
	return name
}

func (f *Fake) chat(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var req ChatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	req.Body = body
	if req.Model == "" {
		writeError(w, http.StatusBadRequest, "model is required")
		return
	}
	f.mu.Lock()
	f.chats = append(f.chats, req)
	reply, stop := f.Reply, f.stop
	f.mu.Unlock()

	if !f.hasModel(req.Model) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("model '%s' not found", req.Model))
		return
	}
	if len(req.Messages) == 0 {
		// Documented: an empty conversation loads (or with keep_alive 0,
		// unloads) the model.
		reason := "load"
		if ka := req.KeepAliveString(); ka == "0" || ka == "0s" {
			reason = "unload"
		}
		writeJSON(w, http.StatusOK, chatResponse{
			Model: req.Model, CreatedAt: now(), Message: Message{Role: "assistant"}, Done: true, DoneReason: reason,
		})
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
		msg := resp.Error
		if msg == "" {
			msg = http.StatusText(resp.Status)
		}
		writeError(w, resp.Status, msg)
		return
	}

	pieces := resp.Chunks
	if pieces == nil && resp.Text != "" {
		pieces = strings.SplitAfter(resp.Text, " ")
	}
	reason := resp.DoneReason
	if reason == "" {
		reason = "stop"
	}
	final := chatResponse{
		Model: req.Model, Message: Message{Role: "assistant"}, Done: true, DoneReason: reason,
		TotalDuration: 182242375, LoadDuration: 41295167, PromptEvalCount: 26,
		PromptEvalDuration: 24573166, EvalCount: len(pieces) + len(resp.ToolCalls), EvalDuration: 115959084,
	}

	if !req.Streaming() {
		if resp.Abort {
			panic(http.ErrAbortHandler)
		}
		if resp.Error != "" {
			writeError(w, http.StatusInternalServerError, resp.Error)
			return
		}
		final.CreatedAt = now()
		final.Message.Content = strings.Join(pieces, "")
		final.Message.ToolCalls = resp.ToolCalls
		writeJSON(w, http.StatusOK, final)
		return
	}

	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	send := func(v any) bool {
		line, _ := json.Marshal(v)
		if _, err := w.Write(append(line, '\n')); err != nil {
			f.cancel()
			return false
		}
		http.NewResponseController(w).Flush()
		return true
	}
	for i, p := range pieces {
		if i > 0 && !f.wait(r, stop, resp.ChunkDelay) {
			return
		}
		if !send(chatResponse{Model: req.Model, CreatedAt: now(), Message: Message{Role: "assistant", Content: p}}) {
			return
		}
	}
	if len(resp.ToolCalls) > 0 {
		if len(pieces) > 0 && !f.wait(r, stop, resp.ChunkDelay) {
			return
		}
		if !send(chatResponse{Model: req.Model, CreatedAt: now(), Message: Message{Role: "assistant", ToolCalls: resp.ToolCalls}}) {
			return
		}
	}
	switch {
	case resp.Abort:
		panic(http.ErrAbortHandler)
	case resp.Error != "":
		send(errorResponse{Error: resp.Error})
	default:
		final.CreatedAt = now()
		send(final)
	}
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
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var req EmbedRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	req.Body = body
	if req.Model == "" {
		writeError(w, http.StatusBadRequest, "model is required")
		return
	}
	f.mu.Lock()
	f.embeds = append(f.embeds, req)
	embedder := f.Embedder
	f.mu.Unlock()
	if !f.hasModel(req.Model) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("model '%s' not found", req.Model))
		return
	}
	if embedder == nil {
		embedder = defaultEmbedding
	}
	out := embedResponse{Model: req.Model, Embeddings: [][]float32{}, TotalDuration: 14143917, LoadDuration: 1019500}
	for _, text := range req.Inputs() {
		out.Embeddings = append(out.Embeddings, embedder(text))
		out.PromptEvalCount += len(strings.Fields(text))
	}
	writeJSON(w, http.StatusOK, out)
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

func now() string { return time.Now().UTC().Format(time.RFC3339Nano) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // a client that went away is not the fake's concern
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorResponse{Error: msg})
}
