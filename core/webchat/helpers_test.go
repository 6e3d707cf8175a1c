package webchat

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/engine"
	"github.com/switchboard-chat/switchboard/core/httpapi"
	"github.com/switchboard-chat/switchboard/core/internal/apitest"
	"github.com/switchboard-chat/switchboard/core/live"
	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

// clock is the test's clock for the rate limits.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// noChannels: the engine has no plugins; "web" delivers nothing anyway.
type noChannels struct{}

func (noChannels) Channel(string) (sdk.Channel, bool, error)    { return nil, false, nil }
func (noChannels) Capabilities(string) (sdk.Capabilities, bool) { return sdk.Capabilities{}, false }
func (noChannels) Desk(string) (sdk.Desk, bool, error)          { return nil, false, nil }

// fakeModel answers every turn with its text, after release is closed
// (nil: at once).
type fakeModel struct {
	text    string
	release chan struct{}
}

func (m *fakeModel) LLM() (sdk.LLM, error) { return m, nil }
func (m *fakeModel) Configure(context.Context, sdk.ConfigureRequest) (sdk.LLMInfo, error) {
	return sdk.LLMInfo{}, nil
}
func (m *fakeModel) Embed(context.Context, []string) ([][]float32, error) { return nil, nil }
func (m *fakeModel) Chat(ctx context.Context, _ sdk.ChatRequest, s sdk.ChatStream) error {
	if m.release != nil {
		select {
		case <-m.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.Send(sdk.ChatChunk{Text: m.text, Done: true})
}

// env is a web chat on a real store and engine, served over HTTP.
type env struct {
	t      *testing.T
	URL    string
	client *http.Client
	st     *store.Store
	eng    *engine.Engine
	hub    *live.Hub
	clock  *clock
	// stop ends the chat's Run, as a daemon shutting down does.
	stop context.CancelFunc
}

// setup is what options change before the chat starts.
type setup struct {
	cfg    Config
	models engine.Models
	http2  bool
}

type option func(*setup)

// overHTTP2 serves the chat over TLS with HTTP/2, as a daemon with
// server.tls_cert does.
func overHTTP2(s *setup) { s.http2 = true }

func withModel(m *fakeModel) option { return func(s *setup) { s.models = m } }

func withConfig(f func(*Config)) option { return func(s *setup) { f(&s.cfg) } }

func newEnv(t *testing.T, opts ...option) *env {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "switchboard.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	e := &env{t: t, st: st, hub: live.NewHub(), clock: &clock{now: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)}}
	set := setup{cfg: Config{
		Title: "ACME support", Color: "#4f46e5", MaxMessageChars: 50,
		AllowedOrigins: []string{"https://shop.example.com"}, IdentitySecret: "0123456789abcdef-secret",
		Now: e.clock.Now,
	}}
	ecfg := engine.Config{
		Rules: conversation.Policy{
			Desk: conversation.ConsoleDesk, Keywords: []string{"human"}, MaxBotFailures: 2,
			QueueTimeout: time.Hour, ReturnToBot: true, Rating: conversation.RatingPolicy{Ask: true, Window: 24 * time.Hour},
			Messages: conversation.Messages{
				RateAsk: "How would you rate the help you got?", RateThanks: "Thank you for your rating!",
				Handoff: "I'm connecting you with a colleague, one moment please.", Fallback: "Sorry, I can't answer that right now.",
				Cancel: "OK, you're back with the assistant.", Closed: "Our colleague has ended the conversation. I'm here if you need anything else.",
			},
		},
		HistoryMessages: 10, Concurrency: 2,
		Thinking: func(id string, on bool) {
			e.hub.Publish(live.Signal{Kind: live.Typing, ConversationID: id, From: live.FromBot, Data: on})
		},
	}
	for _, o := range opts {
		o(&set)
	}
	e.eng = engine.New(ecfg, st, noChannels{}, set.models, log)
	ctx, cancel := context.WithCancel(context.Background())
	e.stop = cancel
	if err := e.eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	wc, err := New(set.cfg, st, e.eng, e.hub, log)
	if err != nil {
		t.Fatal(err)
	}
	runDone := make(chan struct{})
	go func() { wc.Run(ctx); close(runDone) }()
	srv := httptest.NewUnstartedServer(wc)
	if set.http2 {
		srv.EnableHTTP2 = true
		srv.StartTLS()
	} else {
		srv.Start()
	}
	e.URL, e.client = srv.URL, srv.Client()
	e.client.Transport = apitest.New(t, httpapi.OpenAPI()).Transport(e.client.Transport)
	t.Cleanup(func() {
		cancel() // ends the event streams first, as the daemon does
		<-runDone
		srv.Close()
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		e.eng.Stop(sctx)
		st.Close()
	})
	return e
}

// response is an answer with its decoded JSON body.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r response) errorCode() string {
	if e, ok := r.body["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		return s
	}
	return ""
}

// request sends a request with the visitor's token (if any) and headers
// given as "Name: value".
func (e *env) request(method, path, token, body string, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, raw: string(data)}
	_ = json.Unmarshal(data, &r.body)
	return r
}

// visitor is a started chat.
type visitor struct {
	token, conv string
}

func (e *env) session(body string) visitor {
	e.t.Helper()
	r := e.request("POST", "/w/v1/session", "", body)
	if r.status != http.StatusOK {
		e.t.Fatalf("session %s: %d %s", body, r.status, r.raw)
	}
	return visitor{token: r.body["visitor_token"].(string), conv: r.body["conversation_id"].(string)}
}

func (e *env) send(v visitor, clientID, text string) response {
	e.t.Helper()
	body, _ := json.Marshal(map[string]string{"client_id": clientID, "text": text})
	return e.request("POST", "/w/v1/messages", v.token, string(body))
}

// transcript is every stored message of the conversation, private ones
// included.
func (e *env) transcript(convID string) []store.Message {
	e.t.Helper()
	msgs, err := e.st.Messages(convID, 0, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return msgs
}

// onlyConversation is the ID of the one conversation there is.
func (e *env) onlyConversation() string {
	e.t.Helper()
	cs, err := e.st.ListConversations("", 0)
	if err != nil || len(cs) != 1 {
		e.t.Fatalf("conversations %+v %v, want one", cs, err)
	}
	return cs[0].ID
}

// visitorLines are the texts the visitor wrote in the conversation.
func (e *env) visitorLines(convID string) []string {
	e.t.Helper()
	var out []string
	for _, m := range e.transcript(convID) {
		if m.Role == conversation.RoleVisitor {
			out = append(out, m.Text)
		}
	}
	return out
}

// event is one server-sent event.
type event struct {
	id, typ string
	data    map[string]any
}

func (ev event) seq() uint64 {
	n, _ := strconv.ParseUint(ev.id, 10, 64)
	return n
}

// stream is an open event stream.
type stream struct {
	t      *testing.T
	events chan event
	cancel context.CancelFunc
	done   chan struct{} // closed when the server ended the stream
	proto  int           // the HTTP major version it runs on
}

// open connects to the visitor's event stream, resuming after lastID when
// it is not empty.
func (e *env) open(v visitor, lastID string) *stream {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", e.URL+"/w/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+v.token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		cancel()
		e.t.Fatalf("events: %d", resp.StatusCode)
	}
	s := &stream{t: e.t, events: make(chan event, 256), cancel: cancel, done: make(chan struct{}), proto: resp.ProtoMajor}
	go func() {
		defer close(s.done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var ev event
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.typ != "" {
					s.events <- ev
				}
				ev = event{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.typ = line[7:]
			case strings.HasPrefix(line, "data: "):
				json.Unmarshal([]byte(line[6:]), &ev.data)
			}
		}
	}()
	e.t.Cleanup(s.close)
	return s
}

func (s *stream) close() {
	s.cancel()
	<-s.done
}

// next returns the next event, failing the test after a long wait.
func (s *stream) next() event {
	s.t.Helper()
	select {
	case ev := <-s.events:
		return ev
	case <-time.After(10 * time.Second):
		s.t.Fatal("no event within 10 s")
		return event{}
	}
}

// until returns the events up to and including the first one ok accepts.
func (s *stream) until(ok func(event) bool) []event {
	s.t.Helper()
	var out []event
	for {
		ev := s.next()
		out = append(out, ev)
		if ok(ev) {
			return out
		}
	}
}

func isState(state string) func(event) bool {
	return func(ev event) bool { return ev.typ == eventState && ev.data["state"] == state }
}

func messages(evs []event) []event {
	var out []event
	for _, ev := range evs {
		if ev.typ == eventMessage {
			out = append(out, ev)
		}
	}
	return out
}
