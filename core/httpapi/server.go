// Package httpapi is the daemon's HTTP surface: platform webhooks, health
// and readiness probes, and the REST API under /v1.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/internal/routes"
	"github.com/switchboard-chat/switchboard/core/metrics"
	"github.com/switchboard-chat/switchboard/core/sse"
	"github.com/switchboard-chat/switchboard/core/stats"
	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"

	"github.com/switchboard-chat/switchboard/core/conversation"
)

// APIChannel is the name of the built-in channel of conversations opened
// through the REST API.
const APIChannel = "api"

// Store is what the HTTP layer needs from the durable store.
type Store interface {
	CommitEvents(ctx context.Context, channel string, events []sdk.Event) (store.CommitResult, error)
	CreateConversation(ctx context.Context, c store.Conversation) (store.Conversation, error)
	Conversation(id string) (store.Conversation, error)
	ConversationPage(state conversation.State, p store.Page) ([]store.Conversation, error)
	ActivityTimes(cs []store.Conversation) ([]time.Time, error)
	Messages(convID string, after uint64, limit int) ([]store.Message, error)
	MessagePage(convID string, p store.Page) ([]store.Message, error)
	AuditPage(p store.Page) ([]store.AuditEntry, error)
	WaitMessages(ctx context.Context, convID string, after uint64, limit int) ([]store.Message, error)
	Transitions(convID string) ([]conversation.Transition, error)
	Ratings(convID string) ([]store.Rating, error)
	KeyLookup
	APIKeys() ([]store.APIKey, error)
	Update(ctx context.Context, fn func(tx *store.Tx) error) error
	Audit(after uint64, limit int) ([]store.AuditEntry, error)
	VerifyAudit() (int, error)
	DeadLetters() ([]store.DeadLetter, error)
	Backup(w io.Writer) (int64, error)
	EventStore
	OAuthStore
	// Now is the clock of token lifetimes, rate limits and audit times.
	Now() time.Time
	KBGaps(limit int) ([]store.KBGap, error)
}

// Channels finds the plugin serving a channel instance.
type Channels interface {
	// Channel returns the instance's current client; ok is false for an
	// unknown instance, err is set while the plugin is not running.
	Channel(instance string) (ch sdk.Channel, ok bool, err error)
}

// Actions changes conversations on behalf of API clients; each call waits
// until the change is committed.
type Actions interface {
	RequestHandoff(ctx context.Context, convID, reason string) (store.Conversation, error)
	Close(ctx context.Context, convID string) (store.Conversation, error)
	// Requeue hands a delivery moved back from the dead letters to the
	// running deliverer.
	Requeue(e store.OutboxEntry)
}

// Readiness reports whether the daemon can do its work, with details.
type Readiness func() (ready bool, details any)

// Config is what the server needs to know.
type Config struct {
	MaxBodyBytes int64
	// APIKeys are static full-scope keys from the config file.
	APIKeys []string
	// AllowIPs, when set, limits every /v1 request to these addresses
	// and CIDRs.
	AllowIPs []string
	// TrustedProxies are the addresses whose X-Forwarded-For is believed.
	TrustedProxies []string
	// LocalKey, when set, is a full-scope key named "cli": the switchboard
	// command uses it to run admin requests in-process on the database
	// file while no daemon is running.
	LocalKey string
	// Metrics records webhook outcomes and serves GET /metrics; nil: none.
	Metrics *metrics.Metrics
	// Stats computes the support KPIs of GET /v1/stats; nil: 404.
	Stats func(from, to time.Time) (any, error)
	// WebhookTimeout bounds a plugin's handling of one webhook. Default 10s.
	WebhookTimeout time.Duration
	// MaxWait caps the long-poll ?wait of the messages endpoint. Default 60s.
	MaxWait time.Duration
	// OAuthTokenTTL is the lifetime of the access tokens of POST
	// /oauth/token; 0 serves no token endpoint (the admin commands'
	// in-process server has none).
	OAuthTokenTTL time.Duration
	// Operators manages the console's accounts (/v1/admin/operators); nil:
	// those routes are not served.
	Operators Operators
	// KB serves /v1/kb; nil answers its document and search routes 404.
	KB KnowledgeBase
	// Tickets serves /v1/tickets; nil answers them 404.
	Tickets Tickets
}

// Server serves the HTTP API.
type Server struct {
	cfg      Config
	store    Store
	channels Channels
	actions  Actions
	ready    Readiness
	log      logrus.FieldLogger
	access   *access
	mux      *routes.Table
	// scopes are the scopes of the /v1 routes, by pattern.
	scopes map[string]string
	// closing is closed by CloseStreams: long-lived responses end.
	closing   chan struct{}
	closeOnce sync.Once
	// heartbeat is how often an idle event stream shows it is alive.
	heartbeat time.Duration
	// rejections logs refused webhooks, sampled.
	rejections *rejectionLog
}

// New builds the server's routes.
func New(cfg Config, st Store, channels Channels, actions Actions, ready Readiness, log logrus.FieldLogger) (*Server, error) {
	if cfg.WebhookTimeout == 0 {
		cfg.WebhookTimeout = 10 * time.Second
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = 60 * time.Second
	}
	acc, err := newAccess(cfg, st)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, store: st, channels: channels, actions: actions, ready: ready, log: log, access: acc, mux: routes.New(), scopes: map[string]string{},
		closing: make(chan struct{}), heartbeat: sse.Heartbeat}
	s.rejections = newRejectionLog(log, st.Now)

	s.mux.HandleFunc("POST /webhooks/{instance}", s.handleWebhook)
	s.mux.HandleFunc("GET /webhooks/{instance}", s.handleWebhookProbe)
	s.mux.HandleFunc("HEAD /webhooks/{instance}", s.handleWebhookProbe)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", s.handleReady)
	s.mux.HandleFunc("GET /metrics", s.handleMetrics)

	read, write, admin := store.ScopeRead, store.ScopeWrite, store.ScopeAdmin
	s.route("POST /v1/conversations", write, s.createConversation)
	s.route("GET /v1/conversations", read, s.listConversations)
	s.route("GET /v1/conversations/{id}", read, s.getConversation)
	s.route("POST /v1/conversations/{id}/messages", write, s.postMessage)
	s.route("GET /v1/conversations/{id}/messages", read, s.listMessages)
	s.route("POST /v1/conversations/{id}/handoff", write, s.handoff)
	s.route("POST /v1/conversations/{id}/close", write, s.close)
	s.route("GET /v1/conversations/{id}/transitions", read, s.listTransitions)
	s.route("GET /v1/conversations/{id}/ratings", read, s.listRatings)
	s.route("GET /v1/stats", read, s.stats)
	s.route("GET /v1/admin/apikeys", admin, s.listKeys)
	s.route("POST /v1/admin/apikeys", admin, s.createKey)
	s.route("POST /v1/admin/apikeys/{id}/revoke", admin, s.revokeKey)
	s.route("GET /v1/admin/audit", admin, s.listAudit)
	s.route("GET /v1/admin/audit/verify", admin, s.verifyAudit)
	s.route("GET /v1/admin/deadletters", admin, s.listDeadLetters)
	s.route("POST /v1/admin/deadletters/{id}/retry", admin, s.retryDeadLetter)
	s.route("POST /v1/admin/deadletters/{id}/drop", admin, s.dropDeadLetter)
	s.route("GET /v1/admin/backup", admin, s.backup)
	s.eventRoutes()
	s.oauthRoutes()
	if cfg.Operators != nil {
		s.route("GET /v1/admin/operators", admin, s.listOperators)
		s.route("POST /v1/admin/operators", admin, s.createOperator)
		s.route("POST /v1/admin/operators/{id}/disable", admin, s.changeOperator("operator.disable"))
		s.route("POST /v1/admin/operators/{id}/enable", admin, s.changeOperator("operator.enable"))
		s.route("POST /v1/admin/operators/{id}/password", admin, s.changeOperator("operator.password"))
	}
	s.routeKB()
	s.routeTickets()
	s.docRoutes()
	s.mux.Handle("/v1/", s.api("", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint: "+truncateParam(r.Method)+" "+strconv.Quote(truncateParam(r.URL.Path)))
	}))
	return s, nil
}

// handleMetrics serves Prometheus metrics, to the addresses in
// api.allow_ips when that is set.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	if len(s.access.allow) > 0 && !contains(s.access.allow, s.access.clientIP(r)) {
		writeError(w, http.StatusForbidden, "forbidden", "metrics are not served to this address")
		return
	}
	s.cfg.Metrics.Handler().ServeHTTP(w, r)
}

// stats serves the support KPIs for ?from=&to= (RFC 3339 or YYYY-MM-DD;
// default the last 7 days).
func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Stats == nil {
		writeError(w, http.StatusNotFound, "not_found", "statistics are not available")
		return
	}
	from, to, err := stats.ParseWindow(r.URL.Query(), time.Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	report, err := s.cfg.Stats(from, to)
	if err != nil {
		s.internalError(w, "compute statistics", err)
		return
	}
	s.writeJSON(w, http.StatusOK, report)
}

// route registers a /v1 handler that needs scope.
func (s *Server) route(pattern, scope string, h http.HandlerFunc) {
	s.scopes[pattern] = scope
	s.mux.Handle(pattern, s.api(scope, h))
}

// Scopes returns the scope each /v1 route needs, by pattern.
func (s *Server) Scopes() map[string]string { return maps.Clone(s.scopes) }

// Routes returns the patterns of every route the server registered, in
// http.ServeMux syntax.
func (s *Server) Routes() []string { return s.mux.Patterns() }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) handleReady(w http.ResponseWriter, _ *http.Request) {
	ready, details := s.ready()
	status := http.StatusOK
	state := "ready"
	if !ready {
		status, state = http.StatusServiceUnavailable, "not_ready"
	}
	s.writeJSON(w, status, map[string]any{"status": state, "plugins": details})
}

// api wraps a /v1 handler: bearer key (401), source address (403), scope
// (403) and the key's rate (429), in that order.
func (s *Server) api(scope string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := BearerToken(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "missing bearer token")
			return
		}
		now := s.store.Now()
		p, err := s.access.authenticate(token, now)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", err.Error())
			return
		}
		ip := s.access.clientIP(r)
		if !s.access.allowed(p, ip) {
			s.log.WithFields(logrus.Fields{"key": p.Name, "source_ip": ip.String()}).Warn("API request from an address outside the allowlist")
			writeError(w, http.StatusForbidden, "forbidden", "requests from "+ip.String()+" are not allowed for this key")
			return
		}
		if scope != "" && !p.can(scope) {
			writeError(w, http.StatusForbidden, "forbidden", "this key lacks the "+scope+" scope")
			return
		}
		if wait, ok := s.access.take(p, now); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			writeError(w, http.StatusTooManyRequests, "rate_limited", "rate limit of this key exceeded")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, caller{principal: p, ip: ip})))
	})
}

// BearerToken is the token of the request's Authorization header under
// the Bearer scheme, whose name is matched without regard to case (RFC
// 9110, 11.1); ok is false without one.
func BearerToken(r *http.Request) (token string, ok bool) {
	scheme, token, found := strings.Cut(r.Header.Get("Authorization"), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimLeft(token, " ")
	return token, token != ""
}

// ErrorBody is the shape of every error answer.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong: a stable code such as "not_found" and
// a message for people.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// maxErrorMessage caps an error answer's message: messages quote what the
// client sent (a path, an id), which can be as long as the client likes.
const maxErrorMessage = 512

func writeError(w http.ResponseWriter, status int, code, msg string) {
	if len(msg) > maxErrorMessage {
		cut := maxErrorMessage
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	writeJSON(w, status, ErrorBody{Error: ErrorDetail{Code: code, Message: msg}})
}

// writeJSON answers with status and v as JSON. v is encoded before the
// status is written, so a value that cannot be encoded is answered 500,
// not a 200 cut short; that error is returned for the caller to log.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"error":{"code":"internal","message":"the answer could not be encoded"}}`+"\n")
		return fmt.Errorf("encode the answer: %w", err)
	}
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return nil
}

// writeJSON is writeJSON with a failure logged.
func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	if err := writeJSON(w, status, v); err != nil {
		s.log.WithError(err).Error("answer could not be sent")
	}
}

// decodeJSON reads one strict JSON object from the request body and answers
// the request itself when it cannot (413 too large, 400 malformed).
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		// Anything but the end of the body after the object is refused,
		// a lone ] or } included (which dec.More does not see).
		if rest := dec.Decode(&struct{}{}); !errors.Is(rest, io.EOF) {
			var tooLarge *http.MaxBytesError
			if errors.As(rest, &tooLarge) {
				err = rest
			} else {
				err = errors.New("unexpected data after the JSON object")
			}
		}
	}
	if err == nil {
		return true
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "request body exceeds the limit")
		return false
	}
	writeError(w, http.StatusBadRequest, "bad_request", "malformed JSON body: "+err.Error())
	return false
}
