package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	tgToken  = "123456:BENCH-token"
	tgSecret = "bench_secret_token"
	lineTok  = "bench-access-token"
	lineSec  = "bench-channel-secret"
)

// platform is a fake of the platforms' send side, written from their API
// docs: Telegram's Bot API (/bot<token>/<method>), LINE's bot info (for the
// plugin's health check) and Zoho's OAuth token endpoint (for SalesIQ's).
// It records when each sendMessage carrying a bench token "k<N>" arrived.
type platform struct {
	srv  *http.Server
	URL  string
	sent atomic.Int64 // sendMessage calls answered

	mu        sync.Mutex
	firstSend time.Time
	arrivals  map[int64]time.Time // token → arrival of its sendMessage
	track     bool
}

func newPlatform() (*platform, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &platform{URL: "http://" + ln.Addr().String(), arrivals: map[int64]time.Time{}}
	p.srv = &http.Server{Handler: p, IdleTimeout: time.Minute}
	go p.srv.Serve(ln)
	return p, nil
}

func (p *platform) Close() { p.srv.Close() }

// reset forgets arrivals and the first send; track turns recording of
// per-token arrivals on or off.
func (p *platform) reset(track bool) {
	p.mu.Lock()
	p.firstSend = time.Time{}
	p.arrivals = map[int64]time.Time{}
	p.track = track
	p.mu.Unlock()
	p.sent.Store(0)
}

func (p *platform) first() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.firstSend
}

func (p *platform) arrival(token int64) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.arrivals[token]
	return t, ok
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// tokensOf finds every "k<digits>" in text.
func tokensOf(text string) []int64 {
	var out []int64
	for i := 0; i < len(text); i++ {
		if text[i] != 'k' || (i > 0 && text[i-1] != ' ') {
			continue
		}
		j := i + 1
		for j < len(text) && text[j] >= '0' && text[j] <= '9' {
			j++
		}
		if j > i+1 {
			if n, err := strconv.ParseInt(text[i+1:j], 10, 64); err == nil {
				out = append(out, n)
			}
		}
		i = j - 1
	}
	return out
}

func (p *platform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	body, _ := io.ReadAll(r.Body)
	switch {
	case r.URL.Path == "/oauth/v2/token": // Zoho Accounts
		writeJSON(w, 200, map[string]any{"access_token": "bench-access", "expires_in": 3600, "api_domain": p.URL, "token_type": "Bearer"})
		return
	case r.URL.Path == "/v2/bot/info": // LINE
		writeJSON(w, 200, map[string]any{"userId": "Ubot", "basicId": "@bench", "displayName": "Bench"})
		return
	}
	prefix := "/bot" + tgToken + "/"
	if !strings.HasPrefix(r.URL.Path, prefix) {
		writeJSON(w, 404, map[string]any{"ok": false, "error_code": 404, "description": "Not Found"})
		return
	}
	var params struct {
		ChatID json.Number `json:"chat_id"`
		Text   string      `json:"text"`
	}
	json.Unmarshal(body, &params)
	switch strings.TrimPrefix(r.URL.Path, prefix) {
	case "getMe":
		writeJSON(w, 200, map[string]any{"ok": true, "result": map[string]any{"id": 123456, "is_bot": true, "first_name": "Bench", "username": "bench_bot"}})
	case "sendChatAction", "setWebhook", "deleteWebhook":
		writeJSON(w, 200, map[string]any{"ok": true, "result": true})
	case "sendMessage":
		p.mu.Lock()
		if p.firstSend.IsZero() {
			p.firstSend = now
		}
		if p.track {
			for _, tok := range tokensOf(params.Text) {
				if _, dup := p.arrivals[tok]; !dup {
					p.arrivals[tok] = now
				}
			}
		}
		p.mu.Unlock()
		p.sent.Add(1)
		chat, _ := params.ChatID.Int64()
		writeJSON(w, 200, map[string]any{"ok": true, "result": map[string]any{
			"message_id": p.sent.Load(), "date": now.Unix(),
			"chat": map[string]any{"id": chat, "type": "private"}, "text": params.Text,
		}})
	default:
		writeJSON(w, 404, map[string]any{"ok": false, "error_code": 404, "description": "Not Found: method not found"})
	}
}

// update is a Telegram webhook body for one private text message.
func update(updateID, chat int64, text string) []byte {
	return fmt.Appendf(nil, `{"update_id":%d,"message":{"message_id":%d,"date":%d,"text":%q,"from":{"id":%d,"is_bot":false,"first_name":"Visitor"},"chat":{"id":%d,"type":"private","first_name":"Visitor"}}}`,
		updateID, updateID, time.Now().Unix(), text, chat, chat)
}
