package sdk

import (
	"context"
	"errors"
	"sync"
	"time"

	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/switchboard-chat/switchboard/sdk/internal/pb"
)

// A channel's webhooks travel to its plugin on one long-lived gRPC stream
// (the Webhooks call) rather than as a call each. A call costs its own HTTP/2
// stream: headers and trailers framed, encoded and parsed on both sides, a
// stream set up and torn down, a handler dispatched. On the stream a webhook
// is one message each way, sent the moment it arrives and answered as soon
// as the plugin has handled it, in any order, so no webhook waits for
// another. Under load the transport also writes several of them in one
// system call. Measured over a local mutual-TLS socket with 64 concurrent
// callers, a webhook took about a third of the CPU of a call.

// pipeMaxBody is the largest body sent on the stream; a larger one goes in
// a call of its own, so that it does not hold up the small ones behind it
// while it is written.
const pipeMaxBody = 64 << 10

// errPipeUnsupported answers the callers waiting on a stream the plugin
// does not serve (built with an SDK before it): they are sent as calls.
var errPipeUnsupported = errors.New("plugin does not serve the webhook stream")

// webhookPipe is the daemon's side of the Webhooks stream. It opens the
// stream on first use and again after it broke; once the plugin has
// answered Unimplemented, every webhook is a call.
type webhookPipe struct {
	client pb.ChannelClient

	mu sync.Mutex
	// cur is the open stream, nil before the first webhook and after it
	// broke.
	cur *webhookStream
	// unsupported: the plugin does not serve the stream.
	unsupported bool
}

// webhookStream is one opened Webhooks stream and the calls waiting on it.
type webhookStream struct {
	stream pb.Channel_WebhooksClient
	cancel context.CancelFunc

	// sendMu serialises Send, which the stream allows one at a time.
	sendMu sync.Mutex

	mu      sync.Mutex
	next    uint64
	waiting map[uint64]chan webhookAnswer
	// err is why the stream ended; no call is added after it is set.
	err error
}

// webhookAnswer is what a waiting call gets: the plugin's answer, or the
// error that ended the stream.
type webhookAnswer struct {
	resp *pb.WebhookResponse
	err  error
}

// handle sends req to the plugin and returns its answer, with the errors a
// HandleWebhook call would have returned.
func (p *webhookPipe) handle(ctx context.Context, req *pb.WebhookRequest) (*pb.WebhookResponse, error) {
	if len(req.GetBody()) > pipeMaxBody {
		return p.client.HandleWebhook(ctx, req)
	}
	s := p.stream()
	if s == nil {
		return p.client.HandleWebhook(ctx, req)
	}
	resp, err := s.call(ctx, req)
	if errors.Is(err, errPipeUnsupported) {
		return p.client.HandleWebhook(ctx, req)
	}
	return resp, err
}

// stream returns the open stream, opening one if needed; nil means send a
// call instead (the plugin does not serve the stream, or opening it failed,
// in which case the call fails the way the plugin's state says).
func (p *webhookPipe) stream() *webhookStream {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.unsupported {
		return nil
	}
	if p.cur != nil {
		return p.cur
	}
	ctx, cancel := context.WithCancel(context.Background())
	st, err := p.client.Webhooks(ctx)
	if err != nil {
		cancel()
		return nil
	}
	s := &webhookStream{stream: st, cancel: cancel, waiting: map[uint64]chan webhookAnswer{}}
	p.cur = s
	go p.receive(s)
	return s
}

// receive hands each answer on s to its caller until s ends, then fails
// the callers still waiting and lets the next webhook open a new stream.
func (p *webhookPipe) receive(s *webhookStream) {
	for {
		res, err := s.stream.Recv()
		if err != nil {
			if status.Code(err) == codes.Unimplemented {
				err = errPipeUnsupported
			}
			p.mu.Lock()
			if p.cur == s {
				p.cur = nil
			}
			if errors.Is(err, errPipeUnsupported) {
				p.unsupported = true
			}
			p.mu.Unlock()
			s.end(err)
			return
		}
		s.mu.Lock()
		ch := s.waiting[res.GetId()]
		delete(s.waiting, res.GetId())
		s.mu.Unlock()
		if ch != nil {
			ch <- webhookAnswer{resp: res.GetResponse(), err: resultError(res)}
		}
	}
}

// end fails every call waiting on s with err and stops the stream.
func (s *webhookStream) end(err error) {
	s.mu.Lock()
	s.err = err
	waiting := s.waiting
	s.waiting = nil
	s.mu.Unlock()
	for _, ch := range waiting {
		ch <- webhookAnswer{err: err}
	}
	s.cancel()
}

// call sends req on s and waits for its answer or ctx's end.
func (s *webhookStream) call(ctx context.Context, req *pb.WebhookRequest) (*pb.WebhookResponse, error) {
	ch := make(chan webhookAnswer, 1)
	s.mu.Lock()
	if s.err != nil {
		err := s.err
		s.mu.Unlock()
		return nil, err
	}
	s.next++
	id := s.next
	s.waiting[id] = ch
	s.mu.Unlock()

	msg := &pb.WebhookCall{Id: id, Request: req}
	if deadline, ok := ctx.Deadline(); ok {
		msg.TimeoutMs = max(time.Until(deadline).Milliseconds(), 1)
	}
	s.sendMu.Lock()
	err := s.stream.Send(msg)
	s.sendMu.Unlock()
	sent := true
	if err != nil {
		// The stream broke; its receiver fails every waiting call (this
		// one too) with the reason, which Send does not tell.
		sent = false
	}
	select {
	case a := <-ch:
		return a.resp, a.err
	case <-ctx.Done():
		s.mu.Lock()
		_, still := s.waiting[id]
		delete(s.waiting, id)
		s.mu.Unlock()
		if still && sent {
			// Tell the plugin to stop working on it; if the stream is
			// busy or broken, the timeout it was sent with ends it.
			go func() {
				s.sendMu.Lock()
				defer s.sendMu.Unlock()
				_ = s.stream.Send(&pb.WebhookCall{Id: id, Cancel: true})
			}()
		}
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

// resultError is the error a result carries, as the status a call would
// have returned.
func resultError(r *pb.WebhookResult) error {
	raw := r.GetStatus()
	if raw == nil {
		return nil
	}
	var st rpcstatus.Status
	if err := proto.Unmarshal(raw, &st); err != nil {
		return status.Errorf(codes.Internal, "decode the plugin's error for webhook %d: %v", r.GetId(), err)
	}
	return status.FromProto(&st).Err()
}

// Webhooks is the plugin's side of the Webhooks stream: each request
// is handled as HandleWebhook would handle it, concurrently with the others,
// and answered as soon as it is done.
func (s *channelServer) Webhooks(stream pb.Channel_WebhooksServer) error {
	ctx := stream.Context()
	var (
		sendMu  sync.Mutex
		mu      sync.Mutex
		running = map[uint64]context.CancelFunc{}
	)
	// Reused workers keep their grown stacks (see streamWorkers); a request
	// that finds them all busy gets a goroutine of its own, so a slow one
	// holds up no other.
	work := make(chan func())
	defer close(work)
	for range streamWorkers {
		go func() {
			for f := range work {
				f()
			}
		}()
	}
	for {
		call, err := stream.Recv()
		if err != nil {
			// The host closed the stream or is gone; the requests still
			// running end with ctx.
			return nil
		}
		id := call.GetId()
		if call.GetCancel() {
			mu.Lock()
			cancel := running[id]
			mu.Unlock()
			if cancel != nil {
				cancel()
			}
			continue
		}
		cctx, cancel := requestContext(ctx, call.GetTimeoutMs())
		mu.Lock()
		running[id] = cancel
		mu.Unlock()
		req := call.GetRequest()
		handle := func() {
			resp, err := s.HandleWebhook(cctx, req)
			mu.Lock()
			delete(running, id)
			mu.Unlock()
			cancel()
			res := &pb.WebhookResult{Id: id, Response: resp}
			if err != nil {
				res.Response, res.Status = nil, statusBytes(err)
			}
			sendMu.Lock()
			defer sendMu.Unlock()
			_ = stream.Send(res) // fails only when the stream is gone, and its caller with it
		}
		select {
		case work <- handle:
		default:
			go handle()
		}
	}
}

// requestContext is a streamed request's context: the stream's, bounded by
// the time the host gave the request (0: unbounded), as a call's deadline
// would bound it.
func requestContext(ctx context.Context, timeoutMs int64) (context.Context, context.CancelFunc) {
	if timeoutMs > 0 {
		return context.WithTimeout(ctx, time.Duration(timeoutMs)*time.Millisecond)
	}
	return context.WithCancel(ctx)
}

// statusBytes encodes a HandleWebhook error (already a status) for a
// WebhookResult.
func statusBytes(err error) []byte {
	raw, merr := proto.Marshal(status.Convert(err).Proto())
	if merr != nil {
		raw, _ = proto.Marshal(&rpcstatus.Status{Code: int32(codes.Internal), Message: err.Error()})
	}
	return raw
}
