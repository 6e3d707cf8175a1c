package sdk

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/switchboard-chat/switchboard/sdk/internal/pb"
)

// gatedChannel answers a webhook with its body; a body starting "bad"
// fails for good, one starting "busy" asks to be retried in 2 s, and one
// with a gate waits until the gate opens or its context ends.
type gatedChannel struct {
	Channel
	mu      sync.Mutex
	gates   map[string]chan struct{}
	entered map[string]chan context.Context
	ended   map[string]error
}

func newGatedChannel() *gatedChannel {
	return &gatedChannel{gates: map[string]chan struct{}{}, entered: map[string]chan context.Context{}, ended: map[string]error{}}
}

// gate makes webhook body wait until open is called; entered receives the
// request's context once the plugin is working on it.
func (g *gatedChannel) gate(body string) (entered <-chan context.Context, open func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	gate, in := make(chan struct{}), make(chan context.Context, 1)
	g.gates[body], g.entered[body] = gate, in
	return in, sync.OnceFunc(func() { close(gate) })
}

func (g *gatedChannel) HandleWebhook(ctx context.Context, req WebhookRequest) (WebhookResponse, error) {
	body := string(req.Body)
	g.mu.Lock()
	gate, in := g.gates[body], g.entered[body]
	g.mu.Unlock()
	if gate != nil {
		in <- ctx
		select {
		case <-gate:
		case <-ctx.Done():
			g.mu.Lock()
			g.ended[body] = ctx.Err()
			g.mu.Unlock()
			return WebhookResponse{}, ctx.Err()
		}
	}
	switch {
	case strings.HasPrefix(body, "bad"):
		return WebhookResponse{}, Errorf(Permanent, "cannot parse %s", body)
	case strings.HasPrefix(body, "busy"):
		return WebhookResponse{}, RetryAfter(2*time.Second, fmt.Errorf("slow down on %s", body))
	}
	return WebhookResponse{Status: 200, Body: []byte("re:" + body)}, nil
}

// countingServer is the plugin's gRPC server, counting the calls and
// streams it takes; old answers the stream as a server built before it.
type countingServer struct {
	*channelServer
	old     bool
	mu      sync.Mutex
	calls   int
	streams int
}

func (s *countingServer) HandleWebhook(ctx context.Context, req *pb.WebhookRequest) (*pb.WebhookResponse, error) {
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
	return s.channelServer.HandleWebhook(ctx, req)
}

func (s *countingServer) Webhooks(stream pb.Channel_WebhooksServer) error {
	s.mu.Lock()
	s.streams++
	s.mu.Unlock()
	if s.old {
		return pb.UnimplementedChannelServer{}.Webhooks(stream)
	}
	return s.channelServer.Webhooks(stream)
}

func (s *countingServer) counts() (calls, streams int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, s.streams
}

// connect serves ch over an in-memory gRPC connection and returns the
// client end; stop stops the server.
func connect(t *testing.T, ch Channel, old bool) (client *ChannelClient, srv *countingServer, stop func()) {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	srv = &countingServer{channelServer: &channelServer{impl: ch}, old: old}
	pb.RegisterChannelServer(gs, srv)
	go gs.Serve(lis)
	conn, err := grpc.NewClient("passthrough:///plugin",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); gs.Stop() })
	p := &ChannelPlugin{}
	c, err := p.GRPCClient(context.Background(), nil, conn)
	if err != nil {
		t.Fatal(err)
	}
	return c.(*ChannelClient), srv, gs.Stop
}

func hook(c *ChannelClient, ctx context.Context, body string) (WebhookResponse, error) {
	return c.HandleWebhook(ctx, WebhookRequest{Method: "POST", Path: "/webhooks/x", Body: []byte(body)})
}

// Many webhooks at once each get their own answer, on one stream, with no
// call of their own; an old plugin gets the same answers as calls.
func TestWebhooksShareOneStream(t *testing.T) {
	for _, old := range []bool{false, true} {
		t.Run(fmt.Sprintf("old=%v", old), func(t *testing.T) {
			c, srv, _ := connect(t, newGatedChannel(), old)
			const n = 300
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					body := fmt.Sprintf("m%d", i)
					resp, err := hook(c, context.Background(), body)
					if err != nil {
						errs <- err
						return
					}
					if string(resp.Body) != "re:"+body || resp.Status != 200 {
						errs <- fmt.Errorf("%s answered %d %q", body, resp.Status, resp.Body)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			calls, streams := srv.counts()
			if old {
				if calls != n {
					t.Errorf("old plugin: %d calls, want %d", calls, n)
				}
				// Once refused, the stream is not asked for again.
				hook(c, context.Background(), "after")
				if c2, s2 := srv.counts(); c2 != n+1 || s2 != 1 {
					t.Errorf("after the refusal: %d calls and %d streams asked for, want %d and 1", c2, s2, n+1)
				}
				return
			}
			if calls != 0 || streams != 1 {
				t.Errorf("%d calls and %d streams, want 0 and 1", calls, streams)
			}
		})
	}
}

// Errors keep their kind and retry time across the stream, as across a call.
func TestStreamedWebhookErrorsKeepTheirKind(t *testing.T) {
	c, _, _ := connect(t, newGatedChannel(), false)
	_, err := hook(c, context.Background(), "bad one")
	if KindOf(err) != Permanent || err.Error() != "cannot parse bad one" {
		t.Errorf("bad: %v (kind %s)", err, KindOf(err))
	}
	_, err = hook(c, context.Background(), "busy one")
	if KindOf(err) != Temporary || RetryAfterOf(err) != 2*time.Second {
		t.Errorf("busy: %v (kind %s, retry after %v)", err, KindOf(err), RetryAfterOf(err))
	}
	if resp, err := hook(c, context.Background(), "fine"); err != nil || string(resp.Body) != "re:fine" {
		t.Errorf("fine: %q %v", resp.Body, err)
	}
}

// A slow webhook holds up none behind it, and a large one travels as a
// call of its own.
func TestSlowWebhookHoldsUpNone(t *testing.T) {
	g := newGatedChannel()
	c, srv, _ := connect(t, g, false)
	entered, open := g.gate("slow")
	defer open()
	done := make(chan error, 1)
	go func() {
		_, err := hook(c, context.Background(), "slow")
		done <- err
	}()
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 3 * streamWorkers {
		if _, err := hook(c, ctx, fmt.Sprint("quick", i)); err != nil {
			t.Fatalf("a quick webhook behind a slow one: %v", err)
		}
	}
	large := strings.Repeat("x", pipeMaxBody+1)
	if resp, err := hook(c, ctx, large); err != nil || len(resp.Body) != len(large)+3 {
		t.Fatalf("large: %d bytes, %v", len(resp.Body), err)
	}
	if calls, _ := srv.counts(); calls != 1 {
		t.Errorf("%d calls, want 1 (the large body)", calls)
	}
	open()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// The plugin works on a request within the time the caller gave it, and
// stops when the caller gives up.
func TestStreamedWebhookDeadlineAndCancel(t *testing.T) {
	g := newGatedChannel()
	c, _, _ := connect(t, g, false)

	entered, open := g.gate("timed")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	go hook(c, ctx, "timed")
	pctx := <-entered
	deadline, ok := pctx.Deadline()
	if !ok || time.Until(deadline) > time.Minute || time.Until(deadline) < 50*time.Second {
		t.Errorf("plugin's deadline %v (set %v), want about a minute away", time.Until(deadline), ok)
	}
	open()
	cancel()

	entered, open = g.gate("abandoned")
	defer open()
	ctx, cancel = context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := hook(c, ctx, "abandoned")
		errc <- err
	}()
	pctx = <-entered
	cancel()
	err := <-errc
	// The caller gets what a cancelled call returns.
	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	_, callErr := c.client.HandleWebhook(cctx, &pb.WebhookRequest{Body: []byte("x")})
	if want := errorFromStatus(callErr); err == nil || KindOf(err) != KindOf(want) || err.Error() != want.Error() {
		t.Errorf("streamed %v (%s), call %v (%s)", err, KindOf(err), want, KindOf(want))
	}
	select {
	case <-pctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the plugin kept working on an abandoned webhook")
	}
}

// Callers waiting when the plugin goes away get an error at once, and a
// later webhook is not sent into the dead stream.
func TestStreamEndFailsWaitingCalls(t *testing.T) {
	g := newGatedChannel()
	c, _, stop := connect(t, g, false)
	entered, open := g.gate("waiting")
	defer open()
	errc := make(chan error, 1)
	go func() {
		_, err := hook(c, context.Background(), "waiting")
		errc <- err
	}()
	<-entered
	stop()
	select {
	case err := <-errc:
		if err == nil || KindOf(err) != Temporary {
			t.Errorf("waiting call: %v (kind %s), want a temporary error", err, KindOf(err))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a call waited on a stream that had ended")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := hook(c, ctx, "later"); err == nil || ctx.Err() != nil {
		t.Errorf("later webhook: %v (ctx %v), want a prompt error", err, ctx.Err())
	}
}
