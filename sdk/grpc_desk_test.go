package sdk_test

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/sdk"
	"github.com/switchboard-chat/switchboard/sdk/plugintest"
)

// deskRecorder is a channel with a desk beside it that records the desk
// calls it gets.
type deskRecorder struct {
	scripted
	mu     sync.Mutex
	calls  []any
	err    error
	claims bool // what Configure says about the desk capability
}

func (d *deskRecorder) Configure(context.Context, sdk.ConfigureRequest) (sdk.Capabilities, error) {
	return sdk.Capabilities{Desk: d.claims}, nil
}

func (d *deskRecorder) record(call any) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, call)
	return d.err
}

func (d *deskRecorder) OpenHandoff(_ context.Context, h sdk.Handoff) (string, error) {
	if err := d.record(h); err != nil {
		return "", err
	}
	return "T-" + h.ID, nil
}

func (d *deskRecorder) RelayToDesk(_ context.Context, ref string, m sdk.DeskMessage) error {
	return d.record(struct {
		Ref string
		Msg sdk.DeskMessage
	}{ref, m})
}

func (d *deskRecorder) CloseHandoff(_ context.Context, ref string, c sdk.DeskClose) error {
	return d.record(struct {
		Ref   string
		Close sdk.DeskClose
	}{ref, c})
}

func TestDeskCallsCrossTheWireWithTheirDeliveryIDs(t *testing.T) {
	impl := &deskRecorder{}
	_, desk := plugintest.ChannelDesk(t, impl)
	ctx := context.Background()
	h := sdk.Handoff{
		ID: "o5", ConversationID: "c_1", Channel: "tg", User: sdk.User{ID: "42", Name: "Ann"},
		Transcript: []sdk.TranscriptEntry{{Role: "visitor", Text: "help", Time: time.UnixMilli(1700000000000).UTC()}},
		Summary:    "Ann needs a human", Reason: "keyword",
	}
	ref, err := desk.OpenHandoff(ctx, h)
	if err != nil || ref != "T-o5" {
		t.Fatalf("OpenHandoff: %q, %v", ref, err)
	}
	msg := sdk.DeskMessage{ID: "o6", User: h.User, Text: "still there?"}
	if err := desk.RelayToDesk(ctx, ref, msg); err != nil {
		t.Fatal(err)
	}
	cl := sdk.DeskClose{ID: "o7", Reason: "back to the bot"}
	if err := desk.CloseHandoff(ctx, ref, cl); err != nil {
		t.Fatal(err)
	}
	want := []any{
		h,
		struct {
			Ref string
			Msg sdk.DeskMessage
		}{"T-o5", msg},
		struct {
			Ref   string
			Close sdk.DeskClose
		}{"T-o5", cl},
	}
	if !reflect.DeepEqual(impl.calls, want) {
		t.Errorf("the desk got\n%+v\nwant\n%+v", impl.calls, want)
	}

	impl.err = sdk.RetryAfter(3*time.Second, context.DeadlineExceeded)
	err = desk.CloseHandoff(ctx, ref, cl)
	if sdk.KindOf(err) != sdk.Temporary || sdk.RetryAfterOf(err) != 3*time.Second {
		t.Errorf("error %v (%s, %v): kind or delay lost", err, sdk.KindOf(err), sdk.RetryAfterOf(err))
	}
}

// The desk capability says whether the plugin serves the desk service,
// whatever Configure claims.
func TestDeskCapabilityFollowsTheServedDesk(t *testing.T) {
	tests := []struct {
		name   string
		claims bool
		serve  bool
	}{
		{"served", false, true},
		{"claimed but not served", true, false},
		{"neither", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			impl := &deskRecorder{claims: tt.claims}
			p := sdk.Plugins{Channel: impl}
			if tt.serve {
				p.Desk = impl
			}
			c := plugintest.Serve(t, p)
			caps, err := c.Channel.Configure(context.Background(), sdk.ConfigureRequest{Instance: "x"})
			if err != nil {
				t.Fatal(err)
			}
			if caps.Desk != tt.serve {
				t.Errorf("desk capability %v, want %v", caps.Desk, tt.serve)
			}
			if (c.Desk != nil) != tt.serve {
				t.Errorf("desk client %v, want one only when served", c.Desk)
			}
		})
	}
}

// declaring is a channel that declares the idempotency it is given.
type declaring struct {
	scripted
	idem sdk.Idempotency
}

func (d *declaring) Configure(context.Context, sdk.ConfigureRequest) (sdk.Capabilities, error) {
	return sdk.Capabilities{Idempotent: d.idem}, nil
}

func TestIdempotencyIsDeclaredPerOperation(t *testing.T) {
	tests := []sdk.Idempotency{
		{},
		{SendText: true},
		{NativeHandoff: true},
		{OpenHandoff: true},
		{RelayToDesk: true},
		{CloseHandoff: true},
		{SendText: true, NativeHandoff: true, OpenHandoff: true, RelayToDesk: true, CloseHandoff: true},
	}
	for _, want := range tests {
		t.Run(fmt.Sprintf("%+v", want), func(t *testing.T) {
			c := plugintest.Channel(t, &declaring{idem: want})
			caps, err := c.Configure(context.Background(), sdk.ConfigureRequest{Instance: "x"})
			if err != nil {
				t.Fatal(err)
			}
			if caps.Idempotent != want {
				t.Errorf("the daemon sees %+v, the plugin declared %+v", caps.Idempotent, want)
			}
		})
	}
}
