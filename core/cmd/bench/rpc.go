package main

import (
	"context"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/pluginhost"
	"github.com/switchboard-chat/switchboard/sdk"
)

// telegramHost starts the real telegram plugin binary through
// core/pluginhost, configured like the daemon's channel "tg", and returns
// the host (to stop) and the channel.
func telegramHost(apiBase string) (*pluginhost.Host, sdk.Channel) {
	host := startPlugins([]pluginhost.Spec{{Instance: "tg", Plugin: "telegram", Kind: sdk.KindChannel, Options: telegramOptions(apiBase)}})
	ch, _, err := host.Channel("tg")
	if err != nil {
		fatalf("telegram plugin: %v", err)
	}
	return host, ch
}

// telegramOptions are the telegram plugin's options against the fake
// platform at apiBase, the same as telegramSection's.
func telegramOptions(apiBase string) map[string]any {
	return map[string]any{"token": tgToken, "api_base": apiBase, "mode": "webhook", "secret_token": tgSecret}
}

// startPlugins starts the real plugin binaries of specs through
// core/pluginhost, as the daemon does.
func startPlugins(specs []pluginhost.Spec) *pluginhost.Host {
	log := logrus.New()
	log.SetLevel(logrus.WarnLevel)
	host := pluginhost.New(pluginhost.Config{Dir: *binDir + "/plugins", Version: "bench"}, log)
	if err := host.Start(context.Background(), specs); err != nil {
		fatalf("plugins: %v", err)
	}
	return host
}

// pluginRPC starts the real telegram plugin binary through core/pluginhost
// (go-plugin, gRPC over mutual TLS on a local socket, as the daemon runs
// it) and times n calls of each kind, one at a time: ping, a round trip in
// which the plugin does no work of its own (the cost of the hop), and
// HandleWebhook (on the plugin's webhook stream, as the daemon sends it),
// the round trip of every inbound webhook with the plugin's own
// verification and parsing of a signed update.
func pluginRPC(apiBase string, n int) (ping, webhook []time.Duration) {
	ctx := context.Background()
	host, ch := telegramHost(apiBase)
	defer host.Stop()
	header := http.Header{"Content-Type": {"application/json"}, "X-Telegram-Bot-Api-Secret-Token": {tgSecret}}
	hook := func(i int) time.Duration {
		req := sdk.WebhookRequest{Method: "POST", Path: "/webhooks/tg", Header: header, Body: update(int64(i)+1, 42, "hello"), RemoteAddr: "127.0.0.1:1"}
		start := time.Now()
		resp, err := ch.HandleWebhook(ctx, req)
		took := time.Since(start)
		if err != nil || len(resp.Events) != 1 {
			fatalf("plugin rpc: HandleWebhook: %v (%d events)", err, len(resp.Events))
		}
		return took
	}
	inst := host.Instance("tg")
	pingOnce := func() time.Duration {
		start := time.Now()
		if err := inst.Ping(); err != nil {
			fatalf("plugin rpc: ping: %v", err)
		}
		return time.Since(start)
	}
	for i := range min(n/10, 1000) { // warm up connections and both runtimes
		hook(i)
		pingOnce()
	}
	ping, webhook = make([]time.Duration, n), make([]time.Duration, n)
	for i := range n {
		ping[i] = pingOnce()
		webhook[i] = hook(1_000_000 + i)
	}
	return ping, webhook
}
