// Package plugintest runs plugins in-process for tests, behind the same gRPC
// glue the daemon uses, and holds the conformance suite every channel plugin
// should pass.
package plugintest

import (
	"testing"

	"github.com/hashicorp/go-plugin"

	"github.com/switchboard-chat/switchboard/sdk"
)

// Channel serves ch in-process and returns the client the daemon would use.
// The connection is closed when the test ends.
func Channel(t testing.TB, ch sdk.Channel) *sdk.ChannelClient {
	t.Helper()
	raw := dispense(t, sdk.KindChannel, &sdk.ChannelPlugin{Impl: ch})
	return raw.(*sdk.ChannelClient)
}

// LLM serves m in-process and returns the client the daemon would use.
func LLM(t testing.TB, m sdk.LLM) *sdk.LLMClient {
	t.Helper()
	raw := dispense(t, sdk.KindLLM, &sdk.LLMPlugin{Impl: m})
	return raw.(*sdk.LLMClient)
}

func dispense(t testing.TB, kind string, p plugin.Plugin) any {
	client, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{kind: p})
	// Closing the client also stops the in-process server.
	t.Cleanup(func() { client.Close() })
	raw, err := client.Dispense(kind)
	if err != nil {
		t.Fatalf("dispense %s: %v", kind, err)
	}
	return raw
}
