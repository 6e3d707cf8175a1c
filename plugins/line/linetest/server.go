package linetest

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// errorBody is LINE's error response body.
type errorBody struct {
	Message      string        `json:"message"`
	Details      []errorDetail `json:"details,omitempty"`
	SentMessages []sentMessage `json:"sentMessages,omitempty"`
}

type errorDetail struct {
	Message  string `json:"message"`
	Property string `json:"property"`
}

// sentMessage is an entry of "sentMessages".
type sentMessage struct {
	ID         string `json:"id"`
	QuoteToken string `json:"quoteToken,omitempty"`
}

// messageObject is the part of a message object the fake checks.
type messageObject struct {
	Type       string      `json:"type"`
	Text       string      `json:"text"`
	QuickReply *QuickReply `json:"quickReply,omitempty"`
}

// QuickReply is a message's quick reply buttons
// (developers.line.biz/en/reference/messaging-api/#items-object).
type QuickReply struct {
	Items []QuickReplyItem `json:"items"`
}

// QuickReplyItem is one quick reply button: Type "action" and its action.
type QuickReplyItem struct {
	Type     string `json:"type"`
	ImageURL string `json:"imageUrl,omitempty"`
	Action   Action `json:"action"`
}

// Action is an action object; the fake checks the message and postback
// actions (developers.line.biz/en/reference/messaging-api/#action-objects).
type Action struct {
	Type        string `json:"type"`
	Label       string `json:"label"`
	Text        string `json:"text,omitempty"`
	Data        string `json:"data,omitempty"`
	DisplayText string `json:"displayText,omitempty"`
}

// checkQuickReply validates quick reply buttons as documented: 1 to 13
// items of type "action"; labels of 1 to 20 characters; a message
// action's text and a postback action's data 1 to 300 characters, its
// displayText at most 300.
func checkQuickReply(q *QuickReply, prop string) []errorDetail {
	var details []errorDetail
	add := func(p, msg string) { details = append(details, errorDetail{Message: msg, Property: prop + p}) }
	if len(q.Items) < 1 || len(q.Items) > 13 {
		add(".items", "Size must be between 1 and 13")
	}
	chars := func(s string) int { return len([]rune(s)) }
	for i, it := range q.Items {
		p := ".items[" + strconv.Itoa(i) + "]"
		if it.Type != "action" {
			add(p+".type", "Must be one of the following values: [action]")
		}
		a := it.Action
		if n := chars(a.Label); n < 1 || n > 20 {
			add(p+".action.label", "Length must be between 1 and 20")
		}
		switch a.Type {
		case "message":
			if n := chars(a.Text); n < 1 || n > 300 {
				add(p+".action.text", "Length must be between 1 and 300")
			}
		case "postback":
			if n := chars(a.Data); n < 1 || n > 300 {
				add(p+".action.data", "Length must be between 1 and 300")
			}
			if chars(a.DisplayText) > 300 {
				add(p+".action.displayText", "Length must be between 0 and 300")
			}
		default:
			add(p+".action.type", "This fake only takes message and postback actions")
		}
	}
	return details
}

// retryKeyPattern is a UUID in hexadecimal notation.
var retryKeyPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// ServeHTTP answers one API request.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 2<<20))
	call := Call{Method: r.Method, Path: r.URL.Path, RetryKey: r.Header.Get("X-Line-Retry-Key"), RequestID: newUUID()}
	var handle func(http.ResponseWriter, *http.Request, []byte, *Call)
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v2/bot/message/reply":
		call.Endpoint, handle = EndpointReply, f.reply
	case r.Method == http.MethodPost && r.URL.Path == "/v2/bot/message/push":
		call.Endpoint, handle = EndpointPush, f.push
	case r.Method == http.MethodPost && r.URL.Path == "/v2/bot/chat/loading/start":
		call.Endpoint, handle = EndpointLoading, f.loading
	case r.Method == http.MethodGet && r.URL.Path == "/v2/bot/info":
		call.Endpoint, handle = EndpointInfo, f.info
	default:
		handle = func(w http.ResponseWriter, _ *http.Request, _ []byte, _ *Call) {
			writeError(w, http.StatusNotFound, errorBody{Message: "Not found"})
		}
	}

	f.mu.Lock()
	call.At = f.now()
	fail, failing := f.takeFailure(call.Endpoint)
	f.mu.Unlock()
	w.Header().Set("X-Line-Request-Id", call.RequestID)
	if failing && fail.Delay > 0 {
		time.Sleep(fail.Delay)
	}

	switch {
	case failing && fail.Drop:
		f.record(call)
		drop(w)
		return
	case failing && fail.DropAfterAccept:
		rec := httptest.NewRecorder()
		rec.Header().Set("X-Line-Request-Id", call.RequestID)
		f.serve(rec, r, body, &call, handle)
		call.Status = 0
		f.record(call)
		drop(w)
		return
	case failing && fail.Status != 0:
		call.Status = fail.Status
		decodeForRecord(body, &call)
		f.record(call)
		if fail.RetryAfter != "" {
			w.Header().Set("Retry-After", fail.RetryAfter)
		}
		msg := fail.Message
		if msg == "" {
			msg = defaultMessage(fail.Status)
		}
		writeError(w, fail.Status, errorBody{Message: msg})
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	f.serve(sw, r, body, &call, handle)
	call.Status = sw.status
	f.record(call)
}

// serve checks authentication and the content type, then runs handle.
func (f *Fake) serve(w http.ResponseWriter, r *http.Request, body []byte, call *Call, handle func(http.ResponseWriter, *http.Request, []byte, *Call)) {
	decodeForRecord(body, call)
	auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || auth == "" || (f.AccessToken != "" && auth != f.AccessToken) {
		writeError(w, http.StatusUnauthorized, errorBody{Message: defaultMessage(http.StatusUnauthorized)})
		return
	}
	if r.Method == http.MethodPost {
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, errorBody{Message: fmt.Sprintf("The content type, %s, is not supported", r.Header.Get("Content-Type"))})
			return
		}
	}
	handle(w, r, body, call)
}

func (f *Fake) record(c Call) {
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
}

// decodeForRecord fills the call's fields from a JSON body, best effort.
func decodeForRecord(body []byte, call *Call) {
	var req struct {
		ReplyToken     string          `json:"replyToken"`
		To             string          `json:"to"`
		ChatID         string          `json:"chatId"`
		LoadingSeconds int             `json:"loadingSeconds"`
		Messages       []messageObject `json:"messages"`
	}
	if json.Unmarshal(body, &req) != nil {
		return
	}
	call.ReplyToken, call.LoadingSeconds = req.ReplyToken, req.LoadingSeconds
	call.To = req.To
	if req.ChatID != "" {
		call.To = req.ChatID
	}
	call.Texts = nil
	for _, m := range req.Messages {
		call.Texts = append(call.Texts, m.Text)
	}
}

// reply answers POST /v2/bot/message/reply.
func (f *Fake) reply(w http.ResponseWriter, r *http.Request, body []byte, call *Call) {
	if r.Header.Get("X-Line-Retry-Key") != "" {
		writeError(w, http.StatusBadRequest, errorBody{Message: "The retry key is not supported by this API"})
		return
	}
	var req struct {
		ReplyToken string          `json:"replyToken"`
		Messages   []messageObject `json:"messages"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, errorBody{Message: "The request body could not be parsed as JSON"})
		return
	}
	details := checkMessages(req.Messages)
	if req.ReplyToken == "" {
		details = append(details, errorDetail{Message: "May not be empty", Property: "replyToken"})
	}
	if len(details) > 0 {
		writeError(w, http.StatusBadRequest, errorBody{Message: fmt.Sprintf("The request body has %d error(s)", len(details)), Details: details})
		return
	}
	f.mu.Lock()
	tok := f.tokens[req.ReplyToken]
	if tok == nil || tok.used || f.now().Sub(tok.issued) > f.ttl() {
		f.mu.Unlock()
		writeError(w, http.StatusBadRequest, errorBody{Message: "Invalid reply token"})
		return
	}
	tok.used = true
	call.To = tok.chat
	sent := f.deliverLocked(EndpointReply, tok.chat, "", req.Messages)
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"sentMessages": sent})
}

// push answers POST /v2/bot/message/push.
func (f *Fake) push(w http.ResponseWriter, r *http.Request, body []byte, _ *Call) {
	key := r.Header.Get("X-Line-Retry-Key")
	if key != "" && !retryKeyPattern.MatchString(key) {
		writeError(w, http.StatusBadRequest, errorBody{Message: "The value for the 'X-Line-Retry-Key' header is invalid"})
		return
	}
	var req struct {
		To       string          `json:"to"`
		Messages []messageObject `json:"messages"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, errorBody{Message: "The request body could not be parsed as JSON"})
		return
	}
	details := checkMessages(req.Messages)
	if req.To == "" {
		details = append(details, errorDetail{Message: "May not be empty", Property: "to"})
	}
	if len(details) > 0 {
		writeError(w, http.StatusBadRequest, errorBody{Message: fmt.Sprintf("The request body has %d error(s)", len(details)), Details: details})
		return
	}
	f.mu.Lock()
	if prev, ok := f.accepted[key]; ok && key != "" && f.now().Sub(prev.at) < retryKeyLifetime {
		f.mu.Unlock()
		w.Header().Set("X-Line-Accepted-Request-Id", prev.requestID)
		writeError(w, http.StatusConflict, errorBody{Message: "The retry key is already accepted", SentMessages: prev.sent})
		return
	}
	sent := f.deliverLocked(EndpointPush, req.To, key, req.Messages)
	if key != "" {
		if f.accepted == nil {
			f.accepted = map[string]acceptedPush{}
		}
		f.accepted[key] = acceptedPush{requestID: w.Header().Get("X-Line-Request-Id"), sent: sent, at: f.now()}
	}
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"sentMessages": sent})
}

// loading answers POST /v2/bot/chat/loading/start.
func (f *Fake) loading(w http.ResponseWriter, _ *http.Request, body []byte, _ *Call) {
	var req struct {
		ChatID         string `json:"chatId"`
		LoadingSeconds *int   `json:"loadingSeconds"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, errorBody{Message: "The request body could not be parsed as JSON"})
		return
	}
	var details []errorDetail
	if !strings.HasPrefix(req.ChatID, "U") {
		details = append(details, errorDetail{Message: "Only user id is acceptable, please confirm if there are any group/room ids or illegal ids.", Property: "chatId"})
	}
	if s := req.LoadingSeconds; s != nil {
		if *s < 5 || *s > 60 {
			details = append(details, errorDetail{Message: "Must be between 5 and 60", Property: "loadingSeconds"})
		}
		if *s%5 != 0 {
			details = append(details, errorDetail{Message: "must be a multiple of five", Property: "loadingSeconds"})
		}
	}
	if len(details) > 0 {
		writeError(w, http.StatusBadRequest, errorBody{Message: fmt.Sprintf("The request body has %d error(s)", len(details)), Details: details})
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{})
}

// info answers GET /v2/bot/info.
func (f *Fake) info(w http.ResponseWriter, _ *http.Request, _ []byte, _ *Call) {
	writeJSON(w, http.StatusOK, map[string]string{
		"userId": BotUserID, "basicId": "@000fake", "displayName": "Fake LINE bot",
		"chatMode": "bot", "markAsReadMode": "auto",
	})
}

// checkMessages validates a message array: 1 to 5 text messages of 1 to
// 5000 UTF-16 code units.
func checkMessages(msgs []messageObject) []errorDetail {
	var details []errorDetail
	switch {
	case len(msgs) == 0:
		return []errorDetail{{Message: "Size must be between 1 and 5", Property: "messages"}}
	case len(msgs) > 5:
		details = append(details, errorDetail{Message: "Size must be between 1 and 5", Property: "messages"})
	}
	for i, m := range msgs {
		prop := "messages[" + strconv.Itoa(i) + "]"
		switch {
		case m.Type != "text":
			details = append(details, errorDetail{Message: "This fake only takes text messages", Property: prop + ".type"})
		case m.Text == "":
			details = append(details, errorDetail{Message: "May not be empty", Property: prop + ".text"})
		case len(utf16.Encode([]rune(m.Text))) > 5000:
			details = append(details, errorDetail{Message: "Length must be between 0 and 5000", Property: prop + ".text"})
		}
		if m.QuickReply != nil {
			details = append(details, checkQuickReply(m.QuickReply, prop+".quickReply")...)
		}
	}
	return details
}

// deliverLocked stores delivered messages and returns their sentMessages.
// Called with f.mu held.
func (f *Fake) deliverLocked(via, to, key string, msgs []messageObject) []sentMessage {
	sent := make([]sentMessage, len(msgs))
	for i, m := range msgs {
		f.nextID++
		id := strconv.FormatInt(461230966842064897+f.nextID, 10)
		sent[i] = sentMessage{ID: id, QuoteToken: randomHex(8)}
		f.delivered = append(f.delivered, Delivery{Via: via, To: to, Text: m.Text, MessageID: id, RetryKey: key, QuickReply: m.QuickReply})
	}
	return sent
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, body errorBody) {
	writeJSON(w, status, body)
}

// drop closes the client's connection without an answer.
func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("linetest: connection cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		conn.Close()
	}
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}
