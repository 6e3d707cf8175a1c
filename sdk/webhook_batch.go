package sdk

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/switchboard-chat/switchboard/sdk/internal/pb"
)

// Webhooks that arrive while an earlier call to the same plugin is under
// way are sent together in one HandleWebhooks call when it returns: under
// load each webhook then costs a share of one gRPC round trip (its framing,
// TLS records, wake-ups) instead of a whole one, and a lone webhook is sent
// at once, as before.
const (
	// batchMaxRequests bounds the requests of one batch.
	batchMaxRequests = 64
	// batchMaxBytes bounds a batch's bodies and headers, far below the
	// smallest message limit of a plugin connection.
	batchMaxBytes = 1 << 20
	// batchAloneBytes: a request at least this large is sent on its own.
	batchAloneBytes = 256 << 10
)

// webhookBatcher sends a channel client's webhook requests, batching those
// that queue up behind a call in flight.
type webhookBatcher struct {
	client pb.ChannelClient
	// single is set once the plugin answered HandleWebhooks Unimplemented
	// (built with an older SDK): requests then go one per call.
	single atomic.Bool

	mu    sync.Mutex
	queue []*pendingWebhook
	busy  bool // a goroutine is sending the queue
}

type pendingWebhook struct {
	ctx  context.Context
	req  *pb.WebhookRequest
	resp *pb.WebhookResponse
	err  error
	done chan struct{}
}

// handle sends req and returns its answer.
func (b *webhookBatcher) handle(ctx context.Context, req *pb.WebhookRequest) (*pb.WebhookResponse, error) {
	if b.single.Load() || requestSize(req) >= batchAloneBytes {
		return b.client.HandleWebhook(ctx, req)
	}
	p := &pendingWebhook{ctx: ctx, req: req, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, p)
	lead := !b.busy
	b.busy = true
	b.mu.Unlock()
	if lead {
		// This caller sends what is queued now (at least its own request);
		// whatever queues meanwhile is sent by a goroutine of its own, so
		// the caller does not wait for others' calls.
		b.sendQueued()
		b.mu.Lock()
		if len(b.queue) == 0 {
			b.busy = false
			b.mu.Unlock()
		} else {
			b.mu.Unlock()
			go b.drain()
		}
	}
	select {
	case <-p.done:
		return p.resp, p.err
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

// drain sends the queue until it is empty.
func (b *webhookBatcher) drain() {
	for {
		b.sendQueued()
		b.mu.Lock()
		if len(b.queue) == 0 {
			b.busy = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
	}
}

// sendQueued takes one batch from the front of the queue and sends it.
func (b *webhookBatcher) sendQueued() {
	b.mu.Lock()
	n, size := 0, 0
	for n < len(b.queue) && n < batchMaxRequests {
		size += requestSize(b.queue[n].req)
		if n > 0 && size > batchMaxBytes {
			break
		}
		n++
	}
	batch := make([]*pendingWebhook, n)
	copy(batch, b.queue[:n])
	b.queue = append(b.queue[:0], b.queue[n:]...)
	b.mu.Unlock()
	b.send(batch)
}

// send handles a batch in one call (a batch of one in the plain call) and
// hands each request its answer.
func (b *webhookBatcher) send(batch []*pendingWebhook) {
	if len(batch) == 1 || b.single.Load() {
		b.sendEach(batch)
		return
	}
	ctx, cancel := batchContext(batch)
	defer cancel()
	reqs := make([]*pb.WebhookRequest, len(batch))
	for i, p := range batch {
		reqs[i] = p.req
	}
	res, err := b.client.HandleWebhooks(ctx, &pb.WebhookBatch{Requests: reqs})
	if status.Code(err) == codes.Unimplemented {
		b.single.Store(true)
		b.sendEach(batch)
		return
	}
	if err == nil && len(res.GetResults()) != len(batch) {
		err = status.Errorf(codes.Internal, "plugin answered %d of %d webhooks", len(res.GetResults()), len(batch))
	}
	for i, p := range batch {
		if err != nil {
			p.err = err
		} else {
			p.resp, p.err = webhookResultFromPB(res.GetResults()[i])
		}
		close(p.done)
	}
}

// sendEach sends each request in a call of its own, at once.
func (b *webhookBatcher) sendEach(batch []*pendingWebhook) {
	var wg sync.WaitGroup
	for _, p := range batch {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.resp, p.err = b.client.HandleWebhook(p.ctx, p.req)
			close(p.done)
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

// webhookResultToPB is one request's answer in a batch.
func webhookResultToPB(resp *pb.WebhookResponse, err error) *pb.WebhookResult {
	if err == nil {
		return &pb.WebhookResult{Response: resp}
	}
	return &pb.WebhookResult{
		Error:        &pb.ErrorDetail{Kind: string(KindOf(err)), RetryAfterMs: RetryAfterOf(err).Milliseconds()},
		ErrorMessage: err.Error(),
	}
}

// webhookResultFromPB is the answer, or the error, HandleWebhook would
// have returned for the request.
func webhookResultFromPB(r *pb.WebhookResult) (*pb.WebhookResponse, error) {
	if d := r.GetError(); d != nil {
		return nil, &Error{
			Kind:       ErrorKind(d.GetKind()),
			RetryAfter: time.Duration(d.GetRetryAfterMs()) * time.Millisecond,
			Err:        errors.New(r.GetErrorMessage()),
		}
	}
	if r.GetResponse() == nil {
		return &pb.WebhookResponse{}, nil
	}
	return r.GetResponse(), nil
}
