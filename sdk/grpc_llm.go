package sdk

import (
	"context"
	"errors"
	"io"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/switchboard-chat/switchboard/sdk/internal/pb"
)

// LLMPlugin is the go-plugin glue for [LLM].
type LLMPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	// Impl is the served backend (plugin side only).
	Impl LLM
}

// GRPCServer registers the LLM's gRPC service.
func (p *LLMPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterLLMServer(s, &llmServer{impl: p.Impl})
	return nil
}

// GRPCClient returns an [LLM] (that is also a [HealthChecker]) talking to the
// plugin process.
func (p *LLMPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &LLMClient{client: pb.NewLLMClient(c)}, nil
}

type llmServer struct {
	pb.UnimplementedLLMServer
	impl LLM
}

func (s *llmServer) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.LLMInfo, error) {
	info, err := s.impl.Configure(ctx, ConfigureRequest{
		Instance:    req.GetInstance(),
		Options:     OptionsFromJSON(req.GetOptionsJson()),
		HostVersion: req.GetHostVersion(),
		DryRun:      req.GetDryRun(),
	})
	if err != nil {
		return nil, errorToStatus(NewError(Permanent, err))
	}
	return &pb.LLMInfo{Model: info.Model}, nil
}

func (s *llmServer) Chat(req *pb.ChatRequest, stream pb.LLM_ChatServer) error {
	err := s.impl.Chat(stream.Context(), chatRequestFromPB(req), ChatStreamFunc(func(c ChatChunk) error {
		return stream.Send(&pb.ChatChunk{Text: c.Text, ToolCalls: toolCallsToPB(c.ToolCalls), Done: c.Done})
	}))
	return errorToStatus(err)
}

func (s *llmServer) Embed(ctx context.Context, req *pb.EmbedRequest) (*pb.EmbedResponse, error) {
	vectors, err := s.impl.Embed(ctx, req.GetTexts())
	if err != nil {
		return nil, errorToStatus(err)
	}
	out := &pb.EmbedResponse{Vectors: make([]*pb.Vector, len(vectors))}
	for i, v := range vectors {
		out.Vectors[i] = &pb.Vector{Values: v}
	}
	return out, nil
}

func (s *llmServer) Health(ctx context.Context, _ *pb.Empty) (*pb.HealthStatus, error) {
	hc, ok := s.impl.(HealthChecker)
	if !ok {
		return &pb.HealthStatus{Ok: true}, nil
	}
	if err := hc.Health(ctx); err != nil {
		return nil, errorToStatus(err) // keeps the kind: unavailable, model missing…
	}
	return &pb.HealthStatus{Ok: true}, nil
}

// LLMClient is the daemon's side of an LLM plugin. It implements [LLM] and
// [HealthChecker].
type LLMClient struct {
	client pb.LLMClient
}

// Configure implements [LLM].
func (c *LLMClient) Configure(ctx context.Context, req ConfigureRequest) (LLMInfo, error) {
	info, err := c.client.Configure(ctx, &pb.ConfigureRequest{
		Instance:    req.Instance,
		OptionsJson: req.Options.JSON(),
		HostVersion: req.HostVersion,
		DryRun:      req.DryRun,
	})
	if err != nil {
		return LLMInfo{}, errorFromStatus(err)
	}
	return LLMInfo{Model: info.GetModel()}, nil
}

// Chat implements [LLM]: chunks are passed to stream as they arrive.
func (c *LLMClient) Chat(ctx context.Context, req ChatRequest, stream ChatStream) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := c.client.Chat(ctx, chatRequestToPB(req))
	if err != nil {
		return errorFromStatus(err)
	}
	for {
		chunk, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return errorFromStatus(err)
		}
		if err := stream.Send(ChatChunk{Text: chunk.GetText(), ToolCalls: toolCallsFromPB(chunk.GetToolCalls()), Done: chunk.GetDone()}); err != nil {
			return err
		}
	}
}

// Embed implements [LLM].
func (c *LLMClient) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	resp, err := c.client.Embed(ctx, &pb.EmbedRequest{Texts: texts})
	if err != nil {
		return nil, errorFromStatus(err)
	}
	out := make([][]float32, len(resp.GetVectors()))
	for i, v := range resp.GetVectors() {
		out[i] = v.GetValues()
	}
	return out, nil
}

// Health implements [HealthChecker].
func (c *LLMClient) Health(ctx context.Context) error {
	st, err := c.client.Health(ctx, &pb.Empty{})
	if err != nil {
		return errorFromStatus(err)
	}
	if !st.GetOk() {
		return NewError(Unavailable, errors.New(st.GetMessage()))
	}
	return nil
}
