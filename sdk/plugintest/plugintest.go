// Package plugintest runs plugins in-process for tests, behind the same gRPC
// glue the daemon uses, and holds the conformance suite every channel plugin
// should pass.
package plugintest

import (
	"testing"

	"github.com/hashicorp/go-plugin"

	"github.com/switchboard-chat/switchboard/sdk"
)

// Clients are the daemon's clients of a plugin served in-process; a field
// is nil when the plugin does not serve that service.
type Clients struct {
	Channel *sdk.ChannelClient
	Desk    *sdk.DeskClient
	LLM     *sdk.LLMClient
}

// Serve serves p in-process, over one connection as [sdk.Serve] does, and
// returns the clients the daemon would dispense. The connection is closed
// when the test ends.
func Serve(t testing.TB, p sdk.Plugins) Clients {
	t.Helper()
	set := p.PluginSet()
	client, _ := plugin.TestPluginGRPCConn(t, false, set)
	// Closing the client also stops the in-process server.
	t.Cleanup(func() { client.Close() })
	var out Clients
	for kind := range set {
		raw, err := client.Dispense(kind)
		if err != nil {
			t.Fatalf("dispense %s: %v", kind, err)
		}
		switch c := raw.(type) {
		case *sdk.ChannelClient:
			out.Channel = c
		case *sdk.DeskClient:
			out.Desk = c
		case *sdk.LLMClient:
			out.LLM = c
		}
	}
	return out
}

// Channel serves ch in-process and returns the client the daemon would use.
func Channel(t testing.TB, ch sdk.Channel) *sdk.ChannelClient {
	t.Helper()
	return Serve(t, sdk.Plugins{Channel: ch}).Channel
}

// ChannelDesk serves d as a channel with a desk beside it, as a desk
// plugin's main does, and returns both clients.
func ChannelDesk[D interface {
	sdk.Channel
	sdk.Desk
}](t testing.TB, d D) (*sdk.ChannelClient, *sdk.DeskClient) {
	t.Helper()
	c := Serve(t, sdk.Plugins{Channel: d, Desk: d})
	return c.Channel, c.Desk
}

// LLM serves m in-process and returns the client the daemon would use.
func LLM(t testing.TB, m sdk.LLM) *sdk.LLMClient {
	t.Helper()
	return Serve(t, sdk.Plugins{LLM: m}).LLM
}
