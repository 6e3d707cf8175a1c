package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/plugins/ollama/ollamatest"
	tt "github.com/switchboard-chat/switchboard/plugins/telegram/telegramtest"
)

// fakeCRM answers lookups: it holds each one until released, and fails
// the first failures lookups of a user.
type fakeCRM struct {
	mu       sync.Mutex
	release  chan struct{}
	failures map[string]int
	calls    map[string]int
}

func (f *fakeCRM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Channel string `json:"channel"`
		User    struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	body, _ := io.ReadAll(r.Body)
	json.Unmarshal(body, &req)
	f.mu.Lock()
	f.calls[req.User.ID]++
	fail := f.calls[req.User.ID] <= f.failures[req.User.ID]
	f.mu.Unlock()
	select {
	case <-f.release:
	case <-r.Context().Done():
		return
	}
	if fail {
		http.Error(w, "CRM down", http.StatusBadGateway)
		return
	}
	fmt.Fprintf(w, `{"name":"Customer %s","email":"c%s@example.com","tier":"gold","fields":{"channel":%q,"orders":3}}`, req.User.ID, req.User.ID, req.Channel)
}

func (f *fakeCRM) count(user string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[user]
}

type profiled struct {
	ID      string `json:"id"`
	Profile *struct {
		Name string `json:"name"`
		Tier string `json:"tier"`
	} `json:"profile"`
}

// A CRM that does not answer holds nothing up: the bot answers while the
// lookup waits; once it answers, the profile is shown with the
// conversation and given to the model. A CRM that fails is logged.
func TestCRMLookup(t *testing.T) {
	fake := tt.NewServer(t, tgToken)
	crm := &fakeCRM{release: make(chan struct{}), failures: map[string]int{"5550302": 1}, calls: map[string]int{}}
	model := ollamatest.New(model)
	model.Reply = func(r ollamatest.ChatRequest) ollamatest.Response {
		return ollamatest.Text("You said: " + r.LastUser())
	}
	d := startDaemon(t, llmConfig(model.Start(t))+telegramChannel(fake.URL(), "webhook")+fmt.Sprintf(`
[crm]
lookup_url = %q
timeout = "60s"
share_with_model = true
`, newServer(t, crm)))
	ann := tt.Visitor(5550301, "Ann")

	// The CRM holds the lookup; the bot answers all the same.
	postTelegram(t, d, tt.TextUpdate(fake.NextUpdateID(), ann, "hello"))
	if got := fake.WaitSent(t, ann.ID, 1, 30*time.Second); got[0].Text != "You said: hello" {
		t.Fatalf("answer %q", got[0].Text)
	}
	if crm.count("5550301") != 1 {
		t.Fatalf("the CRM was asked %d times, want once (and still holding it)", crm.count("5550301"))
	}
	close(crm.release)

	var convs struct {
		Conversations []profiled `json:"conversations"`
	}
	deadline := time.Now().Add(30 * time.Second)
	var conv profiled
	for conv.Profile == nil {
		if time.Now().After(deadline) {
			t.Fatalf("no profile: %+v", convs)
		}
		d.do("GET", "/v1/conversations", nil, &convs)
		for _, c := range convs.Conversations {
			if c.Profile != nil && c.Profile.Name == "Customer 5550301" {
				conv = c
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if conv.Profile.Tier != "gold" {
		t.Errorf("profile %+v", conv.Profile)
	}

	// The next turn's model request carries the profile.
	postTelegram(t, d, tt.TextUpdate(fake.NextUpdateID(), ann, "what is my tier?"))
	fake.WaitSent(t, ann.ID, 2, 30*time.Second)
	last, _ := model.LastRequest()
	if len(last.Messages) == 0 || last.Messages[0].Role != "system" || !strings.Contains(last.Messages[0].Content, "tier: gold") {
		t.Errorf("the model was not given the profile: %+v", last.Messages)
	}

	// A failing lookup is logged and the conversation goes on; it is
	// tried again a minute later (the crm package's tests show the retry).
	bob := tt.Visitor(5550302, "Bob")
	postTelegram(t, d, tt.TextUpdate(fake.NextUpdateID(), bob, "hi"))
	fake.WaitSent(t, bob.ID, 1, 30*time.Second)
	deadline = time.Now().Add(30 * time.Second)
	for !strings.Contains(d.logs.String(), "customer lookup failed") {
		if time.Now().After(deadline) {
			t.Fatal("the failed lookup was not logged")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
