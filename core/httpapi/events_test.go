package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/events"
	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

// streamEvent is one dispatched server-sent event.
type streamEvent struct {
	id, typ, data string
}

// streamClient reads an event stream the way the HTML standard's
// EventSource does: fields until a blank line; an id line sets the last
// event id even when no data follows.
type streamClient struct {
	t      *testing.T
	resp   *http.Response
	lines  *bufio.Scanner
	cancel context.CancelFunc
	lastID string
}

// openStream opens the stream at url (/v1/events with its query).
func openStream(t *testing.T, url, key, lastID string) (*streamClient, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := checked(t).Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	c := &streamClient{t: t, resp: resp, lines: bufio.NewScanner(resp.Body), cancel: cancel, lastID: lastID}
	t.Cleanup(c.close)
	return c, resp.StatusCode
}

func (c *streamClient) close() {
	c.cancel()
	c.resp.Body.Close()
}

// next returns the next dispatched event; ok is false when the stream
// ended.
func (c *streamClient) next() (streamEvent, bool) {
	var ev streamEvent
	var data []string
	for c.lines.Scan() {
		line := c.lines.Text()
		if line == "" {
			if len(data) == 0 {
				continue // an id-only block: the last id moved, nothing dispatched
			}
			ev.data, ev.id = strings.Join(data, "\n"), c.lastID
			return ev, true
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			c.lastID = value
		case "event":
			ev.typ = value
		case "data":
			data = append(data, value)
		}
	}
	return ev, false
}

func newEventServer(t *testing.T, opts store.Options) (*httptest.Server, *store.Store, *Server) {
	t.Helper()
	opts.NoSync = true
	st, err := store.Open(filepath.Join(t.TempDir(), "switchboard.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := logrus.New()
	log.SetOutput(io.Discard)
	s, err := New(Config{MaxBodyBytes: 1 << 16, APIKeys: []string{"k1"}}, st, stubChannels{"tg": &stubChannel{}, "line": &stubChannel{}}, nil,
		func() (bool, any) { return true, nil }, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	t.Cleanup(s.CloseStreams)
	return srv, st, s
}

// say commits visitor messages, two events for a new chat.
func say(t *testing.T, st *store.Store, channel, chat, id, text string) {
	t.Helper()
	if _, err := st.CommitEvents(context.Background(), channel, []sdk.Event{{
		ID: id, Kind: sdk.KindMessage, Conversation: chat, User: sdk.User{ID: chat}, Text: text,
	}}); err != nil {
		t.Fatal(err)
	}
}

func TestAReconnectingStreamGetsExactlyWhatItMissed(t *testing.T) {
	srv, st, _ := newEventServer(t, store.Options{})
	say(t, st, "tg", "old", "0", "before the stream") // events 1, 2: not streamed
	c, status := openStream(t, srv.URL+"/v1/events", "k1", "")
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}

	// 100 events; the client drops the connection after the 40th it got
	// while they keep coming.
	const total = 100
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range total {
			say(t, st, "tg", "chat", strconv.Itoa(i+1), "line "+strconv.Itoa(i+1))
		}
	}()
	var got []uint64
	for len(got) < 40 {
		ev, ok := c.next()
		if !ok {
			t.Fatal("the stream ended")
		}
		seq, _ := strconv.ParseUint(ev.id, 10, 64)
		got = append(got, seq)
		var body events.Streamed
		if err := json.Unmarshal([]byte(ev.data), &body); err != nil || string(body.Type) != ev.typ || !strings.HasPrefix(body.ID, "evt_") {
			t.Fatalf("event %s %s: %+v %v", ev.id, ev.data, body, err)
		}
	}
	last := c.lastID
	c.close()
	wg.Wait()

	// total visitor lines and one conversation.created: events 3 to 103.
	again, status := openStream(t, srv.URL+"/v1/events", "k1", last)
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	for len(got) < total+1 {
		ev, ok := again.next()
		if !ok {
			t.Fatal("the stream ended")
		}
		seq, _ := strconv.ParseUint(ev.id, 10, 64)
		got = append(got, seq)
	}
	for i, seq := range got {
		if seq != uint64(i+3) {
			t.Fatalf("events %v: want 3 to %d, each once", got, total+2)
		}
	}
}

func TestTheStreamFilters(t *testing.T) {
	srv, st, _ := newEventServer(t, store.Options{})
	c, status := openStream(t, srv.URL+"/v1/events?channel=line&type=message.created", "k1", "")
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	say(t, st, "tg", "a", "1", "not this channel")
	say(t, st, "line", "b", "2", "first")  // conversation.created, message.created
	say(t, st, "line", "b", "3", "second") // message.created
	for _, want := range []string{"first", "second"} {
		ev, ok := c.next()
		if !ok || ev.typ != "message.created" || !strings.Contains(ev.data, `"text":"`+want+`"`) || !strings.Contains(ev.data, `"channel":"line"`) {
			t.Fatalf("got %+v, want the line message %q", ev, want)
		}
	}
	// Resuming a filtered stream from its last event skips what it does
	// not want.
	last := c.lastID
	c.close()
	say(t, st, "tg", "a", "4", "not this channel either")
	say(t, st, "line", "b", "5", "third")
	again, _ := openStream(t, srv.URL+"/v1/events?channel=line&type=message.created", "k1", last)
	if ev, ok := again.next(); !ok || !strings.Contains(ev.data, `"text":"third"`) {
		t.Fatalf("resumed: %+v", ev)
	}
}

func TestBadStreamRequestsNameTheirParameter(t *testing.T) {
	srv, st, _ := newEventServer(t, store.Options{})
	reader := store.NewKeySecret()
	admin := store.NewKeySecret()
	for name, k := range map[string]struct {
		secret string
		scopes []string
	}{"reader": {reader, []string{store.ScopeRead}}, "admin": {admin, []string{store.ScopeAdmin}}} {
		if err := st.CreateAPIKey(context.Background(), &store.APIKey{Name: name, Hash: store.HashKey(k.secret), Scopes: k.scopes}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, query, lastID, key string
		status                   int
		message                  string
	}{
		{"unknown channel", "?channel=tg,nope", "", reader, 400, `channel: no channel named "nope"`},
		{"unknown type", "?type=message.created&type=message.deleted", "", reader, 400, `type: unknown event type "message.deleted"`},
		{"unknown parameter", "?types=message.created", "", reader, 400, `unknown query parameter "types"`},
		{"bad last event id", "", "abc", reader, 400, "Last-Event-ID: "},
		{"bad last event id parameter", "?last_event_id=-1", "", reader, 400, "Last-Event-ID: "},
		{"without the read scope", "", "", admin, 403, "conversations:read"},
		{"no key", "", "", "", 401, "bearer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/events"+tc.query, nil)
			if tc.key != "" {
				req.Header.Set("Authorization", "Bearer "+tc.key)
			}
			if tc.lastID != "" {
				req.Header.Set("Last-Event-ID", tc.lastID)
			}
			resp, err := checked(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body ErrorBody
			json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tc.status || !strings.Contains(body.Error.Message, tc.message) {
				t.Fatalf("%d %+v, want %d with %q", resp.StatusCode, body, tc.status, tc.message)
			}
		})
	}
}

func TestAStreamBehindTheRetentionGetsAnError(t *testing.T) {
	now := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv, st, _ := newEventServer(t, store.Options{Now: clock})
	say(t, st, "tg", "a", "1", "old") // events 1, 2
	mu.Lock()
	now = now.Add(80 * time.Hour)
	mu.Unlock()
	say(t, st, "tg", "a", "2", "new") // event 3
	if _, err := st.PurgeEvents(context.Background(), clock().Add(-72*time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		lastID, code string
	}{{"1", "expired"}, {"9", "unknown_event"}} {
		c, status := openStream(t, srv.URL+"/v1/events", "k1", tc.lastID)
		ev, ok := c.next()
		var body ErrorBody
		json.Unmarshal([]byte(ev.data), &body)
		if status != http.StatusOK || !ok || ev.typ != "error" || body.Error.Code != tc.code || body.Error.Message == "" {
			t.Fatalf("Last-Event-ID %s: %d %+v", tc.lastID, status, ev)
		}
		if _, more := c.next(); more {
			t.Fatalf("Last-Event-ID %s: the stream went on after the error", tc.lastID)
		}
	}
	// From the oldest kept event on, nothing is missing.
	c, _ := openStream(t, srv.URL+"/v1/events", "k1", "2")
	if ev, ok := c.next(); !ok || ev.id != "3" {
		t.Fatalf("from 2: %+v", ev)
	}
}

func TestClosingStreamsEndsThem(t *testing.T) {
	srv, _, s := newEventServer(t, store.Options{})
	c, _ := openStream(t, srv.URL+"/v1/events", "k1", "")
	s.CloseStreams()
	if ev, ok := c.next(); ok {
		t.Fatalf("after CloseStreams: %+v", ev)
	}
}

// An idle filtered stream moves its client's last event id past the
// events it did not want, so a reconnection does not read them again (or
// fall behind the retention because of them).
func TestAFilteredStreamMovesPastWhatItSkips(t *testing.T) {
	srv, st, s := newEventServer(t, store.Options{})
	s.heartbeat = 20 * time.Millisecond
	c, _ := openStream(t, srv.URL+"/v1/events?type=handoff.requested", "k1", "")
	say(t, st, "tg", "a", "1", "hello") // events 1, 2: not wanted
	deadline := time.Now().Add(10 * time.Second)
	for c.lastID != "2" {
		if time.Now().After(deadline) {
			t.Fatalf("last event id %q, want 2", c.lastID)
		}
		if !c.lines.Scan() {
			t.Fatal("the stream ended")
		}
		if field, value, _ := strings.Cut(c.lines.Text(), ": "); field == "id" {
			c.lastID = value
		}
	}
}
