// Package linetest is a fake LINE Messaging API for tests, written from
// LINE's API reference (developers.line.biz/en/reference/messaging-api and
// /en/docs/messaging-api/retrying-api-request), not from any client:
//
//   - POST /v2/bot/message/reply: reply tokens are issued by the fake
//     ([Fake.NewReplyToken]), single use, and expire after
//     [Fake.ReplyTokenTTL] (one minute as documented); a used, expired or
//     unknown token gets 400 {"message":"Invalid reply token"}. An
//     X-Line-Retry-Key on a reply is a 400, as documented for endpoints
//     without retry support.
//   - POST /v2/bot/message/push: an optional X-Line-Retry-Key (a UUID in
//     hexadecimal notation) makes the request execute once: a repeat
//     within 24 hours gets 409, the x-line-accepted-request-id header and
//     {"message":"The retry key is already accepted","sentMessages":[…]}.
//   - POST /v2/bot/chat/loading/start: 1:1 chats only (chatId "U…"),
//     loadingSeconds 5..60 in steps of 5 (default 20); 202 {}.
//   - GET /v2/bot/info: the bot's info.
//
// Every answer carries x-line-request-id; errors have LINE's body
// {"message":…,"details":[{"message","property"}]}. Requests need
// "Authorization: Bearer <AccessToken>" (401 otherwise) and JSON bodies a
// Content-Type of application/json (415 otherwise); message arrays take 1
// to 5 text messages of 1 to 5000 UTF-16 code units, each with optional
// quick reply buttons (1 to 13 message or postback actions, labels of 1 to
// 20 characters, texts and data of 1 to 300). [Event] with Type
// "postback" builds the webhook event of a tapped postback action.
//
// Failures are scripted with [Fake.FailNext]: a status (429 with an
// optional Retry-After, 500, 400…), a dropped connection before anything
// happens, or a dropped connection after the request was carried out.
// [Sign] signs webhook bodies the way LINE does.
package linetest

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Endpoints, as named in [Call] and [Fake.FailNext].
const (
	EndpointReply   = "reply"
	EndpointPush    = "push"
	EndpointLoading = "loading"
	EndpointInfo    = "info"
)

// BotUserID is the bot's user ID reported by /v2/bot/info and used as the
// webhook "destination".
const BotUserID = "U0123456789abcdef0123456789abcdef"

// retryKeyLifetime is how long LINE remembers a retry key.
const retryKeyLifetime = 24 * time.Hour

// Call is one API request the fake received, failed ones included.
type Call struct {
	// Endpoint is EndpointReply, EndpointPush, EndpointLoading or
	// EndpointInfo ("" for unknown paths).
	Endpoint string
	// Method and Path of the request.
	Method, Path string
	// RetryKey is the X-Line-Retry-Key header.
	RetryKey string
	// ReplyToken is a reply's replyToken.
	ReplyToken string
	// To is a push's "to", a loading request's chatId, or the chat a reply
	// token belongs to.
	To string
	// Texts are the texts of the message objects.
	Texts []string
	// LoadingSeconds of a loading request (0 when absent).
	LoadingSeconds int
	// Status is the status answered; 0 when the connection was dropped
	// before an answer.
	Status int
	// RequestID is the x-line-request-id answered.
	RequestID string
	// At is when the request arrived.
	At time.Time
}

// Delivery is one message the fake delivered to a chat.
type Delivery struct {
	// Via is EndpointReply or EndpointPush.
	Via string
	// To is the user, group or room.
	To string
	// Text of the message.
	Text string
	// MessageID is the id reported in sentMessages.
	MessageID string
	// RetryKey of the push that delivered it ("" for replies and pushes
	// without a key).
	RetryKey string
	// QuickReply are the message's quick reply buttons; nil for none.
	QuickReply *QuickReply
}

// Fake is a fake LINE Messaging API. Set its fields before Start. Its
// methods are safe for concurrent use; it is also an [http.Handler].
type Fake struct {
	// AccessToken is the channel access token requests must carry; empty
	// accepts any non-empty bearer token.
	AccessToken string
	// ReplyTokenTTL is how long a reply token can be used; default one
	// minute.
	ReplyTokenTTL time.Duration
	// Now is the fake's clock; default time.Now.
	Now func() time.Time

	mu        sync.Mutex
	calls     []Call
	delivered []Delivery
	tokens    map[string]*replyToken
	accepted  map[string]acceptedPush
	failures  []scriptedFailure
	nextID    int64
	srv       *httptest.Server
}

// replyToken is an issued reply token.
type replyToken struct {
	chat   string
	issued time.Time
	used   bool
}

// acceptedPush is what LINE remembers of a push accepted with a retry key.
type acceptedPush struct {
	requestID string
	sent      []sentMessage
	at        time.Time
}

// New returns a fake that accepts the given channel access token.
func New(accessToken string) *Fake { return &Fake{AccessToken: accessToken} }

// Start serves the fake on a free port of 127.0.0.1 and returns its base
// URL, to be used as the plugin's api_base. It is closed when the test ends.
func (f *Fake) Start(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("linetest: listen: %v", err)
	}
	srv := httptest.NewUnstartedServer(f)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	f.mu.Lock()
	f.srv = srv
	f.mu.Unlock()
	t.Cleanup(srv.Close)
	return srv.URL
}

// URL returns the base URL of the running fake.
func (f *Fake) URL() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.srv == nil {
		return ""
	}
	return f.srv.URL
}

// NewReplyToken issues a reply token for a chat (user, group or room ID),
// as LINE does with a webhook event. Its lifetime starts now.
func (f *Fake) NewReplyToken(chat string) string {
	token := randomHex(16)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tokens == nil {
		f.tokens = map[string]*replyToken{}
	}
	f.tokens[token] = &replyToken{chat: chat, issued: f.now()}
	return token
}

// Calls returns every request received so far, in order; with endpoints
// given, only those.
func (f *Fake) Calls(endpoints ...string) []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Call
	for _, c := range f.calls {
		if len(endpoints) == 0 || contains(endpoints, c.Endpoint) {
			out = append(out, c)
		}
	}
	return out
}

// Delivered returns every message delivered so far, in order.
func (f *Fake) Delivered() []Delivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Delivery(nil), f.delivered...)
}

// DeliveredTexts returns the texts delivered to a chat, in order.
func (f *Fake) DeliveredTexts(to string) []string {
	var out []string
	for _, d := range f.Delivered() {
		if d.To == to {
			out = append(out, d.Text)
		}
	}
	return out
}

func (f *Fake) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

func (f *Fake) ttl() time.Duration {
	if f.ReplyTokenTTL > 0 {
		return f.ReplyTokenTTL
	}
	return time.Minute
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newUUID returns a random version 4 UUID, LINE's request id format.
func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
