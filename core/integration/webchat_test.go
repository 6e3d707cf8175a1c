package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard-chat/switchboard/core/internal/browsertest"
	"github.com/switchboard-chat/switchboard/plugins/ollama/ollamatest"
)

// webChatConfig turns the web chat on with the console as the desk.
const webChatConfig = `
[webchat]
enabled = true
title = "ACME support"

[handoff]
desk = "console"
`

// webVisitor is a web chat visitor speaking the visitor API.
type webVisitor struct {
	t           *testing.T
	d           *daemon
	token, conv string
}

func newWebVisitor(t *testing.T, d *daemon) *webVisitor {
	t.Helper()
	v := &webVisitor{t: t, d: d}
	var s struct {
		Token string `json:"visitor_token"`
		Conv  string `json:"conversation_id"`
		State string `json:"state"`
	}
	if code := v.call("POST", "/w/v1/session", `{}`, &s); code != 200 || s.State != "bot" {
		t.Fatalf("session: %d %+v", code, s)
	}
	v.token, v.conv = s.Token, s.Conv
	return v
}

// call sends a visitor API request with the token and decodes the answer.
func (v *webVisitor) call(method, path, body string, out any) int {
	v.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, v.d.URL+path, rd)
	if v.token != "" {
		req.Header.Set("Authorization", "Bearer "+v.token)
	}
	resp, err := v.d.client.Do(req)
	if err != nil {
		v.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		json.Unmarshal(data, out)
	}
	return resp.StatusCode
}

func (v *webVisitor) send(clientID, text string) {
	v.t.Helper()
	body, _ := json.Marshal(map[string]string{"client_id": clientID, "text": text})
	if code := v.call("POST", "/w/v1/messages", string(body), nil); code != http.StatusAccepted {
		v.t.Fatalf("send %q: %d", text, code)
	}
}

// webMessage is a message as the visitor API shows it.
type webMessage struct {
	ID     string `json:"id"`
	Seq    uint64 `json:"seq"`
	Role   string `json:"role"`
	Text   string `json:"text"`
	Author string `json:"author"`
}

func (v *webVisitor) messages() []webMessage {
	v.t.Helper()
	var out struct {
		Messages []webMessage `json:"messages"`
	}
	if code := v.call("GET", "/w/v1/messages", "", &out); code != 200 {
		v.t.Fatalf("messages: %d", code)
	}
	return out.Messages
}

type sseEvent struct {
	id, typ string
	data    json.RawMessage
}

func (e sseEvent) field(name string) any {
	var m map[string]any
	json.Unmarshal(e.data, &m)
	return m[name]
}

// readEvents reads one connection of the visitor's event stream (resuming
// after lastID when set) and hands each event to fn until fn returns false,
// the stream breaks or ctx ends. It returns the error that ended it.
func (v *webVisitor) readEvents(ctx context.Context, lastID string, fn func(sseEvent) bool) error {
	req, _ := http.NewRequestWithContext(ctx, "GET", v.d.URL+"/w/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+v.token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := v.d.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("events: %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "" && ev.typ != "":
			if !fn(ev) {
				return nil
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.typ = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.data = json.RawMessage(line[6:])
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.ErrUnexpectedEOF
}

// collect reads events until until returns true for one, failing the
// test after 20 s.
func (v *webVisitor) collect(lastID string, until func(sseEvent) bool) []sseEvent {
	v.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got []sseEvent
	done := false
	err := v.readEvents(ctx, lastID, func(ev sseEvent) bool {
		got = append(got, ev)
		done = until(ev)
		return !done
	})
	if !done {
		v.t.Fatalf("stream ended (%v) after %d events: %v", err, len(got), got)
	}
	return got
}

// liveStream is an event stream read in the background.
type liveStream struct {
	t      *testing.T
	events chan sseEvent
	cancel context.CancelFunc
}

// open starts reading the visitor's event stream in the background.
func (v *webVisitor) open(lastID string) *liveStream {
	ctx, cancel := context.WithCancel(context.Background())
	s := &liveStream{t: v.t, events: make(chan sseEvent, 256), cancel: cancel}
	connected := make(chan struct{})
	go func() {
		first := true
		v.readEvents(ctx, lastID, func(ev sseEvent) bool {
			if first {
				first = false
				close(connected) // the stream starts with the state
			}
			s.events <- ev
			return true
		})
	}()
	v.t.Cleanup(cancel)
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		v.t.Fatal("the event stream did not start")
	}
	return s
}

// until returns the events up to the first that done accepts.
func (s *liveStream) until(done func(sseEvent) bool) []sseEvent {
	s.t.Helper()
	var got []sseEvent
	for {
		select {
		case ev := <-s.events:
			got = append(got, ev)
			if done(ev) {
				return got
			}
		case <-time.After(20 * time.Second):
			s.t.Fatalf("no end after %d events: %v", len(got), got)
		}
	}
}

func stateIs(state string) func(sseEvent) bool {
	return func(ev sseEvent) bool { return ev.typ == "state" && ev.field("state") == state }
}

func messageTexts(evs []sseEvent) []string {
	var out []string
	for _, ev := range evs {
		if ev.typ == "message" {
			out = append(out, ev.field("role").(string)+": "+ev.field("text").(string))
		}
	}
	return out
}

// The whole loop of a web visitor: the bot (a fake model) answers, the
// visitor asks for a person, misses three lines and gets exactly those on
// reconnecting, an operator claims the conversation in the console's API,
// the reply reaches the visitor's stream (the private note never does),
// the operator closes and the visitor rates them once.
func TestWebChatVisitorWithTheModel(t *testing.T) {
	fake := ollamatest.New(model)
	fake.Reply = func(r ollamatest.ChatRequest) ollamatest.Response {
		return ollamatest.Response{Text: "Your parcel ships today.", Delay: 300 * time.Millisecond}
	}
	d := startDaemon(t, llmConfig(fake.Start(t))+webChatConfig)
	v := newWebVisitor(t, d)
	s := v.open("")
	v.send("m1", "where is my parcel?")
	v.send("m1", "where is my parcel?") // a retry: stored once
	evs := s.until(func(ev sseEvent) bool { return ev.typ == "message" && ev.field("role") == "bot" })
	s.cancel()
	if got := messageTexts(evs); !slices.Equal(got, []string{"visitor: where is my parcel?", "bot: Your parcel ships today."}) {
		t.Fatalf("stream %q", got)
	}
	thinking := slices.IndexFunc(evs, func(ev sseEvent) bool {
		return ev.typ == "typing" && ev.field("from") == "bot" && ev.field("typing") == true
	})
	if thinking < 0 || thinking > len(evs)-2 {
		t.Errorf("no 'bot is thinking' before the answer: %v", evs)
	}
	if req, _ := fake.LastRequest(); req.LastUser() != "where is my parcel?" {
		t.Errorf("the model got %q", req.LastUser())
	}
	last := evs[len(evs)-1].id

	// Talk to a person: the console's queue.
	var st struct {
		State    string `json:"state"`
		Position int    `json:"position"`
	}
	if code := v.call("POST", "/w/v1/handoff", "", &st); code != 200 || st.State != "waiting_human" || st.Position != 1 {
		t.Fatalf("handoff: %d %+v", code, st)
	}
	var c convState
	d.do("GET", "/v1/conversations/"+v.conv, nil, &c)
	if c.Handoff == nil || c.Handoff.Cause != "visitor" {
		t.Errorf("conversation %+v: want a handoff caused by the visitor", c)
	}
	evs = v.collect(last, stateIs("waiting_human"))
	last = evs[len(evs)-2].id // the handoff message
	if got := messageTexts(evs); len(got) != 1 || !strings.HasPrefix(got[0], "bot: I'm connecting you") {
		t.Fatalf("after the handoff: %q", got)
	}

	// Away while three messages are written; back with Last-Event-ID:
	// exactly those three.
	for i, text := range []string{"hello?", "anyone there?", "I'll wait"} {
		v.send(fmt.Sprint("w", i), text)
	}
	evs = v.collect(last, func(ev sseEvent) bool { return ev.typ == "state" })
	if got := messageTexts(evs); !slices.Equal(got, []string{"visitor: hello?", "visitor: anyone there?", "visitor: I'll wait"}) {
		t.Fatalf("resumed after %s: %q", last, got)
	}
	if len(v.messages()) != 6 {
		t.Errorf("transcript %+v, want 6 messages", v.messages())
	}
	last = evs[len(evs)-2].id // "I'll wait"

	// An operator of the console claims it and answers; the reply reaches
	// the visitor's stream, with the operator's name.
	s = v.open(last)
	op := signedInOperator(t, d, "Ann Lee")
	base := "/op/v1/conversations/" + v.conv
	if code := op.do("POST", base+"/claim", nil, nil); code != 200 {
		t.Fatalf("claim: %d", code)
	}
	evs = s.until(func(ev sseEvent) bool { return ev.typ == "state" && ev.field("state") == "human" })
	if st := evs[len(evs)-1]; st.field("operator") != "Ann Lee" {
		t.Errorf("state after the claim %s", st.data)
	}
	if code := op.do("POST", base+"/messages", map[string]any{"text": "Internal: VIP customer", "private": true}, nil); code != 202 {
		t.Fatalf("note: %d", code)
	}
	if code := op.do("POST", base+"/messages", map[string]any{"text": "Hi, Ann here. Your parcel left this morning."}, nil); code != 202 {
		t.Fatalf("reply: %d", code)
	}
	evs = s.until(func(ev sseEvent) bool { return ev.typ == "message" && ev.field("role") == "operator" })
	reply := evs[len(evs)-1]
	if reply.field("text") != "Hi, Ann here. Your parcel left this morning." || reply.field("author") != "Ann Lee" {
		t.Errorf("the operator's reply on the visitor's stream: %s", reply.data)
	}
	for _, ev := range evs {
		if strings.Contains(string(ev.data), "VIP") {
			t.Errorf("the private note reached the visitor: %s", ev.data)
		}
	}
	if code := v.call("POST", "/w/v1/rating", `{"score":5}`, nil); code != http.StatusConflict {
		t.Errorf("rating while the operator serves: %d, want 409", code)
	}

	// The operator closes: the visitor may rate them, once.
	if code := op.do("POST", base+"/close", nil, nil); code != 200 {
		t.Fatalf("close: %d", code)
	}
	evs = s.until(func(ev sseEvent) bool { return ev.typ == "state" && ev.field("can_rate") == true })
	s.cancel()
	if st := evs[len(evs)-1]; st.field("state") != "bot" || st.field("operator") != "Ann Lee" {
		t.Errorf("state after the close %s", st.data)
	}
	var rated struct {
		Score    int    `json:"score"`
		Comment  string `json:"comment"`
		Operator string `json:"operator"`
	}
	if code := v.call("POST", "/w/v1/rating", `{"score":4,"comment":"Quick and kind"}`, &rated); code != http.StatusCreated ||
		rated.Score != 4 || rated.Comment != "Quick and kind" || rated.Operator != "Ann Lee" {
		t.Fatalf("rating: %d %+v", code, rated)
	}
	if code := v.call("POST", "/w/v1/rating", `{"score":1}`, nil); code != http.StatusConflict {
		t.Errorf("a second rating: %d, want 409", code)
	}
}

// signedInOperator adds an agent with the CLI and signs them in to the
// console's API.
func signedInOperator(t *testing.T, d *daemon, name string) *operatorClient {
	t.Helper()
	return signedInAs(t, d, name, "agent")
}

// signedInAs is signedInOperator with the given role.
func signedInAs(t *testing.T, d *daemon, name, role string) *operatorClient {
	t.Helper()
	email := strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@example.com"
	cmd := exec.Command(filepath.Join(binDir, "switchboard"), "operator", "add", "--config", d.cfgPath,
		"--email", email, "--name", name, "--role", role, "--password-stdin")
	cmd.Stdin = strings.NewReader("the password of " + name + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("operator add: %v\n%s", err, out)
	}
	o := newOperatorClient(t, d)
	if code := o.do("POST", "/op/v1/login", map[string]string{"email": email, "password": "the password of " + name}, nil); code != 200 {
		t.Fatalf("%s's sign-in: %d", name, code)
	}
	return o
}

func TestWebChatServedByAHelpDeskAndRated(t *testing.T) {
	desk := newFakeDesk(t)
	d := startDaemon(t, deskConfig(desk.URL)+"\n[webchat]\nenabled = true\n")
	v := newWebVisitor(t, d)
	if code := v.call("POST", "/w/v1/rating", `{"score":5}`, nil); code != http.StatusConflict {
		t.Fatalf("rating before anyone served: %d", code)
	}
	v.send("m1", "my parcel is broken")
	// No model: straight to the desk, with the transcript.
	deadline := time.Now().Add(15 * time.Second)
	for desk.openedCount() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if desk.openedCount() != 1 {
		t.Fatal("the desk got no handoff")
	}
	desk.mu.Lock()
	opened := desk.opened[0]
	desk.mu.Unlock()
	if opened["channel"] != "web" || !strings.Contains(fmt.Sprint(opened["transcript"]), "my parcel is broken") {
		t.Errorf("desk got %v", opened)
	}
	for i, body := range []string{
		`{"id":"e1","type":"operator_joined","ref":"T-1","operator":"Bob"}`,
		`{"id":"e2","type":"operator_message","ref":"T-1","operator":"Bob","text":"Hi, Bob here. Sorry about that!"}`,
	} {
		if code := deskEvent(t, d, body); code != 200 {
			t.Fatalf("desk event %d: %d", i, code)
		}
	}
	evs := v.collect("", func(ev sseEvent) bool { return ev.typ == "message" && ev.field("role") == "operator" })
	op := evs[len(evs)-1]
	if op.field("author") != "Bob" || op.field("text") != "Hi, Bob here. Sorry about that!" {
		t.Errorf("operator line %s", op.data)
	}
	evs = v.collect(op.id, func(ev sseEvent) bool { return ev.typ == "state" })
	if st := evs[len(evs)-1]; st.field("state") != "human" || st.field("operator") != "Bob" {
		t.Errorf("state while served %s", st.data)
	}
	if code := deskEvent(t, d, `{"id":"e3","type":"closed","ref":"T-1"}`); code != 200 {
		t.Fatal(code)
	}
	evs = v.collect(op.id, func(ev sseEvent) bool { return ev.typ == "state" && ev.field("can_rate") == true })
	if st := evs[len(evs)-1]; st.field("operator") != "Bob" || st.field("state") != "bot" {
		t.Errorf("after the close %s", st.data)
	}
	var rated map[string]any
	if code := v.call("POST", "/w/v1/rating", `{"score":5,"comment":"Fixed in minutes"}`, &rated); code != http.StatusCreated || rated["operator"] != "Bob" {
		t.Fatalf("rating: %d %v", code, rated)
	}
	if code := v.call("POST", "/w/v1/rating", `{"score":1}`, nil); code != http.StatusConflict {
		t.Errorf("second rating: %d", code)
	}
}

// TestWebChatWidgetReconnectsAfterADaemonKill kills the daemon while the
// widget (in Chromium) and a protocol-level client are connected and a
// model turn runs; after the restart both show every message once.
func TestWebChatWidgetReconnectsAfterADaemonKill(t *testing.T) {
	fake := ollamatest.New(model)
	var mu sync.Mutex
	answers := 0
	fake.Reply = func(r ollamatest.ChatRequest) ollamatest.Response {
		mu.Lock()
		answers++
		mu.Unlock()
		return ollamatest.Response{Text: "Answer to: " + r.LastUser(), Delay: 1500 * time.Millisecond}
	}
	d := startDaemon(t, llmConfig(fake.Start(t))+webChatConfig)
	b := browsertest.New(t)
	b.Allow("net::ERR_") // refused and dropped connections while the daemon is down
	p := b.Page(browsertest.Options{})
	p.Do(chromedp.Navigate(d.URL+"/w/"), chromedp.WaitVisible(chromedp.CSS(".sb-input")))
	p.Do(chromedp.SendKeys(chromedp.CSS(".sb-input"), "first question\n"))
	p.WaitText(".sb-typing", "thinking")

	// A client of the visitor API that reconnects as the widget does.
	var convs struct {
		Conversations []conversation `json:"conversations"`
	}
	d.do("GET", "/v1/conversations", nil, &convs)
	if len(convs.Conversations) != 1 {
		t.Fatalf("conversations %+v", convs)
	}
	token := browsertest.Eval[string](p, `localStorage.getItem(Object.keys(localStorage).find(k => k.startsWith('switchboard-chat:')))`)
	v := &webVisitor{t: t, d: d, token: token, conv: convs.Conversations[0].ID}
	ctx, stopClient := context.WithCancel(context.Background())
	var seenMu sync.Mutex
	var seen []string // message event ids, in arrival order
	clientDone := make(chan struct{})
	go func() {
		defer close(clientDone)
		last := ""
		for ctx.Err() == nil {
			v.readEvents(ctx, last, func(ev sseEvent) bool {
				if ev.typ == "message" {
					seenMu.Lock()
					seen = append(seen, ev.id)
					seenMu.Unlock()
					last = ev.id
				}
				return true
			})
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()

	d.kill() // in the middle of the model turn
	// Written while the daemon is down: the widget keeps retrying it.
	p.Do(chromedp.SendKeys(chromedp.CSS(".sb-input"), "second question\n"))
	p.Do(chromedp.WaitVisible(chromedp.CSS(".sb-conn")))
	d.start()

	p.WaitText(".sb-messages", "Answer to: first question")
	p.WaitText(".sb-messages", "Answer to: second question")
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// The transcript as stored: each line once, each answer once, after
	// its question. (The second question may come before the first
	// answer: the turn cut by the kill runs again after the restart.)
	var stored []webMessage
	waitFor("both answers stored", func() bool {
		stored = v.messages()
		return len(stored) >= 4
	})
	var got []string
	for _, m := range stored {
		got = append(got, m.Text)
	}
	for _, q := range []string{"first question", "second question"} {
		asked, answered := slices.Index(got, q), slices.Index(got, "Answer to: "+q)
		if len(got) != 4 || asked < 0 || answered < asked || slices.Index(got[asked+1:], q) >= 0 || slices.Index(got[answered+1:], "Answer to: "+q) >= 0 {
			t.Fatalf("stored transcript %q: want each question and its answer once, in that order", got)
		}
	}
	// The widget shows exactly that, once each.
	waitFor("the widget to show the four messages", func() bool {
		return browsertest.Eval[int](p, `document.querySelectorAll('.sb-row:not(.sb-welcome)').length`) == 4
	})
	shown := browsertest.Eval[[]string](p, `Array.from(document.querySelectorAll('.sb-row:not(.sb-welcome) .sb-bubble')).map(e => e.textContent)`)
	if !slices.Equal(shown, got) {
		t.Errorf("the widget shows %q, the transcript is %q", shown, got)
	}
	if browsertest.Eval[int](p, `document.querySelectorAll('.sb-pending, .sb-failed').length`) != 0 {
		t.Error("a line is still shown as not sent")
	}
	// The protocol client got every message once, in order.
	waitFor("the client to catch up", func() bool {
		seenMu.Lock()
		defer seenMu.Unlock()
		return len(seen) >= 4
	})
	stopClient()
	<-clientDone
	var ids []string
	for _, m := range stored {
		ids = append(ids, m.ID)
	}
	if !slices.Equal(seen, ids) {
		t.Errorf("the reconnecting client saw ids %v, want %v", seen, ids)
	}
	p.Screenshot("webchat-after-daemon-kill")
}

func TestWebChatInTheBrowser(t *testing.T) {
	fake := ollamatest.New(model)
	fake.Reply = func(r ollamatest.ChatRequest) ollamatest.Response {
		if strings.Contains(r.LastUser(), "<img") {
			return ollamatest.Text("I can only read text, but I see you wrote <b>markup</b>.")
		}
		return ollamatest.Response{Text: "Our store opens at 9:00 and closes at 18:00, Monday to Saturday.", Delay: 400 * time.Millisecond}
	}
	d := startDaemon(t, llmConfig(fake.Start(t))+webChatConfig)

	b := browsertest.New(t)
	p := b.Page(browsertest.Options{Width: 1280, Height: 800})
	p.Do(chromedp.Navigate(d.URL+"/w/"), chromedp.WaitVisible(chromedp.CSS(".sb-input")))
	p.WaitText(".sb-title", "ACME support")
	p.Do(chromedp.SendKeys(chromedp.CSS(".sb-input"), "When are you open?\n"))
	p.WaitText(".sb-typing", "Assistant is thinking")
	p.WaitText(".sb-messages", "closes at 18:00")
	p.Do(chromedp.SendKeys(chromedp.CSS(".sb-input"), "<img src=x onerror=alert(1)>\n"))
	p.WaitText(".sb-messages", "<b>markup</b>")
	if n := browsertest.Eval[int](p, `document.querySelectorAll('.sb-messages img, .sb-messages b').length`); n != 0 {
		t.Errorf("%d elements made from message text", n)
	}
	if got := browsertest.Eval[string](p, `Array.from(document.querySelectorAll('.sb-visitor .sb-bubble')).pop().textContent`); got != "<img src=x onerror=alert(1)>" {
		t.Error("the visitor's markup is not shown as typed")
	}
	p.Do(chromedp.Click(chromedp.CSS(".sb-human")))
	p.WaitText(".sb-banner", "Waiting for a person")
	p.WaitText(".sb-banner", "You're next in line")
	p.Screenshot("webchat-daemon-desktop-waiting")

	// A phone, in Chinese: another visitor, second in line.
	zh := browsertest.New(t)
	q := zh.Page(browsertest.Options{Width: 360, Height: 740, Mobile: true, Language: "zh-CN"})
	q.Do(chromedp.Navigate(d.URL+"/w/"), chromedp.WaitVisible(chromedp.CSS(".sb-input")))
	q.WaitText(".sb-human", "转人工客服")
	q.Do(chromedp.SendKeys(chromedp.CSS(".sb-input"), "你们几点开门？"), chromedp.Click(chromedp.CSS(".sb-send")))
	q.WaitText(".sb-messages", "closes at 18:00")
	q.Do(chromedp.Click(chromedp.CSS(".sb-human")))
	q.WaitText(".sb-banner", "正在为您转接人工客服")
	q.WaitText(".sb-banner", "您前面还有 1 位")
	if w := browsertest.Eval[int](q, "document.documentElement.scrollWidth"); w > 360 {
		t.Errorf("the chat is %d px wide on a 360 px phone", w)
	}
	q.Screenshot("webchat-daemon-phone-zh-waiting")
}
