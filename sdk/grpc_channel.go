package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/switchboard-chat/switchboard/sdk/internal/pb"
)

// ChannelPlugin is the go-plugin glue for [Channel]. The daemon uses it to
// dispense a client; [Serve] uses it to serve an implementation.
type ChannelPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	// Impl is the served channel (plugin side only).
	Impl Channel
	// servesDesk says the same plugin serves a [Desk] (plugin side only).
	servesDesk bool
}

// GRPCServer registers the channel's gRPC service.
func (p *ChannelPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterChannelServer(s, &channelServer{impl: p.Impl, servesDesk: p.servesDesk})
	return nil
}

// GRPCClient returns a [*ChannelClient] talking to the plugin process.
func (p *ChannelPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	client := pb.NewChannelClient(c)
	return &ChannelClient{client: client, webhooks: &webhookPipe{client: client}}, nil
}

type channelServer struct {
	pb.UnimplementedChannelServer
	impl       Channel
	servesDesk bool
}

func (s *channelServer) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.Capabilities, error) {
	caps, err := s.impl.Configure(ctx, ConfigureRequest{
		Instance:    req.GetInstance(),
		Options:     OptionsFromJSON(req.GetOptionsJson()),
		HostVersion: req.GetHostVersion(),
		DryRun:      req.GetDryRun(),
	})
	if err != nil {
		return nil, errorToStatus(NewError(Permanent, err))
	}
	_, polls := s.impl.(Poller)
	return &pb.Capabilities{
		TextLimit:     int32(caps.TextLimit),
		Typing:        caps.Typing,
		NativeHandoff: caps.NativeHandoff,
		Desk:          s.servesDesk,
		Polling:       caps.Polling && polls,
		Idempotency:   idempotencyToPB(caps.Idempotent),
	}, nil
}

func (s *channelServer) HandleWebhook(ctx context.Context, req *pb.WebhookRequest) (*pb.WebhookResponse, error) {
	resp, err := s.impl.HandleWebhook(ctx, WebhookRequest{
		Method:     req.GetMethod(),
		Path:       req.GetPath(),
		RawQuery:   req.GetRawQuery(),
		Header:     headerFromPB(req.GetHeaders()),
		Body:       req.GetBody(),
		RemoteAddr: req.GetRemoteAddr(),
	})
	if err != nil {
		return nil, errorToStatus(err)
	}
	return &pb.WebhookResponse{
		Status:  int32(resp.Status),
		Headers: headerToPB(resp.Header),
		Body:    resp.Body,
		Events:  eventsToPB(resp.Events),
	}, nil
}

func (s *channelServer) Send(ctx context.Context, out *pb.Outbound) (*pb.SendResult, error) {
	res, err := s.impl.Send(ctx, outboundFromPB(out))
	if err != nil {
		return nil, errorToStatus(err)
	}
	return &pb.SendResult{NativeId: res.NativeID}, nil
}

func (s *channelServer) Health(ctx context.Context, _ *pb.Empty) (*pb.HealthStatus, error) {
	hc, ok := s.impl.(HealthChecker)
	if !ok {
		return &pb.HealthStatus{Ok: true}, nil
	}
	if err := hc.Health(ctx); err != nil {
		return nil, errorToStatus(err) // keeps the kind: unavailable, model missing…
	}
	return &pb.HealthStatus{Ok: true}, nil
}

// Poll runs the plugin's poller. Each batch is sent to the host, and Deliver
// returns only when the host has acknowledged the batch's durable commit.
func (s *channelServer) Poll(stream pb.Channel_PollServer) error {
	poller, ok := s.impl.(Poller)
	if !ok {
		return errorToStatus(Errorf(Permanent, "channel does not poll"))
	}
	sink := &streamSink{stream: stream}
	err := poller.Poll(stream.Context(), sink)
	if err != nil && stream.Context().Err() == nil {
		return errorToStatus(err)
	}
	return nil
}

// streamSink delivers batches over the Poll stream, one at a time.
type streamSink struct {
	mu     sync.Mutex
	stream pb.Channel_PollServer
	seq    uint64
}

func (s *streamSink) Deliver(_ context.Context, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	if err := s.stream.Send(&pb.EventBatch{Seq: s.seq, Events: eventsToPB(events)}); err != nil {
		return fmt.Errorf("send batch %d to host: %w", s.seq, err)
	}
	ack, err := s.stream.Recv()
	if err != nil {
		return fmt.Errorf("wait for host ack of batch %d: %w", s.seq, err)
	}
	if ack.GetSeq() != s.seq {
		return fmt.Errorf("host acked batch %d, want %d", ack.GetSeq(), s.seq)
	}
	if ack.GetError() != "" {
		return fmt.Errorf("host could not commit batch %d: %s", s.seq, ack.GetError())
	}
	return nil
}

// ChannelClient is the daemon's side of a channel plugin. It implements
// [Channel] and [HealthChecker], and [ChannelClient.Poll] reads a polling
// channel.
type ChannelClient struct {
	client   pb.ChannelClient
	webhooks *webhookPipe
}

// Configure implements [Channel].
func (c *ChannelClient) Configure(ctx context.Context, req ConfigureRequest) (Capabilities, error) {
	caps, err := c.client.Configure(ctx, &pb.ConfigureRequest{
		Instance:    req.Instance,
		OptionsJson: req.Options.JSON(),
		HostVersion: req.HostVersion,
		DryRun:      req.DryRun,
	})
	if err != nil {
		return Capabilities{}, errorFromStatus(err)
	}
	return Capabilities{
		TextLimit:     int(caps.GetTextLimit()),
		Typing:        caps.GetTyping(),
		NativeHandoff: caps.GetNativeHandoff(),
		Desk:          caps.GetDesk(),
		Polling:       caps.GetPolling(),
		Idempotent:    idempotencyFromPB(caps.GetIdempotency()),
	}, nil
}

// HandleWebhook implements [Channel].
func (c *ChannelClient) HandleWebhook(ctx context.Context, req WebhookRequest) (WebhookResponse, error) {
	resp, err := c.webhooks.handle(ctx, &pb.WebhookRequest{
		Method:     req.Method,
		Path:       req.Path,
		RawQuery:   req.RawQuery,
		Headers:    headerToPB(req.Header),
		Body:       req.Body,
		RemoteAddr: req.RemoteAddr,
	})
	if err != nil {
		return WebhookResponse{}, errorFromStatus(err)
	}
	return WebhookResponse{
		Status: int(resp.GetStatus()),
		Header: headerFromPB(resp.GetHeaders()),
		Body:   resp.GetBody(),
		Events: eventsFromPB(resp.GetEvents()),
	}, nil
}

// Send implements [Channel].
func (c *ChannelClient) Send(ctx context.Context, out Outbound) (SendResult, error) {
	res, err := c.client.Send(ctx, outboundToPB(out))
	if err != nil {
		return SendResult{}, errorFromStatus(err)
	}
	return SendResult{NativeID: res.GetNativeId()}, nil
}

// Health implements [HealthChecker].
func (c *ChannelClient) Health(ctx context.Context) error {
	st, err := c.client.Health(ctx, &pb.Empty{})
	if err != nil {
		return errorFromStatus(err)
	}
	if !st.GetOk() {
		return NewError(Unavailable, errors.New(st.GetMessage()))
	}
	return nil
}

// Poll reads events from a polling channel until ctx ends or the plugin stops.
// Every batch is passed to sink; the plugin is told the batch is committed
// only after sink.Deliver returned nil, so it advances its cursor only then.
func (c *ChannelClient) Poll(ctx context.Context, sink EventSink) error {
	stream, err := c.client.Poll(ctx)
	if err != nil {
		return errorFromStatus(err)
	}
	for {
		batch, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return errorFromStatus(err)
		}
		ack := &pb.PollAck{Seq: batch.GetSeq()}
		if err := sink.Deliver(ctx, eventsFromPB(batch.GetEvents())); err != nil {
			ack.Error = err.Error()
		}
		if err := stream.Send(ack); err != nil {
			return errorFromStatus(err)
		}
	}
}
