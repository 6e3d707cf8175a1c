package integration

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	tt "github.com/switchboard-chat/switchboard/plugins/telegram/telegramtest"
)

// consoleConfig hands conversations to the built-in console.
const consoleConfig = `
[handoff]
desk = "console"

[console]
enabled = true
`

// operatorClient is an operator's browser session against the daemon.
type operatorClient struct {
	t    *testing.T
	d    *daemon
	http *http.Client
}

func newOperatorClient(t *testing.T, d *daemon) *operatorClient {
	jar, _ := cookiejar.New(nil)
	return &operatorClient{t: t, d: d, http: &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: checkedClient(t).Transport}}
}

func (o *operatorClient) do(method, path string, body, out any) int {
	o.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, o.d.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", o.d.URL) // as a browser on the console's page
	resp, err := o.http.Do(req)
	if err != nil {
		o.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			o.t.Fatalf("%s %s: decode %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

var setupURL = regexp.MustCompile(`setup_url="?(http://[^" ]+)`)

// A Telegram visitor asks for a person and is served from the console: the
// first administrator is made with the setup link from the log, a
// colleague with the CLI while the daemon runs; two operators claim at
// once and exactly one gets it; the reply reaches Telegram and the
// internal note never does; sessions survive a restart.
func TestTelegramVisitorServedFromTheConsole(t *testing.T) {
	fake := tt.NewServer(t, tgToken)
	d := startDaemon(t, llmConfig(echoModel(t))+telegramChannel(fake.URL(), "webhook")+consoleConfig)

	var m []string
	for deadline := time.Now().Add(10 * time.Second); m == nil && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		m = setupURL.FindStringSubmatch(d.logs.String()) // logged once serving
	}
	if m == nil {
		t.Fatalf("no setup link in the log:\n%s", d.logs)
	}
	link := m[1]
	if !strings.HasPrefix(link, d.URL+"/console/#setup=") {
		t.Fatalf("setup link %q", link)
	}
	token := link[strings.Index(link, "#setup=")+len("#setup="):]
	ann := newOperatorClient(t, d)
	var me struct {
		Operator struct{ ID, Name, Role string } `json:"operator"`
	}
	if code := ann.do("POST", "/op/v1/setup", map[string]string{"token": token, "email": "ann@example.com", "name": "Ann", "password": "ann's long password"}, &me); code != 200 || me.Operator.Role != "admin" {
		t.Fatalf("setup: %d %+v", code, me)
	}
	if code := newOperatorClient(t, d).do("POST", "/op/v1/setup", map[string]string{"token": token, "email": "eve@example.com", "name": "Eve", "password": "eve's long password"}, nil); code != 403 {
		t.Errorf("the setup link used again: %d, want 403", code)
	}

	cmd := exec.Command(filepath.Join(binDir, "switchboard"), "operator", "add", "--config", d.cfgPath,
		"--email", "bob@example.com", "--name", "Bob", "--role", "agent", "--password-stdin")
	cmd.Stdin = strings.NewReader("bob's long password\n")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "bob@example.com") {
		t.Fatalf("operator add while the daemon runs: %v\n%s", err, out)
	}
	bob := newOperatorClient(t, d)
	if code := bob.do("POST", "/op/v1/login", map[string]string{"email": "bob@example.com", "password": "bob's long password"}, nil); code != 200 {
		t.Fatalf("Bob's sign-in: %d", code)
	}

	visitor := tt.Visitor(5550100, "Mia")
	postTelegram(t, d, tt.TextUpdate(fake.NextUpdateID(), visitor, "my order never came"))
	fake.WaitSent(t, visitor.ID, 1, 15*time.Second)
	postTelegram(t, d, tt.TextUpdate(fake.NextUpdateID(), visitor, "I want to talk to a human"))
	fake.WaitSent(t, visitor.ID, 2, 15*time.Second)

	type convView struct {
		ID      string `json:"id"`
		State   string `json:"state"`
		Channel string `json:"channel"`
		Handoff struct {
			Cause    string `json:"cause"`
			Assignee string `json:"assignee"`
			Summary  string `json:"summary"`
		} `json:"handoff"`
	}
	var queue struct {
		Conversations []convView `json:"conversations"`
	}
	if code := ann.do("GET", "/op/v1/conversations?assignee=none", nil, &queue); code != 200 || len(queue.Conversations) != 1 {
		t.Fatalf("queue: %d %+v", code, queue)
	}
	conv := queue.Conversations[0]
	if conv.State != "waiting_human" || conv.Channel != "tg" || conv.Handoff.Cause != "keyword" || !strings.Contains(conv.Handoff.Summary, "Mia on tg") {
		t.Fatalf("waiting conversation %+v", conv)
	}
	base := "/op/v1/conversations/" + conv.ID

	codes := make(chan int, 2)
	var ready sync.WaitGroup
	ready.Add(1)
	for _, o := range []*operatorClient{ann, bob} {
		go func() {
			ready.Wait()
			codes <- o.do("POST", base+"/claim", nil, nil)
		}()
	}
	ready.Done()
	got := map[int]int{}
	for range 2 {
		got[<-codes]++
	}
	if got[200] != 1 || got[409] != 1 {
		t.Fatalf("two claims at once: %v, want one 200 and one 409", got)
	}
	var detail convView
	ann.do("GET", base, nil, &detail)
	holder := ann
	if detail.Handoff.Assignee != me.Operator.ID {
		holder = bob
	}

	if code := holder.do("POST", base+"/messages", map[string]any{"text": "Internal: check the courier first", "private": true}, nil); code != 202 {
		t.Fatalf("note: %d", code)
	}
	if code := holder.do("POST", base+"/messages", map[string]any{"text": "Hi Mia, I'm looking into your order now."}, nil); code != 202 {
		t.Fatalf("reply: %d", code)
	}
	sent := fake.WaitSent(t, visitor.ID, 3, 15*time.Second)
	if sent[2].Text != "Hi Mia, I'm looking into your order now." {
		t.Errorf("Telegram got %q, want the operator's reply", sent[2].Text)
	}

	// Sessions are stored: a restart keeps both operators signed in.
	d.stop()
	d.start()
	for name, o := range map[string]*operatorClient{"Ann": ann, "Bob": bob} {
		if code := o.do("GET", "/op/v1/me", nil, nil); code != 200 {
			t.Errorf("%s after a restart: %d, want still signed in", name, code)
		}
	}
	if code := holder.do("POST", base+"/close", nil, nil); code != 200 {
		t.Fatalf("close: %d", code)
	}
	sent = fake.WaitSent(t, visitor.ID, 4, 15*time.Second)
	for _, s := range sent {
		if strings.Contains(s.Text, "courier") {
			t.Errorf("the internal note reached Telegram: %q", s.Text)
		}
	}
	if !strings.Contains(sent[3].Text, "ended the conversation") {
		t.Errorf("closing message %q", sent[3].Text)
	}

	var audit struct {
		Entries []struct{ Action, Actor, Result string } `json:"entries"`
	}
	d.do("GET", "/v1/admin/audit?limit=1000", nil, &audit)
	seen := map[string]int{}
	for _, e := range audit.Entries {
		seen[e.Action]++
	}
	for _, want := range []string{"operator.add", "operator.login", "conversation.claim", "conversation.close"} {
		if seen[want] == 0 {
			t.Errorf("no %s in the audit log: %v", want, seen)
		}
	}
	if seen["conversation.claim"] != 2 {
		t.Errorf("%d claims audited, want both (one refused)", seen["conversation.claim"])
	}
	if code := d.do("GET", "/v1/admin/audit/verify", nil, nil); code != 200 {
		t.Errorf("audit chain: %d", code)
	}
}
