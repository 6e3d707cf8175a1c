// Package crm looks visitors up in the business's customer records: for a
// new conversation it POSTs {"channel","user"} to crm.lookup_url and
// stores the profile that comes back with the conversation. Lookups run
// in a few goroutines of their own, fed from the event log, so a slow or
// failing CRM never holds a conversation up: a lookup that fails is logged
// and tried again later, and the bot answers meanwhile.
package crm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/events"
	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

// Timing of lookups.
const (
	// RefreshAfter is how old a profile gets before a visitor's message
	// looks it up again: at most hourly.
	RefreshAfter = time.Hour
	// RetryAfter is how long after a failed lookup it is tried again.
	RetryAfter = time.Minute
	// maxAnswer bounds the lookup answer read.
	maxAnswer = 64 << 10
	// workers is how many lookups run at once.
	workers = 2
	// queueLen bounds the lookups waiting; past it a lookup is dropped
	// (the visitor's next message asks again).
	queueLen = 1024
)

// Store is what the lookups need from the store.
type Store interface {
	Conversation(id string) (store.Conversation, error)
	SetLookup(ctx context.Context, id string, at time.Time, p *store.Profile) error
	EventBounds() (store.EventBounds, error)
	EventsAfter(after uint64, limit int, match func(*events.Event) bool) ([]events.Event, uint64, error)
	WatchEvents() (<-chan struct{}, func())
	Now() time.Time
}

// Config tunes the lookups.
type Config struct {
	// URL receives the lookups.
	URL string
	// Timeout bounds one lookup.
	Timeout time.Duration
	// Client sends them; nil: a plain client.
	Client *http.Client
	// RetryAfter overrides [RetryAfter] (tests).
	RetryAfter time.Duration
}

// Service runs the lookups.
type Service struct {
	cfg   Config
	st    Store
	log   logrus.FieldLogger
	queue chan string

	mu      sync.Mutex
	pending map[string]bool // queued or running
	wg      sync.WaitGroup
}

// New returns the lookups of cfg; Start starts them.
func New(cfg Config, st Store, log logrus.FieldLogger) *Service {
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	if cfg.RetryAfter == 0 {
		cfg.RetryAfter = RetryAfter
	}
	return &Service{cfg: cfg, st: st, log: log.WithField("component", "crm"), queue: make(chan string, queueLen), pending: map[string]bool{}}
}

// lookupRequest is the body POSTed to the lookup URL.
type lookupRequest struct {
	Channel string   `json:"channel"`
	User    sdk.User `json:"user"`
}

// answer is the lookup URL's answer.
type answer struct {
	Name   string          `json:"name"`
	Email  string          `json:"email"`
	Tier   string          `json:"tier"`
	Fields json.RawMessage `json:"fields"`
}

// Start begins following the event log from its end (events committed
// after Start returns are seen) and looks up the visitors of new
// conversations (and, when their profile is due, of those who write
// again) until ctx ends; Wait waits for the lookups to stop.
func (s *Service) Start(ctx context.Context) error {
	b, err := s.st.EventBounds()
	if err != nil {
		return fmt.Errorf("customer lookups: read the event log: %w", err)
	}
	for range workers {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.work(ctx) }()
	}
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.follow(ctx, b.Last) }()
	return nil
}

// Wait returns once the lookups stopped after their context ended.
func (s *Service) Wait() { s.wg.Wait() }

// follow reads the log after cursor as it grows.
func (s *Service) follow(ctx context.Context, cursor uint64) {
	const batch = 256
	for {
		wake, stop := s.st.WatchEvents()
		evs, through, err := s.st.EventsAfter(cursor, batch, wanted)
		switch {
		case errors.Is(err, store.ErrEventsPurged):
			if b, err := s.st.EventBounds(); err == nil {
				cursor = b.PurgedThrough
			}
		case err != nil:
			s.log.WithError(err).Warn("customer lookups: read the event log")
		default:
			cursor = through
			for _, ev := range evs {
				s.consider(ev.ConversationID)
			}
		}
		if err == nil && (len(evs) == batch || s.behind(through)) {
			stop()
			continue
		}
		select {
		case <-ctx.Done():
			stop()
			return
		case <-wake:
		}
		stop()
	}
}

// behind reports whether the log has events after through (a read that
// looked through only part of it).
func (s *Service) behind(through uint64) bool {
	b, err := s.st.EventBounds()
	return err == nil && b.Last > through
}

// wanted picks the events that may call for a lookup: a new conversation,
// and a visitor's message.
func wanted(ev *events.Event) bool {
	switch ev.Type {
	case events.TypeConversationCreated:
		return true
	case events.TypeMessageCreated:
		return bytes.Contains(ev.Payload, []byte(`"role":"`+string(conversation.RoleVisitor)+`"`))
	}
	return false
}

// consider queues a lookup of conversation id if its profile is due.
func (s *Service) consider(id string) {
	c, err := s.st.Conversation(id)
	if err != nil {
		return // purged meanwhile
	}
	if !s.due(c) {
		return
	}
	s.enqueue(id)
}

// due reports whether c's visitor should be looked up now: never looked
// up, the profile older than RefreshAfter, or the last try failed more
// than RetryAfter ago.
func (s *Service) due(c store.Conversation) bool {
	if c.LookupAt.IsZero() {
		return true
	}
	age := s.st.Now().Sub(c.LookupAt)
	if c.Profile != nil && !c.Profile.FetchedAt.Before(c.LookupAt) {
		return age >= RefreshAfter
	}
	return age >= s.cfg.RetryAfter
}

func (s *Service) enqueue(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending[id] {
		return
	}
	select {
	case s.queue <- id:
		s.pending[id] = true
	default:
		s.log.WithField("conversation_id", id).Warn("customer lookups: too many waiting; this one is skipped until the visitor writes again")
	}
}

func (s *Service) work(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case id := <-s.queue:
			failed := s.lookup(ctx, id)
			s.mu.Lock()
			delete(s.pending, id)
			s.mu.Unlock()
			if failed && ctx.Err() == nil {
				// Tried again later, whether or not the visitor writes.
				t := time.AfterFunc(s.cfg.RetryAfter, func() { s.consider(id) })
				context.AfterFunc(ctx, func() { t.Stop() })
			}
		}
	}
}

// lookup asks the CRM about conversation id's visitor and stores the
// answer; it reports whether the lookup failed.
func (s *Service) lookup(ctx context.Context, id string) (failed bool) {
	c, err := s.st.Conversation(id)
	if err != nil || !s.due(c) {
		return false
	}
	log := s.log.WithFields(logrus.Fields{"conversation_id": id, "channel": c.Channel})
	at := s.st.Now()
	p, err := s.fetch(ctx, c)
	if err != nil {
		log.WithError(err).Warn("customer lookup failed; trying again later")
	}
	if ctx.Err() != nil {
		return false
	}
	if err := s.st.SetLookup(ctx, id, at, p); err != nil {
		log.WithError(err).Error("store the customer profile")
		return true
	}
	return p == nil
}

// fetch POSTs the lookup and reads the profile.
func (s *Service) fetch(ctx context.Context, c store.Conversation) (*store.Profile, error) {
	body, err := json.Marshal(lookupRequest{Channel: c.Channel, User: c.User})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the CRM answered %s", resp.Status)
	}
	if len(data) > maxAnswer {
		return nil, fmt.Errorf("the CRM's answer is over %d bytes", maxAnswer)
	}
	var a answer
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("the CRM's answer is not a profile: %w", err)
	}
	p := &store.Profile{Name: a.Name, Email: a.Email, Tier: a.Tier, FetchedAt: s.st.Now()}
	switch f := bytes.TrimSpace(a.Fields); {
	case len(f) == 0 || string(f) == "null":
	case f[0] != '{':
		return nil, errors.New("the CRM's fields are not a JSON object")
	case len(f) > store.MaxProfileFields:
		s.log.WithField("conversation_id", c.ID).Warnf("customer lookup: fields of %d bytes dropped (at most %d)", len(f), store.MaxProfileFields)
	default:
		var compact bytes.Buffer
		if err := json.Compact(&compact, f); err != nil {
			return nil, err
		}
		p.Fields = compact.Bytes()
	}
	return p, nil
}

// Context is the profile as the model is told it, "" for none.
func Context(p *store.Profile) string {
	if p == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString("What the customer records say about this customer (use it to help them; do not recite it):")
	for _, kv := range [][2]string{{"name", p.Name}, {"email", p.Email}, {"tier", p.Tier}} {
		if kv[1] != "" {
			b.WriteString("\n- " + kv[0] + ": " + kv[1])
		}
	}
	if len(p.Fields) > 0 {
		b.WriteString("\n- other fields: " + string(p.Fields))
	}
	return b.String()
}
