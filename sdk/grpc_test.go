package sdk_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/sdk"
	"github.com/switchboard-chat/switchboard/sdk/plugintest"
)

// scripted is a channel whose Send fails as told and whose poller emits
// fixed batches.
type scripted struct {
	sendErr error
	sent    []sdk.Outbound
	batches [][]sdk.Event
	mu      sync.Mutex
	acked   int // batches whose Deliver returned nil
	refused int // batches whose Deliver returned an error
	polled  chan struct{}
}

func (s *scripted) Configure(context.Context, sdk.ConfigureRequest) (sdk.Capabilities, error) {
	return sdk.Capabilities{Polling: true, TextLimit: 10}, nil
}

func (s *scripted) HandleWebhook(_ context.Context, req sdk.WebhookRequest) (sdk.WebhookResponse, error) {
	return sdk.WebhookResponse{
		Status: 202,
		Header: http.Header{"X-Seen": {req.Header.Get("X-In")}},
		Body:   req.Body,
		Events: []sdk.Event{{ID: "1", Kind: sdk.KindMessage, Conversation: "c", Text: "hi", Time: time.UnixMilli(1700000000000), Context: map[string]string{"reply_token": "r"}}},
	}, nil
}

func (s *scripted) Send(_ context.Context, out sdk.Outbound) (sdk.SendResult, error) {
	s.mu.Lock()
	s.sent = append(s.sent, out)
	s.mu.Unlock()
	if s.sendErr != nil {
		return sdk.SendResult{}, s.sendErr
	}
	return sdk.SendResult{NativeID: "n1"}, nil
}

func (s *scripted) Poll(ctx context.Context, sink sdk.EventSink) error {
	for _, b := range s.batches {
		err := sink.Deliver(ctx, b)
		s.mu.Lock()
		if err != nil {
			s.refused++
		} else {
			s.acked++
		}
		s.mu.Unlock()
	}
	close(s.polled)
	<-ctx.Done()
	return nil
}

func TestErrorsKeepTheirKindAcrossTheWire(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		kind       sdk.ErrorKind
		retryAfter time.Duration
	}{
		{"rate limited", sdk.RetryAfter(2*time.Second, errors.New("429")), sdk.Temporary, 2 * time.Second},
		{"blocked", sdk.Errorf(sdk.Blocked, "403 bot was blocked"), sdk.Blocked, 0},
		{"permanent", sdk.NewError(sdk.Permanent, errors.New("400")), sdk.Permanent, 0},
		{"unknown outcome", sdk.NewError(sdk.OutcomeUnknown, errors.New("timeout")), sdk.OutcomeUnknown, 0},
		{"plain error is temporary", errors.New("oops"), sdk.Temporary, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := plugintest.Channel(t, &scripted{sendErr: tt.err})
			_, err := c.Send(context.Background(), sdk.Outbound{ID: "x"})
			if err == nil {
				t.Fatal("no error")
			}
			if got := sdk.KindOf(err); got != tt.kind {
				t.Errorf("kind %s, want %s", got, tt.kind)
			}
			if got := sdk.RetryAfterOf(err); got != tt.retryAfter {
				t.Errorf("retry after %v, want %v", got, tt.retryAfter)
			}
			if err.Error() != tt.err.Error() {
				t.Errorf("message %q, want %q", err, tt.err)
			}
		})
	}
}

func TestWebhookRoundTrip(t *testing.T) {
	c := plugintest.Channel(t, &scripted{})
	resp, err := c.HandleWebhook(context.Background(), sdk.WebhookRequest{
		Method: "POST", Header: http.Header{"X-In": {"v"}}, Body: []byte("raw \x00 bytes"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 202 || string(resp.Body) != "raw \x00 bytes" || resp.Header.Get("X-Seen") != "v" {
		t.Fatalf("response %+v", resp)
	}
	e := resp.Events[0]
	if e.ID != "1" || e.Kind != sdk.KindMessage || !e.Time.Equal(time.UnixMilli(1700000000000)) || e.Context["reply_token"] != "r" {
		t.Fatalf("event %+v", e)
	}
}

func TestOutboundRoundTrip(t *testing.T) {
	ch := &scripted{}
	c := plugintest.Channel(t, ch)
	out := sdk.Outbound{
		ID: "o7", Kind: sdk.OutText, Conversation: "c1", User: sdk.User{ID: "u", Name: "Ann"},
		Text: "Did you mean:\n1. Where is my order?\n2. Can I return it?", Role: "bot", Reason: "r",
		Context: map[string]string{"chat_type": "private"},
		Choices: []sdk.Choice{{Label: "Where is my order?", Text: "Where is my order?"}, {Label: "Returns", Text: "Can I return it?"}, {Label: "★★★", Text: "3", Data: "rating:3"}},
	}
	if _, err := c.Send(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if len(ch.sent) != 1 || !reflect.DeepEqual(ch.sent[0], out) {
		t.Fatalf("the plugin got %+v, want %+v", ch.sent, out)
	}
}

type sinkFunc func(context.Context, []sdk.Event) error

func (f sinkFunc) Deliver(ctx context.Context, ev []sdk.Event) error { return f(ctx, ev) }

func TestPollAcksOnlyCommittedBatches(t *testing.T) {
	impl := &scripted{
		batches: [][]sdk.Event{{{ID: "1"}}, {{ID: "2"}}, {{ID: "3"}}},
		polled:  make(chan struct{}),
	}
	c := plugintest.Channel(t, impl)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []string
	go c.Poll(ctx, sinkFunc(func(_ context.Context, ev []sdk.Event) error {
		got = append(got, ev[0].ID)
		if ev[0].ID == "2" {
			return errors.New("disk full")
		}
		return nil
	}))
	select {
	case <-impl.polled:
	case <-time.After(5 * time.Second):
		t.Fatal("poller did not finish")
	}
	impl.mu.Lock()
	defer impl.mu.Unlock()
	if impl.acked != 2 || impl.refused != 1 {
		t.Fatalf("acked %d refused %d, want 2 and 1 (the host refused batch 2)", impl.acked, impl.refused)
	}
	if len(got) != 3 {
		t.Fatalf("host saw %v", got)
	}
}

func TestOptionsDecodeNamesTheKey(t *testing.T) {
	var v struct {
		Token   string       `json:"token"`
		Timeout sdk.Duration `json:"timeout"`
	}
	tests := []struct {
		opts map[string]any
		want string
	}{
		{map[string]any{"token": 5}, `option "token"`},
		{map[string]any{"tokn": "x"}, `unknown option "tokn"`},
		{map[string]any{"timeout": "soon"}, `invalid duration "soon"`},
	}
	for _, tt := range tests {
		o, _ := sdk.NewOptions(tt.opts)
		err := o.Decode(&v)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %v, want it to mention %s", tt.opts, err, tt.want)
		}
	}
	o, _ := sdk.NewOptions(map[string]any{"token": "t", "timeout": "1m30s"})
	if err := o.Decode(&v); err != nil || time.Duration(v.Timeout) != 90*time.Second {
		t.Fatalf("valid options: %v %+v", err, v)
	}
}

func TestTransportErrorTellsRefusedFromUnknown(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close() // nothing listens: connection refused
	_, err := http.Get("http://" + addr)
	if got := sdk.KindOf(sdk.TransportError(err)); got != sdk.Temporary {
		t.Errorf("refused connection: %s, want temporary", got)
	}
	slow := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { time.Sleep(200 * time.Millisecond) }))
	defer slow.Close()
	_, err = (&http.Client{Timeout: 20 * time.Millisecond}).Get(slow.URL)
	if got := sdk.KindOf(sdk.TransportError(err)); got != sdk.OutcomeUnknown {
		t.Errorf("timeout after sending: %s, want outcome_unknown", got)
	}
}

// A message over the connection's size limit is a permanent error that
// says so: the same message never fits, so retrying cannot help.
func TestAMessageTooLargeIsPermanent(t *testing.T) {
	ch := plugintest.Channel(t, &scripted{polled: make(chan struct{})})
	_, err := ch.Send(context.Background(), sdk.Outbound{ID: "big", Kind: sdk.OutText, Text: strings.Repeat("x", sdk.DefaultMessageLimit+1)})
	if !errors.Is(err, sdk.ErrMessageTooLarge) || sdk.KindOf(err) != sdk.Permanent {
		t.Fatalf("error %v (kind %s), want a permanent ErrMessageTooLarge", err, sdk.KindOf(err))
	}
	if _, err := ch.Send(context.Background(), sdk.Outbound{ID: "small", Kind: sdk.OutText, Text: "hi"}); err != nil {
		t.Fatalf("a small message after the large one: %v", err)
	}
}
