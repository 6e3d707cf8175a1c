// Package httpapi is the daemon's HTTP surface: platform webhooks, health
// and readiness probes, and the REST API under /v1.
package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

// APIChannel is the name of the built-in channel of conversations opened
// through the REST API.
const APIChannel = "api"

// Store is what the HTTP layer needs from the durable store.
type Store interface {
	CommitEvents(ctx context.Context, channel string, events []sdk.Event) (store.CommitResult, error)
	CreateConversation(ctx context.Context, c store.Conversation) (store.Conversation, error)
	Conversation(id string) (store.Conversation, error)
	ListConversations(state string, limit int) ([]store.Conversation, error)
	Messages(convID string, after uint64, limit int) ([]store.Message, error)
	WaitMessages(ctx context.Context, convID string, after uint64, limit int) ([]store.Message, error)
	Transitions(convID string) ([]store.Transition, error)
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
}

// Readiness reports whether the daemon can do its work, with details.
type Readiness func() (ready bool, details any)

// Config is what the server needs to know.
type Config struct {
	MaxBodyBytes int64
	APIKeys      []string
	// WebhookTimeout bounds a plugin's handling of one webhook. Default 10s.
	WebhookTimeout time.Duration
	// MaxWait caps the long-poll ?wait of the messages endpoint. Default 60s.
	MaxWait time.Duration
}

// Server serves the HTTP API.
type Server struct {
	cfg      Config
	store    Store
	channels Channels
	actions  Actions
	ready    Readiness
	log      logrus.FieldLogger
	keys     [][sha256.Size]byte
	mux      *http.ServeMux
}

// New builds the server's routes.
func New(cfg Config, st Store, channels Channels, actions Actions, ready Readiness, log logrus.FieldLogger) *Server {
	if cfg.WebhookTimeout == 0 {
		cfg.WebhookTimeout = 10 * time.Second
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = 60 * time.Second
	}
	s := &Server{cfg: cfg, store: st, channels: channels, actions: actions, ready: ready, log: log, mux: http.NewServeMux()}
	for _, k := range cfg.APIKeys {
		s.keys = append(s.keys, sha256.Sum256([]byte(k)))
	}

	s.mux.HandleFunc("POST /webhooks/{instance}", s.handleWebhook)
	s.mux.HandleFunc("GET /webhooks/{instance}", s.handleWebhookProbe)
	s.mux.HandleFunc("HEAD /webhooks/{instance}", s.handleWebhookProbe)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", s.handleReady)

	s.mux.Handle("POST /v1/conversations", s.api(s.createConversation))
	s.mux.Handle("GET /v1/conversations", s.api(s.listConversations))
	s.mux.Handle("GET /v1/conversations/{id}", s.api(s.getConversation))
	s.mux.Handle("POST /v1/conversations/{id}/messages", s.api(s.postMessage))
	s.mux.Handle("GET /v1/conversations/{id}/messages", s.api(s.listMessages))
	s.mux.Handle("POST /v1/conversations/{id}/handoff", s.api(s.handoff))
	s.mux.Handle("POST /v1/conversations/{id}/close", s.api(s.close))
	s.mux.Handle("GET /v1/conversations/{id}/transitions", s.api(s.listTransitions))
	s.mux.Handle("/v1/", s.api(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.Method+" "+r.URL.Path)
	}))
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) handleReady(w http.ResponseWriter, _ *http.Request) {
	ready, details := s.ready()
	status := http.StatusOK
	state := "ready"
	if !ready {
		status, state = http.StatusServiceUnavailable, "not_ready"
	}
	writeJSON(w, status, map[string]any{"status": state, "plugins": details})
}

// api wraps a /v1 handler with bearer-token authentication.
func (s *Server) api(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "missing bearer token")
			return
		}
		if !s.validKey(token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "invalid API key")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		h(w, r)
	})
}

// validKey compares the token with every key in constant time (hashing
// first, so neither the keys' lengths nor their count leak through timing).
func (s *Server) validKey(token string) bool {
	sum := sha256.Sum256([]byte(token))
	found := 0
	for i := range s.keys {
		found |= subtle.ConstantTimeCompare(sum[:], s.keys[i][:])
	}
	return found == 1
}

// errorBody is every error response's shape.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, errorBody{Error: errorDetail{Code: code, Message: msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeJSON reads one strict JSON object from the request body and answers
// the request itself when it cannot (413 too large, 400 malformed).
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("unexpected data after the JSON object")
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
