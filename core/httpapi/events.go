package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/core/events"
	"github.com/switchboard-chat/switchboard/core/sse"
	"github.com/switchboard-chat/switchboard/core/store"
)

// EventStore is what the event stream and the webhook routes need from the
// store.
type EventStore interface {
	EventBounds() (store.EventBounds, error)
	EventsAfter(after uint64, limit int, match func(*events.Event) bool) ([]events.Event, uint64, error)
	WatchEvents() (<-chan struct{}, func())
	Webhooks() ([]store.Webhook, error)
	Webhook(id string) (store.Webhook, error)
	WebhookAttempts(id string, limit int) ([]store.WebhookAttempt, error)
	WebhookAttemptPage(id string, p store.Page) ([]store.WebhookAttempt, [][]byte, error)
}

// builtinChannels are the channels that are no plugin instance: the REST
// API's and the web chat's.
func builtinChannels() []string { return []string{APIChannel, "web"} }

// streamBatch is how many events the stream reads at a time.
const streamBatch = 500

// streamRetry is how long a disconnected browser waits to reconnect.
const streamRetry = 2 * time.Second

func (s *Server) eventRoutes() {
	read, admin := store.ScopeRead, store.ScopeAdmin
	s.route("GET /v1/events", read, s.streamEvents)
	s.route("GET /v1/webhooks", admin, s.listWebhooks)
	s.route("POST /v1/webhooks", admin, s.createWebhook)
	s.route("GET /v1/webhooks/{id}", admin, s.getWebhook)
	s.route("PATCH /v1/webhooks/{id}", admin, s.updateWebhook)
	s.route("DELETE /v1/webhooks/{id}", admin, s.deleteWebhook)
	s.route("POST /v1/webhooks/{id}/rotate", admin, s.rotateWebhook)
	s.route("GET /v1/webhooks/{id}/deliveries", admin, s.listDeliveries)
	s.route("POST /v1/webhooks/{id}/deliveries/{delivery_id}/retry", admin, s.retryDelivery)
}

// CloseStreams ends the long-lived responses (event streams), so a
// graceful shutdown does not wait for them. Calls after the first do
// nothing.
func (s *Server) CloseStreams() { s.closeOnce.Do(func() { close(s.closing) }) }

// eventFilter is what a stream's client asked for.
type eventFilter struct {
	channels []string
	types    []events.Type
}

func (f eventFilter) match(e *events.Event) bool {
	return (len(f.channels) == 0 || slices.Contains(f.channels, e.Channel)) &&
		(len(f.types) == 0 || slices.Contains(f.types, e.Type))
}

// listParam reads a query parameter given as a comma-separated list or
// repeated.
func listParam(r *http.Request, name string) []string {
	var out []string
	for _, v := range r.URL.Query()[name] {
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
	}
	return out
}

// knownChannel reports whether name is a channel events can be about.
func (s *Server) knownChannel(name string) bool {
	if slices.Contains(builtinChannels(), name) {
		return true
	}
	if s.channels == nil {
		return false
	}
	_, ok, _ := s.channels.Channel(name)
	return ok
}

// parseEventFilter reads ?channel= and ?type=, answering 400 itself for
// an unknown parameter, channel or type.
func (s *Server) parseEventFilter(w http.ResponseWriter, r *http.Request) (eventFilter, bool) {
	for name := range r.URL.Query() {
		if name != "channel" && name != "type" && name != "last_event_id" {
			writeError(w, http.StatusBadRequest, "bad_request", "unknown query parameter "+strconv.Quote(name)+"; the stream takes channel, type and last_event_id")
			return eventFilter{}, false
		}
	}
	var f eventFilter
	for _, ch := range listParam(r, "channel") {
		if !s.knownChannel(ch) {
			writeError(w, http.StatusBadRequest, "bad_request", "channel: no channel named "+strconv.Quote(ch))
			return eventFilter{}, false
		}
		f.channels = append(f.channels, ch)
	}
	for _, t := range listParam(r, "type") {
		if !events.Type(t).Valid() {
			writeError(w, http.StatusBadRequest, "bad_request", "type: unknown event type "+strconv.Quote(t)+"; one of "+strings.Join(events.TypeNames(), ", "))
			return eventFilter{}, false
		}
		f.types = append(f.types, events.Type(t))
	}
	return f, true
}

// streamEvents serves the event log as server-sent events: each event
// with its sequence number as id and its type as event name, from the
// client's Last-Event-ID on (or from now). A client whose last id is no
// longer in the log, or is not one the log ever had, gets an "error"
// event and the stream ends.
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request) {
	f, ok := s.parseEventFilter(w, r)
	if !ok {
		return
	}
	last, resume, err := sse.LastEventID(r, "last_event_id")
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "Last-Event-ID: "+err.Error())
		return
	}
	bounds, err := s.store.EventBounds()
	if err != nil {
		s.internalError(w, "read the event log", err)
		return
	}
	cursor := bounds.Last
	if resume {
		cursor = last
	}
	stream, err := sse.Start(w, streamRetry)
	if err != nil {
		s.log.WithError(err).Error("start the event stream")
		return
	}
	fail := func(code, msg string) {
		stream.Send("", "error", ErrorBody{Error: ErrorDetail{Code: code, Message: msg}})
		stream.Flush()
	}
	if resume && last > bounds.Last {
		fail("unknown_event", fmt.Sprintf("event %d was never recorded here (the newest is %d); reconnect without Last-Event-ID", last, bounds.Last))
		return
	}
	told := cursor // the last id the client has
	heartbeat := time.NewTicker(s.heartbeat)
	defer heartbeat.Stop()
	for {
		wake, stop := s.store.WatchEvents()
		evs, through, err := s.store.EventsAfter(cursor, streamBatch, f.match)
		if errors.Is(err, store.ErrEventsPurged) {
			stop()
			b, _ := s.store.EventBounds()
			fail("expired", fmt.Sprintf("the events after %d are older than the event retention and were deleted (the oldest kept is %d); reconnect without Last-Event-ID and catch up through the REST API", cursor, b.PurgedThrough+1))
			return
		}
		if err != nil {
			stop()
			s.log.WithError(err).Error("read the event log")
			return
		}
		for _, ev := range evs {
			if err := stream.Send(strconv.FormatUint(ev.Seq, 10), string(ev.Type), ev.Streamed()); err != nil {
				stop()
				s.log.WithError(err).Error("send an event")
				return
			}
			told = ev.Seq
		}
		if len(evs) > 0 {
			if err := stream.Flush(); err != nil {
				stop()
				return // the client left
			}
		}
		if through > cursor {
			cursor = through
			stop()
			continue // there may be more
		}
		select {
		case <-wake:
		case <-heartbeat.C:
			if cursor > told {
				// Events it did not want went by: its id moves past them.
				err = stream.Checkpoint(strconv.FormatUint(cursor, 10))
				told = cursor
			} else {
				err = stream.Comment("keep-alive")
			}
			if err == nil {
				err = stream.Flush()
			}
		case <-r.Context().Done():
			err = r.Context().Err()
		case <-s.closing:
			err = errors.New("shutting down")
		}
		stop()
		if err != nil {
			return
		}
	}
}
