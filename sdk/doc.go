// Package sdk is what a Switchboard plugin imports.
//
// A plugin is a separate program that the daemon starts as a subprocess and
// talks to over gRPC (hashicorp/go-plugin, mutual TLS). There are two kinds:
//
//   - a channel (Telegram, LINE, a chat widget, a help desk) implements
//     [Channel]: it turns the platform's webhooks into normalized [Event]s and
//     sends [Outbound] messages back. Optional hooks add more: [Poller] for
//     platforms that are read by polling, [HealthChecker] for reporting the
//     platform's reachability, [Setup] for a one-off step run by hand
//     (`switchboard setup`). A help desk where human operators work also
//     serves a [Desk] beside its channel ([Plugins].Desk): the daemon opens,
//     feeds and closes handoffs on it, and the operators' actions come back
//     as the channel's events.
//   - an LLM backend implements [LLM]: streamed chat with tools, embeddings.
//
// A plugin's main function is a few lines:
//
//	func main() {
//		sdk.Serve(sdk.Plugins{Channel: &echo.Channel{}})
//	}
//
// The daemon owns durability: events returned from HandleWebhook or delivered
// through an [EventSink] are committed to disk before the platform gets its
// answer, and outbound messages are retried from a durable outbox, so a plugin
// keeps no state that must survive a restart. The package never imports the
// daemon; everything a plugin author needs is here and in sdk/plugintest.
package sdk
