package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

const model = "qwen2.5:1.5b"

// llmConfig points the ollama plugin at host.
func llmConfig(host string) string {
	return fmt.Sprintf(`
[llm]
plugin = "ollama"
[llm.options]
host = %q
model = %q
timeout = "5s"

[bot]
gather_window = "0s"
`, host, model)
}

// fakeDesk is a help desk behind the webhook-desk plugin. As the plugin's
// contract asks, it answers a repeated Idempotency-Key as it answered the
// first call, without acting twice.
type fakeDesk struct {
	mu      sync.Mutex
	opened  []map[string]any
	relayed []map[string]any
	closed  []string
	seen    map[string]string // Idempotency-Key → ref answered
	URL     string
}

// repeat reports whether key was seen and the ref answered then; f.mu
// is held.
func (f *fakeDesk) repeat(key string) (string, bool) {
	ref, ok := f.seen[key]
	return ref, ok && key != ""
}

func newFakeDesk(t *testing.T) *fakeDesk {
	f := &fakeDesk{seen: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /handoffs", func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		key := r.Header.Get("Idempotency-Key")
		f.mu.Lock()
		ref, again := f.repeat(key)
		if !again {
			f.opened = append(f.opened, body)
			ref = fmt.Sprintf("T-%d", len(f.opened))
			f.seen[key] = ref
		}
		f.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]string{"ref": ref})
	})
	mux.HandleFunc("POST /handoffs/{ref}/messages", func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		key := r.Header.Get("Idempotency-Key")
		f.mu.Lock()
		if _, again := f.repeat(key); !again {
			f.relayed = append(f.relayed, body)
			f.seen[key] = ""
		}
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /handoffs/{ref}/close", func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		f.mu.Lock()
		if _, again := f.repeat(key); !again {
			f.closed = append(f.closed, r.PathValue("ref"))
			f.seen[key] = ""
		}
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	srv := newServer(t, mux)
	f.URL = srv
	return f
}

func (f *fakeDesk) openedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.opened)
}

func deskConfig(url string) string {
	return fmt.Sprintf(`
[channels.desk]
plugin = "webhook-desk"
[channels.desk.options]
desk_url = %q
secret = "desk-secret"

[handoff]
desk = "desk"
`, url)
}

// deskEvent posts an operator event to the desk plugin's webhook.
func deskEvent(t *testing.T, d *daemon, body string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", d.URL+"/webhooks/desk", strings.NewReader(body))
	req.Header.Set("X-Desk-Secret", "desk-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// apiConversation opens a REST conversation and returns its id.
func apiConversation(t *testing.T, d *daemon) string {
	t.Helper()
	var c conversation
	if code := d.do("POST", "/v1/conversations", `{"user":{"id":"u1","name":"Ann"}}`, &c); code != 201 {
		t.Fatalf("create conversation: %d", code)
	}
	return c.ID
}

func post(t *testing.T, d *daemon, id, text string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"text": text})
	if code := d.do("POST", "/v1/conversations/"+id+"/messages", string(body), nil); code != 202 {
		t.Fatalf("post message: %d", code)
	}
}

// waitMessages long-polls until the transcript has n messages.
func waitMessages(t *testing.T, d *daemon, id string, n int) []message {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var got struct {
			Messages []message `json:"messages"`
		}
		d.do("GET", "/v1/conversations/"+id+"/messages", nil, &got)
		if len(got.Messages) >= n {
			return got.Messages
		}
		if time.Now().After(deadline) {
			t.Fatalf("transcript has %d messages, want %d: %+v", len(got.Messages), n, got.Messages)
		}
		var more struct {
			Messages []message `json:"messages"`
		}
		after := ""
		if len(got.Messages) > 0 {
			after = "&after=" + got.Messages[len(got.Messages)-1].ID
		}
		d.do("GET", "/v1/conversations/"+id+"/messages?wait=2s"+after, nil, &more)
	}
}

type convState struct {
	ID      string `json:"id"`
	State   string `json:"state"`
	Handoff *struct {
		Cause    string `json:"cause"`
		Reason   string `json:"reason"`
		Operator string `json:"operator"`
	} `json:"handoff"`
}

func waitState(t *testing.T, d *daemon, id, state string) convState {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var c convState
		d.do("GET", "/v1/conversations/"+id, nil, &c)
		if c.State == state {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("conversation %s is %s, want %s", id, c.State, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func texts(msgs []message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Role+": "+m.Text)
	}
	return out
}

func TestModelReplyReachesTheTranscript(t *testing.T) {
	forEachModel(t, func(t *testing.T, m modelPlugin) {
		fake := m.start(t, func() answer { return answer{chunks: []string{"Your order ", "ships ", "today."}} })
		d := startDaemon(t, fake.Config())
		id := apiConversation(t, d)
		post(t, d, id, "where is my order?")
		msgs := waitMessages(t, d, id, 2)
		if got := texts(msgs); got[0] != "visitor: where is my order?" || got[1] != "bot: Your order ships today." {
			t.Fatalf("transcript %q", got)
		}
		req, _ := fake.LastChat()
		if req.Model != fake.Model() || len(req.Tools) != 1 || req.Tools[0] != "transfer_to_human" || req.LastUser != "where is my order?" {
			t.Errorf("the model server got %+v", req)
		}
	})
}

func TestHandoffDecisions(t *testing.T) {
	tests := []struct {
		name      string
		reply     func() answer
		messages  []string
		cause     string
		reason    string // the handoff's reason, when it is the model's
		calls     int
		serverOff bool // the model server is down
		noModel   bool // the model server lacks the model
	}{
		{
			name: "tool call",
			reply: func() answer {
				return answer{call: "transfer_to_human", args: map[string]any{"reason": "refund above my limit"}}
			},
			messages: []string{"refund 5000 please"}, cause: "tool", reason: "refund above my limit", calls: 1,
		},
		{name: "keyword", reply: func() answer { return say("no") },
			messages: []string{"人工"}, cause: "keyword", calls: 0},
		{name: "two failed turns", reply: func() answer { return say("") },
			messages: []string{"a", "b"}, cause: "failures", calls: 2},
		{name: "model server down", messages: []string{"hello"}, cause: "llm_down", serverOff: true},
		{name: "model missing", messages: []string{"hello"}, cause: "llm_down", noModel: true, calls: 1},
	}
	forEachModel(t, func(t *testing.T, m modelPlugin) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				fake := m.start(t, tt.reply)
				desk := newFakeDesk(t)
				d := startDaemon(t, fake.Config()+deskConfig(desk.URL))
				switch {
				case tt.serverOff:
					fake.Close()
				case tt.noModel:
					fake.SetModels("some-other-model")
				}
				id := apiConversation(t, d)
				for i, msg := range tt.messages {
					post(t, d, id, msg)
					waitMessages(t, d, id, 2*(i+1))
				}
				c := waitState(t, d, id, "waiting_human")
				if c.Handoff == nil || c.Handoff.Cause != tt.cause {
					t.Fatalf("handoff %+v, want cause %s", c.Handoff, tt.cause)
				}
				if tt.reason != "" && c.Handoff.Reason != tt.reason {
					t.Errorf("handoff reason %q, want %q", c.Handoff.Reason, tt.reason)
				}
				if !tt.serverOff && fake.Calls() != tt.calls {
					t.Errorf("%d model calls, want %d", fake.Calls(), tt.calls)
				}
				if tt.noModel && !strings.Contains(c.Handoff.Reason, fmt.Sprintf("model %q is not available", fake.Model())) {
					t.Errorf("handoff reason %q does not say the model is missing", c.Handoff.Reason)
				}
				deadline := time.Now().Add(10 * time.Second)
				for desk.openedCount() == 0 && time.Now().Before(deadline) {
					time.Sleep(20 * time.Millisecond)
				}
				if desk.openedCount() != 1 {
					t.Fatal("the desk did not get the handoff")
				}
				tr, _ := json.Marshal(desk.opened[0]["transcript"])
				if !strings.Contains(string(tr), tt.messages[0]) {
					t.Errorf("desk transcript %s lacks %q", tr, tt.messages[0])
				}
			})
		}
	})
}

// A model server that is down, or lacks the model, makes /readyz answer 503
// with the plugin up and its backend's problem spelled out.
func TestModelServerProblemsShowInReadyz(t *testing.T) {
	tests := []struct {
		name    string
		break_  func(modelFake)
		backend func(modelFake) string // what the backend status must contain
	}{
		{"server down", modelFake.Close, func(modelFake) string { return "unreachable" }},
		{"model missing", func(f modelFake) { f.SetModels("some-other-model") },
			func(f modelFake) string { return fmt.Sprintf("model %q is not available", f.Model()) }},
	}
	forEachModel(t, func(t *testing.T, m modelPlugin) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel() // each waits for a health check
				fake := m.start(t, nil)
				d := startDaemon(t, fake.Config())
				tt.break_(fake)
				want := tt.backend(fake)
				deadline := time.Now().Add(20 * time.Second)
				for {
					var r struct {
						Status  string `json:"status"`
						Plugins []struct {
							Instance, State, Backend string
						} `json:"plugins"`
					}
					code := d.do("GET", "/readyz", nil, &r)
					if code == 503 {
						for _, p := range r.Plugins {
							if p.Instance == "llm" && p.State == "up" && strings.Contains(p.Backend, want) {
								return
							}
						}
					}
					if time.Now().After(deadline) {
						t.Fatalf("readyz %d %+v, want the llm backend to say %q", code, r, want)
					}
					time.Sleep(200 * time.Millisecond)
				}
			})
		}
	})
}

func TestThreeQuickMessagesOneModelCall(t *testing.T) {
	forEachModel(t, func(t *testing.T, m modelPlugin) {
		fake := m.start(t, func() answer { return say("one answer for all") })
		cfg := strings.Replace(fake.Config(), `gather_window = "0s"`, `gather_window = "500ms"`, 1)
		d := startDaemon(t, cfg)
		id := apiConversation(t, d)
		for _, msg := range []string{"hi", "my order", "is late"} {
			post(t, d, id, msg)
		}
		msgs := waitMessages(t, d, id, 4)
		time.Sleep(700 * time.Millisecond)
		if fake.Calls() != 1 {
			t.Fatalf("%d model calls, want 1", fake.Calls())
		}
		if got := texts(msgs); got[3] != "bot: one answer for all" {
			t.Errorf("transcript %q", got)
		}
	})
}

// A visitor's conversation goes to the desk with its transcript, survives a
// daemon crash in the middle of the handoff, and the operator's reply
// reaches the visitor.
func TestDeskHandoffSurvivesRestart(t *testing.T) {
	forEachModel(t, func(t *testing.T, m modelPlugin) {
		fake := m.start(t, func() answer { return say("I can help with that.") })
		desk := newFakeDesk(t)
		target := newFakeTarget(t)
		d := startDaemon(t, fake.Config()+deskConfig(desk.URL)+echoChannel(target.URL))

		postWebhook(t, d.URL, "demo", `{"id":"v1","chat":"room-9","user":"u9","name":"Ann","text":"hello"}`)
		postWebhook(t, d.URL, "demo", `{"id":"v2","chat":"room-9","user":"u9","name":"Ann","text":"I want a human"}`)
		deadline := time.Now().Add(10 * time.Second)
		for desk.openedCount() == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if desk.openedCount() != 1 {
			t.Fatal("the desk did not get the handoff")
		}
		opened := desk.opened[0]
		tr, _ := json.Marshal(opened["transcript"])
		for _, want := range []string{"hello", "I can help with that.", "I want a human"} {
			if !strings.Contains(string(tr), want) {
				t.Errorf("desk transcript lacks %q: %s", want, tr)
			}
		}
		convID := opened["conversation_id"].(string)

		d.kill()
		d.start()

		if code := deskEvent(t, d, `{"id":"op1","type":"operator_joined","ref":"T-1","operator":"Bob"}`); code != 200 {
			t.Fatalf("desk webhook %d", code)
		}
		deskEvent(t, d, `{"id":"op2","type":"operator_message","ref":"T-1","operator":"Bob","text":"Hi Ann, Bob here."}`)
		c := waitState(t, d, convID, "human")
		if c.Handoff.Operator != "Bob" {
			t.Errorf("handoff %+v", c.Handoff)
		}
		msgs := waitMessages(t, d, convID, 6)
		if got := texts(msgs); !strings.Contains(strings.Join(got, "\n"), "operator: Hi Ann, Bob here.") {
			t.Errorf("transcript %q", got)
		}
		deadline = time.Now().Add(10 * time.Second)
		for {
			found := false
			for _, r := range target.received() {
				found = found || r["text"] == "echo: Hi Ann, Bob here."
			}
			if found {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the visitor's channel got %v", target.received())
			}
			time.Sleep(20 * time.Millisecond)
		}

		// The visitor's next message goes to the desk, not the model.
		calls := fake.Calls()
		postWebhook(t, d.URL, "demo", `{"id":"v3","chat":"room-9","user":"u9","text":"thanks Bob"}`)
		deadline = time.Now().Add(10 * time.Second)
		for {
			desk.mu.Lock()
			n := len(desk.relayed)
			desk.mu.Unlock()
			if n == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("visitor message not relayed to the desk")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if fake.Calls() != calls {
			t.Error("the model was asked during the handoff")
		}
		deskEvent(t, d, `{"id":"op3","type":"closed","ref":"T-1","operator":"Bob"}`)
		waitState(t, d, convID, "bot")
	})
}

func TestAPIHandoffAndClose(t *testing.T) {
	d := startDaemon(t, "")
	id := apiConversation(t, d)
	var c convState
	if code := d.do("POST", "/v1/conversations/"+id+"/handoff", `{"reason":"VIP customer"}`, &c); code != 200 {
		t.Fatalf("handoff: %d", code)
	}
	if c.State != "waiting_human" || c.Handoff.Cause != "api" || c.Handoff.Reason != "VIP customer" {
		t.Fatalf("after handoff: %+v", c)
	}
	var list struct {
		Conversations []conversation `json:"conversations"`
	}
	d.do("GET", "/v1/conversations?state=waiting_human", nil, &list)
	if len(list.Conversations) != 1 || list.Conversations[0].ID != id {
		t.Fatalf("waiting list %+v", list)
	}
	if code := d.do("POST", "/v1/conversations/"+id+"/close", nil, &c); code != 200 || c.State != "closed" {
		t.Fatalf("close: %d %+v", code, c)
	}
	var ts struct {
		Transitions []struct{ From, To, Cause string } `json:"transitions"`
	}
	d.do("GET", "/v1/conversations/"+id+"/transitions", nil, &ts)
	if len(ts.Transitions) != 2 || ts.Transitions[1].Cause != "api" || ts.Transitions[1].To != "closed" {
		t.Errorf("transitions %+v", ts.Transitions)
	}
}
