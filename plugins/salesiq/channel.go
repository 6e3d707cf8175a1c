package main

import (
	"context"
	"crypto/rsa"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/switchboard-chat/switchboard/sdk"
)

// Channel is the SalesIQ channel: a Zobot for SalesIQ's own visitors and a
// human desk for visitors on other channels.
type Channel struct {
	// Log receives the plugin's log lines; nil uses [sdk.NewLogger].
	Log *slog.Logger

	st atomic.Pointer[state]
}

// state is what Configure prepares; it is replaced as a whole.
type state struct {
	opts     Options
	keys     []*rsa.PublicKey
	api      *apiClient
	log      *slog.Logger
	answered *memo // Zobot request id → outbound id that answered it
}

// Configure validates the options and prepares the API client.
func (c *Channel) Configure(_ context.Context, req sdk.ConfigureRequest) (sdk.Capabilities, error) {
	opts, err := parseOptions(req.Options)
	if err != nil {
		return sdk.Capabilities{}, sdk.NewError(sdk.Permanent, err)
	}
	st, err := newState(opts, c.Log)
	if err != nil {
		return sdk.Capabilities{}, sdk.NewError(sdk.Permanent, err)
	}
	c.st.Store(st)
	return sdk.Capabilities{
		// SalesIQ documents no length limit for bot replies.
		TextLimit: 0,
		// The only "typing" SalesIQ offers a webhook bot is the pending
		// action's progress text, a visible message; it is not used.
		Typing:        false,
		NativeHandoff: true,
		// SalesIQ takes no idempotency key, so a repeated callback,
		// transfer, conversation or message may happen twice; only a
		// repeated close is harmless (closing a closed conversation is
		// refused, which CloseHandoff counts as closed).
		Idempotent: sdk.Idempotency{CloseHandoff: true},
	}, nil
}

func newState(opts Options, log *slog.Logger) (*state, error) {
	keys, err := parsePublicKeys(opts.PublicKeys)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = sdk.NewLogger()
	}
	client := sdk.NewHTTPClient(time.Duration(opts.Timeout))
	return &state{
		opts: opts,
		keys: keys,
		api: &apiClient{
			base: opts.APIBase, screen: opts.ScreenName, client: client,
			tokens: newTokenSource(opts, client),
		},
		log:      log,
		answered: newMemo(10000),
	}, nil
}

// state returns the configured state, or nil before Configure.
func (c *Channel) state() *state { return c.st.Load() }

// Health reports whether an access token can be had from Zoho Accounts.
func (c *Channel) Health(ctx context.Context) error {
	st := c.state()
	if st == nil {
		return sdk.Errorf(sdk.Permanent, "salesiq: not configured")
	}
	_, err := st.api.tokens.Token(ctx)
	return err
}

// compile-time checks of the optional hooks.
var (
	_ sdk.Channel       = (*Channel)(nil)
	_ sdk.Desk          = (*Channel)(nil)
	_ sdk.HealthChecker = (*Channel)(nil)
)
