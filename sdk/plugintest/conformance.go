package plugintest

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/sdk"
)

// ChannelSuite describes a channel plugin to the conformance suite. The
// plugin's tests fill it in with options that point at their own fake
// platform.
type ChannelSuite struct {
	// New returns a fresh, unconfigured channel.
	New func() sdk.Channel
	// Options are valid options.
	Options map[string]any
	// BadOptions are option sets that Configure must reject, by name.
	BadOptions map[string]map[string]any
	// Webhook returns a valid webhook request that yields at least one
	// event. Leave nil for channels that only poll.
	Webhook func() sdk.WebhookRequest
	// BadWebhooks are requests that must get a 4xx and no events: a wrong
	// signature, malformed JSON, and so on.
	BadWebhooks map[string]sdk.WebhookRequest
	// Outbound is a message to send; Delivered reports whether the fake
	// platform received it (called after Send returned nil). Leave
	// Delivered nil for a desk-only plugin, which has no visitors.
	Outbound  sdk.Outbound
	Delivered func() bool
	// Handoff, for plugins that serve a desk (New's channel must implement
	// [sdk.Desk] then), is opened, relayed into and closed through the desk
	// service; DeskReceived reports whether the fake desk got all three.
	Handoff      *sdk.Handoff
	DeskReceived func() bool
}

// RunChannelSuite checks the contract every channel plugin must keep, through
// the real gRPC glue.
func RunChannelSuite(t *testing.T, s ChannelSuite) {
	t.Helper()
	ctx := context.Background()
	configured := func(t *testing.T) *sdk.ChannelClient {
		t.Helper()
		c := Channel(t, s.New())
		opts, err := sdk.NewOptions(s.Options)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Configure(ctx, sdk.ConfigureRequest{Instance: "conformance", Options: opts}); err != nil {
			t.Fatalf("Configure with valid options: %v", err)
		}
		return c
	}

	t.Run("configure", func(t *testing.T) { configured(t) })

	t.Run("bad options are rejected with a message", func(t *testing.T) {
		if len(s.BadOptions) == 0 {
			t.Fatal("the suite needs at least one bad option set")
		}
		for name, bad := range s.BadOptions {
			c := Channel(t, s.New())
			opts, err := sdk.NewOptions(bad)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Configure(ctx, sdk.ConfigureRequest{Instance: "conformance", Options: opts})
			if err == nil {
				t.Errorf("%s: Configure accepted %v", name, bad)
				continue
			}
			if sdk.KindOf(err) != sdk.Permanent || err.Error() == "" {
				t.Errorf("%s: want a permanent error with a message, got %q (%s)", name, err, sdk.KindOf(err))
			}
		}
	})

	t.Run("unknown option is rejected", func(t *testing.T) {
		withTypo := map[string]any{"no_such_option_x": "1"}
		for k, v := range s.Options {
			withTypo[k] = v
		}
		c := Channel(t, s.New())
		opts, _ := sdk.NewOptions(withTypo)
		if _, err := c.Configure(ctx, sdk.ConfigureRequest{Instance: "conformance", Options: opts}); err == nil {
			t.Error("Configure accepted an unknown option; typos in configs must be reported")
		}
	})

	if s.Webhook != nil {
		t.Run("webhook yields stable events", func(t *testing.T) {
			c := configured(t)
			first, err := c.HandleWebhook(ctx, s.Webhook())
			if err != nil {
				t.Fatal(err)
			}
			if first.Status >= 400 || len(first.Events) == 0 {
				t.Fatalf("valid webhook: status %d with %d events", first.Status, len(first.Events))
			}
			for _, e := range first.Events {
				if e.ID == "" || e.Kind == "" || e.Conversation == "" {
					t.Errorf("event lacks ID, kind or conversation: %+v", e)
				}
			}
			again, err := c.HandleWebhook(ctx, s.Webhook())
			if err != nil {
				t.Fatal(err)
			}
			if len(again.Events) != len(first.Events) {
				t.Fatalf("redelivery gave %d events, first delivery %d", len(again.Events), len(first.Events))
			}
			for i := range again.Events {
				if again.Events[i].ID != first.Events[i].ID {
					t.Errorf("event IDs differ between deliveries (%q vs %q): dedup would fail", first.Events[i].ID, again.Events[i].ID)
				}
			}
		})
	}

	t.Run("bad webhooks get 4xx and no events", func(t *testing.T) {
		if len(s.BadWebhooks) == 0 {
			t.Fatal("the suite needs at least one bad webhook")
		}
		c := configured(t)
		for name, req := range s.BadWebhooks {
			resp, err := c.HandleWebhook(ctx, req)
			if err != nil {
				t.Errorf("%s: error %v, want a 4xx response", name, err)
				continue
			}
			if resp.Status < 400 || resp.Status > 499 {
				t.Errorf("%s: status %d, want 4xx", name, resp.Status)
			}
			if len(resp.Events) != 0 {
				t.Errorf("%s: %d events from a bad request", name, len(resp.Events))
			}
		}
	})

	if s.Handoff != nil {
		t.Run("desk round trip", func(t *testing.T) {
			impl, ok := s.New().(interface {
				sdk.Channel
				sdk.Desk
			})
			if !ok {
				t.Fatal("the suite has a Handoff but the channel does not implement sdk.Desk")
			}
			c, desk := ChannelDesk(t, impl)
			opts, err := sdk.NewOptions(s.Options)
			if err != nil {
				t.Fatal(err)
			}
			caps, err := c.Configure(ctx, sdk.ConfigureRequest{Instance: "conformance", Options: opts})
			if err != nil {
				t.Fatalf("Configure with valid options: %v", err)
			}
			if !caps.Desk {
				t.Error("a channel served with a desk does not report the desk capability")
			}
			ref, err := desk.OpenHandoff(ctx, *s.Handoff)
			if err != nil || ref == "" {
				t.Fatalf("OpenHandoff: ref %q, err %v", ref, err)
			}
			if err := desk.RelayToDesk(ctx, ref, sdk.DeskMessage{ID: "relay-1", User: s.Handoff.User, Text: "one more thing"}); err != nil {
				t.Fatalf("RelayToDesk: %v", err)
			}
			if err := desk.CloseHandoff(ctx, ref, sdk.DeskClose{ID: "close-1", Reason: "back to the bot"}); err != nil {
				t.Fatalf("CloseHandoff: %v", err)
			}
			if !s.DeskReceived() {
				t.Fatal("the fake desk did not receive the handoff, the relay and the close")
			}
		})
	}

	if s.Delivered == nil {
		return
	}

	t.Run("send round trip", func(t *testing.T) {
		c := configured(t)
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if _, err := c.Send(sctx, s.Outbound); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if !s.Delivered() {
			t.Fatal("Send returned nil but the fake platform did not receive the message")
		}
	})

	t.Run("send respects cancellation", func(t *testing.T) {
		c := configured(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		done := make(chan error, 1)
		go func() {
			_, err := c.Send(cctx, s.Outbound)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil {
				t.Error("Send with a cancelled context succeeded")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Send ignored a cancelled context")
		}
	})
}
