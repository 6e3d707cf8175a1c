package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-chat/switchboard/sdk"
)

// textLimit is sendMessage's limit: 4096 characters (counted in UTF-16
// code units, like everything in the Bot API).
const textLimit = 4096

// Timeouts of the calls the plugin makes.
const (
	getMeTimeout      = 5 * time.Second
	setWebhookTimeout = 10 * time.Second
	sendTimeout       = 15 * time.Second
	healthTimeout     = 3 * time.Second
)

// Channel is the Telegram channel. Create it with [New]; Configure is the
// only method that sets anything, through an atomic pointer.
type Channel struct {
	log *slog.Logger
	// st is set by Configure; every other method reads it.
	st atomic.Pointer[state]
	// progress remembers the parts of split messages already delivered.
	progress *progress
	// pollTimeout is getUpdates' long-poll timeout; pollBackoff the first
	// wait after a failed poll or delivery (doubling up to maxPollBackoff).
	pollTimeout    time.Duration
	pollBackoff    time.Duration
	maxPollBackoff time.Duration
	// now is the clock (Retry-After dates are read against it).
	now func() time.Time
}

// state is a configured instance.
type state struct {
	log      *slog.Logger
	instance string
	opts     Options
	api      *api

	mu  sync.RWMutex
	bot botIdentity
}

// New returns an unconfigured channel that logs with sdk.NewLogger.
func New() *Channel {
	return newChannel(sdk.NewLogger())
}

func newChannel(log *slog.Logger) *Channel {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Channel{
		log:            log,
		progress:       newProgress(),
		pollTimeout:    30 * time.Second,
		pollBackoff:    time.Second,
		maxPollBackoff: time.Minute,
		now:            time.Now,
	}
}

// Configure validates the options, learns the bot's username with getMe
// (without failing when Telegram is unreachable, only when it rejects the
// token) and, in webhook mode with public_url, registers the webhook
// (not in a dry run).
func (c *Channel) Configure(ctx context.Context, req sdk.ConfigureRequest) (sdk.Capabilities, error) {
	var opts Options
	if err := req.Options.Decode(&opts); err != nil {
		return sdk.Capabilities{}, err
	}
	if err := opts.validate(); err != nil {
		return sdk.Capabilities{}, err
	}
	botID, _ := botIDFromToken(opts.Token)
	base := c.log
	if base == nil {
		base = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	st := &state{
		log:      base.With("instance", req.Instance),
		instance: req.Instance,
		opts:     opts,
		api:      &api{base: opts.APIBase, token: opts.Token, http: sdk.NewHTTPClient(0), now: c.now},
		bot:      botIdentity{ID: botID},
	}
	if err := c.refreshIdentity(ctx, st, getMeTimeout); err != nil {
		var ae *apiError
		if errors.As(err, &ae) && (ae.Code == http.StatusUnauthorized || ae.Code == http.StatusNotFound) {
			return sdk.Capabilities{}, fmt.Errorf(`option "token": Telegram rejected the bot token (%d %s)`, ae.Code, ae.Description)
		}
		st.log.Warn("telegram getMe failed; group mentions are recognised once it succeeds", "error", err.Error())
	}
	if opts.Mode == modeWebhook && opts.PublicURL != "" && !req.DryRun {
		if err := c.setWebhook(ctx, st); err != nil {
			return sdk.Capabilities{}, err
		}
	}
	c.st.Store(st)
	// No operation is declared idempotent: the Bot API has no idempotency
	// key, so a repeated sendMessage shows the message twice.
	return sdk.Capabilities{TextLimit: textLimit, Typing: true, Polling: opts.Mode == modePolling}, nil
}

// setWebhook registers <public_url>/webhooks/<instance> with the secret
// token and the update types the plugin handles.
func (c *Channel) setWebhook(ctx context.Context, st *state) error {
	url := st.opts.PublicURL + "/webhooks/" + st.instance
	ctx, cancel := context.WithTimeout(ctx, setWebhookTimeout)
	defer cancel()
	err := st.api.call(ctx, "setWebhook", map[string]any{
		"url":             url,
		"secret_token":    st.opts.SecretToken,
		"allowed_updates": allowedUpdates(),
	}, nil)
	if err != nil {
		return fmt.Errorf(`option "public_url": setWebhook %s failed: %w`, url, err)
	}
	st.log.Info("telegram webhook registered", "url", url)
	return nil
}

// refreshIdentity calls getMe and remembers the bot's username.
func (c *Channel) refreshIdentity(ctx context.Context, st *state, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var me tgUser
	if err := st.api.call(ctx, "getMe", struct{}{}, &me); err != nil {
		return err
	}
	st.mu.Lock()
	if me.ID != 0 {
		st.bot.ID = me.ID
	}
	st.bot.Username = me.Username
	st.mu.Unlock()
	return nil
}

func (st *state) identity() botIdentity {
	st.mu.RLock()
	defer st.mu.RUnlock()
	return st.bot
}

// state returns the configured state, or an error before Configure.
func (c *Channel) state() (*state, error) {
	st := c.st.Load()
	if st == nil {
		return nil, sdk.Errorf(sdk.Permanent, "telegram channel is not configured")
	}
	return st, nil
}

// Health calls getMe with a short timeout (and refreshes the cached
// username with it).
func (c *Channel) Health(ctx context.Context) error {
	st, err := c.state()
	if err != nil {
		return err
	}
	if err := c.refreshIdentity(ctx, st, healthTimeout); err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Code < 500 && ae.Code != http.StatusTooManyRequests {
			return sdk.NewError(sdk.Permanent, fmt.Errorf("telegram getMe: %w", err))
		}
		return sdk.NewError(sdk.Unavailable, fmt.Errorf("telegram unreachable: %w", err))
	}
	return nil
}

// compile-time checks of the optional hooks.
var (
	_ sdk.Channel       = (*Channel)(nil)
	_ sdk.Poller        = (*Channel)(nil)
	_ sdk.HealthChecker = (*Channel)(nil)
)
