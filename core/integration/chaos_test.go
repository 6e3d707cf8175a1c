//go:build chaos

package integration

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	convrules "github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/plugins/ollama/ollamatest"
)

// The chaos test: real daemon and plugin binaries, fake Telegram and LINE
// servers that fail a fifth of the sends, a fake model, 10% of webhooks
// redelivered, the daemon SIGKILLed three times and each channel plugin once
// (twice in all). It checks that no reply is lost, none is doubled on LINE
// (whose push API deduplicates by retry key), and none overtakes another.
// One Telegram chat in ten asks for a human with its first line and waits
// in the console's queue: its later lines get no reply, and each must be in
// its transcript once, in order, with the conversation still waiting.
//
//	make chaos                       # 2000 messages over 200 conversations
//	CHAOS_MESSAGES=600 CHAOS_CONVERSATIONS=60 make chaos

const (
	chaosTGToken  = "123456:CHAOS-token"
	chaosTGSecret = "chaos_secret_token"
	chaosLineSec  = "chaos-channel-secret"
	chaosLineTok  = "chaos-access-token"
)

var tokenRE = regexp.MustCompile(`c\d+-m\d+`)

// chaosPlatform fakes the send side of Telegram and LINE from their API
// docs, failing sends at random: 429 with retry_after, 500, or a
// connection dropped after the message was taken (the sender cannot know).
type chaosPlatform struct {
	mu        sync.Mutex
	rng       *rand.Rand
	failRate  float64
	delivered map[string][]string // "tg:<chat>" or "line:<user>" → texts in arrival order
	tokens    map[string]string   // LINE reply token → user
	usedTok   map[string]bool
	retryKeys map[string]bool
	dropped   int // sends taken whose answer was dropped
	failures  int
}

func newChaosPlatform(seed uint64, failRate float64) *chaosPlatform {
	return &chaosPlatform{
		rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), failRate: failRate,
		delivered: map[string][]string{}, tokens: map[string]string{}, usedTok: map[string]bool{}, retryKeys: map[string]bool{},
	}
}

// chaos picks a failure for this send: "" (none), "429", "500" or "drop".
func (p *chaosPlatform) chaos() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rng.Float64() >= p.failRate {
		return ""
	}
	p.failures++
	return []string{"429", "500", "drop"}[p.rng.IntN(3)]
}

func drop(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

func (p *chaosPlatform) record(key, text string, dropped bool) {
	p.mu.Lock()
	p.delivered[key] = append(p.delivered[key], text)
	if dropped {
		p.dropped++
	}
	p.mu.Unlock()
}

func tgJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// telegram serves /bot<token>/<method> as the Bot API documents it.
func (p *chaosPlatform) telegram(w http.ResponseWriter, r *http.Request) {
	prefix := "/bot" + chaosTGToken + "/"
	if !strings.HasPrefix(r.URL.Path, prefix) {
		tgJSON(w, 401, map[string]any{"ok": false, "error_code": 401, "description": "Unauthorized"})
		return
	}
	var body map[string]any
	json.NewDecoder(r.Body).Decode(&body)
	switch method := strings.TrimPrefix(r.URL.Path, prefix); method {
	case "getMe":
		tgJSON(w, 200, map[string]any{"ok": true, "result": map[string]any{"id": 123456, "is_bot": true, "first_name": "Chaos", "username": "chaos_bot"}})
	case "sendChatAction", "setWebhook", "deleteWebhook":
		tgJSON(w, 200, map[string]any{"ok": true, "result": true})
	case "sendMessage":
		switch p.chaos() {
		case "429":
			tgJSON(w, 429, map[string]any{"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 1", "parameters": map[string]any{"retry_after": 1}})
			return
		case "500":
			tgJSON(w, 500, map[string]any{"ok": false, "error_code": 500, "description": "Internal Server Error"})
			return
		case "drop":
			p.record("tg:"+fmt.Sprint(body["chat_id"]), fmt.Sprint(body["text"]), true)
			drop(w)
			return
		}
		p.record("tg:"+fmt.Sprint(body["chat_id"]), fmt.Sprint(body["text"]), false)
		tgJSON(w, 200, map[string]any{"ok": true, "result": map[string]any{
			"message_id": time.Now().UnixNano() % 1e9, "date": time.Now().Unix(),
			"chat": map[string]any{"id": body["chat_id"], "type": "private"}, "text": body["text"],
		}})
	default:
		tgJSON(w, 404, map[string]any{"ok": false, "error_code": 404, "description": "Not Found: method not found"})
	}
}

func lineTexts(body map[string]any) []string {
	var out []string
	msgs, _ := body["messages"].([]any)
	for _, m := range msgs {
		if mm, ok := m.(map[string]any); ok {
			out = append(out, fmt.Sprint(mm["text"]))
		}
	}
	return out
}

// line serves the Messaging API endpoints the plugin uses.
func (p *chaosPlatform) line(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+chaosLineTok {
		tgJSON(w, 401, map[string]any{"message": "Authentication failed. Confirm that the access token in the authorization header is valid."})
		return
	}
	var body map[string]any
	json.NewDecoder(r.Body).Decode(&body)
	switch r.URL.Path {
	case "/v2/bot/info":
		tgJSON(w, 200, map[string]any{"userId": "Ubot", "basicId": "@chaos", "displayName": "Chaos"})
	case "/v2/bot/chat/loading/start":
		tgJSON(w, 202, map[string]any{})
	case "/v2/bot/message/reply":
		token := fmt.Sprint(body["replyToken"])
		mode := p.chaos()
		if mode == "429" || mode == "500" {
			lineFail(w, mode)
			return
		}
		p.mu.Lock()
		user, known := p.tokens[token]
		valid := known && !p.usedTok[token]
		if valid {
			p.usedTok[token] = true
		}
		p.mu.Unlock()
		if !valid {
			tgJSON(w, 400, map[string]any{"message": "Invalid reply token"})
			return
		}
		for _, text := range lineTexts(body) {
			p.record("line:"+user, text, mode == "drop")
		}
		if mode == "drop" {
			drop(w)
			return
		}
		tgJSON(w, 200, map[string]any{"sentMessages": []any{}})
	case "/v2/bot/message/push":
		key := r.Header.Get("X-Line-Retry-Key")
		p.mu.Lock()
		seen := key != "" && p.retryKeys[key]
		p.mu.Unlock()
		if seen {
			w.Header().Set("x-line-accepted-request-id", "accepted-"+key)
			tgJSON(w, 409, map[string]any{"message": "The retry key is already accepted"})
			return
		}
		mode := p.chaos()
		if mode == "429" || mode == "500" {
			lineFail(w, mode)
			return
		}
		p.mu.Lock()
		if key != "" {
			p.retryKeys[key] = true
		}
		p.mu.Unlock()
		for _, text := range lineTexts(body) {
			p.record("line:"+fmt.Sprint(body["to"]), text, mode == "drop")
		}
		if mode == "drop" {
			drop(w)
			return
		}
		tgJSON(w, 200, map[string]any{"sentMessages": []any{}})
	default:
		tgJSON(w, 404, map[string]any{"message": "Not found"})
	}
}

func lineFail(w http.ResponseWriter, mode string) {
	if mode == "429" {
		tgJSON(w, 429, map[string]any{"message": "The API rate limit has been exceeded. Try again later."})
		return
	}
	tgJSON(w, 500, map[string]any{"message": "Internal server error"})
}

// chaosModel acknowledges, in one answer, every visitor line it has not
// acknowledged before; the checker reads the acknowledged tokens back.
func chaosModel(r ollamatest.ChatRequest) ollamatest.Response {
	acked := map[string]bool{}
	for _, m := range r.Messages {
		if m.Role == "assistant" {
			for _, tok := range tokenRE.FindAllString(m.Content, -1) {
				acked[tok] = true
			}
		}
	}
	var pending []string
	for _, m := range r.Messages {
		if m.Role == "user" {
			for _, tok := range tokenRE.FindAllString(m.Content, -1) {
				if !acked[tok] {
					pending = append(pending, tok)
				}
			}
		}
	}
	return ollamatest.Text("ack " + strings.Join(pending, " "))
}

type chaosMsg struct {
	conv, seq int
	token     string
	body      []byte
	header    http.Header
	instance  string
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func rssKB(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

func TestChaos(t *testing.T) {
	total := envInt("CHAOS_MESSAGES", 2000)
	convs := envInt("CHAOS_CONVERSATIONS", 200)
	perConv := max(1, total/convs)
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("CHAOS_SEED"), 10, 64); err == nil {
		seed = v
	}
	t.Logf("chaos: %d messages over %d conversations, seed %d", perConv*convs, convs, seed)
	rng := rand.New(rand.NewPCG(seed, 7))

	platform := newChaosPlatform(seed, 0.2)
	tgURL := newServer(t, http.HandlerFunc(platform.telegram))
	lineURL := newServer(t, http.HandlerFunc(platform.line))
	fake := ollamatest.New(model)
	fake.Reply = chaosModel
	d := startDaemon(t, llmConfig(fake.Start(t))+fmt.Sprintf(`
[channels.tg]
plugin = "telegram"
[channels.tg.options]
token = %q
api_base = %q
mode = "webhook"
secret_token = %q

[channels.line]
plugin = "line"
[channels.line.options]
channel_secret = %q
access_token = %q
api_base = %q

[delivery]
max_attempts = 50
max_age = "1h"

[handoff]
desk = "console"
`, chaosTGToken, tgURL, chaosTGSecret, chaosLineSec, chaosLineTok, lineURL))

	// Build every message up front: Telegram chats 1.., LINE users U1...
	var byConv [][]chaosMsg
	updateID := 1000
	for c := 0; c < convs; c++ {
		var msgs []chaosMsg
		for i := 0; i < perConv; i++ {
			token := fmt.Sprintf("c%d-m%d", c, i)
			m := chaosMsg{conv: c, seq: i, token: token, header: http.Header{"Content-Type": {"application/json"}}}
			if c%2 == 0 {
				updateID++
				chat := 10000 + c
				m.instance = "tg"
				text := token
				if chaosHandedOff(c) && i == 0 {
					text = "human please " + token
				}
				m.body, _ = json.Marshal(map[string]any{"update_id": updateID, "message": map[string]any{
					"message_id": i + 1, "date": time.Now().Unix(), "text": text,
					"from": map[string]any{"id": chat, "is_bot": false, "first_name": "Visitor"},
					"chat": map[string]any{"id": chat, "type": "private", "first_name": "Visitor"},
				}})
				m.header.Set("X-Telegram-Bot-Api-Secret-Token", chaosTGSecret)
			} else {
				user := fmt.Sprintf("U%032d", c)
				replyToken := fmt.Sprintf("rt-%d-%d", c, i)
				platform.mu.Lock()
				platform.tokens[replyToken] = user
				platform.mu.Unlock()
				m.instance = "line"
				m.body, _ = json.Marshal(map[string]any{"destination": "Ubot", "events": []any{map[string]any{
					"type": "message", "mode": "active", "timestamp": time.Now().UnixMilli(),
					"source":         map[string]any{"type": "user", "userId": user},
					"webhookEventId": fmt.Sprintf("01CHAOS%dM%d", c, i), "deliveryContext": map[string]any{"isRedelivery": false},
					"replyToken": replyToken,
					"message":    map[string]any{"id": fmt.Sprintf("%d%04d", c, i), "type": "text", "quoteToken": "q", "text": token},
				}}})
				mac := hmac.New(sha256.New, []byte(chaosLineSec))
				mac.Write(m.body)
				m.header.Set("X-Line-Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
			}
			msgs = append(msgs, m)
		}
		byConv = append(byConv, msgs)
	}

	// post delivers one webhook like a platform: until it gets a 2xx.
	var url atomic.Value
	url.Store(d.URL)
	post := func(m chaosMsg) {
		for {
			req, _ := http.NewRequest("POST", url.Load().(string)+"/webhooks/"+m.instance, bytes.NewReader(m.body))
			req.Header = m.header.Clone()
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode < 300 {
					return
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	var peakRSS atomic.Int64
	stopSampling := make(chan struct{})
	var kills, pluginKills atomic.Int32
	var restartMu sync.Mutex // held while the daemon is down
	go func() {
		for {
			select {
			case <-stopSampling:
				return
			case <-time.After(100 * time.Millisecond):
			}
			restartMu.Lock()
			var r readyz
			d.do("GET", "/readyz", nil, &r)
			sum := rssKB(d.Pid())
			for _, p := range r.Plugins {
				sum += rssKB(p.PID)
			}
			restartMu.Unlock()
			if int64(sum) > peakRSS.Load() {
				peakRSS.Store(int64(sum))
			}
		}
	}()

	// Drive the conversations: 16 senders, each conversation in order, 10%
	// of webhooks sent again later with the same IDs.
	start := time.Now()
	var wg sync.WaitGroup
	work := make(chan []chaosMsg)
	var redeliver []chaosMsg
	var redMu sync.Mutex
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for msgs := range work {
				for _, m := range msgs {
					post(m)
					redMu.Lock()
					if rng.Float64() < 0.1 {
						redeliver = append(redeliver, m)
					}
					redMu.Unlock()
				}
			}
		}()
	}
	// Chaos at random moments while the load runs.
	chaosDone := make(chan struct{})
	go func() {
		defer close(chaosDone)
		events := []string{"daemon", "tg", "daemon", "line", "daemon"}
		for _, ev := range events {
			time.Sleep(time.Duration(300+rng.IntN(900)) * time.Millisecond)
			switch ev {
			case "daemon":
				restartMu.Lock()
				d.kill()
				kills.Add(1)
				time.Sleep(time.Duration(100+rng.IntN(400)) * time.Millisecond)
				d.start()
				restartMu.Unlock()
			default:
				if pid := d.pluginPID(ev); pid > 0 {
					syscall.Kill(pid, syscall.SIGKILL)
					pluginKills.Add(1)
				}
			}
		}
	}()
	order := rng.Perm(len(byConv))
	for _, i := range order {
		work <- byConv[i]
	}
	close(work)
	wg.Wait()
	for _, m := range redeliver {
		post(m)
	}
	<-chaosDone
	lastSent := time.Now()

	// Wait until every message is acknowledged by a delivered reply.
	answered := func() map[string]bool {
		platform.mu.Lock()
		defer platform.mu.Unlock()
		got := map[string]bool{}
		for _, texts := range platform.delivered {
			for _, text := range texts {
				for _, tok := range tokenRE.FindAllString(text, -1) {
					got[tok] = true
				}
			}
		}
		return got
	}
	toAnswer := 0
	for c, msgs := range byConv {
		if !chaosHandedOff(c) {
			toAnswer += len(msgs)
		}
	}
	deadline := time.Now().Add(3 * time.Minute)
	for len(answered()) < toAnswer && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	drain := time.Since(lastSent)
	time.Sleep(2 * time.Second) // let stragglers (duplicates) arrive
	close(stopSampling)

	got := answered()
	lost := 0
	for c, msgs := range byConv {
		if chaosHandedOff(c) {
			continue // checked in the transcripts below
		}
		for _, m := range msgs {
			if !got[m.token] {
				lost++
				if lost <= 10 {
					t.Errorf("message %s never got a reply", m.token)
				}
			}
		}
	}
	platform.mu.Lock()
	dupTG, dupLine, orderViolations, replies := 0, 0, 0, 0
	keys := make([]string, 0, len(platform.delivered))
	for k := range platform.delivered {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		seen := map[string]bool{}
		lastMax := -1
		for _, text := range platform.delivered[key] {
			if seen[text] {
				if strings.HasPrefix(key, "line:") {
					dupLine++
					t.Errorf("duplicate on LINE for %s: %q", key, text)
				} else {
					dupTG++
				}
				continue
			}
			seen[text] = true
			replies++
			minIdx, maxIdx := 1<<30, -1
			for _, tok := range tokenRE.FindAllString(text, -1) {
				n, _ := strconv.Atoi(tok[strings.Index(tok, "-m")+2:])
				minIdx, maxIdx = min(minIdx, n), max(maxIdx, n)
			}
			if maxIdx < 0 {
				continue
			}
			if minIdx <= lastMax {
				orderViolations++
				t.Errorf("reply %q for %s arrived after a reply to a later message", text, key)
			}
			lastMax = max(lastMax, maxIdx)
		}
	}
	dropped, failures := platform.dropped, platform.failures
	platform.mu.Unlock()

	var dl struct {
		DeadLetters []any `json:"deadletters"`
	}
	d.do("GET", "/v1/admin/deadletters", nil, &dl)
	d.stop()
	st, err := store.Open(filepath.Join(d.dir, "data", "switchboard.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	possibly, _ := st.PossiblyDelivered()
	relayed := 0
	for c, msgs := range byConv {
		if !chaosHandedOff(c) {
			continue
		}
		want := make([]string, len(msgs))
		for i, m := range msgs {
			want[i] = m.token
		}
		lines := chaosVisitorTokens(t, st, "tg", strconv.Itoa(10000+c))
		relayed += len(lines)
		if strings.Join(lines, " ") != strings.Join(want, " ") {
			orderViolations++
			t.Errorf("chat %d's transcript holds %q, want %q", 10000+c, lines, want)
		}
	}
	st.Close()

	t.Logf("messages in: %d (%d redelivered webhooks)", perConv*convs, len(redeliver))
	t.Logf("replies delivered: %d distinct, sends failed by the fakes: %d (%d dropped after being taken)", replies, failures, dropped)
	t.Logf("daemon kills: %d, plugin kills: %d, peak RSS: %d MB, time to drain: %v, total %v",
		kills.Load(), pluginKills.Load(), peakRSS.Load()/1024, drain.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	summary := fmt.Sprintf("chaos: lost=%d dup_line=%d order_violations=%d dead_letters=%d dup_telegram=%d possibly_delivered=%d messages=%d replies=%d relayed=%d daemon_kills=%d plugin_kills=%d peak_rss_mb=%d drain_ms=%d",
		lost, dupLine, orderViolations, len(dl.DeadLetters), dupTG, int(possibly), perConv*convs, replies, relayed, kills.Load(), pluginKills.Load(), peakRSS.Load()/1024, drain.Milliseconds())
	fmt.Println(summary)

	if lost != 0 || dupLine != 0 || orderViolations != 0 || len(dl.DeadLetters) != 0 {
		t.Fatalf("%s", summary)
	}
	// Telegram has no idempotency key: a send cut short by a daemon kill is
	// sent again after the restart. Each kill can catch at most the sends in
	// flight (the deliverer's concurrency, 32).
	if bound := int(kills.Load())*32 + int(possibly); dupTG > bound {
		t.Fatalf("%d duplicate Telegram replies, more than the %d sends whose outcome was unknown", dupTG, bound)
	}
}

// chaosHandedOff reports whether conversation c asks for a human first
// (one Telegram chat in ten).
func chaosHandedOff(c int) bool { return c%20 == 0 }

// chaosVisitorTokens reads the tokens of a conversation's visitor lines, in
// transcript order, and checks that it still waits for a person.
func chaosVisitorTokens(t *testing.T, st *store.Store, channel, ref string) []string {
	t.Helper()
	c, err := st.ConversationByRef(channel, ref)
	if err != nil {
		t.Errorf("conversation %s/%s: %v", channel, ref, err)
		return nil
	}
	if c.State != convrules.WaitingHuman {
		t.Errorf("conversation %s/%s is %s, want it waiting for a person", channel, ref, c.State)
	}
	msgs, err := st.Messages(c.ID, 0, 0)
	if err != nil {
		t.Errorf("transcript of %s: %v", c.ID, err)
	}
	var out []string
	for _, m := range msgs {
		if m.Role == convrules.RoleVisitor {
			out = append(out, tokenRE.FindAllString(m.Text, -1)...)
		}
	}
	return out
}
