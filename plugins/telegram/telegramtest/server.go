// Package telegramtest is a fake Telegram Bot API server for tests, written
// from the Bot API documentation (https://core.telegram.org/bots/api):
// methods are served at /bot<token>/<method> (names case-insensitive), take
// their parameters from the query string, a form, a multipart form or a
// JSON body, and answer {"ok":true,"result":…} or
// {"ok":false,"error_code":…,"description":…,"parameters":{…}}.
//
// It records sendMessage (with its reply_markup, checked as documented)
// and sendChatAction calls per chat, makes the callback queries of button
// presses and takes their answerCallbackQuery once each, serves
// getUpdates from a queue with offset semantics, keeps the webhook set by
// setWebhook/deleteWebhook (getUpdates answers 409 while one is set), and
// can be scripted to fail the next calls of a method. It is safe for
// concurrent use.
package telegramtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Method names, as used with [Server.FailNext] and [Server.Calls].
const (
	MethodGetMe          = "getMe"
	MethodSendMessage    = "sendMessage"
	MethodSendChatAction = "sendChatAction"
	MethodGetUpdates     = "getUpdates"
	MethodSetWebhook     = "setWebhook"
	MethodDeleteWebhook  = "deleteWebhook"
	MethodGetWebhookInfo = "getWebhookInfo"
	// MethodAnswerCallbackQuery answers a button press; see [Server.PressButton].
	MethodAnswerCallbackQuery = "answerCallbackQuery"
)

// maxCallbackData is the longest callback_data of an inline keyboard
// button: "1-64 bytes".
const maxCallbackData = 64

// maxTextLength is sendMessage's limit: "1-4096 characters after entities
// parsing", counted here in UTF-16 code units.
const maxTextLength = 4096

// SentMessage is one successful sendMessage call.
type SentMessage struct {
	ChatID    int64
	MessageID int64
	Text      string
	// ParseMode is the parse_mode parameter, "" when none was given.
	ParseMode string
	// ReplyTo is reply_parameters.message_id, 0 when none was given.
	ReplyTo int64
	// ThreadID is message_thread_id, 0 when none was given.
	ThreadID int64
	// Params are all parameters of the call, as received.
	Params map[string]json.RawMessage
	// Markup is the reply_markup, decoded; nil when none was given.
	Markup *ReplyMarkup
	Time   time.Time
}

// CallbackAnswer is one successful answerCallbackQuery call.
type CallbackAnswer struct {
	QueryID string
	// Text is the notification shown, "" for none.
	Text string
	Time time.Time
}

// ChatAction is one successful sendChatAction call.
type ChatAction struct {
	ChatID int64
	Action string
	Time   time.Time
}

// Server is a fake Bot API server. Create it with [New] or [Start].
type Server struct {
	// Token is the only bot token accepted; others get 401 Unauthorized.
	Token string
	// Bot is what getMe answers; its ID is the token's numeric prefix.
	Bot User
	// AllowHTTPWebhook accepts http:// webhook URLs, as a local Bot API
	// server started with --local does; api.telegram.org wants HTTPS.
	AllowHTTPWebhook bool

	srv *http.Server
	url string

	mu         sync.Mutex
	changed    chan struct{} // closed and replaced when updates are queued
	sent       []SentMessage
	actions    []ChatAction
	nextMsgID  map[int64]int64
	blocked    map[int64]string
	calls      map[string]int
	failures   []*scripted
	queue      []Update
	nextUpdate int64
	confirmed  int64 // highest offset a getUpdates was called with
	allowed    []string
	webhook    WebhookInfo
	pollGen    int // the generation of the current long poll
	// queries are the callback queries made by PressButton, by id, and
	// whether they were answered.
	queries  map[string]bool
	answered []CallbackAnswer
}

// New returns a server for token that is not listening yet; set fields,
// then call [Server.Start]. The bot's username is "switchboard_test_bot".
func New(token string) *Server {
	id, _ := strconv.ParseInt(strings.SplitN(token, ":", 2)[0], 10, 64)
	return &Server{
		Token:      token,
		Bot:        User{ID: id, IsBot: true, FirstName: "Switchboard Test", Username: "switchboard_test_bot", CanJoinGroups: true},
		changed:    make(chan struct{}),
		nextMsgID:  map[int64]int64{},
		blocked:    map[int64]string{},
		calls:      map[string]int{},
		queries:    map[string]bool{},
		nextUpdate: 100000,
	}
}

// Start serves s on 127.0.0.1 on a free port until the test ends and
// returns s; its [Server.URL] is the api_base to configure.
func (s *Server) Start(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("telegramtest: listen: %v", err)
	}
	s.url = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s}
	go s.srv.Serve(ln)
	t.Cleanup(s.Close)
	return s
}

// NewServer is New(token).Start(t).
func NewServer(t testing.TB, token string) *Server { return New(token).Start(t) }

// URL is the server's base URL, e.g. http://127.0.0.1:41234 (the api_base).
func (s *Server) URL() string { return s.url }

// Close stops the server; pending long polls end.
func (s *Server) Close() {
	if s.srv != nil {
		s.srv.Close()
	}
}

// Sent returns the messages sent to chatID, oldest first.
func (s *Server) Sent(chatID int64) []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []SentMessage
	for _, m := range s.sent {
		if m.ChatID == chatID {
			out = append(out, m)
		}
	}
	return out
}

// AllSent returns every message sent, oldest first.
func (s *Server) AllSent() []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SentMessage(nil), s.sent...)
}

// Actions returns the chat actions sent to chatID, oldest first.
func (s *Server) Actions(chatID int64) []ChatAction {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ChatAction
	for _, a := range s.actions {
		if a.ChatID == chatID {
			out = append(out, a)
		}
	}
	return out
}

// WaitSent waits until chatID has received at least n messages and returns
// them; the test fails after timeout.
func (s *Server) WaitSent(t testing.TB, chatID int64, n int, timeout time.Duration) []SentMessage {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := s.Sent(chatID)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("telegramtest: chat %d received %d messages, want %d: %+v", chatID, len(got), n, got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Calls counts the requests for method (successful or not) so far.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[strings.ToLower(method)]
}

// Block makes every later send to chatID fail with 403 and description
// (default "Forbidden: bot was blocked by the user"), as for a user who
// blocked the bot.
func (s *Server) Block(chatID int64, description string) {
	if description == "" {
		description = "Forbidden: bot was blocked by the user"
	}
	s.mu.Lock()
	s.blocked[chatID] = description
	s.mu.Unlock()
}

// Webhook returns the webhook as set by the bot.
func (s *Server) Webhook() WebhookInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.webhook
	w.PendingUpdateCount = len(s.queue)
	return w
}

// SetWebhook sets a webhook as if the bot had called setWebhook (from
// another deployment, say), so getUpdates answers 409.
func (s *Server) SetWebhook(url string) {
	s.mu.Lock()
	s.webhook.URL = url
	s.mu.Unlock()
}

// Enqueue queues updates for getUpdates. An update with UpdateID 0 gets the
// next identifier; identifiers increase sequentially. Updates whose type
// the bot excluded with allowed_updates are dropped, as Telegram does for
// updates created after the call. It returns the identifiers used.
func (s *Server) Enqueue(updates ...Update) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []int64
	for _, u := range updates {
		if u.UpdateID == 0 {
			s.nextUpdate++
			u.UpdateID = s.nextUpdate
		} else if u.UpdateID > s.nextUpdate {
			s.nextUpdate = u.UpdateID
		}
		ids = append(ids, u.UpdateID)
		if !s.allowedLocked(u.Type()) {
			continue
		}
		s.queue = append(s.queue, u)
	}
	close(s.changed)
	s.changed = make(chan struct{})
	return ids
}

// NextUpdateID reserves an update identifier, for updates delivered by
// webhook that should not collide with queued ones.
func (s *Server) NextUpdateID() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextUpdate++
	return s.nextUpdate
}

// Pending is the number of queued updates not yet confirmed.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// Confirmed is the highest offset getUpdates was called with: every update
// below it is confirmed and gone from the queue.
func (s *Server) Confirmed() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.confirmed
}

// allowedLocked applies the last allowed_updates: an empty list means every
// type except chat_member, message_reaction and message_reaction_count.
func (s *Server) allowedLocked(typ string) bool {
	if len(s.allowed) == 0 {
		return typ != "chat_member" && typ != "message_reaction" && typ != "message_reaction_count"
	}
	for _, a := range s.allowed {
		if a == typ {
			return true
		}
	}
	return false
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	token, method, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 {
		writeError(w, http.StatusNotFound, "Not Found", nil)
		return
	}
	if token != s.Token {
		writeError(w, http.StatusUnauthorized, "Unauthorized", nil)
		return
	}
	method = strings.ToLower(method)
	p, err := readParams(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "Bad Request: "+err.Error(), nil)
		return
	}
	s.mu.Lock()
	s.calls[method]++
	f := s.takeFailureLocked(method)
	s.mu.Unlock()
	if f != nil {
		if f.Delay > 0 {
			select {
			case <-time.After(f.Delay):
			case <-r.Context().Done():
				return
			}
		}
		if f.Drop {
			drop(w)
			return
		}
		if f.Status != 0 {
			writeFailure(w, *f)
			return
		}
	}
	var (
		status = http.StatusOK
		result any
		desc   string
		extra  map[string]any
	)
	switch method {
	case "getme":
		result = s.Bot
	case "sendmessage":
		status, result, desc = s.sendMessage(p)
	case "sendchataction":
		status, result, desc = s.sendChatAction(p)
	case "getupdates":
		status, result, desc = s.getUpdates(r, p)
	case "setwebhook":
		status, result, desc = s.setWebhook(p)
	case "deletewebhook":
		s.mu.Lock()
		s.webhook = WebhookInfo{DropPendingUpdates: p.bool("drop_pending_updates")}
		if p.bool("drop_pending_updates") {
			s.queue = nil
		}
		s.mu.Unlock()
		result = true
	case "getwebhookinfo":
		result = s.Webhook()
	case "answercallbackquery":
		status, result, desc = s.answerCallbackQuery(p)
	default:
		status, desc = http.StatusNotFound, "Not Found: method not found"
	}
	if f != nil && f.DropAfterAccept {
		drop(w)
		return
	}
	if status != http.StatusOK {
		writeError(w, status, desc, extra)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "result": result})
}

func (s *Server) sendMessage(p params) (int, any, string) {
	chatID, err := p.chatID()
	if err != nil {
		return http.StatusBadRequest, nil, "Bad Request: " + err.Error()
	}
	text := p.string("text")
	mode := p.string("parse_mode")
	switch {
	case strings.TrimSpace(text) == "":
		return http.StatusBadRequest, nil, "Bad Request: message text is empty"
	case utf16Len(text) > maxTextLength:
		return http.StatusBadRequest, nil, "Bad Request: message is too long"
	case mode != "" && mode != "HTML" && mode != "Markdown" && mode != "MarkdownV2":
		return http.StatusBadRequest, nil, "Bad Request: unsupported parse_mode"
	}
	var reply struct {
		MessageID int64 `json:"message_id"`
	}
	if raw, ok := p["reply_parameters"]; ok {
		if err := json.Unmarshal(unquoteJSON(raw), &reply); err != nil {
			return http.StatusBadRequest, nil, "Bad Request: can't parse reply parameters JSON object"
		}
	}
	thread, _ := strconv.ParseInt(p.string("message_thread_id"), 10, 64)
	var markup *ReplyMarkup
	if raw, ok := p["reply_markup"]; ok {
		var desc string
		if markup, desc = parseMarkup(unquoteJSON(raw)); desc != "" {
			return http.StatusBadRequest, nil, "Bad Request: " + desc
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if desc, ok := s.blocked[chatID]; ok {
		return http.StatusForbidden, nil, desc
	}
	s.nextMsgID[chatID]++
	m := SentMessage{
		ChatID: chatID, MessageID: s.nextMsgID[chatID], Text: text, ParseMode: mode,
		ReplyTo: reply.MessageID, ThreadID: thread, Params: p, Markup: markup, Time: time.Now(),
	}
	s.sent = append(s.sent, m)
	bot := s.Bot
	msg := Message{MessageID: m.MessageID, From: &bot, Date: m.Time.Unix(), Chat: chatOf(chatID), Text: text}
	if markup != nil && len(markup.InlineKeyboard) > 0 {
		// Only inline keyboards are shown on the message itself.
		msg.ReplyMarkup = &ReplyMarkup{InlineKeyboard: markup.InlineKeyboard}
	}
	return http.StatusOK, msg, ""
}

// parseMarkup checks a reply_markup: an InlineKeyboardMarkup (buttons with
// text and 1-64 bytes of callback_data, or a url), a ReplyKeyboardMarkup
// (buttons with text), a ReplyKeyboardRemove or a ForceReply. It returns
// the error description Telegram would give.
func parseMarkup(raw json.RawMessage) (*ReplyMarkup, string) {
	var m ReplyMarkup
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, "can't parse reply keyboard markup JSON object"
	}
	for _, row := range m.InlineKeyboard {
		for _, b := range row {
			switch {
			case b.Text == "":
				return nil, "text buttons are unallowed in the inline keyboard"
			case b.URL == "" && (b.CallbackData == "" || len(b.CallbackData) > maxCallbackData):
				return nil, "BUTTON_DATA_INVALID"
			}
		}
	}
	for _, row := range m.Keyboard {
		for _, b := range row {
			if b.Text == "" {
				return nil, "keyboard button text is empty"
			}
		}
	}
	if len(m.InlineKeyboard) == 0 && len(m.Keyboard) == 0 && !m.RemoveKeyboard && !m.ForceReply {
		return nil, "can't parse reply keyboard markup JSON object"
	}
	return &m, ""
}

// answerCallbackQuery answers a query made by PressButton, once: an
// unknown or already answered query gets Telegram's 400.
func (s *Server) answerCallbackQuery(p params) (int, any, string) {
	id := p.string("callback_query_id")
	s.mu.Lock()
	defer s.mu.Unlock()
	answered, known := s.queries[id]
	if !known || answered {
		return http.StatusBadRequest, nil, "Bad Request: query is too old and response timeout expired or query ID is invalid"
	}
	s.queries[id] = true
	s.answered = append(s.answered, CallbackAnswer{QueryID: id, Text: p.string("text"), Time: time.Now()})
	return http.StatusOK, true, ""
}

// PressButton is u pressing the inline keyboard button with callbackData
// under the sent message m: the callback_query update Telegram sends,
// with a fresh query id the bot may answer once.
func (s *Server) PressButton(u User, m SentMessage, callbackData string) Update {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextUpdate++
	id := strconv.FormatInt(s.nextUpdate*7919, 10)
	s.queries[id] = false
	bot := s.Bot
	return Update{UpdateID: s.nextUpdate, CallbackQuery: &CallbackQuery{
		ID: id, From: u, ChatInstance: "-" + strconv.FormatInt(m.ChatID, 10), Data: callbackData,
		Message: &Message{MessageID: m.MessageID, From: &bot, Date: m.Time.Unix(), Chat: chatOf(m.ChatID), Text: m.Text},
	}}
}

// CallbackAnswers returns the answerCallbackQuery calls that succeeded,
// oldest first.
func (s *Server) CallbackAnswers() []CallbackAnswer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]CallbackAnswer(nil), s.answered...)
}

// Post delivers u to a webhook url as Telegram does and returns the status
// code. Like Telegram, it carries out a Bot API method the webhook answers
// with ({"method":…} in a 2xx response body) against this server.
func (s *Server) Post(url, secret string, u Update) (int, error) {
	resp, err := http.DefaultClient.Do(WebhookRequest(url, secret, u))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var call map[string]json.RawMessage
	if json.Unmarshal(body, &call) != nil || call["method"] == nil {
		return resp.StatusCode, nil
	}
	var method string
	json.Unmarshal(call["method"], &method)
	delete(call, "method")
	// Telegram ignores the outcome of such a call; so does the fake.
	req, _ := http.NewRequest(http.MethodPost, s.url+"/bot"+s.Token+"/"+method, bytes.NewReader(mustJSON(call)))
	req.Header.Set("Content-Type", "application/json")
	if r, err := http.DefaultClient.Do(req); err == nil {
		r.Body.Close()
	}
	return resp.StatusCode, nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// chatActions are sendChatAction's documented actions.
var chatActions = map[string]bool{
	"typing": true, "upload_photo": true, "record_video": true, "upload_video": true,
	"record_voice": true, "upload_voice": true, "upload_document": true, "choose_sticker": true,
	"find_location": true, "record_video_note": true, "upload_video_note": true,
}

func (s *Server) sendChatAction(p params) (int, any, string) {
	chatID, err := p.chatID()
	if err != nil {
		return http.StatusBadRequest, nil, "Bad Request: " + err.Error()
	}
	action := p.string("action")
	if !chatActions[action] {
		return http.StatusBadRequest, nil, "Bad Request: wrong parameter action in request"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if desc, ok := s.blocked[chatID]; ok {
		return http.StatusForbidden, nil, desc
	}
	s.actions = append(s.actions, ChatAction{ChatID: chatID, Action: action, Time: time.Now()})
	return http.StatusOK, true, ""
}

func (s *Server) setWebhook(p params) (int, any, string) {
	u := p.string("url")
	secret := p.string("secret_token")
	if u != "" {
		parsed, err := url.Parse(u)
		if err != nil || parsed.Host == "" || (parsed.Scheme != "https" && !(s.AllowHTTPWebhook && parsed.Scheme == "http")) {
			return http.StatusBadRequest, nil, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
		}
	}
	if _, ok := p["secret_token"]; ok && !validSecret(secret) {
		return http.StatusBadRequest, nil, "Bad Request: secret token contains unallowed characters"
	}
	var allowed []string
	raw, hasAllowed := p["allowed_updates"]
	if hasAllowed {
		if err := json.Unmarshal(unquoteJSON(raw), &allowed); err != nil {
			return http.StatusBadRequest, nil, "Bad Request: can't parse allowed updates JSON array"
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if hasAllowed {
		s.allowed = allowed
	}
	s.webhook = WebhookInfo{
		URL: u, AllowedUpdates: s.allowed, SecretToken: secret,
		MaxConnections: 40, DropPendingUpdates: p.bool("drop_pending_updates"),
	}
	if p.bool("drop_pending_updates") {
		s.queue = nil
	}
	return http.StatusOK, true, ""
}

// getUpdates confirms the updates below offset and answers the ones from
// offset on, waiting up to timeout seconds for one. A newer getUpdates
// ends a waiting one with 409, as Telegram does with two bot instances.
func (s *Server) getUpdates(r *http.Request, p params) (int, any, string) {
	offset, _ := strconv.ParseInt(p.string("offset"), 10, 64)
	limit, _ := strconv.Atoi(p.string("limit"))
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	timeout, _ := strconv.Atoi(p.string("timeout"))
	var allowed []string
	raw, hasAllowed := p["allowed_updates"]
	if hasAllowed {
		if err := json.Unmarshal(unquoteJSON(raw), &allowed); err != nil {
			return http.StatusBadRequest, nil, "Bad Request: can't parse allowed updates JSON array"
		}
	}
	deadline := time.Now().Add(time.Duration(timeout) * time.Second)
	s.mu.Lock()
	if s.webhook.URL != "" {
		s.mu.Unlock()
		return http.StatusConflict, nil, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
	}
	if hasAllowed {
		s.allowed = allowed
	}
	s.pollGen++
	gen := s.pollGen
	switch {
	case offset > 0:
		if offset > s.confirmed {
			s.confirmed = offset
		}
		kept := s.queue[:0]
		for _, u := range s.queue {
			if u.UpdateID >= offset {
				kept = append(kept, u)
			}
		}
		s.queue = kept
	case offset < 0:
		if n := int(-offset); n < len(s.queue) {
			s.queue = append([]Update(nil), s.queue[len(s.queue)-n:]...)
		}
	}
	for {
		if gen != s.pollGen {
			s.mu.Unlock()
			return http.StatusConflict, nil, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
		}
		if len(s.queue) > 0 || !time.Now().Before(deadline) {
			n := min(limit, len(s.queue))
			out := append([]Update{}, s.queue[:n]...)
			s.mu.Unlock()
			return http.StatusOK, out, ""
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-time.After(time.Until(deadline)):
		case <-time.After(50 * time.Millisecond): // notice a newer poll
		case <-r.Context().Done():
			return http.StatusOK, []Update{}, ""
		}
		s.mu.Lock()
	}
}

func chatOf(id int64) Chat {
	if id < 0 {
		return Chat{ID: id, Type: "supergroup", Title: "Test group"}
	}
	return Chat{ID: id, Type: "private", FirstName: "Test"}
}

// validSecret applies setWebhook's rule for secret_token: 1-256 characters,
// only A-Z, a-z, 0-9, _ and -.
func validSecret(s string) bool {
	if len(s) < 1 || len(s) > 256 {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// params are a request's parameters. Values from a query string or a form
// are kept as JSON strings; from a JSON body as sent.
type params map[string]json.RawMessage

// readParams reads the parameters of a Bot API request, "passed in any of
// four ways": URL query string, application/x-www-form-urlencoded,
// application/json, multipart/form-data.
func readParams(r *http.Request) (params, error) {
	p := params{}
	for k, v := range r.URL.Query() {
		p[k], _ = json.Marshal(v[0])
	}
	if r.Method != http.MethodPost {
		return p, nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var body map[string]json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			return nil, fmt.Errorf("can't parse JSON object")
		}
		for k, v := range body {
			p[k] = v
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, fmt.Errorf("can't parse form")
		}
		for k, v := range r.PostForm {
			p[k], _ = json.Marshal(v[0])
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			return nil, fmt.Errorf("can't parse multipart form")
		}
		for k, v := range r.MultipartForm.Value {
			p[k], _ = json.Marshal(v[0])
		}
	}
	return p, nil
}

// string returns a parameter as text: a JSON string's value, or any other
// JSON value as written.
func (p params) string(name string) string {
	raw, ok := p[name]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

func (p params) bool(name string) bool {
	v := p.string(name)
	return v == "true" || v == "True" || v == "1"
}

// chatID reads chat_id, "Integer or String"; the fake knows only numeric
// chats.
func (p params) chatID() (int64, error) {
	v := p.string("chat_id")
	if v == "" {
		return 0, fmt.Errorf("chat_id is empty")
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("chat not found")
	}
	return id, nil
}

// unquoteJSON turns a JSON string holding JSON (a form field carrying a
// "JSON-serialized" object or list) into that JSON.
func unquoteJSON(raw json.RawMessage) json.RawMessage {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return json.RawMessage(s)
	}
	return raw
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, desc string, parameters map[string]any) {
	body := map[string]any{"ok": false, "error_code": status, "description": desc}
	if len(parameters) > 0 {
		body["parameters"] = parameters
	}
	writeJSON(w, status, body)
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("telegramtest: connection cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		conn.Close()
	}
}
