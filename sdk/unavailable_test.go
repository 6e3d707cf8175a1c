package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/switchboard-chat/switchboard/sdk"
	"github.com/switchboard-chat/switchboard/sdk/plugintest"
)

// ErrPluginUnavailable is found with errors.Is alone in what a call over
// the wire returns, whether the plugin reported it or the plugin process
// could not be reached; other errors never carry it.
func TestPluginUnavailableSurvivesTheWire(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		unavailable bool
		kind        sdk.ErrorKind
	}{
		{"reported by the plugin", sdk.NewError(sdk.Temporary, fmt.Errorf("backend %s: %w", "b1", sdk.ErrPluginUnavailable)), true, sdk.Temporary},
		{"reported with another kind", sdk.NewError(sdk.Unavailable, fmt.Errorf("llm: %w", sdk.ErrPluginUnavailable)), true, sdk.Unavailable},
		{"plain wrapped", fmt.Errorf("relay: %w", sdk.ErrPluginUnavailable), true, sdk.Temporary},
		{"a temporary error is not it", sdk.NewError(sdk.Temporary, errors.New("502 from the platform")), false, sdk.Temporary},
		{"its text is not it", sdk.NewError(sdk.Permanent, errors.New("plugin unavailable")), false, sdk.Permanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := plugintest.Channel(t, &scripted{sendErr: tt.err})
			_, err := c.Send(context.Background(), sdk.Outbound{ID: "x"})
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, sdk.ErrPluginUnavailable); got != tt.unavailable {
				t.Errorf("errors.Is(%q, ErrPluginUnavailable) = %v, want %v", err, got, tt.unavailable)
			}
			if got := sdk.KindOf(err); got != tt.kind {
				t.Errorf("kind %s, want %s", got, tt.kind)
			}
			if err.Error() != tt.err.Error() {
				t.Errorf("message %q, want %q", err, tt.err)
			}
		})
	}

	t.Run("the plugin process is gone", func(t *testing.T) {
		client, server := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{
			sdk.KindChannel: &sdk.ChannelPlugin{Impl: &scripted{}},
		})
		defer client.Close()
		raw, err := client.Dispense(sdk.KindChannel)
		if err != nil {
			t.Fatal(err)
		}
		ch := raw.(*sdk.ChannelClient)
		server.Stop()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err = ch.Send(ctx, sdk.Outbound{ID: "x"})
		if !errors.Is(err, sdk.ErrPluginUnavailable) {
			t.Fatalf("errors.Is(%v, ErrPluginUnavailable) is false", err)
		}
		if sdk.KindOf(err) != sdk.Temporary {
			t.Errorf("kind %s, want temporary", sdk.KindOf(err))
		}
	})
}
