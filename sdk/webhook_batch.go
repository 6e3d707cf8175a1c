package sdk

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/switchboard-chat/switchboard/sdk/internal/pb"
)

// Webhooks that arrive while the plugin's call slots are busy are sent
// together in one HandleWebhooks call when a slot frees: under load each
// webhook then costs a share of one gRPC round trip (its framing, TLS
// records, wake-ups) instead of a whole one. A webhook that finds a slot
// free is sent at once, as before. Each result comes back as soon as the
// plugin has it, so a slow request holds up no other in its batch, and a
// call still running after slowCall gives its slot up, so a slow request
// holds up no later ones either.
const (
	// callSlots is how many webhook calls to one plugin run at once before
	// new requests queue for a batch. One: with more, the calls rarely
	// queue on two cores and batching bought little (the bench's
	// plugin_http at 4 slots was within noise of no batching; at 1, about
	// a tenth more in the same session); slowCall keeps a slow call from
	// holding the slot.
	callSlots = 1
	// slowCall is how long a call keeps its slot.
	slowCall = 10 * time.Millisecond
	// batchMaxRequests bounds the requests of one batch.
	batchMaxRequests = 64
	// batchMaxBytes bounds a batch's bodies and headers, far below the
	// smallest message limit of a plugin connection.
	batchMaxBytes = 1 << 20
	// batchAloneBytes: a request at least this large is sent on its own.
	batchAloneBytes = 256 << 10
	// maxQueued bounds the requests waiting for a slot; beyond it a request
	// is sent on its own.
	maxQueued = 1024
)

// webhookBatcher sends a channel client's webhook requests, batching those
// that queue up while its call slots are busy.
type webhookBatcher struct {
	client pb.ChannelClient
	// slots and slow are callSlots and slowCall (tests change them).
	slots int
	slow  time.Duration
	// single is set once the plugin answered HandleWebhooks Unimplemented
	// (built with an older SDK): requests then go one per call.
	single atomic.Bool

	mu    sync.Mutex
	queue []*pendingWebhook
	calls int // call slots taken
}

type pendingWebhook struct {
	ctx  context.Context
	req  *pb.WebhookRequest
	resp *pb.WebhookResponse
	err  error
	done chan struct{}
	// answered guards done: a result is given once.
	answered atomic.Bool
}

// answer gives the request its result, once.
func (p *pendingWebhook) answer(resp *pb.WebhookResponse, err error) {
	if p.answered.Swap(true) {
		return
	}
	p.resp, p.err = resp, err
	close(p.done)
}

func newWebhookBatcher(client pb.ChannelClient) *webhookBatcher {
	return &webhookBatcher{client: client, slots: callSlots, slow: slowCall}
}

// handle sends req and returns its answer.
func (b *webhookBatcher) handle(ctx context.Context, req *pb.WebhookRequest) (*pb.WebhookResponse, error) {
	if b.single.Load() || requestSize(req) >= batchAloneBytes {
		return b.client.HandleWebhook(ctx, req)
	}
	p := &pendingWebhook{ctx: ctx, req: req, done: make(chan struct{})}
	b.mu.Lock()
	if len(b.queue) >= maxQueued {
		b.mu.Unlock()
		return b.client.HandleWebhook(ctx, req)
	}
	b.queue = append(b.queue, p)
	lead := b.calls < b.slots
	if lead {
		b.calls++
	}
	b.mu.Unlock()
	if lead {
		// This caller sends what is queued now (at least its own request);
		// whatever queues meanwhile is sent from a goroutine of its own, so
		// the caller does not wait for others' calls.
		if batch := b.take(); batch != nil {
			b.send(batch)
			if b.more() {
				go b.drain()
			}
		}
	}
	select {
	case <-p.done:
		return p.resp, p.err
	case <-ctx.Done():
		return nil, grpcstatus.FromContextError(ctx.Err()).Err()
	}
}

// take removes the next batch from the queue, leaving out requests whose
// callers gave up; with nothing to send it gives the slot back and returns
// nil.
func (b *webhookBatcher) take() []*pendingWebhook {
	b.mu.Lock()
	defer b.mu.Unlock()
	var batch []*pendingWebhook
	n, size := 0, 0
	for ; n < len(b.queue) && len(batch) < batchMaxRequests; n++ {
		p := b.queue[n]
		if p.ctx.Err() != nil {
			p.answer(nil, grpcstatus.FromContextError(p.ctx.Err()).Err())
			continue
		}
		size += requestSize(p.req)
		if len(batch) > 0 && size > batchMaxBytes {
			break
		}
		batch = append(batch, p)
	}
	clear(b.queue[:n])
	b.queue = append(b.queue[:0], b.queue[n:]...)
	if len(batch) == 0 {
		b.calls--
	}
	return batch
}

// more reports whether requests wait; if none does, it gives the slot back.
func (b *webhookBatcher) more() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.queue) == 0 {
		b.calls--
		return false
	}
	return true
}

// drain sends batches while requests wait, holding one slot.
func (b *webhookBatcher) drain() {
	for {
		batch := b.take()
		if batch == nil {
			return
		}
		b.send(batch)
	}
}

// send sends a batch and returns when it is answered, or when it has run
// for b.slow: its slot is then free for the next batch while the call
// goes on.
func (b *webhookBatcher) send(batch []*pendingWebhook) {
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		b.call(batch)
	}()
	t := time.NewTimer(b.slow)
	defer t.Stop()
	select {
	case <-finished:
	case <-t.C:
	}
}

// call handles a batch in one call (a batch of one in the plain call) and
// hands each request its answer.
func (b *webhookBatcher) call(batch []*pendingWebhook) {
	if len(batch) == 1 || b.single.Load() {
		b.callEach(batch)
		return
	}
	ctx, cancel := batchContext(batch)
	defer cancel()
	reqs := make([]*pb.WebhookRequest, len(batch))
	for i, p := range batch {
		reqs[i] = p.req
	}
	stream, err := b.client.HandleWebhooks(ctx, &pb.WebhookBatch{Requests: reqs})
	if err == nil {
		err = b.receive(stream, batch)
	}
	if grpcstatus.Code(err) == codes.Unimplemented {
		b.single.Store(true)
		b.callEach(batch)
		return
	}
	for _, p := range batch {
		if err == nil {
			err = grpcstatus.Error(codes.Internal, "the plugin's batch ended without this webhook's answer")
		}
		p.answer(nil, err)
	}
}

// receive hands out the batch's results as they arrive, until the stream
// ends: nil when it ended in good order.
func (b *webhookBatcher) receive(stream grpc.ServerStreamingClient[pb.WebhookResult], batch []*pendingWebhook) error {
	for {
		r, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		i := int(r.GetIndex())
		if i < 0 || i >= len(batch) {
			return grpcstatus.Errorf(codes.Internal, "the plugin answered webhook %d of a batch of %d", i, len(batch))
		}
		batch[i].answer(webhookResultFromPB(r))
	}
}

// callEach sends each request in a call of its own, at once.
func (b *webhookBatcher) callEach(batch []*pendingWebhook) {
	var wg sync.WaitGroup
	for _, p := range batch {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.answer(b.client.HandleWebhook(p.ctx, p.req))
		}()
	}
	wg.Wait()
}

// batchContext is the context of a batch's call: it ends when the last of
// its requests' deadlines passes, not when one of their callers goes away
// (the others still want their answers).
func batchContext(batch []*pendingWebhook) (context.Context, context.CancelFunc) {
	var latest time.Time
	for _, p := range batch {
		d, ok := p.ctx.Deadline()
		if !ok {
			return context.WithCancel(context.WithoutCancel(p.ctx))
		}
		if d.After(latest) {
			latest = d
		}
	}
	return context.WithDeadline(context.WithoutCancel(batch[0].ctx), latest)
}

// requestSize is about how many bytes a request adds to a batch.
func requestSize(req *pb.WebhookRequest) int {
	n := len(req.GetBody()) + len(req.GetPath()) + len(req.GetRawQuery()) + 64
	for k, v := range req.GetHeaders() {
		n += len(k)
		for _, s := range v.GetValues() {
			n += len(s) + 8
		}
	}
	return n
}

// webhookResultToPB is request i's answer in a batch; an error is carried
// as the status a plain call would have returned.
func webhookResultToPB(i int, resp *pb.WebhookResponse, err error) *pb.WebhookResult {
	r := &pb.WebhookResult{Index: int32(i), Response: resp}
	if err != nil {
		st, merr := proto.Marshal(grpcstatus.Convert(errorToStatus(err)).Proto())
		if merr != nil {
			st, _ = proto.Marshal(&status.Status{Code: int32(codes.Internal), Message: err.Error()})
		}
		r.Response, r.Status = nil, st
	}
	return r
}

// webhookResultFromPB is the answer, or the status error, a plain call
// would have returned for the request.
func webhookResultFromPB(r *pb.WebhookResult) (*pb.WebhookResponse, error) {
	if raw := r.GetStatus(); raw != nil {
		var st status.Status
		if err := proto.Unmarshal(raw, &st); err != nil {
			return nil, grpcstatus.Errorf(codes.Internal, "decode a batched webhook's error: %v", err)
		}
		return nil, grpcstatus.FromProto(&st).Err()
	}
	if r.GetResponse() == nil {
		return &pb.WebhookResponse{}, nil
	}
	return r.GetResponse(), nil
}
