// Package console is the operators' side of the built-in desk: the web
// console at /console/ and its API at /op/v1. Operators sign in with their
// accounts (core/accounts), see the conversations waiting for a person on
// the "console" desk, claim, answer, note, transfer and close them, watch
// the bot's conversations live and take them over. Their actions are
// conversation rules run by the engine (Engine.Do), so they are durable,
// ordered with the visitor's messages, and refused with a conflict when
// they no longer apply. One server-sent event stream per console tab
// pushes queue changes, messages, typing and presence.
package console

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/accounts"
	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/httpapi"
	"github.com/switchboard-chat/switchboard/core/internal/routes"
	"github.com/switchboard-chat/switchboard/core/live"
	"github.com/switchboard-chat/switchboard/core/store"
)

// MaxMessage is the longest reply or note, in characters (Telegram's
// limit is 4,096).
const MaxMessage = 4000

// SessionCookie is the name of the console's session cookie.
const SessionCookie = "sb_session"

// Engine runs operators' requests in the conversations' lanes.
type Engine interface {
	Do(ctx context.Context, convID string, req conversation.Event) (store.Conversation, error)
}

// Config is the console's behaviour, from the [console] section.
type Config struct {
	// SessionLifetime is how long an operator stays signed in.
	SessionLifetime time.Duration
	// PublicURL is the base URL operators open the daemon at, without a
	// trailing slash; it makes the setup link and is trusted as an origin.
	PublicURL string
	// TrustedProxies are the addresses whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// MaxBodyBytes caps request bodies.
	MaxBodyBytes int64
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Routing hands out the queue; the zero value assigns nothing and
	// sets no service levels.
	Routing Routing
	// Knowledge takes the answers administrators write for the questions
	// the bot could not answer; nil refuses them.
	Knowledge Knowledge
}

// Server serves the console and its API.
type Server struct {
	cfg      Config
	st       *store.Store
	eng      Engine
	live     *live.Hub
	accounts *accounts.Accounts
	log      logrus.FieldLogger
	hub      *hub
	presence *presence
	limits   *loginLimits
	assign   *assigner
	handler  http.Handler
	// api holds the routes under /op/.
	api      *routes.Table
	closing  chan struct{}
	closeOne sync.Once
}

// New returns the console's server; Run runs its background work.
func New(cfg Config, st *store.Store, eng Engine, hub *live.Hub, acc *accounts.Accounts, log logrus.FieldLogger) (*Server, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.Routing.FirstResponse == nil {
		cfg.Routing.FirstResponse = func(conversation.Priority) time.Duration { return 0 }
	}
	s := &Server{
		cfg: cfg, st: st, eng: eng, live: hub, accounts: acc, log: log,
		hub:      newHub(st, cfg.Now, log),
		presence: newPresence(),
		limits:   newLoginLimits(),
		assign:   newAssigner(),
		closing:  make(chan struct{}),
	}
	api := routes.New()
	s.api = api
	s.routes(api)
	cop := http.NewCrossOriginProtection()
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err == nil {
			if err := cop.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
				return nil, err
			}
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteError(w, http.StatusForbidden, "cross_origin", "cross-origin requests are not accepted")
	}))
	mux := http.NewServeMux()
	mux.Handle("/op/", secure(cop.Handler(api)))
	mux.Handle("/console/", secure(assets()))
	mux.Handle("GET /console", http.RedirectHandler("/console/", http.StatusMovedPermanently))
	s.handler = mux
	return s, nil
}

// Routes returns the patterns of the routes under /op/, in http.ServeMux
// syntax.
func (s *Server) Routes() []string { return s.api.Patterns() }

// ServeHTTP serves /console/ and /op/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Close ends the open event streams, so an HTTP server shutting down does
// not wait for them (register it with http.Server.RegisterOnShutdown).
func (s *Server) Close() { s.closeOne.Do(func() { close(s.closing) }) }

// Run pushes changes to the operators' event streams and deletes expired
// sessions until ctx ends.
func (s *Server) Run(ctx context.Context) {
	go s.hub.run(ctx)
	go s.runRouting(ctx)
	tick := time.NewTicker(10 * time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if n, err := s.accounts.PurgeSessions(ctx); err != nil {
			s.log.WithError(err).Warn("purge expired operator sessions")
		} else if n > 0 {
			s.log.WithField("purged", n).Debug("deleted expired operator sessions")
		}
		s.limits.sweep(s.cfg.Now())
	}
}

// SetupLink returns the one-time link that creates the first
// administrator, made only while no operator account exists; ok is false
// when one does.
func (s *Server) SetupLink(ctx context.Context) (link string, expires time.Time, ok bool, err error) {
	token, expires, ok, err := s.accounts.NewSetupToken(ctx)
	if err != nil || !ok {
		return "", time.Time{}, false, err
	}
	// The token travels in the fragment: browsers send it to no server and
	// no Referer carries it.
	return s.cfg.PublicURL + "/console/#setup=" + token, expires, true, nil
}

// csp is the Content-Security-Policy of every console response: scripts
// and styles from the daemon only (no inline code), no framing.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"font-src 'self'; manifest-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// secure adds the console's security headers.
func secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}
