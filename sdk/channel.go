package sdk

import "context"

// Channel is a platform that visitors (or operators) write on.
//
// The daemon calls Configure once after every start of the plugin process,
// before anything else. HandleWebhook and Send may then be called
// concurrently.
type Channel interface {
	// Configure validates the options and prepares the channel. A bad option
	// is an error that names the key and the problem; the daemon refuses to
	// start the instance and shows the error.
	Configure(ctx context.Context, req ConfigureRequest) (Capabilities, error)

	// HandleWebhook verifies and parses one HTTP request from the platform.
	// It must not do slow work: the daemon commits the returned events and
	// writes the response right away. A request that fails verification gets
	// a 401 and no events; a malformed one a 400 and no events.
	HandleWebhook(ctx context.Context, req WebhookRequest) (WebhookResponse, error)

	// Send delivers one outbound message. Failures are returned as [*Error]
	// (see [RetryAfter], [NewError]) so the daemon knows whether and when to
	// retry; any other error is treated as temporary.
	Send(ctx context.Context, out Outbound) (SendResult, error)
}

// EventSink takes events from a polling channel.
type EventSink interface {
	// Deliver commits events durably in the daemon and returns only once
	// they are safe. A poller must not advance its platform cursor (offset)
	// before Deliver returned nil: after a crash it re-reads instead of
	// losing events, and the daemon drops the repeats by event ID.
	Deliver(ctx context.Context, events []Event) error
}

// Poller is an optional hook for channels that read their platform by
// polling instead of webhooks. The daemon calls Poll once the channel is
// configured (when its capabilities have Polling) and cancels ctx to stop.
type Poller interface {
	Poll(ctx context.Context, sink EventSink) error
}

// HealthChecker is an optional hook: Health reports whether the platform or
// backend behind the plugin is reachable. The daemon shows it in /readyz.
type HealthChecker interface {
	Health(ctx context.Context) error
}
