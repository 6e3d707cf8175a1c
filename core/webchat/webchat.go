// Package webchat is the built-in web chat channel "web": the visitor API
// under /w/v1, the full-page chat at /w/ and the widget script web sites
// embed (/w/widget.js).
//
// A visitor holds a random token (only its hash is stored) that opens one
// conversation. Their messages are committed to the store's inbox like a
// platform's webhook events, so the engine answers them in the
// conversation's lane; replies are read from the transcript, which the
// event stream (server-sent events, one per open chat window) pushes as it
// grows. Every event of the stream that changes what the visitor has seen
// carries the message's sequence number as its id, so a client that
// reconnects with Last-Event-ID gets exactly what it missed.
package webchat

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/httpapi"
	"github.com/switchboard-chat/switchboard/core/internal/routes"
	"github.com/switchboard-chat/switchboard/core/live"
	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

// Channel is the name of the web chat's conversations' channel.
const Channel = "web"

// Prefix is where the web chat is served.
const Prefix = "/w/"

// Config is the web chat's behaviour, from the [webchat] section. Every
// field is used as given: the defaults live in core/config.
type Config struct {
	// AllowedOrigins are the sites that may embed the widget and call the
	// visitor API ("*": any). The daemon's own origin is always allowed.
	AllowedOrigins []string
	// Title heads the chat window; Color is its accent (#rgb or #rrggbb).
	Title, Color string
	// IdentitySecret verifies identified visitors; "" refuses them.
	IdentitySecret string
	// MaxMessageChars is the longest message a visitor may send.
	MaxMessageChars int
	// RatePerVisitor and RatePerAddress are messages per minute, with
	// bursts; 0 means no limit.
	RatePerVisitor, RatePerAddress int
	// TrustedProxies are the addresses whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Store is what the web chat reads and writes.
type Store interface {
	OpenVisitorConversation(ctx context.Context, channel, ref string, user sdk.User, tokenHash []byte) (store.Conversation, error)
	VisitorConversation(tokenHash []byte) (store.Conversation, error)
	Conversation(id string) (store.Conversation, error)
	ListConversations(state conversation.State, limit int) ([]store.Conversation, error)
	CommitEvents(ctx context.Context, channel string, events []sdk.Event) (store.CommitResult, error)
	MessageByEventID(convID, eventID string) (store.Message, error)
	Messages(convID string, after uint64, limit int) ([]store.Message, error)
	Watch(convID string) (<-chan struct{}, func())
	Ratings(convID string) ([]store.Rating, error)
}

// Engine performs a visitor's requests in the conversation's lane.
type Engine interface {
	Do(ctx context.Context, convID string, req conversation.Event) (store.Conversation, error)
}

// Signals carries what is never stored: typing, in both directions.
type Signals interface {
	Publish(s live.Signal)
	Subscribe(convID string) (<-chan live.Signal, func())
}

// Server serves the web chat. Run must be running for its event streams.
type Server struct {
	cfg     Config
	st      Store
	eng     Engine
	signals Signals
	log     logrus.FieldLogger
	mux     *routes.Table
	assets  map[string]*asset
	queue   *queue
	boxes   *typingBoxes

	visitors, addresses, typing *limiters

	// done is closed when Run ends: open streams end with it, so a
	// shutting-down server is not kept waiting by them.
	done     chan struct{}
	stopOnce sync.Once

	streamsMu sync.Mutex
	streams   map[string][]*streamState // open event streams per conversation, oldest first
}

// New returns the web chat's handler for everything under Prefix.
func New(cfg Config, st Store, eng Engine, signals Signals, log logrus.FieldLogger) (*Server, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	for i, o := range cfg.AllowedOrigins {
		cfg.AllowedOrigins[i] = strings.TrimSuffix(o, "/")
	}
	s := &Server{
		cfg: cfg, st: st, eng: eng, signals: signals, log: log,
		mux:       routes.New(),
		queue:     newQueue(st),
		boxes:     newTypingBoxes(),
		visitors:  newLimiters(cfg.RatePerVisitor, cfg.Now),
		addresses: newLimiters(cfg.RatePerAddress, cfg.Now),
		typing:    newLimiters(typingPerMinute, cfg.Now),
		done:      make(chan struct{}),
		streams:   map[string][]*streamState{},
	}
	var err error
	if s.assets, err = loadAssets(cfg); err != nil {
		return nil, err
	}
	s.mux.HandleFunc("GET /w/{$}", s.serveAsset("index.html"))
	s.mux.HandleFunc("GET /w/widget.js", s.serveAsset("widget.js"))
	s.mux.HandleFunc("GET /w/widget.css", s.serveAsset("widget.css"))
	s.mux.HandleFunc("GET /w/v1/config", s.api(s.config))
	s.mux.HandleFunc("POST /w/v1/session", s.api(s.session))
	s.mux.HandleFunc("POST /w/v1/messages", s.api(s.visitor(s.postMessage)))
	s.mux.HandleFunc("GET /w/v1/messages", s.api(s.visitor(s.listMessages)))
	s.mux.HandleFunc("GET /w/v1/events", s.api(s.events))
	s.mux.HandleFunc("POST /w/v1/typing", s.api(s.visitor(s.postTyping)))
	s.mux.HandleFunc("POST /w/v1/handoff", s.api(s.visitor(s.handoff)))
	s.mux.HandleFunc("POST /w/v1/rating", s.api(s.visitor(s.rate)))
	s.mux.HandleFunc("OPTIONS /w/v1/", s.preflight)
	s.mux.HandleFunc("/w/v1/", s.api(func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteError(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.Method+" "+r.URL.Path)
	}))
	s.mux.HandleFunc("/w/", func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w)
		http.NotFound(w, r)
	})
	return s, nil
}

// Run keeps the queue positions fresh and forgets idle rate limits until
// ctx ends; then it ends the open event streams.
func (s *Server) Run(ctx context.Context) {
	defer s.stopOnce.Do(func() { close(s.done) })
	sweep := time.NewTicker(limiterIdle)
	defer sweep.Stop()
	go s.queue.run(ctx)
	go s.boxes.run(ctx, s.signals)
	for {
		select {
		case <-ctx.Done():
			return
		case <-sweep.C:
			for _, l := range []*limiters{s.visitors, s.addresses, s.typing} {
				l.sweep()
			}
		}
	}
}

// Routes returns the patterns of every route the web chat registered, in
// http.ServeMux syntax.
func (s *Server) Routes() []string { return s.mux.Patterns() }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/w" {
		http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// securityHeaders go on every answer.
func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
}

// api wraps a visitor API handler: security headers, CORS (403 for a site
// not allowed), no caching, and the body limit.
func (s *Server) api(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		if !s.cors(w, r) {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		h(w, r)
	}
}

// maxBodyBytes bounds a visitor request's body: a message at the largest
// allowed length fits many times over.
const maxBodyBytes = 64 << 10

// Headers a cross-site client may send and read.
const (
	allowHeaders  = "Authorization, Content-Type, Last-Event-ID"
	exposeHeaders = "Retry-After"
)

// cors adds the CORS headers for an allowed site and reports whether the
// request may go on; a site that is not allowed gets 403.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || sameOrigin(origin, r) {
		return true
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	if !s.originAllowed(origin) {
		httpapi.WriteError(w, http.StatusForbidden, "origin_not_allowed",
			"the site "+origin+" may not use this chat; add it to webchat.allowed_origins")
		return false
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Expose-Headers", exposeHeaders)
	return true
}

// preflight answers a browser's CORS preflight for the visitor API.
func (s *Server) preflight(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w)
	if !s.cors(w, r) {
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "GET, POST")
	h.Set("Access-Control-Allow-Headers", allowHeaders)
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) originAllowed(origin string) bool {
	return slices.Contains(s.cfg.AllowedOrigins, "*") || slices.Contains(s.cfg.AllowedOrigins, origin)
}

// sameOrigin reports whether a browser's Origin is the daemon's own host
// (the scheme is not compared: behind a TLS proxy the daemon sees http).
func sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

// frameAncestors is the CSP source list of the sites that may show the
// chat page in a frame.
func (s *Server) frameAncestors() string {
	if slices.Contains(s.cfg.AllowedOrigins, "*") {
		return "*"
	}
	return strings.Join(append([]string{"'self'"}, s.cfg.AllowedOrigins...), " ")
}

// hashToken is how a visitor token is stored and looked up.
func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// visitor wraps a handler that needs the visitor's conversation (see
// conversationOf).
func (s *Server) visitor(h func(w http.ResponseWriter, r *http.Request, c store.Conversation)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if c, ok := s.conversationOf(w, r); ok {
			h(w, r, c)
		}
	}
}

// conversationOf is the conversation of the request's visitor token. It
// answers the request itself when there is none: 401 without a valid
// token, 404 when the request names another conversation than the
// token's.
func (s *Server) conversationOf(w http.ResponseWriter, r *http.Request) (store.Conversation, bool) {
	token, ok := httpapi.BearerToken(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard-webchat"`)
		httpapi.WriteError(w, http.StatusUnauthorized, "unauthorized", "missing visitor token: start with POST /w/v1/session")
		return store.Conversation{}, false
	}
	c, err := s.st.VisitorConversation(hashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard-webchat", error="invalid_token"`)
		httpapi.WriteError(w, http.StatusUnauthorized, "invalid_token", "unknown visitor token: start a new session")
		return store.Conversation{}, false
	}
	if err != nil {
		s.internalError(w, "find visitor", err)
		return store.Conversation{}, false
	}
	if id := r.URL.Query().Get("conversation_id"); id != "" && id != c.ID {
		notFound(w, id)
		return store.Conversation{}, false
	}
	return c, true
}

func notFound(w http.ResponseWriter, id string) {
	httpapi.WriteError(w, http.StatusNotFound, "not_found", "conversation "+id+" not found")
}

func (s *Server) internalError(w http.ResponseWriter, what string, err error) {
	s.log.WithError(err).Error("web chat: " + what)
	httpapi.WriteError(w, http.StatusInternalServerError, "internal", "internal error")
}
