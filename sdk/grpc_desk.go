package sdk

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/switchboard-chat/switchboard/sdk/internal/pb"
)

// DeskPlugin is the go-plugin glue for [Desk]. The daemon uses it to
// dispense a client; [Serve] uses it to serve an implementation.
type DeskPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	// Impl is the served desk (plugin side only).
	Impl Desk
}

// GRPCServer registers the desk's gRPC service.
func (p *DeskPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterDeskServer(s, &deskServer{impl: p.Impl})
	return nil
}

// GRPCClient returns a [*DeskClient] talking to the plugin process.
func (p *DeskPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &DeskClient{client: pb.NewDeskClient(c)}, nil
}

type deskServer struct {
	pb.UnimplementedDeskServer
	impl Desk
}

func (s *deskServer) OpenHandoff(ctx context.Context, req *pb.OpenHandoffRequest) (*pb.OpenHandoffResponse, error) {
	ref, err := s.impl.OpenHandoff(ctx, Handoff{
		ID: req.GetId(), ConversationID: req.GetConversationId(), Channel: req.GetChannel(),
		User: userFromPB(req.GetUser()), Transcript: transcriptFromPB(req.GetTranscript()),
		Summary: req.GetSummary(), Reason: req.GetReason(), Department: req.GetDepartment(),
	})
	if err != nil {
		return nil, errorToStatus(err)
	}
	return &pb.OpenHandoffResponse{Ref: ref}, nil
}

func (s *deskServer) RelayToDesk(ctx context.Context, req *pb.RelayToDeskRequest) (*pb.Empty, error) {
	err := s.impl.RelayToDesk(ctx, req.GetRef(), DeskMessage{ID: req.GetId(), User: userFromPB(req.GetUser()), Text: req.GetText()})
	if err != nil {
		return nil, errorToStatus(err)
	}
	return &pb.Empty{}, nil
}

func (s *deskServer) CloseHandoff(ctx context.Context, req *pb.CloseHandoffRequest) (*pb.Empty, error) {
	if err := s.impl.CloseHandoff(ctx, req.GetRef(), DeskClose{ID: req.GetId(), Reason: req.GetReason()}); err != nil {
		return nil, errorToStatus(err)
	}
	return &pb.Empty{}, nil
}

// DeskClient is the daemon's side of a desk plugin. It implements [Desk].
type DeskClient struct {
	client pb.DeskClient
}

// OpenHandoff implements [Desk].
func (c *DeskClient) OpenHandoff(ctx context.Context, h Handoff) (string, error) {
	res, err := c.client.OpenHandoff(ctx, &pb.OpenHandoffRequest{
		Id: h.ID, ConversationId: h.ConversationID, Channel: h.Channel, User: userToPB(h.User),
		Transcript: transcriptToPB(h.Transcript), Summary: h.Summary, Reason: h.Reason, Department: h.Department,
	})
	if err != nil {
		return "", errorFromStatus(err)
	}
	return res.GetRef(), nil
}

// RelayToDesk implements [Desk].
func (c *DeskClient) RelayToDesk(ctx context.Context, ref string, msg DeskMessage) error {
	_, err := c.client.RelayToDesk(ctx, &pb.RelayToDeskRequest{Id: msg.ID, Ref: ref, User: userToPB(msg.User), Text: msg.Text})
	return errorFromStatus(err)
}

// CloseHandoff implements [Desk].
func (c *DeskClient) CloseHandoff(ctx context.Context, ref string, cl DeskClose) error {
	_, err := c.client.CloseHandoff(ctx, &pb.CloseHandoffRequest{Id: cl.ID, Ref: ref, Reason: cl.Reason})
	return errorFromStatus(err)
}
