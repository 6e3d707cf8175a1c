package sdk

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/switchboard-chat/switchboard/sdk/internal/pb"
)

// gatedChannel answers a webhook with its body; a body starting "bad"
// fails for good, one starting "busy" asks to be retried in 2 s, and one
// with a gate waits until the gate opens.
type gatedChannel struct {
	Channel
	mu      sync.Mutex
	gates   map[string]chan struct{}
	entered map[string]chan struct{}
	seen    map[string]int
}

func newGatedChannel() *gatedChannel {
	return &gatedChannel{gates: map[string]chan struct{}{}, entered: map[string]chan struct{}{}, seen: map[string]int{}}
}

// gate makes webhook body wait until the returned function is called.
func (g *gatedChannel) gate(body string) (entered <-chan struct{}, open func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	gate, in := make(chan struct{}), make(chan struct{})
	g.gates[body], g.entered[body] = gate, in
	return in, sync.OnceFunc(func() { close(gate) })
}

func (g *gatedChannel) HandleWebhook(_ context.Context, req WebhookRequest) (WebhookResponse, error) {
	body := string(req.Body)
	g.mu.Lock()
	g.seen[body]++
	gate, in := g.gates[body], g.entered[body]
	g.mu.Unlock()
	if gate != nil {
		close(in)
		<-gate
	}
	switch {
	case strings.HasPrefix(body, "bad"):
		return WebhookResponse{}, Errorf(Permanent, "cannot parse %s", body)
	case strings.HasPrefix(body, "busy"):
		return WebhookResponse{}, RetryAfter(2*time.Second, fmt.Errorf("slow down on %s", body))
	}
	return WebhookResponse{Status: 200, Body: []byte("re:" + body)}, nil
}

func (g *gatedChannel) times(body string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.seen[body]
}

// countingServer is the plugin's gRPC server, counting the calls it takes;
// old answers batches as a server built before them does.
type countingServer struct {
	*channelServer
	old     bool
	mu      sync.Mutex
	single  int
	batches []int
}

func (s *countingServer) HandleWebhook(ctx context.Context, req *pb.WebhookRequest) (*pb.WebhookResponse, error) {
	s.mu.Lock()
	s.single++
	s.mu.Unlock()
	return s.channelServer.HandleWebhook(ctx, req)
}

func (s *countingServer) HandleWebhooks(b *pb.WebhookBatch, stream pb.Channel_HandleWebhooksServer) error {
	if s.old {
		return pb.UnimplementedChannelServer{}.HandleWebhooks(b, stream)
	}
	s.mu.Lock()
	s.batches = append(s.batches, len(b.GetRequests()))
	s.mu.Unlock()
	return s.channelServer.HandleWebhooks(b, stream)
}

func (s *countingServer) calls() (int, []int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.single, append([]int(nil), s.batches...)
}

// connect serves ch over an in-memory gRPC connection and returns the
// client end, with slots call slots that a call keeps for slow.
func connect(t *testing.T, ch Channel, old bool, slots int, slow time.Duration) (*ChannelClient, *countingServer) {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	counting := &countingServer{channelServer: &channelServer{impl: ch}, old: old}
	pb.RegisterChannelServer(srv, counting)
	go srv.Serve(lis)
	conn, err := grpc.NewClient("passthrough:///plugin",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); srv.Stop() })
	c := newChannelClient(pb.NewChannelClient(conn))
	c.webhooks.slots, c.webhooks.slow = slots, slow
	return c, counting
}

type answer struct {
	body string
	resp WebhookResponse
	err  error
}

// send makes a webhook call in the background; its answer goes to out.
func send(ctx context.Context, c *ChannelClient, body string, out chan<- answer) {
	go func() {
		resp, err := c.HandleWebhook(ctx, WebhookRequest{Method: "POST", Body: []byte(body)})
		out <- answer{body, resp, err}
	}()
}

// next is the next answer.
func next(t *testing.T, answers <-chan answer) answer {
	t.Helper()
	select {
	case a := <-answers:
		return a
	case <-time.After(30 * time.Second): // a bound on waiting, not a timing assertion
		t.Fatal("no answer")
		return answer{}
	}
}

// waitQueued waits until n requests wait for a call slot.
func waitQueued(t *testing.T, c *ChannelClient, n int) {
	t.Helper()
	// A bound on waiting, not a timing assertion.
	deadline := time.Now().Add(30 * time.Second)
	for {
		c.webhooks.mu.Lock()
		queued := len(c.webhooks.queue)
		c.webhooks.mu.Unlock()
		if queued == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests queued, want %d", queued, n)
		}
		runtime.Gosched()
	}
}

// While the call slots are busy the next webhooks queue; when a slot
// frees they go in one batch call, and each caller gets exactly what a
// call of its own would have given: its answer, or its error with kind,
// retry time and message. A plugin built before batches gets them one by
// one.
func TestWebhooksQueuedForASlotGoTogether(t *testing.T) {
	for _, old := range []bool{false, true} {
		t.Run(fmt.Sprintf("older_plugin=%v", old), func(t *testing.T) {
			ch := newGatedChannel()
			c, srv := connect(t, ch, old, 1, time.Hour)
			entered, open := ch.gate("first")
			answers := make(chan answer, 10)
			send(context.Background(), c, "first", answers)
			<-entered
			bodies := []string{"a", "b", "bad-c", "d", "busy-e"}
			for _, b := range bodies {
				send(context.Background(), c, b, answers)
			}
			waitQueued(t, c, len(bodies))
			open()
			for range len(bodies) + 1 {
				a := next(t, answers)
				switch {
				case a.body == "bad-c":
					if KindOf(a.err) != Permanent || a.err.Error() != "cannot parse bad-c" {
						t.Errorf("%s: error %v (kind %s), want the plugin's permanent error", a.body, a.err, KindOf(a.err))
					}
				case a.body == "busy-e":
					if KindOf(a.err) != Temporary || RetryAfterOf(a.err) != 2*time.Second || a.err.Error() != "slow down on busy-e" {
						t.Errorf("%s: error %v (kind %s, retry after %v), want the plugin's", a.body, a.err, KindOf(a.err), RetryAfterOf(a.err))
					}
				case a.err != nil:
					t.Errorf("%s: %v", a.body, a.err)
				case string(a.resp.Body) != "re:"+a.body || a.resp.Status != 200:
					t.Errorf("%s got %d %q", a.body, a.resp.Status, a.resp.Body)
				}
			}
			single, batches := srv.calls()
			if old {
				if single != 1+len(bodies) || !c.webhooks.single.Load() {
					t.Errorf("older plugin: %d plain calls, want %d, and no more batches", single, 1+len(bodies))
				}
				return
			}
			if single != 1 || len(batches) != 1 || batches[0] != len(bodies) {
				t.Errorf("%d plain calls and batches %v; want the first call alone and one batch of %d", single, batches, len(bodies))
			}
		})
	}
}

// A slow webhook holds up no other: not the quick ones in its batch (each
// answer is streamed when ready), and not later ones (a call gives its
// slot up once it has run for a while).
func TestASlowWebhookHoldsUpNoOther(t *testing.T) {
	t.Run("in its batch", func(t *testing.T) {
		ch := newGatedChannel()
		c, _ := connect(t, ch, false, 1, time.Hour)
		firstIn, openFirst := ch.gate("first")
		_, openSlow := ch.gate("slow")
		defer openSlow()
		answers := make(chan answer, 3)
		send(context.Background(), c, "first", answers)
		<-firstIn
		send(context.Background(), c, "slow", answers)
		send(context.Background(), c, "quick", answers)
		waitQueued(t, c, 2)
		openFirst()
		for range 2 {
			if a := next(t, answers); a.err != nil || (a.body != "first" && a.body != "quick") {
				t.Fatalf("%s answered (%v) before the quick one, while the slow one is still running", a.body, a.err)
			}
		}
	})
	t.Run("behind it", func(t *testing.T) {
		ch := newGatedChannel()
		c, _ := connect(t, ch, false, 1, 10*time.Millisecond)
		slowIn, openSlow := ch.gate("slow")
		defer openSlow()
		answers := make(chan answer, 2)
		send(context.Background(), c, "slow", answers)
		<-slowIn
		send(context.Background(), c, "quick", answers)
		if a := next(t, answers); a.body != "quick" || a.err != nil {
			t.Fatalf("%s answered (%v) first, want the quick one while the slow one still runs", a.body, a.err)
		}
	})
}

// A request whose caller gave up while it waited for a slot is not sent;
// the others still are.
func TestAnAbandonedWebhookIsNotSent(t *testing.T) {
	ch := newGatedChannel()
	c, _ := connect(t, ch, false, 1, time.Hour)
	firstIn, openFirst := ch.gate("first")
	answers := make(chan answer, 3)
	send(context.Background(), c, "first", answers)
	<-firstIn
	gone, hangUp := context.WithCancel(context.Background())
	send(gone, c, "gone", answers)
	waitQueued(t, c, 1)
	hangUp()
	if a := next(t, answers); a.body != "gone" || !errors.Is(a.err, context.Canceled) && KindOf(a.err) == "" {
		t.Fatalf("%s answered %v, want the caller who hung up to get its error", a.body, a.err)
	}
	send(context.Background(), c, "stays", answers)
	waitQueued(t, c, 2)
	openFirst()
	for range 2 {
		if a := next(t, answers); a.err != nil {
			t.Errorf("%s: %v", a.body, a.err)
		}
	}
	if n := ch.times("gone"); n != 0 {
		t.Errorf("the abandoned webhook was handled %d times", n)
	}
}

// The plugin's batch answers each request with the status a plain call
// returns, details included.
func TestABatchedErrorIsThePlainCallsStatus(t *testing.T) {
	err := RetryAfter(3*time.Second, NewError(Temporary, errors.New("429 too many")))
	r := webhookResultToPB(2, nil, err)
	if r.GetIndex() != 2 || r.GetResponse() != nil {
		t.Fatalf("result %v", r)
	}
	_, got := webhookResultFromPB(r)
	want := errorToStatus(err)
	if status.Code(got) != codes.Unavailable || got.Error() != want.Error() {
		t.Fatalf("got %v, want %v", got, want)
	}
	back := errorFromStatus(got)
	if KindOf(back) != Temporary || RetryAfterOf(back) != 3*time.Second || back.Error() != "429 too many" {
		t.Errorf("round trip gave %v (kind %s, retry after %v)", back, KindOf(back), RetryAfterOf(back))
	}
}
