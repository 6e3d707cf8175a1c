package sdk

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/switchboard-chat/switchboard/sdk/internal/pb"
)

// batchPlugin is the plugin end of a channel connection, in memory: the
// first plain call waits for release; a body starting "bad" fails.
type batchPlugin struct {
	pb.ChannelClient
	old bool // answers HandleWebhooks Unimplemented, as an older SDK
	srv channelServer

	mu      sync.Mutex
	single  int   // plain calls
	batches []int // the size of each batch call
	first   bool
	release chan struct{}
	entered chan struct{}
}

func newBatchPlugin(old bool) *batchPlugin {
	p := &batchPlugin{old: old, release: make(chan struct{}), entered: make(chan struct{})}
	p.srv = channelServer{impl: echoBodies{}}
	return p
}

type echoBodies struct{ Channel }

func (echoBodies) HandleWebhook(_ context.Context, req WebhookRequest) (WebhookResponse, error) {
	if len(req.Body) >= 3 && string(req.Body[:3]) == "bad" {
		return WebhookResponse{}, Errorf(Permanent, "cannot parse %s", req.Body)
	}
	return WebhookResponse{Status: 200, Body: append([]byte("re:"), req.Body...)}, nil
}

func (p *batchPlugin) HandleWebhook(ctx context.Context, req *pb.WebhookRequest, _ ...grpc.CallOption) (*pb.WebhookResponse, error) {
	p.mu.Lock()
	p.single++
	first := !p.first
	p.first = true
	p.mu.Unlock()
	if first {
		close(p.entered)
		<-p.release
	}
	return p.srv.HandleWebhook(ctx, req)
}

func (p *batchPlugin) HandleWebhooks(ctx context.Context, b *pb.WebhookBatch, _ ...grpc.CallOption) (*pb.WebhookResults, error) {
	if p.old {
		return nil, status.Error(codes.Unimplemented, "unknown method HandleWebhooks")
	}
	p.mu.Lock()
	p.batches = append(p.batches, len(b.GetRequests()))
	p.mu.Unlock()
	return p.srv.HandleWebhooks(ctx, b)
}

// While one webhook call is under way the next ones queue; when it returns
// they go in one batch call, and each caller gets its own answer or error
// with its kind. A plugin built before batches gets them one by one.
func TestWebhooksQueuedBehindACallGoTogether(t *testing.T) {
	for _, old := range []bool{false, true} {
		t.Run(fmt.Sprintf("older_plugin=%v", old), func(t *testing.T) {
			plugin := newBatchPlugin(old)
			c := newChannelClient(plugin)
			ctx := context.Background()
			type answer struct {
				body string
				resp WebhookResponse
				err  error
			}
			answers := make(chan answer, 10)
			call := func(body string) {
				resp, err := c.HandleWebhook(ctx, WebhookRequest{Method: "POST", Body: []byte(body)})
				answers <- answer{body, resp, err}
			}
			go call("first")
			<-plugin.entered
			bodies := []string{"a", "b", "bad-c", "d", "e"}
			for _, b := range bodies {
				go call(b)
			}
			waitQueued(t, c, len(bodies))
			close(plugin.release)
			for range len(bodies) + 1 {
				a := <-answers
				switch {
				case a.body == "bad-c":
					if KindOf(a.err) != Permanent || a.err.Error() != "cannot parse bad-c" {
						t.Errorf("%s: error %v (kind %s), want the plugin's permanent error", a.body, a.err, KindOf(a.err))
					}
				case a.err != nil:
					t.Errorf("%s: %v", a.body, a.err)
				case string(a.resp.Body) != "re:"+a.body || a.resp.Status != 200:
					t.Errorf("%s got %d %q", a.body, a.resp.Status, a.resp.Body)
				}
			}
			plugin.mu.Lock()
			defer plugin.mu.Unlock()
			if old {
				if plugin.single != 1+len(bodies) || !c.webhooks.single.Load() {
					t.Errorf("older plugin: %d plain calls, want %d, and no more batches", plugin.single, 1+len(bodies))
				}
				return
			}
			if plugin.single != 1 || len(plugin.batches) != 1 || plugin.batches[0] != len(bodies) {
				t.Errorf("%d plain calls and batches %v; want the first call alone and one batch of %d", plugin.single, plugin.batches, len(bodies))
			}
		})
	}
}

// A batch's call outlives a caller that gave up: the others get answers.
func TestABatchOutlivesOneCallerGivingUp(t *testing.T) {
	plugin := newBatchPlugin(false)
	c := newChannelClient(plugin)
	others := make(chan error, 2)
	go func() {
		_, err := c.HandleWebhook(context.Background(), WebhookRequest{Body: []byte("first")})
		others <- err
	}()
	<-plugin.entered
	gone, hangUp := context.WithCancel(context.Background())
	goneErr := make(chan error, 1)
	go func() {
		_, err := c.HandleWebhook(gone, WebhookRequest{Body: []byte("gone")})
		goneErr <- err
	}()
	go func() {
		_, err := c.HandleWebhook(context.Background(), WebhookRequest{Body: []byte("stays")})
		others <- err
	}()
	waitQueued(t, c, 2)
	hangUp()
	if err := <-goneErr; err == nil {
		t.Error("the caller who hung up got an answer")
	}
	close(plugin.release)
	for range 2 {
		if err := <-others; err != nil {
			t.Errorf("a caller still waiting got %v", err)
		}
	}
	plugin.mu.Lock()
	defer plugin.mu.Unlock()
	if len(plugin.batches) != 1 || plugin.batches[0] != 2 {
		t.Errorf("batches %v, want one of 2", plugin.batches)
	}
}

// waitQueued waits until n requests queue behind the call under way.
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
